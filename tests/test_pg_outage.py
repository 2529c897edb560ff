"""A PostgreSQL outage, for real: a node serving from a real server that is then stopped with
`pg_ctl stop -m immediate` answers /health, a signed read and a signed transfer with a 503
problem+json (environment, N0902) — not a 500 X9999 after a long pool wait — and serves again,
on its own, once the server is started again. The command line says the same, with an
environment exit code. Its own server, not the session's (it is stopped here)."""

import json
import os
import time

import pytest
from fastapi.testclient import TestClient

from ccl.api.workspace import Workspace, init
from ccl.identity import Identity, sign_request
from ccl.node.app import create_app

ANA = Identity.from_seed("ana", b"\x01" * 32)
BO = Identity.from_seed("bo", b"\x02" * 32)


@pytest.fixture
def server():
    from pg import Server, binaries

    if binaries() is None:
        if os.environ.get("CI"):
            pytest.fail("CI must test against PostgreSQL: .ci/run installs it")
        pytest.skip("PostgreSQL is not installed here")
    s = Server()
    yield s
    try:
        s.stop()
    except Exception:                   # already stopped by a failed test: start it to stop it cleanly
        _start(s)
        s.stop()


def _stop(s):
    s._run("pg_ctl", "-D", s.data, "-m", "immediate", "-w", "stop")


def _start(s):
    s._run("pg_ctl", "-D", s.data, "-l", os.path.join(s.root, "log"), "-w", "-o",
           f"-p {s.port} -k {s.root} -c listen_addresses=127.0.0.1 -c fsync=on", "start")


def _call(client, coop, member, method, path, body=None):
    data = b"" if body is None else json.dumps(body).encode()
    headers = {"content-type": "application/json",
               **sign_request(member, method, path, data, int(time.time()), coop=coop)}
    return client.request(method, path, content=data, headers=headers)


def _unavailable(r):
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert (body["code"], body["kind"], body["status"]) == ("N0902", "environment", 503), body
    assert "X9999" not in r.text


def test_an_outage_is_503_and_the_node_recovers(tmp_path, server):
    from ccl.runtime import session

    url = server.new_database()
    local = init(tmp_path)
    ws = Workspace(local.root, store_url=url)
    session.found(ws.store, coop=ws.coop_key(), founder=ANA.did, bylaws=[], now=int(time.time()))
    client = TestClient(create_app(ws, Identity.from_seed("node", b"\x09" * 32)))
    coop = client.get("/api/v1/health").json()["coop"]
    assert _call(client, coop, ANA, "POST", "/api/v1/members", {"member": BO.did}).status_code == 200
    transfer = {"to": BO.did, "amount": 5}
    assert _call(client, coop, ANA, "POST", "/api/v1/credit/transfer", transfer).status_code == 200
    before = client.get("/api/v1/health").json()["head"]

    _stop(server)
    _unavailable(client.get("/api/v1/health"))
    _unavailable(_call(client, coop, BO, "GET", f"/api/v1/credit/balance/{BO.did}"))
    _unavailable(_call(client, coop, ANA, "POST", "/api/v1/credit/transfer", transfer))

    _start(server)
    for _ in range(120):                        # the pool reconnects in the background
        r = client.get("/api/v1/health")
        if r.status_code == 200:
            break
        _unavailable(r)                         # until then, still the same answer
        time.sleep(0.5)
    assert r.status_code == 200 and r.json()["head"] == before     # nothing was kept of the refused transfer
    r = _call(client, coop, BO, "GET", f"/api/v1/credit/balance/{BO.did}")
    assert r.status_code == 200 and r.json()["balance"] == 5, r.text
    r = _call(client, coop, ANA, "POST", "/api/v1/credit/transfer", transfer)
    assert r.status_code == 200, r.text
    r = _call(client, coop, BO, "GET", f"/api/v1/credit/balance/{BO.did}")
    assert r.json()["balance"] == 10
    client.close()
    ws.store.close()


def test_an_outage_on_the_command_line_is_an_environment_error(tmp_path, server):
    from click.testing import CliRunner

    from ccl.cli.main import cli
    from ccl.runtime import session
    from ccl.store.postgres import PostgresStore

    url = server.new_database()
    store = PostgresStore(url)
    session.found(store, coop=Identity.from_seed("co-op", b"\xcc" * 32), founder=ANA.did, bylaws=[],
                  now=int(time.time()))
    store.close()
    runner = CliRunner()
    ok = runner.invoke(cli, ["--state", url, "dag", "verify"])
    assert ok.exit_code == 0, ok.output
    _stop(server)
    for args in (["dag", "verify"], ["member", "list"]):
        r = runner.invoke(cli, ["--state", url, *args])
        assert r.exit_code == 5, (args, r.exit_code, r.output)      # environment
        assert "N0900" in r.output and "X9999" not in r.output and "Traceback" not in r.output, r.output
    _start(server)
    assert runner.invoke(cli, ["--state", url, "dag", "verify"]).exit_code == 0
