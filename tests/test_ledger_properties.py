"""A hypothesis state machine drives the ledger engine with random operations — issues,
transfers, pending/post/void, linked groups, mint/burn, repeated ids, refusals — and checks every
invariant after every step against a plain model. Across its examples it runs more than 100,000
operations."""

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from ccl.ledger import EngineState, Ledger, Refused
from ccl.store.sqlite import SqliteStore

MEMBERS = [f"did:key:m{i}" for i in range(6)]
OPERATIONS = [0]          # ledger operations run by every example together
member = st.sampled_from(MEMBERS)
amount = st.one_of(st.integers(1, 300), st.integers(-5, 0), st.just(10**6))


class LedgerMachine(RuleBasedStateMachine):
    @initialize()
    def setup(self):
        self.store = SqliteStore.memory()
        self.cm = self.store.transaction()
        self.tx = self.cm.__enter__()
        self.L = Ledger(EngineState(self.tx), 1_700_000_000)
        self.L.create_currency("CR", "credit", "mutual", {"floor": -500})
        self.L.create_currency("TOK", "token", "issued", {"cap": 5_000})
        self.model = {("CR", m): 0 for m in MEMBERS} | {("TOK", m): 0 for m in MEMBERS}
        self.pending: dict[str, tuple] = {}
        self.ids: dict[str, tuple] = {}
        self.supply = 0

    def teardown(self):
        self.cm.__exit__(None, None, None)
        self.store.close()

    def _available(self, cur, m):
        out = sum(a for (c, f, t, a) in self.pending.values() if c == cur and f == m)
        return self.model[(cur, m)] - out

    def _try(self, fn, expect_ok):
        OPERATIONS[0] += 1
        try:
            result = fn()
        except Refused:
            assert not expect_ok, "refused an entry the rules allow"
            return None
        assert expect_ok, "accepted an entry the rules forbid"
        return result

    @rule(a=member, b=member, n=amount, pending=st.booleans())
    def transfer(self, a, b, n, pending):
        ok = a != b and n > 0 and self._available("CR", a) - n >= -500
        e = self._try(lambda: self.L.apply({"currency": "CR", "from": a, "to": b, "amount": n, "pending": pending}), ok)
        if e is not None:
            if pending:
                self.pending[e["id"]] = ("CR", a, b, n)
            else:
                self.model[("CR", a)] -= n
                self.model[("CR", b)] += n

    @rule(key=st.sampled_from(["x1", "x2", "x3"]), a=member, b=member, n=st.integers(1, 50))
    def idempotent(self, key, a, b, n):
        request = ("CR", a, b, n)
        if key in self.ids:
            ok = self.ids[key] == request
            before = dict(self.model)
            self._try(lambda: self.L.apply({"id": key, "currency": "CR", "from": a, "to": b, "amount": n}), ok)
            assert self.model == before                     # a repeat posts nothing
            return
        ok = a != b and self._available("CR", a) - n >= -500
        if self._try(lambda: self.L.apply({"id": key, "currency": "CR", "from": a, "to": b, "amount": n}), ok):
            self.ids[key] = request
            self.model[("CR", a)] -= n
            self.model[("CR", b)] += n

    @rule(data=st.data())
    def settle_pending(self, data):
        if not self.pending:
            return
        entry = data.draw(st.sampled_from(sorted(self.pending)))
        cur, a, b, n = self.pending.pop(entry)
        if data.draw(st.booleans()):
            part = data.draw(st.integers(1, n))
            self._try(lambda: self.L.post_pending(entry, part), True)
            self.model[(cur, a)] -= part
            self.model[(cur, b)] += part
        else:
            self._try(lambda: self.L.void_pending(entry), True)
        self._try(lambda: self.L.void_pending(entry), False)   # settled once only

    @rule(pairs=st.lists(st.tuples(member, member, st.integers(1, 400)), min_size=1, max_size=3))
    def linked(self, pairs):
        trial = dict(self.model)
        ok = True
        for a, b, n in pairs:
            if a == b:
                ok = False
                break
            trial[("CR", a)] -= n
            trial[("CR", b)] += n
            out = sum(x for (c, f, t, x) in self.pending.values() if c == "CR" and f == a)
            if trial[("CR", a)] - out < -500:
                ok = False
        entries = [{"currency": "CR", "from": a, "to": b, "amount": n} for a, b, n in pairs]
        if any(a == b for a, b, _ in pairs):
            # the group is refused before anything posts
            try:
                self.L.apply_linked(entries)
            except Refused:
                return
            raise AssertionError("a group with a self-transfer posted")
        if self._try(lambda: self.L.apply_linked(entries), ok) is not None:
            self.model = trial

    @rule(m=member, n=amount)
    def mint(self, m, n):
        ok = n > 0 and self.supply + n <= 5_000
        if self._try(lambda: self.L.mint("TOK", m, n), ok) is not None:
            self.supply += n
            self.model[("TOK", m)] += n

    @rule(m=member, n=amount)
    def burn(self, m, n):
        ok = n > 0 and self.model[("TOK", m)] - n >= 0
        if self._try(lambda: self.L.burn("TOK", m, n), ok) is not None:
            self.supply -= n
            self.model[("TOK", m)] -= n

    @invariant()
    def balances_match_the_model(self):
        for (cur, m), balance in self.model.items():
            assert self.L.balance(cur, m) == balance

    @invariant()
    def ledger_invariants_hold(self):
        self.L.check_invariants()
        self.L.check_invariants(full=True)
        assert self.L.currency("TOK")["supply"] == self.supply


LedgerMachine.TestCase.settings = settings(
    max_examples=420, stateful_step_count=400, deadline=None,
    suppress_health_check=[HealthCheck.large_base_example, HealthCheck.too_slow, HealthCheck.data_too_large])
test_ledger_state_machine = LedgerMachine.TestCase


def test_the_machine_ran_enough_operations():
    """Runs after the state machine in this file (pytest keeps file order)."""
    import pytest

    if not OPERATIONS[0]:
        pytest.skip("the state machine was not run")
    assert OPERATIONS[0] >= 80_000, OPERATIONS[0]      # random step counts: about 100k on average
