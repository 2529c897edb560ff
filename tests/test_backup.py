"""`ccl store backup` / `ccl store restore` / `ccl dag import`: a co-op's store destroyed and
brought back each way to the same state root and head; tampered files and unsafe targets refused
with nothing changed (issue 15, "Backup and restore")."""

import json
import os
import sqlite3
from pathlib import Path

import pytest

from helpers import cli_in, found, store_dump

PURPOSE = "a cargo bike"


def out(r):
    return json.loads(r.output)


@pytest.fixture(scope="module")
def coop(tmp_path_factory):
    """A co-op with some history (members, transfers, a loan with a private purpose);
    its .ccl folder is copied afresh for each test."""
    folder = tmp_path_factory.mktemp("coop")
    ccl = found(folder)
    for args in (("loan", "deposit", "--as", "alice", "50"),
                 ("currency", "transfer", "--as", "alice", "CREDIT", "bob", "5"),
                 ("currency", "transfer", "--as", "bob", "CREDIT", "carol", "2.50"),
                 ("loan", "request", "--as", "bob", "30", PURPOSE, "90")):
        r = ccl(*args)
        assert r.exit_code == 0, r.output
    return folder


@pytest.fixture
def ws(coop, tmp_path):
    import shutil

    shutil.copytree(coop / ".ccl", tmp_path / "ws" / ".ccl")
    return tmp_path / "ws"


def ccl(ws, *args):
    return cli_in(ws, *args)


def facts(ws) -> dict:
    """What `dag verify` says, and the head receipt."""
    v = ccl(ws, "dag", "verify", "--json")
    assert v.exit_code == 0, v.output
    head = out(ccl(ws, "dag", "log", "--limit", "1", "--json"))["receipts"][0]["cid"]
    return {**out(v), "head": head}


def destroy(ws) -> None:
    for suffix in ("", "-wal", "-shm"):
        p = ws / ".ccl" / f"state.db{suffix}"
        if p.exists():
            p.unlink()


def purpose_for(ws, who: str):
    """The loan's purpose as its borrower may read it (ccl.private.reveal, what the node shows)."""
    from ccl import private as P
    from ccl.api.workspace import Workspace

    w = Workspace(ws / ".ccl")
    did = w.keys.load(who).did
    try:
        with w.store.reader() as tx:
            from ccl.api.backup import _commitments

            return [P.reveal(c, tx, lambda subject, readers: subject == did) for c in sorted(_commitments(tx))]
    finally:
        w.store.close()


def test_backup_then_restore_into_a_destroyed_store(ws, tmp_path):
    before = facts(ws)
    assert purpose_for(ws, "bob") == [PURPOSE]
    r = ccl(ws, "store", "backup", tmp_path / "b.db", "--json")
    assert r.exit_code == 0, r.output
    made = out(r)
    assert made["receipts"] == before["receipts"] and made["state_root"] == before["state_root"]
    assert made["private_texts"] == 1 and made["bytes"] == os.path.getsize(tmp_path / "b.db")
    assert os.stat(tmp_path / "b.db").st_mode & 0o777 == 0o600
    destroy(ws)
    r = ccl(ws, "store", "restore", tmp_path / "b.db")
    assert r.exit_code == 0, r.output
    assert "restored" in r.output and "not in this backup" not in r.output
    assert facts(ws) == before
    assert purpose_for(ws, "bob") == [PURPOSE]
    assert os.stat(ws / ".ccl" / "state.db").st_mode & 0o777 == 0o600
    r = ccl(ws, "loan", "request", "--as", "bob", "5", "tools", "30")      # the restored store works on
    assert r.exit_code == 0, r.output


def test_backup_without_private_restores_and_says_what_is_missing(ws, tmp_path):
    before = facts(ws)
    r = ccl(ws, "store", "backup", "--without-private", tmp_path / "nb.db", "--json")
    assert r.exit_code == 0, r.output
    assert out(r)["private_texts"] is None
    assert PURPOSE.encode() not in (tmp_path / "nb.db").read_bytes()
    destroy(ws)
    r = ccl(ws, "store", "restore", tmp_path / "nb.db")
    assert r.exit_code == 0, r.output
    assert ("1 private inputs' texts are not in this backup: their commitments stay in the history; "
            "the texts cannot be shown") in r.output
    assert facts(ws) == before
    assert purpose_for(ws, "bob") != [PURPOSE]                     # only the commitment is left


def test_car_export_then_import_into_a_destroyed_store(ws, tmp_path):
    before = facts(ws)
    assert ccl(ws, "dag", "export", "--car", tmp_path / "x.car").exit_code == 0
    destroy(ws)
    r = ccl(ws, "dag", "import", tmp_path / "x.car", "--json")
    assert r.exit_code == 0, r.output
    done = out(r)
    assert done["state_root"] == before["state_root"] and done["missing_private_texts"] == 1
    assert facts(ws) == before
    assert ccl(ws, "dag", "replay").exit_code == 0
    r = ccl(ws, "dag", "import", tmp_path / "x.car")                # not into a store that holds one
    assert r.exit_code == 2 and "U0700" in r.output


def test_car_import_says_nonces_and_texts_are_not_in_it(ws, tmp_path):
    assert ccl(ws, "dag", "export", "--car", tmp_path / "x.car").exit_code == 0
    destroy(ws)
    r = ccl(ws, "dag", "import", tmp_path / "x.car")
    assert r.exit_code == 0, r.output
    assert "no nonces" in r.output and "texts cannot be shown" in r.output


def test_a_tampered_backup_is_refused_and_changes_nothing(ws, tmp_path):
    assert ccl(ws, "store", "backup", tmp_path / "b.db").exit_code == 0
    db = sqlite3.connect(tmp_path / "b.db")
    cid, data = db.execute("SELECT cid, data FROM blocks ORDER BY cid LIMIT 1").fetchone()
    data = bytearray(data)
    data[len(data) // 2] ^= 1
    db.execute("UPDATE blocks SET data = ? WHERE cid = ?", (bytes(data), cid))
    db.commit()
    db.close()
    kept = store_dump(ws)
    r = ccl(ws, "store", "restore", "--force", tmp_path / "b.db")
    assert r.exit_code == 4 and ("I0801" in r.output or "I0805" in r.output), r.output
    assert store_dump(ws) == kept
    assert not (ws / ".ccl" / "state.db.before-restore").exists()
    assert [p.name for p in (ws / ".ccl").iterdir() if p.name.startswith("state.db.restoring")] == []


def test_a_backup_with_changed_rows_is_refused(ws, tmp_path):
    """Blocks intact, but a balance changed in the backup: its rows no longer have the head's root."""
    assert ccl(ws, "store", "backup", tmp_path / "b.db").exit_code == 0
    db = sqlite3.connect(tmp_path / "b.db")
    ns, key, value = db.execute("SELECT namespace, key, value FROM kv ORDER BY namespace, key LIMIT 1").fetchone()
    db.execute("UPDATE kv SET value = ? WHERE namespace = ? AND key = ?", (bytes(value) + b"\x00", ns, key))
    db.commit()
    db.close()
    kept = store_dump(ws)
    r = ccl(ws, "store", "restore", "--force", tmp_path / "b.db")
    assert r.exit_code == 4 and "I0804" in r.output, r.output
    assert store_dump(ws) == kept


def test_a_tampered_car_is_refused_and_changes_nothing(ws, tmp_path):
    car = tmp_path / "x.car"
    assert ccl(ws, "dag", "export", "--car", car).exit_code == 0
    raw = bytearray(car.read_bytes())
    raw[-3] ^= 1                                    # inside the last block's bytes
    car.write_bytes(bytes(raw))
    empty = tmp_path / "empty"
    empty.mkdir()
    assert ccl(empty, "init").exit_code == 0
    kept = store_dump(empty)
    r = ccl(empty, "dag", "import", car)
    assert r.exit_code == 4 and ("I0801" in r.output or "I0805" in r.output), r.output
    assert store_dump(empty) == kept


def test_restore_over_a_store_that_is_not_empty_needs_force(ws, tmp_path):
    assert ccl(ws, "store", "backup", tmp_path / "b.db").exit_code == 0
    r = ccl(ws, "store", "backup", tmp_path / "b.db")               # an existing file is not overwritten
    assert r.exit_code == 2 and "U0700" in r.output
    assert ccl(ws, "loan", "deposit", "--as", "carol", "5").exit_code == 0
    kept = store_dump(ws)
    r = ccl(ws, "store", "restore", tmp_path / "b.db")
    assert r.exit_code == 2 and "U0700" in r.output and "--force" in r.output
    assert store_dump(ws) == kept
    r = ccl(ws, "store", "restore", "--force", tmp_path / "b.db")
    assert r.exit_code == 0, r.output
    assert "state.db.before-restore" in r.output
    assert store_dump(ws) != kept
    old = sqlite3.connect(ws / ".ccl" / "state.db.before-restore")
    assert sorted(old.execute("SELECT * FROM receipts").fetchall()) == kept["receipts"]
    old.close()


def test_a_file_of_the_wrong_kind_is_refused(ws, tmp_path):
    assert ccl(ws, "dag", "export", "--car", tmp_path / "x.car").exit_code == 0
    assert ccl(ws, "store", "backup", tmp_path / "b.db").exit_code == 0
    kept = store_dump(ws)
    r = ccl(ws, "store", "restore", "--force", tmp_path / "x.car")
    assert r.exit_code == 2 and "U0712" in r.output
    r = ccl(ws, "store", "restore", "--force", tmp_path / "missing.db")
    assert r.exit_code == 2 and "U0701" in r.output
    assert store_dump(ws) == kept
    destroy(ws)
    r = ccl(ws, "dag", "import", tmp_path / "b.db")
    assert r.exit_code == 2 and "U0712" in r.output
    assert "Traceback" not in r.output


def test_a_backup_of_a_postgresql_store_restores_into_sqlite(pg_server, tmp_path):
    from ccl.api.backup import backup
    from ccl.identity import Identity
    from ccl.runtime.session import state_root
    from ccl.store.postgres import PostgresStore

    from helpers import found_store

    ana, bo = Identity.from_seed("ana", b"\x01" * 32), Identity.from_seed("bo", b"\x02" * 32)
    pg = found_store(PostgresStore(pg_server.new_database()), ana, [bo.did])
    try:
        with pg.reader() as tx:
            root, receipts = state_root(tx), len(tx.receipts())
        done = backup(pg, str(tmp_path / "pg.db"))
    finally:
        pg.close()
    assert (done.state_root, done.receipts) == (root, receipts)
    folder = tmp_path / "w"
    folder.mkdir()
    assert ccl(folder, "init").exit_code == 0
    r = ccl(folder, "store", "restore", tmp_path / "pg.db")
    assert r.exit_code == 0, r.output
    v = out(ccl(folder, "dag", "verify", "--json"))
    assert v["state_root"] == root and v["receipts"] == receipts


def test_a_backup_taken_while_runs_commit_is_consistent(tmp_path):
    """Backups taken while another thread keeps committing runs (as a serving node does): each is
    one snapshot, whose rows have its own head receipt's state root and whose chain verifies."""
    import threading

    from ccl.api.backup import backup, check_store
    from ccl.identity import Identity
    from ccl.pipeline import build
    from ccl.runtime import session
    from ccl.store.sqlite import SqliteStore

    from helpers import found_store

    ana, bo = Identity.from_seed("ana", b"\x01" * 32), Identity.from_seed("bo", b"\x02" * 32)
    store = found_store(SqliteStore(str(tmp_path / "state.db")), ana, [bo.did])
    pay = build("fn pay(to: Did, n: Integer) -> Bool { transfer_credit(caller(), to, n) }", "pay.ccl")
    stop = threading.Event()

    def writer():
        i = 0
        while not stop.is_set() and i < 400:
            assert session.run(pay, "pay", [bo.did, 1 + i % 5], store=store, caller=ana.did, signer=ana, now=i,
                               log=lambda m: None).receipt
            i += 1
    t = threading.Thread(target=writer)
    t.start()
    try:
        heads = set()
        for n in range(4):
            done = backup(store, str(tmp_path / f"b{n}.db"))
            copy = SqliteStore(str(tmp_path / f"b{n}.db"))
            try:
                with copy.reader() as tx:
                    root, receipts, _ = check_store(tx, f"b{n}.db")
                    heads.add(tx.head())
            finally:
                copy.close()
            assert (root, receipts) == (done.state_root, done.receipts)
            while t.is_alive():                          # the next backup sees more runs than this one
                with store.reader() as tx:
                    if len(tx.receipts()) > done.receipts:
                        break
                stop.wait(0.01)
    finally:
        stop.set()
        t.join()
        store.close()
    assert len(heads) > 1, "the backups were taken while runs committed"


def test_restore_replaces_a_store_that_cannot_be_read(ws, tmp_path):
    before = facts(ws)
    assert ccl(ws, "store", "backup", tmp_path / "b.db").exit_code == 0
    destroy(ws)
    (ws / ".ccl" / "state.db").write_bytes(b"this is not a database" * 100)
    r = ccl(ws, "store", "restore", tmp_path / "b.db")
    assert r.exit_code == 2 and "U0700" in r.output                   # it may still be worth keeping
    r = ccl(ws, "store", "restore", "--force", tmp_path / "b.db")
    assert r.exit_code == 0, r.output
    assert facts(ws) == before
    assert (ws / ".ccl" / "state.db.before-restore").read_bytes().startswith(b"this is not a database")


def test_a_demo_coop_imported_into_a_new_folder_keeps_its_demo_clock(ws, tmp_path):
    before = facts(ws)
    assert ccl(ws, "dag", "export", "--car", tmp_path / "x.car").exit_code == 0
    assert ccl(ws, "store", "backup", tmp_path / "b.db").exit_code == 0
    for name, args in (("imported", ("dag", "import", tmp_path / "x.car")),
                       ("restored", ("store", "restore", tmp_path / "b.db"))):
        folder = tmp_path / name
        folder.mkdir()
        assert ccl(folder, "init").exit_code == 0
        r = ccl(folder, *args)
        assert r.exit_code == 0, r.output
        assert facts(folder) == before
        r = ccl(folder, "clock", "advance", "1d")                      # a demo workspace's clock
        assert r.exit_code == 0, r.output


def test_a_car_missing_a_receipt_or_cut_short_is_refused(ws, tmp_path):
    from ccl import canon, dag as D

    car = tmp_path / "x.car"
    assert ccl(ws, "dag", "export", "--car", car).exit_code == 0
    roots, blocks = D.read_car(car.read_bytes())
    log = out(ccl(ws, "dag", "log", "--json"))["receipts"]
    middle = log[len(log) // 2]["cid"]                          # a receipt in the middle of the chain
    header = canon.encode({"roots": [canon.Link(roots[0])], "version": 1})
    gap = tmp_path / "gap.car"
    with open(gap, "wb") as f:
        f.write(canon._varint(len(header)) + header)
        for cid, data in blocks:
            if cid != middle:
                raw = canon.parse_cid(cid)
                f.write(canon._varint(len(raw) + len(data)) + raw + data)
    short = tmp_path / "short.car"
    short.write_bytes(car.read_bytes()[: car.stat().st_size // 2])
    empty = tmp_path / "empty"
    empty.mkdir()
    assert ccl(empty, "init").exit_code == 0
    kept = store_dump(empty)
    r = ccl(empty, "dag", "import", gap)
    assert r.exit_code == 4 and "I0801" in r.output and "missing" in r.output, r.output
    r = ccl(empty, "dag", "import", short)
    assert r.exit_code in (2, 4) and ("U0712" in r.output or "I080" in r.output), r.output
    assert "Traceback" not in r.output
    assert store_dump(empty) == kept


def test_a_backup_never_replaces_the_store_it_copies(ws):
    kept = store_dump(ws)
    r = ccl(ws, "store", "backup", "--force", ws / ".ccl" / "state.db")
    assert r.exit_code == 2 and "own store" in r.output, r.output
    assert store_dump(ws) == kept
    assert facts(ws)["receipts"] == len(kept["receipts"])


def test_a_restore_that_cannot_write_is_an_environment_failure(ws, tmp_path):
    """The staging file's place is taken by a folder: one N0900 (exit 5), not a traceback."""
    assert ccl(ws, "store", "backup", tmp_path / "b.db").exit_code == 0
    blocker = ws / ".ccl" / f"state.db.restoring{os.getpid()}"
    blocker.mkdir()
    (blocker / "x").write_text("x")
    kept = store_dump(ws)
    r = ccl(ws, "store", "restore", "--force", tmp_path / "b.db")
    assert r.exit_code == 5 and "N0900" in r.output, r.output
    assert store_dump(ws) == kept
