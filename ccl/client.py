"""A small Python client for a co-op node: signs every request with the member's key.

    from ccl.client import NodeClient
    node = NodeClient("http://127.0.0.1:8080", identity)
    node.credit_issue(to="did:key:…", amount=10_000)        # 100.00 CREDIT, in cents
    node.credit_balance(member="did:key:…")                 # {"ok": true, "balance": …}

Every co-op operation with a route is a method, named as its command is (`ccl credit issue` →
`credit_issue`), made from the operations table (ccl.operations); amounts are minor units and
members DIDs, as over HTTP. `get` and `post` reach any route.

Errors come back as `NodeError` carrying the problem+json body (kind, code, detail). Below both
edges (the CLI's `--node` uses it; it knows the node only by HTTP). Imports ccl.identity.
"""

from __future__ import annotations

import json
import time
from typing import Callable
from urllib.parse import quote, unquote, urlencode

import httpx

from ccl.identity import sign_request


class NodeError(Exception):
    def __init__(self, status: int, problem: dict):
        super().__init__(problem.get("detail", ""))
        self.status = status
        self.problem = problem


class NodeClient:
    def __init__(self, url: str, member=None, *, timeout: float = 30.0, transport=None):
        self.http = httpx.Client(base_url=url.rstrip("/"), timeout=timeout, transport=transport)
        self.member = member
        self._coop: str | None = None

    def request(self, method: str, path: str, body=None) -> dict:
        data = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        headers = {"content-type": "application/json"} if body is not None else {}
        if self.member is not None:       # signed as the node reads it: the path decoded, the query as sent
            where, _, query = path.partition("?")
            signed = unquote(where) + (f"?{query}" if query else "")
            headers.update(sign_request(self.member, method, signed, data, int(time.time()), coop=self.coop()))
        r = self.http.request(method, path, content=data, headers=headers)
        payload = r.json() if r.content else {}
        if r.status_code >= 400:
            raise NodeError(r.status_code, payload)
        return payload

    def coop(self) -> str:
        """The DID of the co-op the node serves (its /health says), which every request names."""
        if self._coop is None:
            r = self.http.get("/api/v1/health")
            payload = r.json() if r.content else {}
            if r.status_code >= 400 or not isinstance(payload.get("coop"), str):
                raise NodeError(r.status_code, payload if isinstance(payload, dict) else {})
            self._coop = payload["coop"]
        return self._coop

    def get(self, path: str) -> dict:
        return self.request("GET", path)

    def post(self, path: str, body=None) -> dict:
        return self.request("POST", path, body if body is not None else {})

    def operation(self, name: str, values: dict) -> dict:
        """Call the route of an operation (its name, or its command's function name) with `values`."""
        from ccl.operations import BY_ENTRY, BY_NAME, PREFIX, path_inputs

        op = BY_ENTRY.get(name) or BY_NAME.get(name)
        if op is None or op.command is None or op.command.route is None:
            raise AttributeError(f"no operation `{name}` with a route")
        method, path = op.command.route
        in_path = path_inputs(path)
        missing = [i.name for i in op.command.inputs if i.kind == "arg" and values.get(i.name) is None]
        if missing:
            raise TypeError(f"{name} needs {', '.join(missing)}")
        for n in in_path:
            path = path.replace("{" + n + "}", quote(str(values[n]), safe=":@"))
        body = {k: v for k, v in values.items() if k not in in_path and v is not None}
        if method == "GET":                # a read's other inputs: the query string
            return self.request(method, PREFIX + path + (f"?{urlencode(body)}" if body else ""), None)
        return self.request(method, PREFIX + path, body)

    def __getattr__(self, name: str) -> Callable[..., dict]:
        from ccl.operations import BY_ENTRY

        if name.startswith("_") or name not in BY_ENTRY:
            raise AttributeError(name)
        return lambda **values: self.operation(name, values)

    def close(self) -> None:
        self.http.close()
