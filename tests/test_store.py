"""The store interface, run against SQLite and against a real PostgreSQL server: the same
behaviour, the same history → the same state root, and concurrent writers lose nothing."""

import threading

import pytest

from ccl import canon, dag
from ccl.identity import Identity
from ccl.ledger import EngineState, Ledger
from ccl.ledger import engines as E
from ccl.pipeline import build
from ccl.runtime import session
from ccl.store.sqlite import IntegrityFailure
from helpers import found_store

COUNTER = """
contract Counter {
    state count: Integer = 0;
    fn bump(n: Integer) -> Integer { count = count + n; count }
    fn pay(to: Did, amount: Integer) -> Bool { transfer_credit(caller(), to, amount) }
    fn fail() -> Integer { count = count + 1000; require(false, "no"); 0 }
}
"""
ANA = Identity.from_seed("ana", b"\x01" * 32)
BO = Identity.from_seed("bo", b"\x02" * 32)


def founded(store):
    """A demo co-op in `store` with ana as founder and bo admitted by her."""
    return found_store(store, ANA, [BO.did])


def test_blocks_receipts_state_kv(store):
    with store.transaction() as tx:
        cid = dag.put(tx, {"hello": "co-op"})
        assert dag.get(tx, cid) == {"hello": "co-op"}
        tx.append_receipt(cid)
        tx.put_state("C", cid, b"\x01")
        tx.kv_put("ns", "b", b"2")
        tx.kv_put("ns", "a", b"1")
    with store.transaction() as tx:
        assert tx.head() == cid and tx.receipts() == [cid]
        assert tx.get_state("C") == (cid, b"\x01")
        assert tx.kv_scan("ns") == [("a", b"1"), ("b", b"2")]
        assert [c for c, _ in tx.iter_blocks()] == [cid]


def test_rollback_on_error(store):
    with pytest.raises(RuntimeError):
        with store.transaction() as tx:
            tx.kv_put("ns", "x", b"1")
            raise RuntimeError("boom")
    with store.transaction() as tx:
        assert tx.kv_get("ns", "x") is None


def test_a_block_is_rechecked_on_read(store):
    with store.transaction() as tx:
        cid = dag.put(tx, "text")
        tx.c.execute(("UPDATE blocks SET data = ? WHERE cid = ?" if "sqlite" in type(tx).__name__.lower()
                      else "UPDATE blocks SET data = %s WHERE cid = %s"), (canon.encode("tampered"), cid))
        with pytest.raises(IntegrityFailure):
            tx.get_block(cid)


def history(store):
    founded(store)
    verified = build(COUNTER, "counter.ccl")
    roots = []
    for i, n in enumerate((3, 4, 5)):
        r = session.run(verified, "bump", [n], store=store, caller=ANA.did, signer=ANA, now=1000 + i)
        roots.append(r.state_root)
    r = session.run(verified, "pay", [BO.did, 250], store=store, caller=ANA.did, signer=ANA, now=2000)
    roots.append(r.state_root)
    failed = session.run(verified, "fail", [], store=store, caller=ANA.did, signer=ANA, now=3000)
    assert not failed.run.ok
    return roots


def test_same_history_same_state_root_on_both_stores(tmp_path, pg_server):
    from ccl.store.postgres import PostgresStore
    from ccl.store.sqlite import SqliteStore

    lite = SqliteStore(str(tmp_path / "a.db"))
    pg = PostgresStore(pg_server.new_database())
    try:
        assert history(lite) == history(pg)
        for s in (lite, pg):
            with s.transaction() as tx:
                assert dag.verify_all(tx) == []
            assert all(step.ok for step in session.replay(s))
    finally:
        lite.close()
        pg.close()


def test_concurrent_writers_lose_no_update(store):
    founded(store)
    verified = build(COUNTER, "counter.ccl")
    errors = []

    def worker(who):
        try:
            for i in range(25):
                r = session.run(verified, "bump", [1], store=store, caller=who.did, signer=who, now=i,
                                log=lambda m: None)
                assert r.run.ok and r.receipt
        except Exception as e:      # surfaced below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(who,)) for who in (ANA, BO)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    r = session.run(verified, "bump", [0], store=store, caller=ANA.did, signer=ANA, now=99)
    assert r.run.value == 50
    with store.transaction() as tx:
        assert len(tx.receipts()) == 2 + 50 and dag.verify_all(tx) == []     # the founding, bo's admission


def test_two_pools_on_one_postgres_database_never_double_spend(pg_server):
    """Two node processes are two pools on one database: balances stay exact under contention."""
    from ccl.store.postgres import PostgresStore

    url = pg_server.new_database()
    nodes = [PostgresStore(url), PostgresStore(url)]
    founded(nodes[0])
    with nodes[0].transaction() as tx:
        L = Ledger(EngineState(tx), 0)
        E.ensure_credit(L)
        L.set_limits(E.CREDIT, ANA.did, -100, 1_000_000)
    verified = build(COUNTER, "counter.ccl")
    ok = []

    def spend(node):
        for i in range(20):
            r = session.run(verified, "pay", [BO.did, 10], store=node, caller=ANA.did, signer=ANA, now=i,
                            log=lambda m: None)
            ok.append(r.run.ok)

    threads = [threading.Thread(target=spend, args=(n,)) for n in nodes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert ok.count(True) == 10                        # a floor of -100 allows exactly ten payments of 10
    with nodes[1].transaction() as tx:
        L = Ledger(EngineState(tx), 0)
        assert L.balance(E.CREDIT, ANA.did) == -100 and L.balance(E.CREDIT, BO.did) == 100
    for n in nodes:
        n.close()


def test_cli_migrates_a_workspace_to_postgres_and_keeps_working(tmp_path, pg_server):
    import json
    import os

    from click.testing import CliRunner

    from ccl.cli.main import cli

    def ccl(*args):
        old = os.getcwd()
        os.chdir(tmp_path)
        try:
            return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
        finally:
            os.chdir(old)

    (tmp_path / "counter.ccl").write_text(COUNTER)
    ccl("init", "--founder", "ana")
    ccl("run", "counter.ccl", "--fn", "bump", "--args", "[5]")
    url = pg_server.new_database()
    r = ccl("store", "migrate", "--to", url, "--json")
    assert r.exit_code == 0, r.output
    assert ccl("store", "migrate", "--to", url).exit_code == 2           # not into a used database
    r = ccl("--state", url, "run", "counter.ccl", "--fn", "bump", "--args", "[2]", "--json")
    assert json.loads(r.stdout.splitlines()[-1])["result"] == 7
    assert ccl("--state", url, "dag", "verify").exit_code == 0
    assert ccl("--state", url, "dag", "replay").exit_code == 0
