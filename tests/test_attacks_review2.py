"""Adversarial review 2 of issue 14 (commits 1448ef0..82bca24): request format 3, the node's
input, body and rate limits, the upload quota, worker threads, the bounded compiler child,
SQLite group commit and read-only readers, PostgreSQL without a global lock.

Part 1 — FINDS: each test below FAILS today because of the bug its docstring describes.
Part 2 — REFUSED ATTACKS: regression tests; they pass today (the attack is refused) and must
keep passing.
"""

import asyncio
import json
import multiprocessing
import os
import threading
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from ccl.identity import Identity, sign_request
from ccl.node.app import create_app
from ccl.node.limits import Buckets, Limits
from helpers import store_dump
from test_node import ANA, BO, founded
from test_node_inputs import Node

NODE_KEY = Identity.from_seed("node", b"\x09" * 32)
FRESH = [Identity.from_seed(f"fresh{i}", bytes([0x60 + i]) * 32) for i in range(8)]   # keys never admitted


def _nonces(node) -> int:
    with node.ws.store.reader() as tx:
        return len(tx.nonce_rows())


def _signed_headers(coop, member, method, path, body=b"", now=None):
    return {"content-type": "application/json",
            **sign_request(member, method, path, body, now or int(time.time()), coop=coop)}


# =====================================================================================================
# Part 1 — FINDS (these fail today)
# =====================================================================================================

def test_find_fresh_keys_bypass_the_address_limit_and_fill_the_nonce_table(tmp_path):
    """MEDIUM (outsider). The per-address bucket counts only unsigned requests and failed
    signatures; a request whose signature holds is charged to its DID's bucket only — and a DID
    costs nothing. An outsider who makes a fresh did:key per request (or per 120 requests) is never
    rate-limited: every such request is verified, answered (403) on a worker thread and its nonce
    written to the store (a durable write per request, group-committed, by someone the co-op never admitted), so
    "nobody without a key can fill the history, the disk or the node's time" (docs/node.md,
    Limits) does not hold. Here ip_burst=2 and six fresh keys from one address all get through.
    Cause: ccl/node/app.py `signed` charges `per_address` only in `unsigned()`.
    Fix: charge a request from a DID that is not a member (checked once the signature holds) to
    its address's bucket as well — members keep their own bucket, so they are never locked out by
    an outsider on the same address."""
    node = Node(tmp_path, limits=Limits(ip_burst=2, ip_per_minute=0))
    before = _nonces(node)
    codes = [node.call(k, "GET", "/api/v1/dag/head").status_code for k in FRESH[:6]]
    assert 429 in codes, codes                     # today: [403, 403, 403, 403, 403, 403]
    assert _nonces(node) <= before + 2             # today: six nonces of strangers kept
    node.client.close()


LOAN = "fn ask(purpose: String) -> String { request_loan(caller(), 500, purpose, 30) }"


@pytest.mark.parametrize("via", ["the shipped bylaw module", "an uploaded contract"])
def test_find_a_member_stores_inputs_past_their_limit_through_a_contract_call(tmp_path, via):
    """MEDIUM (plain member). Input lengths (Input.max, L0509) are checked only in
    ccl.api.actions.check_inputs, i.e. on the operations' own routes; the host functions take any
    length. A member reaches the same host functions through `POST /api/v1/contracts/{cid}/call`
    — with the CID of std/operations.ccl (it is in every store: runs store their module), or with
    a three-line contract of their own — and stores a loan purpose of 15,000 characters where the
    limit is 2,000 (a contract could build a 1,000,000-code-point string, the language's ceiling,
    with no body at all). The private input also bypasses `seal`: the text lands in the history in
    plain (the member's own text, but the route's promise of a commitment is gone).
    Cause: limits at the edge only (ccl/api/actions.py) — not in ccl.ledger's host functions.
    Fix: enforce each operation input's limit where the host function takes it (ccl.ledger, from
    the same Input.limit), so every caller — route, contract, CLI — meets it."""
    from ccl.api import actions

    node = Node(tmp_path)
    if via == "an uploaded contract":
        r = node.call(BO, "POST", "/api/v1/contracts", {"source": LOAN, "name": "ask.ccl"})
        assert r.status_code == 200, r.text
        cid, call = r.json()["cid"], {"function": "ask", "args": ["p" * 15_000]}
    else:
        cid = actions.operations_module().cid
        call = {"function": "loan_request", "args": [500, "p" * 15_000, 30]}
    before = node.dump()
    r = node.call(BO, "POST", f"/api/v1/contracts/{cid}/call", call)
    assert r.status_code == 422 and r.json()["code"] == "L0509", r.text      # today: 200, loan-1
    assert node.dump()[0]["blocks"] == before[0]["blocks"]
    node.client.close()


def test_find_the_upload_quota_is_checked_only_after_the_compile(tmp_path, monkeypatch):
    """LOW-MEDIUM (plain member). A member past the day's upload quota still gets every new
    upload compiled — a child process with up to 10 s and 512 MiB each — before L0511 refuses
    it: the quota bounds the uploads table, not the node's work (the rate limit allows 120 at once,
    1,800 a minute). Cause: ccl/node/app.py `upload` counts `uploads_since` after
    `compiler.compile_contract`. Fix: refuse before compiling when the member is at the quota
    (a second upload of a CID already recorded could be recognised by a digest of its source kept
    in the uploads row, so it still passes)."""
    from ccl.node import compiler

    compiled = []
    real = compiler.compile_contract

    def counting(source, name, *a, **kw):
        compiled.append(source)
        return real(source, name, *a, **kw)
    monkeypatch.setattr(compiler, "compile_contract", counting)
    node = Node(tmp_path, limits=Limits(uploads_per_day=1))
    assert node.call(ANA, "POST", "/api/v1/contracts", {"source": "fn a() -> Integer { 1 }"}).status_code == 200
    for i in range(3):
        r = node.call(ANA, "POST", "/api/v1/contracts", {"source": f"fn b() -> Integer {{ {i + 2} }}"})
        assert r.status_code == 429 and r.json()["code"] == "L0511", r.text
    assert len(compiled) == 1, f"{len(compiled)} compiles for one accepted upload"      # today: 4
    node.client.close()


class _FakeChild:
    """Stands in for the compiler's child process (ccl.node.compiler's context): it records how
    many compiles run at once, takes a while, then answers as the child would."""
    live = 0
    most = 0
    mu = threading.Lock()

    def __init__(self, target=None, args=(), daemon=None):
        from multiprocessing.connection import Connection

        # the parent closes its end of the pipe once the child started: keep a copy, as a fork would
        self.conn = Connection(os.dup(args[0].fileno()), readable=False)
        self.source, self.name = args[1], args[2]
        self.thread = threading.Thread(target=self._run)

    def _run(self):
        from ccl.pipeline import build

        with _FakeChild.mu:
            _FakeChild.live += 1
            _FakeChild.most = max(_FakeChild.most, _FakeChild.live)
        time.sleep(0.4)
        with _FakeChild.mu:
            _FakeChild.live -= 1
        self.conn.send(("ok", build(self.source, self.name)))
        self.conn.close()

    def start(self):
        self.thread.start()

    def is_alive(self):
        return self.thread.is_alive()

    def kill(self):
        pass

    def join(self):
        self.thread.join()


class _FakeContext:
    Process = _FakeChild

    @staticmethod
    def Pipe(duplex=False):
        return multiprocessing.Pipe(duplex=False)


def test_find_compiles_run_unbounded_in_number(tmp_path, monkeypatch):
    """MEDIUM (plain member, or a few). Each upload forks its own compiler child allowed 512 MiB
    of address space and 10 s, and nothing bounds how many run at once: one member's burst (120)
    fills starlette's 40 worker threads with 40 children — up to 20 GiB and 40 processes on a
    2-core node — while every other request waits for a worker thread. "No upload can hold the
    node (its memory)" (ccl/node/compiler.py) holds for one upload, not for forty.
    Here 8 concurrent uploads run 8 compiles at once.
    Cause: ccl/node/compiler.py `compile_contract` starts a child per call, unbounded.
    Fix: a semaphore around the child (os.cpu_count() at most; a waiting upload counts against
    its deadline, or is refused 503/429 when the queue is full), and perhaps a per-member limit
    of one compile at a time."""
    from ccl.node import compiler

    monkeypatch.setattr(compiler, "_ctx", lambda: _FakeContext)
    _FakeChild.live = _FakeChild.most = 0
    ws = founded(tmp_path)
    members = FRESH[:8]

    async def go():
        app = create_app(ws, NODE_KEY)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://node") as client:
            coop = (await client.get("/api/v1/health")).json()["coop"]
            for m in members:
                body = json.dumps({"member": m.did}).encode()
                r = await client.post("/api/v1/members", content=body,
                                      headers=_signed_headers(coop, ANA, "POST", "/api/v1/members", body))
                assert r.status_code == 200, r.text

            async def upload(i, m):
                body = json.dumps({"source": f"fn f{i}() -> Integer {{ {i} }}"}).encode()
                return await client.post("/api/v1/contracts", content=body,
                                         headers=_signed_headers(coop, m, "POST", "/api/v1/contracts", body))
            return await asyncio.gather(*(upload(i, m) for i, m in enumerate(members)))
    answers = asyncio.run(go())
    assert all(r.status_code == 200 for r in answers), [r.text for r in answers]
    assert _FakeChild.most <= max(1, os.cpu_count() or 1), f"{_FakeChild.most} compiles at once"
    ws.store.close()


def test_find_listing_uploads_reads_the_store_on_the_event_loop(tmp_path, monkeypatch):
    """LOW (plain member). `GET /api/v1/contracts` is an `async def` that calls `members_only`
    (a store read) and `store.reader()` directly — on the event loop, against the module's
    promise that nothing blocks it ("every store call, run and read is done on a worker
    thread"). A slow store (PostgreSQL under load, a large uploads table) stalls every request of
    the node meanwhile. Cause: ccl/node/app.py `contract_uploads` (the only handler that does not
    hand its work to run_in_threadpool). Fix: move its body into a plain function and
    `return await run_in_threadpool(list_uploads, evidence)`, as the other routes do."""
    ws = founded(tmp_path)
    on_loop = []
    real = ws.store.reader

    def reader():
        on_loop.append(threading.current_thread() is threading.main_thread())
        return real()

    async def go():
        app = create_app(ws, NODE_KEY)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://node") as client:
            coop = (await client.get("/api/v1/health")).json()["coop"]
            on_loop.clear()
            monkeypatch.setattr(ws.store, "reader", reader)
            r = await client.get("/api/v1/contracts",
                                 headers=_signed_headers(coop, ANA, "GET", "/api/v1/contracts"))
            assert r.status_code == 200, r.text
    asyncio.run(go())                           # the event loop runs on the main thread here
    assert on_loop and not any(on_loop), f"{sum(on_loop)} of {len(on_loop)} reads on the event loop"
    ws.store.close()


# =====================================================================================================
# Part 2 — REFUSED ATTACKS (these pass today and must keep passing)
# =====================================================================================================

def test_refused_a_chunked_body_past_the_route_limit_without_content_length(tmp_path):
    """A hostile client streams a body with no Content-Length (chunked): refused 413 L0500 once it
    passes the route's limit, for a signed route, an operations route with a body model and the
    upload route; nothing stored."""
    node = Node(tmp_path, limits=Limits(body_bytes=1024, upload_body_bytes=2048))
    before = node.dump()

    def chunks(n):
        def gen():
            for _ in range(n // 512):
                yield b" " * 512
        return gen()
    for path, n in (("/api/v1/credit/transfer", 4096), ("/api/v1/dag/head", 4096), ("/api/v1/contracts", 8192),
                    (f"/api/v1/contracts/{'b' * 10}/call", 4096)):
        method = "GET" if path.endswith("head") else "POST"
        r = node.client.request(method, path, content=chunks(n), headers={"content-type": "application/json"})
        assert r.status_code == 413 and r.json()["code"] == "L0500", (path, r.status_code, r.text)
        assert "content-length" not in {k.lower() for k in r.request.headers}
    for declared in ("+5", "-1", "1e3", " 12", "0x10"):
        r = node.client.post("/api/v1/credit/transfer", content=b"{}",
                             headers={"content-type": "application/json", "content-length": declared})
        assert r.status_code in (400, 413), (declared, r.status_code, r.text)
    assert node.dump() == before
    node.client.close()


def test_refused_a_members_bucket_is_not_spent_by_forged_requests_in_their_name(tmp_path):
    """Forged requests naming a member's DID (bad signatures, from the attacker's address) are
    charged to the address, never to the member: the member keeps their whole burst."""
    node = Node(tmp_path, limits=Limits(member_burst=3, member_per_minute=0, ip_burst=1000))
    for _ in range(10):
        h = {"x-ccl-did": BO.did, "x-ccl-coop": node.coop, "x-ccl-time": str(node.now), "x-ccl-nonce": "n" * 16,
             "x-ccl-salt": "00" * 16, "x-ccl-signature": "AAAA"}
        assert node.client.get("/api/v1/dag/head", headers=h).status_code == 401
    assert [node.call(BO, "GET", "/api/v1/dag/head").status_code for _ in range(3)] == [200, 200, 200]
    assert node.call(BO, "GET", "/api/v1/dag/head").status_code == 429
    node.client.close()


def test_refused_spoofed_forwarded_for_does_not_reset_the_address_bucket(tmp_path):
    """Without a trusted proxy, X-Forwarded-For / X-Real-IP / Forwarded are not the client's
    address: an unsigned flood that rotates them is still one bucket."""
    node = Node(tmp_path, limits=Limits(ip_burst=3, ip_per_minute=0))
    codes = [node.client.get("/api/v1/dag/head", headers={"x-forwarded-for": f"10.0.0.{i}", "x-real-ip": f"10.1.0.{i}",
                                                          "forwarded": f"for=10.2.0.{i}"}).status_code
             for i in range(6)]
    assert codes == [401, 401, 401, 429, 429, 429], codes
    node.client.close()


def test_refused_bucket_tables_stay_bounded():
    """A flood of distinct keys (DIDs, addresses) never grows a bucket table past keys_max."""
    b = Buckets(2, 60, keys_max=1000)
    for i in range(20_000):
        b.take(f"k{i}", 1000)
        assert len(b.level) <= 1000


@pytest.mark.parametrize("source", [
    "fn f() -> Integer { " + "(" * 3000 + "1" + ")" * 3000 + " }",
    "fn f() -> Integer { " + "-" * 20000 + "1 }",
    "fn " + "x" * 60_000 + "() -> Integer { 1 }",
    "fn f() -> Integer { " + "[" * 3000 + "]" * 3000 + "; 1 }",
])
def test_refused_hostile_sources_are_refused_by_the_compiler_child_with_nothing_stored(tmp_path, source):
    """Deeply nested or huge-identifier sources: one problem (4xx) from the child, nothing stored,
    no 500."""
    node = Node(tmp_path)
    before = node.dump()
    r = node.call(BO, "POST", "/api/v1/contracts", {"source": source})
    assert 400 <= r.status_code < 500 or r.status_code == 200, r.text
    assert r.json().get("code") != "X9999"
    if r.status_code != 200:
        assert node.dump() == before
    node.client.close()


@pytest.mark.parametrize("args", ["[" * 3000 + "]" * 3000, json.dumps([{"a": [1] * 10}] * 50),
                                  json.dumps(["x" * 100] * 100), json.dumps([2 ** 70]), json.dumps([None, 1.5])])
def test_refused_hostile_contract_call_args(tmp_path, args):
    """Deep, wide, huge-integer or non-CCL arguments to a contract call: a 4xx problem, never
    500, the store unchanged but for the request's nonce."""
    from ccl.api import actions

    node = Node(tmp_path)
    before = node.dump()[0]
    cid = actions.operations_module().cid
    body = ('{"function":"member_name","args":' + args + '}').encode()
    r = node.call(BO, "POST", f"/api/v1/contracts/{cid}/call", raw=body)
    assert 400 <= r.status_code < 500 and r.json()["code"] != "X9999", r.text
    after = node.dump()[0]
    assert {k: v for k, v in after.items() if k != "nonces"} == {k: v for k, v in before.items() if k != "nonces"}
    node.client.close()


def test_refused_hostile_path_and_query_parameters(tmp_path):
    """A path parameter or query string far past any input's length, or with odd characters:
    refused (4xx), never 500, nothing stored but nonces."""
    node = Node(tmp_path)
    before = node.dump()[0]
    for path in (f"/api/v1/credit/balance/{'z' * 5000}", f"/api/v1/members/{'d' * 5000}/name",
                 f"/api/v1/dag/blocks/{'b' * 5000}", "/api/v1/credit/history/" + ANA.did + "?limit=" + "9" * 400,
                 "/api/v1/credit/history/" + ANA.did + "?limit=-1", f"/api/v1/contracts/{'%00' * 10}/call"):
        method = "POST" if path.endswith(("/name", "/call")) else "GET"
        body = {"name": "x"} if path.endswith("/name") else ({"function": "f", "args": []}
                                                              if path.endswith("/call") else None)
        r = node.call(BO, method, path, body)
        assert r.status_code < 500, (path, r.status_code, r.text)
    after = node.dump()[0]
    assert {k: v for k, v in after.items() if k != "nonces"} == {k: v for k, v in before.items() if k != "nonces"}
    node.client.close()


def test_find_each_retired_worker_thread_leaks_its_read_connection(tmp_path, monkeypatch):
    """MEDIUM (anyone, over time; a hostile client speeds it up). Reads go through a read-only
    SQLite connection per worker thread (`SqliteStore._local`), and each one is also appended to
    `SqliteStore._readers` — forever. anyio retires a worker thread idle for 10 s
    (WorkerThread.MAX_IDLE_TIME) and starts new ones at the next burst, so every quiet spell
    followed by a burst (up to 40 threads) leaks 40 connections, two file descriptors each (the
    database and its WAL), until the node hits its descriptor limit and every request fails. A
    client alternating bursts of 40 cheap requests (even unsigned: /health reads the store) with
    11 s pauses exhausts a 1,024-descriptor node in about five minutes.
    Here idle workers are retired at once (MAX_IDLE_TIME = 0): 120 reads leak ~60 connections.
    Cause: ccl/store/sqlite.py `reader` keeps `self._readers.append(conn)` (a strong list) and
    never closes the connection of a thread that ended.
    Fix: keep read connections in a pool (a queue.LifoQueue of idle connections, taken and given
    back around each read) instead of per thread, or hold them in a weakref-finalized
    thread-local holder that closes its connection when its thread ends."""
    from anyio._backends._asyncio import WorkerThread

    ws = founded(tmp_path)
    monkeypatch.setattr(WorkerThread, "MAX_IDLE_TIME", 0)

    def fds():
        return len(os.listdir("/proc/self/fd"))

    async def go():
        app = create_app(ws, NODE_KEY)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://node") as client:
            assert (await client.get("/api/v1/health")).status_code == 200
            before = fds()
            for _ in range(60):
                await asyncio.gather(*(client.get("/api/v1/health") for _ in range(2)))
                await asyncio.sleep(0.01)
            return before, fds()
    before, after = asyncio.run(go())
    assert after - before < 20, f"{after - before} file descriptors more after 120 reads ({len(ws.store._readers)} " \
                                f"read connections kept)"
    ws.store.close()


def test_find_two_nodes_on_postgres_both_accept_uploads_past_the_quota(pg_server, monkeypatch):
    """LOW (plain member, two nodes on one PostgreSQL database). The upload quota is "counted in
    the store, so it holds across nodes sharing a database" (docs/node.md) — but on PostgreSQL the
    count and the insert run at READ COMMITTED with no lock on the member's uploads: two uploads
    sent at once to two nodes both count the day's uploads before either commits, and both are
    accepted past the quota (N nodes: N at once). The test widens the window between the count
    and the insert with a short sleep to make the race deterministic; it is there without it.
    Cause: ccl/node/app.py `upload` (`uploads_since` then `upload_put`) with no lock in
    ccl/store/postgres.py for the uploads side table. Fix: take an exclusive advisory lock on
    the member's uploads in PostgresTx before counting (e.g. `self._lock(f"uploads\\x1f{did}",
    True)` in an `uploads_since` override) — SQLite's BEGIN IMMEDIATE already serializes it."""
    from types import SimpleNamespace

    from ccl.runtime import session
    from ccl.store.postgres import PostgresStore, PostgresTx

    url = pg_server.new_database()
    a, b = PostgresStore(url), PostgresStore(url)
    session.found(a, coop=Identity.from_seed("co-op", b"\xce" * 32), founder=ANA.did, bylaws=[], now=int(time.time()))
    real = PostgresTx.uploads_since

    def slow_count(self, did, since):
        n = real(self, did, since)
        time.sleep(0.5)
        return n
    monkeypatch.setattr(PostgresTx, "uploads_since", slow_count)
    clients = [TestClient(create_app(SimpleNamespace(store=s), NODE_KEY, limits=Limits(uploads_per_day=1)))
               for s in (a, b)]
    coop = clients[0].get("/api/v1/health").json()["coop"]
    answers: list = [None, None]

    def upload(i):
        body = json.dumps({"source": f"fn f() -> Integer {{ {i + 1} }}"}).encode()
        answers[i] = clients[i].post("/api/v1/contracts", content=body,
                                     headers=_signed_headers(coop, ANA, "POST", "/api/v1/contracts", body))
    threads = [threading.Thread(target=upload, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    codes = sorted(r.status_code for r in answers)
    with a.reader() as tx:
        rows = tx.upload_rows(ANA.did)
    for c in clients:
        c.close()
    a.close()
    b.close()
    assert codes == [200, 429] and len(rows) == 1, (codes, rows)


# ------------------------------------------------------------------ group commit, readers, PostgreSQL

@pytest.fixture
def gstore(tmp_path):
    from ccl.store.sqlite import SqliteStore
    from helpers import found_store
    from test_group_commit import MEMBERS

    s = found_store(SqliteStore(str(tmp_path / "state.db")), MEMBERS[0], [m.did for m in MEMBERS[1:]])
    yield s
    s.close()


def test_refused_a_run_raising_a_base_exception_mid_group_takes_no_other_and_keeps_nothing(gstore, tmp_path):
    """A run that raises KeyboardInterrupt (a BaseException) after writing, in the middle of a
    group: its writes are rolled back to its savepoint, the other runs of the group commit with
    one chain, and the store verifies."""
    from ccl import dag
    from test_group_commit import MEMBERS, grouped, transfer

    def interrupted():
        try:
            with gstore.transaction() as tx:
                tx.kv_put("attack", "k", b"written before the interrupt")
                tx.put_block("bafy-not-a-real-cid", b"x")
                raise KeyboardInterrupt
        except KeyboardInterrupt:
            return "interrupted"
    jobs = [lambda: transfer(gstore, MEMBERS[1], MEMBERS[2], 5), interrupted,
            lambda: transfer(gstore, MEMBERS[3], MEMBERS[4], 7)]
    out, commits = grouped(gstore, jobs)
    assert out[1] == "interrupted" and out[0].receipt and out[2].receipt, out
    with gstore.reader() as tx:
        assert tx.kv_get("attack", "k") is None and tx.get_block("bafy-not-a-real-cid") is None
        assert dag.verify_all(tx) == []
        chain = tx.receipts()
        assert {out[0].receipt, out[2].receipt} == set(chain[-2:])          # in whichever order they ran
        assert dag.get(tx, chain[-1])["payload"]["prev"].cid == chain[-2]


def test_refused_a_read_never_writes_even_through_the_side_tables(gstore):
    """A read's transaction is on a query_only connection: what a read writes to the engine rows
    stays in memory, and a side-table write (a nonce, an upload, a private text) is refused by
    SQLite rather than kept."""
    import sqlite3

    with gstore.reader() as tx:
        tx.kv_put("attack", "k", b"v")
        assert tx.kv_get("attack", "k") == b"v"
        for write in (lambda: tx.use_nonce("did:key:z6Mkx", "n" * 16, 1, 1),
                      lambda: tx.upload_put("did:key:z6Mkx", "bafyx", 1, "n", 1),
                      lambda: tx.private_put("c", "s", "r", "salt", "t")):
            with pytest.raises(sqlite3.DatabaseError):
                write()
    with gstore.reader() as tx:
        assert tx.kv_get("attack", "k") is None
        assert all(r[0] != "did:key:z6Mkx" for r in tx.nonce_rows())
        assert tx.upload_rows("did:key:z6Mkx") == []


def test_refused_one_signed_transfer_sent_to_two_postgres_nodes_at_once_runs_once(pg_server):
    """A hostile client (or a flaky proxy) sends one signed transfer to two nodes on one
    PostgreSQL database at the same moment, several times over: it runs exactly once, the other
    copy is refused as a replay, and the payer is debited once."""
    from types import SimpleNamespace

    from ccl.ledger import EngineState, Ledger
    from ccl.ledger import engines as E
    from ccl.runtime import session
    from ccl.store.postgres import PostgresStore

    url = pg_server.new_database()
    a, b = PostgresStore(url), PostgresStore(url)
    session.found(a, coop=Identity.from_seed("co-op", b"\xcf" * 32), founder=ANA.did, bylaws=[], now=int(time.time()))
    clients = [TestClient(create_app(SimpleNamespace(store=s), NODE_KEY)) for s in (a, b)]
    coop = clients[0].get("/api/v1/health").json()["coop"]
    body = json.dumps({"member": BO.did}).encode()
    assert clients[0].post("/api/v1/members", content=body,
                           headers=_signed_headers(coop, ANA, "POST", "/api/v1/members", body)).status_code == 200
    for round_ in range(4):
        body = json.dumps({"to": BO.did, "amount": 10}).encode()
        headers = _signed_headers(coop, ANA, "POST", "/api/v1/credit/transfer", body)
        answers: list = [None, None]

        def send(i):
            answers[i] = clients[i].post("/api/v1/credit/transfer", content=body, headers=headers)
        threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(r.status_code for r in answers) == [200, 409], [r.text for r in answers]
    with a.reader() as tx:
        assert Ledger(EngineState(tx), 0).balance(E.CREDIT, BO.did) == 40
    for c in clients:
        c.close()
    a.close()
    b.close()


def test_refused_a_savepoint_rolled_back_on_postgres_still_locks_what_it_read(pg_server):
    """PostgresTx.savepoint puts back `_held` (the locks it believes it holds): after a rollback to
    a savepoint, a row locked only inside the savepoint is locked again when read again, so a
    second writer cannot slip in between (PostgreSQL releases a subtransaction's advisory locks
    when it rolls back)."""
    from ccl.store.postgres import PostgresStore

    url = pg_server.new_database()
    a, b = PostgresStore(url), PostgresStore(url)
    got_in = threading.Event()
    inside = threading.Event()
    done = threading.Event()

    def other():
        inside.wait(30)
        with b.transaction() as tx:
            tx.kv_get("ledger:credit", "row")          # waits for the row's lock if it is held
            got_in.set()
            tx.kv_put("ledger:credit", "row", b"other")
        done.set()
    t = threading.Thread(target=other)
    t.start()
    with a.transaction() as tx:
        with pytest.raises(ZeroDivisionError):
            with tx.savepoint():
                tx.kv_get("ledger:credit", "row")
                1 / 0
        tx.kv_get("ledger:credit", "row")               # read again after the rollback: locked again
        inside.set()
        time.sleep(0.5)
        assert not got_in.is_set(), "another writer got the row while this transaction had read it"
        tx.kv_put("ledger:credit", "row", b"mine")
    t.join(30)
    assert done.is_set()
    with a.reader() as tx:
        assert tx.kv_get("ledger:credit", "row") == b"other"
    a.close()
    b.close()


def test_find_without_behind_proxy_a_loopback_node_trusts_any_clients_x_forwarded_for(tmp_path):
    """LOW-MEDIUM (hostile HTTP client on the node's machine, or any client reaching it through a
    plain TCP forward / SSH tunnel / a proxy that appends rather than overwrites the header).
    `ccl serve` without --behind-proxy has no proxy in front, yet uvicorn.run is left at its
    defaults (proxy_headers=True, forwarded_allow_ips=127.0.0.1): every client of a loopback node
    connects from 127.0.0.1, so every client's X-Forwarded-For is taken as its address, and an
    unsigned or forged-signature flood that rotates the header gets a fresh address bucket per
    request — the per-address limit (L0510) never applies. Here ip_burst=2 and 6 unsigned
    requests with 6 made-up addresses all get 401, none 429.
    Cause: ccl/node/command.py `serve` calls uvicorn.run without proxy_headers.
    Fix (one line): `uvicorn.run(app, …, proxy_headers=behind_proxy, …)` — trust the header only
    when the operator said a proxy is in front."""
    import subprocess
    import sys

    from helpers import cli_in, free_port

    assert cli_in(tmp_path, "init", "--founder", ANA.did).exit_code == 0
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "ccl", "serve", "--port", str(port), "--limit", "ip_burst=2",
                             "--limit", "ip_per_minute=0"], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 30
        while True:
            try:
                if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                assert time.time() < deadline, "the node did not start"
                time.sleep(0.1)
        codes = [httpx.get(f"{url}/api/v1/dag/head", headers={"x-forwarded-for": f"203.0.113.{i}"}).status_code
                 for i in range(6)]
        plain = [httpx.get(f"{url}/api/v1/dag/head").status_code for _ in range(3)]
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    assert codes == [401, 401, 429, 429, 429, 429], codes    # was: [401] * 6, a fresh address per header
    assert plain == [429] * 3, plain                          # the same address, header or not


def test_find_a_query_string_on_a_write_is_kept_in_the_history_past_every_limit(tmp_path):
    """MEDIUM (plain member). A write's signed evidence — kept in its receipt, in the history,
    forever — holds the request's path *with its query string* (the signature covers it). No
    write route reads a query string, and nothing bounds it: not the body limit (it is not the
    body), not L0509 (not an input). A member appends `?pad=…` to every transfer and stores what
    they like: here 60,000 characters in one receipt; through uvicorn's default h11 parser up to
    its 16 KiB request head per request (unbounded with httptools), 120 at once, 1,800 a minute.
    Cause: ccl/node/app.py `signed` (path + "?" + query into the evidence) for every route.
    Fix: refuse (U0702/L0509) a query string on a route that declares no query input (every
    write), and bound a read's query string (its inputs' limits) before the signature is
    checked."""
    node = Node(tmp_path)
    before = node.dump()[0]
    r = node.call(ANA, "POST", "/api/v1/credit/issue?pad=" + "p" * 60_000, {"to": BO.did, "amount": 5})
    grown = sum(len(data) for _, data in node.dump()[0]["blocks"]) - sum(len(data) for _, data in before["blocks"])
    assert r.status_code in (400, 414, 422), f"{r.status_code}: the history grew by {grown} bytes"
    node.client.close()


def test_refused_every_route_answers_odd_requests_with_a_problem_and_refusals_store_nothing(tmp_path):
    """Every route of the OpenAPI document, with odd path values and bodies, from a plain member
    and from a stranger: never a 5xx (503 aside), never X9999, always problem+json on refusal;
    and a refused request leaves blocks, receipts, contract state and engine rows unchanged."""
    import re

    node = Node(tmp_path)
    stranger = Identity.from_seed("stranger2", b"\x57" * 32)
    doc = node.client.get("/api/v1/openapi.json").json()
    routes = [(m.upper(), p) for p, ops in doc["paths"].items() for m in ops]
    assert len(routes) > 40
    bodies = [None, {}, {"to": BO.did, "amount": -5, "member": "x"}, {"amount": 2 ** 80, "function": 7}]
    bad = []
    for method, route in routes:
        for fill in (BO.did, "%ff" + "z" * 300):
            path = re.sub(r"\{[^}]+\}", fill, route)
            for who in (BO, stranger):
                for body in (bodies if method != "GET" else [None]):
                    before = store_dump(tmp_path)
                    r = node.call(who, method, path, body)
                    if (r.status_code >= 500 and r.status_code != 503) or \
                            (r.status_code >= 400 and not r.headers["content-type"].startswith("application/problem")):
                        bad.append((method, path[:80], body, r.status_code, r.text[:120]))
                    elif r.status_code >= 400 and store_dump(tmp_path) != before:
                        bad.append((method, path[:80], body, r.status_code, "a refusal changed the store"))
    assert bad == [], bad[:10]
    node.client.close()
