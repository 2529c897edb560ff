"""Two nodes on one PostgreSQL database, as two stores (two connection pools) would have them:
runs from both at the same time, with no cluster-wide lock (ccl.store.postgres). No effect is
lost or doubled, the receipts are one chain, verify and replay hold (replay re-runs the
transfers one after another, in the chain's order, and reaches the same state root), floors hold
under concurrency, a deadlock is retried and not surfaced, and a verify's snapshot does not stop
a writer."""

import json
import random
import threading
import time

import pytest

from ccl import dag as D
from ccl.diag import CclError
from ccl.identity import Identity
from ccl.ledger import EngineState, Ledger
from ccl.ledger import engines as E
from ccl.pipeline import build
from ccl.runtime import session

MEMBERS = [Identity.from_seed(f"c{i}", bytes([0x40 + i]) * 32) for i in range(8)]
PAY = build("fn pay(to: Did, amount: Integer) -> Bool { transfer_credit(caller(), to, amount) }", "pay.ccl")


@pytest.fixture
def two(pg_server):
    """Two stores on one freshly founded database, with MEMBERS admitted."""
    from ccl.store.postgres import PostgresStore

    url = pg_server.new_database()
    a = PostgresStore(url)
    session.found(a, coop=Identity.from_seed("co-op", b"\xcd" * 32), founder=MEMBERS[0].did, bylaws=[],
                  now=int(time.time()))
    admit = build("fn admit(m: Did) -> Bool { add_member(m) }", "admit.ccl")
    for m in MEMBERS[1:]:
        assert session.run(admit, "admit", [m.did], store=a, caller=MEMBERS[0].did, signer=MEMBERS[0]).receipt
    b = PostgresStore(url)
    yield url, a, b
    a.close()
    b.close()


def _pay(store, payer, payee, amount):
    return session.run(PAY, "pay", [payee.did, amount], store=store, caller=payer.did, signer=payer,
                       log=lambda m: None)


def _balances(store):
    with store.reader() as tx:
        L = Ledger(EngineState(tx), 0)
        return {m.did: L.balance(E.CREDIT, m.did) for m in MEMBERS}


def _one_chain(store):
    """The receipts in order, each naming the one before as its `prev`; their CIDs."""
    with store.reader() as tx:
        receipts = tx.receipts()
        prev = None
        for cid in receipts:
            payload = D.get(tx, cid)["payload"]
            if prev is not None:
                assert payload["prev"].cid == prev, cid
            prev = cid
        assert D.verify_all(tx) == []
    return receipts


def _threads(n, work):
    errors = []

    def run(i):
        try:
            work(i)
        except BaseException as e:          # surfaced below, in the test
            errors.append(e)
    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_concurrent_transfers_from_two_stores_are_one_chain(two):
    url, a, b = two
    done, lock = [], threading.Lock()

    def work(i):
        rng = random.Random(i)
        store = (a, b)[i % 2]
        for _ in range(12):
            payer, payee = rng.sample(MEMBERS, 2)
            amount = rng.randint(1, 90)
            r = _pay(store, payer, payee, amount)
            assert r.run.ok and r.receipt, r.run.error
            with lock:
                done.append((r.receipt, payer.did, payee.did, amount))

    before = len(_one_chain(a))
    _threads(8, work)
    receipts = _one_chain(b)
    assert len(receipts) == before + len(done)                       # nothing lost, nothing doubled
    assert {cid for cid, *_ in done} == set(receipts[before:])
    expected = {m.did: 0 for m in MEMBERS}
    for _, payer, payee, amount in done:
        expected[payer] -= amount
        expected[payee] += amount
    assert _balances(a) == expected                                  # every effect once
    steps = session.replay(a, live=True)                             # the same transfers, one after another
    assert len(steps) == len(receipts) and all(s.ok for s in steps), [s for s in steps if not s.ok][:1]
    with a.snapshot() as tx:
        assert tx.recompute_root_accumulator() == tx.root_accumulator()
        head = D.get(tx, tx.head())["payload"]
        assert head["state_root"] == session.state_root(tx)
        times = [D.get(tx, c)["payload"]["time"] for c in receipts]
    assert times == sorted(times)                                    # receipt times never go backwards


def test_floors_hold_under_concurrency(two):
    url, a, b = two
    payer = MEMBERS[1]
    floor = -100000                                                  # CREDIT's default floor
    outcomes, lock = [], threading.Lock()

    def work(i):
        r = _pay((a, b)[i % 2], payer, MEMBERS[2 + i % 6], 30000)
        with lock:
            outcomes.append(r)

    _threads(10, work)
    kept = [r for r in outcomes if r.receipt]
    refused = [r for r in outcomes if not r.run.ok]
    assert len(kept) == 3 and len(refused) == 7                      # 3 × 30000 fits above −100000, a 4th not
    assert all("floor" in r.run.error.message for r in refused)
    assert _balances(a)[payer.did] == -90000 >= floor
    assert all(s.ok for s in session.replay(b, live=True))


def test_a_deadlock_is_retried_not_surfaced(two):
    """Another session holds the chain head's lock, the run waits for it holding its rows' locks,
    then that session asks for one of them: PostgreSQL breaks the deadlock by failing the run
    (the other session's deadlock_timeout is long), and the run is run again and kept."""
    import psycopg

    from ccl.store.postgres import CHAIN_LOCK

    url, a, b = two
    row = f"kv\x1fledger.currency\x1f{E.CREDIT}"
    holding, failed_once = threading.Event(), []
    attempts = [0]
    real = a.transaction

    def counted():
        attempts[0] += 1
        return real()
    a.transaction = counted

    def other():
        with psycopg.connect(url) as conn:
            conn.execute("SET deadlock_timeout = '1h'")
            conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", CHAIN_LOCK)
            holding.set()
            with psycopg.connect(url, autocommit=True) as watch:     # until the run waits for the head
                while not watch.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                                        "AND NOT granted").fetchone()[0]:
                    time.sleep(0.01)
            conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (row,))
            failed_once.append(True)                                  # granted: the run was the one failed
            conn.rollback()

    t = threading.Thread(target=other)
    t.start()
    holding.wait()
    r = _pay(a, MEMBERS[1], MEMBERS[2], 7)
    t.join()
    assert failed_once and r.run.ok and r.receipt and r.error is None
    assert attempts[0] == 2                                           # failed once, then kept
    assert _balances(b)[MEMBERS[2].did] == 7
    assert all(s.ok for s in session.replay(b, live=True))


def test_verify_reads_a_snapshot_and_writers_go_on(two):
    """A write from the other store commits while a verify's transaction is open; the verify sees
    the store as it was when it began."""
    url, a, b = two
    wrote = threading.Event()
    outcome = []

    def writer():
        outcome.append(_pay(b, MEMBERS[3], MEMBERS[4], 11))
        wrote.set()

    with a.snapshot() as tx:
        head = tx.head()
        assert D.verify_all(tx) == []
        t = threading.Thread(target=writer)
        t.start()
        assert wrote.wait(120), "a write waited for a verify"         # (a bound only, so a bug cannot hang)
        assert outcome[0].receipt
        assert tx.head() == head and D.verify_all(tx) == []          # still the snapshot it began with
        assert D.get(tx, head)["payload"]["state_root"] == session.state_root(tx)
    t.join()
    with a.snapshot() as tx:
        assert tx.head() == outcome[0].receipt


def test_dag_verify_and_replay_take_no_writing_transaction(two, monkeypatch, tmp_path):
    """`ccl dag verify` and `dag replay` read through the store's snapshot, never a writing
    transaction (which would lock rows, or once took the whole cluster's lock)."""
    from click.testing import CliRunner

    from ccl.cli.main import cli
    from ccl.store.postgres import PostgresStore

    url, a, b = two
    assert _pay(a, MEMBERS[1], MEMBERS[2], 3).receipt

    def refuse(self):
        raise AssertionError("a writing transaction")
    monkeypatch.setattr(PostgresStore, "transaction", refuse)
    monkeypatch.chdir(tmp_path)
    for args in (["dag", "verify"], ["dag", "replay"]):
        r = CliRunner().invoke(cli, ["--state", url, *args])
        assert r.exit_code == 0, (args, r.output)


def test_replay_compares_the_receipts_with_the_rows_of_one_snapshot(two, monkeypatch):
    """A transfer committed (from the other store) while a replay runs is in neither the receipts
    it replays nor the live rows it compares them with: no false "the live state differs"."""
    url, a, b = two
    real, wrote = session.run, []

    def run_and_write_once(*args, **kwargs):
        if not kwargs.get("record", True) and not wrote:              # the replay's first re-run
            wrote.append(real(PAY, "pay", [MEMBERS[6].did, 13], store=b, caller=MEMBERS[5].did,
                              signer=MEMBERS[5], log=lambda m: None))
        return real(*args, **kwargs)
    monkeypatch.setattr(session, "run", run_and_write_once)
    steps = session.replay(a, live=True)
    assert wrote and wrote[0].receipt
    assert all(s.ok for s in steps), [s for s in steps if not s.ok]
    monkeypatch.setattr(session, "run", real)
    assert all(s.ok for s in session.replay(a, live=True))              # and then with it
    with a.reader() as tx:
        assert tx.head() == wrote[0].receipt


def test_a_run_that_keeps_conflicting_is_503_n0903(two, monkeypatch, tmp_path):
    """Past its retries a conflict reaches the member as N0903 (environment: 503), nothing kept."""
    from fastapi.testclient import TestClient

    from ccl.api.workspace import Workspace, init
    from ccl.identity import sign_request
    from ccl.node.app import create_app
    from ccl.store import RETRIES, Conflict
    from ccl.store.postgres import PostgresTx

    url, a, b = two
    assert _pay(a, MEMBERS[1], MEMBERS[2], 1).receipt           # (the currency exists)
    tries = []

    def always(self, time=None):
        tries.append(1)
        raise Conflict("a test's conflict")
    monkeypatch.setattr(PostgresTx, "ordered", always)
    before = _balances(a)
    with pytest.raises(CclError) as e:
        _pay(a, MEMBERS[1], MEMBERS[2], 5)
    assert e.value.diagnostic.code == "N0903" and len(tries) == RETRIES

    ws = Workspace(init(tmp_path).root, store_url=url)
    client = TestClient(create_app(ws, Identity.from_seed("node", b"\x09" * 32)))
    coop = client.get("/api/v1/health").json()["coop"]
    path = "/api/v1/credit/transfer"
    body = json.dumps({"to": MEMBERS[2].did, "amount": 5}).encode()
    headers = {"content-type": "application/json",
               **sign_request(MEMBERS[1], "POST", path, body, int(time.time()), coop=coop)}
    r = client.post(path, content=body, headers=headers)
    assert r.status_code == 503 and r.json()["code"] == "N0903" and "X9999" not in r.text, r.text
    client.close()
    ws.store.close()
    assert _balances(a) == before


def test_a_run_whose_time_another_node_overtook_runs_again(two, monkeypatch):
    """Run A reads the head and takes its time; before A reaches the head, B (whose clock is 10 s
    ahead) commits a receipt. A's receipt would go back in time after B's: A is rolled back and run
    again, and then takes B's time (receipt times never go backwards)."""
    from ccl.store.postgres import PostgresTx

    url, a, b = two
    t0 = int(time.time())
    real_head, pending, attempts = PostgresTx.head, [True], [0]
    real_tx = a.transaction

    def counted():
        attempts[0] += 1
        return real_tx()
    a.transaction = counted

    def head(self):
        h = real_head(self)
        if pending and self.writing:
            pending.clear()                       # once: B overtakes A right after A read the head
            r = session.run(PAY, "pay", [MEMBERS[4].did, 2], store=b, caller=MEMBERS[3].did, signer=MEMBERS[3],
                            log=lambda m: None, clock=lambda: t0 + 10)
            assert r.receipt
        return h
    monkeypatch.setattr(PostgresTx, "head", head)
    r = session.run(PAY, "pay", [MEMBERS[2].did, 1], store=a, caller=MEMBERS[1].did, signer=MEMBERS[1],
                    log=lambda m: None, clock=lambda: t0)
    assert r.receipt and attempts[0] == 2
    receipts = _one_chain(a)
    with a.reader() as tx:
        times = [D.get(tx, c)["payload"]["time"] for c in receipts[-2:]]
    assert receipts[-1] == r.receipt and times == [t0 + 10, t0 + 10]
    assert all(s.ok for s in session.replay(b, live=True))


def test_a_node_starts_beside_running_writers(two):
    """A node starting (opening its store) takes no lock that running runs hold or wait for: with
    a writer's transaction open — it has spent a nonce, so it holds its table — the new store opens.
    (It ran the schema's CREATE INDEX IF NOT EXISTS under the chain head's lock, and deadlocked
    with runs waiting for that lock as a node restarted under load.)"""
    from ccl.store.postgres import PostgresStore

    url, a, b = two
    writing, release, opened = threading.Event(), threading.Event(), threading.Event()

    def writer():
        with a.transaction() as tx:
            assert tx.use_nonce(MEMBERS[1].did, "n-start", int(time.time()), int(time.time())) is None
            writing.set()
            release.wait(120)

    def opener():
        PostgresStore(url).close()
        opened.set()
    w = threading.Thread(target=writer)
    w.start()
    writing.wait()
    o = threading.Thread(target=opener)
    o.start()
    try:
        assert opened.wait(120), "opening a store waited for a running writer"    # (a bound, so a bug cannot hang)
    finally:
        release.set()
        w.join()
        o.join()
