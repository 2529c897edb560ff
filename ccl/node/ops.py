"""The node's routes for the co-op operations, made from the operations table (ccl.operations):
one APIRouter per engine, none written by hand.

For each operation with a route: a request model from its inputs (strict, like every body; path
inputs from the path), a response model, and the problem responses it can give. A read checks
the signature, then the operation's `who` (ccl.runtime.authority), and answers the engine's query;
a write is the run ccl.api.actions makes for it, run as the signing member (ccl.node.app's `run`).
"""

from __future__ import annotations

import inspect
from typing import Annotated, Any, Callable, Optional

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator, BaseModel, Field, create_model
from starlette.concurrency import run_in_threadpool

from ccl.operations import COMMANDS, ENGINES, PREFIX, Input, Op, path_inputs


class Problem(BaseModel):
    """An RFC 9457 problem: what went wrong, with ccl's error kind and code."""
    type: str
    title: str
    status: int
    detail: str
    code: str
    kind: Optional[str] = None


PROBLEMS: dict = {status: {"model": Problem, "description": why} for status, why in (
    (400, "a malformed request"), (401, "not signed, or the signature does not hold"),
    (403, "refused: the caller may not, or the engine's rule forbids it"), (404, "no such record"),
    (409, "the run failed (runtime, gas, limit) or the request was replayed"), (422, "the body has the wrong shape"))}


class WriteAnswer(BaseModel):
    ok: bool
    result: Any = None
    gas_used: int
    receipt: Optional[str] = None
    proposal: Optional[str] = None


def _did(value: str) -> str:
    from ccl.diag import lone_surrogate
    from ccl.identity import did_problem

    if lone_surrogate(value) is not None:
        return value                     # the body's own check says what is wrong with it
    why = did_problem(value)
    if why is not None:
        raise ValueError(f"not a DID: {why}")
    return value


Did = Annotated[str, AfterValidator(_did)]


def _not_a_did(name: str, why: str):
    from ccl.diag import Span, error

    raise error("U0702", f"path.{name}: not a DID: {why}", Span(), "name a member by their DID (did:key:z…)")


def _py(t: str):
    if t == "Did":
        return Did
    if t == "Integer":
        return int
    if t == "Bool":
        return bool
    if t == "String":
        return str
    if t == "Array<String>":
        return list[str]
    if t.startswith("Array<"):
        return list[Any]
    return Any


def body_model(op: Op, base: type) -> Optional[type]:
    c = op.command
    assert c is not None and c.route is not None
    in_path = set(path_inputs(c.route[1]))
    fields: dict[str, Any] = {}
    for i in c.inputs:
        if i.name in in_path or i.unit in ("file", "files"):
            continue
        t = _py(i.type)
        # an input's length limit, documented (ccl.api.actions refuses past it: L0509, not U0702)
        extra: Optional[dict[str, Any]] = {"maxLength": i.limit} if i.type == "String" else None
        if i.kind == "arg":
            fields[i.name] = (t, Field(..., json_schema_extra=extra))
        else:
            default = list(i.default) if isinstance(i.default, tuple) else i.default
            fields[i.name] = (Optional[t] if default is None else t, Field(default, json_schema_extra=extra))
    if not fields:
        return None
    name = "".join(w.capitalize() for w in c.entry.split("_"))
    return create_model(name, __base__=base, __doc__=c.doc or op.doc, **fields)


def routers(base: type, signed: Callable, run_invocation: Callable, read: Callable,
            authorize_read: Callable) -> list[APIRouter]:
    """One router per engine. `signed(request)` checks the signature and gives the evidence;
    `run_invocation(evidence, inv)` runs a write; `read(fn)` answers `fn(L, tx)`;
    `authorize_read(L, did, op, values)` refuses a read the caller may not make."""
    from ccl.api import actions

    out = []
    for engine in ENGINES:
        router = APIRouter(prefix=PREFIX, tags=[engine])
        for op in COMMANDS:
            c = op.command
            if op.engine != engine or c is None or c.route is None:
                continue
            _add(router, op, base, signed, run_invocation, read, authorize_read, actions)
        out.append(router)
    return out


def _add(router, op: Op, base, signed, run_invocation, read, authorize_read, actions) -> None:
    c = op.command
    assert c is not None and c.route is not None
    method, path = c.route
    names = path_inputs(path)
    model = body_model(op, base) if method != "GET" else None
    query_inputs = [i for i in c.inputs if method == "GET" and i.name not in names]
    writes = op.sig is not None or c.action is not None
    inputs: dict[str, Input] = {i.name: i for i in c.inputs}

    async def handler(request: Request, **kw):
        evidence = await signed(request)
        body = kw.pop("body", None)
        values: dict[str, Any] = {i.name: (list(i.default) if isinstance(i.default, tuple) else i.default)
                                  for i in c.inputs}
        if body is not None:
            values.update(body.model_dump())
        values.update({k: v for k, v in kw.items() if k in inputs})
        for n in names:                         # a DID in the path is checked as one in a body is
            if inputs[n].type == "Did":
                from ccl.identity import did_problem

                why = did_problem(values[n])
                if why is not None and writes:          # refused before it runs: spent all the same
                    return await run_in_threadpool(run_invocation, evidence,
                                                   lambda reader, n=n, why=why: _not_a_did(n, why))
                if why is not None:
                    raise RequestValidationError([{"loc": ("path", n), "msg": f"not a DID: {why}"}])
        if writes:                              # the run and the reads: on a worker thread
            return await run_in_threadpool(run_invocation, evidence,
                                           lambda reader: actions.invocation(op, values, reader))
        query = actions.resolve(c.query or "")

        def answer(L, tx):
            from ccl.runtime.authority import Principal, visible

            authorize_read(L, evidence["did"], op, values)
            return visible(L, tx, Principal(evidence["did"]), op, query(L, *[values[i.name] for i in c.inputs]))
        return await run_in_threadpool(read, answer)

    params = [inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY, annotation=Request)]
    params += [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, annotation=str) for n in names]
    for i in query_inputs:                                  # a read's other inputs: the query string
        t = _py(i.type)
        params.append(inspect.Parameter(i.name, inspect.Parameter.KEYWORD_ONLY,
                                        annotation=Optional[t] if i.default is None else t,
                                        default=inspect.Parameter.empty if i.kind == "arg" else i.default))
    if model is not None:
        params.append(inspect.Parameter("body", inspect.Parameter.KEYWORD_ONLY, annotation=model))
    handler.__signature__ = inspect.Signature(params)          # type: ignore[attr-defined]  # FastAPI reads it
    handler.__name__ = c.entry
    router.add_api_route(path, handler, methods=[method], name=c.entry, summary=c.doc or op.doc,
                         description=f"{c.doc or op.doc}\n\nWho may: {op.permission}. Command: `ccl {c.cli}`.",
                         response_model=WriteAnswer if writes else None, responses=PROBLEMS)
