"""Engines own their data: a module touches only the store namespaces of its own package.

The walker reads every ccl/**/*.py with `ast` and finds each store-row access: `get`, `put`,
`scan` or `require` on an EngineState (`L.s`, `ledger.s`, … and `self` inside EngineState) and
`kv_get`, `kv_put` or `kv_scan` on a store transaction. Its namespace must be a string constant,
or an f-string whose literal start names the namespace (`f"coop.purchases/{period}"`), and must
belong to the module's own package: the NAMESPACES of ccl.ledger, ccl.governance, ccl.coop,
ccl.aid and ccl.runtime. Any other module reaches those rows through the owning engine's
functions. A namespace the walker cannot read (a variable, a call) is allowed only inside an
engine, where the engine builds its own names — anywhere else it could hide any access. ccl.store
is left out: it is the rows themselves, and each of its methods takes whatever namespace it is
given.
"""

import ast
import importlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "ccl"
ENGINES = ("ledger", "governance", "coop", "aid")
OWNERS = (*ENGINES, "runtime")                   # the runtime keeps the signed requests' nonces
ROW_METHODS = {"get", "put", "scan", "require"}  # ccl.ledger.EngineState
TX_METHODS = {"kv_get", "kv_put", "kv_scan"}     # ccl.store.Tx


def owned() -> dict[str, tuple[str, ...]]:
    return {package: importlib.import_module(f"ccl.{package}").NAMESPACES for package in OWNERS}


def _literal(node):
    """(namespace or its literal start, whether that is all of it), or None when unreadable — an
    f-string is readable when its literal start goes past the owner's prefix (`coop.…`)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value, True
    if isinstance(node, ast.JoinedStr):
        start = ""
        for part in node.values:
            if not (isinstance(part, ast.Constant) and isinstance(part.value, str)):
                return (start, False) if "." in start or "/" in start else None
            start += part.value
        return start, True
    return None


def belongs(prefixes, namespace: str, whole: bool) -> bool:
    """Whether `namespace` (or, when not `whole`, every namespace that starts so) is under one of
    `prefixes`: `gov` owns `gov.proposals`; `coop` owns `coop.purchases/2026`."""
    return any((whole and namespace == p) or namespace.startswith((p + ".", p + "/")) for p in prefixes)


class _Accesses(ast.NodeVisitor):
    """(line, the namespace argument's node) of every store-row access in a module."""

    def __init__(self):
        self.found: list[tuple[int, object]] = []
        self.classes: list[str] = []

    def visit_ClassDef(self, node):
        self.classes.append(node.name)
        self.generic_visit(node)
        self.classes.pop()

    def visit_Call(self, node):
        f = node.func
        if isinstance(f, ast.Attribute) and self._is_row_access(f):
            namespace = node.args[0] if node.args else next(
                (k.value for k in node.keywords if k.arg == "namespace"), None)
            if namespace is not None:
                self.found.append((node.lineno, namespace))
        self.generic_visit(node)

    def _is_row_access(self, f: ast.Attribute) -> bool:
        if f.attr in TX_METHODS:
            return True
        if f.attr not in ROW_METHODS:
            return False
        receiver = f.value
        engine_state = isinstance(receiver, ast.Attribute) and receiver.attr == "s"
        itself = isinstance(receiver, ast.Name) and receiver.id == "self" and self.classes[-1:] == ["EngineState"]
        return engine_state or itself


def violations(source: str, package: str, where: str, owners: dict) -> list[str]:
    """What in `source` (a module of ccl.`package`) touches rows it does not own."""
    visitor = _Accesses()
    visitor.visit(ast.parse(source))
    mine = owners.get(package, ())
    bad = []
    for line, node in visitor.found:
        literal = _literal(node)
        if literal is None:
            if package not in ENGINES:
                bad.append(f"{where}:{line}: a namespace the test cannot read ({ast.unparse(node)}) outside "
                           "an engine: name the rows literally, or call the owning engine's function")
            continue
        namespace, whole = literal
        if belongs(mine, namespace, whole):
            continue
        owner = next((p for p, prefixes in owners.items() if belongs(prefixes, namespace, whole)), None)
        bad.append(f"{where}:{line}: `{namespace}{'' if whole else '…'}` " +
                   (f"belongs to ccl.{owner}: call its functions" if owner else "is owned by no engine's NAMESPACES"))
    return bad


def _package(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return parts[0]


def test_every_module_touches_only_the_rows_of_its_own_package():
    owners = owned()
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        package = _package(path)
        if package == "store":
            continue
        bad += violations(path.read_text(), package, str(path.relative_to(PACKAGE.parent)), owners)
    assert not bad, "\n".join(bad)


def test_the_walker_sees_the_engines_accesses():
    """It finds the real accesses (so the test above is not passing because it finds nothing)."""
    visitor = _Accesses()
    visitor.visit(ast.parse((PACKAGE / "governance" / "__init__.py").read_text()))
    names = {_literal(n)[0] for _, n in visitor.found if _literal(n)}
    assert {"gov.proposals", "gov.members", "gov.role_defs", "gov.kinds"} <= names
    visitor = _Accesses()
    visitor.visit(ast.parse((PACKAGE / "ledger" / "__init__.py").read_text()))
    assert len(visitor.found) > 10 and any(_literal(n) is None for _, n in visitor.found)   # EngineState's own


@pytest.mark.parametrize("package, source, wanted", [
    ("runtime", 'L.s.put("gov.proposals", pid, p)', "belongs to ccl.governance"),
    ("governance", 'L.s.put("gov.proposals", pid, p)', None),
    ("ledger", 'ledger.s.get("gov.members", did)', "belongs to ccl.governance"),
    ("cli", 'rows = L.s.scan("hours.claims")', "belongs to ccl.ledger"),
    ("node", 'L.s.put(namespace="gov.roles", key=did, value=[])', "belongs to ccl.governance"),
    ("aid", 'L.s.scan(f"coop.purchases/{period}")', "belongs to ccl.coop"),
    ("coop", 'L.s.scan(f"coop.purchases/{period}")', None),
    ("api", 'ns = "gov.kinds"\nL.s.scan(ns)', "cannot read"),
    ("cli", 'tx.kv_put(ns, key, value)', "cannot read"),
    ("cli", 'L.s.get(f"{engine}.rows", k)', "cannot read"),
    ("governance", 'ns = "gov.kinds"\nL.s.scan(ns)', None),
    ("runtime", 'ledger.s.get("node.nonces", key)', "owned by no engine"),
    ("runtime", 'L.s.require("aid.matches", m, "match_exists", "no")', "belongs to ccl.aid"),
    ("coop", 'L.s.put("co-op.notes", k, v)', "owned by no engine"),
    ("cli", 'row = settings.get("gov.kinds")', None),                # a dict's get, not a store row
])
def test_the_walker_catches_a_new_violation(package, source, wanted):
    found = violations(source, package, "snippet.py", owned())
    if wanted is None:
        assert not found, found
    else:
        assert len(found) == 1 and wanted in found[0] and found[0].startswith("snippet.py:"), found


def test_no_two_packages_claim_the_same_rows():
    owners = owned()
    claims = [(package, prefix) for package, prefixes in owners.items() for prefix in prefixes]
    for a, pa in claims:
        for b, pb in claims:
            if a != b:
                assert not belongs((pa,), pb, True), f"ccl.{a} `{pa}` and ccl.{b} `{pb}` overlap"


def test_every_row_a_busy_co_op_writes_has_one_owner():
    """Run every engine once and look at the rows the store holds: each namespace is owned by
    exactly one package (this catches names built at run time, which the walker lets pass
    inside the engines)."""
    from helpers import found_store

    from ccl import aid as AID, coop as C
    from ccl.identity import Identity
    from ccl.ledger import EngineState, Ledger
    from ccl.ledger import engines as E
    from ccl.store.sqlite import SqliteStore

    ana, bo = Identity.from_seed("ana", b"\x01" * 32), Identity.from_seed("bo", b"\x02" * 32)
    store = found_store(SqliteStore.memory(), ana, [bo.did])
    with store.transaction() as tx:
        L = Ledger(EngineState(tx), 1_000)
        E.issue_credit(L, ana.did, ana.did, bo.did, 500)
        E.log_hours(L, bo.did, ana.did, 60, "repairs")
        E.deposit_to_lending(L, bo.did, 200)
        E.request_loan(L, ana.did, ana.did, 100, "tools", 60)
        E.create_pool(L, ana.did, "circle", 10, 100)
        E.join_pool(L, ana.did, "circle", ana.did)
        E.file_claim(L, ana.did, "circle", 5, "ill")
        C.set_policy(L, ana.did, "reserve_bps", 2000)
        C.log_work(L, ana.did, ana.did, 90, "books")
        C.record_purchase(L, ana.did, bo.did, 300)
        AID.request_aid(L, ana.did, ana.did, "food", 2, 5, "0,0")
        AID.offer_resource(L, bo.did, bo.did, "food", 2, "1,1")
        AID.match(L, ana.did)
        rows = tx.kv_rows()
    store.close()
    owners = owned()
    namespaces = sorted({ns for ns, _, _ in rows})
    assert len(namespaces) > 15
    for ns in namespaces:
        claimed = [p for p, prefixes in owners.items() if belongs(prefixes, ns, True)]
        assert len(claimed) == 1, (ns, claimed)
