"""Signed requests: a member signs the co-op, method, path, salted body digest, time and a
nonce with their did:key (ccl.identity.sign_request, below both the node and its clients); the
node checks the signature, the time (within 5 minutes) and that the nonce is new.

Headers: `X-CCL-DID`, `X-CCL-Coop` (the co-op's DID: a request names the co-op it is for, and a
node refuses another co-op's), `X-CCL-Time` (seconds since 1970), `X-CCL-Nonce`, `X-CCL-Salt`
(16 random bytes in hex: the body digest is salted, and nobody keeps the salt, so a receipt's
digest gives no way to guess a private text in the body), `X-CCL-Signature` (base64 of the
Ed25519 signature of `message(...)`). Imports leaves and ccl.identity.
"""

from __future__ import annotations

import base64

from ccl import identity

MAX_SKEW_S = 300


def message(method: str, path: str, body: bytes, time: int, nonce: str, coop: str, salt: bytes) -> bytes:
    return identity.request_message(method, path, identity.body_digest(salt, body), time, nonce, coop)


class Refusal(Exception):
    def __init__(self, status: int, code: str, title: str, detail: str):
        super().__init__(detail)
        self.status, self.code, self.title, self.detail = status, code, title, detail


def check(headers, method: str, path: str, body: bytes, now: int, coop: str) -> dict:
    """The verified request evidence (for the receipt), or Refusal. `coop`: this node's co-op,
    which the request must name (X-CCL-Coop) and sign."""
    did = headers.get("x-ccl-did")
    if not did:
        raise Refusal(401, "A0001", "unsigned request", "sign the request with your key (X-CCL-* headers)")
    if headers.get("x-ccl-coop") != coop:
        raise Refusal(401, "A0008", "another co-op's request",
                      f"this node serves the co-op {coop}; sign requests for it (X-CCL-Coop, from /api/v1/health)")
    try:
        text = headers.get("x-ccl-time", "")
        if not (text.isascii() and text.isdigit()):
            raise ValueError(text)
        time = int(text)
    except ValueError:
        raise Refusal(401, "A0002", "bad request time", "X-CCL-Time must be whole seconds since 1970") from None
    nonce = headers.get("x-ccl-nonce", "")
    if not 8 <= len(nonce) <= 64:
        raise Refusal(401, "A0003", "bad nonce", "X-CCL-Nonce must be 8 to 64 characters")
    salt_text = headers.get("x-ccl-salt", "")
    try:
        salt = bytes.fromhex(salt_text) if salt_text.isascii() else b""
    except ValueError:
        salt = b""
    if len(salt) != identity.SALT_BYTES:
        raise Refusal(401, "A0009", "unsalted request",
                      "X-CCL-Salt must be 16 random bytes in hex (request format 3: ccl.identity.sign_request)")
    if abs(now - time) > MAX_SKEW_S:
        raise Refusal(401, "A0004", "stale request", f"the request is {abs(now - time)} s from the node's clock")
    try:
        signature = base64.b64decode(headers.get("x-ccl-signature", ""), validate=True)
    except ValueError:
        signature = b""
    if not identity.verify(did, message(method, path, body, time, nonce, coop, salt), signature):
        raise Refusal(401, "A0005", "forged request", "the signature does not match this request and DID")
    return {"did": did, "coop": coop, "method": method.upper(), "path": path,
            "body_digest": identity.body_digest(salt, body), "time": time, "nonce": nonce, "signature": signature}
