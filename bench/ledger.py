"""Ledger throughput: transfers per second through CCL (VM + engine + SQLite + signed receipt
per run) and through the engine alone, with the share of time in each layer (from cProfile's
own time per function, grouped by package); then a transfer's cost in a co-op of 10, 1k, 10k
and 100k accounts, as ratios against the 10-account co-op measured in the same run (the accounts
are made through the engine in one transaction; the sizes are measured in interleaved rounds).

    python bench/ledger.py [--transfers N] [--rounds R]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent))

from ccl import governance as G  # noqa: E402
from ccl.identity import Identity  # noqa: E402
from ccl.ledger import EngineState, Ledger  # noqa: E402
from ccl.ledger import engines as E  # noqa: E402
from ccl.pipeline import build  # noqa: E402
from ccl.runtime import session  # noqa: E402
from ccl.store.sqlite import SqliteStore  # noqa: E402

BYLAW = "fn pay(to: Did, amount: Integer) -> Bool { transfer_credit(caller(), to, amount) }"
LAYERS = [("vm (translated code, builtins)", ("ccl/vm/", "<ccl ")), ("ledger engine", ("ccl/ledger/",)),
          ("store (SQLite)", ("ccl/store/", "sqlite3", "{method 'execute'", "{method 'fetchone'")),
          ("receipts (CBOR, hashing, Ed25519)", ("ccl/dag/", "ccl/canon", "ccl/identity/", "cbor2",
                                                  "cryptography", "hashlib", "_sha256", "{method 'sign'")),
          ("session and values", ("ccl/runtime/", "ccl/vm/values"))]


def members(n):
    return [Identity.from_seed(f"m{i}", bytes([i + 1]) * 32) for i in range(n)]


SIZES = (10, 1_000, 10_000, 100_000)
T0 = 1_700_000_000


def coop(path: str, accounts: int):
    """A demo co-op of the 10 members, with `accounts` CREDIT accounts in all (each made by
    setting its credit limit), built in one transaction."""
    store = SqliteStore(path)
    people = members(10)
    founding = Identity.from_seed("bench co-op", b"bench co-op".ljust(32, b"."))
    session.found(store, coop=founding, founder=people[0].did, bylaws=[], now=T0, demo=True)
    with store.transaction() as tx:
        L = Ledger(EngineState(tx), T0)
        for p in people[1:]:
            G.add_member(L, people[0].did, p.did)
        for i in range(accounts - len(people)):
            E.set_credit_limit(L, people[0].did, f"did:key:zbench{i}", -100, 1_000_000)
        L.check_invariants()
    return store


def through_ccl(n: int, folder: str, store=None, start: int = 0):
    store = store or coop(f"{folder}/ccl.db", 10)
    verified = build(BYLAW, "pay.ccl")
    people = members(10)
    t = time.perf_counter()
    for i in range(start, start + n):
        payer, payee = people[i % 10], people[(i * 3 + 1) % 10]
        if payer is payee:
            payee = people[(i + 1) % 10]
        r = session.run(verified, "pay", [payee.did, 1 + i % 7], store=store, caller=payer.did, signer=payer,
                        now=T0 + 1 + i, log=lambda m: None)
        assert r.run.ok and r.receipt, r.run.error or r.error
    return time.perf_counter() - t


def by_size(folder: str, transfers: int, rounds: int) -> dict[int, float]:
    """Seconds per transfer through CCL at each of SIZES (the median of `rounds` interleaved rounds)."""
    stores = {n: coop(f"{folder}/size{n}.db", n) for n in SIZES}
    times: dict[int, list[float]] = {n: [] for n in SIZES}
    for r in range(rounds):
        for n in SIZES:
            times[n].append(through_ccl(transfers, folder, stores[n], r * transfers) / transfers)
    for store in stores.values():
        store.close()
    return {n: sorted(ts)[len(ts) // 2] for n, ts in times.items()}


def engine_only(n: int, folder: str):
    store = SqliteStore(f"{folder}/engine.db")
    people = [p.did for p in members(10)]
    t = time.perf_counter()
    for i in range(n):
        payer, payee = people[i % 10], people[(i * 3 + 1) % 10]
        if payer == payee:
            payee = people[(i + 1) % 10]
        with store.transaction() as tx:          # one durable commit per transfer, like a run
            L = Ledger(EngineState(tx), 1_700_000_000 + i)
            E.transfer_credit(L, payer, payer, payee, 1 + i % 7)
            L.check_invariants()
    elapsed = time.perf_counter() - t
    store.close()
    return elapsed


def layer_shares(n: int, folder: str):
    profile = cProfile.Profile()
    profile.runcall(through_ccl, n, folder)
    stats = pstats.Stats(profile)
    shares = defaultdict(float)
    total = 0.0
    for (file, _, name), (_, _, tottime, _, _) in stats.stats.items():
        where = f"{file} {name}"
        total += tottime
        for layer, marks in LAYERS:
            if any(m in where for m in marks):
                shares[layer] += tottime
                break
        else:
            shares["other (Python, click, attrs)"] += tottime
    return {k: v / total for k, v in sorted(shares.items(), key=lambda kv: -kv[1])}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--transfers", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    n = args.transfers
    with tempfile.TemporaryDirectory() as folder:
        ccl_s = through_ccl(n, folder)
        eng_s = engine_only(n, folder)
    print(f"{n} transfers, each its own durable transaction (SQLite WAL, synchronous=FULL)")
    print(f"  through CCL (VM + engine + store + signed receipt): {n / ccl_s:8.0f} transfers/s")
    print(f"  engine only (no VM, no receipt):                     {n / eng_s:8.0f} transfers/s")
    with tempfile.TemporaryDirectory() as folder:
        shares = layer_shares(min(n, 1000), folder)
    print("share of time through CCL, by layer:")
    for layer, share in shares.items():
        print(f"  {layer:<38} {share * 100:5.1f}%")
    with tempfile.TemporaryDirectory() as folder:
        t = time.perf_counter()
        cost = by_size(folder, 20, args.rounds)
        took = time.perf_counter() - t
    print(f"a transfer through CCL by the co-op's number of accounts (median of {args.rounds} rounds, {took:.0f} s):")
    for n, seconds in cost.items():
        print(f"  {n:>7} accounts: {seconds * 1000:7.2f} ms   {seconds / cost[SIZES[0]]:5.2f}× the 10-account co-op")


if __name__ == "__main__":
    main()
