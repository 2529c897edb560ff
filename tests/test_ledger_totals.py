"""The ledger's running totals (`ledger.totals`): kept by every balance change, so that the check
at commit costs what the transaction touched — and still catches a broken ledger.

- a balance, a supply or a totals row written behind the engine's back in a transaction is
  caught by the commit check; one edited in the store between transactions is caught by the full
  audit (`check_invariants(full=True)`, which replay runs at its end);
- after random sequences of operations, each sequence of a few in its own transaction, the totals
  rows equal the balances summed from scratch (read straight from the store's rows here);
- a transfer reads the same rows whatever the number of accounts, and never scans the accounts;
- a currency made before totals were kept gets them summed once, on its first balance change.
"""

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings

from ccl import canon
from ccl.identity import Identity
from ccl.ledger import EngineState, Ledger, Refused
from ccl.ledger import engines as E
from ccl.pipeline import build
from ccl.runtime import session
from ccl.store.sqlite import SqliteStore, SqliteTx
from helpers import found_store

MEMBERS = [f"did:key:m{i}" for i in range(5)]
T0 = 1_700_000_000
DAY = 86_400


def ledger_store():
    """A store with a mutual currency CR, an issued TOK and an issued DEM that decays 5% a day."""
    store = SqliteStore.memory()
    with store.transaction() as tx:
        L = Ledger(EngineState(tx), T0)
        L.create_currency("CR", "credit", "mutual", {"floor": -500})
        L.create_currency("TOK", "token", "issued", {"cap": 10_000})
        L.create_currency("DEM", "decaying", "issued", {"demurrage_bps": 500, "period_days": 1})
        L.check_invariants()
    return store


def in_tx(store, now, *steps):
    """Run `steps` (functions of a Ledger) in one transaction, checked at commit like a run."""
    with store.transaction() as tx:
        L = Ledger(EngineState(tx), now)
        for step in steps:
            step(L)
        L.check_invariants()


def a_few_entries(L):
    L.apply({"currency": "CR", "from": MEMBERS[0], "to": MEMBERS[1], "amount": 70})
    L.mint("TOK", MEMBERS[2], 40)


def from_scratch(tx) -> dict:
    """Each currency's {sum, held} from the account rows themselves, and its totals row."""
    sums: dict = {}
    for key, raw in tx.kv_scan("ledger.account"):
        symbol, _, owner = key.partition("/")
        balance = canon.decode(raw)["balance"]
        s = sums.setdefault(symbol, {"sum": 0, "held": 0})
        s["sum"] += balance
        s["held"] += balance if owner != "sys:issuer" else 0
    kept = {k: canon.decode(v) for k, v in tx.kv_scan("ledger.totals")}
    return {symbol: (sums.get(symbol, {"sum": 0, "held": 0}), kept[symbol]) for symbol in kept}


# ---------------------------------------------------------------- a broken ledger is caught

def test_a_balance_written_behind_the_engine_is_caught_at_commit():
    store = ledger_store()
    in_tx(store, T0, a_few_entries)
    with store.transaction() as tx:
        L = Ledger(EngineState(tx), T0)
        L.apply({"currency": "CR", "from": MEMBERS[1], "to": MEMBERS[3], "amount": 5})
        a = L.account("CR", MEMBERS[3])
        L.s.put("ledger.account", f"CR/{MEMBERS[3]}", {**a, "balance": a["balance"] + 1})   # one side only
        with pytest.raises(AssertionError, match=r"CR's running totals .* are not its accounts'"):
            L.check_invariants()


def test_a_supply_or_a_totals_row_written_behind_the_engine_is_caught_at_commit():
    store = ledger_store()
    in_tx(store, T0, a_few_entries)
    with store.transaction() as tx:
        L = Ledger(EngineState(tx), T0)
        L.s.put("ledger.currency", "TOK", {**L.currency("TOK"), "supply": 41})        # a mint without money
        with pytest.raises(AssertionError, match="TOK supply 41 but members hold 40"):
            L.check_invariants()
    with store.transaction() as tx:
        L = Ledger(EngineState(tx), T0)
        L.s.put("ledger.totals", "CR", {"sum": 0, "held": 1})
        with pytest.raises(AssertionError, match="CR's running totals"):
            L.check_invariants()


def test_a_balance_edited_in_the_store_is_caught_by_the_full_audit():
    store = ledger_store()
    in_tx(store, T0, a_few_entries)
    with store.transaction() as tx:                 # outside the engine: straight into the row
        key = f"CR/{MEMBERS[1]}"
        a = canon.decode(tx.kv_get("ledger.account", key))
        tx.kv_put("ledger.account", key, canon.encode({**a, "balance": a["balance"] + 1000}))
    with store.transaction() as tx:
        L = Ledger(EngineState(tx), T0)
        L.apply({"currency": "CR", "from": MEMBERS[0], "to": MEMBERS[4], "amount": 1})
        L.check_invariants()                        # what this transaction did is right
        assert L.invariant_problems(full=True) == [
            "CR's running totals {'sum': 0, 'held': 0} are not its accounts' {'sum': 1000, 'held': 1000}"]
        with pytest.raises(AssertionError, match="CR's running totals"):
            L.check_invariants(full=True)


def test_replay_ends_with_a_full_audit_of_the_replayed_ledger(monkeypatch):
    ana, bo = Identity.from_seed("ana", b"\x01" * 32), Identity.from_seed("bo", b"\x02" * 32)
    store = found_store(SqliteStore.memory(), ana, [bo.did])
    pay = build("fn pay(to: Did, amount: Integer) -> Bool { transfer_credit(caller(), to, amount) }", "pay.ccl")
    assert session.run(pay, "pay", [bo.did, 25], store=store, caller=ana.did, signer=ana, now=1).receipt
    assert all(s.ok for s in session.replay(store, live=True))
    sums = Ledger._sums
    monkeypatch.setattr(Ledger, "_sums", lambda self: {**sums(self), "CREDIT": {"sum": 25, "held": 25}})
    last = session.replay(store, live=True)[-1]
    assert not last.ok and last.why.startswith("ledger audit: CREDIT's running totals")


# ---------------------------------------------------------------- totals equal sums from scratch

member = st.sampled_from(MEMBERS)
amount = st.integers(1, 400)
operation = st.one_of(
    st.tuples(st.just("transfer"), st.sampled_from(["CR", "TOK", "DEM"]), member, member, amount),
    st.tuples(st.just("pending"), st.sampled_from(["CR", "TOK"]), member, member, amount),
    st.tuples(st.just("settle"), st.booleans(), st.integers(1, 400)),
    st.tuples(st.just("mint"), st.sampled_from(["TOK", "DEM"]), member, amount),
    st.tuples(st.just("burn"), st.sampled_from(["TOK", "DEM"]), member, amount),
    st.tuples(st.just("limits"), member, st.integers(-800, 0)),
    st.tuples(st.just("linked"), st.lists(st.tuples(member, member, amount), min_size=1, max_size=3)),
    st.tuples(st.just("days"), st.integers(1, 5)),
)


def apply_operation(L, op, pending: list):
    kind, *args = op
    if kind == "transfer":
        symbol, a, b, n = args
        L.apply({"currency": symbol, "from": a, "to": b, "amount": n})
    elif kind == "pending":
        symbol, a, b, n = args
        pending.append(L.apply({"currency": symbol, "from": a, "to": b, "amount": n, "pending": True})["id"])
    elif kind == "settle" and pending:
        post, n = args
        entry = pending.pop(0)
        if post:
            L.post_pending(entry, min(n, L.entry(entry)["amount"]))
        else:
            L.void_pending(entry)
    elif kind == "mint":
        L.mint(*args)
    elif kind == "burn":
        L.burn(*args)
    elif kind == "limits":
        L.set_limits("CR", args[0], args[1], 1_000_000)
    elif kind == "linked":
        L.apply_linked([{"currency": "CR", "from": a, "to": b, "amount": n} for a, b, n in args[0]])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(operation, min_size=1, max_size=4), min_size=1, max_size=12))
def test_the_running_totals_equal_the_balances_summed_from_scratch(transactions):
    store = ledger_store()
    now, pending = T0, []
    for ops in transactions:
        now += DAY * sum(op[1] for op in ops if op[0] == "days")    # demurrage falls due as days pass
        kept = list(pending)
        try:
            with store.transaction() as tx:
                L = Ledger(EngineState(tx), now)
                for op in ops:
                    apply_operation(L, op, pending)
                L.check_invariants()
        except Refused:
            pending[:] = kept                       # the transaction rolled back
        with store.transaction() as tx:
            for symbol, (summed, kept_totals) in from_scratch(tx).items():
                assert kept_totals == summed, symbol
            assert Ledger(EngineState(tx), now).invariant_problems(full=True) == []


# ---------------------------------------------------------------- the cost of a transfer

def test_a_transfer_reads_the_same_rows_whatever_the_number_of_accounts(monkeypatch):
    reads: list = []
    for accounts in (10, 300):
        store = ledger_store()
        in_tx(store, T0, lambda L: [L.apply({"currency": "CR", "from": "sys:bench", "to": f"did:key:x{i}",
                                             "amount": 1}) for i in range(accounts)])
        calls: list = []
        for method in ("kv_get", "kv_scan"):
            original = getattr(SqliteTx, method)
            monkeypatch.setattr(SqliteTx, method, lambda self, ns, *rest, _f=original, _m=method:
                                calls.append((_m, ns)) or _f(self, ns, *rest))
        in_tx(store, T0, lambda L: E.transfer_credit(L, MEMBERS[0], MEMBERS[0], MEMBERS[1], 5))
        monkeypatch.undo()
        assert not [c for c in calls if c[0] == "kv_scan"], calls
        reads.append(sorted(calls))
    assert reads[0] == reads[1]


# ---------------------------------------------------------------- a currency from before totals

def test_a_currency_without_totals_gets_them_summed_on_its_first_balance_change():
    store = ledger_store()
    in_tx(store, T0, a_few_entries)
    with store.transaction() as tx:                 # as a workspace made before totals were kept
        for symbol in ("CR", "TOK", "DEM"):
            tx.kv_put("ledger.totals", symbol, canon.encode(None))
    with store.transaction() as tx:
        L = Ledger(EngineState(tx), T0)
        assert L.invariant_problems(full=True) == []         # the sums alone are checked
        L.set_limits("TOK", MEMBERS[2], 0, 500)               # no balance change: no totals row yet
        L.check_invariants()
        L.apply({"currency": "CR", "from": MEMBERS[1], "to": MEMBERS[0], "amount": 30})
        L.check_invariants()
    with store.transaction() as tx:
        assert from_scratch(tx)["CR"] == ({"sum": 0, "held": 0}, {"sum": 0, "held": 0})
        assert canon.decode(tx.kv_get("ledger.totals", "TOK")) is None
        assert Ledger(EngineState(tx), T0).invariant_problems(full=True) == []
