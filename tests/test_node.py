"""The co-op node's HTTP API: signed requests, refusals as problem+json, receipts that carry the
member's signed request, OpenAPI — in process, and a real `ccl serve` on loopback."""

import json
import time

import pytest
from fastapi.testclient import TestClient

from ccl.api.workspace import init
from ccl.client import NodeClient, NodeError
from ccl.identity import Identity
from ccl.node.app import create_app
from helpers import sign_for
from helpers import running_node

ANA = Identity.from_seed("ana", b"\x01" * 32)
BO = Identity.from_seed("bo", b"\x02" * 32)


LATER = [0]            # seconds the in-process node's clock runs ahead (to end a vote without sleeping)
CLUB = """
contract Club {
    founder: Member;
    role Member { can: [vote, manage_members, manage_roles]; }
    state dues: Integer = 10;
    proposal SetDues(amount: Integer) {
        description: "dues"; eligible: Member; duration: 2 seconds; quorum: 50%; threshold: majority;
        execution: { dues = amount; }
    }
    fn current() -> Integer { dues }
}"""


def founded(tmp_path, bylaws=()):
    """A real (not demo) workspace founded by ana, whose key is not in it (she signs requests)."""
    from ccl.pipeline import build
    from ccl.runtime import session

    ws = init(tmp_path)
    session.found(ws.store, coop=ws.coop_key(), founder=ANA.did, bylaws=[build(b, "club.ccl") for b in bylaws],
                  now=int(time.time()))
    return ws


@pytest.fixture
def node(tmp_path):
    ws = founded(tmp_path, [CLUB])
    app = create_app(ws, Identity.from_seed("node", b"\x09" * 32), clock=lambda: int(time.time()) + LATER[0])
    client = TestClient(app)
    assert call(client, ANA, "POST", "/api/v1/members", {"member": BO.did}).status_code == 200
    yield ws, client
    client.close()
    LATER[0] = 0


def head(client):
    return client.get("/api/v1/health").json()["head"]


def call(client, member, method, path, body=None, t=None, nonce=None, headers=None):
    data = b"" if body is None else json.dumps(body).encode()
    h = {"content-type": "application/json"}
    if member is not None:
        h.update(sign_for(client, member, method, path, data, t or int(time.time()), nonce))
    h.update(headers or {})
    return client.request(method, path, content=data, headers=h)


def test_signed_transfer_balance_and_receipt(node):
    ws, client = node
    r = call(client, ANA, "POST", "/api/v1/credit/issue", {"to": BO.did, "amount": 100})
    assert r.status_code == 200, r.text
    receipt = r.json()["receipt"]
    bal = call(client, BO, "GET", f"/api/v1/credit/balance/{ANA.did}").json()
    assert bal["balance"] == -100
    block = call(client, BO, "GET", f"/api/v1/dag/blocks/{receipt}").json()["block"]
    assert block["payload"]["caller"] == ANA.did and block["payload"]["request"]["did"] == ANA.did
    assert call(client, BO, "GET", "/api/v1/dag/verify").json()["ok"] is True


@pytest.mark.parametrize("case, status, code", [
    ("unsigned", 401, "A0001"), ("stale", 401, "A0004"), ("forged", 401, "A0005"), ("replayed", 409, "A0006"),
])
def test_refused_requests_change_nothing(node, case, status, code):
    ws, client = node
    body = {"to": BO.did, "amount": 5}
    if case == "replayed":
        assert call(client, ANA, "POST", "/api/v1/credit/issue", body, nonce="same-nonce-123").status_code == 200
    before = head(client)
    if case == "unsigned":
        r = call(client, None, "POST", "/api/v1/credit/issue", body)
    elif case == "stale":
        r = call(client, ANA, "POST", "/api/v1/credit/issue", body, t=int(time.time()) - 3600)
    elif case == "forged":
        h = sign_for(client, BO, "POST", "/api/v1/credit/issue", json.dumps(body).encode(), int(time.time()))
        h["X-CCL-DID"] = ANA.did                                  # Bo's signature, claiming to be Ana
        r = call(client, None, "POST", "/api/v1/credit/issue", body, headers=h)
    else:
        r = call(client, ANA, "POST", "/api/v1/credit/issue", body, nonce="same-nonce-123")
    assert r.status_code == status and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == code and "Traceback" not in r.text
    assert head(client) == before


def test_acting_for_another_member_is_refused(node):
    ws, client = node
    bylaw = "fn take(from: Did, to: Did) -> Bool { transfer_credit(from, to, 5) }"
    cid = call(client, BO, "POST", "/api/v1/contracts", {"source": bylaw, "name": "take.ccl"}).json()["cid"]
    r = call(client, BO, "POST", f"/api/v1/contracts/{cid}/call", {"function": "take", "args": [ANA.did, BO.did]})
    assert r.status_code == 403 and r.json()["kind"] == "host" and "may not transfer_credit" in r.json()["detail"]


def test_compile_errors_and_private_history(node):
    ws, client = node
    r = call(client, ANA, "POST", "/api/v1/contracts", {"source": "fn run() -> Integer { x }"})
    assert r.status_code == 422 and r.json()["code"] == "E0203"
    r = call(client, BO, "GET", f"/api/v1/credit/history/{ANA.did}")
    assert r.status_code == 403


def test_openapi_document(node):
    ws, client = node
    doc = client.get("/api/v1/openapi.json").json()
    paths = set(doc["paths"])
    for p in ("/api/v1/credit/issue", "/api/v1/proposals/{proposal}/vote", "/api/v1/contracts/{cid}/call",
              "/api/v1/dag/head", "/api/v1/health", "/api/v1/aid/requests", "/api/v1/loans"):
        assert p in paths


def test_replay_reproduces_node_runs(node):
    from ccl.runtime.session import replay

    ws, client = node
    for amount in (3, 4):
        assert call(client, ANA, "POST", "/api/v1/credit/issue", {"to": BO.did, "amount": amount}).status_code == 200
    steps = replay(ws.store, live=True)
    assert len(steps) == 4 and all(s.ok for s in steps), steps        # the genesis, bo's admission, 2 runs


def test_ccl_serve_on_loopback_with_the_client(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from ccl.cli.main import cli

    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(cli, ["init", "--founder", ANA.did]).exit_code == 0
    with running_node(tmp_path) as url:
        ana = NodeClient(url, ANA)
        assert ana.post("/api/v1/members", {"member": BO.did})["ok"]
        assert ana.post("/api/v1/credit/issue", {"to": BO.did, "amount": 7})["ok"]
        with pytest.raises(NodeError) as e:
            NodeClient(url, BO).post("/api/v1/credit/transfer", {"to": ANA.did, "amount": 10**9})
        assert e.value.status == 403 and e.value.problem["kind"] == "host"
        assert NodeClient(url, BO).get(f"/api/v1/credit/balance/{BO.did}")["balance"] == 7


def test_the_cli_drives_a_remote_node(tmp_path, monkeypatch):
    """`ccl --node URL …` runs the same commands against a node, signed with the local key."""
    from click.testing import CliRunner

    from ccl.cli.main import cli

    server_dir, member_dir = tmp_path / "node", tmp_path / "member"
    server_dir.mkdir()
    member_dir.mkdir()
    monkeypatch.chdir(member_dir)
    CliRunner().invoke(cli, ["init"])                          # a member's own folder: her key lives here
    ana = CliRunner().invoke(cli, ["id", "new", "ana"]).stdout.strip()
    monkeypatch.chdir(server_dir)
    assert CliRunner().invoke(cli, ["init", "--founder", ana]).exit_code == 0      # her DID founds the node's co-op
    with running_node(server_dir) as url:
        monkeypatch.chdir(member_dir)
        run = lambda *a: CliRunner().invoke(cli, ["--node", url, *a], catch_exceptions=False)
        r = run("credit", "issue", "--as", "ana", BO.did, "25")
        assert r.exit_code == 0, r.output
        assert run("credit", "balance", ana).stdout.strip() == "-25.00 CREDIT"
        (member_dir / "hello.ccl").write_text('fn run() -> String { "hello from the node" }')
        assert run("run", "hello.ccl", "--as", "ana").stdout.strip() == "hello from the node"
        r = run("credit", "transfer", "--as", "ana", BO.did, "1000000000", "--json")
        assert r.exit_code == 1 and json.loads(r.stdout.splitlines()[-1])["error"]["kind"] == "host"
        # nothing was kept locally: the node holds the history
        assert CliRunner().invoke(cli, ["dag", "log", "--json"]).stdout.count('"seq"') == 0


def test_governance_over_http_replays(node):
    """Proposals of the adopted bylaws only: open by kind, vote with signed ballots, execute."""
    from ccl import governance as G
    from ccl.runtime.session import replay

    ws, client = node
    r = call(client, ANA, "POST", "/api/v1/proposals", {"kind": "SetDues", "args": ["lots"]})
    assert r.status_code == 403 and "proposal_args" in r.json()["detail"]          # typed when opened
    r = call(client, ANA, "POST", "/api/v1/proposals", {"kind": "Raise", "args": []})
    assert r.status_code == 403 and "proposal_kind" in r.json()["detail"]          # only adopted kinds
    r = call(client, BO, "POST", "/api/v1/proposals", {"kind": "SetDues", "args": [25]})
    assert r.status_code == 200, r.text
    pid = r.json()["proposal"]
    ballot = G.sign_ballot(G.ballot_payload(pid, ANA.did, "yes", "", 0, int(time.time())), ANA)
    r = call(client, ANA, "POST", f"/api/v1/proposals/{pid}/vote", {"ballot": ballot})
    assert r.status_code == 200, r.text
    shown = call(client, ANA, "GET", f"/api/v1/proposals/{pid}").json()
    assert shown["tally"]["counts"]["yes"] == 1 and shown["tally"]["eligible"] == 1      # bo holds no Member role
    LATER[0] = 5                                                  # the vote has ended
    outsider = Identity.from_seed("outsider", b"\x07" * 32)
    assert call(client, outsider, "POST", f"/api/v1/proposals/{pid}/execute").status_code == 403
    r = call(client, BO, "POST", f"/api/v1/proposals/{pid}/execute")
    assert r.status_code == 200, r.text
    block = call(client, ANA, "GET", f"/api/v1/dag/blocks/{r.json()['receipt']}").json()["block"]
    assert block["payload"]["triggered_by"] == BO.did and block["payload"]["caller"] != BO.did
    with ws.store.reader() as tx:
        from ccl.ledger import EngineState, Ledger

        assert block["payload"]["caller"] == G.coop(Ledger(EngineState(tx), 0))["coop"]
    assert all(step.ok for step in replay(ws.store, live=True))


# Issue 12, second adversarial review: the node took `true`, "7" and 3.0 as amounts and recorded
# them, and answered a lone surrogate or a call on a receipt's CID with 500 X9999.

@pytest.mark.parametrize("amount", [True, "7", "  8 ", "1_0", 3.0])
def test_an_amount_of_the_wrong_json_type_is_refused_and_nothing_is_recorded(node, amount):
    ws, client = node
    before = head(client)
    r = call(client, ANA, "POST", "/api/v1/credit/issue", {"to": BO.did, "amount": amount})
    assert r.status_code == 422 and r.json()["code"] == "U0702", r.text
    assert head(client) == before


@pytest.mark.parametrize("path, body", [
    ("/api/v1/proposals", {"kind": "\ud800", "args": []}),
    ("/api/v1/proposals", {"kind": "Amendment", "args": [], "method": "\ud800"}),
    ("/api/v1/contracts", {"source": "fn run() -> Integer { 1 }", "name": "\ud800"}),
    ("/api/v1/contracts", {"source": "fn run() -> String { \"\ud800\" }"}),
    ("/api/v1/credit/issue", {"to": "\udfff", "amount": 1}),
])
def test_a_lone_surrogate_anywhere_in_a_body_is_a_usage_error(node, path, body):
    ws, client = node
    before = head(client)
    data = json.dumps(body).encode()                  # json.dumps writes the surrogate as \ud800
    h = {"content-type": "application/json", **sign_for(client, ANA, "POST", path, data, int(time.time()), None)}
    r = client.request("POST", path, content=data, headers=h)
    assert r.status_code == 422 and r.json()["code"] == "U0702", r.text
    assert "lone surrogate" in r.json()["detail"]
    assert head(client) == before


def test_calling_a_block_that_is_not_a_module_is_not_found(node):
    ws, client = node
    receipt = call(client, ANA, "POST", "/api/v1/credit/issue", {"to": BO.did, "amount": 1}).json()["receipt"]
    before = head(client)
    r = call(client, ANA, "POST", f"/api/v1/contracts/{receipt}/call", {"function": "run"})
    assert r.status_code == 404 and r.json()["code"] == "U0701", r.text
    assert head(client) == before


@pytest.mark.parametrize("data", [b'{"to": "\xff\xfe", "amount": 1}', b"[" * 5000, b'{"to": "x", "amount": ' + b"9" * 5000 + b"}"])
def test_a_body_that_is_not_json_is_problem_json(node, data):
    """Second adversarial review: these were FastAPI's plain `{"detail": …}` 400s."""
    ws, client = node
    before = head(client)
    path = "/api/v1/credit/issue"
    h = {"content-type": "application/json", **sign_for(client, ANA, "POST", path, data, int(time.time()), None)}
    r = client.request("POST", path, content=data, headers=h)
    assert 400 <= r.status_code < 500 and r.headers["content-type"].startswith("application/problem+json"), r.text
    assert r.json()["code"] in ("U0702", "E0218"), r.text
    assert head(client) == before


def test_an_unknown_route_is_problem_json(node):
    ws, client = node
    r = client.get("/api/v1/no-such-thing")
    assert r.status_code == 404 and r.json()["code"] == "U0701"


def test_the_cli_through_a_node_uses_the_currencys_decimals(tmp_path, monkeypatch):
    """`ccl --node URL currency mint MEAL ana 12.50` mints 12.50 MEAL of a 2-decimal currency:
    the CLI asks the node for the decimals (it minted 0.12 before, taking 0 for any currency)."""
    from click.testing import CliRunner

    from ccl.cli.main import cli

    from helpers import node_and_member

    ana = node_and_member(tmp_path, monkeypatch, "kitchen.ccl", "contract Kitchen {\n    founder: Cook;\n"
                          "    role Cook { can: [manage_members, manage_currency, mint]; }\n}\n")
    server_dir, member_dir = tmp_path / "node", tmp_path / "member"
    with running_node(server_dir) as url:
        monkeypatch.chdir(member_dir)
        run = lambda *a: CliRunner().invoke(cli, ["--node", url, *a, "--as", "ana"], catch_exceptions=False)
        r = run("currency", "create", "MEAL", "meals", "--decimals", "2", "--cap", "1000")
        assert r.exit_code == 0, r.output
        r = run("currency", "mint", "MEAL", ana, "12.50")
        assert r.exit_code == 0 and "minted 12.50 MEAL" in r.stdout, r.output
        assert json.loads(run("currency", "balance", "MEAL", ana, "--json").stdout)["balance"] == 1250
        assert run("currency", "show", "MEAL").stdout.splitlines()[1].strip() == \
            "in circulation 12.50 MEAL, at most 1000.00 MEAL"
        r = run("currency", "mint", "MEAL", ana, "0.001")
        assert r.exit_code == 2 and "U0702" in r.output


def test_review_finds_on_the_generated_routes(node):
    """Found by review of issue 13: a key never admitted read balances (and the history, through
    `?as_of=`), a misspelt body field was ignored, a read's query inputs were not signed."""
    ws, client = node
    stranger = Identity.from_seed("stranger", b"\x05" * 32)
    assert call(client, ANA, "POST", "/api/v1/credit/issue", {"to": BO.did, "amount": 100}).status_code == 200
    for path in (f"/api/v1/credit/balance/{ANA.did}", f"/api/v1/credit/balance/{ANA.did}?as_of=1",
                 "/api/v1/loans", "/api/v1/members"):
        r = call(client, stranger, "GET", path)
        assert r.status_code == 403 and "not a member" in r.json()["detail"], (path, r.text)
    # the aid board is one read a neighbour makes too (issue 14): only their own records
    assert call(client, stranger, "GET", "/api/v1/aid").json() == {"ok": True, "requests": [], "offers": [],
                                                                 "matches": []}
    r = call(client, ANA, "POST", "/api/v1/proposals", {"kind": "SetDues", "args": [5], "allow_change": True})
    assert r.status_code == 422 and r.json()["code"] == "U0702"
    assert call(client, BO, "GET", f"/api/v1/credit/balance/{ANA.did}?as_of=1").json()["balance"] == 0
    assert call(client, BO, "GET", f"/api/v1/credit/balance/{ANA.did}").json()["balance"] == -100
    # the query string is signed: the same signature with another query is a forgery
    data = b""
    h = sign_for(client, BO, "GET", f"/api/v1/credit/balance/{ANA.did}?as_of=1", data, int(time.time()))
    r = client.get(f"/api/v1/credit/balance/{ANA.did}?as_of=2", headers=h)
    assert r.status_code == 401 and r.json()["code"] == "A0005"


def test_a_body_too_large_is_refused_before_it_is_read(node):
    """Issue 14: an unsigned 100 MB body was parsed whole before the 401."""
    from helpers import store_dump

    ws, client = node
    before = store_dump(ws.root.parent)
    r = client.post("/api/v1/credit/issue", content=b"x" * (2 << 20), headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "L0500"

    def chunks():                      # no Content-Length: counted as it streams
        for _ in range(40):
            yield b"y" * 65536
    r = client.post("/api/v1/credit/issue", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["code"] == "L0500", r.text
    assert store_dump(ws.root.parent) == before
    assert call(client, ANA, "POST", "/api/v1/credit/issue", {"to": BO.did, "amount": 1}).status_code == 200


def test_a_request_for_another_coop_is_refused(node, tmp_path):
    """Issue 14: ana's signed transfer to co-op A, replayed on co-op B's node, was accepted."""
    from ccl.identity import sign_request

    from helpers import store_dump

    ws, client = node
    before = store_dump(ws.root.parent)
    body = json.dumps({"to": BO.did, "amount": 1}).encode()
    other = Identity.from_seed("other-coop", b"\x0b" * 32).did
    for coop in (other, None):
        h = {"content-type": "application/json", **sign_request(ANA, "POST", "/api/v1/credit/issue", body,
                                                                int(time.time()), coop=coop or other)}
        if coop is None:
            del h["X-CCL-Coop"]
        r = client.post("/api/v1/credit/issue", content=body, headers=h)
        assert r.status_code == 401 and r.json()["code"] == "A0008", r.text
    assert client.get("/api/v1/health").json()["coop"] != other
    assert store_dump(ws.root.parent) == before


def test_only_dids_are_members_over_http(node):
    """Issue 14: any `did:` string was a valid recipient (`did:key:z` + NUL, a 900,000-character
    DID, a small-order key)."""
    from ccl.identity import did_from_public

    from helpers import store_dump

    ws, client = node
    before = store_dump(ws.root.parent)
    for bad in ("did:key:z\x00", "did:web:" + "a" * 900_000, did_from_public(b"\x01" + b"\x00" * 31), "ana",
                "did:key:zzz", "did::x", BO.did + "\n", "sys:lending\n"):
        r = call(client, ANA, "POST", "/api/v1/credit/issue", {"to": bad, "amount": 1})
        assert r.status_code in (413, 422), (bad[:20], r.text)
        assert r.json()["code"] in ("U0702", "L0500")
    r = call(client, ANA, "GET", "/api/v1/credit/balance/did:key:zzz")
    assert r.status_code == 422 and r.json()["code"] == "U0702", r.text
    assert store_dump(ws.root.parent) == before
    assert call(client, ANA, "POST", "/api/v1/credit/issue", {"to": "did:web:bakery.coop", "amount": 1}).status_code == 200
    assert call(client, ANA, "POST", "/api/v1/credit/issue", {"to": BO.did, "amount": 1}).status_code == 200
