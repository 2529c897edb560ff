"""One run, end to end, against a store: load state, authorize, run, and commit with a signed receipt.

`found(...)` writes a workspace's genesis: the co-op's identity, the founder as first member and
the founding bylaws adopted, in one record signed by the co-op's key that every later receipt
descends from. `run(...)` opens one store transaction and, before anything runs, decides what the
run is: a call of an adopted contract (its state is the contract's, by name; its entry points
need a member caller unless declared `open`), a module that is not adopted (it acts as its
caller, registers nothing, and keeps its state under its own CID; declaring an adopted
contract's name is refused), or an action — opening a proposal of an adopted kind (arguments
type-checked) or executing a passed one (as the co-op, with only what its kind declares). The VM
runs with the effectful host rows bound to the transaction and authorized in one place
(ccl.runtime.authority). On success, if anything changed, it writes the module block, events,
contract state and one receipt — module, entry, args, caller, time, gas, result, effects,
events, history format version, the previous head and the state root — signed, and commits. On
any error the transaction rolls back: nothing changes. The receipt is built in the store's ordered
step (`tx.ordered`: on PostgreSQL the chain head's lock, after the contract has run), and a run
that lost a race with another node's (ccl.store.Conflict) is rolled back and run again, whole, a
bounded number of times. `replay(...)` re-executes every record
from genesis into a fresh store and compares state roots. Imports leaves, ccl.compile, ccl.vm,
ccl.dag, ccl.store, ccl.identity, ccl.governance and ccl.runtime.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Callable, Optional

import attrs

from ccl import canon, dag, limits, types as ty
from ccl.canon import Link
from ccl.compile.module import module_from_cbor
from ccl.compile.verify import Verified, verify
from ccl.diag import CclError, Diagnostic, Span, error
from ccl.identity import Identity
from ccl import governance as G
from ccl.ledger import EngineState, Ledger, Refused
from ccl.runtime import authority as AUTH
from ccl.runtime import host as host_rows
from ccl.store import RETRIES, Conflict, snapshot
from ccl.store.sqlite import SqliteStore
from ccl.vm.run import MISSING, RunResult, execute, find_entry
from ccl.vm.values import ArgError, Types, from_json, to_json

HISTORY_VERSION = dag.HISTORY_VERSION
CLOCK_SKEW_S = 300            # a clock this far behind the last receipt is taken as the receipt's time


@attrs.define
class SessionResult:
    run: RunResult
    receipt: Optional[str] = None          # CID of the receipt written, if the run changed state
    state_root: Optional[str] = None
    error: Optional[Diagnostic] = None     # a failure of the session itself (e.g. no key to sign)
    opened: Optional[str] = None           # the proposal an open_proposal action opened


class _Rollback(Exception):
    pass


def _refusal(r: Refused, where: str = "") -> Diagnostic:
    return Diagnostic("host", "H0600", f"refused ({r.rule}): {r.message}", Span(where), (r.hint,) if r.hint else ())


def _failed(d: Diagnostic) -> dict:
    return {"result": RunResult(False, error=d)}


def contracts_of(verified: Verified) -> list[str]:
    module = verified.module
    return sorted({c for c, _, _ in module.states} | {c for c, _ in module.initializers} |
                  {c for c, _ in module.contracts})


def state_key(contract: str, local: Optional[str]) -> str:
    """Where a contract's state lives: by name for the adopted contract, under the module's
    CID for a module that is not adopted."""
    return contract if local is None else f"{local}/{contract}"


def load_state(tx, verified: Verified, local: Optional[str] = None, strict: bool = False) -> tuple[list, set]:
    """Globals for the module's state variables from the store, and the contracts needing init.
    A field that is new starts at its initializer; with `strict` (an adopted lineage), a field
    whose stored type differs is refused rather than reset (amendments migrate it explicitly)."""
    module = verified.module
    types = Types(module)
    persisted: dict[str, dict] = {}
    for contract in contracts_of(verified):
        row = tx.get_state(state_key(contract, local))
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
        if strict and entry is not None:
            raise Refused("state_type", f"`{contract}.{name}` is stored as {entry.get('type')!r}, not {desc!r}",
                          "change a field's type only by amendment, with a migration function")
        values.append(MISSING)               # a new field: start it afresh
        initialize.add(contract)
    return values, initialize


def encode_state(verified: Verified, globals_: list, previous: Optional[dict] = None) -> dict[str, bytes]:
    """Each contract's state as canonical bytes. Fields in `previous` (contract → decoded stored
    state) that this version does not declare are kept, so nothing is silently dropped."""
    module = verified.module
    types = Types(module)
    out: dict[str, dict] = {c: dict((previous or {}).get(c) or {}) for c in contracts_of(verified)}
    for (contract, name, desc), value in zip(module.states, globals_):
        out[contract][name] = {"type": desc, "value": to_json(ty.from_descriptor(desc), value, types)}
    return {c: canon.encode(v) for c, v in out.items() if v}


def state_root(tx) -> str:
    """The CID of everything the workspace's bylaws hold: {"v": 2, "rows": the store's multiset
    hash of its contract-state rows (with the module that last wrote each) and engine rows}."""
    from ccl.store.root import state_root_of

    return state_root_of(tx.root_accumulator())


# ---------------------------------------------------------------- founding

def genesis_payload(coop: str, founder: str, bylaws: list[Verified], now: int, demo: bool) -> dict:
    return {"coop": coop, "founder": founder, "bylaws": [Link(v.cid) for v in bylaws], "history": HISTORY_VERSION,
            "time": now, "demo": demo}


def _found_in(tx, payload: dict, modules: dict[str, Verified]) -> str:
    L = Ledger(EngineState(tx), payload["time"])
    bylaws = [modules[link.cid] for link in payload["bylaws"]]
    for v in bylaws:
        tx.put_block(v.cid, v.encoded)
    G.found(L, payload["coop"], payload["founder"], [(v.cid, list(v.module.contracts)) for v in bylaws],
            payload["demo"], payload["history"])
    return state_root(tx)


def found(store, *, coop: Identity, founder: str, bylaws: list[Verified], now: int, demo: bool = False) -> str:
    """Write the genesis of an empty store; returns its CID. Refused (Refused) if the store
    already holds a history or the bylaws conflict."""
    with store.transaction() as tx:
        if tx.head() is not None:
            raise Refused("founded", "this workspace already has a history")
        payload = genesis_payload(coop.did, founder, bylaws, now, demo)
        payload["state_root"] = _found_in(tx, payload, {v.cid: v for v in bylaws})
        block = {"kind": "genesis", "version": HISTORY_VERSION, "payload": payload, "signer": coop.did,
                 "signature": coop.sign(canon.encode(payload))}
        cid = dag.put(tx, block)
        tx.append_receipt(cid)
    return cid


def scratch(verified: Optional[Verified], caller: str, now: int) -> SqliteStore:
    """An in-memory store founded for one caller, with `verified` adopted when it declares
    contracts: how runs without a workspace, and `ccl test`, get a co-op to run in."""
    store = SqliteStore.memory()
    bylaws = [verified] if verified is not None and verified.module.contracts else []
    found(store, coop=Identity.from_seed("scratch co-op", b"ccl scratch co-op".ljust(32, b".")), founder=caller,
          bylaws=bylaws, now=now, demo=True)
    return store


def unfounded(tx) -> Diagnostic:
    if tx.head() is not None:
        return Diagnostic("usage", "U0706", "this workspace was made by an earlier ccl, before co-ops were founded "
                          "with a genesis record, so its history cannot be trusted as a constitution", Span(),
                          ("export what you need (`ccl member list --json`, `ccl credit balance`), then found a new "
                           "workspace: `ccl init --founder NAME --bylaws FILE` (see docs/workspace.md, Upgrading)",))
    return Diagnostic("usage", "U0704", "this workspace is not founded yet: nothing can change before founding",
                      Span(), ("found it: `ccl init --founder NAME [--bylaws FILE]`",))


def other_history(version) -> Diagnostic:
    """A workspace founded under another history format: its receipts mean other gas and other
    results, so nothing is added to it (a chain of mixed formats could not be replayed)."""
    return Diagnostic("usage", "U0709", f"this workspace's history was written under format {version or 2}; "
                      f"this ccl writes format {HISTORY_VERSION}, where gas and results are counted differently",
                      Span(), ("keep using the ccl that made it, or export what you need and found a new "
                               "workspace (see docs/workspace.md, Upgrading)",))


# ---------------------------------------------------------------- runs

def run(verified: Verified, entry: str, args: list, *, store, caller: str, signer: Optional[Identity],
        now: Optional[int] = None, gas_limit: int = limits.gas_default, mode: str = "fast",
        log: Callable[[str], None] = lambda m: print(m, file=sys.stderr), record: bool = True,
        action: Optional[dict] = None, request: Optional[dict] = None, attachments: Optional[dict] = None,
        testing=None, clock: Callable[[], int] = lambda: int(time.time()),
        private: Optional[dict] = None, history_quota: Optional[int] = None) -> SessionResult:
    """Run and, if the run changed anything, commit it with a signed receipt (see module doc).
    With `record=False` (replay), state is committed but no receipt is written or signed.

    `now`: the run's time; None takes the clock. An explicit time is honoured only in a demo
    workspace. `action`: {"op": "open_proposal", "kind", "args", "method", "options", "delay_s",
    "timelock_s", "allow_changes", "tests"?} or {"op": "execute", "proposal"}; `attachments`
    (CID → Verified) are the modules an Amendment proposes and its tests. `request`: a node's evidence of the member's signed request (its nonce
    is spent, once, whatever the outcome: with the run's commit — a refused run is rolled back to a
    savepoint and its nonce recorded in the same transaction). `private`:
    commitment → (subject or None for the caller, readers, salt, text) of the private inputs in `args` (ccl.private),
    kept beside the history if the run commits. `history_quota`: the most bytes of history (the
    blocks a run puts) a member's signed requests may add in a UTC day (a node's quota: past it
    the run is refused, L0511, and nothing of it is kept but its nonce). `testing`: the `ccl test`
    hooks (as_member, at, expect_fail)."""
    outcome: dict = {}
    for attempt in range(RETRIES):              # a run that lost a race with another node's runs again, whole
        try:
            with store.transaction() as tx:
                try:
                    with tx.savepoint():
                        run_args, sealed = (_seal_declared(tx, verified, entry, args, clock) if record
                                            else (args, {}))
                        # the texts beside the history, before the run (so an erasure in the run
                        # reaches them too); a run that keeps nothing rolls them back with itself
                        for commitment, (subject, readers, salt, text) in {**(private or {}), **sealed}.items():
                            tx.private_put(commitment, subject or caller, readers, salt, text)
                        outcome = _run_in(tx, verified, entry, run_args, caller, signer, now, gas_limit, mode, log,
                                          record, action, request, attachments or {}, testing, clock)
                        if not outcome["result"].ok or outcome.get("error") or outcome.get("unchanged"):
                            raise _Rollback()       # (a run that changed nothing keeps nothing, to be sure)
                        if history_quota is not None and request is not None and outcome.get("receipt"):
                            outcome = _within_quota(tx, outcome, caller, request, history_quota)
                except _Rollback:
                    if request is not None and record:
                        _spend_refused(tx, request, clock)
            break
        except Conflict as c:
            if attempt + 1 == RETRIES:
                raise error("N0903", f"this run conflicted with other runs {RETRIES} times in a row ({c})", Span(),
                            "the co-op is very busy: try again") from None
    return SessionResult(outcome["result"], outcome.get("receipt"), outcome.get("root"), outcome.get("error"),
                         outcome.get("opened"))


def _use_nonce(tx, request: dict, clock) -> None:
    why = tx.use_nonce(request["did"], request["nonce"], request["time"], clock())
    if why == "replayed":
        raise Refused("replayed_request", "this request was already handled (its nonce was used)",
                      "sign a new request: every request has a nonce of its own")
    if why == "stale":
        raise Refused("stale_request", "this request is older than the requests this node still remembers",
                      "sign a new request with the current time")


def declared_private(verified: Verified) -> dict:
    """The parameters a module's contracts declare private (`private: "apply.purpose =
    request_loan.purpose, need.location = request_aid.location";` in a contract's metadata,
    checked when it is compiled: E0226): (the function's full name, parameter) → the operation
    input (ccl.operations.Input) whose rules — who reads it, which values stay plain — the
    parameter takes. A module that reached the store without that check and declares a part
    that names no private input is refused (U0711)."""
    from ccl.operations import parse_private

    out: dict = {}
    for contract, meta in verified.module.contracts:
        text = (meta.get("meta") or {}).get("private")
        if text is None:
            continue
        try:
            parts = parse_private(str(text))
        except ValueError as e:
            raise error("U0711", f"contract {contract}: `private:` {e}", Span(verified.module.source),
                        'e.g. `private: "apply.purpose = request_loan.purpose";`') from None
        for fn, param, target in parts:
            out[(f"{contract}::{fn}", param)] = target
    return out


def _seal_declared(tx, verified: Verified, entry: str, args: list, clock) -> tuple[list, dict]:
    """`args` with each text argument of a parameter the module declares private replaced by its
    salted commitment (ccl.private), and the texts to keep beside the history — the same sealing
    as the operations' inputs get at the edge (ccl.api.actions.seal), for a contract's own
    parameters. The commitment is what the receipt records, so replay needs no salt."""
    import importlib

    from ccl import private as P

    declared = declared_private(verified)
    if not declared:
        return args, {}
    try:
        f = verified.module.functions[find_entry(verified.module, entry)]
    except CclError:
        return args, {}                         # the run says what is wrong with the entry
    out, sealed = list(args), {}
    values = dict(zip(f.param_names, args))
    for k, name in enumerate(f.param_names[:len(args)]):
        i = declared.get((f.name, name))
        value = args[k]
        if i is None or not isinstance(value, str) or P.is_commitment(value):
            continue
        why = i.too_long(value)
        if why is not None:                     # the input's limit, as at the edge (ccl.api.actions)
            raise error("L0509", f"{f.name}: {why}", Span(), f"shorten `{name}` to at most {i.limit} characters")
        if i.plain:
            module, fn = i.plain.split(":")
            try:
                if getattr(importlib.import_module(module), fn)(Ledger(EngineState(tx), clock()), value, values):
                    continue                    # a value a rule computes on (a grid point): plain
            except (KeyError, TypeError, ValueError):
                pass
        commitment, (readers, salt, text) = P.seal(value, i.private)
        about = values.get(i.subject) if i.subject else None     # a fact about `member`: theirs
        sealed[commitment] = (about if isinstance(about, str) else None, readers, salt, text)   # else the caller's
        out[k] = commitment
    return out, sealed


def _within_quota(tx, outcome: dict, caller: str, request: dict, quota: int) -> dict:
    """The run's outcome, or — if what it adds to the history takes the caller past the day's
    quota — a refusal that rolls it back (`_Rollback`)."""
    day = request["time"] // 86_400
    used = tx.usage_add(caller, day, tx.written)
    if used <= quota:
        return outcome
    outcome.update(receipt=None, root=None, error=Diagnostic(
        "limit", "L0511", f"{caller} has added {used - tx.written} bytes to the co-op's history today; this "
        f"request would add {tx.written} more, past the day's quota of {quota}", Span(),
        (f"the quota starts again at midnight UTC, in {(day + 1) * 86_400 - request['time']} s",)))
    raise _Rollback()


def _spend_refused(tx, request: dict, clock) -> None:
    """A refused run's request is spent too, so it is never sent again — in the same transaction
    the run was rolled back in (to its savepoint), so no other node can run it in between."""
    try:
        _use_nonce(tx, request, clock)
    except Refused:
        pass                                    # handled before: the run's own refusal says so


def spend_nonce(store, request: dict, clock: Callable[[], int] = lambda: int(time.time())) -> Optional[Diagnostic]:
    """Record a signed request's nonce as handled, in a transaction of its own (a read, or a
    request refused before its run): None, or the refusal if it was handled before or is stale."""
    for attempt in range(RETRIES):
        try:
            with store.transaction() as tx:
                _use_nonce(tx, request, clock)
            break
        except Refused as r:
            return _refusal(r)
        except Conflict:
            if attempt + 1 == RETRIES:
                raise
    return None


def load_module(tx, cid: str) -> Verified:
    data = tx.get_block(cid)
    if data is None:
        raise Refused("module_exists", f"module {cid} is not in this workspace's DAG")
    return verify(module_from_cbor(canon.decode(data), cid), cid)


def _classify(L: Ledger, verified: Verified) -> tuple[Optional[str], Optional[Diagnostic]]:
    """(local, refusal): local is None for the adopted module, else the CID its state lives under."""
    names = contracts_of(verified)
    if not names:
        return verified.cid, None
    adopted = G.adopted(L)
    if all(adopted.get(c) == verified.cid for c in names):
        return None, None
    clash = [c for c in names if c in adopted]
    if clash:
        return None, Diagnostic("usage", "U0707", f"`{clash[0]}` is an adopted contract, and this module is not its "
                                f"adopted version ({adopted[clash[0]][:20]}…)", Span(verified.module.source),
                                (f"call the adopted contract with `ccl call {clash[0]} FN`, or see what differs with "
                                 f"`ccl bylaws diff {verified.module.source}` (then `ccl adopt` it to propose it)",))
    return verified.cid, None


def _entry_open(verified: Verified, entry_index: int) -> bool:
    name = verified.module.functions[entry_index].name
    contract, _, fn = name.rpartition("::")
    for c, meta in verified.module.contracts:
        if c == contract:
            return bool((meta.get("functions") or {}).get(fn, {}).get("open"))
    return False


def _check_args(tx, spec: dict, args: list) -> None:
    """A proposal's arguments against its kind's parameter types (before anyone votes on it)."""
    params = spec.get("params", [])
    if not isinstance(args, list) or len(args) != len(params):
        raise Refused("proposal_args", f"`{spec['name']}` takes {len(params)} argument(s) "
                      f"({', '.join(n for n, _ in params) or 'none'}), given {len(args) if isinstance(args, list) else args!r}")
    descriptors = spec.get("param_types") or [t for _, t in params]
    types = Types(load_module(tx, spec["module"]).module) if spec.get("module") else None
    for (name, _), desc, value in zip(params, descriptors, args):
        try:
            from_json(ty.from_descriptor(desc), value, types, name)
        except Exception as e:          # ArgError, and whatever hostile JSON provokes
            raise Refused("proposal_args", f"argument `{name}` of `{spec['name']}`: {getattr(e, 'message', e)}",
                          f"give a {ty.from_descriptor(desc)} as JSON") from None


def _time(tx, L: Ledger, now: Optional[int], demo: bool, clock) -> tuple[int, Optional[Diagnostic]]:
    if demo:
        return (now if now is not None else clock()), None
    if now is not None:
        return 0, Diagnostic("usage", "U0705", "--at is honoured only in a demo workspace: a real co-op's receipts "
                             "take their time from the clock", Span(), ("found a demo workspace for rehearsals: "
                                                                       "`ccl init --founder NAME --demo`",))
    t = clock()
    head = dag.get(tx, tx.head())
    last = head["payload"]["time"] if head else 0
    if t < last:
        if last - t > CLOCK_SKEW_S:
            return 0, Diagnostic("environment", "N0901", f"this machine's clock ({t}) is more than {CLOCK_SKEW_S} s "
                                 f"behind the last receipt ({last})", Span(), ("set the clock right and try again",))
        t = last                                  # receipt times never go backwards
    return t, None


def _run_in(tx, verified, entry, args, caller, signer, now, gas_limit, mode, log, record, action, request,
            attachments, testing, clock) -> dict:
    module = verified.module
    ledger = Ledger(EngineState(tx), 0)
    genesis = G.coop(ledger)
    if genesis is None:
        return _failed(unfounded(tx))
    if genesis.get("history") != HISTORY_VERSION:
        return _failed(other_history(genesis.get("history")))
    if record and signer is not None and request is None and signer.did != caller:
        # a member's receipt is signed by that member's key (a node signs with its own, beside the
        # member's signed request): one member's key never runs as another
        return _failed(Diagnostic("usage", "U0703", f"a run as {caller} must be signed with {caller}'s key, "
                                  f"not {signer.did}'s", Span(module.source), ("run it as the key's owner",)))
    if record:
        ledger.now, problem = _time(tx, ledger, now, genesis["demo"], clock)
        if problem is not None:
            return _failed(problem)
    else:
        ledger.now = now
    now = ledger.now
    extra: dict = {}
    was_member = G.is_member(ledger, caller)           # (a member who leaves in this run still keeps it)
    principal = AUTH.Principal(caller, genesis["coop"], None, G.open_operations(ledger))
    hidden = False
    local: Optional[str] = None
    try:
        if caller == genesis["coop"]:
            raise Refused("coop_principal", "the co-op itself acts only through the execution of passed proposals")
        if request is not None:
            if record:
                _use_nonce(tx, request, clock)
            extra["request"] = request
        rows_before = tx.root_accumulator()   # before an opening
        op = (action or {}).get("op")
        executing = None
        if op == "open_proposal":
            extra.update(_open(tx, ledger, caller, action, attachments, mode))
        elif op == "execute":
            executing = G.begin_execution(ledger, caller, action["proposal"])
            p = executing
            extra.update({"action": {"op": "execute", "proposal": p["id"]}, "proposal": p["id"],
                          "triggered_by": caller,
                          "ballots": [Link(b["cid"]) for _, b in sorted(p["ballots"].items())]})
            if p["execution"] == "builtin:amendment":
                if contracts_of(verified):
                    raise Refused("execution", "an amendment's execution runs no contract code")
                from ccl.runtime import amend

                extra["amendment"] = amend.switch(tx, ledger, p, mode)
                executing = None
            else:
                if p["module"] != verified.cid or entry != p["execution"] or args != p["args"]:
                    raise Refused("execution", "an execution runs the proposal's own block from its module, "
                                  "with the arguments voted on")
                # it finishes under the version it was opened with, on the adopted contract's state
                principal = AUTH.Principal(genesis["coop"], genesis["coop"], frozenset(p.get("can", [])),
                                           principal.open_ops)
                caller, hidden = genesis["coop"], True
        elif op is not None:
            raise Refused("action", f"unknown action `{op}`")
        if executing is None:
            local, problem = _classify(ledger, verified)
            if problem is not None:
                return _failed(problem)
        entry_index = find_entry(module, entry, hidden)
        short = module.functions[entry_index].name.rpartition("::")[2]
        if local is None and not hidden and (short.startswith("migrate_") or short == "init") \
                and contracts_of(verified):
            raise Refused("not_an_entry", f"`{short}` of adopted bylaws is not called directly: "
                          + ("a migration runs only when an amendment switches the bylaws" if short != "init" else
                             "state starts at its declared initial values"),
                          "give state its initial values in its `state` declarations")
        entry_open = local is None and _entry_open(verified, entry_index)
        if local is None and not hidden and not entry_open and contracts_of(verified):
            AUTH.check_member(ledger, principal, f"call {module.functions[entry_index].name}")
        values, initialize = load_state(tx, verified, local, strict=local is None)
    except Refused as r:
        return _failed(_refusal(r, module.source))
    before_state = {c: (tx.get_state(state_key(c, local)) or (None, None))[1] for c in contracts_of(verified)}
    effects = host_rows.Effects()
    result = execute(verified, entry, args, gas_limit=gas_limit, now=now, caller=caller, mode=mode, log=log,
                     state=values, initialize=initialize, hidden=hidden,
                     host=lambda st: host_rows.bind(tx, effects, st, ledger, principal, testing))
    if testing is not None:
        result = testing.outcome(result)
        if testing.expected is not None:           # an expected failure ends the test: keep nothing
            return {"result": result}
    if not result.ok:
        return {"result": result}
    if effects.ledger is not None:
        effects.ledger.check_invariants()          # the engines' invariants, re-checked at commit
    previous = {c: canon.decode(v) if v else None for c, v in before_state.items()}
    after = encode_state(verified, result.state, previous)
    changed = [c for c in after if after[c] != before_state.get(c)]
    engines_changed = tx.root_accumulator() != rows_before      # no contract state is written yet
    if not changed and not effects.records and not effects.events and not result.events and not engines_changed:
        return {"result": result, "opened": extra.get("opened"), "unchanged": True}
    opened_only = not changed and not result.events and not effects.events and all(
        r["host"] in principal.open_ops for r in effects.records)      # only what the bylaws open to all
    if not (principal.executing or entry_open or was_member or (opened_only and effects.records)):
        return _failed(_refusal(Refused("member", f"{caller} is not a member of this co-op, so nothing it runs is kept",
                                        "a member with `manage_members` admits members: ccl member add NAME"),
                                module.source))
    if record and signer is None:
        return {"result": result, "error": Diagnostic(
            "usage", "U0703", "this run changes the workspace, so it must be signed",
            Span(module.source), ("create a key with `ccl id new NAME` and run with --as NAME",))}
    module_cid = verified.cid
    tx.put_block(module_cid, verified.encoded)
    for contract in changed:
        tx.put_state(state_key(contract, local), module_cid, after[contract])
    tx.ordered(now)                # the ordered step: the head and the root, as of the runs before this one
    root = state_root(tx)
    if not record:
        return {"result": result, "root": root, "opened": extra.get("opened")}
    prev = tx.head()
    events = []
    for e in result.events:
        fields = {k: _json_field(v) for k, v in e.fields.items()}
        events.append(Link(dag.put(tx, dag.event_block(e.name, caller, now, fields, prev or module_cid))))
    for fx in effects.events:
        events.append(Link(dag.put(tx, dag.event_block(fx["type"], caller, now, fx["data"], prev or module_cid))))
    f = module.functions[entry_index]
    payload = {
        "module": Link(module_cid), "function": f.name, "entry": entry, "args": args, "caller": caller,
        "time": now, "gas_limit": gas_limit, "gas_used": result.gas_used, "result": result.value,
        "effects": effects.records, "events": events, "contracts": changed, "history": HISTORY_VERSION,
        "prev": Link(prev) if prev else None, "state_root": root, **extra,
    }
    receipt = dag.sign_receipt(payload, signer)
    cid = dag.put(tx, receipt)
    tx.append_receipt(cid)
    return {"result": result, "receipt": cid, "root": root, "opened": extra.get("opened")}


def _open(tx, ledger: Ledger, caller: str, action: dict, attachments: dict, mode: str) -> dict:
    spec_fields = ("kind", "args", "method", "options", "delay_s", "timelock_s", "allow_changes")
    spec: dict[str, Any] = {k: action.get(k) for k in spec_fields}
    spec.update(method=spec["method"] or "binary", delay_s=spec["delay_s"] or 0, timelock_s=spec["timelock_s"] or 0,
                allow_changes=bool(spec["allow_changes"]), args=spec["args"] if spec["args"] is not None else [])
    if not G.is_member(ledger, caller):
        raise Refused("member", f"{caller} is not a member, so cannot open proposals")
    key, kind = G.kind_spec(ledger, str(spec["kind"]))
    spec["kind"] = "Amendment" if key == G.AMENDMENT else key          # recorded in one spelling
    G.check_opening(kind, kind["name"], spec["method"], spec["options"], spec["delay_s"], spec["timelock_s"])
    _check_args(tx, kind, spec["args"])
    if key == G.AMENDMENT:
        from ccl.runtime import amend

        for v in attachments.values():
            tx.put_block(v.cid, v.encoded)
        spec["extra"] = {"amendment": amend.prepare(tx, ledger, spec["args"], attachments,
                                                    list(action.get("tests") or []), caller)}
    pid = G.open_from_spec(ledger, caller, spec)
    recorded = {"op": "open_proposal", **{k: v for k, v in spec.items() if k != "extra"}}
    if action.get("tests"):
        recorded["tests"] = action["tests"]
    return {"action": recorded, "opened": pid}


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


def replay(store, *, mode: str = "fast", live: bool = False, into: Optional[SqliteStore] = None) -> list[ReplayStep]:
    """Re-execute every record from genesis into a fresh in-memory store; each step must give
    the recorded result, gas and state root. Stops at the first mismatch, and refuses a history
    format version this ccl cannot reproduce. The replayed ledger is then audited from scratch
    (every account re-summed against its currency's totals and supply). With `live`, the rows
    replayed must then equal the store's own: if not, a last failed step (numbered as the head
    receipt) names the first rows that differ. The receipts and the live rows are read in one
    snapshot of the store (ccl.store.snapshot), so runs committed meanwhile change neither. With
    `into` (an empty store), the replay runs into it and leaves it open (`ccl dag import`)."""
    with snapshot(store) as view:
        return _replay(view, mode, live, into)


def _replay(view, mode: str, live: bool, into: Optional[SqliteStore] = None) -> list[ReplayStep]:
    from contextlib import nullcontext

    fresh = into if into is not None else SqliteStore.memory()
    steps: list[ReplayStep] = []
    with nullcontext(view) as tx:
        receipts = tx.receipts()
        blocks = {cid: dag.get(tx, cid) for cid in receipts}
        modules: dict[str, Verified] = {}
        for cid, block in blocks.items():
            p = block["payload"]
            links = [*(p.get("bylaws") or []), p.get("module")]
            for link in links:
                if isinstance(link, Link) and link.cid not in modules:
                    modules[link.cid] = load_module(tx, link.cid)
            action = p.get("action") or {}
            cids = list(action.get("tests") or [])
            if action.get("kind") == "Amendment" and len(action.get("args") or []) > 1:
                cids.append(action["args"][1])
            for t in cids:
                if isinstance(t, str) and canon.is_cid(t) and t not in modules and tx.get_block(t) is not None:
                    modules[t] = load_module(tx, t)
    for seq, cid in enumerate(receipts, 1):
        block = blocks[cid]
        p = block["payload"]
        version = p.get("history")
        if version != HISTORY_VERSION:
            steps.append(ReplayStep(seq, cid, False, f"it was written under history format {version!r}; this ccl "
                                    f"replays format {HISTORY_VERSION} only"))
            break
        if block.get("kind") == "genesis":
            if seq != 1:
                steps.append(ReplayStep(seq, cid, False, "a second genesis record"))
                break
            with fresh.transaction() as ftx:
                root = _found_in(ftx, p, modules)
            why = "" if root == p["state_root"] else f"state root {root} differs from the recorded {p['state_root']}"
            steps.append(ReplayStep(seq, cid, not why, why))
            if why:
                break
            continue
        action = p.get("action")
        attachments = {}
        if isinstance(action, dict) and action.get("op") == "open_proposal":
            wanted = [*(action.get("tests") or []), *(action.get("args") or [])[1:2]]
            attachments = {c: modules[c] for c in wanted if isinstance(c, str) and c in modules}
        outcome = run(modules[p["module"].cid], p["entry"], p["args"], store=fresh,
                      caller=p.get("triggered_by", p["caller"]), signer=None, now=p["time"], gas_limit=p["gas_limit"],
                      mode=mode, log=lambda m: None, record=False, action=action, request=p.get("request"),
                      attachments=attachments)
        r = outcome.run
        why = ""
        if not r.ok:
            assert r.error is not None                  # a failed run carries its diagnostic
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
    if all(s.ok for s in steps):                 # the replayed ledger, audited from scratch
        with fresh.transaction() as ftx:
            audit = Ledger(EngineState(ftx), 0).invariant_problems(full=True)
        if audit:
            steps.append(ReplayStep(len(receipts), receipts[-1], False, f"ledger audit: {audit[0]}"))
    if live and all(s.ok for s in steps):
        from ccl.store.root import LIVE_DIFFERS, diff_rows

        with fresh.transaction() as expected:
            differ = diff_rows(expected, view)
        if differ:
            more = f" (and {len(differ) - 3} more)" if len(differ) > 3 else ""
            steps.append(ReplayStep(len(receipts), receipts[-1] if receipts else "", False,
                                    f"{LIVE_DIFFERS}: " + "; ".join(differ[:3]) + more))
    if into is None:
        fresh.close()
    return steps
