"""Shared helpers for the tests: compile a source string and run it on both VM paths."""

from ccl.pipeline import build
from ccl.vm.run import execute


def run_both(source: str, entry: str = "run", args=(), gas: int = 10_000_000, **kw):
    """Run on the reference interpreter and the fast path; assert they agree; return one."""
    verified = build(source, "test.ccl")
    results = [execute(verified, entry, list(args), gas_limit=gas, mode=mode, log=lambda m: None, **kw)
               for mode in ("interp", "fast")]
    a, b = results
    assert a.ok == b.ok, (a, b)
    assert a.value == b.value, (a.value, b.value)
    assert a.gas_used == b.gas_used, (a.gas_used, b.gas_used)
    if not a.ok:
        assert (a.error.code, a.error.span.line) == (b.error.code, b.error.span.line), (a.error, b.error)
    return b


def value(source: str, entry: str = "run", args=()):
    r = run_both(source, entry, args)
    assert r.ok, r.error
    return r.value


def error_code(source: str, entry: str = "run", args=()):
    r = run_both(source, entry, args)
    assert not r.ok, r.value
    return r.error.code
