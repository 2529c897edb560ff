"""The ledger core: a double-entry journal in integer minor units, per currency.

Every movement is one immutable entry that debits one account and credits another by the same
amount (so debits equal credits, always). Entries may carry a client-chosen id: a repeat with the
same fields returns the first result and posts nothing; a repeat with other fields is refused.
Transfers can be pending (funds reserved) and later posted — in full or in part — or voided.
A linked group posts all-or-nothing. Every account keeps a floor (lowest balance allowed) and a
ceiling (highest), and a history from which balance-as-of-time is read.

State lives in the store's key-value rows (namespaces `ledger.*`; the engines on top of the core
keep `hours.*`, `loans*`, `pools` and `claims` — together NAMESPACES), inside the run's transaction,
through `EngineState` (the store keeps the state root's accumulator over those rows as they are
written). Invariants are asserted as entries post and re-checked by `check_invariants` at commit:
per currency, the balances of all accounts sum to zero (system accounts hold the other side of
issued money), and an issued currency's supply equals what its members hold.

So that a commit's check costs what the transaction touched, not what the co-op holds, every
balance change also updates the currency's running totals (`ledger.totals`: the sum of all its
balances and the sum held outside `sys:issuer`), and `EngineState` keeps the value each account,
totals and currency row had when the transaction first wrote it. At commit the touched accounts'
changes must add up to the change of the totals, and the totals must be zero-sum and match the
supply. `check_invariants(full=True)` (and `invariant_problems(full=True)`, which replay uses)
re-sums every account from scratch instead, and checks the totals rows against those sums.

Imports leaves only: the ledger knows nothing of the language.
"""

from __future__ import annotations

from typing import Any, Optional

from ccl import canon

INT_MAX = 2**63 - 1
NAMESPACES = ("ledger", "hours", "loans", "pools", "claims")     # the store namespaces this package owns
# the rows whose value before the transaction check_invariants compares with their value at commit
AUDITED = ("ledger.account", "ledger.totals", "ledger.currency")
ISSUER = "sys:issuer"
NO_TOTALS = {"sum": 0, "held": 0}


class Refused(Exception):
    """A rule of the ledger or the bylaws said no. `rule` names it, for the member."""

    def __init__(self, rule: str, message: str, hint: str = ""):
        super().__init__(message)
        self.rule = rule
        self.message = message
        self.hint = hint


class EngineState:
    """Typed access to the store's key-value rows, with a cache of what this transaction read."""

    def __init__(self, tx):
        self.tx = tx
        self.cache: dict = {}
        self.before: dict[tuple[str, str], Any] = {}    # AUDITED rows as they were before this transaction wrote them

    # A row's value is whatever its engine stored there (decoded canonical CBOR: for the engines'
    # records a dict, for counters an int), so it is Any to this class; the engine knows its rows.
    def get(self, namespace: str, key: str) -> Any:
        k = (namespace, key)
        if k in self.cache:
            return self.cache[k]
        raw = self.tx.kv_get(namespace, key)
        value = canon.decode(raw) if raw is not None else None
        self.cache[k] = value
        return value

    def put(self, namespace: str, key: str, value) -> None:
        data = canon.encode(value)
        if namespace in AUDITED and (namespace, key) not in self.before:
            self.before[(namespace, key)] = self.get(namespace, key)
        self.cache[(namespace, key)] = canon.decode_trusted(data)
        self.tx.kv_put(namespace, key, data)

    def require(self, namespace: str, key, rule: str, message: str, hint: str = ""):
        """The row `key` of `namespace`, or Refused(rule, message): an engine's get-or-refuse (a
        key that is not text names no row)."""
        value = self.get(namespace, key) if isinstance(key, str) else None
        if value is None:
            raise Refused(rule, message, hint)
        return value

    def scan(self, namespace: str) -> list[tuple[str, Any]]:
        """Rows in key order; a row put to None is deleted (skipped)."""
        rows = [(k, canon.decode(v)) for k, v in self.tx.kv_scan(namespace)]
        return [(k, v) for k, v in rows if v is not None]

    def next_seq(self, name: str) -> int:
        n = (self.get("ledger.seq", name) or 0) + 1
        self.put("ledger.seq", name, n)
        return n


# ---------------------------------------------------------------- accounts and currencies

KINDS = ("mutual", "issued", "hours")


def _check_balance_range(what: str, value: int) -> None:
    if not -INT_MAX <= value <= INT_MAX:
        raise Refused("balance_range", f"a {what} of {value} is outside the balance range ±{INT_MAX}",
                      "balances stay within ±(2^63 − 1), so that every balance can be negated")


def _check_amount(amount: int) -> None:
    if type(amount) is not int or amount <= 0:
        raise Refused("positive_amount", f"amounts must be whole positive numbers of minor units, not {amount}")


class Ledger:
    def __init__(self, state: EngineState, now: int, authority: Optional[str] = None):
        self.s = state
        self.now = now
        self.authority = authority          # the passed proposal whose execution this is, if any

    # -- currencies
    def currency(self, symbol: str) -> Optional[dict]:
        return self.s.get("ledger.currency", symbol)

    def require_currency(self, symbol: str) -> dict:
        return self.s.require("ledger.currency", symbol, "currency_exists", f"there is no currency `{symbol}`",
                              "create it first (create_currency / `ccl currency create`)")

    def create_currency(self, symbol: str, name: str, kind: str, policy: dict) -> dict:
        if not symbol or not symbol.replace("_", "").isalnum() or len(symbol) > 16:
            raise Refused("currency_symbol", f"`{symbol}` is not a usable currency symbol",
                          "use up to 16 letters, digits and `_`")
        if self.currency(symbol) is not None:
            raise Refused("currency_unique", f"currency `{symbol}` already exists")
        assert kind in KINDS, kind
        c = {"symbol": symbol, "name": name, "kind": kind, "supply": 0,
             "policy": {"floor": 0 if kind == "issued" else -100_000, "ceiling": INT_MAX, "cap": INT_MAX,
                        "transferable": 1, "demurrage_bps": 0, "period_days": 30, **policy},
             "created": self.now}
        self.s.put("ledger.currency", symbol, c)
        self.s.put("ledger.totals", symbol, NO_TOTALS)
        return c

    def set_policy(self, symbol: str, key: str, value: int) -> None:
        c = self.require_currency(symbol)
        allowed = ("floor", "ceiling", "cap", "transferable", "demurrage_bps", "period_days", "interest_bps")
        if key not in allowed:
            raise Refused("policy_key", f"`{key}` is not a policy of a currency", "policies: " + ", ".join(allowed))
        if key == "cap" and value < c["supply"]:
            raise Refused("supply_cap", f"a cap of {value} is below the current supply {c['supply']}")
        if key in ("demurrage_bps",) and not 0 <= value <= 10_000:
            raise Refused("policy_range", "demurrage is in basis points from 0 to 10000")
        if key in ("floor", "ceiling"):
            _check_balance_range(key, value)
        if key == "period_days" and value <= 0:
            raise Refused("policy_range", "a demurrage period is at least one day")
        c = {**c, "policy": {**c["policy"], key: value}}
        self.s.put("ledger.currency", symbol, c)

    # -- accounts
    def account(self, symbol: str, owner: str) -> dict:
        a = self.s.get("ledger.account", f"{symbol}/{owner}")
        if a is not None:
            return a
        policy = self.require_currency(symbol)["policy"]
        system = owner.startswith("sys:")
        return {"balance": 0, "pending_out": 0, "pending_in": 0, "updated": self.now,
                "floor": -INT_MAX if system else policy["floor"], "ceiling": INT_MAX if system else policy["ceiling"],
                "custom_limits": False}

    def _save_account(self, symbol: str, owner: str, a: dict) -> None:
        before = self.s.get("ledger.account", f"{symbol}/{owner}")
        delta = a["balance"] - (before["balance"] if before else 0)
        if delta:
            totals = self.totals(symbol)
            self.s.put("ledger.totals", symbol, {"sum": totals["sum"] + delta,
                                                 "held": totals["held"] + (delta if owner != ISSUER else 0)})
        self.s.put("ledger.account", f"{symbol}/{owner}", a)

    def totals(self, symbol: str) -> dict:
        """The running totals of `symbol`: {"sum": of all its balances, "held": outside sys:issuer}."""
        totals = self.s.get("ledger.totals", symbol)
        if totals is None:          # a currency made before totals were kept: summed once, then kept
            totals = self._sums().get(symbol, NO_TOTALS)
            self.s.before[("ledger.totals", symbol)] = totals
        return totals

    def set_limits(self, symbol: str, owner: str, floor: int, ceiling: int) -> None:
        if floor > 0 or ceiling < 0 or floor > ceiling:
            raise Refused("limit_range", f"a floor of {floor} and a ceiling of {ceiling} make no sense",
                          "the floor is at most 0 and the ceiling at least 0")
        _check_balance_range("floor", floor)
        _check_balance_range("ceiling", ceiling)
        a = self.account(symbol, owner)
        self._settle(symbol, owner, a)
        a = {**a, "floor": floor, "ceiling": ceiling, "custom_limits": True}
        self._save_account(symbol, owner, a)

    def balance(self, symbol: str, owner: str, as_of: Optional[int] = None) -> int:
        self.require_currency(symbol)
        if as_of is None:
            a = self.account(symbol, owner)
            return a["balance"] - self._demurrage_due(symbol, owner, a)
        last = 0
        for _, row in self.s.scan(f"ledger.history/{symbol}/{owner}"):
            if row["time"] > as_of:
                break
            last = row["balance"]
        return last

    def history(self, symbol: str, owner: str, limit: int = 50) -> list[dict]:
        rows = [row for _, row in self.s.scan(f"ledger.history/{symbol}/{owner}")]
        return rows[-limit:] if limit else rows

    def _sums(self) -> dict[str, dict]:
        """Every currency's totals summed from scratch over all its accounts (a full audit's work)."""
        sums: dict[str, dict] = {}
        for key, a in self.s.scan("ledger.account"):
            symbol, _, owner = key.partition("/")
            totals = sums.setdefault(symbol, dict(NO_TOTALS))
            totals["sum"] += a["balance"]
            totals["held"] += a["balance"] if owner != ISSUER else 0
        return sums

    # -- demurrage: positive balances decay by bps per period, into the currency's commons account
    def _demurrage_due(self, symbol: str, owner: str, a: dict) -> int:
        policy = self.require_currency(symbol)["policy"]
        bps, period = policy.get("demurrage_bps", 0), policy.get("period_days", 30) * 86400
        if not bps or owner.startswith("sys:") or a["balance"] <= 0:
            return 0
        periods = min(max(self.now - a["updated"], 0) // period, 1000)
        balance = a["balance"]
        for _ in range(periods):
            balance -= balance * bps // 10_000
        return a["balance"] - balance

    def _settle(self, symbol: str, owner: str, a: dict) -> dict:
        """Charge the demurrage due on an account before it moves, and restart its clock."""
        policy = self.require_currency(symbol)["policy"]
        if not policy.get("demurrage_bps", 0) or owner.startswith("sys:"):
            return a
        period = policy.get("period_days", 30) * 86400
        if a["balance"] <= 0:
            if a["updated"] != self.now:
                a = {**a, "updated": self.now}
                self._save_account(symbol, owner, a)
            return a
        due = self._demurrage_due(symbol, owner, a)
        if due:
            self._move(symbol, owner, "sys:commons", due, kind="demurrage", entry=f"demurrage-{owner}-{self.now}",
                       check_limits=False, settle=False)
            a = self.account(symbol, owner)
        a = {**a, "updated": a["updated"] + (max(self.now - a["updated"], 0) // period) * period}
        self._save_account(symbol, owner, a)
        return a

    # -- the journal
    def apply(self, entry: dict) -> dict:
        """Post one entry: {currency, from, to, amount, kind, memo, id?, pending?}. Returns the
        stored entry (the first one, for a repeated id)."""
        existing = self._repeat(entry)
        if existing is not None:
            return existing
        self._validate(entry)
        symbol = entry["currency"]
        seq = self.s.next_seq("entry")
        entry_id = entry.get("id") or f"{entry.get('kind', 'entry')}-{seq}"
        pending = bool(entry.get("pending"))
        self._move(symbol, entry["from"], entry["to"], entry["amount"], kind=entry.get("kind", "transfer"),
                   entry=entry_id, pending=pending, memo=entry.get("memo", ""))
        stored = {"id": entry_id, "seq": seq, "time": self.now, "currency": symbol, "from": entry["from"],
                  "to": entry["to"], "amount": entry["amount"], "kind": entry.get("kind", "transfer"),
                  "memo": entry.get("memo", ""), "status": "pending" if pending else "posted",
                  "request": _fingerprint(entry)}
        self.s.put("ledger.entry", entry_id, stored)
        return stored

    def _validate(self, entry: dict) -> None:
        _check_amount(entry["amount"])
        if entry["from"] == entry["to"]:
            raise Refused("distinct_accounts", "an entry must move value between two different accounts")
        currency = self.require_currency(entry["currency"])
        if not currency["policy"].get("transferable", 1) and entry.get("kind", "transfer") == "transfer":
            raise Refused("transferable", f"`{entry['currency']}` cannot be transferred between members",
                          "it is soul-bound: it can only be minted and burned")

    def apply_linked(self, entries: list[dict]) -> list[dict]:
        """All or nothing: every entry is validated, and checked against the balances the group
        would leave, before any is written."""
        for e in entries:
            self._validate(e)
        shadow: dict = {}
        for e in entries:
            for owner, delta in ((e["from"], -e["amount"]), (e["to"], e["amount"])):
                key = (e["currency"], owner)
                if key not in shadow:
                    a = self.account(e["currency"], owner)
                    shadow[key] = [a["balance"] - a["pending_out"], a["balance"], a]
                shadow[key][0] += delta
                shadow[key][1] += delta
                avail, bal, a = shadow[key]
                if delta < 0 and avail < a["floor"]:
                    raise Refused("credit_floor", f"the linked group would take {owner} to {avail} in "
                                  f"{e['currency']}, below its floor of {a['floor']}")
                if delta > 0 and bal > a["ceiling"]:
                    raise Refused("balance_ceiling", f"the linked group would take {owner} to {bal} in "
                                  f"{e['currency']}, above its ceiling of {a['ceiling']}")
        return [self.apply(e) for e in entries]

    def post_pending(self, entry_id: str, amount: Optional[int] = None) -> dict:
        e = self._pending(entry_id)
        amount = e["amount"] if amount is None else amount
        _check_amount(amount)
        if amount > e["amount"]:
            raise Refused("post_amount", f"cannot post {amount}: only {e['amount']} is pending")
        self._release(e)
        self._move(e["currency"], e["from"], e["to"], amount, kind=e["kind"], entry=entry_id, memo=e["memo"],
                   check_limits=False)
        stored = {**e, "status": "posted", "posted_amount": amount, "posted_at": self.now}
        self.s.put("ledger.entry", entry_id, stored)
        return stored

    def void_pending(self, entry_id: str) -> dict:
        e = self._pending(entry_id)
        self._release(e)
        stored = {**e, "status": "voided", "voided_at": self.now}
        self.s.put("ledger.entry", entry_id, stored)
        return stored

    def entry(self, entry_id: str) -> Optional[dict]:
        return self.s.get("ledger.entry", entry_id)

    def _pending(self, entry_id: str) -> dict:
        e = self.s.require("ledger.entry", entry_id, "entry_exists", f"there is no entry `{entry_id}`")
        if e["status"] != "pending":
            raise Refused("entry_pending", f"entry `{entry_id}` is {e['status']}, not pending")
        return e

    def _release(self, e: dict) -> None:
        for owner, field in ((e["from"], "pending_out"), (e["to"], "pending_in")):
            a = self.account(e["currency"], owner)
            self._save_account(e["currency"], owner, {**a, field: a[field] - e["amount"]})

    def _repeat(self, entry: dict) -> Optional[dict]:
        if not entry.get("id"):
            return None
        first = self.entry(entry["id"])
        if first is None:
            return None
        if first["request"] != _fingerprint(entry):
            raise Refused("id_reuse", f"entry id `{entry['id']}` was already used for a different entry",
                          "a repeated id must repeat the same entry exactly")
        return first

    def _move(self, symbol: str, debit: str, credit: str, amount: int, *, kind: str, entry: str,
              pending: bool = False, memo: str = "", check_limits: bool = True, settle: bool = True) -> None:
        a_from = self._settle(symbol, debit, self.account(symbol, debit)) if settle else self.account(symbol, debit)
        a_to = self._settle(symbol, credit, self.account(symbol, credit)) if settle else self.account(symbol, credit)
        if check_limits:
            available = a_from["balance"] - a_from["pending_out"] - amount
            if available < a_from["floor"]:
                raise Refused("credit_floor", f"{debit} would go to {available} in {symbol}, below its floor of "
                              f"{a_from['floor']}", "the member's credit limit is reached")
            incoming = a_to["balance"] + a_to["pending_in"] + amount
            if incoming > a_to["ceiling"]:
                raise Refused("balance_ceiling", f"{credit} would hold {incoming} in {symbol}, above its ceiling of "
                              f"{a_to['ceiling']}")
        if pending:
            self._save_account(symbol, debit, {**a_from, "pending_out": a_from["pending_out"] + amount})
            self._save_account(symbol, credit, {**a_to, "pending_in": a_to["pending_in"] + amount})
            return
        new_from = a_from["balance"] - amount
        new_to = a_to["balance"] + amount
        if new_from < -INT_MAX or new_to > INT_MAX:       # only reachable past a hand-set limit
            raise Refused("balance_range", f"the balance would leave the range ±{INT_MAX}",
                          "balances stay within ±(2^63 − 1), so that every balance can be negated")
        self._save_account(symbol, debit, {**a_from, "balance": new_from})
        self._save_account(symbol, credit, {**a_to, "balance": new_to})
        seq = self.s.next_seq("history")
        for owner, delta, balance, other in ((debit, -amount, new_from, credit), (credit, amount, new_to, debit)):
            self.s.put(f"ledger.history/{symbol}/{owner}", f"{seq:020d}",
                       {"seq": seq, "time": self.now, "entry": entry, "kind": kind, "delta": delta,
                        "balance": balance, "counterparty": other, "memo": memo})

    # -- issued money
    def mint(self, symbol: str, to: str, amount: int, entry_id: str = "") -> dict:
        c = self.require_currency(symbol)
        if c["kind"] != "issued":
            raise Refused("issued_currency", f"`{symbol}` is {c['kind']} credit: it is created by trade, not minted")
        _check_amount(amount)
        if c["supply"] + amount > c["policy"]["cap"]:
            raise Refused("supply_cap", f"minting {amount} would take the supply of {symbol} to "
                          f"{c['supply'] + amount}, above its cap of {c['policy']['cap']}")
        e = self.apply({"currency": symbol, "from": ISSUER, "to": to, "amount": amount, "kind": "mint",
                        "id": entry_id or None})
        c = self.require_currency(symbol)
        self.s.put("ledger.currency", symbol, {**c, "supply": c["supply"] + amount})
        return e

    def burn(self, symbol: str, owner: str, amount: int) -> dict:
        c = self.require_currency(symbol)
        if c["kind"] != "issued":
            raise Refused("issued_currency", f"`{symbol}` is {c['kind']} credit: it cannot be burned")
        e = self.apply({"currency": symbol, "from": owner, "to": ISSUER, "amount": amount, "kind": "burn"})
        c = self.require_currency(symbol)
        self.s.put("ledger.currency", symbol, {**c, "supply": c["supply"] - amount})
        return e

    # -- invariants (re-checked at commit for every currency the transaction touched)
    def check_invariants(self, full: bool = False) -> None:
        """Raise AssertionError (a bug of ours: the engines keep these by construction) at the first
        broken invariant; `full` audits every currency from scratch."""
        problems = self.invariant_problems(full)
        if problems:
            raise AssertionError(f"ledger invariant broken: {problems[0]}")

    def invariant_problems(self, full: bool = False) -> list[str]:
        """What is wrong with the currencies this transaction touched — their totals against their
        totals before plus their touched accounts' changes — or, `full`, with every currency: its
        totals against its accounts summed from scratch."""
        if full:
            sums = self._sums()
            symbols = sorted(k for k, _ in self.s.scan("ledger.currency"))
        else:
            changes = self._changes()
            symbols = sorted(changes)
        problems: list[str] = []
        for symbol in symbols:
            c = self.require_currency(symbol)
            if full:
                found = sums.get(symbol, NO_TOTALS)
                totals = self.s.get("ledger.totals", symbol) or found    # (none kept yet: the sums alone)
            else:
                totals = self.totals(symbol)
                before = self.s.before.get(("ledger.totals", symbol), totals) or NO_TOTALS
                found = {k: before[k] + changes[symbol][k] for k in NO_TOTALS}
            if totals != found:
                problems.append(f"{symbol}'s running totals {totals} are not its accounts' {found}")
            elif totals["sum"] != 0:
                problems.append(f"{symbol} balances sum to {totals['sum']}, not 0")
            elif c["kind"] == "issued" and totals["held"] != c["supply"]:
                problems.append(f"{symbol} supply {c['supply']} but members hold {totals['held']}")
        return problems

    def _changes(self) -> dict[str, dict]:
        """Per currency this transaction touched, how much its touched accounts' balances changed."""
        changes: dict[str, dict] = {}
        for (namespace, key), before in self.s.before.items():
            symbol, _, owner = key.partition("/")
            change = changes.setdefault(symbol, dict(NO_TOTALS))
            if namespace == "ledger.account":
                after = self.s.get(namespace, key)
                delta = (after["balance"] if after else 0) - (before["balance"] if before else 0)
                change["sum"] += delta
                change["held"] += delta if owner != ISSUER else 0
        return changes


def _fingerprint(entry: dict) -> str:
    fields = {k: entry.get(k) for k in ("currency", "from", "to", "amount", "kind", "memo", "pending")}
    return canon.cid_of({k: v for k, v in fields.items() if v is not None})
