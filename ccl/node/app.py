"""The HTTP API of a co-op node (FastAPI; OpenAPI at /api/v1/openapi.json).

Why FastAPI: the OpenAPI document — and so the API reference — is generated from the route
declarations, so it cannot drift from what the node serves; it runs on uvicorn (ASGI).

The co-op operations' routes are generated from the operations table (ccl.node.ops, one router
per engine). Every state-changing request is signed by the member (ccl.node.auth) and runs as the
same one-transaction run as the command line (ccl.api.actions: a call of the shipped bylaw
`std/operations.ccl`, or a governance action) with that member as the caller. The node signs the receipt with its own key and the receipt carries the
member's signed request, so anyone can check who asked for what. The nonce is recorded inside the
run's transaction: a replayed request is refused, and a failed run can be retried. Reads of
members' data need a signed request too. Errors are RFC 9457 `application/problem+json` with the
CLI's error kinds and codes; no stack trace ever leaves the node.

Nothing blocks the event loop: every store call, run and read is done on a worker thread
(starlette's threadpool; reads on their own read-only SQLite connections, beside the writes),
and a contract upload compiles in a child process with a deadline and a memory limit
(ccl.node.compiler). On SQLite, concurrent runs are group-committed (ccl.store.sqlite): a
request is answered only once the COMMIT holding its run is durable.
"""

from __future__ import annotations

import time
from typing import Any, Optional

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, model_validator
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from ccl import canon, dag
from ccl.diag import LONE_SURROGATE, CclError, Diagnostic, lone_surrogate
from ccl.ledger import EngineState, Ledger, Refused
from ccl.node import auth
from ccl.node.ops import routers

PROBLEM = "application/problem+json"
STATUS = {"usage": 400, "parse": 422, "type": 422, "runtime": 409, "gas": 409, "limit": 409, "host": 403,
          "integrity": 500, "environment": 503}


def problem(status: int, code: str, title: str, detail: str, kind: str = "") -> JSONResponse:
    title, detail = _printable(title), _printable(detail)
    body = {"type": f"https://ccl.coop/errors/{code}", "title": title, "status": status, "detail": detail,
            "code": code, **({"kind": kind} if kind else {})}
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def _printable(text: str) -> str:
    """A refusal may echo what the client sent: a lone surrogate is written as its escape."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _no_surrogates(value, where: str = "body") -> None:
    stack = [(value, where)]
    while stack:
        v, at = stack.pop()
        if isinstance(v, str):
            if lone_surrogate(v) is not None:
                raise ValueError(f"{at} {LONE_SURROGATE}")
        elif isinstance(v, dict):
            stack.extend((x, f"{at}.{k}") for k, x in v.items())
            stack.extend((k, f"{at} key") for k in v if isinstance(k, str))
        elif isinstance(v, (list, tuple)):
            stack.extend((x, f"{at}[{i}]") for i, x in enumerate(v))


class Body(BaseModel):
    """Every request body: strict types (an amount is a JSON integer, never `true`, `"7"` or
    `3.0`) and Unicode text only."""

    model_config = ConfigDict(strict=True, extra="forbid")        # a misspelt field is refused, not ignored

    @model_validator(mode="after")
    def _unicode(self):
        _no_surrogates(self.model_dump())
        return self


def from_diagnostic(d: Diagnostic) -> JSONResponse:
    return problem(STATUS.get(d.kind, 400), d.code, d.kind + " error", d.message, d.kind)


class ContractSource(Body):
    source: str
    name: str = "contract.ccl"


class Call(Body):
    function: str
    args: list[Any] = []


BODY_BYTES_MAX = 1 << 20          # 1 MiB: a contract's source is at most 64 KiB; no request needs more


class BodyLimit:
    """Refuses a request body over `limit` bytes before anything parses it — by its declared
    Content-Length at once, and while it streams in otherwise — so an unsigned 100 MB body costs
    the node nothing (it was parsed whole before the signature was checked)."""

    def __init__(self, app, limit: int = BODY_BYTES_MAX):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            return await problem(413, "L0500", "request too large",
                                 f"a request body is at most {self.limit} bytes", "limit")(scope, receive, send)
        seen = 0

        async def limited():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise HTTPException(413, f"a request body is at most {self.limit} bytes")
            return message
        return await self.app(scope, limited, send)


def create_app(workspace, node_identity, clock=lambda: int(time.time())) -> FastAPI:
    """`workspace`: a ccl.api.workspace.Workspace (its store: SQLite or PostgreSQL)."""
    app = FastAPI(title="ccl co-op node", version="1", openapi_url="/api/v1/openapi.json", docs_url="/api/v1/docs",
                  redoc_url=None)
    app.add_middleware(BodyLimit)
    from ccl.api import actions

    actions.operations_module()           # built once now, not by each worker thread's first request
    modules: dict[str, Any] = {}          # contracts members uploaded to run (in memory only)
    identity_of: dict[str, str] = {}      # the co-op's DID, read once from the founding record

    async def signed(request: Request) -> dict:
        """The request's verified evidence. A read (GET) spends its nonce here, before it is
        answered; a write spends it with its run (ccl.runtime.session), whatever the outcome."""
        body = await request.body()
        # the signature covers the path and the query string (a read's inputs)
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return await run_in_threadpool(checked, request.headers, request.method, path, body)

    def checked(headers, method: str, path: str, body: bytes) -> dict:
        evidence = auth.check(headers, method, path, body, clock(), coop_did())
        if method == "GET":
            spent = spend(evidence)
            if spent is not None:
                raise auth.Refusal(409, "A0006", "replayed request", spent)
        return evidence

    def spend(evidence: dict) -> Optional[str]:
        """Spend a request's nonce on its own: None, or why it was refused (handled before, stale)."""
        from ccl.runtime import session

        refused = session.spend_nonce(workspace.store, evidence, clock)
        return None if refused is None else refused.message

    def coop_did() -> str:
        if "coop" not in identity_of:
            from ccl import governance as G

            with workspace.store.reader() as tx:
                genesis = G.coop(Ledger(EngineState(tx), 0))
            if genesis is None:
                raise auth.Refusal(503, "U0701", "not founded", "this node's workspace has no co-op yet")
            identity_of["coop"] = genesis["coop"]
        return identity_of["coop"]

    def run(evidence: dict, verified, entry: str, args: list, action=None, attachments=None,
            private=None) -> JSONResponse:
        from ccl.runtime import session

        try:
            outcome = session.run(verified, entry, args, store=workspace.store, caller=evidence["did"],
                                  signer=node_identity, now=None, clock=clock, log=lambda m: None, request=evidence,
                                  action=action, attachments=attachments, private=private)
        except CclError as e:
            return from_diagnostic(e.diagnostic)
        if outcome.error is not None:
            return from_diagnostic(outcome.error)
        r = outcome.run
        if r.error is not None:
            if r.error.code == "H0600" and ("replayed_request" in r.error.message or
                                            "stale_request" in r.error.message):
                return problem(409, "A0006", "replayed request", r.error.message, "host")
            return from_diagnostic(r.error)
        return JSONResponse({"ok": True, "result": r.value, "gas_used": r.gas_used, "receipt": outcome.receipt,
                             **({"proposal": outcome.opened} if outcome.opened else {})})

    def read(fn):
        try:
            with workspace.store.reader() as tx:
                return JSONResponse({"ok": True, **fn(Ledger(EngineState(tx), clock()), tx)})
        except Refused as r:
            return problem(404 if r.rule.endswith("exists") else 403, "H0600", "refused", r.message, "host")

    @app.exception_handler(auth.Refusal)
    async def refused(request: Request, exc: auth.Refusal):
        return problem(exc.status, exc.code, exc.title, exc.detail)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        where = "; ".join(f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors()[:3])
        return problem(422, "U0702", "invalid request body", where, "usage")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        # a body that is not JSON at all (bad UTF-8, nested past the parser's limit), an unknown
        # route, a wrong method: problem+json like every other refusal
        code = {400: "U0702", 404: "U0701", 413: "L0500"}.get(exc.status_code, "U0700")
        title = {400: "bad request", 404: "not found", 413: "request too large"}.get(exc.status_code, "refused")
        return problem(exc.status_code, code, title, str(exc.detail), "limit" if exc.status_code == 413 else "usage")

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception):
        return problem(500, "X9999", "internal error", f"{type(exc).__name__}; see the node's log")

    @app.get("/api/v1/health")
    def health():
        with workspace.store.reader() as tx:
            head = tx.head()
        return {"ok": True, "node": node_identity.did, "coop": coop_did(), "head": head}

    def run_invocation(evidence: dict, make) -> JSONResponse:
        def reader(fn):
            with workspace.store.reader() as tx:
                return fn(Ledger(EngineState(tx), clock()), tx)
        try:
            inv = make(reader)
        except (Refused, CclError) as e:
            spent = spend(evidence)             # refused before it ran: its nonce is spent all the same
            if spent is not None:
                return problem(409, "A0006", "replayed request", spent, "host")
            if isinstance(e, CclError):
                return from_diagnostic(e.diagnostic)
            return problem(404 if e.rule.endswith("exists") else 403, "H0600", "refused", e.message, "host")
        return run(evidence, inv.verified, inv.entry, inv.args, action=inv.action, attachments=inv.attachments,
                   private=inv.private)

    def authorize_read(L: Ledger, did: str, op, values: dict) -> None:
        from ccl.runtime import authority as AUTH

        AUTH.authorize_read(L, AUTH.Principal(did), op.command.cli, op.command.who, values, op.command.outsiders)

    # the co-op operations: generated from the operations table, one router per engine
    for router in routers(Body, signed, run_invocation, lambda fn: read(lambda L, tx: fn(L, tx)), authorize_read):
        app.include_router(router)

    # ------------------------------------------------------------ contracts
    @app.post("/api/v1/contracts")
    async def contract_upload(body: ContractSource, request: Request):
        evidence = await signed(request)
        return await run_in_threadpool(upload, evidence, body)

    def upload(evidence: dict, body: ContractSource):
        from ccl.node import compiler

        with workspace.store.reader() as tx:
            from ccl import governance as G

            if not G.is_member(Ledger(EngineState(tx), clock()), evidence["did"]):
                return problem(403, "H0600", "not a member", "only members upload contracts to run", "host")
        try:
            verified = compiler.compile_contract(body.source, body.name)     # in a child, bounded
        except CclError as e:
            if e.diagnostic.code in compiler.CODES:          # past the compile's deadline or memory
                return problem(422, e.diagnostic.code, "contract too costly to compile", e.diagnostic.message,
                               "limit")
            return from_diagnostic(e.diagnostic)
        if len(modules) >= 256:                  # uploaded modules are kept in memory only; runs store them
            modules.pop(next(iter(modules)), None)
        modules[verified.cid] = verified
        return {"ok": True, "cid": verified.cid, "by": evidence["did"],
                "functions": [f.name for f in verified.module.functions if f.entry]}

    @app.post("/api/v1/contracts/{cid}/call")
    async def contract_call(cid: str, body: Call, request: Request):
        evidence = await signed(request)
        return await run_in_threadpool(call_contract, evidence, cid, body)

    def call_contract(evidence: dict, cid: str, body: Call):
        verified = modules.get(cid) or _load_module(workspace, cid)
        if verified is None:
            return problem(404, "U0701", "unknown contract", f"no module {cid} on this node", "usage")
        modules[cid] = verified
        return run(evidence, verified, body.function, body.args)

    # ------------------------------------------------------------ the DAG
    # Signed, like every read: members read the whole history (private inputs are in it only as
    # commitments, ccl.private); anyone else reads only the receipts of their own requests.
    def dag_reader(evidence: dict):
        from ccl import governance as G

        with workspace.store.reader() as tx:
            return G.is_member(Ledger(EngineState(tx), clock()), evidence["did"])

    def members_only(evidence: dict, what: str) -> None:
        if not dag_reader(evidence):
            raise auth.Refusal(403, "H0600", "not a member", f"only members read {what}")

    @app.get("/api/v1/dag/head")
    async def dag_head(request: Request):
        evidence = await signed(request)
        return await run_in_threadpool(head_of, evidence)

    def head_of(evidence: dict):
        members_only(evidence, "the co-op's history")
        with workspace.store.reader() as tx:
            return {"ok": True, "head": tx.head(), "receipts": len(tx.receipts())}

    @app.get("/api/v1/dag/blocks/{cid}")
    async def dag_block(cid: str, request: Request):
        evidence = await signed(request)
        return await run_in_threadpool(block_of, evidence, cid)

    def block_of(evidence: dict, cid: str):
        if not canon.is_cid(cid):
            return problem(400, "U0700", "bad content id", f"`{cid}` is not a CID", "usage")
        member = dag_reader(evidence)
        with workspace.store.reader() as tx:
            value = dag.get(tx, cid)
        mine = isinstance(value, dict) and isinstance(value.get("payload"), dict) and \
            evidence["did"] in (value["payload"].get("caller"), value["payload"].get("triggered_by"))
        if value is None or not (member or mine):        # a non-member learns nothing of others' blocks
            return problem(404, "U0701", "no such block", f"no block {cid} this member may read on this node",
                           "usage")
        return {"ok": True, "cid": cid, "block": dag.json_view(value)}

    @app.get("/api/v1/dag/verify")
    async def dag_verify(request: Request):
        evidence = await signed(request)
        return await run_in_threadpool(verify_history, evidence)

    def verify_history(evidence: dict):
        members_only(evidence, "the co-op's history")
        with workspace.store.reader() as tx:
            problems = dag.verify_all(tx)
        if problems:
            return problem(500, "I0801", "integrity failure", f"block {problems[0].cid}: {problems[0].why}", "integrity")
        return {"ok": True}

    return app


def _load_module(workspace, cid: str):
    from ccl.compile.module import module_from_cbor
    from ccl.compile.verify import verify

    with workspace.store.reader() as tx:
        data = tx.get_block(cid)
    if data is None:
        return None
    try:
        return verify(module_from_cbor(canon.decode(data), cid), cid)
    except (CclError, canon.DagCborError):
        return None                     # a block that is not a module (a receipt, say)
