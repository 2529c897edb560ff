"""What `ccl test` adds to a run: acting as another member, moving the clock, expecting failure.

A test function runs in a founded scratch co-op (ccl.runtime.session.scratch) with its module
adopted and the test member as founder. Inside it, `as_member(did)` makes later calls come from
`did` (so a test shows a non-member or a member without the role being refused), `at(t)` moves
`now()` forward, and `expect_fail(kind, message)` says the rest of the test must fail with a
diagnostic of that category whose message contains `message` — the test passes exactly then;
`admit(did, role)` sets the test's co-op up with a member holding a role.
Outside `ccl test` these rows are host errors. Imports leaves and ccl.vm.
"""

from __future__ import annotations

from typing import Optional

from ccl.diag import Diagnostic, Span
from ccl.semantics import Trap
from ccl.vm.run import RunResult

KINDS = ("host", "runtime", "gas", "limit")


def tests_of(verified) -> list:
    """A module's tests: its entry points named `test_…` (after any `Contract::`) that take no
    arguments, in module order — what `ccl test` runs, and an amendment's dry-run."""
    return [f for f in verified.module.functions
            if f.entry and f.name.rsplit("::", 1)[-1].startswith("test_") and not f.params]


class TestHooks:
    def __init__(self):
        self.expected: Optional[tuple[str, str]] = None
        self.st = self.principal = self.ledger = None
        self.where = Span()

    def attach(self, st, principal, ledger) -> None:
        self.st, self.principal, self.ledger = st, principal, ledger

    def as_member(self, did: str) -> None:
        self.principal.caller = did
        self.st.caller = did
        self.st.ns["_caller"] = did              # the fast engine reads the caller from its namespace
        return None

    def at(self, t: int) -> None:
        if t < self.ledger.now:
            raise Trap("H0600", f"at({t}) would move time backwards from {self.ledger.now}")
        self.ledger.now = t
        self.st.now = t
        self.st.ns["_now"] = t
        return None

    def admit(self, did: str, role: str) -> None:
        """The founding helper: `did` becomes a member holding `role`, with no one's authority
        needed (this is the test's own set-up, as a genesis would be)."""
        from ccl import governance as G
        from ccl.ledger import Refused

        try:
            if not G.is_member(self.ledger, did):
                G.add_member(self.ledger, self.principal.caller, did)
            if role:
                G.grant_role(self.ledger, "test set-up", did, role)
        except Refused as r:
            raise Trap("H0600", f"admit refused ({r.rule}): {r.message}", r.hint) from None
        return None

    def expect_fail(self, kind: str, message: str) -> None:
        if kind not in KINDS:
            raise Trap("H0600", f"expect_fail's kind is one of {', '.join(KINDS)}, not `{kind}`")
        self.expected = (kind, message)
        return None

    def outcome(self, result: RunResult) -> RunResult:
        """The test's result once its expectation, if any, is applied."""
        if self.expected is None:
            return result
        kind, message = self.expected
        if result.ok:
            return RunResult(False, gas_used=result.gas_used, error=Diagnostic(
                "runtime", "R0308", f"expected a {kind} failure containing {message!r}, but the test went on to "
                "succeed", self.where, ("the call after expect_fail was allowed: is the guard missing?",)))
        e = result.error
        assert e is not None                            # a failed run carries its diagnostic
        if e.kind == kind and message in e.message:
            return RunResult(True, None, None, result.gas_used)
        return RunResult(False, gas_used=result.gas_used, error=Diagnostic(
            e.kind, e.code, f"expected a {kind} failure containing {message!r}, got: {e.message}", e.span, e.hints))
