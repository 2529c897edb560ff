"""Every bylaw template guards what it does: a function that can write contract state or call an
effectful host row (one with `who` in the host table that is not a read) is `open`, has a `needs` guard, or is one
of the members' own actions listed below; every proposal kind with an execution declares `can:`;
every contract names its `founder:` role. The reach is read from the compiled code (CALL,
CALL_HOST and GSTORE, followed through the module's own functions), so removing a guard from a
template, or adding an unguarded function that writes, fails here."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccl.compile import opcodes as O
from ccl.hosttable import HOST_TABLE, HOST_INDEX
from ccl.pipeline import build
from ccl.syntax import ast as A
from ccl.syntax.parse import parse

CONTRACTS = Path(__file__).resolve().parent.parent / "contracts"
TEMPLATES = sorted(p.stem for p in CONTRACTS.glob("*.ccl"))
# (a read row may have `who` too — "anyone", members only — but it changes nothing)
EFFECTFUL = {HOST_INDEX[row.name] for row in HOST_TABLE if row.who and row.effect != "read"}
# Rows and ops that change a container in place: a state map or array changed this way is written
# without a GSTORE. Counted (conservatively) when the function also loads state.
MUTATING_ROWS = {HOST_INDEX[n] for n in ("array_push", "array_pop", "map_insert", "map_remove")}
MUTATING_OPS = {O.MSET, O.ASET}

# Functions any member may call, unguarded on purpose (default deny already requires membership).
MEMBER_ACTIONS = {
    "Housing::pay_charge": "a household pays a unit's monthly charge: it only adds to the reserve",
    "CreditUnionLoans::repay": "paying a loan back, from the payer's own funds",
    "MutualAid::received": "the person helped confirms delivery; the host checks they are the requester",
    "TimeBank::thanks": "the member helped confirms a record; the host checks it is theirs",
}

# Templates without a contract: nothing is adopted, so there is nothing to guard or found.
NO_CONTRACT = {
    "patronage": "pure arithmetic over the figures it is given: no state, no host effects",
}


def _built(name: str):
    path = CONTRACTS / f"{name}.ccl"
    text = path.read_text()
    return build(text, str(path)), parse(text, str(path))


def _instructions(fn):
    code = fn.code
    return [(code[i], code[i + 1]) for i in range(0, len(code), 2)]


def _effects(module) -> dict[str, set[str]]:
    """For each function, what its body can do, following its calls: `write` (a GSTORE, or an
    in-place change in a function that loads state), `host:NAME` (an effectful host row)."""
    names = {i: f.name for i, f in enumerate(module.functions)}
    direct: dict[int, set[str]] = {}
    calls: dict[int, set[int]] = {}
    host_names = {index: row.name for row in HOST_TABLE for index in [HOST_INDEX[row.name]]}
    for i, f in enumerate(module.functions):
        direct[i], calls[i] = set(), set()
        ops = _instructions(f)
        loads_state = any(op == O.GLOAD for op, _ in ops)
        for op, arg in ops:
            if loads_state and (op in MUTATING_OPS or (op == O.CALL_HOST and arg in MUTATING_ROWS)):
                direct[i].add("write")
            if op == O.GSTORE:
                direct[i].add("write")
            elif op == O.CALL_HOST and arg in EFFECTFUL:
                direct[i].add("host:" + host_names[arg])
            elif op == O.CALL:
                calls[i].add(arg)
    out = {}
    for i in names:
        seen, todo, effects = set(), [i], set()
        while todo:
            j = todo.pop()
            if j in seen:
                continue
            seen.add(j)
            effects |= direct[j]
            todo.extend(calls[j])
        out[names[i]] = effects
    return out


def _stores(module, name: str) -> bool:
    fn = next(f for f in module.functions if f.name == name)
    return any(op == O.GSTORE for op, _ in _instructions(fn))


def test_every_template_is_checked():
    assert len(TEMPLATES) == 14


def test_the_analysis_sees_writes_and_host_effects():
    verified, _ = _built("housing_coop")
    effects = _effects(verified.module)
    assert "write" in effects["Housing::move_in"]
    assert effects["Housing::next_order"] == set()
    verified, _ = _built("worker_coop")
    effects = _effects(verified.module)
    assert "host:set_coop_policy" in effects["WorkerCoop::adopt_policy"]
    verified, _ = _built("tool_library")
    effects = _effects(verified.module)
    assert "write" in effects["ToolLibrary::give_back"]          # map_remove on a state map
    assert effects["ToolLibrary::status"] == set()


@pytest.mark.parametrize("name", TEMPLATES)
def test_functions_that_act_are_guarded(name):
    verified, _ = _built(name)
    if name in NO_CONTRACT:
        assert not verified.module.contracts
        assert not any(e for e in _effects(verified.module).values()), NO_CONTRACT[name]
        return
    assert verified.module.contracts, f"{name} declares no contract"
    effects = _effects(verified.module)
    unguarded = []
    for contract, meta in verified.module.contracts:
        for fn, info in meta["functions"].items():
            full = f"{contract}::{fn}"
            if info["open"]:
                # an open function is for anyone: it must not store state or call an effectful row
                # (in-place changes are not counted: an open view may build local arrays)
                acts = {e for e in effects[full] if e.startswith("host:")}
                assert not acts and not _stores(verified.module, full), f"{full} is open but acts: {sorted(acts)}"
                continue
            if effects[full] and info["needs"] is None and full not in MEMBER_ACTIONS:
                unguarded.append(f"{full} can {sorted(effects[full])}")
    assert not unguarded, "guard these with `needs`, or list them in MEMBER_ACTIONS: " + "; ".join(unguarded)


def test_member_actions_exist_and_are_unguarded():
    found = {}
    for name in TEMPLATES:
        verified, _ = _built(name)
        for contract, meta in verified.module.contracts:
            for fn, info in meta["functions"].items():
                found[f"{contract}::{fn}"] = info
    for full in MEMBER_ACTIONS:
        assert full in found, f"MEMBER_ACTIONS lists {full}, which no template declares"
        assert found[full]["needs"] is None and not found[full]["open"], f"{full} is no longer a plain member action"


@pytest.mark.parametrize("name", sorted(set(TEMPLATES) - set(NO_CONTRACT)))
def test_kinds_declare_can_and_contracts_name_a_founder(name):
    verified, module = _built(name)
    contracts = [item for item in module.items if isinstance(item, A.Contract)]
    assert contracts
    roles = {r["name"]: r for _, meta in verified.module.contracts for r in meta["roles"]}
    for contract in contracts:
        founder = [m for m in contract.meta if m.key == "founder"]
        assert founder, f"{contract.name} names no `founder:` role"
        for item in contract.items:
            if isinstance(item, A.Proposal) and item.execution is not None:
                assert item.can is not None, f"{contract.name}::{item.name} has an execution but no `can:`"
    # the founder's role (with what it extends) can admit members and grant roles
    founder_role = next(m for c in contracts for m in c.meta if m.key == "founder")
    role_name = getattr(founder_role.value, "value", None) or getattr(founder_role.value, "name", None)
    can: set[str] = set()
    while role_name:
        can |= set(roles[role_name]["can"])
        role_name = roles[role_name]["extends"]
    assert {"manage_members", "manage_roles"} <= can
