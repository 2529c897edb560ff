"""A workspace founded under another history format takes no new changes (U0709)."""

from ccl.identity import Identity
from ccl.ledger import EngineState
from ccl.pipeline import build
from ccl.runtime import session
from ccl.store.sqlite import SqliteStore
from helpers import found_store


def _dump(store):
    with store.transaction() as tx:
        return session.state_root(tx), tx.head()


def test_a_workspace_of_format_2_refuses_new_changes():
    alice = Identity.from_seed("alice", b"\x01" * 32)
    store = found_store(SqliteStore.memory(), alice)
    admit = build("fn admit(m: Did) -> Bool { add_member(m) }", "admit.ccl")
    with store.transaction() as tx:                  # what a format-2 founding left behind
        s = EngineState(tx)
        genesis = dict(s.get("gov.coop", "genesis"))
        assert genesis.pop("history") == session.HISTORY_VERSION
        s.put("gov.coop", "genesis", genesis)
    before = _dump(store)
    r = session.run(admit, "admit", ["did:key:z6MkBob"], store=store, caller=alice.did, signer=alice, now=0)
    error = r.run.error
    assert not r.receipt and error.code == "U0709", error
    assert "format 2" in error.message and "Upgrading" in error.hints[0]
    assert _dump(store) == before
