"""Requests per second and p50/p99 latency of a co-op node, on SQLite and on PostgreSQL:
balance reads and signed transfers, with the load generator and one node on this machine
(loopback only, bounded in time).

    python bench/node.py [--seconds 10] [--clients 32]
"""

from __future__ import annotations

import argparse
import asyncio
import json
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


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(workdir, state, port):
    cmd = [sys.executable, "-m", "ccl", *(["--state", state] if state else []), "serve", "--port", str(port),
           "--limit", "member_burst=1000000", "--limit", "member_per_minute=100000000"]   # measure the node, not its limits
    proc = subprocess.Popen(cmd, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("the node did not start")


async def drive(port, kind, seconds, clients):
    latencies = []
    stop = time.perf_counter() + seconds
    rng = random.Random(1)

    async def client():
        async with httpx.AsyncClient(timeout=30) as http:
            coop = (await http.get(f"http://127.0.0.1:{port}/api/v1/health")).json()["coop"]
            while time.perf_counter() < stop:
                a, b = rng.sample(MEMBERS, 2)
                if kind == "read":
                    path, body, method = f"/api/v1/credit/balance/{b.did}", b"", "GET"
                else:
                    path, method = "/api/v1/credit/transfer", "POST"
                    body = json.dumps({"to": b.did, "amount": 1}).encode()
                headers = {"content-type": "application/json", **sign(a, method, path, body, int(time.time()), coop=coop)}
                t = time.perf_counter()
                r = await http.request(method, f"http://127.0.0.1:{port}{path}", content=body, headers=headers)
                latencies.append(time.perf_counter() - t)
                assert r.status_code == 200, r.text

    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - began
    latencies.sort()
    return len(latencies) / elapsed, latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--clients", type=int, default=32)
    args = ap.parse_args()
    backends = [("SQLite", None)]
    pg = None
    try:
        from pg import Server

        pg = Server()
        backends.append(("PostgreSQL", pg.new_database()))
    except Exception as e:      # no PostgreSQL here: report SQLite only
        print(f"(PostgreSQL not measured: {e})")
    print(f"{args.clients} concurrent clients, {args.seconds:g} s per row, one node, all on this machine")
    print(f"{'store':<11} {'request':<18} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    try:
        for name, state in backends:
            with tempfile.TemporaryDirectory() as work:
                subprocess.run([sys.executable, "-m", "ccl", "init", work], check=True, capture_output=True)
                port = free_port()
                node = start(work, state, port)
                try:
                    for kind, label in (("transfer", "signed transfer"), ("read", "balance read")):
                        rps, p50, p99 = asyncio.run(drive(port, kind, args.seconds, args.clients))
                        print(f"{name:<11} {label:<18} {rps:8.0f} {p50 * 1000:8.1f} {p99 * 1000:8.1f}")
                finally:
                    node.terminate()
                    node.wait(timeout=15)
    finally:
        if pg is not None:
            pg.stop()


if __name__ == "__main__":
    main()
