"""Issue 14's trust boundary: every nonce is spent once whatever the outcome (reads too), private
inputs enter the history only as salted commitments, members read what the default rules show,
the DAG is read by members (and by others only for their own receipts), and Ed25519 keys that
would let anyone sign are refused."""

import json
import sqlite3
import time

import pytest
from fastapi.testclient import TestClient

from ccl import private as P
from ccl.identity import Identity, public_from_did, verify, weak_public_key
from ccl.node.app import create_app
from helpers import sign_for
from test_node import ANA, BO, call, founded

CY = Identity.from_seed("cy", b"\x04" * 32)
STRANGER = Identity.from_seed("stranger", b"\x05" * 32)
LENDERS = """
contract Lenders {
    founder: Steward;
    role Steward { can: [manage_members, manage_roles, approve_loan, coordinate_aid, vote]; }
    role Member { can: [vote]; }
    fn noop() -> Bool { true }
}"""


@pytest.fixture
def coop(tmp_path):
    ws = founded(tmp_path, [LENDERS])
    client = TestClient(create_app(ws, Identity.from_seed("node", b"\x09" * 32)))
    for m in (BO, CY):
        assert call(client, ANA, "POST", "/api/v1/members", {"member": m.did}).status_code == 200
    yield tmp_path, client
    client.close()


def side(folder, table):
    db = sqlite3.connect(folder / ".ccl" / "state.db")
    try:
        return db.execute(f"SELECT * FROM {table}").fetchall()
    finally:
        db.close()


def history_text(folder) -> bytes:
    db = sqlite3.connect(folder / ".ccl" / "state.db")
    try:
        return b"".join(bytes(r[0]) for r in db.execute("SELECT data FROM blocks")) + \
            b"".join(bytes(r[0]) for r in db.execute("SELECT value FROM kv"))
    finally:
        db.close()


def signed(client, member, method, path, body=None, nonce="fixed-nonce-1"):
    data = b"" if body is None else json.dumps(body).encode()
    h = {"content-type": "application/json", **sign_for(client, member, method, path, data, int(time.time()), nonce)}
    return lambda: client.request(method, path, content=data, headers=h)


def test_a_refused_request_cannot_be_resent_once_it_would_succeed(coop):
    """The audit's reproducer: bo's over-floor transfer, refused, succeeded byte for byte once
    he had credit. Now its nonce is spent by the refusal."""
    folder, client = coop
    send = signed(client, BO, "POST", "/api/v1/credit/issue", {"to": ANA.did, "amount": 150_000})
    first = send()
    assert first.status_code in (403, 409), first.text
    assert call(client, ANA, "POST", "/api/v1/credit/issue", {"to": BO.did, "amount": 90_000}).status_code == 200
    again = send()
    assert again.status_code == 409 and again.json()["code"] == "A0006", again.text
    assert any(row[0] == BO.did for row in side(folder, "nonces"))


def test_a_signed_read_is_answered_once(coop):
    folder, client = coop
    read = signed(client, BO, "GET", f"/api/v1/credit/balance/{ANA.did}")
    assert read().status_code == 200
    again = read()
    assert again.status_code == 409 and again.json()["code"] == "A0006"


def test_nonces_are_outside_the_state_root(coop):
    folder, client = coop
    assert not any(row[0] == "node.nonces" for row in
                   sqlite3.connect(folder / ".ccl" / "state.db").execute("SELECT namespace FROM kv"))
    assert len(side(folder, "nonces")) >= 2           # the two admissions


def test_an_expired_nonce_is_forgotten_and_an_older_request_stays_refused(tmp_path):
    from ccl.store.sqlite import SqliteStore

    store = SqliteStore(str(tmp_path / "s.db"))
    with store.transaction() as tx:
        assert tx.use_nonce("did:key:a", "n1", 1000, 1000) is None
        assert tx.use_nonce("did:key:a", "n1", 1000, 1000) == "replayed"
    with store.transaction() as tx:                   # much later: n1 has left the window
        assert tx.use_nonce("did:key:a", "n2", 5000, 5000) is None
        assert [r[1] for r in tx.nonce_rows()] == ["n2"]
        # the clock set back: a request from before what was forgotten is stale, not new
        assert tx.use_nonce("did:key:a", "n1", 1000, 1100) == "stale"


def test_a_loan_purpose_enters_the_history_as_a_commitment(coop):
    folder, client = coop
    purpose = "rent arrears after my hospital stay"
    r = call(client, BO, "POST", "/api/v1/loans", {"amount": 500, "purpose": purpose, "term_days": 30})
    assert r.status_code == 200, r.text
    assert purpose.encode() not in history_text(folder)
    shown = {m.name: call(client, m, "GET", "/api/v1/loans").json()["loans"][0]["purpose"] for m in (ANA, BO, CY)}
    assert shown["bo"] == purpose and shown["ana"] == purpose     # the borrower, and a holder of approve_loan
    assert P.is_commitment(shown["cy"])                            # a plain member sees the commitment only
    (commitment, subject, readers, salt, text), = side(folder, "private")
    assert commitment == shown["cy"] and subject == BO.did and readers == "approve_loan"
    assert P.matches(commitment, salt, text) and not P.matches(commitment, salt, text + " ")


def test_an_aid_address_is_private_and_a_grid_point_is_not(coop):
    folder, client = coop
    for location in ("12 Elm Street, flat 3", "4,-2"):
        r = call(client, CY, "POST", "/api/v1/aid/requests", {"category": "meals", "quantity": 2,
                                                              "location": location})
        assert r.status_code == 200, r.text
    data = history_text(folder)
    assert b"12 Elm Street" not in data and b"4,-2" in data
    seen = call(client, BO, "GET", "/api/v1/aid").json()["requests"]
    assert P.is_commitment(seen[0]["location"]) and seen[1]["location"] == "4,-2"
    mine = call(client, CY, "GET", "/api/v1/aid").json()["requests"]
    assert mine[0]["location"] == "12 Elm Street, flat 3"


def test_member_facts_are_private_unless_a_rule_reads_them(coop):
    folder, client = coop
    for key, value in (("disability", "true"), ("reputation", "40")):
        r = call(client, ANA, "POST", f"/api/v1/members/{CY.did}/facts", {"key": key, "value": value})
        assert r.status_code == 200, r.text
    members = {m.name: {x["did"]: x for x in call(client, m, "GET", "/api/v1/members").json()["members"]}
               for m in (ANA, BO, CY)}
    assert "attributes" not in members["bo"][CY.did]               # a plain member: no one else's facts
    assert members["cy"][CY.did]["attributes"]["disability"] == "true"     # her own, revealed
    assert members["ana"][CY.did]["attributes"] == {"disability": "true", "reputation": 40}
    (commitment, subject, readers, salt, text), = side(folder, "private")
    assert (subject, readers, text) == (CY.did, "manage_members", "true") and P.matches(commitment, salt, text)
    assert commitment.encode() in history_text(folder)             # the history holds the commitment


def test_outsiders_do_not_read_the_history(coop):
    folder, client = coop
    head = client.get("/api/v1/health").json()["head"]
    for path in ("/api/v1/dag/head", "/api/v1/dag/verify", f"/api/v1/dag/blocks/{head}"):
        assert client.get(path).status_code == 401                                   # unsigned
        r = call(client, STRANGER, "GET", path)
        assert r.status_code in (403, 404) and r.headers["content-type"] == "application/problem+json", path
    assert call(client, BO, "GET", f"/api/v1/dag/blocks/{head}").status_code == 200


def test_a_non_member_module_cannot_read_balances():
    from ccl.pipeline import build
    from ccl.runtime import session
    from ccl.store.sqlite import SqliteStore
    from helpers import found_store

    store = found_store(SqliteStore.memory(), ANA, [BO.did])
    peek = build("fn peek(m: Did) -> Integer { credit_balance(m) }", "peek.ccl")
    r = session.run(peek, "peek", [ANA.did], store=store, caller=STRANGER.did, signer=STRANGER, now=0)
    assert not r.run.ok and "not a member" in r.run.error.message
    r = session.run(peek, "peek", [ANA.did], store=store, caller=BO.did, signer=BO, now=0)
    assert r.run.ok and r.run.value == 0


# the eight points of small order on edwards25519 (their canonical encodings), and non-canonical
# encodings of small-order points (y ≥ p): any of them as a public key lets a keyless signature verify
SMALL_ORDER = [
    "0100000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
]
NON_CANONICAL = [
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",       # y = p + 1, the identity again
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",       # y = p, i.e. 0
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
]


@pytest.mark.parametrize("hexkey", SMALL_ORDER + NON_CANONICAL)
def test_weak_keys_are_refused(hexkey):
    raw = bytes.fromhex(hexkey)
    assert weak_public_key(raw) is not None
    with pytest.raises(ValueError):
        public_from_did(_did_of(raw))


def _did_of(raw: bytes) -> str:
    import base58

    return "did:key:z" + base58.b58encode(b"\xed\x01" + raw).decode()


def test_the_keyless_forgery_of_the_audit_no_longer_verifies():
    d = _did_of(b"\x01" + b"\x00" * 31)
    assert verify(d, b"any", b"\x01" + b"\x00" * 63) is False


def test_malleated_signatures_do_not_verify():
    """S + L: the same signature written another way (Wycheproof's malleability cases)."""
    L = 2**252 + 27742317777372353535851937790883648493
    msg = b"pay bo 10"
    sig = ANA.sign(msg)
    s = int.from_bytes(sig[32:], "little")
    assert verify(ANA.did, msg, sig)
    assert not verify(ANA.did, msg, sig[:32] + (s + L).to_bytes(32, "little"))
    assert not verify(ANA.did, msg + b"0", sig)
    assert not verify(ANA.did, msg, sig[:63] + bytes([sig[63] ^ 1]))


# ------------------------------------------------------------ the salted body digest (format 3)
def test_a_receipt_carries_a_salted_body_digest_and_no_salt(coop):
    """The review's find: a receipt's request evidence held the body's plain SHA-256, so any
    member could hash guesses of a private text (a fact's value, a loan's purpose, an address)
    and find the one that matches. Version 3 signs the body hashed with a salt nobody keeps."""
    folder, client = coop
    body = {"key": "disability", "value": "true"}
    r = call(client, ANA, "POST", f"/api/v1/members/{BO.did}/facts", body)
    assert r.status_code == 200, r.text
    request = call(client, CY, "GET", f"/api/v1/dag/blocks/{r.json()['receipt']}").json()["block"]["payload"]["request"]
    assert set(request) == {"did", "coop", "method", "path", "body_digest", "time", "nonce", "signature"}
    data = json.dumps(body).encode()
    assert request["body_digest"] != __import__("hashlib").sha256(data).hexdigest()
    assert json.dumps(request).find(data.decode()) == -1
    assert call(client, ANA, "GET", "/api/v1/dag/verify").status_code == 200     # it checks every request's signature


def test_a_request_without_a_salt_is_refused_and_changes_nothing(coop):
    """A client of request format 2 (an unsalted body digest) is refused: its receipt would
    let members guess a private text back from the digest."""
    import base64
    import hashlib

    from ccl import identity as I
    from helpers import store_dump

    folder, client = coop
    coop_did = client.get("/api/v1/health").json()["coop"]
    data = json.dumps({"to": BO.did, "amount": 5}).encode()
    now = int(time.time())
    message = I.request_message("POST", "/api/v1/credit/issue", hashlib.sha256(data).hexdigest(), now,
                                "unsalted-nonce", coop_did, version=2)
    headers = {"content-type": "application/json", "X-CCL-DID": ANA.did, "X-CCL-Coop": coop_did,
               "X-CCL-Time": str(now), "X-CCL-Nonce": "unsalted-nonce",
               "X-CCL-Signature": base64.b64encode(ANA.sign(message)).decode()}
    before = store_dump(folder)
    for salt in (None, "", "00", "zz" * 16, "ab" * 17):
        h = headers if salt is None else {**headers, "X-CCL-Salt": salt}
        r = client.post("/api/v1/credit/issue", content=data, headers=h)
        assert (r.status_code, r.json()["code"]) == (401, "A0009"), r.text
        assert r.headers["content-type"].startswith("application/problem+json")
    assert store_dump(folder) == before


def test_request_evidence_of_every_version_verifies_and_a_changed_one_does_not():
    import hashlib

    from ccl import identity as I

    coop_did, digest = ANA.did, hashlib.sha256(b"{}").hexdigest()
    base = {"did": ANA.did, "method": "POST", "path": "/api/v1/credit/issue", "time": 1_700_000_000,
            "nonce": "n" * 16}
    v1 = {**base, "body_sha256": digest,
          "signature": ANA.sign(I.request_message("POST", base["path"], digest, base["time"], base["nonce"]))}
    v2 = {**base, "coop": coop_did, "body_sha256": digest,
          "signature": ANA.sign(I.request_message("POST", base["path"], digest, base["time"], base["nonce"],
                                                  coop_did, version=2))}
    salted = I.body_digest(b"\x07" * 16, b"{}")
    v3 = {**base, "coop": coop_did, "body_digest": salted,
          "signature": ANA.sign(I.request_message("POST", base["path"], salted, base["time"], base["nonce"], coop_did))}
    for evidence in (v1, v2, v3):
        assert I.request_evidence_valid(evidence)
        assert not I.request_evidence_valid({**evidence, "path": "/api/v1/credit/transfer"})
        assert not I.request_evidence_valid({**evidence, "did": BO.did})
    # a version-2 signature is no version-3 request, and the other way round
    assert not I.request_evidence_valid({**{k: v for k, v in v2.items() if k != "body_sha256"}, "body_digest": digest})


# ------------------------------------------------------------ private parameters of a contract
def _template(name: str) -> str:
    from pathlib import Path

    return (Path(__file__).resolve().parent.parent / "contracts" / f"{name}.ccl").read_text()


def test_a_templates_declared_private_parameter_enters_the_history_sealed(tmp_path):
    """The gap the review's fixes left: a bylaw that takes a private text as its own parameter
    (credit_union_loans' `apply(amount, purpose, term_days)`) put it in the receipt's arguments
    in plain, before any engine row saw it. Declared private (`private: "apply.purpose =
    request_loan.purpose"`), it is sealed in the session like an operation's input."""
    from ccl.pipeline import build

    source = _template("credit_union_loans")
    ws = founded(tmp_path, [source])
    cid = build(source, "club.ccl").cid
    client = TestClient(create_app(ws, Identity.from_seed("node", b"\x09" * 32)))
    for m in (BO, CY):
        assert call(client, ANA, "POST", "/api/v1/members", {"member": m.did}).status_code == 200
        assert call(client, ANA, "POST", f"/api/v1/members/{m.did}/roles", {"role": "Member"}).status_code == 200
    r = call(client, BO, "POST", f"/api/v1/contracts/{cid}/call",
             {"function": "apply", "args": [500, "rent arrears", 30]})
    assert r.status_code == 200, r.text
    assert b"rent arrears" not in history_text(tmp_path)
    receipt = call(client, CY, "GET", f"/api/v1/dag/blocks/{r.json()['receipt']}").json()["block"]["payload"]
    assert P.is_commitment(receipt["args"][1])
    (commitment, subject, readers, salt, text), = side(tmp_path, "private")
    assert (commitment, subject, readers, text) == (receipt["args"][1], BO.did, "approve_loan", "rent arrears")
    assert P.matches(commitment, salt, text)
    shown = {who.name: call(client, who, "GET", "/api/v1/loans").json()["loans"][0]["purpose"]
             for who in (ANA, BO, CY)}
    assert shown["ana"] == "rent arrears" and shown["bo"] == "rent arrears"      # a steward, the borrower
    assert P.is_commitment(shown["cy"])                                            # another member
    client.close()


def test_a_grid_point_stays_plain_and_a_street_address_is_sealed_through_a_template(tmp_path):
    from ccl.pipeline import build

    source = _template("mutual_aid_network")
    ws = founded(tmp_path, [source])
    cid = build(source, "club.ccl").cid          # as founded() built it
    client = TestClient(create_app(ws, Identity.from_seed("node", b"\x09" * 32)))
    assert call(client, ANA, "POST", "/api/v1/members", {"member": BO.did}).status_code == 200
    assert call(client, ANA, "POST", f"/api/v1/members/{BO.did}/roles", {"role": "Neighbour"}).status_code == 200
    for args in (["meals", 2, 5, "4,-2"], ["meals", 1, 5, "12 Elm Street"]):
        r = call(client, BO, "POST", f"/api/v1/contracts/{cid}/call", {"function": "need", "args": args})
        assert r.status_code == 200, r.text
    assert b"4,-2" in history_text(tmp_path) and b"12 Elm Street" not in history_text(tmp_path)
    client.close()


def test_a_private_declaration_naming_no_private_input_is_refused_when_compiled():
    from ccl.diag import CclError
    from ccl.pipeline import build

    for decl, why in (('"ask.purpose = request_loan.porpose"', "request_loan.purpose"),   # the input
                      ('"aks.purpose = request_loan.purpose"', "no function"),             # the function
                      ('"ask.porpose = request_loan.purpose"', "no parameter"),            # the parameter
                      ('"ask.n = request_loan.purpose"', "not a String"),
                      ('["ask.purpose = request_loan.purpose"]', "one string")):
        source = (f'contract T {{ private: {decl}; fn ask(purpose: String, n: Integer) -> String {{ purpose }} }}')
        with pytest.raises(CclError) as refused:
            build(source, "t.ccl")
        assert refused.value.diagnostic.code == "E0226", (decl, refused.value.diagnostic)
        assert why in refused.value.diagnostic.message + " ".join(refused.value.diagnostic.hints), decl
