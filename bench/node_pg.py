"""Signed transfers per second through one and through two node processes sharing one PostgreSQL
database (issue 14: runs take no cluster-wide lock), with p50/p99 latency and where the CPU
went — the nodes, the PostgreSQL server's processes, this load generator — so that the ceiling
of the machine shows beside the figures. Loopback only, bounded in time, a fresh database per
row. `bench/node.py` can call `compare(...)`.

    python bench/node_pg.py [--seconds 15] [--clients 32]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent.parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))

from ccl.identity import Identity  # noqa: E402
from ccl.identity import sign_request as sign  # noqa: E402

MEMBERS = [Identity.from_seed(f"m{i}", bytes([i + 1]) * 32) for i in range(20)]
TICK = os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _found(url: str) -> None:
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


def _start(workdir: str, url: str, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "ccl", "--state", url, "serve", "--port", str(port)], cwd=workdir,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the node did not start")


def _cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process so far, 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except (OSError, IndexError, ValueError):
        return 0.0


def _postgres_cpu(data_dir: str) -> float:
    """CPU seconds of the PostgreSQL server: its postmaster and every child (backends, WAL writer…)."""
    master = int(Path(data_dir, "postmaster.pid").read_text().split()[0])
    total = _cpu(master)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == master:
                total += _cpu(int(entry))
    return total


async def _drive(ports: list[int], seconds: float, clients: int) -> tuple[list[float], int]:
    latencies: list[float] = []
    refused = 0
    stop = time.perf_counter() + seconds
    async with httpx.AsyncClient(timeout=30) as http:
        coop = (await http.get(f"http://127.0.0.1:{ports[0]}/api/v1/health")).json()["coop"]

    async def client(n: int):
        nonlocal refused
        rng = random.Random(n)
        port = ports[n % len(ports)]
        async with httpx.AsyncClient(timeout=30) as http:
            while time.perf_counter() < stop:
                payer, payee = rng.sample(MEMBERS, 2)
                path = "/api/v1/credit/transfer"
                body = json.dumps({"to": payee.did, "amount": 1}).encode()
                headers = {"content-type": "application/json",
                           **sign(payer, "POST", path, body, int(time.time()), coop=coop)}
                t = time.perf_counter()
                r = await http.post(f"http://127.0.0.1:{port}{path}", content=body, headers=headers)
                if r.status_code == 200:
                    latencies.append(time.perf_counter() - t)
                else:
                    refused += 1

    await asyncio.gather(*(client(n) for n in range(clients)))
    return latencies, refused


def measure(pg, nodes: int, seconds: float, clients: int) -> dict:
    url = pg.new_database()
    _found(url)
    with tempfile.TemporaryDirectory() as work:
        subprocess.run([sys.executable, "-m", "ccl", "init", work], check=True, capture_output=True)
        ports = [_free_port() for _ in range(nodes)]
        procs = [_start(work, url, p) for p in ports]
        try:
            cpu0 = [_cpu(p.pid) for p in procs], _postgres_cpu(pg.data), os.times()
            began = time.perf_counter()
            latencies, refused = asyncio.run(_drive(ports, seconds, clients))
            elapsed = time.perf_counter() - began
            node_cpu = sum(_cpu(p.pid) for p in procs) - sum(cpu0[0])
            pg_cpu = _postgres_cpu(pg.data) - cpu0[1]
            t = os.times()
            gen_cpu = (t.user + t.system) - (cpu0[2].user + cpu0[2].system)
        finally:
            for p in procs:
                p.terminate()
                p.wait(timeout=15)
    latencies.sort()
    n = len(latencies)
    return {"nodes": nodes, "rps": n / elapsed, "ok": n, "refused": refused,
            "p50": latencies[n // 2] if n else 0, "p99": latencies[int(n * 0.99)] if n else 0,
            "cpu_ms": {k: 1000 * v / max(n, 1) for k, v in
                       (("nodes", node_cpu), ("postgres", pg_cpu), ("load", gen_cpu))},
            "busy_cores": (node_cpu + pg_cpu + gen_cpu) / elapsed}


def compare(seconds: float = 15, clients: int = 32) -> list[dict]:
    """One node, then two, on a fresh database each; prints a table and returns the rows."""
    from pg import Server

    pg = Server()
    try:
        rows = [measure(pg, n, seconds, clients) for n in (1, 2)]
    finally:
        pg.stop()
    print(f"signed transfers, {clients} clients, {seconds:g} s per row, PostgreSQL and the load generator on "
          f"this machine ({os.cpu_count()} cores)")
    print(f"{'nodes':>5} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'refused':>7}  CPU ms per transfer: "
          f"{'nodes':>6} {'pg':>6} {'load':>6}  busy cores")
    for r in rows:
        c = r["cpu_ms"]
        print(f"{r['nodes']:>5} {r['rps']:7.0f} {r['p50'] * 1000:7.1f} {r['p99'] * 1000:7.1f} {r['refused']:>7}  "
              f"{'':>20} {c['nodes']:6.2f} {c['postgres']:6.2f} {c['load']:6.2f}  {r['busy_cores']:.2f}")
    one, both = rows
    total = sum(one["cpu_ms"].values())
    print(f"two nodes / one: {both['rps'] / one['rps']:.2f}x; this machine's CPU ceiling at one node's cost per "
          f"transfer: {1000 * (os.cpu_count() or 1) / total:.0f} req/s")
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--clients", type=int, default=32)
    args = ap.parse_args()
    compare(args.seconds, args.clients)


if __name__ == "__main__":
    main()
