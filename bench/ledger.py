"""Ledger throughput: transfers per second through CCL (VM + engine + SQLite + signed receipt
per run) and through the engine alone, with the share of time in each layer (from cProfile's
own time per function, grouped by package).

    python bench/ledger.py [--transfers N]
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


def through_ccl(n: int, folder: str):
    store = SqliteStore(f"{folder}/ccl.db")
    verified = build(BYLAW, "pay.ccl")
    people = members(10)
    t = time.perf_counter()
    for i in range(n):
        payer, payee = people[i % 10], people[(i * 3 + 1) % 10]
        if payer is payee:
            payee = people[(i + 1) % 10]
        r = session.run(verified, "pay", [payee.did, 1 + i % 7], store=store, caller=payer.did, signer=payer,
                        now=1_700_000_000 + i, log=lambda m: None)
        assert r.run.ok and r.receipt
    elapsed = time.perf_counter() - t
    store.close()
    return elapsed


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


if __name__ == "__main__":
    main()
