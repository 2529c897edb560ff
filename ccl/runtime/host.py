"""Effectful host-table rows bound to a run's store transaction and the engines.

`bind(tx, effects, state, ledger, principal)` returns name → callable for every row whose effect
is not pure; a test asserts that these and ccl.vm.builtins together cover the host table exactly.
Each call is first authorized in one place (ccl.runtime.authority, from the row's `who`), then
validated and applied by its engine inside the run's transaction — so later calls in the run see
it and a failed run leaves nothing — and appends an effect record for the receipt. Refusals
become `host` errors naming the rule. Every row calls an engine's function: no row reads or
writes an engine's store rows itself. Imports leaves, the engines and ccl.runtime.authority.
"""

from __future__ import annotations

from ccl import canon
from ccl.hosttable import HOST_TABLE
from ccl import aid as AID
from ccl import coop as C
from ccl import governance as G
from ccl.ledger import Ledger, Refused
from ccl.ledger import engines as E
from ccl.runtime import authority as AUTH
from ccl.semantics import Trap

# Per-item gas of the effectful rows (the host table's column): what is counted, before the call
# from its arguments or, where the count is only known from the answer, after it.
PER_ITEM_BEFORE = {"distribute_profits": lambda args: len(args[2])}
PER_ITEM_AFTER = {"work_contributions": len, "calculate_patronage": len, "match_needs": len}
RATES = {row.name: row.gas_per_item for row in HOST_TABLE}

NAMES = tuple(row.name for row in HOST_TABLE if row.effect not in ("pure", "context", "debug"))
TEST_ROWS = ("as_member", "at", "expect_fail", "admit")


class Effects:
    """What a run did, in order: host effects and events (CooperativeEvent fields)."""

    def __init__(self):
        self.records: list[dict] = []
        self.events: list[dict] = []
        self.ledger: Ledger | None = None


def _ledger_rows(L: Ledger, p: "AUTH.Principal") -> dict:
    """Each row: engine call with the caller as actor (read at each call: `ccl test` may change it)."""
    return {
        "issue_credit": lambda frm, to, amount: E.issue_credit(L, p.caller, frm, to, amount),
        "transfer_credit": lambda frm, to, amount: E.transfer_credit(L, p.caller, frm, to, amount),
        "credit_balance": lambda member: E.credit_balance(L, member),
        "set_credit_limit": lambda member, floor, ceiling: E.set_credit_limit(L, p.caller, member, floor, ceiling),
        "log_hours": lambda member, minutes, text: E.log_hours(L, p.caller, member, minutes, text),
        "confirm_hours": lambda record: E.confirm_hours(L, p.caller, record),
        "decline_hours": lambda record: E.decline_hours(L, p.caller, record),
        "trade_hours": lambda frm, to, minutes: E.trade_hours(L, p.caller, frm, to, minutes),
        "hour_balance": lambda member: E.hour_balance(L, member),
        "record_time_work": lambda worker, text, hours, verifier: (
            E._own(p.caller, worker, "record work") or E.log_hours(L, p.caller, verifier, _minutes(hours), text)),
        "create_currency": lambda symbol, name, policy: E.create_currency(L, p.caller, symbol, name, dict(policy)),
        "mint_tokens": lambda symbol, to, amount: E.mint_tokens(L, p.caller, symbol, to, amount),
        "burn_tokens": lambda symbol, frm, amount: E.burn_tokens(L, p.caller, symbol, frm, amount),
        "transfer_tokens": lambda symbol, frm, to, amount: E.transfer_tokens(L, p.caller, symbol, frm, to, amount),
        "token_balance": lambda symbol, member: E.token_balance(L, symbol, member),
        "get_token_balance": lambda symbol, member: E.token_balance(L, symbol, member),
        "set_policy": lambda symbol, key, value: E.set_policy(L, p.caller, symbol, key, value),
        "create_token_class": lambda cls, name, symbol, issuer: E.create_currency(L, p.caller, cls, name, {}),
        "request_loan": lambda borrower, amount, purpose, term: E.request_loan(L, p.caller, borrower, amount, purpose, term),
        "evaluate_loan": lambda loan: E.evaluate_loan(L, loan),
        "approve_loan": lambda loan: E.approve_loan(L, p.caller, loan),
        "repay_loan": lambda loan, amount: E.repay_loan(L, p.caller, loan, amount),
        "loan_arrears": lambda loan: E.loan_arrears(L, loan),
        "write_off_loan": lambda loan: E.write_off_loan(L, p.caller, loan),
        "deposit_to_lending": lambda amount: E.deposit_to_lending(L, p.caller, amount),
        "create_pool": lambda name, contribution, cap: E.create_pool(L, p.caller, name, contribution, cap),
        "join_pool": lambda name, member: E.join_pool(L, p.caller, name, member),
        "contribute": lambda name, amount: E.contribute(L, p.caller, name, amount),
        "file_claim": lambda name, amount, reason: E.file_claim(L, p.caller, name, amount, reason),
        "approve_claim": lambda claim: E.approve_claim(L, p.caller, claim),
        "grant_permission": lambda member, permission: False,      # retired: refused by its `who`
        "revoke_permission": lambda member, permission: False,
        "has_permission": lambda member, permission: G.has_permission(L, member, permission),
        "require_permission": lambda permission: _require(L, p, permission),
        "guard": lambda need: AUTH.guard(L, p, need) or True,
        "is_member": lambda member: G.is_member(L, member),
        "has_role": lambda member, role: G.has_role(L, member, role),
        "add_member": lambda member: G.add_member(L, p.caller, member),
        "remove_member": lambda member: G.remove_member(L, p.caller, member),
        "grant_role": lambda member, role: G.grant_role(L, p.caller, member, role),
        "set_member_attribute": lambda member, key, value: G.set_attribute(L, p.caller, member, key, value),
        "revoke_role": lambda member, role: G.revoke_role(L, p.caller, member, role),
        "create_proposal": lambda kind: G.open_proposal(L, p.caller, kind, []),
        "proposal_status": lambda pid: G.status(L, G.proposal(L, pid)),
        "delegate_vote": lambda to, scope: G.delegate(L, p.caller, to, scope),
        "revoke_delegation": lambda scope: G.undelegate(L, p.caller, scope),
        "cancel_proposal": lambda pid: G.cancel(L, p.caller, pid),
        "close_proposal": lambda pid: G.close_proposal(L, pid),
        "distribute_profits": lambda coop, total, rows: C.distribute_profits(L, p.caller, coop, total, rows),
        "set_coop_policy": lambda key, value: C.set_policy(L, p.caller, key, value),
        "log_work": lambda member, minutes, task: C.log_work(L, p.caller, member, minutes, task),
        "work_contributions": lambda start, end: C.contributions(L, start, end),
        "record_purchase": lambda member, amount: C.record_purchase(L, p.caller, member, amount),
        "set_patronage_rule": lambda period, cash: C.set_patronage_rule(L, p.caller, period, cash),
        "calculate_patronage": lambda period, pool: C.calculate_patronage(L, p.caller, period, pool),
        "member_purchases": lambda member, period: C.member_purchases(L, member, period),
        "member_price": lambda member, price: C.member_price(L, member, price),
        "request_aid": lambda who, category, quantity, urgency, location: AID.request_aid(
            L, p.caller, who, category, quantity, urgency, location),
        "offer_resource": lambda who, category, quantity, location: AID.offer_resource(
            L, p.caller, who, category, quantity, location),
        "match_needs": lambda: AID.match(L, p.caller),
        "fulfil_match": lambda match_id: AID.fulfil(L, p.caller, match_id),
        "set_aid_setting": lambda key, value: AID.set_setting(L, p.caller, key, value),
    }


def _require(L: Ledger, p: "AUTH.Principal", permission: str) -> bool:
    if not AUTH.holds(L, p, permission):
        raise Refused("permission", f"{p.caller} lacks the `{permission}` permission",
                      "permissions come from roles of the adopted bylaws: `ccl role list` shows who holds what")
    return True


def _minutes(hours: int) -> int:
    if not 0 < hours <= 10_000:
        raise Refused("positive_amount", "hours of work are between 1 and 10000")
    return hours * 60


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

    def cast_vote(pid: str, choice: str) -> bool:
        G.cast_unsigned(ledger, tx, principal.caller, pid, choice)
        return True

    def cast_ballot(pid: str, ballot: str) -> bool:
        G.cast_ballot(ledger, tx, principal.caller, pid, ballot)
        return True

    effects.ledger = ledger
    rows = {}
    for name, call in (("dag_put", dag_put), ("emit_event", emit_event)):
        rows[name] = _guarded(name, call, effects, ledger, principal)
    rows["dag_get"] = dag_get
    for name, call in (("cast_vote", cast_vote), ("cast_ballot", cast_ballot)):
        rows[name] = _guarded(name, call, effects, ledger, principal)
    for name, call in _ledger_rows(ledger, principal).items():
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


def _guarded(name: str, call, effects: Effects, ledger: Ledger, principal: "AUTH.Principal", charge=None):
    record = next(row for row in HOST_TABLE if row.name == name).effect != "read"
    before, after = PER_ITEM_BEFORE.get(name), PER_ITEM_AFTER.get(name)

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
