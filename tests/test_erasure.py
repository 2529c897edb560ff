"""Issue 15, erasure: a member may have the plain text of their private inputs erased — their
facts, loan purposes and aid addresses (the store's `private` side table). The commitments stay,
so the history still verifies and replays; reads show the commitment where the text was. The
member asks for themselves; holders of `manage_members` may also for a former member; nobody
else may, and a refusal changes nothing."""

import sqlite3

from fastapi.testclient import TestClient

from ccl import private as P
from ccl.identity import Identity
from ccl.node.app import create_app
from ccl.runtime import session
from helpers import store_dump
from test_node import ANA, BO, call, founded
from test_trust import CY, LENDERS, STRANGER, history_text


def _private(folder):
    db = sqlite3.connect(folder / ".ccl" / "state.db")
    try:
        return sorted(db.execute("SELECT subject, text FROM private").fetchall())
    finally:
        db.close()


def _coop(tmp_path):
    ws = founded(tmp_path, [LENDERS])
    client = TestClient(create_app(ws, Identity.from_seed("node", b"\x09" * 32)))
    for m in (BO, CY):
        assert call(client, ANA, "POST", "/api/v1/members", {"member": m.did}).status_code == 200
    for who, path, body in ((BO, "/api/v1/loans", {"amount": 500, "purpose": "rent arrears", "term_days": 30}),
                            (BO, "/api/v1/aid/requests", {"category": "meals", "quantity": 1,
                                                          "location": "12 Elm Street"}),
                            (ANA, f"/api/v1/members/{BO.did}/facts", {"key": "disability", "value": "true"}),
                            (CY, "/api/v1/loans", {"amount": 300, "purpose": "new tools", "term_days": 30})):
        assert call(client, who, "POST", path, body).status_code == 200
    return ws, client


def test_a_member_erases_their_own_texts_and_the_history_still_verifies_and_replays(tmp_path):
    ws, client = _coop(tmp_path)
    assert _private(tmp_path) == sorted([(BO.did, "rent arrears"), (BO.did, "12 Elm Street"), (BO.did, "true"),
                                         (CY.did, "new tools")])
    r = call(client, BO, "POST", f"/api/v1/members/{BO.did}/erase")
    assert r.status_code == 200, r.text
    assert _private(tmp_path) == [(CY.did, "new tools")]                # cy's own text is not bo's to erase
    loans = {l["borrower"]: l["purpose"] for l in call(client, ANA, "GET", "/api/v1/loans").json()["loans"]}
    assert P.is_commitment(loans[BO.did]) and loans[CY.did] == "new tools"   # a steward sees what is left
    (bo,) = [m for m in call(client, ANA, "GET", "/api/v1/members").json()["members"] if m["did"] == BO.did]
    assert isinstance(bo["erased"], int) and P.is_commitment(bo["attributes"]["disability"])   # when; no text
    assert call(client, ANA, "GET", "/api/v1/dag/verify").status_code == 200
    assert all(step.ok for step in session.replay(ws.store, live=True))
    client.close()


def test_an_outsider_and_a_plain_member_cannot_erase_another_members_texts(tmp_path):
    ws, client = _coop(tmp_path)
    before, texts = store_dump(tmp_path), _private(tmp_path)
    for who in (CY, STRANGER):
        r = call(client, who, "POST", f"/api/v1/members/{BO.did}/erase")
        assert r.status_code == 403, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
    assert store_dump(tmp_path) == before and _private(tmp_path) == texts
    client.close()


def test_a_steward_erases_a_former_members_texts(tmp_path):
    ws, client = _coop(tmp_path)
    assert call(client, BO, "POST", f"/api/v1/members/{BO.did}/remove").status_code == 200     # bo leaves
    assert call(client, BO, "POST", f"/api/v1/members/{BO.did}/erase").status_code == 403      # no longer a member
    r = call(client, ANA, "POST", f"/api/v1/members/{BO.did}/erase")                       # manage_members
    assert r.status_code == 200, r.text
    assert [s for s, _ in _private(tmp_path)] == [CY.did]
    never = Identity.from_seed("never", b"\x66" * 32)
    r = call(client, ANA, "POST", f"/api/v1/members/{never.did}/erase")
    assert r.status_code == 403 and "never a member" in r.json()["detail"], r.text
    assert all(step.ok for step in session.replay(ws.store, live=True))
    client.close()


def test_erasure_on_the_command_line(tmp_path):
    """`ccl member erase NAME --as NAME`, in a workspace whose members hold their own keys."""
    from helpers import found

    ccl = found(tmp_path, founder="ana", members=("bo",))
    assert ccl("loan", "request", "1", "a private reason", "30", "--as", "bo").exit_code == 0
    assert b"a private reason" not in history_text(tmp_path)
    assert [t for _, t in _private(tmp_path)] == ["a private reason"]
    r = ccl("member", "erase", "bo", "--as", "bo")
    assert r.exit_code == 0, r.output
    assert _private(tmp_path) == []
    assert ccl("dag", "verify").exit_code == 0
