"""The node's OpenAPI document (/api/v1/openapi.json): FastAPI's, completed with what FastAPI
cannot see from the route declarations —

- the signature scheme: the six `X-CCL-*` headers of a signed request (ccl.node.auth) as
  security schemes, required together by every route but the public `/api/v1/health`;
- every problem response an operation can give — status, the codes it carries, and the RFC 9457
  `Problem` schema as `application/problem+json` (FastAPI documents its own validation error,
  which the node never sends);
- the success answers of the hand-written routes (health, contracts, the DAG) and of the reads.

Imports ccl.node.ops (its Problem and WriteAnswer models).
"""

from __future__ import annotations

from typing import Any, Optional

from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from ccl.node.ops import Problem, WriteAnswer

PROBLEM = "application/problem+json"

HEADERS = {
    "CclDid": ("X-CCL-DID", "The signing member's DID (did:key, at most 256 characters)."),
    "CclCoop": ("X-CCL-Coop", "The DID of the co-op the request is for (from /api/v1/health); signed."),
    "CclTime": ("X-CCL-Time", "Seconds since 1970, ASCII digits; within 300 s of the node's clock."),
    "CclNonce": ("X-CCL-Nonce", "8 to 64 characters, used once: a node refuses it the second time (A0006)."),
    "CclSalt": ("X-CCL-Salt", "16 random bytes in hex, new for each request and kept by nobody: the body's digest "
                              "is salted with them, so a receipt's digest cannot be used to guess the body (A0009)."),
    "CclSignature": ("X-CCL-Signature",
                     "Base64 of the Ed25519 signature, by the DID's key, of the UTF-8 text "
                     "`ccl-request/3\\n{coop}\\n{METHOD}\\n{path?query}\\n{digest}\\n{time}\\n{nonce}`, where "
                     "{digest} is the hex SHA-256 of `ccl-body/1`, a NUL byte, the salt's 16 bytes and the body."),
}
SIGNED: list[dict[str, list]] = [{name: [] for name in HEADERS}]           # one requirement: all six headers together

# status → (what it means, the codes it carries)
STATUSES: dict[int, tuple[str, str]] = {
    400: ("a body that is not JSON (bad UTF-8, nested past the parser's limit) or a malformed value",
          "U0700, U0702"),
    401: ("not signed, or the signature does not hold", "A0001, A0002, A0003, A0004, A0005, A0008, A0009"),
    403: ("refused: not a member, the caller may not, or an engine's rule forbids it", "H0600"),
    404: ("no such record, route or contract", "H0600, U0701"),
    405: ("the route does not take this method", "U0700"),
    409: ("the run failed (runtime, gas, a language limit) or the request was replayed",
          "A0006, R03xx, G0400, L05xx"),
    413: ("the request body is over this route's limit, refused before it is read", "L0500"),
    422: ("the body has the wrong shape or types, an input is too long, or the program does not check",
          "U0702, L0509, E0xxx"),
    429: ("too many requests (per member, or per address for failed signatures) or past a quota; "
          "see Retry-After", "L0510, L0511"),
    500: ("an integrity failure of the stored history, or an internal error (never a stack trace)",
          "I08xx, X9999"),
    503: ("the node's workspace has no co-op yet", "U0701"),
}


class Health(BaseModel):
    ok: bool
    node: str
    coop: str
    head: Optional[str] = None


class Uploaded(BaseModel):
    ok: bool
    cid: str
    by: str
    functions: list[str]


class Upload(BaseModel):
    by: str
    cid: str
    time: int
    name: str
    bytes: int


class Uploads(BaseModel):
    ok: bool
    uploads: list[Upload]


class DagHead(BaseModel):
    ok: bool
    head: Optional[str] = None
    receipts: int


class DagBlock(BaseModel):
    ok: bool
    cid: str
    block: Any


class Verified(BaseModel):
    ok: bool


ANSWERS: dict[tuple[str, str], type[BaseModel]] = {
    ("get", "/api/v1/health"): Health, ("post", "/api/v1/contracts"): Uploaded,
    ("get", "/api/v1/contracts"): Uploads, ("post", "/api/v1/contracts/{cid}/call"): WriteAnswer,
    ("get", "/api/v1/dag/head"): DagHead, ("get", "/api/v1/dag/blocks/{cid}"): DagBlock,
    ("get", "/api/v1/dag/verify"): Verified,
}
READ = {"type": "object", "required": ["ok"], "properties": {"ok": {"type": "boolean", "const": True}},
        "additionalProperties": True, "description": "`ok` and the read's fields (see the API reference)."}
PUBLIC = {"/api/v1/health"}


def statuses(method: str, path: str) -> list[int]:
    """The problem statuses a route can answer."""
    if path in PUBLIC:
        return [500, 503]
    out = [400, 401, 403, 404, 405, 409, 422, 429, 500, 503]
    if method in ("post", "put", "patch"):
        out.append(413)
    return sorted(out)


def _schema(model: type[BaseModel], components: dict) -> dict:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schema.pop("$defs", {}).items():
        components.setdefault(name, sub)
    components.setdefault(model.__name__, schema)
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def document(app) -> dict:
    """The OpenAPI document of `app`, made once and kept."""
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(title=app.title, version=app.version, routes=app.routes,
                      description="The HTTP API of a ccl co-op node. Every route but /api/v1/health takes a signed "
                                  "request (the six X-CCL-* headers: see the security schemes); every refusal is an "
                                  "RFC 9457 problem (application/problem+json) with ccl's error kind and code.")
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    problem_ref = _schema(Problem, schemas)
    components["securitySchemes"] = {name: {"type": "apiKey", "in": "header", "name": header, "description": why}
                                     for name, (header, why) in HEADERS.items()}
    for path, methods in doc.get("paths", {}).items():
        for method, op in methods.items():
            if path not in PUBLIC:
                op["security"] = SIGNED
            responses = {k: v for k, v in op.get("responses", {}).items() if not k.startswith(("4", "5"))}
            ok = responses.setdefault("200", {"description": "Successful Response"})
            content = ok.setdefault("content", {}).setdefault("application/json", {})
            if (method, path) in ANSWERS:
                content["schema"] = _schema(ANSWERS[method, path], schemas)
            elif not content.get("schema"):
                content["schema"] = READ
            for status in statuses(method, path):
                why, codes = STATUSES[status]
                responses[str(status)] = {"description": f"{why} (codes: {codes})",
                                          "content": {PROBLEM: {"schema": problem_ref}},
                                          "x-ccl-codes": codes.split(", ")}
                if status == 429:
                    responses["429"]["headers"] = {"Retry-After": {"description": "Seconds to wait.",
                                                                   "schema": {"type": "integer"}}}
            op["responses"] = dict(sorted(responses.items()))
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    app.openapi_schema = doc
    return doc


def install(app) -> None:
    app.openapi = lambda: document(app)
