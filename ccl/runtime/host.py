"""Effectful host-table rows bound to a run's store transaction and the engines.

`bind(tx, effects, state, ledger, principal)` returns name → callable for every row whose effect
is not pure; a test asserts that these and ccl.vm.builtins together cover the host table exactly.
Each engine operation's row calls the engine function the operations table names for it
(ccl.operations). Each call is first authorized in one place (ccl.runtime.authority, from the
row's `who`), then validated and applied by its engine inside the run's transaction — so later calls in the run see
it and a failed run leaves nothing — and appends an effect record for the receipt. Refusals
become `host` errors naming the rule. Every row calls an engine's function: no row reads or
writes an engine's store rows itself. Imports leaves, ccl.ledger and ccl.runtime.authority; the
engines' functions are imported by name from the table.
"""

from __future__ import annotations

import importlib
from typing import Callable

from ccl import canon
from ccl.hosttable import HOST_INDEX, HOST_TABLE
from ccl.ledger import Ledger, Refused
from ccl.operations import OPS, Op
from ccl.runtime import authority as AUTH
from ccl.semantics import Trap

RATES = {row.name: row.gas_per_item for row in HOST_TABLE}

NAMES = tuple(row.name for row in HOST_TABLE if row.effect not in ("pure", "context", "debug"))
TEST_ROWS = ("as_member", "at", "expect_fail", "admit")
ENGINE_OPS = tuple(op for op in OPS if op.sig is not None)


class Effects:
    """What a run did, in order: host effects and events (CooperativeEvent fields)."""

    def __init__(self):
        self.records: list[dict] = []
        self.events: list[dict] = []
        self.ledger: Ledger | None = None


def implementation(op: Op) -> Callable:
    """The engine function an operation names (`module:function`), looked up when a run binds
    its rows (the module is imported once; the lookup follows what the module holds now)."""
    assert op.impl is not None, op.name
    module, name = op.impl.split(":")
    return getattr(importlib.import_module(module), name)


def _per_item(op: Op):
    """Per-item gas (the host table's column): counted before the call from an argument's length,
    or — where the count is only known from the answer — after it."""
    if op.count.startswith("before:"):
        i = [n for n, _ in HOST_TABLE[HOST_INDEX[op.name]].params].index(op.count.split(":", 1)[1])
        return (lambda args: len(args[i])), None
    if op.count == "after":
        return None, len
    return None, None


def _limited(op: Op) -> tuple:
    """(argument index, Input) of each of a row's text parameters that its command gives a
    length limit (ccl.operations.Input.limit)."""
    if op.command is None:
        return ()
    inputs = {i.name: i for i in op.command.inputs}
    params = [n for n, _ in HOST_TABLE[HOST_INDEX[op.name]].params]
    return tuple((k, inputs[n]) for k, n in enumerate(params)
                 if n in inputs and inputs[n].type not in ("Integer", "Bool", "Did"))


# the same limits as at the edge (ccl.api.actions.check_inputs), for a contract that calls the row
LIMITED = {op.name: _limited(op) for op in ENGINE_OPS}


def _engine_row(L: Ledger, p: "AUTH.Principal", op: Op):
    """One operation's row: its engine function with the caller as actor (read at each call:
    `ccl test` may change it) when it changes state. A text argument longer than its input's
    limit traps (L0509), whoever's contract passes it."""
    fn, limited = implementation(op), LIMITED[op.name]

    def checked(args: tuple) -> tuple:
        for k, i in limited:
            why = i.too_long(args[k])
            if why is not None:
                raise Trap("L0509", f"{op.name}: {why}")
        return args
    if op.actor:
        return lambda *args: fn(L, p.caller, *checked(args))
    return lambda *args: fn(L, *checked(args))


def _runtime_rows(L: Ledger, p: "AUTH.Principal") -> dict:
    """Rows about the run's principal rather than an engine's data."""
    return {"require_permission": lambda permission: _require(L, p, permission),
            "guard": lambda need: _guard(L, p, need)}


def _guard(L: Ledger, p: "AUTH.Principal", need: str) -> bool:
    AUTH.guard(L, p, need)
    return True


def _require(L: Ledger, p: "AUTH.Principal", permission: str) -> bool:
    if not AUTH.holds(L, p, permission):
        raise Refused("permission", f"{p.caller} lacks the `{permission}` permission",
                      "permissions come from roles of the adopted bylaws: `ccl role list` shows who holds what")
    return True


def bind(tx, effects: Effects, state, ledger: Ledger, principal: "AUTH.Principal", testing=None) -> dict:
    """`state` is the VM's RunState (for gas, caller and time); `ledger` the run's engines;
    `principal` who the run acts as; `testing` the test runner's hooks (`ccl test` only)."""

    def charge(n: int) -> None:
        if n:
            state.ns["_g"] -= n
            if state.ns["_g"] < 0:
                raise Trap("G0400", "out of gas")

    def dag_put(data: str) -> str:
        block = canon.encode(data)
        charge(RATES["dag_put"] * len(block))
        cid = canon.cid_text(block)
        tx.put_block(cid, block)
        effects.records.append({"host": "dag_put", "cid": canon.Link(cid)})
        return cid

    def dag_get(cid: str) -> str:
        if not canon.is_cid(cid):
            raise Trap("H0600", f"`{cid}` is not a content id")
        block = tx.get_block(cid)
        if block is None:
            raise Trap("H0600", f"no block {cid} in this workspace's DAG")
        value = canon.decode(block)
        if not isinstance(value, str):
            raise Trap("H0600", f"block {cid} does not hold text")
        charge(RATES["dag_get"] * len(block))
        return value

    def emit_event(event_type: str, data: str) -> None:
        charge(RATES["emit_event"] * len(data.encode("utf-8")))
        if len(effects.events) >= 1000:
            raise Trap("L0506", "more than 1000 events in one run")
        effects.events.append({"type": event_type, "data": data})
        return None

    effects.ledger = ledger
    rows = {}
    for name, call in (("dag_put", dag_put), ("dag_get", dag_get), ("emit_event", emit_event)):
        rows[name] = _guarded(name, call, effects, ledger, principal)
    for op in ENGINE_OPS:
        rows[op.name] = _guarded(op.name, _engine_row(ledger, principal, op), effects, ledger, principal, charge,
                                 *_per_item(op))
    for name, call in _runtime_rows(ledger, principal).items():
        rows[name] = _guarded(name, call, effects, ledger, principal, charge)
    if testing is not None:
        testing.attach(state, principal, ledger)
    for name in TEST_ROWS:
        rows[name] = _test_row(name, testing)
    return rows


def _test_row(name: str, testing):
    def run(*args):
        if testing is None:
            raise Trap("H0600", f"`{name}` works only in `ccl test`")
        return getattr(testing, name)(*args)
    return run


def _guarded(name: str, call, effects: Effects, ledger: Ledger, principal: "AUTH.Principal", charge=None,
             before=None, after=None):
    # what a run reads is not an effect: reads and dag_get leave no record in the receipt
    record = HOST_TABLE[HOST_INDEX[name]].effect != "read" and name != "dag_get"

    def run(*args):
        try:
            AUTH.authorize(ledger, principal, name, args)
            if before is not None:
                charge(RATES[name] * before(args))
            result = call(*args)
            if after is not None:
                charge(RATES[name] * after(result))
        except Refused as r:
            raise Trap("H0600", f"{name} refused ({r.rule}): {r.message}", r.hint) from None
        if record:
            effects.records.append({"host": name, "args": [_plain(a) for a in args], "result": _plain(result)})
        return result
    return run


def _plain(v):
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v
