"""The node never blocks: while a contract compiles or the history is verified, other requests
(/health, a member's signed read) are answered. Contract uploads compile in a child process,
with a deadline (L0520) and a memory limit (L0521), refused as one problem with nothing changed.

The requests run on one event loop (httpx's ASGITransport, in process); the slow work waits on
an event the test sets only after the other requests were answered — had the slow work run on
the event loop, they could not have been."""

import asyncio
import json
import threading
import time

import httpx
import pytest

from ccl.identity import Identity
from ccl.identity import sign_request
from ccl.node.app import create_app
from helpers import store_dump
from test_node import ANA, BO, founded

NODE = Identity.from_seed("node", b"\x09" * 32)
SOURCE = "fn twice(n: Integer) -> Integer { n * 2 }"


@pytest.fixture
def ws(tmp_path):
    w = founded(tmp_path)
    yield w
    w.store.close()


def signed(coop, member, method, path, body=b""):
    return {"content-type": "application/json", **sign_request(member, method, path, body, int(time.time()),
                                                                coop=coop)}


async def _while_slow(app, slow_request, journal, release):
    """Send `slow_request`; once the slow work started, /health and a signed read; then let the
    slow work finish. Returns the slow request's response."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://node") as client:
        coop = (await client.get("/api/v1/health")).json()["coop"]
        slow = asyncio.create_task(slow_request(client, coop))
        for _ in range(2000):                   # (at most 20 s: the slow work may never start)
            if "started" in journal:
                break
            await asyncio.sleep(0.01)
        health = await client.get("/api/v1/health")
        journal.append(f"health {health.status_code}")
        path = f"/api/v1/credit/balance/{ANA.did}"
        read = await client.get(path, headers=signed(coop, ANA, "GET", path))
        journal.append(f"read {read.status_code}")
        release.set()
        return await slow


def _slow(journal, release, then):
    """A stand-in for slow work: it waits (at most 20 s) for the test to release it."""
    def work(*args, **kw):
        journal.append("started")
        journal.append("released" if release.wait(20) else "never released")
        return then(*args, **kw)
    return work


def test_health_and_a_read_are_answered_while_a_contract_compiles(ws, monkeypatch):
    from ccl.node import compiler

    journal: list = []
    release = threading.Event()
    monkeypatch.setattr(compiler, "compile_contract", _slow(journal, release, compiler.compile_contract))

    async def upload(client, coop):
        body = json.dumps({"source": SOURCE}).encode()
        return await client.post("/api/v1/contracts", content=body,
                                 headers=signed(coop, ANA, "POST", "/api/v1/contracts", body))
    r = asyncio.run(_while_slow(create_app(ws, NODE), upload, journal, release))
    assert r.status_code == 200, r.text
    assert journal == ["started", "health 200", "read 200", "released"]


def test_health_and_a_read_are_answered_while_the_history_is_verified(ws, monkeypatch):
    from ccl import dag

    journal: list = []
    release = threading.Event()
    monkeypatch.setattr(dag, "verify_all", _slow(journal, release, dag.verify_all))

    async def verify(client, coop):
        return await client.get("/api/v1/dag/verify", headers=signed(coop, ANA, "GET", "/api/v1/dag/verify"))
    r = asyncio.run(_while_slow(create_app(ws, NODE), verify, journal, release))
    assert r.status_code == 200 and r.json() == {"ok": True}, r.text
    assert journal == ["started", "health 200", "read 200", "released"]


def _upload(ws, source):
    from fastapi.testclient import TestClient

    with TestClient(create_app(ws, NODE)) as client:
        coop = client.get("/api/v1/health").json()["coop"]
        body = json.dumps({"source": source}).encode()
        return client.post("/api/v1/contracts", content=body,
                           headers=signed(coop, ANA, "POST", "/api/v1/contracts", body))


def test_a_compile_past_its_deadline_is_refused(ws, tmp_path, monkeypatch):
    from ccl.node import compiler

    before = store_dump(tmp_path)
    monkeypatch.setattr(compiler, "DEADLINE_S", 0.0)       # no compile is done before a deadline of 0 s
    r = _upload(ws, SOURCE)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "L0520" and "longer than 0 s" in r.json()["detail"]
    assert store_dump(tmp_path) == before


def test_a_compile_past_its_memory_limit_is_refused(ws, tmp_path, monkeypatch):
    from ccl.node import compiler

    before = store_dump(tmp_path)
    monkeypatch.setattr(compiler, "MEMORY_BYTES", 0)        # not one more page than the child starts with
    # 48 KB (the limit for a source is 64 KiB): its compile needs many MiB, more than any free memory
    # the child may have been forked with
    source = "\n".join(f"fn f{i}(n: Integer) -> Integer {{ n * {i} + {i} }}" for i in range(1000))
    r = _upload(ws, source)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "L0521" and "MiB" in r.json()["detail"]
    assert store_dump(tmp_path) == before


def test_a_compile_error_from_the_child_is_the_compilers_own(ws):
    r = _upload(ws, "fn broken( -> Integer { 1 }")
    assert r.status_code == 422 and r.json()["code"] == "E0100"


def test_a_compiled_upload_runs(ws):
    from fastapi.testclient import TestClient

    with TestClient(create_app(ws, NODE)) as client:
        coop = client.get("/api/v1/health").json()["coop"]
        body = json.dumps({"source": SOURCE}).encode()
        cid = client.post("/api/v1/contracts", content=body,
                          headers=signed(coop, ANA, "POST", "/api/v1/contracts", body)).json()["cid"]
        path = f"/api/v1/contracts/{cid}/call"
        body = json.dumps({"function": "twice", "args": [21]}).encode()
        r = client.post(path, content=body, headers=signed(coop, ANA, "POST", path, body))
    assert r.status_code == 200 and r.json()["result"] == 42


def test_concurrent_signed_transfers_through_the_node_all_commit_in_one_chain(ws):
    """Twenty transfers sent at once on one event loop: each answered with its own receipt,
    all in one chain that verifies and replays."""
    from ccl import dag
    from ccl.runtime import session

    app = create_app(ws, NODE)

    async def go():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://node") as client:
            coop = (await client.get("/api/v1/health")).json()["coop"]
            body = json.dumps({"member": BO.did}).encode()
            assert (await client.post("/api/v1/members", content=body,
                                      headers=signed(coop, ANA, "POST", "/api/v1/members", body))).status_code == 200

            async def pay(i):
                payer, payee = (ANA, BO) if i % 2 else (BO, ANA)
                body = json.dumps({"to": payee.did, "amount": i + 1}).encode()
                return await client.post("/api/v1/credit/transfer", content=body,
                                         headers=signed(coop, payer, "POST", "/api/v1/credit/transfer", body))
            return await asyncio.gather(*(pay(i) for i in range(20)))
    answers = asyncio.run(go())
    assert [a.status_code for a in answers] == [200] * 20, [a.text for a in answers if a.status_code != 200]
    receipts = {a.json()["receipt"] for a in answers}
    assert len(receipts) == 20
    with ws.store.reader() as tx:
        assert receipts <= set(tx.receipts())
        assert dag.verify_all(tx) == []
    assert all(step.ok for step in session.replay(ws.store, live=True))
