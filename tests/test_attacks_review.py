"""Adversarial review of Issue 14 (commit 1448ef0): nonces spent once whatever the outcome,
private inputs as salted commitments, and who reads what.

Part 1 — FINDS: each test below FAILS today because of the bug its docstring describes.
Part 2 — REFUSED ATTACKS: regression tests; they pass today (the attack is refused) and must
keep passing.
"""

import hashlib
import json
import threading
import time

import pytest
from fastapi.testclient import TestClient

from ccl import private as P
from ccl.identity import Identity
from ccl.node.app import create_app
from helpers import sign_for, store_dump
from test_node import ANA, BO, call, founded
from test_trust import CY, LENDERS, STRANGER, history_text, side, signed

NODE_KEY = Identity.from_seed("node", b"\x09" * 32)

PEEK = """
fn role_of(m: Did, r: String) -> Bool { has_role(m, r) }
fn member(m: Did) -> Bool { is_member(m) }
fn put(t: String) -> String { dag_put(t) }
fn get(c: String) -> String { dag_get(c) }
"""


@pytest.fixture
def coop(tmp_path):
    """ana (founder, Steward: manage_members, approve_loan, coordinate_aid), bo and cy (plain
    members); STRANGER is a key never admitted."""
    ws = founded(tmp_path, [LENDERS])
    client = TestClient(create_app(ws, NODE_KEY))
    for m in (BO, CY):
        assert call(client, ANA, "POST", "/api/v1/members", {"member": m.did}).status_code == 200
    yield tmp_path, client
    client.close()


def _clocked(tmp_path):
    """A node whose clock the test sets (`now[0]`)."""
    ws = founded(tmp_path, [LENDERS])
    now = [int(time.time())]
    client = TestClient(create_app(ws, NODE_KEY, clock=lambda: now[0]))
    assert call(client, ANA, "POST", "/api/v1/members", {"member": BO.did}, t=now[0]).status_code == 200
    return client, now


def _receipt(client, reader, cid) -> dict:
    r = call(client, reader, "GET", f"/api/v1/dag/blocks/{cid}")
    assert r.status_code == 200, r.text
    return r.json()["block"]["payload"]


def _body_hashes(body: dict) -> set:
    """The SHA-256 of a JSON body as the usual clients write it (ccl.client's compact form, and
    json.dumps' default)."""
    return {hashlib.sha256(json.dumps(body, separators=sep).encode()).hexdigest()
            for sep in ((",", ":"), (", ", ": "))}


# =====================================================================================================
# Part 1 — FINDS (these fail today)
# =====================================================================================================

def test_find_receipt_body_hash_lets_any_member_guess_a_private_member_fact(coop):
    """HIGH. A private member fact is replaced by a salted commitment, but the receipt also
    carries the member's signed request evidence, whose `body_sha256` is the SHA-256 of the
    *plain* JSON body `{"key":"disability","value":"true"}` — unsalted. Any member (who reads the
    whole DAG) hashes a handful of guesses and learns the fact the salt was meant to hide.
    Cause: ccl.node.auth.check records sha256(body) of the un-sealed body in the evidence, and
    the receipt keeps it (ccl.runtime.session `extra["request"]`). Fix: have the client add a
    random salt field to a body that carries a private input (the node refuses one without
    it), so the body hash commits to a secret too; or let the client seal (commitment in the
    signed body, salt and text beside it, outside the signed bytes)."""
    folder, client = coop
    r = call(client, ANA, "POST", f"/api/v1/members/{BO.did}/facts", {"key": "disability", "value": "true"})
    assert r.status_code == 200, r.text
    seen = _receipt(client, CY, r.json()["receipt"])          # cy: a plain member, no manage_members
    assert P.is_commitment(seen["args"][2])                    # the commitment is fine …
    digest = seen["request"]["body_digest"]
    guesses = [v for v in ("false", "true", "yes", "no", "0", "1")
               if digest in _body_hashes({"key": "disability", "value": v})]
    assert guesses == [], f"cy learnt bo's private fact from the receipt's body hash: {guesses}"


def test_find_receipt_body_hash_lets_any_member_guess_a_loan_purpose(coop):
    """HIGH. Same leak for a loan's purpose (private to the borrower and `approve_loan`): a plain
    member reads the receipt, and the amount and term are in its args, so only the purpose is
    unknown — a list of likely purposes is enough. Cause and fix: as above."""
    folder, client = coop
    purpose = "rent arrears"
    r = call(client, BO, "POST", "/api/v1/loans", {"amount": 500, "purpose": purpose, "term_days": 30})
    assert r.status_code == 200, r.text
    seen = _receipt(client, CY, r.json()["receipt"])
    shown = call(client, CY, "GET", "/api/v1/loans").json()["loans"][0]["purpose"]
    assert P.is_commitment(shown)                              # the read hides it …
    digest = seen["request"]["body_digest"]
    likely = ("car repair", "medical bills", "rent arrears", "tuition", "debt", "funeral")
    guesses = [p for p in likely if digest in _body_hashes({"amount": 500, "purpose": p, "term_days": 30})]
    assert guesses == [], f"cy learnt bo's loan purpose from the receipt's body hash: {guesses}"


def test_find_receipt_body_hash_lets_any_member_guess_an_aid_address(coop):
    """HIGH. Same leak for an aid request's street address (private to the requester and
    `coordinate_aid`): addresses are guessable from a street list. Cause and fix: as above."""
    folder, client = coop
    body = {"category": "meals", "quantity": 2, "location": "12 Elm Street"}
    r = call(client, CY, "POST", "/api/v1/aid/requests", body)
    assert r.status_code == 200, r.text
    assert b"12 Elm Street" not in history_text(folder)
    digest = _receipt(client, BO, r.json()["receipt"])["request"]["body_digest"]
    streets = [f"{n} {s} Street" for s in ("Oak", "Elm", "High") for n in range(1, 20)]
    found = [s for s in streets if digest in _body_hashes({**body, "location": s})]
    assert found == [], f"bo found cy's address from the receipt's body hash: {found}"


def test_find_outsider_runs_a_members_contract_to_learn_roles_and_membership(coop):
    """MEDIUM. A key never admitted calls a contract a member uploaded
    (POST /api/v1/contracts/{cid}/call has no membership check) and its host reads without a
    `who` (`has_role`, `is_member`, `has_permission`, `proposal_status`, `member_price`) answer:
    the stranger learns who holds which role and who is a member — governance records the
    docs give to members only ("a non-member: their own aid entries and their own receipts").
    Cause: ccl.runtime.host binds these reads without AUTH.authorize, and contract_call
    does not refuse non-members. Fix: give those rows `who="anyone"` (member-only, like
    credit_balance), or refuse contract calls by non-members outside `open_operations`."""
    folder, client = coop
    cid = call(client, BO, "POST", "/api/v1/contracts", {"source": PEEK, "name": "peek.ccl"}).json()["cid"]
    r = call(client, STRANGER, "POST", f"/api/v1/contracts/{cid}/call",
             {"function": "role_of", "args": [ANA.did, "Steward"]})
    assert r.status_code == 403, f"a stranger learnt ana's role: {r.text}"
    r = call(client, STRANGER, "POST", f"/api/v1/contracts/{cid}/call", {"function": "member", "args": [CY.did]})
    assert r.status_code == 403, f"a stranger learnt that cy is a member: {r.text}"


def test_find_outsider_reads_a_members_dag_text_through_dag_get(coop):
    """MEDIUM. `dag_get` has no `who`: a stranger calling a member's uploaded contract reads a
    text block bo stored with `dag_put`, although the DAG routes refuse non-members every block
    that is not a receipt of their own. Cause: host.py binds `dag_get` unguarded. Fix: guard it
    like `dag_put` (`who="anyone"`, i.e. members)."""
    folder, client = coop
    cid = call(client, BO, "POST", "/api/v1/contracts", {"source": PEEK, "name": "peek.ccl"}).json()["cid"]
    put = call(client, BO, "POST", f"/api/v1/contracts/{cid}/call", {"function": "put", "args": ["bo's note"]})
    assert put.status_code == 200, put.text
    block = put.json()["result"]
    assert call(client, STRANGER, "GET", f"/api/v1/dag/blocks/{block}").status_code == 404   # the route refuses
    r = call(client, STRANGER, "POST", f"/api/v1/contracts/{cid}/call", {"function": "get", "args": [block]})
    assert "bo's note" not in r.text, f"a stranger read bo's DAG text: {r.text}"


def test_find_contract_upload_nonce_is_never_spent(coop):
    """LOW. POST /api/v1/contracts checks the signature but never spends its nonce (`signed`
    spends only for GET, and the upload does not run): the same signed upload is accepted again
    and again within the window — also when refused (a stranger's upload, a parse error).
    Cause: contract_upload never calls `spend`. Fix: call `spend(evidence)` in
    contract_upload before answering (one line: refuse with A0006 if it returns a reason)."""
    folder, client = coop
    for member, source in ((BO, PEEK), (STRANGER, PEEK), (BO, "fn (")):
        send = signed(client, member, "POST", "/api/v1/contracts", {"source": source, "name": "p.ccl"},
                      nonce=f"upload-{member.name}-{len(source)}")
        send()
        again = send()
        assert again.status_code == 409 and again.json()["code"] == "A0006", (member.name, again.text)


def test_find_contract_call_refused_before_running_keeps_its_nonce(coop):
    """LOW. A contract call refused before its run starts — an unknown CID (404), an unknown
    function or wrong arguments (422, a CclError out of session.run) — does not spend its
    nonce, so the very same signed request can be sent again later (e.g. once the module is
    on the node). Cause: contract_call returns before `run`, and app.run's `except CclError`
    does not spend. Fix: spend the nonce on those paths (as run_invocation does)."""
    folder, client = coop
    cid = call(client, BO, "POST", "/api/v1/contracts", {"source": PEEK, "name": "peek.ccl"}).json()["cid"]
    unknown = "bafyreicn44vo27fqdn5me45bozt5p2p3rbtcyxokwr647uax22hieho6pq"
    for i, (target, body) in enumerate(((unknown, {"function": "member", "args": [BO.did]}),
                                        (cid, {"function": "nope", "args": []}),
                                        (cid, {"function": "member", "args": [1, 2]}))):
        send = signed(client, BO, "POST", f"/api/v1/contracts/{target}/call", body, nonce=f"call-nonce-{i}")
        first = send()
        assert first.status_code in (404, 422), first.text
        again = send()
        assert again.status_code == 409 and again.json()["code"] == "A0006", (body, again.text)


def test_find_write_with_a_malformed_did_in_its_path_keeps_its_nonce(coop):
    """LOW. A signed POST whose path names a malformed DID is refused (422) after its signature
    was checked, but its nonce is not spent (only GETs spend in `signed`, and the handler raises
    before run_invocation). Fix: check path DIDs before `signed`, or spend on that refusal."""
    folder, client = coop
    send = signed(client, ANA, "POST", "/api/v1/members/did:key:zzz/facts", {"key": "k", "value": "v"},
                  nonce="bad-path-nonce")
    assert send().status_code == 422
    again = send()
    assert again.status_code == 409 and again.json()["code"] == "A0006", again.text


def test_find_write_refused_for_an_out_of_range_integer_keeps_its_nonce(coop):
    """LOW. An operation's write with an integer that does not fit (amount 10**30, term_days
    10**30) is refused with E0218, a CclError raised out of session.run before its transaction
    spends anything — and app.run's `except CclError` does not spend it either, so the signed
    request can be sent again. Cause: ccl/node/app.py `run`. Fix: `spend(evidence)` in that
    `except CclError` branch (and in contract_call's unknown-module branch)."""
    folder, client = coop
    for i, (path, body) in enumerate((("/api/v1/credit/issue", {"to": BO.did, "amount": 10**30}),
                                      ("/api/v1/loans", {"amount": 5, "purpose": "p", "term_days": 10**30}))):
        send = signed(client, ANA, "POST", path, body, nonce=f"range-nonce-{i}")
        assert send().status_code == 422
        again = send()
        assert again.status_code == 409 and again.json()["code"] == "A0006", (path, again.text)


def test_find_a_refused_write_is_spent_after_its_rollback_not_with_it(tmp_path, monkeypatch):
    """LOW-MEDIUM (fixed). A refused write's nonce was spent in a transaction of its own *after*
    the run's rollback, so between the two the request was unspent: a second node on the same
    store that received the same signed request in that window ran it again — and if the state
    had changed meanwhile (ana pays bo), bo's refused over-floor credit issue succeeded. A node
    killed in that window left the nonce unspent for good. Now the run is rolled back to a
    savepoint and the nonce recorded in the same transaction: one COMMIT, no second transaction
    for anyone to overtake."""
    from ccl.runtime import session

    ws = founded(tmp_path, [LENDERS])
    one, two = TestClient(create_app(ws, NODE_KEY)), TestClient(create_app(ws, NODE_KEY))
    assert call(one, ANA, "POST", "/api/v1/members", {"member": BO.did}).status_code == 200
    send_to = lambda node: signed(node, BO, "POST", "/api/v1/credit/issue",      # noqa: E731
                                  {"to": ANA.did, "amount": 150_000}, nonce="window-nonce-1")
    separate = []
    monkeypatch.setattr(session, "spend_nonce", lambda *a, **k: separate.append(a) or None)
    commits = ws.store.commits
    first = send_to(one)()
    assert first.status_code in (403, 409), first.text          # refused: bo has no credit
    assert separate == [], "the refused run's nonce was spent in a transaction of its own"
    assert ws.store.commits == commits + 1                      # the rollback and the nonce: one COMMIT
    assert ("window-nonce-1",) in [(n,) for _, n, _ in ws.store.conn.execute("SELECT * FROM nonces")]
    monkeypatch.undo()
    assert call(two, ANA, "POST", "/api/v1/credit/issue", {"to": BO.did, "amount": 90_000}).status_code == 200
    again = send_to(two)()
    assert again.status_code == 409 and again.json()["code"] == "A0006", \
        f"the refused request ran again on the other node: {again.text}"
    one.close()
    two.close()


# =====================================================================================================
# Part 2 — REFUSED ATTACKS (regression tests: these pass today)
# =====================================================================================================

# ------------------------------------------------------------------ an outsider reading

@pytest.mark.parametrize("path", [
    "/api/v1/credit/balance/{ana}", "/api/v1/credit/history/{ana}", "/api/v1/hours/balance/{ana}",
    "/api/v1/members", "/api/v1/loans", "/api/v1/roles", "/api/v1/proposals", "/api/v1/bylaws",
    "/api/v1/coop/work", "/api/v1/dag/head", "/api/v1/dag/verify"])
def test_refused_outsider_reads(coop, path):
    folder, client = coop
    r = call(client, STRANGER, "GET", path.format(ana=ANA.did))
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json", r.text
    assert set(r.json()) <= {"type", "title", "status", "detail", "code", "kind"}      # a refusal, no data


def test_refused_outsider_reads_no_one_elses_receipt_or_aid_entry(coop):
    folder, client = coop
    r = call(client, CY, "POST", "/api/v1/aid/requests", {"category": "meals", "quantity": 2, "location": "9 Oak Rd"})
    assert r.status_code == 200
    assert call(client, STRANGER, "GET", f"/api/v1/dag/blocks/{r.json()['receipt']}").status_code == 404
    aid = call(client, STRANGER, "GET", "/api/v1/aid")         # the aid board is open to outsiders …
    if aid.status_code == 200:                                   # … for their own entries only
        assert aid.json()["requests"] == [] and "9 Oak Rd" not in aid.text


def test_refused_outsider_forging_a_members_did_in_duplicated_headers(coop):
    """Two X-CCL-DID headers: the node reads one, and the signature must hold for it."""
    folder, client = coop
    path = f"/api/v1/credit/balance/{ANA.did}"
    h = sign_for(client, STRANGER, "GET", path, b"", int(time.time()), "dup-hdr-nonce-1")
    for order in ((STRANGER.did, ANA.did), (ANA.did, STRANGER.did)):
        headers = [(k, v) for k, v in h.items() if k != "X-CCL-DID"] + [("X-CCL-DID", d) for d in order]
        r = client.get(path, headers=headers)
        assert r.status_code in (401, 403, 409), r.text


def test_refused_unicode_and_oversized_did_or_nonce(coop):
    folder, client = coop
    path = f"/api/v1/credit/balance/{ANA.did}"
    good = sign_for(client, ANA, "GET", path, b"", int(time.time()), "unicode-nonce-1")
    lookalike = ANA.did.replace("z6Mk", "z6Мk")                   # a Cyrillic М
    for patch in ({"X-CCL-DID": lookalike.encode("utf-8")}, {"X-CCL-DID": ANA.did.upper()},
                  {"X-CCL-DID": ANA.did + " "}, {"X-CCL-DID": "x" * 20_000}, {"X-CCL-Nonce": "n" * 65},
                  {"X-CCL-Nonce": "n" * 7}, {"X-CCL-Nonce": "n" * 100_000}, {"X-CCL-Time": ("１" * 10).encode("utf-8")},
                  {"X-CCL-Nonce": ("é" * 16).encode("utf-8")}, {"X-CCL-Nonce": b"unicode-nonce-1\xff"},
                  {"X-CCL-Signature": "A" * 50_000}):
        r = client.get(path, headers={**good, **patch})
        assert r.status_code == 401, (patch.keys(), r.text)


def test_refused_head_request_is_not_answered(coop):
    """HEAD on a GET route would be a read that `signed` does not spend: it is not routed."""
    folder, client = coop
    r = call(client, STRANGER, "HEAD", f"/api/v1/credit/balance/{ANA.did}")
    assert r.status_code == 405
    r = call(client, BO, "HEAD", f"/api/v1/credit/balance/{ANA.did}")
    assert r.status_code == 405


# ------------------------------------------------------------------ nonces

def test_refused_same_nonce_on_another_path_body_or_method(coop):
    folder, client = coop
    cid = call(client, BO, "POST", "/api/v1/contracts", {"source": PEEK, "name": "peek.ccl"}).json()["cid"]
    assert call(client, BO, "GET", f"/api/v1/credit/balance/{ANA.did}", nonce="shared-nonce-1").status_code == 200
    for method, path, body in (("GET", f"/api/v1/credit/balance/{BO.did}", None),
                               ("POST", "/api/v1/credit/issue", {"to": ANA.did, "amount": 1}),
                               ("POST", f"/api/v1/contracts/{cid}/call", {"function": "member", "args": [BO.did]}),
                               ("POST", "/api/v1/loans", {"amount": 1, "purpose": "x", "term_days": 1})):
        r = call(client, BO, method, path, body, nonce="shared-nonce-1")
        assert r.status_code == 409 and r.json()["code"] == "A0006", (method, path, r.text)


def test_refused_request_time_just_outside_the_window(tmp_path):
    client, now = _clocked(tmp_path)
    path = f"/api/v1/credit/balance/{ANA.did}"
    for skew in (301, -301):
        assert call(client, BO, "GET", path, t=now[0] + skew).status_code == 401
    for skew in (300, -300):
        assert call(client, BO, "GET", path, t=now[0] + skew).status_code == 200


def test_refused_replay_after_the_clock_is_set_back(tmp_path):
    """bo's read is spent, forgotten once it leaves the window, and the node's clock is then
    set back so the old request's time is inside the window again: refused (stale)."""
    client, now = _clocked(tmp_path)
    t0 = now[0]
    old = sign_for(client, BO, "GET", f"/api/v1/credit/balance/{ANA.did}", b"", t0, "clock-back-nonce")
    assert client.get(f"/api/v1/credit/balance/{ANA.did}", headers=old).status_code == 200
    now[0] = t0 + 1000                                           # later: a request forgets the old nonce
    assert call(client, BO, "GET", f"/api/v1/credit/balance/{BO.did}", t=now[0]).status_code == 200
    assert not any(r[1] == "clock-back-nonce" for r in side(tmp_path, "nonces"))
    now[0] = t0 + 10                                             # the clock set back
    r = client.get(f"/api/v1/credit/balance/{ANA.did}", headers=old)
    assert r.status_code == 409, r.text


def test_refused_growing_the_nonce_table_past_the_window(tmp_path):
    """Many strangers' nonces: spent (reads spend before membership is checked), and all gone
    once they leave the window — the table is bounded by requests per window."""
    client, now = _clocked(tmp_path)
    t0 = now[0]
    for i in range(60):
        stranger = Identity.from_seed(f"s{i}", bytes([i + 20]) * 32)
        call(client, stranger, "GET", "/api/v1/members", t=t0, nonce=f"flood-nonce-{i:04d}")
    assert len(side(tmp_path, "nonces")) >= 60
    now[0] = t0 + 302
    call(client, BO, "GET", "/api/v1/members", t=now[0])
    assert len(side(tmp_path, "nonces")) == 1


def test_refused_concurrent_duplicates_exactly_one_wins(coop):
    folder, client = coop
    results = {"write": [], "read": []}
    write = signed(client, ANA, "POST", "/api/v1/credit/issue", {"to": BO.did, "amount": 5}, nonce="race-write-1")
    read = signed(client, BO, "GET", f"/api/v1/credit/balance/{ANA.did}", nonce="race-read-1")
    for kind, send in (("write", write), ("read", read)):
        threads = [threading.Thread(target=lambda k=kind, s=send: results[k].append(s().status_code))
                   for _ in range(8)]
        [t.start() for t in threads]
        [t.join() for t in threads]
    assert sorted(results["write"]) == [200] + [409] * 7, results
    assert sorted(results["read"]) == [200] + [409] * 7, results
    assert call(client, BO, "GET", f"/api/v1/credit/balance/{BO.did}").json()["balance"] == 5   # paid once


# ------------------------------------------------------------------ a plain member

def test_refused_plain_member_reads_others_private_texts(coop):
    folder, client = coop
    assert call(client, ANA, "POST", f"/api/v1/members/{BO.did}/facts",
                {"key": "disability", "value": "wheelchair user"}).status_code == 200
    assert call(client, BO, "POST", "/api/v1/loans", {"amount": 500, "purpose": "funeral costs",
                                                      "term_days": 30}).status_code == 200
    assert call(client, BO, "POST", "/api/v1/aid/requests", {"category": "meals", "quantity": 1,
                                                             "location": "3 Birch Lane"}).status_code == 200
    loan = call(client, CY, "GET", "/api/v1/loans").json()["loans"][0]
    texts = []
    for path in ("/api/v1/members", "/api/v1/loans", f"/api/v1/loans/{loan['id']}", "/api/v1/aid", "/api/v1/roles",
                 "/api/v1/dag/head", f"/api/v1/credit/history/{CY.did}"):
        texts.append(call(client, CY, "GET", path).text)
    head = call(client, CY, "GET", "/api/v1/dag/head").json()["head"]
    texts.append(call(client, CY, "GET", f"/api/v1/dag/blocks/{head}").text)
    for secret in ("wheelchair user", "funeral costs", "3 Birch Lane"):
        assert not any(secret in t for t in texts), secret
    assert call(client, CY, "GET", f"/api/v1/credit/history/{BO.did}").status_code == 403


def test_refused_salt_is_random_and_never_shown(coop):
    folder, client = coop
    for _ in range(2):
        assert call(client, BO, "POST", "/api/v1/loans", {"amount": 100, "purpose": "tools",
                                                          "term_days": 30}).status_code == 200
    rows = side(folder, "private")
    assert len({r[0] for r in rows}) == 2 and len({r[3] for r in rows}) == 2 and all(len(r[3]) == 32 for r in rows)
    seen = call(client, ANA, "GET", "/api/v1/loans").text + call(client, BO, "GET", "/api/v1/loans").text
    assert not any(r[3] in seen for r in rows)                  # not even to those who read the text


def test_refused_commitment_reuse_does_not_reveal_another_members_text(coop):
    """cy copies bo's loan-purpose commitment (visible to members) into her own aid request,
    straight through a contract (no sealing): her own record now holds it, but the text stays
    bo's and approve_loan's — the side table row is not hers and is not overwritten."""
    folder, client = coop
    assert call(client, BO, "POST", "/api/v1/loans", {"amount": 100, "purpose": "bail money",
                                                      "term_days": 30}).status_code == 200
    commitment = call(client, CY, "GET", "/api/v1/loans").json()["loans"][0]["purpose"]
    assert P.is_commitment(commitment)
    src = 'fn go(c: String) -> String { request_aid(caller(), "meals", 1, 5, c) }'
    cid = call(client, CY, "POST", "/api/v1/contracts", {"source": src, "name": "reuse.ccl"}).json()["cid"]
    r = call(client, CY, "POST", f"/api/v1/contracts/{cid}/call", {"function": "go", "args": [commitment]})
    assert r.status_code == 200, r.text
    assert "bail money" not in call(client, CY, "GET", "/api/v1/aid").text
    assert [row[1] for row in side(folder, "private")] == [BO.did]


def test_refused_member_refused_write_leaves_the_store_byte_identical(coop):
    folder, client = coop
    before, nonces = store_dump(folder), len(side(folder, "nonces"))
    for path, body in ((f"/api/v1/members/{BO.did}/facts", {"key": "k", "value": "secret"}),
                       ("/api/v1/credit/transfer", {"to": BO.did, "amount": 10**9}),
                       (f"/api/v1/members/{BO.did}/roles", {"role": "Steward"})):
        r = call(client, CY, "POST", path, body)
        assert r.status_code in (403, 404, 409, 422), (path, r.text)
    assert store_dump(folder) == before
    assert side(folder, "private") == [] and len(side(folder, "nonces")) == nonces + 3


# ------------------------------------------------------------------ a hostile module

@pytest.mark.parametrize("body", ['use_nonce("did:key:x", "n", 1, 1)', 'private_get("ccl:private:x")',
                                  'private_put("c", "s", "r", "salt", "t")', 'put_nonce_row("d", "n", 1)'])
def test_refused_module_naming_the_side_tables(coop, body):
    folder, client = coop
    r = call(client, CY, "POST", "/api/v1/contracts", {"source": f"fn go() -> Bool {{ {body}; true }}",
                                                       "name": "side.ccl"})
    assert r.status_code == 422, r.text


def test_refused_module_writing_another_members_fact_or_reading_private_rows(coop):
    folder, client = coop
    assert call(client, ANA, "POST", f"/api/v1/members/{BO.did}/facts",
                {"key": "diagnosis", "value": "diabetes"}).status_code == 200
    before = store_dump(folder)
    src = """
fn write(m: Did) -> Bool { set_member_attribute(m, "diagnosis", "none") }
fn echo(c: String) -> String { c }
"""
    cid = call(client, CY, "POST", "/api/v1/contracts", {"source": src, "name": "h.ccl"}).json()["cid"]
    r = call(client, CY, "POST", f"/api/v1/contracts/{cid}/call", {"function": "write", "args": [BO.did]})
    assert r.status_code == 403, r.text
    commitment = side(folder, "private")[0][0]
    r = call(client, CY, "POST", f"/api/v1/contracts/{cid}/call", {"function": "echo", "args": [commitment]})
    assert "diabetes" not in r.text                              # a run's answer is never revealed
    assert store_dump(folder) == before


# ------------------------------------------------------------------ the command line

def test_refused_cli_shows_no_private_text_to_another_identity(tmp_path):
    from helpers import found

    ccl = found(tmp_path, roles={})
    r = ccl("loan", "request", "25", "custody lawyer", "30", "--as", "bob")
    assert r.exit_code == 0, r.output
    for cmd in (("loan", "list", "--as", "carol"), ("loan", "list"), ("dag", "head")):
        r = ccl(*cmd)
        assert "custody lawyer" not in r.output, cmd
    assert b"custody lawyer" not in history_text(tmp_path)


def test_refused_mixed_get_and_post_with_one_nonce_exactly_one_wins(coop):
    """The same nonce on reads and writes of different routes, all at once: one is handled."""
    folder, client = coop
    assert call(client, ANA, "POST", "/api/v1/credit/issue", {"to": BO.did, "amount": 5}).status_code == 200
    sends = [signed(client, BO, "GET", f"/api/v1/credit/balance/{ANA.did}", nonce="mixed-nonce-1"),
             signed(client, BO, "POST", "/api/v1/credit/transfer", {"to": ANA.did, "amount": 1}, nonce="mixed-nonce-1"),
             signed(client, BO, "GET", "/api/v1/members", nonce="mixed-nonce-1"),
             signed(client, BO, "POST", "/api/v1/loans", {"amount": 5, "purpose": "p", "term_days": 3},
                    nonce="mixed-nonce-1")] * 3
    results = []
    threads = [threading.Thread(target=lambda s=s: results.append(s().status_code)) for s in sends]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(results) == [200] + [409] * 11, results
    assert len([r for r in side(folder, "nonces") if r[1] == "mixed-nonce-1"]) == 1


OPEN_LENDERS = LENDERS.replace("contract Lenders {", 'contract Lenders {\n    open_operations: "request_aid";')


def test_refused_outsiders_under_open_bylaws_see_only_their_own(tmp_path):
    """Bylaws open `request_aid` to non-members: a neighbour asks for aid at her address; she
    reads her own entry and receipt, another outsider nothing, a plain member the commitment."""
    ws = founded(tmp_path, [OPEN_LENDERS])
    client = TestClient(create_app(ws, NODE_KEY))
    assert call(client, ANA, "POST", "/api/v1/members", {"member": BO.did}).status_code == 200
    neighbour, other = STRANGER, Identity.from_seed("other", b"\x06" * 32)
    r = call(client, neighbour, "POST", "/api/v1/aid/requests", {"category": "meals", "quantity": 1,
                                                                 "location": "7 Ash Court"})
    assert r.status_code == 200, r.text
    receipt = r.json()["receipt"]
    assert "7 Ash Court" in call(client, neighbour, "GET", "/api/v1/aid").text
    assert call(client, neighbour, "GET", f"/api/v1/dag/blocks/{receipt}").status_code == 200
    theirs = call(client, other, "GET", "/api/v1/aid")
    assert theirs.status_code == 200 and theirs.json()["requests"] == []
    assert call(client, other, "GET", f"/api/v1/dag/blocks/{receipt}").status_code == 404
    seen = call(client, BO, "GET", "/api/v1/aid").json()["requests"][0]["location"]
    assert P.is_commitment(seen)
    assert "7 Ash Court" in call(client, ANA, "GET", "/api/v1/aid").text        # coordinate_aid
    for path in ("/api/v1/members", "/api/v1/dag/head", f"/api/v1/credit/balance/{ANA.did}"):
        assert call(client, neighbour, "GET", path).status_code == 403, path
    client.close()


BUDGET = """
contract Budget {
    founder: Steward;
    role Steward { can: [manage_members, manage_roles, approve_loan, coordinate_aid, vote]; }
    state secret_budget: Integer = 12345;
    fn budget() -> Integer { secret_budget }
    fn bump() -> Integer { secret_budget = secret_budget + 1; secret_budget }
}"""


def test_refused_outsider_calls_the_bylaws_contract_by_its_cid(tmp_path):
    """The adopted bylaws' CID is computable from their (public) source: a stranger calling a
    contract function that reads or writes the co-op's contract state is refused, store intact."""
    from ccl.pipeline import build

    ws = founded(tmp_path, [BUDGET])
    client = TestClient(create_app(ws, NODE_KEY))
    cid = build(BUDGET, "club.ccl").cid
    before = store_dump(tmp_path)
    for fn in ("budget", "bump"):
        r = call(client, STRANGER, "POST", f"/api/v1/contracts/{cid}/call", {"function": fn, "args": []})
        assert r.status_code == 403 and "12345" not in r.text, r.text
    assert store_dump(tmp_path) == before
    client.close()
