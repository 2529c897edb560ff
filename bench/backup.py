"""Backup, restore and CAR import of a co-op's store at N receipts (10k by default): seconds per
step, and each as a ratio against copying the database file with shutil, measured in the same
run (after a WAL checkpoint, so the file is the whole store).

The history is built in process: a founded demo co-op, then signed runs (session.run), each its
own receipt: 9 admissions, then a one-line transfer contract's runs up to N receipts.

Steps: `backup` (ccl.api.backup.backup: SQLite's online backup into a new file, then its summary),
`restore` (ccl.api.backup.restore: every block's CID, the chain and signatures, the state root,
then the file swapped in), `export` (a CARv1 of every block), `import` (ccl.api.backup.import_car:
verify every block and the chain, replay every receipt from genesis, write the store).

    python bench/backup.py [--receipts N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent))

from ccl import dag as D  # noqa: E402
from ccl.api import backup as B  # noqa: E402
from ccl.api.workspace import Workspace, init  # noqa: E402
from ccl.identity import Identity  # noqa: E402
from ccl.pipeline import build  # noqa: E402
from ccl.runtime import session  # noqa: E402
from ccl.store.sqlite import SqliteStore  # noqa: E402

BYLAW = "fn pay(to: Did, amount: Integer) -> Bool { transfer_credit(caller(), to, amount) }"
T0 = 1_700_000_000


def history(path: str, receipts: int) -> SqliteStore:
    store = SqliteStore(path)
    people = [Identity.from_seed(f"m{i}", bytes([i + 1]) * 32) for i in range(10)]
    session.found(store, coop=Identity.from_seed("bench co-op", b"b" * 32), founder=people[0].did, bylaws=[],
                  now=T0, demo=True)
    admit = build("fn admit(m: Did) -> Bool { add_member(m) }", "admit.ccl")
    for p in people[1:]:                      # each member admitted by a signed run (a receipt)
        assert session.run(admit, "admit", [p.did], store=store, caller=people[0].did, signer=people[0],
                           now=T0, log=lambda m: None).receipt
    verified = build(BYLAW, "pay.ccl")
    for i in range(receipts - len(people)):
        payer, payee = people[i % 10], people[(i * 3 + 1) % 10]
        if payer is payee:
            payee = people[(i + 1) % 10]
        r = session.run(verified, "pay", [payee.did, 1 + i % 7], store=store, caller=payer.did, signer=payer,
                        now=T0 + 1 + i, log=lambda m: None)
        assert r.run.ok and r.receipt, r.run.error or r.error
    return store


def timed(fn):
    t = time.perf_counter()
    value = fn()
    return time.perf_counter() - t, value


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--receipts", type=int, default=10_000)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="ccl-bench-backup-") as folder:
        src = f"{folder}/state.db"
        built, store = timed(lambda: history(src, a.receipts))
        with store.reader() as tx:
            receipts = len(tx.receipts())
        conn = sqlite3.connect(src)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        copy_s, _ = timed(lambda: shutil.copyfile(src, f"{folder}/copy.db"))
        backup_s, done = timed(lambda: B.backup(store, f"{folder}/backup.db"))
        assert done.receipts == receipts
        target = Path(folder) / "restored"
        target.mkdir()
        ws = init(target)
        restore_s, restored = timed(lambda: B.restore(ws, f"{folder}/backup.db"))
        assert restored.state_root == done.state_root
        ws.store.close()

        def export():
            with store.reader() as tx, open(f"{folder}/history.car", "wb") as out:
                D.write_car(tx, out, tx.head())
        export_s, _ = timed(export)
        target2 = Path(folder) / "imported"
        target2.mkdir()
        ws2 = init(target2)
        import_s, imported = timed(lambda: B.import_car(Workspace(ws2.root), f"{folder}/history.car"))
        assert imported.state_root == done.state_root
        store.close()
        size = os.path.getsize(src)
        print(f"{receipts} receipts, state.db {size / 1e6:.1f} MB, CAR {os.path.getsize(f'{folder}/history.car') / 1e6:.1f} MB "
              f"(history built in {built:.1f} s)")
        print(f"{'step':<34}{'seconds':>10}{'x file copy':>14}")
        for name, s in (("shutil.copyfile (baseline)", copy_s), ("ccl store backup", backup_s),
                        ("ccl store restore (verify + swap)", restore_s), ("ccl dag export (CAR)", export_s),
                        ("ccl dag import (verify + replay)", import_s)):
            print(f"{name:<34}{s:>10.3f}{s / copy_s:>14.1f}")


if __name__ == "__main__":
    main()
