"""Signed transfers/s and balance reads/s, with p50/p99 latency, of co-op nodes on SQLite, with
the load generator on the same machine (loopback only, bounded in time).

Each configuration gets its own founded workspace (20 members) and its own node processes; the
rounds are interleaved — every configuration measured once per round, transfers then reads —
so that a change of the machine's load touches all of them alike, and each figure's ratio is
against the baseline measured in the same run.

- baseline: one node process with one COMMIT per run (CCL_SQLITE_GROUP_MAX=1), or, with
  `--before DIR`, one node running the ccl source tree in DIR (e.g. `git archive` of an older
  commit, unpacked);
- group: one node process, group commit on (the default);
- group xN: N node processes (`--nodes`) on one WAL database, each group-committing, the load
  spread over them.

The load generator is `--loaders` processes, each with its share of `--clients` keep-alive
connections speaking plain HTTP/1.1 (a hand-written client: an HTTP library's own cost per
request would be most of what is measured).

    python bench/node.py [--seconds 5] [--rounds 2] [--clients 64] [--nodes 2] [--loaders 2] [--before DIR]

PostgreSQL (when its binaries are installed; `--no-pg` skips it): a server started for the run
(tests/pg.py), a fresh database per configuration, interleaved with the SQLite rows:

- pg x1: one node process over the database — the PostgreSQL baseline;
- pg x2: two node processes over one database, the load spread over them.

`bench/node_pg.py` measures the same two with where the CPU goes (nodes, PostgreSQL, loader).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from ccl.identity import Identity  # noqa: E402
from ccl.identity import sign_request as sign  # noqa: E402

MEMBERS = [Identity.from_seed(f"m{i}", bytes([i + 1]) * 32) for i in range(20)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def found(work: Path, state=None) -> None:
    """A real (not demo) workspace founded by m0, who admits the other members — its own SQLite
    store, or the PostgreSQL database `state` (a URL)."""
    from ccl.api.workspace import init
    from ccl.pipeline import build
    from ccl.runtime import session
    from ccl.store.postgres import PostgresStore

    ws = init(work)
    store = ws.store if state is None else PostgresStore(state)
    session.found(store, coop=ws.coop_key(), founder=MEMBERS[0].did, bylaws=[], now=int(time.time()))
    admit = build("fn admit(m: Did) -> Bool { add_member(m) }", "admit.ccl")
    for m in MEMBERS[1:]:
        assert session.run(admit, "admit", [m.did], store=store, caller=MEMBERS[0].did, signer=MEMBERS[0],
                           log=lambda m: None).receipt
    store.close()
    if state is not None:
        ws.store.close()


def _unlimited(tree: Path) -> list[str]:
    """Measure the node, not its rate limits: lift them where the tree's `serve` has them (a tree
    from before they existed has no `--limit`)."""
    if "--limit" not in subprocess.run([sys.executable, "-m", "ccl", "serve", "--help"], capture_output=True,
                                       text=True, env={**os.environ, "PYTHONPATH": str(tree)}).stdout:
        return []
    return ["--limit", "member_burst=1000000", "--limit", "member_per_minute=100000000"]


def start(work: Path, port: int, env: dict, tree: Path, state=None) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "ccl", *(["--state", state] if state else []), "serve", "--port", str(port),
           *_unlimited(tree)]
    proc = subprocess.Popen(cmd, cwd=work, env={**os.environ, "PYTHONPATH": str(tree), **env},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the node did not start")


async def _exchange(reader, writer, method: str, path: str, body: bytes, headers: dict) -> tuple[int, bytes]:
    head = f"{method} {path} HTTP/1.1\r\nhost: bench\r\ncontent-length: {len(body)}\r\n" + \
        "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    writer.write(head.encode() + body)
    raw = await reader.readuntil(b"\r\n\r\n")
    lines = raw.decode("latin-1").split("\r\n")
    length = next((int(x.split(":", 1)[1]) for x in lines if x.lower().startswith("content-length:")), 0)
    return int(lines[0].split()[1]), await reader.readexactly(length)


async def _drive(ports, kind, start_at, stop_at, clients, seed):
    latencies, failures = [], [0]
    rng = random.Random(seed)
    reader, writer = await asyncio.open_connection("127.0.0.1", ports[0])
    coop = json.loads((await _exchange(reader, writer, "GET", "/api/v1/health", b"", {}))[1])["coop"]
    writer.close()

    async def client(n):
        reader, writer = await asyncio.open_connection("127.0.0.1", ports[n % len(ports)])
        await asyncio.sleep(max(0.0, start_at - time.time()))
        while time.time() < stop_at:
            a, b = rng.sample(MEMBERS, 2)
            if kind == "read":
                path, body, method = f"/api/v1/credit/balance/{b.did}", b"", "GET"
            else:
                path, method = "/api/v1/credit/transfer", "POST"
                body = json.dumps({"to": b.did, "amount": 1}).encode()
            headers = {"content-type": "application/json", **sign(a, method, path, body, int(time.time()), coop=coop)}
            t = time.perf_counter()
            status, _ = await _exchange(reader, writer, method, path, body, headers)
            latencies.append(time.perf_counter() - t)
            if status != 200:
                failures[0] += 1
        writer.close()
    await asyncio.gather(*(client(n) for n in range(clients)))
    return latencies, failures[0]


def _loader(args):
    return asyncio.run(_drive(*args))


def measure(pool, ports, kind, seconds, clients, loaders):
    start_at = time.time() + 1.0              # every loader connected before the clock starts
    stop_at = start_at + seconds
    share = [clients // loaders + (1 if i < clients % loaders else 0) for i in range(loaders)]
    parts = pool.map(_loader, [(ports, kind, start_at, stop_at, share[i], i) for i in range(loaders)])
    latencies = sorted(x for part, _ in parts for x in part)
    failures = sum(f for _, f in parts)
    n = len(latencies)
    return n / seconds, latencies[n // 2] * 1000, latencies[min(n - 1, int(n * 0.99))] * 1000, failures


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--nodes", type=int, default=2)
    ap.add_argument("--loaders", type=int, default=2)
    ap.add_argument("--before", type=Path, help="a ccl source tree to run the baseline node from")
    ap.add_argument("--no-pg", action="store_true", help="leave PostgreSQL out")
    args = ap.parse_args()
    # (store, label, node processes, environment, source tree); each store's first row is its baseline
    configs = [("SQLite", "baseline" if args.before is None else "before", 1, {"CCL_SQLITE_GROUP_MAX": "1"},
                args.before or ROOT),
               ("SQLite", "group", 1, {}, ROOT), ("SQLite", f"group x{args.nodes}", args.nodes, {}, ROOT)]
    pg = None
    if not args.no_pg:
        from pg import Server, binaries

        if binaries() is not None:
            pg = Server()
            configs += [("PG", "pg x1", 1, {}, ROOT), ("PG", "pg x2", 2, {}, ROOT)]
        else:
            print("PostgreSQL is not installed: its rows are left out")
    print(f"{args.clients} keep-alive clients in {args.loaders} loader processes, {args.seconds:g} s per row, "
          f"{args.rounds} interleaved rounds, {os.cpu_count()} cores shared by nodes and loaders")
    results: dict = {}
    with tempfile.TemporaryDirectory() as tmp, multiprocessing.get_context("fork").Pool(args.loaders) as pool:
        running = []
        ports_of = {}
        try:
            for store, label, nodes, env, tree in configs:
                work = Path(tmp) / f"{store}-{label}".replace(" ", "")
                work.mkdir()
                state = pg.new_database() if pg is not None and store == "PG" else None
                found(work, state)
                ports = [free_port() for _ in range(nodes)]
                running += [start(work, p, env, tree, state) for p in ports]
                ports_of[(store, label)] = ports
            for _ in range(args.rounds):
                for (store, label), ports in ports_of.items():
                    for kind in ("transfer", "read"):
                        results.setdefault((store, label, kind), []).append(
                            measure(pool, ports, kind, args.seconds, args.clients, args.loaders))
        finally:
            for p in running:
                p.terminate()
                p.wait(timeout=15)
            if pg is not None:
                pg.stop()
    print(f"{'store':<7} {'nodes':<10} {'request':<16} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'vs base':>8} "
          f"{'failed':>6}")
    base_label = {store: label for store, label, *_ in reversed(configs)}      # each store's first row
    for (store, label, kind), rows in results.items():
        rps = sum(r[0] for r in rows) / len(rows)
        p50 = sum(r[1] for r in rows) / len(rows)
        p99 = sum(r[2] for r in rows) / len(rows)
        base = results[(store, base_label[store], kind)]
        ratio = rps / (sum(r[0] for r in base) / len(base))
        name = "signed transfer" if kind == "transfer" else "balance read"
        print(f"{store:<7} {label:<10} {name:<16} {rps:7.0f} {p50:7.1f} {p99:7.1f} {ratio:7.2f}x "
              f"{sum(r[3] for r in rows):6d}")


if __name__ == "__main__":
    main()
