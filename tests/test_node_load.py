"""Load and fault test, bounded and on loopback only: two node processes on one store (one
SQLite WAL database; one PostgreSQL database) take 200 concurrent clients doing signed
transfers; once the load runs (most clients have sent, a hundred transfers are acknowledged)
one node is killed with SIGKILL and restarted, and the load goes on for a moment.

The clients share a few keep-alive connections per node (a client of its own for each cost
~95 ms to set up, so most had sent nothing before the kill). Afterwards every acknowledged
transfer — those acknowledged before the kill above all — is in the DAG exactly once, only
runs in flight at the kill may be unacknowledged, mutual credit still sums to zero, and
`ccl dag verify` passes."""

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time

import httpx
import pytest

from ccl.identity import Identity
from ccl.identity import sign_request as sign
from helpers import free_port, start_node

CLIENTS = 200
ACKED_BEFORE_KILL = 100          # the kill waits for this many acknowledged transfers (at most KILL_BY_S)
KILL_BY_S = 20
AFTER_RESTART_S = 2
MEMBERS = [Identity.from_seed(f"m{i}", bytes([i + 1]) * 32) for i in range(20)]


async def _load(ports, coop, stop, killed, log):
    rng = random.Random(5)
    limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
    https = [httpx.AsyncClient(timeout=30, limits=limits) for _ in ports]    # shared by every client

    async def client(n):
        while not stop.is_set():
            payer, payee = rng.sample(MEMBERS, 2)
            port = n % len(ports)
            body = json.dumps({"to": payee.did, "amount": rng.randint(1, 50)}).encode()
            path = "/api/v1/credit/transfer"
            headers = {"content-type": "application/json",
                       **sign(payer, "POST", path, body, int(time.time()), coop=coop)}
            log["sent"].add(n)
            try:
                r = await https[port].post(f"http://127.0.0.1:{ports[port]}{path}", content=body, headers=headers)
            except httpx.HTTPError:
                log["failed"].append(n)                 # not acknowledged: the node was down
                await asyncio.sleep(0.05)
                continue
            if r.status_code == 200:
                log["acked"].append((r.json()["receipt"], killed.is_set()))
            else:
                log["refused"].append(r.json().get("code"))
    try:
        await asyncio.gather(*(client(n) for n in range(CLIENTS)))
    finally:
        for h in https:
            await h.aclose()


def _found(store):
    """The co-op on the shared store: founded by m0, who admits the other members."""
    from ccl.pipeline import build
    from ccl.runtime import session

    session.found(store, coop=Identity.from_seed("co-op", b"\xcc" * 32), founder=MEMBERS[0].did, bylaws=[],
                  now=int(time.time()))
    admit = build("fn admit(m: Did) -> Bool { add_member(m) }", "admit.ccl")
    for m in MEMBERS[1:]:
        assert session.run(admit, "admit", [m.did], store=store, caller=MEMBERS[0].did, signer=MEMBERS[0]).receipt
    store.close()


@pytest.fixture(params=["sqlite", "postgres"])
def shared_store(request, tmp_path):
    """(global args for `ccl`, a function opening the store) for a founded co-op."""
    from click.testing import CliRunner

    from ccl.cli.main import cli

    os.environ.pop("CCL_NO_CACHE", None)
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        CliRunner().invoke(cli, ["init"])
    finally:
        os.chdir(old)
    if request.param == "sqlite":
        from ccl.store.sqlite import SqliteStore

        def open_store():
            return SqliteStore(str(tmp_path / ".ccl" / "state.db"))
        args: tuple = ()
    else:
        from ccl.store.postgres import PostgresStore

        url = request.getfixturevalue("pg_server").new_database()

        def open_store():
            return PostgresStore(url)
        args = ("--state", url)
    _found(open_store())
    return args, open_store


def test_two_nodes_200_clients_with_a_node_killed(tmp_path, shared_store):
    args, open_store = shared_store
    ports = [free_port(), free_port()]
    nodes = [start_node(tmp_path, p, *args) for p in ports]
    coop = httpx.get(f"http://127.0.0.1:{ports[0]}/api/v1/health").json()["coop"]
    log: dict = {"sent": set(), "acked": [], "refused": [], "failed": []}

    async def scenario():
        stop, killed = asyncio.Event(), asyncio.Event()
        load = asyncio.create_task(_load(ports, coop, stop, killed, log))
        deadline = time.monotonic() + KILL_BY_S
        while len(log["acked"]) < ACKED_BEFORE_KILL and time.monotonic() < deadline and not load.done():
            await asyncio.sleep(0.02)
        nodes[0].send_signal(signal.SIGKILL)                 # kill a node mid-load
        killed.set()
        await asyncio.to_thread(nodes[0].wait)
        log["sent before the kill"] = len(log["sent"])
        nodes[0] = await asyncio.to_thread(start_node, tmp_path, ports[0], *args)   # and restart it
        await asyncio.sleep(AFTER_RESTART_S)
        stop.set()
        await load

    try:
        asyncio.run(scenario())
    finally:
        for n in nodes:
            n.send_signal(signal.SIGTERM)
            n.wait(timeout=15)
    from ccl.ledger import EngineState, Ledger
    from ccl.ledger import engines as E

    store = open_store()
    with store.reader() as tx:
        receipts = tx.receipts()
        L = Ledger(EngineState(tx), 0)
        total = sum(L.balance(E.CREDIT, m.did) for m in MEMBERS)
    store.close()
    acked = [cid for cid, _ in log["acked"]]
    before_kill = [cid for cid, after in log["acked"] if not after]
    assert log["sent before the kill"] > CLIENTS // 2, log["sent before the kill"]   # most had sent
    assert len(before_kill) >= ACKED_BEFORE_KILL, (len(before_kill), len(log["refused"]), len(log["failed"]))
    assert len(set(acked)) == len(acked)                                  # each acknowledged once
    assert len(receipts) == len(set(receipts))                            # and in the chain once
    present = set(receipts)
    assert all(cid in present for cid in acked)                          # none lost, before the kill or after
    receipts = receipts[len(MEMBERS):]                                   # after the founding and admissions
    assert len(receipts) - len(acked) <= len(log["failed"])              # only runs in flight may be unacknowledged
    assert total == 0                                                    # mutual credit sums to zero
    r = subprocess.run([sys.executable, "-m", "ccl", *args, "dag", "verify"], cwd=tmp_path,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    print(f"\n{len(acked)} transfers acknowledged ({len(before_kill)} before the kill, by "
          f"{log['sent before the kill']} of {CLIENTS} clients), {len(log['refused'])} refused by the rules, "
          f"{len(log['failed'])} failed while a node was down")
