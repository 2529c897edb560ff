"""Fourth review: attacks on issue 15's erasure (`erase_private`) and corrections
(`correct_transfer`). A failing test is a find (its docstring: severity, cause, fix); a passing
test is an attack the code refuses, kept as a regression test."""

import json
import sqlite3

from helpers import found, store_dump
from test_trust import history_text

BYLAWS = """
contract Coop {
    founder: Steward;
    role Steward { can: [manage_members, manage_roles, correct_entries, manage_credit, manage_currency, mint]; }
    fn noop() -> Bool { true }
}"""


def _coop(tmp_path):
    (tmp_path / "coop.ccl").write_text(BYLAWS)
    return found(tmp_path, founder="ana", members=("bo", "cy"), bylaws=["coop.ccl"])


def _entries(tmp_path):
    db = sqlite3.connect(tmp_path / ".ccl" / "state.db")
    try:
        return [k for (k,) in db.execute("SELECT key FROM kv WHERE namespace = 'ledger.entry' ORDER BY key")]
    finally:
        db.close()


def _private(tmp_path):
    db = sqlite3.connect(tmp_path / ".ccl" / "state.db")
    try:
        return sorted(db.execute("SELECT subject, text FROM private").fetchall())
    finally:
        db.close()


def _new(tmp_path, before, prefix):
    (e,) = [k for k in _entries(tmp_path) if k not in before and k.startswith(prefix)]
    return e


def _bal(ccl, who, symbol=None):
    args = ("currency", "balance", symbol, who) if symbol else ("credit", "balance", who)
    r = ccl(*args, "--json", "--as", who)
    assert r.exit_code == 0, r.output
    return json.loads(r.output)["balance"]


def _refused_and_unchanged(tmp_path, ccl, *args):
    before = store_dump(tmp_path)
    r = ccl(*args)
    assert r.exit_code != 0, r.output
    assert "Traceback" not in r.output and "X9999" not in r.output, r.output
    assert store_dump(tmp_path) == before
    return r


def test_a_correction_moves_a_soul_bound_token_between_members(tmp_path):
    """Severity: medium. A RIV transfer made while RIV was transferable, then RIV made soul-bound
    (`currency policy RIV transferable 0`): the payee (or a correct_entries holder) still moves the
    token to another member with `credit correct`. Cause: `Ledger._validate` refuses
    non-transferable currencies only for kind == "transfer", and correct_transfer posts kind
    "correction" through `ledger.apply`. Fix: in correct_transfer (or `_validate`, for kind
    "correction" too) refuse when the entry's currency is no longer transferable (Refused
    "transferable"), or treat a correction as burn+mint only with `mint:{symbol}`."""
    ccl = _coop(tmp_path)
    assert ccl("currency", "create", "RIV", "Riv", "--as", "ana").exit_code == 0
    assert ccl("currency", "mint", "RIV", "cy", "10", "--as", "ana").exit_code == 0
    before = _entries(tmp_path)
    assert ccl("currency", "transfer", "RIV", "bo", "4", "--as", "cy").exit_code == 0
    entry = _new(tmp_path, before, "transfer-")
    assert ccl("currency", "policy", "RIV", "transferable", "0", "--as", "ana").exit_code == 0
    assert ccl("currency", "transfer", "RIV", "cy", "4", "--as", "bo").exit_code != 0      # soul-bound now
    _refused_and_unchanged(tmp_path, ccl, "credit", "correct", entry, "move it anyway", "--as", "bo")
    assert (_bal(ccl, "bo", "RIV"), _bal(ccl, "cy", "RIV")) == (4, 6)


def test_entries_that_are_not_transfers_cannot_be_corrected(tmp_path):
    """Refused: issue, mint and a correction itself (kind not in CORRECTABLE), an unknown id, and
    the id of a pending (unconfirmed) hours record — each with the store unchanged."""
    ccl = _coop(tmp_path)
    assert ccl("currency", "create", "RIV", "Riv", "--as", "ana").exit_code == 0
    before = _entries(tmp_path)
    assert ccl("currency", "mint", "RIV", "bo", "10", "--as", "ana").exit_code == 0
    mint = _new(tmp_path, before, "mint-")
    before = _entries(tmp_path)
    assert ccl("credit", "issue", "bo", "5", "--as", "cy").exit_code == 0
    issue = _new(tmp_path, before, "issue-")
    before = _entries(tmp_path)
    assert ccl("credit", "transfer", "bo", "3", "--as", "cy").exit_code == 0
    transfer = _new(tmp_path, before, "transfer-")
    before = _entries(tmp_path)
    assert ccl("credit", "correct", transfer, "wrong member", "--as", "bo").exit_code == 0
    correction = _new(tmp_path, before, "correction-")
    record = json.loads(ccl("hours", "log", "cy", "60", "garden", "--as", "bo", "--json").output)["result"]
    for who in ("bo", "ana"):
        for e in (mint, issue, correction, record, "transfer-999", "", "hours-999"):
            _refused_and_unchanged(tmp_path, ccl, "credit", "correct", e, "undo", "--as", who)
        _refused_and_unchanged(tmp_path, ccl, "credit", "correct", transfer, "twice", "--as", who)
    assert ccl("dag", "verify").exit_code == 0 and ccl("dag", "replay").exit_code == 0


def test_a_correction_cannot_take_the_payee_below_their_floor_nor_a_blank_reason(tmp_path):
    """Refused: bo received 5 and spent it; with a floor of 0 the reversal would take bo below it."""
    ccl = _coop(tmp_path)
    assert ccl("credit", "limit", "bo", "0", "100000", "--as", "ana").exit_code == 0
    before = _entries(tmp_path)
    assert ccl("credit", "transfer", "bo", "5", "--as", "cy").exit_code == 0
    entry = _new(tmp_path, before, "transfer-")
    _refused_and_unchanged(tmp_path, ccl, "credit", "correct", entry, "   ", "--as", "bo")
    assert ccl("credit", "transfer", "ana", "5", "--as", "bo").exit_code == 0
    total = sum(_bal(ccl, m) for m in ("ana", "bo", "cy"))
    for who in ("bo", "ana"):
        _refused_and_unchanged(tmp_path, ccl, "credit", "correct", entry, "undo", "--as", who)
    assert sum(_bal(ccl, m) for m in ("ana", "bo", "cy")) == total == 0


def test_the_payer_a_bystander_and_an_outsider_cannot_correct(tmp_path):
    ccl = _coop(tmp_path)
    assert ccl("id", "new", "dee").exit_code == 0
    before = _entries(tmp_path)
    assert ccl("credit", "transfer", "bo", "5", "--as", "cy").exit_code == 0
    entry = _new(tmp_path, before, "transfer-")
    for who in ("cy", "dee"):
        _refused_and_unchanged(tmp_path, ccl, "credit", "correct", entry, "mine", "--as", who)


def test_a_steward_corrects_a_transfer_to_a_member_who_left_and_the_history_replays(tmp_path):
    """Allowed (correct_entries), zero-sum, and the history verifies and replays; the former
    member can no longer correct it themselves."""
    ccl = _coop(tmp_path)
    before = _entries(tmp_path)
    assert ccl("credit", "transfer", "bo", "5", "--as", "cy").exit_code == 0
    entry = _new(tmp_path, before, "transfer-")
    assert ccl("member", "remove", "bo", "--as", "bo").exit_code == 0
    _refused_and_unchanged(tmp_path, ccl, "credit", "correct", entry, "left", "--as", "bo")
    r = ccl("credit", "correct", entry, "bo left", "--as", "ana")
    assert r.exit_code == 0, r.output
    assert sum(_bal(ccl, m) for m in ("ana", "cy")) == 0
    assert ccl("dag", "verify").exit_code == 0 and ccl("dag", "replay").exit_code == 0


def test_hours_record_corrected_once_then_refused_and_replays(tmp_path):
    ccl = _coop(tmp_path)
    record = json.loads(ccl("hours", "log", "cy", "60", "garden", "--as", "bo", "--json").output)["result"]
    _refused_and_unchanged(tmp_path, ccl, "credit", "correct", record, "pending", "--as", "bo")
    assert ccl("hours", "confirm", record, "--as", "cy").exit_code == 0
    assert ccl("credit", "correct", record, "twice", "--as", "bo").exit_code == 0
    _refused_and_unchanged(tmp_path, ccl, "credit", "correct", record, "again", "--as", "ana")
    _refused_and_unchanged(tmp_path, ccl, "hours", "confirm", record, "--as", "cy")
    assert ccl("dag", "verify").exit_code == 0 and ccl("dag", "replay").exit_code == 0


def test_a_plain_member_and_an_outsider_cannot_erase_another_members_texts_on_the_command_line(tmp_path):
    ccl = _coop(tmp_path)
    assert ccl("id", "new", "dee").exit_code == 0
    assert ccl("loan", "request", "1", "bo's private reason", "30", "--as", "bo").exit_code == 0
    texts = _private(tmp_path)
    assert [t for _, t in texts] == ["bo's private reason"]
    for who in ("cy", "dee"):
        _refused_and_unchanged(tmp_path, ccl, "member", "erase", "bo", "--as", who)
        assert _private(tmp_path) == texts
    _refused_and_unchanged(tmp_path, ccl, "member", "erase", "dee", "--as", "ana")   # never a member
    assert ccl("member", "erase", "cy", "--as", "cy").exit_code == 0                  # cy's own: none of bo's
    assert _private(tmp_path) == texts
    assert ccl("member", "erase", "bo", "--as", "bo").exit_code == 0
    assert _private(tmp_path) == []
    assert ccl("dag", "verify").exit_code == 0 and ccl("dag", "replay").exit_code == 0


# ------------------------------------------------------------------ hostile modules (session.run)

SEALS = ('contract T { private: "ask.purpose = request_loan.purpose, ask_then_erase.purpose = request_loan.purpose"; '
         'state last: String = ""; fn ask(purpose: String) -> Bool { last = purpose; true } '
         'fn ask_then_erase(purpose: String, me: Did) -> Bool { last = purpose; erase_private(me) } '
         'fn erase_then_fail(me: Did) -> Bool { erase_private(me); require(false, "changed my mind"); true } '
         'fn erase(m: Did) -> Bool { erase_private(m) } '
         'fn admit(m: Did) -> Bool { add_member(m) } }')


def _hostile(tmp_path):
    from test_node import ANA, BO, founded

    ws = founded(tmp_path)
    assert _call(ws, ANA, "admit", [BO.did]).run.ok
    return ws


def _call(ws, who, entry, args):
    from ccl.pipeline import build
    from ccl.runtime import session

    return session.run(build(SEALS, "t.ccl"), entry, args, store=ws.store, caller=who.did, signer=who,
                       log=lambda m: None)


def test_a_text_sealed_in_the_run_that_erases_survives_the_erasure(tmp_path):
    """Severity: LOW. A module whose run both takes a private input about the caller (a declared
    private parameter) and calls `erase_private(caller)`: the member record says `erased`, yet
    the text just given stays in the side table. Cause: session.run puts the run's private
    texts (`private`, `sealed`) with `tx.private_put` *after* the run, so the erasure inside the
    run had nothing to delete. Fix: put the texts before running (they are rolled back with the
    savepoint anyway), or have private_put skip/erase texts whose subject's member record got
    `erased` at the run's time."""
    from test_node import BO

    ws = _hostile(tmp_path)
    r = _call(ws, BO, "ask_then_erase", ["my secret", BO.did])
    assert r.run.ok, r.run.error
    assert b"my secret" not in history_text(tmp_path)            # it was sealed: only its commitment
    assert [t for s, t in _private(tmp_path) if s == BO.did] == []


def test_an_erasure_in_a_run_that_fails_is_rolled_back(tmp_path):
    from test_node import BO

    ws = _hostile(tmp_path)
    assert _call(ws, BO, "ask", ["bo's text"]).run.ok
    before, texts = store_dump(tmp_path), _private(tmp_path)
    assert texts == [(BO.did, "bo's text")]
    r = _call(ws, BO, "erase_then_fail", [BO.did])
    assert not r.run.ok and r.receipt is None
    assert store_dump(tmp_path) == before and _private(tmp_path) == texts


def test_a_plain_members_module_cannot_erase_another_members_texts(tmp_path):
    from test_node import ANA, BO

    ws = _hostile(tmp_path)
    assert _call(ws, ANA, "ask", ["ana's text"]).run.ok
    before, texts = store_dump(tmp_path), _private(tmp_path)
    r = _call(ws, BO, "erase", [ANA.did])
    assert not r.run.ok and r.receipt is None and "X9999" not in str(r.run.error)
    assert store_dump(tmp_path) == before and _private(tmp_path) == texts
    from ccl.runtime import session
    assert _call(ws, ANA, "erase", [ANA.did]).run.ok and _private(tmp_path) == []
    assert all(step.ok for step in session.replay(ws.store, live=True))


# ------------------------------------------------------------------ a hostile HTTP client

def _node(tmp_path):
    from fastapi.testclient import TestClient

    from ccl.identity import Identity
    from ccl.node.app import create_app
    from test_node import ANA, BO, call, founded
    from test_trust import CY

    ws = founded(tmp_path, [BYLAWS])
    client = TestClient(create_app(ws, Identity.from_seed("node", b"\x09" * 32)))
    for m in (BO, CY):
        assert call(client, ANA, "POST", "/api/v1/members", {"member": m.did}).status_code == 200
    assert call(client, CY, "POST", "/api/v1/credit/transfer", {"to": BO.did, "amount": 5}).status_code == 200
    return ws, client


def test_hostile_bodies_and_paths_for_corrections_and_erasure_are_refused_without_change(tmp_path):
    from ccl.runtime import session
    from test_node import ANA, BO, call
    from test_trust import CY, STRANGER

    ws, client = _node(tmp_path)
    (entry,) = [e for e in _entries(tmp_path) if e.startswith("transfer-")]
    before = store_dump(tmp_path)
    bodies = [{}, {"entry": 5, "reason": "x"}, {"entry": [entry], "reason": "x"}, {"entry": {"a": 1}, "reason": "x"},
              {"entry": entry}, {"entry": entry, "reason": 7}, {"entry": entry, "reason": ""},
              {"entry": "x" * 100_000, "reason": "x"}, {"entry": None, "reason": "x"},
              {"entry": entry, "reason": "x", "caller": BO.did}, {"entry": "\u0000" + entry, "reason": "x"}]
    for who in (BO, CY, STRANGER, ANA):
        for body in bodies:
            r = call(client, who, "POST", "/api/v1/credit/corrections", body)
            assert 400 <= r.status_code < 500, (who.name, body, r.status_code, r.text[:300])
            assert "X9999" not in r.text and "Traceback" not in r.text
    for path in ("/api/v1/members/not-a-did/erase", f"/api/v1/members/{ws.coop_key().did}/erase",
                 f"/api/v1/members/{ANA.did}/erase", f"/api/v1/members/{BO.did}x/erase",
                 f"/api/v1/members/{BO.did.upper()}/erase"):
        r = call(client, CY, "POST", path)
        assert 400 <= r.status_code < 500, (path, r.status_code, r.text[:300])
        assert "X9999" not in r.text
    assert store_dump(tmp_path) == before
    r = call(client, BO, "POST", "/api/v1/credit/corrections", {"entry": entry, "reason": "meant for ana"})
    assert r.status_code == 200, r.text
    r = call(client, BO, "POST", "/api/v1/credit/corrections", {"entry": entry, "reason": "again"})
    assert r.status_code in (400, 403, 409, 422), r.text
    assert all(step.ok for step in session.replay(ws.store, live=True))
    client.close()


def test_concurrent_corrections_of_one_entry_exactly_one_wins_and_money_is_kept(tmp_path):
    """Refused: eight distinct signed corrections of the same transfer at once (the payee and a
    steward, each its own nonce): one 200, the rest refused, the amount reversed once."""
    import threading

    from ccl.runtime import session
    from test_node import ANA, BO, call
    from test_trust import CY

    ws, client = _node(tmp_path)
    (entry,) = [e for e in _entries(tmp_path) if e.startswith("transfer-")]
    codes = []
    threads = [threading.Thread(target=lambda i=i: codes.append(call(
        client, (BO, ANA)[i % 2], "POST", "/api/v1/credit/corrections", {"entry": entry, "reason": f"race {i}"},
        nonce=f"race-correct-{i}").status_code)) for i in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(codes)[0] == 200 and codes.count(200) == 1 and all(400 <= c < 500 for c in codes if c != 200), codes
    bal = {m.name: call(client, m, "GET", f"/api/v1/credit/balance/{m.did}").json()["balance"] for m in (ANA, BO, CY)}
    assert bal == {"ana": 0, "bo": 0, "cy": 0}, bal
    assert [e for e in _entries(tmp_path) if e.startswith("correction-")] and \
        len([e for e in _entries(tmp_path) if e.startswith("correction-")]) == 1
    assert all(step.ok for step in session.replay(ws.store, live=True))
    client.close()


# ------------------------------------------------------------------ `payee of` in a proposal's execution

def test_an_execution_corrects_only_what_was_paid_to_the_coop_unless_its_kind_holds_correct_entries():
    """Refused: a kind with `can: [treasury]` may correct a transfer paid to the co-op (its own
    consent as payee) but not one paid to a member, nor an unknown or non-text entry; a kind
    without treasury nor correct_entries nothing; `can: [correct_entries]` any (the steward's
    permission granted by vote)."""
    import pytest

    from ccl import governance as G
    from ccl.ledger import EngineState, Ledger, Refused
    from ccl.ledger import engines as E
    from ccl.runtime import authority as AUTH
    from ccl.store.sqlite import SqliteStore

    store = SqliteStore.memory()
    coop, ana, bo = "did:key:zCoop", "did:key:zAna", "did:key:zBo"
    with store.transaction() as tx:
        L = Ledger(EngineState(tx), 0)
        G.found(L, coop, ana, [], demo=True)
        G.add_member(L, ana, bo)
        E.transfer_credit(L, ana, ana, bo, 5)
        E.transfer_credit(L, ana, ana, coop, 7)
        entries = {e["to"]: e["id"] for e in (L.entry(f"transfer-{i}") for i in range(1, 10)) if e}
        to_bo, to_coop = entries[bo], entries[coop]
        treasury = AUTH.Principal(coop, coop, frozenset({"treasury"}))
        for args in ((to_bo, "x"), ("transfer-999", "x"), (5, "x"), (None, "x")):
            with pytest.raises(Refused, match="does not let its execution"):
                AUTH.authorize(L, treasury, "correct_transfer", args)
        AUTH.authorize(L, treasury, "correct_transfer", (to_coop, "returned"))        # paid to the co-op
        with pytest.raises(Refused):
            AUTH.authorize(L, AUTH.Principal(coop, coop, frozenset()), "correct_transfer", (to_coop, "x"))
        AUTH.authorize(L, AUTH.Principal(coop, coop, frozenset({"correct_entries"})), "correct_transfer",
                       (to_bo, "decided by vote"))
    store.close()
