"""The economic engines on the ledger core: mutual credit, time bank, local currencies, loans,
risk pools — and the permission grants that guard their privileged operations.

Every function takes the acting member (`actor`, the run's caller). Who may call what is decided
before the engines run, in one place (ccl.runtime.authority, from the host table's `who`
column); the engines enforce their own invariants — balances, floors, caps, a member moving only
their own funds — as a second line. Refusals raise `Refused` naming the rule. Their rows
(`hours.*`, `loans*`, `pools`, `claims`) are among ccl.ledger's NAMESPACES; other modules read
them through the functions here (`hours_receiver`, `pending_hours`, `loans`, …). Imports
ccl.ledger only.
"""

from __future__ import annotations

from typing import Optional

from ccl.ledger import Ledger, Refused

CREDIT = "CREDIT"        # the community's mutual-credit unit (minor units)
HOURS = "HOURS"          # the time bank (minutes)
DAY = 86_400
# the engines' own units, created on first use: name, kind, the members' default floor
UNITS = {CREDIT: ("community mutual credit", "mutual", -100_000), HOURS: ("time bank minutes", "hours", -600)}


# ---------------------------------------------------------------- second-line invariants

def _own(actor: str, owner: str, what: str) -> None:
    if actor != owner:
        raise Refused("own_funds", f"{actor} cannot {what} for {owner}", "members move only their own funds")


def _unit(ledger: Ledger, symbol: str) -> str:
    """One of the engines' own UNITS, created on first use."""
    if ledger.currency(symbol) is None:
        name, kind, floor = UNITS[symbol]
        ledger.create_currency(symbol, name, kind, {"floor": floor})
    return symbol


def _pay(ledger: Ledger, actor: str, what: str, unit: str, frm: str, to: str, amount: int, kind: str) -> bool:
    """`actor` moves `amount` of their own `unit` from `frm` to `to`, as an entry of `kind`."""
    _own(actor, frm, what)
    _unit(ledger, unit)
    ledger.apply({"currency": unit, "from": frm, "to": to, "amount": amount, "kind": kind})
    return True


# ---------------------------------------------------------------- mutual credit

def ensure_credit(ledger: Ledger) -> None:
    _unit(ledger, CREDIT)


def issue_credit(ledger: Ledger, actor: str, frm: str, to: str, amount: int) -> bool:
    """The issuer pays with new credit: `frm` goes −amount, `to` +amount (zero-sum)."""
    return _pay(ledger, actor, "issue credit", CREDIT, frm, to, amount, "issue")


def transfer_credit(ledger: Ledger, actor: str, frm: str, to: str, amount: int) -> bool:
    return _pay(ledger, actor, "transfer credit", CREDIT, frm, to, amount, "transfer")


def correct_transfer(ledger: Ledger, actor: str, entry_id: str, reason: str) -> str:
    """A transfer (of credit, hours or a currency) or a confirmed hours record made by mistake is
    corrected by a reversing entry — never by an edit: the same amount back from the payee to the
    payer, of kind `correction`, linked both ways (the reversal
    `corrects` the entry, the entry is `corrected_by` it) and shown beside it in histories. Who
    may: the payee (their consent) or a holder of `correct_entries` (a steward's approval),
    decided in ccl.runtime.authority. The payee's floor holds: what they no longer have cannot be
    taken back this way. Returns the reversal's entry id."""
    e = ledger.s.get("ledger.entry", entry_id)
    if e is None or e.get("kind") not in CORRECTABLE:
        raise Refused("entry_exists", f"there is no transfer or confirmed hours record {entry_id} to correct",
                      "`ccl credit history MEMBER` and `ccl hours history MEMBER` show each movement's entry")
    if e.get("status") != "posted":
        raise Refused("entry_posted", f"{entry_id} is {e.get('status')}, not posted")
    if e.get("corrected_by"):
        raise Refused("corrected", f"{entry_id} was already corrected by {e['corrected_by']}")
    if not ledger.require_currency(e["currency"])["policy"].get("transferable", 1):
        raise Refused("transferable", f"`{e['currency']}` is soul-bound now: {entry_id} cannot be moved back",
                      "it can only be minted and burned: burn and mint to correct it")
    if not isinstance(reason, str) or not reason.strip():
        raise Refused("reason", "say why the transfer is corrected", "e.g. \"sent to the wrong member\"")
    back = ledger.apply({"currency": e["currency"], "from": e["to"], "to": e["from"], "amount": e["amount"],
                         "kind": "correction", "memo": f"corrects {entry_id}: {reason}"})
    ledger.s.put("ledger.entry", entry_id, {**e, "corrected_by": back["id"]})
    ledger.s.put("ledger.entry", back["id"], {**back, "corrects": entry_id})
    claim = ledger.s.get("hours.claims", entry_id) if e["kind"] == "hours" else None
    if claim is not None:                       # the hours record says so too
        ledger.s.put("hours.claims", entry_id, {**claim, "corrected_by": back["id"]})
    return back["id"]


CORRECTABLE = ("transfer", "hours")             # entry kinds a correction may reverse


def entry_payee(ledger: Ledger, entry_id) -> Optional[str]:
    """Who received an entry (who may consent to its correction), or None."""
    e = ledger.s.get("ledger.entry", entry_id) if isinstance(entry_id, str) else None
    return e["to"] if isinstance(e, dict) else None


def credit_balance(ledger: Ledger, member: str) -> int:
    return ledger.balance(_unit(ledger, CREDIT), member)


def set_credit_limit(ledger: Ledger, actor: str, member: str, floor: int, ceiling: int) -> bool:
    ensure_credit(ledger)
    ledger.set_limits(CREDIT, member, floor, ceiling)
    return True


# ---------------------------------------------------------------- time bank

def ensure_hours(ledger: Ledger) -> None:
    _unit(ledger, HOURS)


HOURS_CLAIM_WINDOW_S = 30 * DAY


def log_hours(ledger: Ledger, actor: str, member: str, minutes: int, description: str) -> str:
    """`actor` did `minutes` of work for `member`: a claim that stays pending — reserving nothing
    of `member`'s floor — until `member` confirms it; they may decline it, and it expires after
    30 days."""
    ensure_hours(ledger)
    if actor == member:
        raise Refused("distinct_accounts", "log hours of work done for someone else")
    if type(minutes) is not int or not 0 < minutes <= 10_000 * 60:
        raise Refused("positive_amount", "log between 1 minute and 10000 hours")
    record = f"hours-{ledger.s.next_seq('hours')}"
    ledger.s.put("hours.claims", record, {"id": record, "from": member, "to": actor, "minutes": minutes,
                                          "memo": description, "time": ledger.now, "status": "pending",
                                          "expires": ledger.now + HOURS_CLAIM_WINDOW_S})
    return record


def hours_claim(ledger: Ledger, record: str) -> dict:
    c = ledger.s.require("hours.claims", record, "entry_exists", f"there is no hours record `{record}`")
    if c["status"] == "pending" and ledger.now > c["expires"]:
        return {**c, "status": "expired"}
    return c


def hours_receiver(ledger: Ledger, record) -> Optional[str]:
    """Who received the work an hours record claims (who confirms it), or None when there is none."""
    c = ledger.s.get("hours.claims", record) if isinstance(record, str) else None
    return c["from"] if c is not None else None


def pending_hours(ledger: Ledger, member: str) -> list[dict]:
    """The hours logged for `member` that wait for their confirmation (not expired)."""
    claims = [hours_claim(ledger, k) for k, c in ledger.s.scan("hours.claims") if c["from"] == member]
    return [c for c in claims if c["status"] == "pending"]


def _answer(ledger: Ledger, actor: str, record: str, verb: str) -> dict:
    """The pending claim `record`, which only the member who received the work answers."""
    c = hours_claim(ledger, record)
    if c["from"] != actor:
        raise Refused("confirmer", f"only {c['from']}, who received the work, can {verb} `{record}`")
    if c["status"] != "pending":
        raise Refused("entry_pending", f"`{record}` is {c['status']}, not pending")
    return c


def confirm_hours(ledger: Ledger, actor: str, record: str) -> bool:
    c = _answer(ledger, actor, record, "confirm")
    e = ledger.apply({"currency": HOURS, "from": c["from"], "to": c["to"], "amount": c["minutes"], "kind": "hours",
                      "memo": c["memo"], "id": record})
    ledger.s.put("hours.claims", record, {**c, "status": "confirmed", "confirmed": ledger.now, "entry": e["id"]})
    return True


def decline_hours(ledger: Ledger, actor: str, record: str) -> bool:
    c = _answer(ledger, actor, record, "decline")
    ledger.s.put("hours.claims", record, {**c, "status": "declined", "declined": ledger.now})
    return True


def trade_hours(ledger: Ledger, actor: str, frm: str, to: str, minutes: int) -> bool:
    return _pay(ledger, actor, "give hours", HOURS, frm, to, minutes, "trade")


def hour_balance(ledger: Ledger, member: str) -> int:
    return ledger.balance(_unit(ledger, HOURS), member)


# ---------------------------------------------------------------- local currencies

POLICY_KEYS = ("cap", "transferable", "demurrage_bps", "period_days", "floor", "ceiling", "decimals")
DECIMALS_MAX = 8
# how many of an engine's own units make one for people: CREDIT, CAPITAL and EQUITY are kept in
# cents; HOURS are minutes (shown as hours and minutes, so none)
UNIT_DECIMALS = {CREDIT: 2, HOURS: 0, "CAPITAL": 2, "EQUITY": 2}


# the engines' own units: mutual credit and hours (created on first use), and the worker co-op's
# capital and the consumer co-op's equity accounts (soul-bound records of members' shares)
RESERVED = ("CREDIT", "HOURS", "CAPITAL", "EQUITY")


def create_currency(ledger: Ledger, actor: str, symbol: str, name: str, policy: dict) -> bool:
    if symbol in RESERVED:
        raise Refused("currency_reserved", f"`{symbol}` is one of the engines' own units",
                      "pick another symbol for a local currency")
    unknown = sorted(set(policy) - set(POLICY_KEYS))
    if unknown:
        raise Refused("policy_key", f"`{unknown[0]}` is not a currency policy", "policies: " + ", ".join(POLICY_KEYS))
    policy = dict(policy)                # a contract's Map
    decimals = policy.get("decimals", 0)
    if type(decimals) is not int or not 0 <= decimals <= DECIMALS_MAX:
        raise Refused("policy_range", f"a currency has 0 to {DECIMALS_MAX} decimals, not {decimals}",
                      "decimals: 2 keeps amounts in hundredths, as cents are")
    ledger.create_currency(symbol, name, "issued", {"floor": 0, **policy})     # decimals kept only when given
    return True


def currency_decimals(ledger: Optional[Ledger], symbol: str) -> int:
    """How many decimal places `symbol`'s amounts have for people (amounts are always whole
    minor units): the engines' own units fixed, an issued currency's `decimals` policy set when
    it was created, else 0."""
    if symbol in UNIT_DECIMALS:
        return UNIT_DECIMALS[symbol]
    c = ledger.currency(symbol) if ledger is not None else None     # (no ledger to ask: a node's answer)
    return c["policy"].get("decimals", 0) if c else 0


def mint_tokens(ledger: Ledger, actor: str, symbol: str, to: str, amount: int) -> bool:
    ledger.mint(symbol, to, amount)
    return True


def burn_tokens(ledger: Ledger, actor: str, symbol: str, owner: str, amount: int) -> bool:
    ledger.burn(symbol, owner, amount)
    return True


def transfer_tokens(ledger: Ledger, actor: str, symbol: str, frm: str, to: str, amount: int) -> bool:
    _own(actor, frm, "transfer tokens")
    ledger.apply({"currency": symbol, "from": frm, "to": to, "amount": amount, "kind": "transfer"})
    return True


def token_balance(ledger: Ledger, symbol: str, member: str) -> int:
    return ledger.balance(symbol, member)


def set_policy(ledger: Ledger, actor: str, symbol: str, key: str, value: int) -> bool:
    if symbol in ("CAPITAL", "EQUITY"):
        raise Refused("currency_reserved", f"`{symbol}` records members' shares: it stays soul-bound",
                      "its entries come from the profit split and patronage dividends only")
    ledger.set_policy(symbol, key, value)
    return True


# ---------------------------------------------------------------- loans

LENDING = "sys:lending"


def _loan(ledger: Ledger, loan_id: str) -> dict:
    return ledger.s.require("loans", loan_id, "loan_exists", f"there is no loan `{loan_id}`")


def lending_currency(ledger: Ledger) -> str:
    ensure_credit(ledger)
    return (ledger.s.get("loans.policy", "currency") or CREDIT)


def deposit_to_lending(ledger: Ledger, actor: str, amount: int) -> bool:
    """A member puts their own money into the lending pool."""
    symbol = lending_currency(ledger)
    ledger.apply({"currency": symbol, "from": actor, "to": LENDING, "amount": amount, "kind": "deposit"})
    return True


def request_loan(ledger: Ledger, actor: str, borrower: str, amount: int, purpose: str, term_days: int) -> str:
    _own(actor, borrower, "request a loan")
    if amount <= 0 or not 1 <= term_days <= 3650:
        raise Refused("loan_terms", "a loan needs a positive amount and a term of 1 to 3650 days")
    loan_id = f"loan-{ledger.s.next_seq('loan')}"
    ledger.s.put("loans", loan_id, {
        "id": loan_id, "borrower": borrower, "amount": amount, "purpose": purpose, "term_days": term_days,
        "currency": lending_currency(ledger), "status": "requested", "requested": ledger.now, "score": None,
        "reasons": [], "schedule": [], "paid": 0})
    return loan_id


def evaluate_loan(ledger: Ledger, loan_id: str) -> int:
    """A deterministic risk score from 0 (low) to 100 (high), with its reasons recorded."""
    loan = _loan(ledger, loan_id)
    symbol = loan["currency"]
    pool = ledger.balance(symbol, LENDING)
    score, reasons = 10, ["base risk 10"]
    if pool <= 0 or loan["amount"] * 2 > pool:
        score += 30
        reasons.append(f"+30 asks for more than half the lending pool ({pool})")
    if loan["term_days"] > 365:
        score += 10
        reasons.append("+10 term longer than a year")
    history = [v for _, v in ledger.s.scan("loans") if v["borrower"] == loan["borrower"] and v["id"] != loan_id]
    repaid = sum(1 for v in history if v["status"] == "repaid")
    troubled = sum(1 for v in history if v["status"] == "written_off" or _arrears(v, ledger.now) > 0)
    if troubled:
        score += 40 * troubled
        reasons.append(f"+{40 * troubled} loans in arrears or written off")
    if repaid:
        score -= 10 * repaid
        reasons.append(f"-{10 * repaid} loans repaid in full")
    if ledger.balance(symbol, loan["borrower"]) < 0:
        score += 10
        reasons.append("+10 the borrower's balance is negative")
    score = max(0, min(100, score))
    ledger.s.put("loans", loan_id, {**loan, "score": score, "reasons": reasons,
                                    "status": "evaluated" if loan["status"] == "requested" else loan["status"]})
    return score


def _schedule(amount: int, term_days: int, start: int) -> list[dict]:
    """Equal installments every 30 days (at least one); the remainder goes to the last."""
    count = max(1, -(-term_days // 30))
    base, rest = divmod(amount, count)
    out = []
    for k in range(count):
        due = start + min((k + 1) * 30, term_days) * DAY
        out.append({"due": due, "amount": base + (rest if k == count - 1 else 0)})
    assert sum(i["amount"] for i in out) == amount
    return out


def approve_loan(ledger: Ledger, actor: str, loan_id: str) -> bool:
    loan = _loan(ledger, loan_id)
    if loan["status"] not in ("requested", "evaluated"):
        raise Refused("loan_status", f"loan `{loan_id}` is {loan['status']}; only a requested loan can be approved")
    if loan["borrower"] == actor:
        raise Refused("four_eyes", "a member cannot approve their own loan")
    if loan["score"] is None:
        evaluate_loan(ledger, loan_id)
        loan = _loan(ledger, loan_id)
    symbol = loan["currency"]
    if ledger.balance(symbol, LENDING) < loan["amount"]:
        raise Refused("lending_pool", f"the lending pool holds {ledger.balance(symbol, LENDING)}, "
                      f"less than the {loan['amount']} this loan needs")
    ledger.apply({"currency": symbol, "from": LENDING, "to": loan["borrower"], "amount": loan["amount"],
                  "kind": "disbursement", "memo": loan_id, "id": f"{loan_id}-disbursement"})
    rate = ledger.require_currency(symbol)["policy"].get("interest_bps", 0)
    # simple interest for the term, rounded down: amount × rate × days / (365 × 10000)
    interest = loan["amount"] * rate * loan["term_days"] // (365 * 10_000)
    due = loan["amount"] + interest
    ledger.s.put("loans", loan_id, {**loan, "status": "active", "approved_by": actor, "disbursed": ledger.now,
                                    "interest": interest, "due": due,
                                    "schedule": _schedule(due, loan["term_days"], ledger.now)})
    return True


def _arrears(loan: dict, now: int) -> int:
    due = sum(i["amount"] for i in loan.get("schedule", []) if i["due"] <= now)
    return max(due - loan.get("paid", 0), 0) if loan["status"] == "active" else 0


def loan_arrears(ledger: Ledger, loan_id: str) -> int:
    return _arrears(_loan(ledger, loan_id), ledger.now)


def repay_loan(ledger: Ledger, actor: str, loan_id: str, amount: int) -> bool:
    loan = _loan(ledger, loan_id)
    if loan["status"] != "active":
        raise Refused("loan_status", f"loan `{loan_id}` is {loan['status']}, not active")
    total = loan.get("due", loan["amount"])
    owed = total - loan["paid"]
    if amount > owed:
        raise Refused("overpayment", f"only {owed} is still owed on `{loan_id}`")
    ledger.apply({"currency": loan["currency"], "from": actor, "to": LENDING, "amount": amount,
                  "kind": "repayment", "memo": loan_id})
    paid = loan["paid"] + amount
    ledger.s.put("loans", loan_id, {**loan, "paid": paid, "status": "repaid" if paid == total else "active"})
    return True


def write_off_loan(ledger: Ledger, actor: str, loan_id: str) -> bool:
    loan = _loan(ledger, loan_id)
    if loan["status"] != "active":
        raise Refused("loan_status", f"loan `{loan_id}` is {loan['status']}, not active")
    ledger.s.put("loans", loan_id, {**loan, "status": "written_off", "written_off": ledger.now,
                                    "written_off_amount": loan.get("due", loan["amount"]) - loan["paid"]})
    return True


def loans(ledger: Ledger) -> list[dict]:
    return [v for _, v in ledger.s.scan("loans")]


# ---------------------------------------------------------------- risk pools (Broodfonds)

def _pool(ledger: Ledger, name: str) -> dict:
    return ledger.s.require("pools", name, "pool_exists", f"there is no risk pool `{name}`")


def create_pool(ledger: Ledger, actor: str, name: str, contribution: int, member_cap: int) -> bool:
    if ledger.s.get("pools", name) is not None:
        raise Refused("pool_unique", f"risk pool `{name}` already exists")
    if contribution <= 0 or member_cap < contribution:
        raise Refused("pool_terms", "a pool needs a positive contribution and a member cap at least that large")
    ledger.s.put("pools", name, {"name": name, "currency": lending_currency(ledger), "contribution": contribution,
                                 "member_cap": member_cap, "members": {}, "claims": 0})
    return True


def join_pool(ledger: Ledger, actor: str, name: str, member: str) -> bool:
    _own(actor, member, "join a pool")
    pool = _pool(ledger, name)
    if member in pool["members"]:
        raise Refused("pool_member", f"{member} is already in `{name}`")
    if len(pool["members"]) >= 50:
        raise Refused("pool_size", f"`{name}` has 50 members, the most a circle holds")
    ledger.s.put("pools", name, {**pool, "members": {**pool["members"], member: 0}})
    return True


def contribute(ledger: Ledger, actor: str, name: str, amount: int) -> bool:
    pool = _pool(ledger, name)
    if actor not in pool["members"]:
        raise Refused("pool_member", f"{actor} is not a member of `{name}`")
    held = pool["members"][actor]
    if held + amount > pool["member_cap"]:
        raise Refused("pool_cap", f"{actor} would hold {held + amount} in `{name}`, above the cap of "
                      f"{pool['member_cap']}")
    ledger.apply({"currency": pool["currency"], "from": actor, "to": f"sys:pool:{name}", "amount": amount,
                  "kind": "contribution", "memo": name})
    ledger.s.put("pools", name, {**pool, "members": {**pool["members"], actor: held + amount}})
    return True


def file_claim(ledger: Ledger, actor: str, name: str, amount: int, reason: str) -> str:
    pool = _pool(ledger, name)
    if actor not in pool["members"]:
        raise Refused("pool_member", f"{actor} is not a member of `{name}`")
    if amount <= 0:
        raise Refused("positive_amount", "a claim is for a positive amount")
    claim_id = f"claim-{ledger.s.next_seq('claim')}"
    ledger.s.put("claims", claim_id, {"id": claim_id, "pool": name, "member": actor, "amount": amount,
                                      "reason": reason, "status": "filed", "filed": ledger.now})
    return claim_id


def approve_claim(ledger: Ledger, actor: str, claim_id: str) -> bool:
    claim = ledger.s.get("claims", claim_id)
    if claim is None or claim["status"] != "filed":
        raise Refused("claim_status", f"there is no open claim `{claim_id}`")
    if claim["member"] == actor:
        raise Refused("four_eyes", "a member cannot approve their own claim")
    pool = _pool(ledger, claim["pool"])
    account = f"sys:pool:{pool['name']}"
    if ledger.balance(pool["currency"], account) < claim["amount"]:
        raise Refused("pool_funds", f"`{pool['name']}` holds {ledger.balance(pool['currency'], account)}, "
                      f"less than the claim of {claim['amount']}")
    ledger.apply({"currency": pool["currency"], "from": account, "to": claim["member"], "amount": claim["amount"],
                  "kind": "payout", "memo": claim_id, "id": f"{claim_id}-payout"})
    # a payout is a gift from the others: it is taken from their shares in proportion
    members = pool["members"]
    others = {m: v for m, v in members.items() if m != claim["member"]}
    total = sum(others.values())
    remaining = claim["amount"]
    shares = dict(members)
    for m in sorted(others):
        take = claim["amount"] * others[m] // total if total else 0
        take = min(take, shares[m], remaining)
        shares[m] -= take
        remaining -= take
    for m in sorted(shares):
        if not remaining:
            break
        take = min(shares[m], remaining)
        shares[m] -= take
        remaining -= take
    ledger.s.put("pools", pool["name"], {**pool, "members": shares, "claims": pool["claims"] + 1})
    ledger.s.put("claims", claim_id, {**claim, "status": "paid", "approved_by": actor, "paid": ledger.now})
    return True



# ---------------------------------------------------------------- icn-core's names (ccl.operations)

def record_time_work(ledger: Ledger, actor: str, worker: str, description: str, hours: int, verifier: str) -> str:
    """icn-core's `record_time_work`: the worker (the caller) logs whole hours for `verifier`."""
    _own(actor, worker, "record work")
    if type(hours) is not int or not 0 < hours <= 10_000:
        raise Refused("positive_amount", "hours of work are between 1 and 10000")
    return log_hours(ledger, actor, verifier, hours * 60, description)


def create_token_class(ledger: Ledger, actor: str, class_id: str, name: str, symbol: str, issuer: str) -> bool:
    return create_currency(ledger, actor, class_id, name, {})


# ---------------------------------------------------------------- reads (the operations table's queries)

def credit_balance_view(ledger: Ledger, member: str, as_of: Optional[int] = None) -> dict:
    ensure_credit(ledger)
    return {"member": member, "currency": CREDIT, "balance": ledger.balance(CREDIT, member, as_of)}


def _linked(ledger: Ledger, symbol: str, member: str, limit: int) -> list[dict]:
    """An account's history, each correction shown beside what it corrects (`corrects`,
    `corrected_by`)."""
    rows = []
    for row in ledger.history(symbol, member, limit):
        e = ledger.s.get("ledger.entry", row["entry"]) if row.get("entry") else None
        rows.append({**row, **{k: e[k] for k in ("corrects", "corrected_by") if isinstance(e, dict) and k in e}})
    return rows


def credit_history(ledger: Ledger, member: str, limit: int = 50) -> dict:
    ensure_credit(ledger)
    return {"member": member, "currency": CREDIT, "history": _linked(ledger, CREDIT, member, limit)}


def hours_balance_view(ledger: Ledger, member: str) -> dict:
    return {"member": member, "currency": HOURS, "balance": hour_balance(ledger, member)}


def hours_history(ledger: Ledger, member: str, limit: int = 50) -> dict:
    ensure_hours(ledger)
    return {"member": member, "currency": HOURS, "history": _linked(ledger, HOURS, member, limit)}


def pending_hours_view(ledger: Ledger, member: str) -> dict:
    return {"member": member, "pending": pending_hours(ledger, member)}


def currency_balance_view(ledger: Ledger, symbol: str, member: str) -> dict:
    c = ledger.require_currency(symbol)
    return {"member": member, "currency": symbol, "balance": ledger.balance(symbol, member), "supply": c["supply"]}


def loan_list(ledger: Ledger) -> dict:
    return {"loans": [{**v, "arrears": _arrears(v, ledger.now)} for v in loans(ledger)]}


def loan_view(ledger: Ledger, loan_id: str) -> dict:
    return {"loan": {**_loan(ledger, loan_id), "arrears": loan_arrears(ledger, loan_id)}}


def currency_view(ledger: Ledger, symbol: str) -> dict:
    if symbol == CREDIT:
        ensure_credit(ledger)
    elif symbol == HOURS:
        ensure_hours(ledger)
    c = ledger.require_currency(symbol)
    return {"currency": {**c, "decimals": currency_decimals(ledger, symbol)}}
