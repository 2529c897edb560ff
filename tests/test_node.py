"""The co-op node's HTTP API: signed requests, refusals as problem+json, receipts that carry the
member's signed request, OpenAPI — in process, and a real `ccl serve` on loopback."""

import json
import time

import pytest
from fastapi.testclient import TestClient

from ccl.cli.workspace import init
from ccl.client import NodeClient, NodeError
from ccl.identity import Identity
from ccl.node.app import create_app
from ccl.node.auth import sign
from helpers import running_node

ANA = Identity.from_seed("ana", b"\x01" * 32)
BO = Identity.from_seed("bo", b"\x02" * 32)


@pytest.fixture
def node(tmp_path):
    ws = init(tmp_path)
    app = create_app(ws, Identity.from_seed("node", b"\x09" * 32))
    client = TestClient(app)
    yield ws, client
    client.close()


def call(client, member, method, path, body=None, t=None, nonce=None, headers=None):
    data = b"" if body is None else json.dumps(body).encode()
    h = {"content-type": "application/json"}
    if member is not None:
        h.update(sign(member, method, path, data, t or int(time.time()), nonce))
    h.update(headers or {})
    return client.request(method, path, content=data, headers=h)


def test_signed_transfer_balance_and_receipt(node):
    ws, client = node
    r = call(client, ANA, "POST", "/api/v1/credit/issue", {"to": BO.did, "amount": 100})
    assert r.status_code == 200, r.text
    receipt = r.json()["receipt"]
    bal = call(client, BO, "GET", f"/api/v1/credit/balance/{ANA.did}").json()
    assert bal["balance"] == -100
    block = client.get(f"/api/v1/dag/blocks/{receipt}").json()["block"]
    assert block["payload"]["caller"] == ANA.did and block["payload"]["request"]["did"] == ANA.did
    assert client.get("/api/v1/dag/verify").json()["ok"] is True


@pytest.mark.parametrize("case, status, code", [
    ("unsigned", 401, "A0001"), ("stale", 401, "A0004"), ("forged", 401, "A0005"), ("replayed", 409, "A0006"),
])
def test_refused_requests_change_nothing(node, case, status, code):
    ws, client = node
    body = {"to": BO.did, "amount": 5}
    if case == "replayed":
        assert call(client, ANA, "POST", "/api/v1/credit/issue", body, nonce="same-nonce-123").status_code == 200
    before = client.get("/api/v1/dag/head").json()
    if case == "unsigned":
        r = call(client, None, "POST", "/api/v1/credit/issue", body)
    elif case == "stale":
        r = call(client, ANA, "POST", "/api/v1/credit/issue", body, t=int(time.time()) - 3600)
    elif case == "forged":
        h = sign(BO, "POST", "/api/v1/credit/issue", json.dumps(body).encode(), int(time.time()))
        h["X-CCL-DID"] = ANA.did                                  # Bo's signature, claiming to be Ana
        r = call(client, None, "POST", "/api/v1/credit/issue", body, headers=h)
    else:
        r = call(client, ANA, "POST", "/api/v1/credit/issue", body, nonce="same-nonce-123")
    assert r.status_code == status and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == code and "Traceback" not in r.text
    assert client.get("/api/v1/dag/head").json() == before


def test_acting_for_another_member_is_refused(node):
    ws, client = node
    bylaw = "fn take(from: Did, to: Did) -> Bool { transfer_credit(from, to, 5) }"
    cid = call(client, BO, "POST", "/api/v1/contracts", {"source": bylaw, "name": "take.ccl"}).json()["cid"]
    r = call(client, BO, "POST", f"/api/v1/contracts/{cid}/call", {"function": "take", "args": [ANA.did, BO.did]})
    assert r.status_code == 403 and r.json()["kind"] == "host" and "own_funds" in r.json()["detail"]


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
    for p in ("/api/v1/credit/issue", "/api/v1/proposals/{pid}/vote", "/api/v1/contracts/{cid}/call",
              "/api/v1/dag/head", "/api/v1/health", "/api/v1/aid/requests", "/api/v1/loans"):
        assert p in paths


def test_replay_reproduces_node_runs(node):
    from ccl.runtime.session import replay

    ws, client = node
    for amount in (3, 4):
        assert call(client, ANA, "POST", "/api/v1/credit/issue", {"to": BO.did, "amount": amount}).status_code == 200
    steps = replay(ws.store, live=True)
    assert len(steps) == 2 and all(s.ok for s in steps), steps


def test_ccl_serve_on_loopback_with_the_client(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from ccl.cli.main import cli

    monkeypatch.chdir(tmp_path)
    CliRunner().invoke(cli, ["init"])
    with running_node(tmp_path) as url:
        ana = NodeClient(url, ANA)
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
    monkeypatch.chdir(server_dir)
    CliRunner().invoke(cli, ["init"])
    with running_node(server_dir) as url:
        monkeypatch.chdir(member_dir)
        run = lambda *a: CliRunner().invoke(cli, ["--node", url, *a], catch_exceptions=False)
        CliRunner().invoke(cli, ["init"])
        ana = CliRunner().invoke(cli, ["id", "new", "ana"]).stdout.strip()
        r = run("credit", "issue", "--as", "ana", BO.did, "25")
        assert r.exit_code == 0, r.output
        assert run("credit", "balance", ana).stdout.strip() == "-25"
        (member_dir / "hello.ccl").write_text('fn run() -> String { "hello from the node" }')
        assert run("run", "hello.ccl", "--as", "ana").stdout.strip() == "hello from the node"
        r = run("credit", "transfer", "--as", "ana", BO.did, "1000000000", "--json")
        assert r.exit_code == 1 and json.loads(r.stdout.splitlines()[-1])["error"]["kind"] == "host"
        # nothing was kept locally: the node holds the history
        assert CliRunner().invoke(cli, ["dag", "log", "--json"]).stdout.count('"seq"') == 0


def test_governance_over_http_replays(node):
    """Adopt by opening a proposal of an uploaded contract, vote with signed ballots, execute."""
    from ccl import governance as G
    from ccl.runtime.session import replay

    ws, client = node
    bylaw = """
contract Club {
    role Member { can: [vote]; }
    state dues: Integer = 10;
    proposal SetDues(amount: Integer) {
        description: "dues"; eligible: Member; duration: 1 seconds; quorum: 50%; threshold: majority;
        execution: { dues = amount; }
    }
    fn current() -> Integer { dues }
}"""
    cid = call(client, ANA, "POST", "/api/v1/contracts", {"source": bylaw, "name": "club.ccl"}).json()["cid"]
    for who, target in ((ANA, ANA.did),):
        assert call(client, who, "POST", "/api/v1/members", {"member": target}).status_code == 200
    ws_ledger_grant = call(client, ANA, "POST", f"/api/v1/contracts/{cid}/call",
                           {"function": "current", "args": []})
    assert ws_ledger_grant.json()["result"] == 10
    up = 'fn founder() -> Bool { grant_permission(caller(), "admin") }'
    grant_cid = call(client, ANA, "POST", "/api/v1/contracts", {"source": up}).json()["cid"]
    assert call(client, ANA, "POST", f"/api/v1/contracts/{grant_cid}/call", {"function": "founder"}).status_code == 200
    r = call(client, ANA, "POST", "/api/v1/proposals", {"contract": cid, "kind": "SetDues", "args": [25]})
    assert r.status_code == 403                                   # nobody holds Member yet
    assert call(client, ANA, "POST", f"/api/v1/members/{ANA.did}/roles", {"role": "Member"}).status_code == 200
    pid = call(client, ANA, "POST", "/api/v1/proposals", {"contract": cid, "kind": "SetDues", "args": [25]}).json()["proposal"]
    ballot = G.sign_ballot(G.ballot_payload(pid, ANA.did, "yes", "", 0, int(time.time())), ANA)
    assert call(client, ANA, "POST", f"/api/v1/proposals/{pid}/vote", {"ballot": ballot}).status_code == 200
    shown = call(client, ANA, "GET", f"/api/v1/proposals/{pid}").json()
    assert shown["tally"]["counts"]["yes"] == 1
    time.sleep(1.1)
    r = call(client, BO, "POST", f"/api/v1/proposals/{pid}/execute")
    assert r.status_code == 200, r.text
    assert call(client, ANA, "POST", f"/api/v1/contracts/{cid}/call", {"function": "current"}).json()["result"] == 25
    assert all(step.ok for step in replay(ws.store, live=True))
