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


# The layers, each with the layers directly below it; a module imports the leaves, its own layer
# and every layer below its own, and nothing else (docs/design.md, "Layers"). No allowance besides.
LEAVES = {"ccl.diag", "ccl.limits", "ccl.types", "ccl.semantics", "ccl.canon", "ccl.hosttable", "ccl.money",
          "ccl.operations", "ccl.private"}
BELOW = {
    # the language: leaves ← syntax ← check ← compile ← vm ← pipeline
    "syntax": set(), "check": {"syntax"}, "compile": {"check"}, "vm": {"compile"}, "pipeline": {"vm"},
    # identities, the store, the DAG of receipts
    "identity": set(), "store": set(), "dag": {"identity", "store"},
    # the engines, in a fixed order: ledger ← governance ← coop, aid
    "ledger": {"identity", "store"}, "governance": {"ledger"}, "coop": {"governance"}, "aid": {"governance"},
    # where the language meets the engines
    "runtime": {"pipeline", "dag", "coop", "aid"},
    # what both edges need, and the front door `import ccl` (ccl/__init__.py), then the edges, which
    # never import each other
    "api": {"runtime"}, "front": {"api"},
    "cli": {"api"}, "node": {"api"},
    # a tool: the reference pages are generated from every table, the command tree and the routes
    "docgen": {"cli", "node"},
}
# top-level modules that are not packages, by the layer they belong to
MODULES = {"ccl": "front", "ccl.pipeline": "pipeline", "ccl.highlight": "syntax", "ccl.client": "api", "ccl.__main__": "cli",
           "ccl.docgen": "docgen"}


def below(layer: str) -> set[str]:
    """Every layer under `layer` (directly or through others)."""
    out, todo = set(), list(BELOW[layer])
    while todo:
        lower = todo.pop()
        if lower not in out:
            out.add(lower)
            todo.extend(BELOW[lower])
    return out


def _layer(module: str) -> str:
    if module in LEAVES:
        return "leaf"
    if module in MODULES:
        return MODULES[module]
    return module.split(".")[1]


def _imports(tree) -> list[str]:
    """The ccl modules a module imports (`from ccl import governance` imports ccl.governance)."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "ccl":
            if node.module == "ccl":             # a module of the package, or a name (__version__: a leaf)
                out += [f"ccl.{a.name}" for a in node.names
                        if (PACKAGE / a.name).is_dir() or (PACKAGE / f"{a.name}.py").is_file()]
            else:
                out.append(node.module)
        elif isinstance(node, ast.Import):
            out += [a.name for a in node.names if a.name.split(".")[0] == "ccl"]
    return out


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        yield ".".join(rel.parts).removesuffix(".__init__"), path


def wrong_way(module: str, targets: list[str]) -> list[str]:
    layer = _layer(module)
    allowed = {"leaf"} if layer == "leaf" else {"leaf", layer, *below(layer)}
    return [f"{module} ({layer}) imports {t} ({_layer(t)})" for t in targets if _layer(t) not in allowed]


def test_every_module_has_a_layer():
    for module, _ in _modules():
        assert _layer(module) == "leaf" or _layer(module) in BELOW, f"{module} belongs to no layer"


def test_imports_point_one_way():
    bad = []
    for module, path in _modules():
        bad += wrong_way(module, _imports(ast.parse(path.read_text())))
    assert not bad, bad


def test_the_layer_rules_refuse_a_wrong_way_import():
    tree = ast.parse("from ccl import governance as G\nimport ccl.cli.main\nfrom ccl.node.app import create_app")
    assert _imports(tree) == ["ccl.governance", "ccl.cli.main", "ccl.node.app"]
    assert wrong_way("ccl.node.app", ["ccl.cli.main"]) and wrong_way("ccl.cli.main", ["ccl.node.app"])
    assert wrong_way("ccl.ledger.engines", ["ccl.governance"]) and wrong_way("ccl.coop", ["ccl.aid"])
    assert wrong_way("ccl.governance", ["ccl.dag"]) and wrong_way("ccl.vm.run", ["ccl.runtime.session"])
    assert wrong_way("ccl.api.files", ["ccl.cli.common"]) and wrong_way("ccl.runtime.host", ["ccl.api.files"])
    assert not wrong_way("ccl.aid", ["ccl.governance", "ccl.ledger", "ccl.canon"])
    assert not wrong_way("ccl.docgen", ["ccl.cli.main", "ccl.node.app"])
    assert not wrong_way("ccl.cli.main", ["ccl.api.workspace", "ccl.runtime.session", "ccl.client"])


def test_leaves_import_no_other_ccl_layer():
    for name in ("diag", "limits", "types", "semantics", "canon", "hosttable", "money", "operations"):
        tree = ast.parse((PACKAGE / f"{name}.py").read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ccl"):
                assert node.module in LEAVES, f"ccl.{name} imports {node.module}"
