"""A small Python client for a co-op node: signs every request with the member's key.

    from ccl.client import NodeClient
    node = NodeClient("http://127.0.0.1:8080", identity)
    node.post("/api/v1/credit/issue", {"to": "did:key:…", "amount": 100})

Errors come back as `NodeError` carrying the problem+json body (kind, code, detail). Below both
edges (the CLI's `--node` uses it; it knows the node only by HTTP). Imports ccl.identity.
"""

from __future__ import annotations

import json
import time

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

    def request(self, method: str, path: str, body=None) -> dict:
        data = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        headers = {"content-type": "application/json"} if body is not None else {}
        if self.member is not None:
            headers.update(sign_request(self.member, method, path, data, int(time.time())))
        r = self.http.request(method, path, content=data, headers=headers)
        payload = r.json() if r.content else {}
        if r.status_code >= 400:
            raise NodeError(r.status_code, payload)
        return payload

    def get(self, path: str) -> dict:
        return self.request("GET", path)

    def post(self, path: str, body=None) -> dict:
        return self.request("POST", path, body if body is not None else {})

    def close(self) -> None:
        self.http.close()
