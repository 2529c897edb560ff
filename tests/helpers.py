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


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_node(cwd, port: int, *global_args: str):
    """`ccl [global args] serve` on loopback, returned once it answers /api/v1/health."""
    import subprocess
    import sys
    import time

    import httpx

    proc = subprocess.Popen([sys.executable, "-m", "ccl", *global_args, "serve", "--port", str(port)], cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the node did not start")


class running_node:
    """`with running_node(folder) as url:` — a node for the length of the block."""

    def __init__(self, cwd, *global_args: str):
        self.cwd, self.args = cwd, global_args

    def __enter__(self) -> str:
        port = free_port()
        self.proc = start_node(self.cwd, port, *self.args)
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(timeout=15)


# PENDING(runtime): the host row `guard` — the prologue codegen emits for a `needs` function — is
# bound by ccl/runtime/host.py in the runtime's authority work, not on the language branch. Until
# it is, any run that enters a guarded function stops with this error; the tests that meet it
# (template suites, walkthroughs) say so with `pending_guard` instead of failing.
GUARD_UNBOUND = "`guard` is not available here"          # H0600, rendered or in --json output


def pending_guard(output: str) -> None:
    """xfail the calling test when `output` shows only the not-yet-bound `guard` stopping runs."""
    import pytest

    if GUARD_UNBOUND in output and "H0600" in output:
        pytest.xfail("`guard` is bound by the runtime's authority work (ccl/runtime/host.py)")
