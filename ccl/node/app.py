"""The HTTP API of a co-op node (FastAPI; OpenAPI at /api/v1/openapi.json).

Why FastAPI: the OpenAPI document — and so the API reference — is generated from the route
declarations, so it cannot drift from what the node serves; it runs on uvicorn (ASGI).

Every state-changing request is signed by the member (ccl.node.auth) and runs as a call of one of
the shipped bylaws (`std/cli_*.ccl`) with that member as the caller — the same one-transaction
runs as the command line. The node signs the receipt with its own key and the receipt carries the
member's signed request, so anyone can check who asked for what. The nonce is recorded inside the
run's transaction: a replayed request is refused, and a failed run can be retried. Reads of
members' data need a signed request too. Errors are RFC 9457 `application/problem+json` with the
CLI's error kinds and codes; no stack trace ever leaves the node.
"""

from __future__ import annotations

import time
from typing import Any, Optional

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, model_validator
from starlette.exceptions import HTTPException

from ccl import canon, dag
from ccl.diag import LONE_SURROGATE, CclError, Diagnostic, lone_surrogate
from ccl.ledger import EngineState, Ledger, Refused
from ccl.ledger import engines as E
from ccl.node import auth

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

    model_config = ConfigDict(strict=True)

    @model_validator(mode="after")
    def _unicode(self):
        _no_surrogates(self.model_dump())
        return self


def from_diagnostic(d: Diagnostic) -> JSONResponse:
    return problem(STATUS.get(d.kind, 400), d.code, d.kind + " error", d.message, d.kind)


class Transfer(Body):
    to: str
    amount: int


class HoursLog(Body):
    member: str
    minutes: int
    description: str


class Record(Body):
    record: str


class CurrencyCreate(Body):
    symbol: str
    name: str
    cap: int = 2**63 - 1
    transferable: bool = True
    demurrage_bps: int = 0
    period_days: int = 30


class Mint(Body):
    to: str
    amount: int


class Amount(Body):
    amount: int


class LoanRequest(Body):
    amount: int
    purpose: str
    term_days: int


class Ballot(Body):
    ballot: str                           # a signed ballot (ccl.governance.sign_ballot)


class Member(Body):
    member: str


class AidRequest(Body):
    category: str
    quantity: int
    urgency: int = 5
    location: str = ""


class AidOffer(Body):
    category: str
    quantity: int
    location: str = ""


class ContractSource(Body):
    source: str
    name: str = "contract.ccl"


class Call(Body):
    function: str
    args: list[Any] = []


class Args(Body):
    args: list[Any] = []


class Limits(Body):
    member: str
    floor: int
    ceiling: int


class Policy(Body):
    key: str
    value: int


class Role(Body):
    role: str


class ProposalOpen(Body):
    kind: str                             # a kind of the adopted bylaws: `Kind` or `Contract::Kind`
    args: list[Any] = []
    method: str = "binary"
    options: Optional[list[str]] = None
    delay_s: int = 0
    timelock_s: int = 0
    allow_changes: bool = False


def create_app(workspace, node_identity, clock=lambda: int(time.time())) -> FastAPI:
    """`workspace`: a ccl.api.workspace.Workspace (its store: SQLite or PostgreSQL)."""
    app = FastAPI(title="ccl co-op node", version="1", openapi_url="/api/v1/openapi.json", docs_url="/api/v1/docs",
                  redoc_url=None)
    modules: dict[str, Any] = {}

    def bylaw(name: str):
        if name not in modules:
            from ccl.api.files import build_file, stdlib_dir

            modules[name] = build_file(str(stdlib_dir() / f"{name}.ccl"))
        return modules[name]

    async def signed(request: Request) -> dict:
        body = await request.body()
        return auth.check(request.headers, request.method, request.url.path, body, clock())

    def run(evidence: dict, verified, entry: str, args: list, action=None) -> JSONResponse:
        from ccl.runtime import session

        try:
            outcome = session.run(verified, entry, args, store=workspace.store, caller=evidence["did"],
                                  signer=node_identity, now=None, clock=clock, log=lambda m: None, request=evidence,
                                  action=action)
        except CclError as e:
            return from_diagnostic(e.diagnostic)
        if outcome.error is not None:
            return from_diagnostic(outcome.error)
        r = outcome.run
        if not r.ok:
            if r.error.code == "H0600" and "replayed_request" in r.error.message:
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
        code = {400: "U0702", 404: "U0701"}.get(exc.status_code, "U0700")
        return problem(exc.status_code, code, "bad request" if exc.status_code == 400 else "not found"
                       if exc.status_code == 404 else "refused", str(exc.detail), "usage")

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception):
        return problem(500, "X9999", "internal error", f"{type(exc).__name__}; see the node's log")

    @app.get("/api/v1/health")
    def health():
        with workspace.store.reader() as tx:
            head = tx.head()
        return {"ok": True, "node": node_identity.did, "head": head}

    # ------------------------------------------------------------ credit, hours, currencies, loans
    @app.post("/api/v1/credit/issue")
    async def credit_issue(body: Transfer, request: Request):
        return run(await signed(request), bylaw("cli_bank"), "credit_issue", [body.to, body.amount])

    @app.post("/api/v1/credit/transfer")
    async def credit_transfer(body: Transfer, request: Request):
        return run(await signed(request), bylaw("cli_bank"), "credit_transfer", [body.to, body.amount])

    @app.get("/api/v1/credit/balance/{member}")
    async def credit_balance(member: str, request: Request):
        await signed(request)
        return read(lambda L, tx: {"member": member, "balance": E.credit_balance(L, member)})

    @app.get("/api/v1/credit/history/{member}")
    async def credit_history(member: str, request: Request):
        evidence = await signed(request)
        if evidence["did"] != member and not _steward(workspace, evidence["did"]):
            return problem(403, "A0007", "private data", "members read their own history (or hold manage_credit)")
        return read(lambda L, tx: (E.ensure_credit(L), {"member": member, "history": L.history(E.CREDIT, member)})[1])

    @app.post("/api/v1/hours/log")
    async def hours_log(body: HoursLog, request: Request):
        return run(await signed(request), bylaw("cli_bank"), "hours_log", [body.member, body.minutes, body.description])

    @app.post("/api/v1/credit/limit")
    async def credit_limit(body: Limits, request: Request):
        return run(await signed(request), bylaw("cli_bank"), "credit_limit", [body.member, body.floor, body.ceiling])

    @app.post("/api/v1/hours/trade")
    async def hours_trade(body: Transfer, request: Request):
        return run(await signed(request), bylaw("cli_bank"), "hours_trade", [body.to, body.amount])

    @app.post("/api/v1/hours/confirm")
    async def hours_confirm(body: Record, request: Request):
        return run(await signed(request), bylaw("cli_bank"), "hours_confirm", [body.record])

    @app.get("/api/v1/hours/balance/{member}")
    async def hours_balance(member: str, request: Request):
        await signed(request)
        return read(lambda L, tx: {"member": member, "balance": E.hour_balance(L, member)})

    @app.post("/api/v1/currencies")
    async def currency_create(body: CurrencyCreate, request: Request):
        return run(await signed(request), bylaw("cli_bank"), "currency_create",
                   [body.symbol, body.name, body.cap, body.transferable, body.demurrage_bps, body.period_days])

    @app.post("/api/v1/currencies/{symbol}/mint")
    async def currency_mint(symbol: str, body: Mint, request: Request):
        return run(await signed(request), bylaw("cli_bank"), "currency_mint", [symbol, body.to, body.amount])

    @app.post("/api/v1/currencies/{symbol}/transfer")
    async def currency_transfer(symbol: str, body: Transfer, request: Request):
        return run(await signed(request), bylaw("cli_bank"), "currency_transfer", [symbol, body.to, body.amount])

    @app.post("/api/v1/currencies/{symbol}/burn")
    async def currency_burn(symbol: str, body: Amount, request: Request):
        return run(await signed(request), bylaw("cli_bank"), "currency_burn", [symbol, body.amount])

    @app.post("/api/v1/currencies/{symbol}/policy")
    async def currency_policy(symbol: str, body: Policy, request: Request):
        return run(await signed(request), bylaw("cli_bank"), "currency_policy", [symbol, body.key, body.value])

    @app.get("/api/v1/currencies/{symbol}/balance/{member}")
    async def currency_balance(symbol: str, member: str, request: Request):
        await signed(request)
        return read(lambda L, tx: {"member": member, "balance": E.token_balance(L, symbol, member)})

    @app.post("/api/v1/loans")
    async def loan_request(body: LoanRequest, request: Request):
        return run(await signed(request), bylaw("cli_bank"), "loan_request", [body.amount, body.purpose, body.term_days])

    @app.post("/api/v1/loans/{loan}/approve")
    async def loan_approve(loan: str, request: Request):
        return run(await signed(request), bylaw("cli_bank"), "loan_approve", [loan])

    @app.post("/api/v1/loans/{loan}/repay")
    async def loan_repay(loan: str, body: Amount, request: Request):
        return run(await signed(request), bylaw("cli_bank"), "loan_repay", [loan, body.amount])

    @app.get("/api/v1/loans/{loan}")
    async def loan_show(loan: str, request: Request):
        await signed(request)
        return read(lambda L, tx: {"loan": {**E._loan(L, loan), "arrears": E.loan_arrears(L, loan)}})

    @app.get("/api/v1/loans")
    async def loans(request: Request):
        await signed(request)
        return read(lambda L, tx: {"loans": E.loans(L)})

    # ------------------------------------------------------------ members and proposals
    @app.get("/api/v1/members")
    async def members(request: Request):
        await signed(request)
        from ccl import governance as G

        return read(lambda L, tx: {"members": [{**m, "roles": G.roles_of(L, d)} for d, m in G.members(L)]})

    @app.post("/api/v1/members")
    async def member_add(body: Member, request: Request):
        return run(await signed(request), bylaw("cli_governance"), "member_add", [body.member])

    @app.get("/api/v1/proposals")
    async def proposals(request: Request):
        await signed(request)
        from ccl import governance as G

        return read(lambda L, tx: {"proposals": [{"id": p["id"], "kind": p["kind"], "status": G.status(L, p),
                                                  "tally": G.tally(L, p)} for p in G.proposals(L)]})

    @app.post("/api/v1/members/{member}/roles")
    async def role_grant(member: str, body: Role, request: Request):
        return run(await signed(request), bylaw("cli_governance"), "role_grant", [member, body.role])

    @app.post("/api/v1/proposals")
    async def proposal_open(body: ProposalOpen, request: Request):
        """Open a proposal of a kind the adopted bylaws declare (an uploaded module registers nothing)."""
        evidence = await signed(request)
        action = {"op": "open_proposal", "kind": body.kind, "args": body.args, "method": body.method,
                  "options": body.options, "delay_s": body.delay_s, "timelock_s": body.timelock_s,
                  "allow_changes": body.allow_changes}
        return run(evidence, bylaw("cli_noop"), "noop", [], action=action)

    @app.get("/api/v1/proposals/{pid}")
    async def proposal_show(pid: str, request: Request):
        await signed(request)
        from ccl import governance as G

        def show(L, tx):
            p = G.proposal(L, pid)
            return {"proposal": {k: v for k, v in p.items() if k != "ballots"}, "status": G.status(L, p),
                    "tally": G.tally(L, p), "seconds_left": max(p["end"] - L.now, 0)}
        return read(show)

    @app.post("/api/v1/proposals/{pid}/execute")
    async def proposal_execute(pid: str, request: Request):
        from ccl import governance as G

        evidence = await signed(request)
        with workspace.store.reader() as tx:
            try:
                p = G.proposal(Ledger(EngineState(tx), clock()), pid)
            except Refused as r:
                return problem(404, "H0600", "refused", r.message, "host")
        if p["execution"] is None:
            return problem(409, "H0600", "refused", f"`{pid}` has nothing to execute", "host")
        action = {"op": "execute", "proposal": pid}
        if p["execution"] == "builtin:amendment":
            return run(evidence, bylaw("cli_noop"), "noop", [], action=action)
        verified = _load_module(workspace, p["module"])
        if verified is None:
            return problem(409, "H0600", "refused", f"the module of `{pid}` is missing", "host")
        return run(evidence, verified, p["execution"], p["args"], action=action)

    @app.get("/api/v1/proposals/{pid}/tally")
    async def proposal_tally(pid: str, request: Request):
        await signed(request)
        from ccl import governance as G

        return read(lambda L, tx: {"tally": G.tally(L, G.proposal(L, pid))})

    @app.post("/api/v1/proposals/{pid}/vote")
    async def proposal_vote(pid: str, body: Ballot, request: Request):
        return run(await signed(request), bylaw("cli_governance"), "vote", [pid, body.ballot])

    # ------------------------------------------------------------ mutual aid
    @app.post("/api/v1/aid/requests")
    async def aid_request(body: AidRequest, request: Request):
        return run(await signed(request), bylaw("cli_coop"), "aid_request",
                   [body.category, body.quantity, body.urgency, body.location])

    @app.post("/api/v1/aid/offers")
    async def aid_offer(body: AidOffer, request: Request):
        return run(await signed(request), bylaw("cli_coop"), "aid_offer", [body.category, body.quantity, body.location])

    @app.post("/api/v1/aid/matches/{match}/fulfil")
    async def aid_fulfil(match: str, request: Request):
        return run(await signed(request), bylaw("cli_coop"), "aid_fulfil", [match])

    @app.get("/api/v1/aid")
    async def aid_list(request: Request):
        await signed(request)
        from ccl import aid as AID

        return read(lambda L, tx: AID.listing(L))

    @app.post("/api/v1/aid/match")
    async def aid_match(request: Request):
        return run(await signed(request), bylaw("cli_coop"), "aid_match", [])

    # ------------------------------------------------------------ the shipped bylaws (`ccl --node`)
    @app.post("/api/v1/bylaws/{name}/{function}")
    async def bylaw_call(name: str, function: str, body: Args, request: Request):
        """Call a function of a shipped bylaw (cli_bank, cli_governance, cli_coop) as the signer."""
        evidence = await signed(request)
        if name not in ("cli_bank", "cli_governance", "cli_coop"):
            return problem(404, "U0701", "unknown bylaw", f"the node has no shipped bylaw `{name}`", "usage")
        return run(evidence, bylaw(name), function, body.args)

    # ------------------------------------------------------------ contracts
    @app.post("/api/v1/contracts")
    async def contract_upload(body: ContractSource, request: Request):
        evidence = await signed(request)
        from ccl.pipeline import build

        with workspace.store.reader() as tx:
            from ccl import governance as G

            if not G.is_member(Ledger(EngineState(tx), clock()), evidence["did"]):
                return problem(403, "H0600", "not a member", "only members upload contracts to run", "host")
        try:
            verified = build(body.source, body.name)
        except CclError as e:
            return from_diagnostic(e.diagnostic)
        if len(modules) >= 256:                  # uploaded modules are kept in memory only; runs store them
            modules.pop(next(k for k in modules if not k.startswith("cli_")))
        modules[verified.cid] = verified
        return {"ok": True, "cid": verified.cid, "by": evidence["did"],
                "functions": [f.name for f in verified.module.functions if f.entry]}

    @app.post("/api/v1/contracts/{cid}/call")
    async def contract_call(cid: str, body: Call, request: Request):
        evidence = await signed(request)
        verified = modules.get(cid) or _load_module(workspace, cid)
        if verified is None:
            return problem(404, "U0701", "unknown contract", f"no module {cid} on this node", "usage")
        modules[cid] = verified
        return run(evidence, verified, body.function, body.args)

    # ------------------------------------------------------------ the DAG
    @app.get("/api/v1/dag/head")
    def dag_head():
        with workspace.store.reader() as tx:
            return {"ok": True, "head": tx.head(), "receipts": len(tx.receipts())}

    @app.get("/api/v1/dag/blocks/{cid}")
    def dag_block(cid: str):
        if not canon.is_cid(cid):
            return problem(400, "U0700", "bad content id", f"`{cid}` is not a CID", "usage")
        with workspace.store.reader() as tx:
            value = dag.get(tx, cid)
        if value is None:
            return problem(404, "U0701", "no such block", f"no block {cid} on this node", "usage")
        return {"ok": True, "cid": cid, "block": dag.json_view(value)}

    @app.get("/api/v1/dag/verify")
    def dag_verify():
        with workspace.store.reader() as tx:
            problems = dag.verify_all(tx)
        if problems:
            return problem(500, "I0801", "integrity failure", f"block {problems[0].cid}: {problems[0].why}", "integrity")
        return {"ok": True}

    return app


def _steward(workspace, did: str) -> bool:
    with workspace.store.reader() as tx:
        from ccl import governance as G

        return G.has_permission(Ledger(EngineState(tx), 0), did, "manage_credit")


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
