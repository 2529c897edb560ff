"""One run, end to end, against a store: load state, run, and commit with a signed receipt.

`run(...)` opens one store transaction; the VM runs inside it with the effectful host rows
bound to it. On success, if anything changed (contract state, host effects, events), it writes
the module block (once per CID), the event blocks, the new contract state and one receipt —
module, entry, args, caller, time, gas limit and used, result, effects, events, the previous
head and the state root after the run — signed by the caller's key, and commits. On any error
the transaction rolls back: nothing changes. `replay(...)` re-executes every receipt into a
fresh store and compares state roots. Imports leaves, ccl.compile, ccl.vm, ccl.dag, ccl.store,
ccl.identity and ccl.runtime.host.
"""

from __future__ import annotations

import sys
from typing import Callable, Optional

import attrs

from ccl import canon, dag, limits, types as ty
from ccl.canon import Link
from ccl.compile.module import module_from_cbor
from ccl.compile.verify import Verified, verify
from ccl.diag import Diagnostic, Span
from ccl.identity import Identity
from ccl import governance as G
from ccl.ledger import EngineState, Ledger, Refused
from ccl.runtime import host as host_rows
from ccl.store.sqlite import SqliteStore
from ccl.vm.run import MISSING, RunResult, execute
from ccl.vm.values import ArgError, Types, from_json, to_json


@attrs.define
class SessionResult:
    run: RunResult
    receipt: Optional[str] = None          # CID of the receipt written, if the run changed state
    state_root: Optional[str] = None
    error: Optional[Diagnostic] = None     # a failure of the session itself (e.g. no key to sign)


class _Rollback(Exception):
    pass


def contracts_of(verified: Verified) -> list[str]:
    return sorted({c for c, _, _ in verified.module.states} | {c for c, _ in verified.module.initializers})


def load_state(tx, verified: Verified) -> tuple[list, set]:
    """Globals for the module's state variables from the store, and the contracts needing init."""
    module = verified.module
    types = Types(module)
    persisted: dict[str, dict] = {}
    for contract in contracts_of(verified):
        row = tx.get_state(contract)
        persisted[contract] = canon.decode(row[1]) if row else {}
    values, initialize = [], set()
    for contract, name, desc in module.states:
        entry = persisted[contract].get(name)
        if isinstance(entry, dict) and entry.get("type") == desc:
            try:
                values.append(from_json(ty.from_descriptor(desc), entry["value"], types, name))
                continue
            except ArgError:
                pass
        values.append(MISSING)               # new field, or its type changed: start it afresh
        initialize.add(contract)
    return values, initialize


def encode_state(verified: Verified, globals_: list) -> dict[str, bytes]:
    module = verified.module
    types = Types(module)
    out: dict[str, dict] = {c: {} for c in contracts_of(verified)}
    for (contract, name, desc), value in zip(module.states, globals_):
        out[contract][name] = {"type": desc, "value": to_json(ty.from_descriptor(desc), value, types)}
    return {c: canon.encode(v) for c, v in out.items()}


def state_root(tx) -> str:
    """The CID of everything the workspace's bylaws hold: {"v": 2, "rows": the store's multiset
    hash of its contract-state rows (with the module that last wrote each) and engine rows}."""
    from ccl.store.root import state_root_of

    return state_root_of(tx.root_accumulator())


def run(verified: Verified, entry: str, args: list, *, store, caller: str, signer: Optional[Identity],
        now: int, gas_limit: int = limits.gas_default, mode: str = "fast",
        log: Callable[[str], None] = lambda m: print(m, file=sys.stderr), record: bool = True,
        authority: Optional[str] = None, before: Optional[Callable] = None, extra: Optional[dict] = None,
        registers: Optional[Verified] = None) -> SessionResult:
    """Run and, if the run changed anything, commit it with a signed receipt (see module doc).
    With `record=False` (replay), state is committed but no receipt is written or signed.

    Governance: `authority` names the passed proposal whose execution this is; `before(ledger)`
    runs inside the transaction first (e.g. marking the proposal executed) and may return fields
    for the receipt; `registers` is a contract module whose roles and proposal kinds the run
    registers (when opening a proposal of it)."""
    outcome: dict = {}
    extra = dict(extra or {})
    if registers is not None:
        extra["registers"] = Link(registers.cid)
    try:
        with store.transaction() as tx:
            outcome = _run_in(tx, verified, entry, args, caller, signer, now, gas_limit, mode, log, record,
                              authority, before, extra, registers)
            if not outcome["result"].ok or outcome.get("error"):
                raise _Rollback()
    except _Rollback:
        pass
    return SessionResult(outcome["result"], outcome.get("receipt"), outcome.get("root"), outcome.get("error"))


def _register(tx, ledger: Ledger, verified: Verified) -> None:
    """Put a module's roles and proposal kinds in the governance tables (once per module CID)."""
    module = verified.module
    cid = verified.cid
    for contract, meta in module.contracts:
        if not meta.get("roles") and not meta.get("proposals"):
            continue
        known = [ledger.s.get("gov.kinds", f"{contract}::{k['name']}") for k in meta.get("proposals", [])]
        roles = [ledger.s.get("gov.role_defs", r["name"]) for r in meta.get("roles", [])]
        if all(k is not None and k["module"] == cid for k in known) and all(
                r is not None and r["can"] == d["can"] and r.get("extends") == d.get("extends")
                for r, d in zip(roles, meta.get("roles", []))):
            continue
        tx.put_block(cid, verified.encoded)
        G.register_kinds(ledger, contract, cid, meta)


def _run_in(tx, verified, entry, args, caller, signer, now, gas_limit, mode, log, record, authority, before,
            extra, registers) -> dict:
    module = verified.module
    before_state = {c: (tx.get_state(c) or (None, None))[1] for c in contracts_of(verified)}
    rows_before = tx.root_accumulator()
    ledger = Ledger(EngineState(tx), now, authority)
    refused = _prepare(tx, ledger, verified, registers, before, extra)
    if refused is not None:
        return refused
    values, initialize = load_state(tx, verified)
    effects = host_rows.Effects()
    result = execute(verified, entry, args, gas_limit=gas_limit, now=now, caller=caller, mode=mode, log=log,
                     state=values, initialize=initialize, host=lambda st: host_rows.bind(tx, effects, st, ledger),
                     hidden=authority is not None)
    if not result.ok:
        return {"result": result}
    if effects.ledger is not None:
        effects.ledger.check_invariants()          # the engines' invariants, re-checked at commit
    after = encode_state(verified, result.state)
    changed = [c for c in after if after[c] != before_state.get(c)]
    engines_changed = tx.root_accumulator() != rows_before      # no contract state is written yet
    if not changed and not effects.records and not effects.events and not result.events and not engines_changed:
        return {"result": result}
    if record and signer is None:
        return {"result": result, "error": Diagnostic(
            "usage", "U0703", "this run changes the workspace, so it must be signed",
            Span(module.source), ("create a key with `ccl id new NAME` and run with --as NAME",))}
    module_cid = verified.cid
    tx.put_block(module_cid, verified.encoded)
    for contract in changed:
        tx.put_state(contract, module_cid, after[contract])
    root = state_root(tx)
    if not record:
        return {"result": result, "root": root}
    prev = tx.head()
    events = []
    for e in result.events:
        fields = {k: _json_field(v) for k, v in e.fields.items()}
        events.append(Link(dag.put(tx, dag.event_block(e.name, caller, now, fields, prev or module_cid))))
    for e in effects.events:
        events.append(Link(dag.put(tx, dag.event_block(e["type"], caller, now, e["data"], prev or module_cid))))
    f = module.functions[_entry_index(module, entry, authority is not None)]
    payload = {
        "module": Link(module_cid), "function": f.name, "entry": entry, "args": args, "caller": caller,
        "time": now, "gas_limit": gas_limit, "gas_used": result.gas_used, "result": result.value,
        "effects": effects.records, "events": events, "contracts": changed,
        "prev": Link(prev) if prev else None, "state_root": root, **extra,
    }
    receipt = dag.sign_receipt(payload, signer)
    cid = dag.put(tx, receipt)
    tx.append_receipt(cid)
    return {"result": result, "receipt": cid, "root": root}


def _prepare(tx, ledger, verified, registers, before, extra) -> Optional[dict]:
    """Registration and the `before` hook; a refusal here fails the run like a host error."""
    try:
        _register(tx, ledger, verified)
        if registers is not None:
            _register(tx, ledger, registers)
        if before is not None:
            extra.update(before(ledger) or {})
    except Refused as r:
        d = Diagnostic("host", "H0600", f"refused ({r.rule}): {r.message}", Span(verified.module.source),
                       (r.hint,) if r.hint else ())
        return {"result": RunResult(False, error=d)}
    return None


def _entry_index(module, entry: str, hidden: bool) -> int:
    from ccl.vm.run import find_entry

    return find_entry(module, entry, hidden)


def _json_field(v):
    from ccl.vm.values import dynamic_to_json

    return dynamic_to_json(v)


# ---------------------------------------------------------------- replay

@attrs.frozen
class ReplayStep:
    seq: int
    receipt: str
    ok: bool
    why: str = ""


def _replay_governance(p: dict, modules: dict) -> dict:
    """Re-create a receipt's governance context: the contract it registered, the proposal whose
    execution it was."""
    kw = {}
    if isinstance(p.get("registers"), Link):
        kw["registers"] = modules[p["registers"].cid]
    if p.get("proposal"):
        pid = p["proposal"]
        kw["authority"] = pid
        kw["before"] = lambda ledger: (G.begin_execution(ledger, p["caller"], pid), None)[1]
    action = p.get("action")
    if isinstance(action, dict) and action.get("op") == "open_proposal":
        kw["before"] = lambda ledger: (G.open_from_spec(ledger, p["caller"], action), None)[1]
    request = p.get("request")
    if isinstance(request, dict):                  # a node recorded the member's request nonce
        inner = kw.get("before")

        def with_nonce(ledger):
            ledger.s.put("node.nonces", f"{request['did']}|{request['nonce']}", request["time"])
            return inner(ledger) if inner else None     # the node records the nonce first, then the rest
        kw["before"] = with_nonce
    return kw


def replay(store, *, mode: str = "fast", live: bool = False) -> list[ReplayStep]:
    """Re-execute every receipt from genesis into a fresh in-memory store; each step must give
    the recorded result, gas and state root. Stops at the first mismatch. With `live`, the rows
    replayed must then equal the store's own: if not, a last failed step (numbered as the head
    receipt) names the first rows that differ."""
    fresh = SqliteStore.memory()
    steps: list[ReplayStep] = []
    with store.transaction() as tx:
        receipts = tx.receipts()
        blocks = {cid: (dag.get(tx, cid)) for cid in receipts}
        modules = {}
        for cid, block in blocks.items():
            for link in (block["payload"]["module"], block["payload"].get("registers")):
                if isinstance(link, Link) and link.cid not in modules:
                    modules[link.cid] = verify(module_from_cbor(canon.decode(tx.get_block(link.cid)), link.cid),
                                               link.cid)
    for seq, cid in enumerate(receipts, 1):
        p = blocks[cid]["payload"]
        verified = modules[p["module"].cid]
        # data blocks a run's dag_get may read come from earlier runs: replayed runs put them again
        outcome = run(verified, p["entry"], p["args"], store=fresh, caller=p["caller"], signer=None,
                      now=p["time"], gas_limit=p["gas_limit"], mode=mode, log=lambda m: None, record=False,
                      **_replay_governance(p, modules))
        r = outcome.run
        why = ""
        if not r.ok:
            why = f"the run failed on replay: {r.error.code} {r.error.message}"
        elif r.value != p["result"]:
            why = f"result {r.value!r} differs from the recorded {p['result']!r}"
        elif r.gas_used != p["gas_used"]:
            why = f"gas {r.gas_used} differs from the recorded {p['gas_used']}"
        elif outcome.state_root != p["state_root"]:
            why = f"state root {outcome.state_root} differs from the recorded {p['state_root']}"
        steps.append(ReplayStep(seq, cid, not why, why))
        if why:
            break
    if live and all(s.ok for s in steps):
        from ccl.store.root import LIVE_DIFFERS, diff_rows

        with fresh.transaction() as expected, store.transaction() as tx:
            differ = diff_rows(expected, tx)
        if differ:
            more = f" (and {len(differ) - 3} more)" if len(differ) > 3 else ""
            steps.append(ReplayStep(len(receipts), receipts[-1] if receipts else "", False,
                                    f"{LIVE_DIFFERS}: " + "; ".join(differ[:3]) + more))
    fresh.close()
    return steps
