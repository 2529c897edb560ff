"""Effectful host-table rows bound to a run's store transaction.

`bind(tx, effects, …)` returns name → callable for every row whose effect is not pure; a test
asserts that these and ccl.vm.builtins together cover the host table exactly. Every call
validates its arguments, applies its change inside the run's transaction (so later calls in the
run see it, and a failed run leaves nothing) and appends an effect record for the receipt.
Imports leaves, ccl.dag and ccl.semantics.
"""

from __future__ import annotations

from ccl import canon
from ccl.semantics import Trap

NAMES = ("dag_put", "dag_get", "emit_event")


class Effects:
    """What a run did, in order: host effects and events (CooperativeEvent fields)."""

    def __init__(self):
        self.records: list[dict] = []
        self.events: list[dict] = []


def bind(tx, effects: Effects, state) -> dict:
    """`state` is the VM's RunState (for gas, caller and time)."""

    def charge(n: int) -> None:
        if n:
            state.ns["_g"] -= n
            if state.ns["_g"] < 0:
                raise Trap("G0400", "out of gas")

    def dag_put(data: str) -> str:
        block = canon.encode(data)
        charge(len(block) // 16)
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
        charge(len(block) // 16)
        return value

    def emit_event(event_type: str, data: str) -> None:
        charge(len(data) // 16)
        if len(effects.events) >= 1000:
            raise Trap("L0506", "more than 1000 events in one run")
        effects.events.append({"type": event_type, "data": data})
        return None

    return {"dag_put": dag_put, "dag_get": dag_get, "emit_event": emit_event}
