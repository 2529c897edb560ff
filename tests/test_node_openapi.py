"""The node's OpenAPI document says what the node does: the signature scheme every signed route
requires, every problem response (application/problem+json, the Problem schema), and answers
whose schemas the node's real answers fit."""

import pytest

from test_node_inputs import ANA, BO, Node

PUBLIC = {"/api/v1/health"}
SIGNATURE_HEADERS = {"X-CCL-DID", "X-CCL-Coop", "X-CCL-Time", "X-CCL-Nonce", "X-CCL-Salt", "X-CCL-Signature"}


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    n = Node(tmp_path_factory.mktemp("openapi"))
    yield n
    n.client.close()


@pytest.fixture(scope="module")
def doc(node):
    return node.client.get("/api/v1/openapi.json").json()


def operations(doc):
    return [(path, method, op) for path, methods in doc["paths"].items() for method, op in methods.items()]


def test_the_signature_scheme_is_declared(doc):
    schemes = doc["components"]["securitySchemes"]
    assert {s["name"] for s in schemes.values()} == SIGNATURE_HEADERS
    assert all(s["type"] == "apiKey" and s["in"] == "header" for s in schemes.values())
    assert "ccl-request/3" in next(s for s in schemes.values() if s["name"] == "X-CCL-Signature")["description"]


def test_every_signed_operation_requires_all_six_headers(doc):
    ops = operations(doc)
    assert len(ops) > 70
    for path, method, op in ops:
        if path in PUBLIC:
            assert "security" not in op, path
            continue
        assert op.get("security"), (method, path)
        (requirement,) = op["security"]                  # one requirement: the six headers together
        assert set(requirement) == set(doc["components"]["securitySchemes"]), (method, path)


def test_every_operation_lists_its_problem_responses(doc):
    assert "HTTPValidationError" not in doc["components"]["schemas"]       # FastAPI's, never sent
    for path, method, op in operations(doc):
        problems = {int(k): v for k, v in op["responses"].items() if k[0] in "45"}
        expected = {500, 503} if path in PUBLIC else {400, 401, 403, 404, 409, 422, 429, 500, 503}
        if method == "post":
            expected.add(413)
        assert expected <= set(problems), (method, path, sorted(problems))
        for status, response in problems.items():
            assert list(response["content"]) == ["application/problem+json"], (method, path, status)
            assert response["content"]["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}
            assert "codes:" in response["description"] and response["x-ccl-codes"]
        if 429 in problems:
            assert "Retry-After" in problems[429]["headers"]
            assert problems[429]["x-ccl-codes"] == ["L0510", "L0511"]
        if 401 in problems:
            assert {"A0001", "A0005", "A0008"} <= set(problems[401]["x-ccl-codes"])
    problem = doc["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "code"} <= set(problem["required"])


def resolve(doc, schema):
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def fits(doc, schema, value, where="$"):
    """A structural check of `value` against an OpenAPI schema: types, required fields, items."""
    schema = resolve(doc, schema)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            errors = [fits(doc, s, value, where) for s in schema[key]]
            return [] if any(not e for e in errors) else [f"{where}: fits none of {key}"]
    types = {"object": dict, "array": list, "string": str, "integer": int, "boolean": bool, "null": type(None)}
    t = schema.get("type")
    if t is not None and not (isinstance(value, types[t]) and not (t == "integer" and isinstance(value, bool))):
        return [f"{where}: {type(value).__name__}, not {t}"]
    out = []
    if isinstance(value, dict):
        out += [f"{where}.{k}: missing" for k in schema.get("required", []) if k not in value]
        for k, sub in schema.get("properties", {}).items():
            if k in value:
                out += fits(doc, sub, value[k], f"{where}.{k}")
        if schema.get("additionalProperties") is False:
            out += [f"{where}.{k}: not declared" for k in value if k not in schema.get("properties", {})]
    if isinstance(value, list) and "items" in schema:
        for i, v in enumerate(value):
            out += fits(doc, schema["items"], v, f"{where}[{i}]")
    return out


def answer_schema(doc, method, path, status):
    content = doc["paths"][path][method]["responses"][str(status)]["content"]
    return next(iter(content.values()))["schema"]


def test_real_answers_fit_their_documented_schemas(node, doc):
    r = node.call(ANA, "POST", "/api/v1/credit/issue", {"to": BO.did, "amount": 5})
    cases = [("post", "/api/v1/credit/issue", r)]
    up = node.call(ANA, "POST", "/api/v1/contracts", {"source": "fn f() -> Integer { 1 }", "name": "f.ccl"})
    cid = up.json()["cid"]
    cases += [("post", "/api/v1/contracts", up),
              ("get", "/api/v1/contracts", node.call(BO, "GET", "/api/v1/contracts")),
              ("post", "/api/v1/contracts/{cid}/call",
               node.call(ANA, "POST", f"/api/v1/contracts/{cid}/call", {"function": "f", "args": []})),
              ("get", "/api/v1/health", node.client.get("/api/v1/health")),
              ("get", "/api/v1/dag/head", node.call(BO, "GET", "/api/v1/dag/head")),
              ("get", "/api/v1/dag/blocks/{cid}", node.call(BO, "GET", f"/api/v1/dag/blocks/{r.json()['receipt']}")),
              ("get", "/api/v1/dag/verify", node.call(BO, "GET", "/api/v1/dag/verify")),
              ("get", "/api/v1/credit/balance/{member}", node.call(BO, "GET", f"/api/v1/credit/balance/{ANA.did}"))]
    for method, path, answer in cases:
        assert answer.status_code == 200, (path, answer.text)
        assert fits(doc, answer_schema(doc, method, path, 200), answer.json()) == [], (method, path, answer.json())
    refusals = [("post", "/api/v1/credit/issue", node.call(None, "POST", "/api/v1/credit/issue", {"to": BO.did})),
                ("post", "/api/v1/credit/issue",
                 node.call(ANA, "POST", "/api/v1/credit/issue", {"to": BO.did, "amount": True})),
                ("get", "/api/v1/dag/head", node.call(None, "GET", "/api/v1/dag/head"))]
    for method, path, answer in refusals:
        assert str(answer.status_code) in doc["paths"][path][method]["responses"], (path, answer.status_code)
        schema = answer_schema(doc, method, path, answer.status_code)
        assert fits(doc, schema, answer.json()) == [], answer.json()


def test_the_structural_check_can_fail(doc):
    schema = answer_schema(doc, "post", "/api/v1/credit/issue", 200)
    assert fits(doc, schema, {"ok": True}) == ["$.gas_used: missing"]
    assert fits(doc, schema, {"ok": "yes", "gas_used": 1}) == ["$.ok: str, not boolean"]
    assert fits(doc, answer_schema(doc, "get", "/api/v1/health", 200), {"ok": True, "node": "n", "coop": 3})


def test_request_schemas_give_the_inputs_types_and_length_limits(doc):
    schemas = doc["components"]["schemas"]
    hours = schemas["HoursLog"]["properties"]
    assert hours["minutes"]["type"] == "integer" and hours["description"]["maxLength"] == 2000
    assert schemas["MemberName"]["properties"]["name"]["maxLength"] == 200
    assert set(schemas["CreditIssue"]["required"]) == {"to", "amount"}
