"""Load and fault test, bounded and on loopback only: two node processes on one PostgreSQL
database take 200 concurrent clients doing signed transfers for 30 seconds; one node is killed
with SIGKILL midway and restarted. Afterwards every acknowledged transfer is in the DAG exactly
once, mutual credit still sums to zero, and `ccl dag verify` passes."""

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time

import httpx

from ccl.identity import Identity
from ccl.identity import sign_request as sign
from helpers import free_port, start_node

CLIENTS = 200
SECONDS = 30
MEMBERS = [Identity.from_seed(f"m{i}", bytes([i + 1]) * 32) for i in range(20)]


def _start(workdir, url, port):
    return start_node(workdir, port, "--state", url)


async def _load(ports, stop_at, acknowledged, refused, failed):
    rng = random.Random(5)
    async with httpx.AsyncClient(timeout=10) as http:           # the co-op every request names
        coop = (await http.get(f"http://127.0.0.1:{ports[0]}/api/v1/health")).json()["coop"]

    async def client(n):
        async with httpx.AsyncClient(timeout=10) as http:
            while time.time() < stop_at:
                payer, payee = rng.sample(MEMBERS, 2)
                port = ports[n % len(ports)]
                body = json.dumps({"to": payee.did, "amount": rng.randint(1, 50)}).encode()
                path = "/api/v1/credit/transfer"
                headers = {"content-type": "application/json",
                           **sign(payer, "POST", path, body, int(time.time()), coop=coop)}
                try:
                    r = await http.post(f"http://127.0.0.1:{port}{path}", content=body, headers=headers)
                except httpx.HTTPError:
                    failed.append(1)                         # not acknowledged: the node was down
                    await asyncio.sleep(0.05)
                    continue
                if r.status_code == 200:
                    acknowledged.append(r.json()["receipt"])
                else:
                    refused.append(r.json().get("code"))

    await asyncio.gather(*(client(n) for n in range(CLIENTS)))


def _found(url):
    """The co-op on the shared database: founded by m0, who admits the other members."""
    from ccl.pipeline import build
    from ccl.runtime import session
    from ccl.store.postgres import PostgresStore

    store = PostgresStore(url)
    session.found(store, coop=Identity.from_seed("co-op", b"\xcc" * 32), founder=MEMBERS[0].did, bylaws=[],
                  now=int(time.time()))
    admit = build("fn admit(m: Did) -> Bool { add_member(m) }", "admit.ccl")
    for m in MEMBERS[1:]:
        assert session.run(admit, "admit", [m.did], store=store, caller=MEMBERS[0].did, signer=MEMBERS[0]).receipt
    store.close()


def test_two_nodes_200_clients_with_a_node_killed(tmp_path, pg_server):
    from click.testing import CliRunner

    from ccl.cli.main import cli

    os.environ.pop("CCL_NO_CACHE", None)
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        CliRunner().invoke(cli, ["init"])
    finally:
        os.chdir(old)
    url = pg_server.new_database()
    _found(url)
    ports = [free_port(), free_port()]
    nodes = [_start(tmp_path, url, p) for p in ports]
    acknowledged, refused, failed = [], [], []
    stop_at = time.time() + SECONDS

    async def scenario():
        load = asyncio.create_task(_load(ports, stop_at, acknowledged, refused, failed))
        await asyncio.sleep(SECONDS / 3)
        nodes[0].send_signal(signal.SIGKILL)                 # kill a node mid-load
        nodes[0].wait()
        await asyncio.sleep(2)
        nodes[0] = await asyncio.to_thread(_start, tmp_path, url, ports[0])   # and restart it
        await load

    try:
        asyncio.run(scenario())
    finally:
        for n in nodes:
            n.send_signal(signal.SIGTERM)
            n.wait(timeout=15)
    from ccl.ledger import EngineState, Ledger
    from ccl.ledger import engines as E
    from ccl.store.postgres import PostgresStore

    store = PostgresStore(url)
    with store.reader() as tx:
        receipts = tx.receipts()
        L = Ledger(EngineState(tx), 0)
        total = sum(L.balance(E.CREDIT, m.did) for m in MEMBERS)
    store.close()
    assert len(acknowledged) > 100, (len(acknowledged), len(refused), len(failed))     # the load really ran
    assert len(set(acknowledged)) == len(acknowledged)                    # exactly once
    present = set(receipts)
    assert all(cid in present for cid in acknowledged)                   # none lost
    receipts = receipts[len(MEMBERS):]                                   # after the founding and admissions
    assert len(receipts) - len(acknowledged) <= len(failed) + 2          # only in-flight runs may be unacknowledged
    assert total == 0                                                    # mutual credit sums to zero
    r = subprocess.run([sys.executable, "-m", "ccl", "--state", url, "dag", "verify"], cwd=tmp_path,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    print(f"\n{len(acknowledged)} transfers acknowledged, {len(refused)} refused by the rules, "
          f"{len(failed)} failed while a node was down")
