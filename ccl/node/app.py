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
from ccl.node import auth, openapi
from ccl.node.limits import Buckets, Limits, day_start
from ccl.node.ops import routers

PROBLEM = "application/problem+json"
STATUS = {"usage": 400, "parse": 422, "type": 422, "runtime": 409, "gas": 409, "limit": 409, "host": 403,
          "integrity": 500, "environment": 503}
# codes whose status is not their kind's: arguments a run cannot take (U0702) and a too-long input
# (L0509) are a bad request body (422); too many requests, or past a quota, is 429 with
# Retry-After (ccl.node.limits)
CODE_STATUS = {"U0702": 422, "L0509": 422, "L0510": 429, "L0511": 429}


def problem(status: int, code: str, title: str, detail: str, kind: str = "",
            headers: Optional[dict] = None) -> JSONResponse:
    title, detail = _printable(title), _printable(detail)
    body = {"type": f"https://ccl.coop/errors/{code}", "title": title, "status": status, "detail": detail,
            "code": code, **({"kind": kind} if kind else {})}
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


class TooMany(auth.Refusal):
    """429: a rate limit or a quota (ccl.node.limits), with the seconds to wait."""

    def __init__(self, code: str, detail: str, retry_after: int):
        super().__init__(429, code, "too many requests" if code == "L0510" else "quota exceeded", detail)
        self.retry_after = retry_after


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
    return problem(CODE_STATUS.get(d.code, STATUS.get(d.kind, 400)), d.code, d.kind + " error", d.message, d.kind)


class ContractSource(Body):
    source: str
    name: str = "contract.ccl"


class Call(Body):
    function: str
    args: list[Any] = []


QUERY_MAX = 2048                  # a read's query string (its inputs are short: a limit, a period, a symbol)
BODY_BYTES_MAX = 1 << 20          # 1 MiB: a contract's source is at most 64 KiB; no request needs more
NAME_MAX = 200                    # code points of an uploaded contract's file name


def _address(request: Request) -> str:
    return request.client.host if request.client else ""


class BodyLimit:
    """Refuses a request body over its route's limit (`limits.body_limit(method, path)`, at most
    `BODY_BYTES_MAX`) before anything parses it — by its declared Content-Length at once, and
    while it streams in otherwise — so an unsigned 100 MB body costs the node nothing (it was
    parsed whole before the signature was checked)."""

    def __init__(self, app, limits: Limits = Limits()):
        self.app, self.limits = app, limits

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = min(BODY_BYTES_MAX, self.limits.body_limit(scope.get("method", ""), scope.get("path", "")))
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            return await problem(413, "L0500", "request too large",
                                 f"a request body here is at most {limit} bytes", "limit")(scope, receive, send)
        seen = 0

        async def limited():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise HTTPException(413, f"a request body here is at most {limit} bytes")
            return message
        return await self.app(scope, limited, send)


def create_app(workspace, node_identity, clock=lambda: int(time.time()), limits: Limits = Limits()) -> FastAPI:
    """`workspace`: a ccl.api.workspace.Workspace (its store: SQLite or PostgreSQL); `limits`:
    body sizes, rates and quotas (ccl.node.limits)."""
    app = FastAPI(title="ccl co-op node", version="1", openapi_url="/api/v1/openapi.json", docs_url="/api/v1/docs",
                  redoc_url=None)
    app.add_middleware(BodyLimit, limits=limits)
    per_member = Buckets(limits.member_burst, limits.member_per_minute)
    per_address = Buckets(limits.ip_burst, limits.ip_per_minute)
    from ccl.api import actions

    actions.operations_module()           # built once now, not by each worker thread's first request
    modules: dict[str, Any] = {}          # contracts members uploaded to run (in memory only)
    identity_of: dict[str, str] = {}      # the co-op's DID, read once from the founding record

    async def signed(request: Request) -> dict:
        """The request's verified evidence. A read (GET) spends its nonce here, before it is
        answered; a write spends it with its run (ccl.runtime.session), whatever the outcome."""
        now, address = clock(), _address(request)
        query = request.url.query
        if query and request.method != "GET":           # (the evidence, query and all, goes into the history)
            raise auth.Refusal(422, "U0702", "no query string on a write",
                               "a write takes its inputs in its body; send it without `?…`")
        if len(query) > QUERY_MAX:
            raise auth.Refusal(414, "L0500", "query string too long", f"a read's query string is at most "
                               f"{QUERY_MAX} characters")
        if not request.headers.get("x-ccl-did") and per_address.empty(address, now):
            unsigned(request)                           # refused without reading the body
        body = await request.body()
        # the signature covers the path and the query string (a read's inputs)
        path = request.url.path + (f"?{query}" if query else "")
        try:                                            # the signature and the store: on a worker thread
            evidence, member = await run_in_threadpool(checked, request.headers, request.method, path, body, now)
        except auth.Refusal:
            unsigned(request)                           # a failed signature costs its address a token
            raise
        if not member:
            unsigned(request)                           # so does a key no member holds: keys cost nothing
        wait = per_member.take(evidence["did"], now)
        if wait is not None:
            raise TooMany("L0510", f"{evidence['did']} sent more than {limits.member_burst} requests at once or "
                          f"{limits.member_per_minute} a minute; try again in {wait} s", wait)
        if request.method == "GET":
            await run_in_threadpool(spend, evidence)
        return evidence

    async def signed_then(request: Request, fn, *args):
        """`fn(evidence, *args)` on a worker thread, once the request's signature holds."""
        evidence = await signed(request)
        return await run_in_threadpool(fn, evidence, *args)

    def checked(headers, method: str, path: str, body: bytes, now: int) -> tuple[dict, bool]:
        """The verified evidence, and whether its DID is a member's."""
        from ccl import governance as G

        evidence = auth.check(headers, method, path, body, now, coop_did())
        with workspace.store.reader() as tx:
            return evidence, G.is_member(Ledger(EngineState(tx), now), evidence["did"])

    def unsigned(request: Request) -> None:
        """Traffic no member answers for (unsigned, or a signature that does not hold): one token
        of its address's bucket, or 429."""
        wait = per_address.take(_address(request), clock())
        if wait is not None:
            raise TooMany("L0510", f"too many requests from this address that no member signed; try again in "
                          f"{wait} s", wait)

    def spend(evidence: dict) -> None:
        """Spend a request's nonce on its own (a read, or a request refused before its run), or
        refuse it (A0006) if it was handled before or is stale."""
        from ccl.runtime import session

        refused = session.spend_nonce(workspace.store, evidence, clock)
        if refused is not None:
            raise auth.Refusal(409, "A0006", "replayed request", refused.message)

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
                                  action=action, attachments=attachments, private=private,
                                  history_quota=limits.history_bytes_per_day)
        except CclError as e:                       # refused before its run's transaction: spent all the same
            if e.diagnostic.kind != "environment":  # (the store unreachable: no nonce can be spent)
                spend(evidence)
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
        from ccl.diag import CODES

        wait = getattr(exc, "retry_after", None)     # the A-codes (signatures) are the node's refusals: host
        return problem(exc.status, exc.code, exc.title, exc.detail, CODES.get(exc.code, ("host",))[0],
                       headers={"Retry-After": str(wait)} if wait is not None else None)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        where = "; ".join(f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors()[:3])
        return problem(422, "U0702", "invalid request body", where, "usage")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        # a body that is not JSON at all (bad UTF-8, nested past the parser's limit), an unknown
        # route, a wrong method: problem+json like every other refusal
        code = {400: "U0702", 404: "U0701", 413: "L0500"}.get(exc.status_code, "U0700")
        title = {400: "bad request", 404: "not found", 405: "method not allowed",
                 413: "request too large"}.get(exc.status_code, "refused")
        return problem(exc.status_code, code, title, str(exc.detail), "limit" if exc.status_code == 413 else "usage",
                       headers=getattr(exc, "headers", None))

    @app.exception_handler(CclError)
    async def store_failed(request: Request, exc: CclError):
        # the store's own failures (N0902: the database is unreachable, N0903: runs kept
        # conflicting) wherever a route meets them: their kind's status (environment: 503)
        return from_diagnostic(exc.diagnostic)

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
            if isinstance(e, CclError) and e.diagnostic.kind == "environment":
                return from_diagnostic(e.diagnostic)    # the store is unreachable: no nonce can be spent
            spend(evidence)                     # refused before it ran: its nonce is spent all the same
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
        return await signed_then(request, upload, body)

    def upload(evidence: dict, body: ContractSource):
        from ccl.node import compiler

        spend(evidence)                         # an upload is handled once, like every request
        members_only(evidence, "nothing", "only members upload contracts to run")
        if len(body.name) > NAME_MAX:
            return problem(422, "L0509", "limit error", f"`name` is {len(body.name)} characters long; it may be at "
                           f"most {NAME_MAX}", "limit")
        now = clock()
        with workspace.store.reader() as tx:                # at the quota: refused before any compile
            at_quota = tx.uploads_since(evidence["did"], day_start(now)) >= limits.uploads_per_day
        if at_quota:
            over_quota(now)
        try:
            verified = compiler.compile_contract(body.source, body.name)     # in a child, bounded
        except CclError as e:
            if e.diagnostic.code in compiler.CODES:          # past the compile's deadline or memory
                return problem(422, e.diagnostic.code, "contract too costly to compile", e.diagnostic.message,
                               "limit")
            return from_diagnostic(e.diagnostic)
        with workspace.store.transaction() as tx:          # who uploaded what, beside the history
            known = any(c == verified.cid for _, c, *_ in tx.upload_rows(evidence["did"]))
            if not known and tx.uploads_since(evidence["did"], day_start(now)) >= limits.uploads_per_day:
                over_quota(now)                         # (another node took the last one meanwhile)
            tx.upload_put(evidence["did"], verified.cid, now, body.name, len(body.source.encode()))
        if len(modules) >= 256:                  # uploaded modules are kept in memory only; runs store them
            modules.pop(next(iter(modules)), None)
        modules[verified.cid] = verified
        return {"ok": True, "cid": verified.cid, "by": evidence["did"],
                "functions": [f.name for f in verified.module.functions if f.entry]}

    def over_quota(now: int):
        wait = day_start(now) + 86_400 - now
        raise TooMany("L0511", f"a member uploads at most {limits.uploads_per_day} contracts a day; "
                      f"try again in {wait} s", wait)

    @app.get("/api/v1/contracts")
    async def contract_uploads(request: Request):
        """Who uploaded which contract to this node, and when (members only)."""
        return await signed_then(request, list_uploads)

    def list_uploads(evidence: dict):
        members_only(evidence, "the node's uploads")
        with workspace.store.reader() as tx:
            rows = tx.upload_rows()
        return {"ok": True, "uploads": [{"by": d, "cid": c, "time": t, "name": n, "bytes": b}
                                        for d, c, t, n, b in rows]}

    @app.post("/api/v1/contracts/{cid}/call")
    async def contract_call(cid: str, body: Call, request: Request):
        return await signed_then(request, call_contract, cid, body)

    def call_contract(evidence: dict, cid: str, body: Call):
        verified = modules.get(cid) or _load_module(workspace, cid)
        if verified is None:
            spend(evidence)                     # refused: its nonce is spent all the same
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

    def members_only(evidence: dict, what: str, why: str = "") -> None:
        if not dag_reader(evidence):
            raise auth.Refusal(403, "H0600", "not a member", why or f"only members read {what}")

    @app.get("/api/v1/dag/head")
    async def dag_head(request: Request):
        return await signed_then(request, head_of)

    def head_of(evidence: dict):
        members_only(evidence, "the co-op's history")
        with workspace.store.reader() as tx:
            return {"ok": True, "head": tx.head(), "receipts": len(tx.receipts())}

    @app.get("/api/v1/dag/blocks/{cid}")
    async def dag_block(cid: str, request: Request):
        return await signed_then(request, block_of, cid)

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
        return await signed_then(request, verify_history)

    def verify_history(evidence: dict):
        members_only(evidence, "the co-op's history")
        with workspace.store.reader() as tx:
            problems = dag.verify_all(tx)
        if problems:
            return problem(500, "I0801", "integrity failure", f"block {problems[0].cid}: {problems[0].why}", "integrity")
        return {"ok": True}

    openapi.install(app)             # the signature scheme and the problem responses (ccl.node.openapi)
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
