"""Amendments: how the constitution changes — diff, dry-run, and the atomic switch.

An amendment is a proposal of the built-in kind `Amendment` with arguments `[op, module]`: `adopt`
a new module, `replace` the adopted module that declares the same contracts, or `retire` an
adopted module. Before it opens, `prepare` checks it and dry-runs it: the current store is copied
into memory, the switch is applied there — contract state migrated into the new version — and
the new version's tests (pinned by CID) run against that migrated copy as the proposer. A field
the new version drops or retypes needs a migration function in the new contract,
`fn migrate_FIELD(old: OldType) -> NewType` (`-> Unit` for a dropped field, which may move the old
value elsewhere): nothing is silently reset. The proposal records the diff, the tests' CIDs and
the dry-run's outcome. `switch`, at execution, dry-runs again against the state of that moment
and then applies the same switch inside the run's transaction. Imports leaves, ccl.vm, ccl.store,
ccl.governance and ccl.runtime.
"""

from __future__ import annotations

from typing import Optional

import attrs

from ccl import canon, types as ty
from ccl import governance as G
from ccl.compile.verify import Verified
from ccl.ledger import EngineState, Ledger, Refused
from ccl.store import copy as copy_store
from ccl.store.sqlite import SqliteStore

OPS = ("adopt", "replace", "retire")


# ---------------------------------------------------------------- what changes

def _contract_view(verified: Optional[Verified]) -> dict:
    """contract → {roles, kinds, state, functions} of a module, for diffing."""
    if verified is None:
        return {}
    module = verified.module
    out = {}
    for name, meta in module.contracts:
        kinds = {k["name"]: {f: k.get(f) for f in ("eligible", "duration_s", "quorum_pct", "threshold", "can",
                                                   "params")} for k in meta.get("proposals", [])}
        out[name] = {
            "roles": {r["name"]: {"can": sorted(r["can"]), "extends": r.get("extends"),
                                  "requires": r.get("requires", {})} for r in meta.get("roles", [])},
            "kinds": kinds,
            "state": {n: d for c, n, d in module.states if c == name},
            "functions": {f: {"needs": g.get("needs"), "open": bool(g.get("open"))}
                          for f, g in sorted((meta.get("functions") or {}).items())},
        }
    return out


def diff(old: Optional[Verified], new: Optional[Verified]) -> dict:
    """What a switch from `old` to `new` changes, per contract and section: added, removed and
    changed entries (roles and permissions, proposal kinds and their rules, state fields and
    their types, functions and their guards). Deterministic (sorted)."""
    a, b = _contract_view(old), _contract_view(new)
    out = {}
    for contract in sorted(set(a) | set(b)):
        sections = {}
        for section in ("roles", "kinds", "state", "functions"):
            x, y = a.get(contract, {}).get(section, {}), b.get(contract, {}).get(section, {})
            entry = {"added": sorted(set(y) - set(x)), "removed": sorted(set(x) - set(y)),
                     "changed": [[k, x[k], y[k]] for k in sorted(set(x) & set(y)) if x[k] != y[k]]}
            if any(entry.values()):
                sections[section] = entry
        if sections:
            out[contract] = sections
    return out


def render(d: dict) -> str:
    """The diff as text for voters (`ccl bylaws diff`, `ccl proposal show`)."""
    if not d:
        return "no change to roles, proposal kinds, state or functions"
    names = {"roles": "role", "kinds": "proposal kind", "state": "state field", "functions": "function"}
    lines = []
    for contract, sections in d.items():
        lines.append(f"contract {contract}")
        for section, entry in sections.items():
            for k in entry["added"]:
                lines.append(f"  + {names[section]} {k}")
            for k in entry["removed"]:
                lines.append(f"  - {names[section]} {k}")
            for k, x, y in entry["changed"]:
                lines.append(f"  ~ {names[section]} {k}: {_short(x)} → {_short(y)}")
    return "\n".join(lines)


def _short(v) -> str:
    import json

    return json.dumps(v, sort_keys=True, ensure_ascii=False)


# ---------------------------------------------------------------- migration

@attrs.frozen
class FieldMigration:
    """A stored contract field that a new version drops or retypes."""

    contract: str
    field: str
    old_type: Optional[ty.Descriptor]       # as stored (None: the stored field names no type)
    new_type: Optional[ty.Descriptor]       # None: the new version drops the field


def migration_plan(tx, new: Verified) -> list[FieldMigration]:
    """Each stored field the new version drops or retypes; refused unless the new contract
    defines `migrate_FIELD` to match."""
    module = new.module
    declared = {(c, n): d for c, n, d in module.states}
    functions = {f.name: f for f in module.functions}
    plan = []
    for contract, _ in module.contracts:
        row = tx.get_state(contract)
        if row is None:
            continue
        stored = canon.decode(row[1])
        for field in sorted(stored):
            old_type = stored[field].get("type") if isinstance(stored[field], dict) else None
            new_type = declared.get((contract, field))
            if new_type == old_type:
                continue
            f = functions.get(f"{contract}::migrate_{field}")
            want = ty.UNIT if new_type is None else ty.from_descriptor(new_type)
            what = "drops" if new_type is None else "changes the type of"
            hint = (f"define `fn migrate_{field}(old: {ty.from_descriptor(old_type)}) -> {want}` in contract "
                    f"{contract}")
            if f is None or list(f.params) != [old_type] or ty.from_descriptor(f.ret) != want:
                raise Refused("migration", f"the new version {what} `{contract}.{field}` and has no migration "
                              "function for it", hint)
            plan.append(FieldMigration(contract, field, old_type, new_type))
    return plan


def migrate(tx, L: Ledger, new: Verified, coop: str, mode: str) -> list[str]:
    """Run the migration functions of `new` on the stored state (inside `tx`); returns what moved."""
    from ccl.runtime import authority as AUTH
    from ccl.runtime import host as host_rows
    from ccl.runtime.session import encode_state, load_state
    from ccl.vm.run import execute
    from ccl.vm.values import Types, from_json

    plan = migration_plan(tx, new)
    if not plan:
        return []
    module = new.module
    types = Types(module)
    values, initialize = load_state(tx, new)
    index = {(c, n): i for i, (c, n, _) in enumerate(module.states)}
    principal = AUTH.Principal(coop, coop, frozenset(), G.open_operations(L))
    effects = host_rows.Effects()
    moved = []
    stored = {c: canon.decode(tx.get_state(c)[1]) for c in {m.contract for m in plan}}
    for m in plan:
        contract, field, old_type, new_type = m.contract, m.field, m.old_type, m.new_type
        old_value = stored[contract][field]["value"]
        arg = from_json(ty.from_descriptor(old_type), old_value, types, field)
        from ccl.vm.values import to_json

        result = execute(new, f"{contract}::migrate_{field}", [to_json(ty.from_descriptor(old_type), arg, types)],
                         now=L.now, caller=coop, mode=mode, log=lambda m: None, state=values,
                         initialize=initialize, host=lambda st: host_rows.bind(tx, effects, st, L, principal))
        if not result.ok:
            assert result.error is not None             # a failed run carries its diagnostic
            raise Refused("migration", f"migrate_{field} failed: {result.error.message}")
        values, initialize = list(result.state), set()
        if new_type is not None:
            values[index[(contract, field)]] = result.raw
        moved.append(f"{contract}.{field}")
    after = encode_state(new, values)
    for contract in sorted({m.contract for m in plan}):
        tx.put_state(contract, new.cid, after.get(contract, canon.encode({})))   # every field may be gone
    return moved


# ---------------------------------------------------------------- prepare, dry-run, switch

def _copy(tx) -> SqliteStore:
    """Everything in the store, in a fresh in-memory store (the dry-run's scratch copy)."""
    scratch = SqliteStore.memory()
    with scratch.transaction() as out:
        copy_store(tx, out)
    return scratch


def _apply(tx, L: Ledger, op: str, new: Optional[Verified], old: Optional[str], via: str, mode: str) -> list[str]:
    if op == "retire":
        assert old is not None                          # `prepare` checked: retire names a module
        G.retire_module(L, old, via)
        return []
    assert new is not None                              # adopt and replace bring one
    G.adopt_module(L, new.cid, list(new.module.contracts), via, replaces=old)
    genesis = G.coop(L)
    assert genesis is not None                          # amendments are voted on in a founded co-op
    return migrate(tx, L, new, genesis["coop"], mode)


def _shape(module, f) -> tuple:
    """A function's code with module-local operands replaced by what they mean (constants by
    their value, calls by the callee's name), so two modules' copies of it can be compared."""
    from ccl.compile.opcodes import OPS

    code = []
    for op, arg in zip(f.code[::2], f.code[1::2]):
        kind = OPS[op].operand
        if kind in ("const", "event"):
            arg = repr(module.consts[arg])
        elif kind == "fn":
            arg = module.functions[arg].name
        elif kind == "state":
            arg = module.states[arg][:2]
        code.append((op, arg))
    return f.params, f.ret, tuple(code)


def tests_run_the_new_version(new: Verified, test: Verified) -> None:
    """A pinned test module must carry the proposed version itself: every contract function,
    state field and piece of metadata of `new`, unchanged (not, say, an import of the old one)."""
    ours = {f.name: f for f in new.module.functions if "::" in f.name}
    theirs = {f.name: f for f in test.module.functions}
    same = dict(new.module.contracts) == {c: m for c, m in test.module.contracts if c in dict(new.module.contracts)} \
        and all(st in test.module.states for st in new.module.states)
    for name, f in ours.items():
        g = theirs.get(name)
        if g is None or _shape(new.module, f) != _shape(test.module, g):
            same = False
            break
    if not same:
        raise Refused("amendment_tests", f"the test module {test.cid[:20]}… does not test the proposed version "
                      "(its contracts differ from the module proposed)",
                      "the tests must import the file being proposed")


def dry_run(tx, L: Ledger, op: str, new: Optional[Verified], old: Optional[str], tests: list[Verified],
            proposer: str, mode: str = "fast") -> dict:
    """Apply the switch to a copy of the store and run the tests there; refused if anything fails."""
    from ccl.runtime import session
    from ccl.runtime.testing import TestHooks, tests_of

    scratch = _copy(tx)
    try:
        with scratch.transaction() as stx:
            moved = _apply(stx, Ledger(EngineState(stx), L.now), op, new, old, "dry-run", mode)
        passed = 0
        for t in tests:
            if new is not None:
                tests_run_the_new_version(new, t)
            names = session.contracts_of(t)
            for f in tests_of(t):
                copy = scratch.memory_copy()
                with copy.transaction() as ctx:
                    ctx.put_block(t.cid, t.encoded)
                    cl = Ledger(EngineState(ctx), L.now)
                    for c in names:
                        G.pin_contract(cl, c, t.cid)    # the test module stands in for the new version
                outcome = session.run(t, f.name, [], store=copy, caller=proposer, signer=None, now=L.now,
                                      log=lambda m: None, record=False, testing=TestHooks(), mode=mode)
                copy.close()
                if not outcome.run.ok:
                    e = outcome.run.error
                    assert e is not None                # a failed run carries its diagnostic
                    raise Refused("dry_run", f"the new version's test {f.name} fails against the migrated state: "
                                  f"{e.code} {e.message}", "fix the new version or its tests, then propose it again")
                passed += 1
    finally:
        scratch.close()
    return {"ok": True, "tests_passed": passed, "migrated": moved}


def prepare(tx, L: Ledger, args: list, attachments: dict, tests: list, proposer: str) -> dict:
    """Check an amendment before it opens; returns what the proposal records."""
    op, cid = args
    if op not in OPS:
        raise Refused("amendment_op", f"`{op}` is not an amendment", "adopt, replace or retire")
    adopted = G.adopted(L)
    new, old = None, None
    if op == "retire":
        if G.adopted_module(L, cid) is None:
            raise Refused("adopted", f"module {cid} is not part of the constitution", "`ccl bylaws show` lists it")
        old = cid
    else:
        new = attachments.get(cid)
        if new is None:
            raise Refused("amendment_module", f"the module {cid} to adopt was not supplied")
        from ccl.runtime.session import contracts_of

        names = contracts_of(new)
        if not names:
            raise Refused("amendment_module", "bylaws to adopt declare at least one contract")
        if G.adopted_module(L, cid) is not None:
            raise Refused("adopted", "this exact version is already adopted")
        olds = sorted({adopted[c] for c in names if c in adopted})
        if op == "adopt" and olds:
            raise Refused("contract_unique", f"`{[c for c in names if c in adopted][0]}` is already adopted",
                          "propose `replace` to change it")
        if op == "replace":
            if len(olds) != 1:
                raise Refused("amendment_replace", "a replacement declares the contracts of exactly one adopted "
                              "module" if olds else "nothing adopted declares these contracts: propose `adopt`")
            old = olds[0]
    test_modules = []
    for t in tests:
        if t not in attachments:
            raise Refused("amendment_tests", f"test module {t} was not supplied")
        test_modules.append(attachments[t])
    from ccl.runtime.session import load_module

    old_v = load_module(tx, old) if old else None
    d = diff(old_v, new) if op != "retire" else diff(old_v, None)
    outcome = dry_run(tx, L, op, new, old, test_modules, proposer)
    return {"op": op, "module": cid, "replaces": old, "diff": d, "tests": list(tests), "dry_run": outcome}


def switch(tx, L: Ledger, p: dict, mode: str) -> dict:
    """Execute a passed amendment: dry-run again against the state of this moment, then switch."""
    from ccl.runtime.session import load_module

    a = p["amendment"]
    if a["replaces"] is not None and G.adopted_module(L, a["replaces"]) is None:
        raise Refused("amendment_stale", f"the module this amendment changes ({a['replaces'][:20]}…) is no longer "
                      "adopted: the constitution changed since it was proposed", "propose it again")
    new = load_module(tx, a["module"]) if a["op"] != "retire" else None
    tests = [load_module(tx, t) for t in a["tests"]]
    outcome = dry_run(tx, L, a["op"], new, a["replaces"], tests, p["proposer"], mode)
    moved = _apply(tx, L, a["op"], new, a["replaces"], p["id"], mode)
    return {"op": a["op"], "module": a["module"], "replaces": a["replaces"], "tests_passed": outcome["tests_passed"],
            "migrated": moved}
