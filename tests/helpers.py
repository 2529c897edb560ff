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


def cli_in(cwd, *args):
    """`ccl ARGS…` in-process (click's CliRunner) with `cwd` as the working folder."""
    import os

    from click.testing import CliRunner

    from ccl.cli.main import cli

    old = os.getcwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    finally:
        os.chdir(old)


def found(cwd, founder: str = "alice", members=("bob", "carol"), bylaws=(), roles: dict | None = None):
    """A demo co-op in `cwd` through the CLI, as a reader would make it: `ccl init --founder …
    --demo [--bylaws …]`, keys for `members`, each admitted by the founder, and `roles`
    (member name → role) granted by the founder. Returns the CLI invoker for that folder."""
    def ccl(*args):
        return cli_in(cwd, *args)

    extra = [x for b in bylaws for x in ("--bylaws", b)]
    r = ccl("init", "--founder", founder, "--demo", *extra)
    assert r.exit_code == 0, r.output
    for name in members:
        assert ccl("id", "new", name).exit_code == 0
        r = ccl("member", "add", name, "--as", founder)
        assert r.exit_code == 0, r.output
    for name, role in (roles or {}).items():
        r = ccl("role", "grant", name, role, "--as", founder)
        assert r.exit_code == 0, r.output
    return ccl



def store_dump(cwd) -> dict:
    """A logical dump of a workspace's store: every row of `blocks`, `receipts`, `contract_state`
    and `kv`, sorted, after a WAL checkpoint — compare two dumps to show a refusal changed nothing."""
    import sqlite3
    from pathlib import Path

    db = sqlite3.connect(Path(cwd) / ".ccl" / "state.db")
    try:
        db.execute("PRAGMA wal_checkpoint(FULL)")
        return {t: sorted(db.execute(f"SELECT * FROM {t}").fetchall())
                for t in ("blocks", "receipts", "contract_state", "kv")}
    finally:
        db.close()


def found_store(store, founder, members=(), coop_seed: bytes = b"\x03" * 32):
    """Found a demo co-op in a bare store: `founder` (an Identity) first, then each DID in
    `members` admitted by them in a signed run. Returns the store."""
    from ccl.identity import Identity
    from ccl.pipeline import build
    from ccl.runtime import session

    session.found(store, coop=Identity.from_seed("the co-op", coop_seed), founder=founder.did, bylaws=[], now=0,
                  demo=True)
    admit = build("fn admit(m: Did) -> Bool { add_member(m) }", "admit.ccl")
    for m in members:
        assert session.run(admit, "admit", [m], store=store, caller=founder.did, signer=founder, now=0).receipt
    return store


def node_and_member(tmp_path, monkeypatch, bylaw_name: str, bylaw: str) -> str:
    """Two folders: `member` with the member ana's key, `node` founded by her DID with `bylaw`
    adopted (to serve with `running_node(tmp_path / "node")`). Leaves the current folder at
    `node`; returns ana's DID."""
    from click.testing import CliRunner

    from ccl.cli.main import cli

    server, member = tmp_path / "node", tmp_path / "member"
    server.mkdir()
    member.mkdir()
    (server / bylaw_name).write_text(bylaw)
    monkeypatch.chdir(member)
    CliRunner().invoke(cli, ["init"])
    ana = CliRunner().invoke(cli, ["id", "new", "ana"]).stdout.strip()
    monkeypatch.chdir(server)
    assert CliRunner().invoke(cli, ["init", "--founder", ana, "--bylaws", bylaw_name]).exit_code == 0
    return ana


def sign_for(client, member, method: str, path: str, body: bytes, time: int, nonce=None) -> dict:
    """Headers that sign a request to the node `client` talks to (an httpx or TestClient): for
    the co-op its /health names."""
    from ccl.identity import sign_request

    coop = client.get("/api/v1/health").json()["coop"]
    return sign_request(member, method, path, body, time, nonce, coop=coop)

