"""The state root commits to the content of the store: the incremental accumulator equals a full
recomputation on both stores, depends only on the final rows (not on their order or history),
and `ccl dag verify` / `ccl dag replay` name a row edited outside ccl."""

import json
import sqlite3

import pytest
from hypothesis import given, settings, strategies as st

from ccl import canon
from ccl.identity import Identity
from ccl.ledger import EngineState, Ledger
from ccl.ledger import engines as E
from ccl.pipeline import build
from ccl.runtime import session
from ccl.store import root
from ccl.store.sqlite import SqliteStore
from helpers import cli_in, found, found_store

COUNTER = """
contract Counter {
    state count: Integer = 0;
    fn bump(n: Integer) -> Integer { count = count + n; count }
    fn pay(to: Did, amount: Integer) -> Bool { transfer_credit(caller(), to, amount) }
}
"""
ANA = Identity.from_seed("ana", b"\x01" * 32)
BO = Identity.from_seed("bo", b"\x02" * 32)


def founded(store):
    """A demo co-op in `store` with ana as founder and bo admitted by her."""
    return found_store(store, ANA, [BO.did])


# ---------------------------------------------------------------- (a) incremental = from scratch

def test_the_root_after_a_history_is_the_root_from_scratch(store):
    founded(store)
    verified = build(COUNTER, "counter.ccl")
    roots = []
    for i, n in enumerate((3, 4)):
        roots.append(session.run(verified, "bump", [n], store=store, caller=ANA.did, signer=ANA, now=i).state_root)
    roots.append(session.run(verified, "pay", [BO.did, 25], store=store, caller=ANA.did, signer=ANA,
                             now=9).state_root)
    assert None not in roots and len(set(roots)) == 3
    with store.transaction() as tx:
        kept = tx.root_accumulator()
        assert kept == tx.recompute_root_accumulator() != bytes(32)
        assert session.state_root(tx) == root.state_root_of(kept) == roots[-1]
        assert ("meta", "digest") not in {(n, k) for n, k, _ in tx.kv_rows()}     # no write digest any more
    assert all(step.ok for step in session.replay(store, live=True))


def test_a_rewrite_with_the_same_bytes_changes_nothing_and_a_store_without_accumulator_counts_once(store):
    with store.transaction() as tx:
        tx.kv_put("ns", "a", b"1")
        tx.put_state("C", "m", b"x")
        first = tx.root_accumulator()
        tx.kv_put("ns", "a", b"1")
        assert tx.root_accumulator() == first
    with store.transaction() as tx:
        tx.c.execute("DELETE FROM meta WHERE key = 'state_rows'")      # as in a store made before it
    with store.transaction() as tx:
        assert tx.root_accumulator() == first      # recomputed from the rows, once
        tx.kv_put("ns", "b", b"2")
        assert tx.root_accumulator() == tx.recompute_root_accumulator()


def test_the_row_hash_is_domain_separated_and_length_prefixed():
    assert root.row_hash(("kv", "ab", "c", b"")) != root.row_hash(("kv", "a", "bc", b""))
    assert root.row_hash(("kv", "n", "k", b"v")) != root.row_hash(("contract_state", "n", "k", b"v"))
    assert root.total([]) == 0 and root.state_root_of(bytes(32)).startswith("bafyrei")


# ---------------------------------------------------------------- (b) order independence

names = st.sampled_from(["a", "b", "ab", "", "é"])
writes = st.lists(st.tuples(st.sampled_from(["kv", "state"]), names, names, st.binary(max_size=6)), max_size=25)


def _write(tx, w):
    kind, a, b, value = w
    if kind == "kv":
        tx.kv_put(a, b, value)
    else:
        tx.put_state(a, b, value)


@settings(max_examples=150, deadline=None)
@given(writes, st.data())
def test_any_history_gives_the_root_of_its_final_rows_in_any_order(history, data):
    final = {}
    for kind, a, b, value in history:                # the last write of each row wins
        final[(kind, a) if kind == "state" else (kind, a, b)] = (kind, a, b, value)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(history)), max_size=3)))
    lived, fresh = SqliteStore.memory(), SqliteStore.memory()
    try:
        for lo, hi in zip([0, *cuts], [*cuts, len(history)]):     # the history, in several transactions
            with lived.transaction() as tx:
                for w in history[lo:hi]:
                    _write(tx, w)
        with fresh.transaction() as tx:
            for w in data.draw(st.permutations(sorted(final.values()))):
                _write(tx, w)
        with lived.transaction() as a, fresh.transaction() as b:
            assert a.root_accumulator() == b.root_accumulator() == a.recompute_root_accumulator()
            assert session.state_root(a) == session.state_root(b)
            assert root.diff_rows(a, b) == []
    finally:
        lived.close()
        fresh.close()


# ---------------------------------------------------------------- (c) edits outside ccl are named

ccl = cli_in


@pytest.fixture
def ws(tmp_path):
    (tmp_path / "counter.ccl").write_text(COUNTER)
    found(tmp_path, founder="alice", members=("bob",))         # a demo co-op: alice founds it, admits bob
    for args in (("credit", "issue", "--as", "alice", "bob", "100"),
                 ("run", "counter.ccl", "--fn", "bump", "--args", "[5]", "--as", "alice")):
        r = ccl(tmp_path, *args)
        assert r.exit_code == 0, r.output
    return tmp_path


def did(ws, name):
    return ccl(ws, "id", "show", name).stdout.strip()


def edit(ws, sql, args=()):
    conn = sqlite3.connect(ws / ".ccl" / "state.db")      # WAL: a committed write is seen by the next reader
    try:
        conn.execute(sql, args)
        conn.commit()
    finally:
        conn.close()


def _row(ws, sql, args):
    conn = sqlite3.connect(ws / ".ccl" / "state.db")
    try:
        return conn.execute(sql, args).fetchone()
    finally:
        conn.close()


def edit_balance(ws):
    key = f"CREDIT/{did(ws, 'bob')}"
    (value,) = _row(ws, "SELECT value FROM kv WHERE namespace = 'ledger.account' AND key = ?", (key,))
    account = canon.decode(value)
    account["balance"] += 1000
    edit(ws, "UPDATE kv SET value = ? WHERE namespace = 'ledger.account' AND key = ?", (canon.encode(account), key))
    return f"kv ledger.account/{key} was edited"


def edit_membership(ws):
    key = did(ws, "bob")
    (value,) = _row(ws, "SELECT value FROM kv WHERE namespace = 'gov.members' AND key = ?", (key,))
    member = canon.decode(value)
    member["active"] = False
    edit(ws, "UPDATE kv SET value = ? WHERE namespace = 'gov.members' AND key = ?", (canon.encode(member), key))
    return f"kv gov.members/{key} was edited"


def edit_contract(ws):
    # counter.ccl is not adopted, so its state is kept under its module CID: "{cid}/Counter"
    key = f"{build(COUNTER, 'counter.ccl').cid}/Counter"
    (value,) = _row(ws, "SELECT value FROM contract_state WHERE contract = ?", (key,))
    state = canon.decode(value)
    state["count"]["value"] = 500
    edit(ws, "UPDATE contract_state SET value = ? WHERE contract = ?", (canon.encode(state), key))
    return f"contract_state {key} was edited"


def add_role(ws):
    """Hand bob the founder's role (manage_members, manage_roles) behind ccl's back."""
    edit(ws, "INSERT INTO kv (namespace, key, value) VALUES ('gov.roles', ?, ?)",
         (did(ws, "bob"), canon.encode(["founder"])))
    return f"kv gov.roles/{did(ws, 'bob')} was added"


def error_of(r):
    return json.loads(r.stdout.strip().splitlines()[-1])["error"]


def test_an_unedited_workspace_passes_verify_and_replay(ws):
    r = ccl(ws, "dag", "verify", "--json")
    assert r.exit_code == 0, r.output
    assert ccl(ws, "dag", "replay").exit_code == 0


@pytest.mark.parametrize("change", [edit_balance, edit_membership, edit_contract, add_role])
def test_a_row_edited_outside_ccl_is_named_by_verify_and_replay(ws, change):
    named = change(ws)
    for command in ("verify", "replay"):
        r = ccl(ws, "dag", command, "--json")
        assert r.exit_code == 4, (command, r.output)
        e = error_of(r)
        assert e["code"] == "I0804" and "the live state differs from the receipts" in e["message"], e
        assert named in e["message"], (named, e)
        assert "Traceback" not in r.output


def test_an_edited_accumulator_is_caught_by_verify(ws):
    edit(ws, "UPDATE meta SET value = ? WHERE key = 'state_rows'", ("0" * 64,))
    r = ccl(ws, "dag", "verify", "--json")
    assert r.exit_code == 4 and error_of(r)["code"] == "I0804" and "accumulator" in error_of(r)["message"]
    edit(ws, "UPDATE meta SET value = 'garbage' WHERE key = 'state_rows'")
    r = ccl(ws, "dag", "verify", "--json")
    assert r.exit_code == 4 and "accumulator" in error_of(r)["message"], r.output
    r = ccl(ws, "run", "counter.ccl", "--fn", "bump", "--args", "[1]", "--as", "alice", "--json")
    assert r.exit_code != 0 and "Traceback" not in r.output and "accumulator" in error_of(r)["message"]


def test_engines_writes_are_seen_without_a_digest(tmp_path):
    """A run whose only change is in the engines' rows still writes a receipt (the accumulator moved)."""
    store = founded(SqliteStore(str(tmp_path / "s.db")))
    try:
        with store.transaction() as tx:
            L = Ledger(EngineState(tx), 0)
            E.ensure_credit(L)
            L.set_limits(E.CREDIT, ANA.did, -100, 1_000_000)
        verified = build(COUNTER, "counter.ccl")
        r = session.run(verified, "pay", [BO.did, 10], store=store, caller=ANA.did, signer=ANA, now=1)
        assert r.run.ok and r.receipt is not None
    finally:
        store.close()
