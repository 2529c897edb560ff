"""Group commit on SQLite (ccl.store.sqlite): runs that arrive while one holds the write
connection share its store transaction and its one COMMIT, each in a savepoint of its own, each
keeping its receipt, its all-or-nothing outcome and its place in the receipt chain; a run is
answered only after the COMMIT that holds it; a failed COMMIT fails them all.

The tests make a group deterministically: a first run holds the write connection until the
others are all waiting for it (the store's count of waiting runs), then lets them in."""

import sqlite3
import threading
import time

import pytest

from ccl import dag
from ccl.diag import CclError
from ccl.identity import Identity
from ccl.ledger import EngineState, Ledger
from ccl.ledger import engines as E
from ccl.runtime import session
from ccl.store.sqlite import SqliteStore
from helpers import found_store

MEMBERS = [Identity.from_seed(f"g{i}", bytes([40 + i]) * 32) for i in range(8)]


def dump(path) -> dict:
    db = sqlite3.connect(path)
    try:
        return {t: sorted(db.execute(f"SELECT * FROM {t}").fetchall())
                for t in ("blocks", "receipts", "contract_state", "kv", "meta", "nonces")}
    finally:
        db.close()


@pytest.fixture
def store(tmp_path):
    s = found_store(SqliteStore(str(tmp_path / "state.db")), MEMBERS[0], [m.did for m in MEMBERS[1:]])
    yield s
    s.close()


def transfer(store, payer, payee, amount, request=None):
    from ccl.api.actions import invocation
    from ccl.operations import COMMANDS

    op = next(o for o in COMMANDS if o.command is not None and o.command.cli == "credit transfer")
    inv = invocation(op, {"to": payee.did, "amount": amount}, lambda fn: None)
    return session.run(inv.verified, inv.entry, inv.args, store=store, caller=payer.did, signer=payer, now=0,
                       log=lambda m: None, request=request)


def grouped(store, jobs, hold=lambda tx: None, held_fails_alone=False):
    """Run `jobs` (callables) on threads while a first run holds the write connection until all
    of them wait for it; returns (the jobs' results or exceptions, the COMMITs done meanwhile)."""
    before = store.commits
    out: list = [None] * len(jobs)
    held: list = []

    def first():
        try:
            with store.transaction() as tx:
                deadline = time.monotonic() + 30
                while store._waiting < len(jobs):
                    assert time.monotonic() < deadline, "the runs never queued"
                    time.sleep(0.001)
                hold(tx)
        except CclError as e:
            held.append(e)              # the holding run shares its group's outcome

    def job(i):
        try:
            out[i] = jobs[i]()
        except Exception as e:
            out[i] = e
    t0 = threading.Thread(target=first)
    t0.start()
    while not store._busy:
        time.sleep(0.001)
    threads = [threading.Thread(target=job, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in [t0, *threads]:
        t.join(60)
    assert held == [] or held_fails_alone or all(isinstance(r, CclError) for r in out)
    return out, store.commits - before


def test_concurrent_transfers_share_one_commit_and_one_chain(store):
    pairs = [(MEMBERS[i % 8], MEMBERS[(i + 3) % 8]) for i in range(16)]
    results, commits = grouped(store, [lambda a=a, b=b: transfer(store, a, b, 5) for a, b in pairs])
    assert commits == 1                                             # sixteen runs, one COMMIT, one fsync
    receipts = [r.receipt for r in results]
    assert all(receipts) and len(set(receipts)) == 16              # each its own receipt
    with store.reader() as tx:
        chain = tx.receipts()
        assert set(receipts) <= set(chain[-16:])
        for prev, cid in zip(chain, chain[1:]):                    # one chain: each names the one before
            assert dag.get(tx, cid)["payload"]["prev"].cid == prev
        assert dag.verify_all(tx) == []
        L = Ledger(EngineState(tx), 0)
        assert sum(L.balance(E.CREDIT, m.did) for m in MEMBERS) == 0
    assert all(step.ok for step in session.replay(store, live=True))


def test_a_run_failing_mid_group_leaves_the_others_committed(store, tmp_path):
    before = dump(tmp_path / "state.db")

    def write(i):
        with store.transaction() as tx:
            tx.kv_put("test", f"k{i}", b"v")
            if i == 2:
                raise RuntimeError("fails after writing")
        return i
    results, commits = grouped(store, [lambda i=i: write(i) for i in range(5)])
    assert commits == 1
    assert isinstance(results[2], RuntimeError) and [results[i] for i in (0, 1, 3, 4)] == [0, 1, 3, 4]
    after = dump(tmp_path / "state.db")
    added = sorted(set(after["kv"]) - set(before["kv"]))
    assert added == [("test", f"k{i}", b"v") for i in (0, 1, 3, 4)]    # k2 is absent, the rest kept
    assert {t: v for t, v in after.items() if t not in ("kv", "meta")} == \
        {t: v for t, v in before.items() if t not in ("kv", "meta")}


def test_a_refused_transfer_mid_group_spends_its_nonce_and_takes_no_other(store, tmp_path):
    def request(who, nonce):
        return {"did": who.did, "nonce": nonce, "time": int(time.time()), "method": "POST",
                "path": "/api/v1/credit/transfer", "body_sha256": "0" * 64, "signature": b"s"}
    refused = request(MEMBERS[2], "refused-nonce-1")
    jobs = [lambda: transfer(store, MEMBERS[1], MEMBERS[2], 3, request(MEMBERS[1], "fine-nonce-1")),
            lambda: transfer(store, MEMBERS[2], MEMBERS[3], 10**12, refused),          # past the floor
            lambda: transfer(store, MEMBERS[3], MEMBERS[4], 4, request(MEMBERS[3], "fine-nonce-2"))]
    results, commits = grouped(store, jobs)
    assert commits <= 2                     # the refusal's own spending of its nonce may start a group
    assert results[0].receipt and results[2].receipt and results[1].receipt is None
    assert results[1].run.error.code == "H0600"
    with store.reader() as tx:
        assert {(d, n) for d, n, _ in tx.nonce_rows()} >= {(MEMBERS[2].did, "refused-nonce-1"),
                                                           (MEMBERS[1].did, "fine-nonce-1")}
        L = Ledger(EngineState(tx), 0)
        assert L.balance(E.CREDIT, MEMBERS[2].did) == 3 and L.balance(E.CREDIT, MEMBERS[4].did) == 4
    again = transfer(store, MEMBERS[2], MEMBERS[3], 1, refused)      # the spent nonce is refused
    assert again.receipt is None and "replayed" in again.run.error.message
    assert all(step.ok for step in session.replay(store, live=True))


def test_a_failed_commit_acknowledges_none(store, tmp_path, monkeypatch):
    before = dump(tmp_path / "state.db")
    real = store._commit
    calls = []

    def failing():
        calls.append(1)
        raise sqlite3.OperationalError("disk I/O error")
    monkeypatch.setattr(store, "_commit", failing)
    results, commits = grouped(store, [lambda a=a: transfer(store, a, MEMBERS[0], 2) for a in MEMBERS[1:6]])
    assert calls == [1] and commits == 0
    assert all(isinstance(r, CclError) and r.diagnostic.code == "N0900" for r in results), results
    assert dump(tmp_path / "state.db") == before                   # nothing of the group was kept
    monkeypatch.setattr(store, "_commit", real)
    assert transfer(store, MEMBERS[1], MEMBERS[0], 2).receipt       # and the store goes on


def test_one_run_alone_commits_at_once(store, tmp_path):
    """The command line's case: one run in a process commits as it always did, and another
    connection sees it as soon as the run returns."""
    before = store.commits
    r = transfer(store, MEMBERS[1], MEMBERS[2], 1)
    assert store.commits == before + 1 and not store._open
    other = SqliteStore(str(tmp_path / "state.db"))
    with other.reader() as tx:
        assert tx.head() == r.receipt
    other.close()


def test_reads_run_beside_a_write_in_their_own_snapshot(store, tmp_path):
    with store.reader() as tx:
        head = tx.head()
    inside, go, read = threading.Event(), threading.Event(), {}

    def writer():
        with store.transaction() as tx:
            tx.kv_put("test", "beside", b"1")
            inside.set()
            go.wait(30)
    t = threading.Thread(target=writer)
    t.start()
    assert inside.wait(30)
    with store.reader() as tx:                 # while the write transaction is open, on its thread
        read["head"], read["row"] = tx.head(), tx.kv_get("test", "beside")
    go.set()
    t.join(30)
    assert read == {"head": head, "row": None}
    with store.reader() as tx:
        assert tx.kv_get("test", "beside") == b"1"


def test_what_a_read_writes_is_never_kept(store, tmp_path):
    before = dump(tmp_path / "state.db")
    with store.reader() as tx:
        tx.kv_put("test", "from-a-read", b"1")
        tx.put_block("bafyfake", b"x")
        assert tx.kv_get("test", "from-a-read") == b"1"         # the read sees its own writes
        assert ("from-a-read", b"1") in tx.kv_scan("test")
        with pytest.raises(sqlite3.OperationalError):           # the connection itself is read-only
            tx.c.execute("INSERT INTO kv (namespace, key, value) VALUES ('a', 'b', x'00')")
    assert dump(tmp_path / "state.db") == before


def test_a_group_rolled_back_under_it_acknowledges_exactly_what_is_kept(store, tmp_path):
    """SQLite itself rolls a whole transaction back on some errors (a full disk): the runs of
    the group done before it are then not acknowledged, and every run answered ok is kept."""
    def write(i):
        with store.transaction() as tx:
            tx.kv_put("test", f"k{i}", b"v")
            if i == 2:
                tx.c.execute("ROLLBACK")         # what SQLite does on SQLITE_FULL, under the run
        return i
    results, _ = grouped(store, [lambda i=i: write(i) for i in range(6)], held_fails_alone=True)
    assert isinstance(results[2], CclError) and results[2].diagnostic.code == "N0900"
    acknowledged = {r for r in results if isinstance(r, int)}
    assert all(isinstance(r, int) or (isinstance(r, CclError) and r.diagnostic.code == "N0900") for r in results)
    kept = {int(k[1:]) for n, k, _ in dump(tmp_path / "state.db")["kv"] if n == "test"}
    assert kept == acknowledged
    assert transfer(store, MEMBERS[1], MEMBERS[2], 1).receipt          # and the store goes on
