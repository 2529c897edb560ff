"""What a client may send a node (issue 14, the audit's input findings): every refusal is a
problem+json with a code and a kind, and leaves the store as it was — unknown routes, wrong
methods, bodies that are not JSON; Integer inputs that are not JSON integers; inputs longer than
their limit (the same check for the command line); bodies over their route's limit; too many
requests (per member, per address); uploads past the day's quota. Also: who uploaded what."""

import json
import time

import pytest
from fastapi.testclient import TestClient

from ccl.identity import Identity, sign_request
from ccl.node.app import create_app
from ccl.node.limits import Buckets, Limits
from ccl.operations import COMMANDS
from helpers import cli_in, store_dump
from test_node import ANA, BO, CLUB, founded

CAROL = Identity.from_seed("carol", b"\x07" * 32)          # a key, not a member
PROBLEM = "application/problem+json"


class Node:
    """A founded co-op (ana, bo) behind an app whose clock the test moves."""

    def __init__(self, tmp_path, limits=Limits()):
        self.folder = tmp_path
        self.ws = founded(tmp_path, [CLUB])
        self.now = int(time.time())
        self.app = create_app(self.ws, Identity.from_seed("node", b"\x09" * 32), clock=lambda: self.now,
                              limits=limits)
        self.client = TestClient(self.app)
        self.coop = self.client.get("/api/v1/health").json()["coop"]
        assert self.call(ANA, "POST", "/api/v1/members", {"member": BO.did}).status_code == 200

    def call(self, member, method, path, body=None, raw=None, headers=None, nonce=None):
        data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        h = {"content-type": "application/json"}
        if member is not None:
            h.update(sign_request(member, method, path, data, self.now, nonce, coop=self.coop))
        h.update(headers or {})
        return self.client.request(method, path, content=data, headers=h)

    def dump(self):
        with self.ws.store.reader() as tx:
            uploads = tx.upload_rows()
        return store_dump(self.folder), uploads


@pytest.fixture
def node(tmp_path):
    n = Node(tmp_path)
    yield n
    n.client.close()


def is_problem(r, status, code, kind=None):
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM), r.headers
    body = r.json()
    assert body["code"] == code and body["status"] == status and body.get("kind"), body
    if kind is not None:
        assert body["kind"] == kind, body
    assert "Traceback" not in r.text
    return body


# ---------------------------------------------------------------- routes and bodies

@pytest.mark.parametrize("case, status, code", [
    ("unknown route", 404, "U0701"), ("wrong method", 405, "U0700"), ("not JSON", 422, "U0702"),
    ("bad UTF-8", 400, "U0702"), ("deeply nested JSON", 400, "U0702"), ("a JSON list", 422, "U0702"),
])
def test_routes_and_bodies_the_node_cannot_take_are_problems(node, case, status, code):
    before = node.dump()
    raw = {"unknown route": b"", "wrong method": b"", "not JSON": b"{not json", "bad UTF-8": b'{"to": "\xff"}',
           "deeply nested JSON": b"[" * 5000 + b"]" * 5000, "a JSON list": b"[1, 2]"}[case]
    method, path = {"unknown route": ("GET", "/api/v1/nowhere"),
                    "wrong method": ("DELETE", "/api/v1/credit/issue")}.get(case, ("POST", "/api/v1/credit/issue"))
    r = node.call(ANA, method, path, raw=raw)
    if case == "deeply nested JSON" and r.status_code == 422:
        status = 422          # parsed where the process's recursion limit is raised (mypy in this test run)
    is_problem(r, status, code, "usage")
    assert node.dump() == before


@pytest.mark.parametrize("amount", [True, False, "7", 3.0, 7.5, None, [7], {"n": 7}])
def test_an_integer_input_is_a_json_integer_on_a_generated_route(node, amount):
    before = node.dump()
    r = node.call(ANA, "POST", "/api/v1/credit/issue", {"to": BO.did, "amount": amount})
    assert "amount" in is_problem(r, 422, "U0702")["detail"]
    assert node.dump() == before
    assert node.call(ANA, "POST", "/api/v1/credit/issue", {"to": BO.did, "amount": 7}).status_code == 200


def integer_fields():
    """(method, path, body, field) for every Integer field of every generated route's body."""
    from ccl.node.ops import body_model
    from ccl.node.app import Body
    from ccl.operations import PREFIX, path_inputs

    sample = {"Did": BO.did, "Integer": 1, "Bool": False, "String": "x"}
    out = []
    for op in COMMANDS:
        c = op.command
        if c is None or c.route is None or c.route[0] == "GET" or body_model(op, Body) is None:
            continue
        in_path = set(path_inputs(c.route[1]))
        inputs = [i for i in c.inputs if i.name not in in_path and i.unit not in ("file", "files")]
        body = {i.name: sample.get(i.type, []) for i in inputs}
        path = PREFIX + c.route[1]
        for n in in_path:
            path = path.replace("{" + n + "}", BO.did if n == "member" else "x")
        out += [(path, body, i.name) for i in inputs if i.type == "Integer"]
    return out


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    n = Node(tmp_path_factory.mktemp("shared"))
    yield n
    n.client.close()


@pytest.mark.parametrize("path, body, field", integer_fields())
def test_every_integer_field_of_every_route_refuses_true(shared, path, body, field):
    node = shared
    before = node.dump()
    r = node.call(ANA, "POST", path, {**body, field: True})
    assert f"body.{field}: Input should be a valid integer" in is_problem(r, 422, "U0702", "usage")["detail"]
    assert node.dump() == before


def test_there_are_integer_fields_to_check():
    assert len(integer_fields()) > 20


@pytest.mark.parametrize("args, code, why", [
    ([True, 2], "E0218", "should be an Integer, got a Bool"), (["7", 2], "E0218", "should be an Integer, got a string"),
    ([3.0, 2], "U0702", "holds the fractional number 3.0"), ([1], "E0218", "takes 2 argument(s), given 1"),
    ([1, 2, 3], "E0218", "takes 2 argument(s)"), ([{"a": 1}, 2], "E0218", "should be an Integer"),
])
def test_contract_call_args_are_checked_against_the_entry_parameters(node, args, code, why):
    src = "fn add(a: Integer, b: Integer) -> Integer { a + b }"
    cid = node.call(ANA, "POST", "/api/v1/contracts", {"source": src, "name": "add.ccl"}).json()["cid"]
    before = node.dump()
    r = node.call(ANA, "POST", f"/api/v1/contracts/{cid}/call", {"function": "add", "args": args})
    assert why in is_problem(r, 422, code)["detail"]
    assert node.dump() == before
    r = node.call(ANA, "POST", f"/api/v1/contracts/{cid}/call", {"function": "add", "args": [1, 2]})
    assert r.status_code == 200 and r.json()["result"] == 3


@pytest.mark.parametrize("depth", [200, 7000])
def test_deeply_nested_contract_call_args_are_a_bad_body(node, depth):
    src = "fn add(a: Integer, b: Integer) -> Integer { a + b }"
    cid = node.call(ANA, "POST", "/api/v1/contracts", {"source": src, "name": "add.ccl"}).json()["cid"]
    before = node.dump()
    raw = b'{"function": "add", "args": [' + b"[" * depth + b"]" * depth + b", 2]}"
    r = node.call(ANA, "POST", f"/api/v1/contracts/{cid}/call", raw=raw)
    assert r.status_code in (400, 422)
    is_problem(r, r.status_code, "U0702", "usage")
    assert node.dump() == before


# ---------------------------------------------------------------- input lengths

def test_every_text_input_has_a_limit_far_below_the_language_ceiling():
    from ccl import limits

    texts = [(op.name, i) for op in COMMANDS for i in op.command.inputs
             if i.type not in ("Integer", "Bool", "Did")]
    assert len(texts) > 30
    for name, i in texts:
        assert 0 < i.limit <= 12_000 < limits.string_length_max, (name, i.name, i.limit)
    by_name = {i.name: i.limit for _, i in texts}
    assert by_name["description"] == by_name["reason"] == by_name["purpose"] == 2000
    assert by_name["symbol"] == by_name["role"] == by_name["id"] == 200


@pytest.mark.parametrize("path, body, field, limit", [
    ("/api/v1/hours/log", {"member": BO.did, "minutes": 30, "description": "x"}, "description", 2000),
    ("/api/v1/coop/work", {"member": ANA.did, "minutes": 30, "task": "x"}, "task", 2000),
    ("/api/v1/loans", {"amount": 500, "purpose": "x", "term_days": 30}, "purpose", 2000),
    ("/api/v1/members/{member}/name", {"name": "x"}, "name", 200),
])
def test_an_input_longer_than_its_limit_is_refused_with_nothing_stored(node, path, body, field, limit):
    path = path.replace("{member}", BO.did)
    before = node.dump()
    r = node.call(ANA, "POST", path, {**body, field: "é" * (limit + 1)})     # code points, not bytes
    detail = is_problem(r, 422, "L0509", "limit")["detail"]
    assert f"`{field}` is {limit + 1} characters long; it may be at most {limit}" in detail
    assert node.dump() == before
    r = node.call(ANA, "POST", path, {**body, field: "é" * limit})
    assert r.status_code != 422 or r.json()["code"] != "L0509", r.text


def test_the_command_line_refuses_a_too_long_input_the_same_way(tmp_path):
    assert cli_in(tmp_path, "init", "--founder", "ana").exit_code == 0
    before = store_dump(tmp_path)
    r = cli_in(tmp_path, "hours", "log", "--as", "ana", ANA.did, "30", "x" * 2001)
    assert r.exit_code == 1 and "L0509" in r.output and "at most 2000" in r.output, r.output
    assert store_dump(tmp_path) == before


def test_an_uploaded_contracts_name_has_a_limit(node):
    r = node.call(ANA, "POST", "/api/v1/contracts", {"source": "fn f() -> Integer { 1 }", "name": "n" * 201})
    is_problem(r, 422, "L0509", "limit")


# ---------------------------------------------------------------- body sizes per route

def test_body_limits_are_per_route(node):
    before = node.dump()
    big = {"to": BO.did, "amount": 5, "pad": "x" * (17 * 1024)}
    is_problem(node.call(ANA, "POST", "/api/v1/credit/issue", big), 413, "L0500", "limit")
    # a contract upload may be larger: 64 KiB of source and its JSON
    source = "fn f() -> Integer { 1 }\n" + "// comment line\n" * 3500            # about 56 KiB
    r = node.call(ANA, "POST", "/api/v1/contracts", {"source": source, "name": "big.ccl"})
    assert r.status_code == 200, r.text
    r = node.call(ANA, "POST", "/api/v1/contracts", {"source": "x" * (97 * 1024)})
    is_problem(r, 413, "L0500", "limit")
    assert store_dump(node.folder) == before[0]


def test_a_streamed_body_is_cut_at_its_routes_limit(node):
    def chunks():
        for _ in range(20):
            yield b"x" * 1024
    r = node.client.post("/api/v1/credit/issue", content=chunks(), headers={"content-type": "application/json"})
    is_problem(r, 413, "L0500")


# ---------------------------------------------------------------- rates

def test_token_buckets_refill_with_the_clock():
    b = Buckets(burst=2, per_minute=30)                   # one request every 2 s, sustained
    assert b.take("a", 100) is None and b.take("a", 100) is None
    assert b.take("a", 100) == 2 and b.take("b", 100) is None
    assert b.take("a", 101) == 1
    assert b.take("a", 102) is None and b.take("a", 102) == 2


def test_the_buckets_memory_is_bounded():
    b = Buckets(burst=1, per_minute=60, keys_max=4)
    for k in "abcd":
        assert b.take(k, 100) is None
    assert b.take("e", 100) is None and len(b.level) <= 4        # none full yet: the oldest half go
    assert b.take("e", 100) == 1                                  # … but not the one just taken
    for k in "fgh":
        b.take(k, 200)
    assert b.take("i", 200) is None and len(b.level) <= 4 and b.take("h", 200) == 1


def test_a_member_sending_too_many_requests_gets_429_until_the_bucket_refills(tmp_path):
    n = Node(tmp_path, Limits(member_burst=3, member_per_minute=60))
    n.now += 10                                           # the admission's token is back
    read = lambda who: n.call(who, "GET", f"/api/v1/credit/balance/{ANA.did}")
    assert [read(BO).status_code for _ in range(3)] == [200, 200, 200]
    before = n.dump()
    r = n.call(BO, "POST", "/api/v1/credit/issue", {"to": ANA.did, "amount": 5})
    body = is_problem(r, 429, "L0510", "limit")
    assert r.headers["retry-after"] == "1" and BO.did in body["detail"]
    assert n.dump() == before
    assert read(ANA).status_code == 200                   # another member's bucket
    n.now += 1
    assert n.call(BO, "POST", "/api/v1/credit/issue", {"to": ANA.did, "amount": 5}).status_code == 200


def test_an_address_sending_failed_signatures_gets_429_and_members_still_get_through(tmp_path):
    n = Node(tmp_path, Limits(ip_burst=2, ip_per_minute=60))
    path = "/api/v1/credit/issue"
    body = {"to": BO.did, "amount": 5}
    assert [n.call(None, "POST", path, body).status_code for _ in range(2)] == [401, 401]
    before = n.dump()
    r = n.call(None, "POST", path, body)
    is_problem(r, 429, "L0510", "limit")
    assert int(r.headers["retry-after"]) >= 1
    forged = sign_request(BO, "POST", path, json.dumps(body).encode(), n.now, coop=n.coop)
    forged["X-CCL-DID"] = ANA.did
    is_problem(n.call(None, "POST", path, body, headers=forged), 429, "L0510")
    assert n.dump() == before
    assert n.call(ANA, "POST", path, body).status_code == 200          # a sound signature is still served
    assert n.client.get("/api/v1/health").status_code == 200          # the public route is not counted
    n.now += 1
    is_problem(n.call(None, "POST", path, body), 401, "A0001")


# ---------------------------------------------------------------- uploads: quota and record

def test_uploads_past_the_days_quota_are_refused_with_nothing_recorded(tmp_path):
    n = Node(tmp_path, Limits(uploads_per_day=2))
    up = lambda k: n.call(ANA, "POST", "/api/v1/contracts", {"source": f"fn f() -> Integer {{ {k} }}", "name": "f.ccl"})
    assert up(1).status_code == 200 and up(1).status_code == 200      # one already uploaded is not another
    assert up(2).status_code == 200
    before = n.dump()
    r = up(3)
    is_problem(r, 429, "L0511", "limit")
    assert int(r.headers["retry-after"]) == 86_400 - n.now % 86_400
    assert n.dump() == before
    is_problem(up(1), 429, "L0511", "limit")              # at the quota, refused before any compile
    assert n.call(BO, "POST", "/api/v1/contracts", {"source": "fn f() -> Integer { 3 }"}).status_code == 200
    n.now += 86_400                                       # the next day
    assert up(3).status_code == 200


def test_uploads_are_recorded_and_listed_to_members_only(node):
    src = "fn f() -> Integer { 42 }"
    r = node.call(ANA, "POST", "/api/v1/contracts", {"source": src, "name": "answer.ccl"})
    cid = r.json()["cid"]
    listed = node.call(BO, "GET", "/api/v1/contracts")
    assert listed.status_code == 200, listed.text
    assert listed.json()["uploads"] == [{"by": ANA.did, "cid": cid, "time": node.now, "name": "answer.ccl",
                                         "bytes": len(src)}]
    is_problem(node.call(CAROL, "GET", "/api/v1/contracts"), 403, "H0600")
    is_problem(node.call(None, "GET", "/api/v1/contracts"), 401, "A0001")
    before = node.dump()
    is_problem(node.call(CAROL, "POST", "/api/v1/contracts", {"source": "fn g() -> Integer { 1 }"}), 403, "H0600")
    assert node.dump() == before


def test_an_upload_is_handled_once(node):
    body = {"source": "fn f() -> Integer { 1 }"}
    assert node.call(ANA, "POST", "/api/v1/contracts", body, nonce="upload-nonce-1").status_code == 200
    is_problem(node.call(ANA, "POST", "/api/v1/contracts", body, nonce="upload-nonce-1"), 409, "A0006")


def test_the_uploads_table_in_both_stores_and_through_a_migration(store, tmp_path):
    from ccl.store import copy
    from ccl.store.sqlite import SqliteStore

    with store.transaction() as tx:
        assert tx.upload_put("did:key:a", "bafy1", 100, "a.ccl", 10) is True
        assert tx.upload_put("did:key:a", "bafy1", 200, "again.ccl", 10) is False        # the first is kept
        assert tx.upload_put("did:key:b", "bafy1", 300, "b.ccl", 10) is True
        assert tx.upload_put("did:key:a", "bafy2", 400, "c.ccl", 20) is True
    with store.reader() as tx:
        assert tx.uploads_since("did:key:a", 100) == 2 and tx.uploads_since("did:key:a", 101) == 1
        assert [r[1:3] for r in tx.upload_rows("did:key:a")] == [("bafy1", 100), ("bafy2", 400)]
        rows = tx.upload_rows()
        out = SqliteStore(str(tmp_path / "copy.db"))
        with out.transaction() as otx:
            copy(tx, otx)
    with out.reader() as otx:
        assert otx.upload_rows() == rows and len(rows) == 3


def _usage(n):
    import sqlite3

    db = sqlite3.connect(n.folder / ".ccl" / "state.db")
    try:
        return sorted(db.execute("SELECT * FROM usage").fetchall())
    finally:
        db.close()


def test_a_members_history_past_the_days_quota_is_refused_and_rolled_back(tmp_path):
    """Issue 14's store growth (900,000-character descriptions grew the store 54 MB in 1.4 s):
    beside the input lengths, what a member's requests add to the history is bounded per day."""
    n = Node(tmp_path, Limits(history_bytes_per_day=40_000))
    issue = lambda: n.call(ANA, "POST", "/api/v1/credit/issue", {"to": BO.did, "amount": 1})     # noqa: E731
    kept = 0
    while (r := issue()).status_code == 200:
        kept += 1
        assert kept < 100, "the quota never bit"
    is_problem(r, 429, "L0511", "limit")
    assert "quota of 40000" in r.json()["detail"]
    assert kept >= 3
    (did, day, used), = [u for u in _usage(n) if u[0] == ANA.did]
    assert (day, did) == (n.now // 86_400, ANA.did) and 30_000 < used <= 40_000
    before, usage = n.dump(), _usage(n)
    is_problem(issue(), 429, "L0511", "limit")                    # refused: nothing of it kept, nor counted
    assert n.dump() == before and _usage(n) == usage
    assert n.call(BO, "POST", "/api/v1/credit/transfer", {"to": ANA.did, "amount": 1}).status_code == 200   # bo's own
    n.now += 86_400                                               # a new day: the quota starts again
    assert issue().status_code == 200
    assert [day for did, day, _ in _usage(n) if did == ANA.did] == [n.now // 86_400]   # yesterday's row is gone
    # the quota is the node's: a member's own runs in their workspace (no signed request) are not counted
    from ccl.pipeline import build
    from ccl.runtime import session

    usage = _usage(n)
    ran = session.run(build("fn f(a: Did, b: Did) -> Bool { issue_credit(a, b, 1) }", "f.ccl"), "f",
                      [ANA.did, BO.did], store=n.ws.store, caller=ANA.did, signer=ANA, log=lambda m: None, clock=lambda: n.now)
    assert ran.receipt and _usage(n) == usage
