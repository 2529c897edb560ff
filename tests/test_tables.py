"""The tables are complete and read in one place each; imports point one way."""

import ast
from pathlib import Path

from ccl.compile import opcodes as O
from ccl.hosttable import HOST_TABLE, METHODS
from ccl.vm import builtins, interp, translate

PACKAGE = Path(__file__).parent.parent / "ccl"


def test_every_host_row_has_exactly_one_implementation():
    class Dummy:
        ns = {"_g": 0, "_m": 0}
        now, caller = 0, "did:key:x"

        def log(self, m):
            pass
    from ccl.runtime import host

    pure = set(builtins.implementations(Dummy()))
    effectful = set(host.NAMES)
    assert not pure & effectful
    assert pure | effectful == {row.name for row in HOST_TABLE}
    assert effectful == {row.name for row in HOST_TABLE if row.effect not in ("pure", "context", "debug")}


def test_host_names_and_paths_are_unique_and_methods_resolve():
    assert len({r.name for r in HOST_TABLE}) == len(HOST_TABLE)
    assert len({r.path for r in HOST_TABLE}) == len(HOST_TABLE)
    names = {r.name for r in HOST_TABLE}
    assert set(METHODS.values()) <= names


def test_every_opcode_is_translated_and_interpreted():
    translated = set(translate._OPS)
    assert translated == {op.code for op in O.OPS}
    source = Path(interp.__file__).read_text()
    for op in O.OPS:
        assert f"O.{op.name}" in source, f"interpreter never mentions {op.name}"


def test_opcode_rows_are_consistent():
    assert [op.code for op in O.OPS] == list(range(len(O.OPS)))
    for op in O.OPS:
        assert op.gas >= 0 and op.doc


# layer → the layers it may import. core (syntax ← check ← compile ← vm ← pipeline; identity,
# store, dag) ← engines (ledger ← governance ← coop, aid) ← runtime ← api ← edges (cli, node,
# and the client library); edges never import each other. No layer has an exception.
LEAVES = {"ccl.diag", "ccl.limits", "ccl.types", "ccl.semantics", "ccl.canon", "ccl.hosttable", "ccl.money",
          "ccl.operations", "ccl.highlight"}
CORE = {"syntax", "check", "compile", "vm", "pipeline", "identity", "store", "dag"}
ENGINES = {"ledger", "governance", "coop", "aid"}
ALLOWED = {
    "syntax": {"syntax"},
    "check": {"syntax", "check"},
    "compile": {"syntax", "check", "compile"},
    "vm": {"compile", "vm"},
    "pipeline": {"syntax", "check", "compile", "pipeline"},
    "identity": {"identity"},
    "store": {"store"},
    "dag": {"dag", "identity", "store"},
    "ledger": {"ledger"},
    "governance": {"governance", "ledger", "identity"},
    "coop": {"coop", "ledger", "governance"},
    "aid": {"aid", "ledger", "governance"},
    "runtime": CORE | ENGINES | {"runtime"},
    "api": CORE | ENGINES | {"runtime", "api"},
    "ccl": {"api", "pipeline", "vm"},                 # `import ccl`: the front door, on first use
    "client": {"identity"},
    "cli": CORE | ENGINES | {"runtime", "api", "cli", "client"},
    "node": CORE | ENGINES | {"runtime", "api", "node"},
    "docgen": CORE | ENGINES | {"runtime", "api", "cli", "node"},     # writes pages from every table
    "__main__": {"cli"},
}


def _layer(module: str) -> str:
    parts = module.split(".")
    if module in LEAVES:
        return "leaf"
    return parts[1] if len(parts) > 1 else "ccl"


def _is_module(name: str) -> bool:
    return (PACKAGE / f"{name}.py").exists() or (PACKAGE / name).is_dir()


def test_every_module_has_a_layer():
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        module = ".".join(rel.parts).removesuffix(".__init__")
        assert _layer(module) == "leaf" or _layer(module) in ALLOWED, module


def test_imports_point_one_way():
    bad = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        module = ".".join(rel.parts).removesuffix(".__init__")
        layer = _layer(module)
        if layer == "leaf":
            continue                              # leaves: test_leaves_import_no_other_ccl_layer
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.ImportFrom) and node.module == "ccl":      # from ccl import canon
                targets = [f"ccl.{a.name}" for a in node.names if _is_module(a.name)]
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ccl"):
                targets = [node.module]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names if a.name.startswith("ccl")]
            for t in targets:
                tl = _layer(t)
                if tl != "leaf" and tl not in ALLOWED[layer]:
                    bad.append(f"{module} imports {t}")
    assert not bad, bad


def test_leaves_import_no_other_ccl_layer():
    for name in ("diag", "limits", "types", "semantics", "canon", "hosttable", "money", "operations", "highlight"):
        tree = ast.parse((PACKAGE / f"{name}.py").read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "ccl":
                bad = [a.name for a in node.names if _is_module(a.name) and f"ccl.{a.name}" not in LEAVES]
                assert not bad, f"ccl.{name} imports {bad}"
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ccl"):
                assert node.module in LEAVES, f"ccl.{name} imports {node.module}"
