"""Identities: did:key Ed25519 keys, strict signatures, and the on-disk keystore.

Owns DID encoding (multicodec ed25519-pub 0xed01, base58btc `z…`), signing and verification
(`cryptography`), and `Keystore` (one PKCS#8 file per name, mode 0600). Imports leaves only.
Verification is strict: a signature whose scalar S is not below the group order L is refused
(the classic Ed25519 malleability), as are public keys that are not 32 bytes, that are not the
canonical encoding of a curve point (y ≥ p, or x = 0 with the sign bit set), or whose point has
small order (it lies in the 8-element torsion subgroup: with such a key a signature made with no
secret at all verifies every message). `public_from_did` refuses them, so a did:key that names
one is no identity anywhere: not in a request, a ballot, a receipt or an admission.
"""

from __future__ import annotations

import functools
import json
import os
import re
from pathlib import Path

import base58
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ccl.diag import Span, error

ED25519_PUB = b"\xed\x01"
GROUP_ORDER = 2**252 + 27742317777372353535851937790883648493
NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")


# the curve: -x² + y² = 1 + d·x²·y² over GF(p)
P = 2**255 - 19
D = -121665 * pow(121666, P - 2, P) % P
_SQRT_M1 = pow(2, (P - 1) // 4, P)


def _point(raw: bytes) -> tuple[int, int] | None:
    """The curve point a 32-byte public key encodes, or None when the encoding is not canonical
    (y ≥ p, x = 0 with the sign bit set) or names no point (RFC 8032 §5.1.3, strictly)."""
    n = int.from_bytes(raw, "little")
    y, sign = n & ((1 << 255) - 1), n >> 255
    if y >= P:
        return None
    u, v = (y * y - 1) % P, (D * y * y + 1) % P
    x = u * pow(v, 3, P) * pow(u * pow(v, 7, P), (P - 5) // 8, P) % P
    if (v * x * x - u) % P != 0:
        x = x * _SQRT_M1 % P
        if (v * x * x - u) % P != 0:
            return None
    if x == 0 and sign:
        return None
    if x & 1 != sign:
        x = P - x
    return x, y


def _add(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    (x1, y1), (x2, y2) = a, b
    t = D * x1 * x2 * y1 * y2 % P
    return ((x1 * y2 + y1 * x2) * pow(1 + t, P - 2, P) % P, (y1 * y2 + x1 * x2) * pow(1 - t, P - 2, P) % P)


@functools.lru_cache(maxsize=4096)            # a co-op checks the same few keys again and again
def weak_public_key(raw: bytes) -> str | None:
    """Why a 32-byte Ed25519 public key is refused, or None for a sound one."""
    point = _point(raw)
    if point is None:
        return "is not the canonical encoding of a curve point"
    for _ in range(3):                          # 8·A: the identity exactly when A has small order
        point = _add(point, point)
    if point == (0, 1):
        return "has small order (a signature made without any secret would verify)"
    return None


DID_LENGTH_MAX = 256
_DID = re.compile(r"^did:[a-z0-9]+:[A-Za-z0-9._:%-]+$")
_ACCOUNT = re.compile(r"^sys:[a-z_]{1,32}$")


def did_problem(text: str) -> str | None:
    """Why `text` is not a DID a member or an account can be named by, or None: a did:key must
    name a sound Ed25519 key; any other method is `did:method:id` in DID syntax, at most 256
    characters; the engines' own accounts are `sys:name`."""
    if not isinstance(text, str):
        return "a DID is text"
    if _ACCOUNT.fullmatch(text):
        return None
    if len(text) > DID_LENGTH_MAX:
        return f"a DID has at most {DID_LENGTH_MAX} characters"
    if not _DID.fullmatch(text):
        return "it is not a DID (did:method:id)"
    if text.startswith("did:key:"):
        try:
            public_from_did(text)
        except ValueError as e:
            return str(e)
    return None


def did_from_public(raw: bytes) -> str:
    return "did:key:z" + base58.b58encode(ED25519_PUB + raw).decode("ascii")


def public_from_did(did: str) -> bytes:
    """The 32 public-key bytes of a did:key Ed25519 identity, or ValueError."""
    if not did.startswith("did:key:z"):
        raise ValueError("not a did:key identity")
    try:
        data = base58.b58decode(did[len("did:key:z"):])
    except ValueError:
        raise ValueError("did:key is not base58btc") from None
    if not data.startswith(ED25519_PUB) or len(data) != 34:
        raise ValueError("did:key is not an Ed25519 key")
    weak = weak_public_key(data[2:])
    if weak is not None:
        raise ValueError(f"the did:key's public key {weak}")
    if did_from_public(data[2:]) != did:          # one spelling per key: the decoder forgives whitespace
        raise ValueError("did:key is not in its one canonical spelling")
    return data[2:]


class Identity:
    def __init__(self, name: str, private: Ed25519PrivateKey):
        self.name = name
        self._private = private
        raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.public = raw
        self.did = did_from_public(raw)

    @classmethod
    def generate(cls, name: str) -> "Identity":
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, name: str, seed: bytes) -> "Identity":
        return cls(name, Ed25519PrivateKey.from_private_bytes(seed))

    def sign(self, message: bytes) -> bytes:
        return self._private.sign(message)

    def pkcs8(self) -> bytes:
        return self._private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption())


def verify(did: str, message: bytes, signature: bytes) -> bool:
    """Strict Ed25519 verification against a did:key. Never raises."""
    if not isinstance(signature, bytes) or len(signature) != 64:
        return False
    if int.from_bytes(signature[32:], "little") >= GROUP_ORDER:
        return False                     # non-canonical S: a malleated signature
    try:
        key = Ed25519PublicKey.from_public_bytes(public_from_did(did))
        key.verify(signature, message)
        return True
    except (InvalidSignature, ValueError):
        return False


def request_message(method: str, path: str, body_digest: str, time: int, nonce: str,
                    coop: str | None = None, version: int = 3) -> bytes:
    """What a member signs to make an HTTP request to a node (ccl.node.auth checks it).

    - version 3 (what clients send): names the co-op the request is for, and `body_digest` is
      `body_digest(salt, body)`, the body hashed with a random salt the client sends beside it
      (X-CCL-Salt) and nobody keeps. The receipt carries the digest and the signature, so anyone
      can check who asked; but a body that holds a private text (a loan's purpose, an address)
      cannot be guessed back from its hash.
    - version 2: as 3, but `body_digest` is the body's plain SHA-256; version 1 names no co-op.
      Receipts recorded before keep them, and they still verify."""
    if coop is None:
        return f"ccl-request/1\n{method.upper()}\n{path}\n{body_digest}\n{time}\n{nonce}".encode()
    return f"ccl-request/{version}\n{coop}\n{method.upper()}\n{path}\n{body_digest}\n{time}\n{nonce}".encode()


SALT_BYTES = 16


def body_digest(salt: bytes, body: bytes) -> str:
    """The digest a request of version 3 signs: SHA-256 over the salt and the body."""
    import hashlib

    return hashlib.sha256(b"ccl-body/1\x00" + salt + body).hexdigest()


def sign_request(member: "Identity", method: str, path: str, body: bytes, time: int,
                 nonce: str | None = None, *, coop: str, salt: bytes | None = None) -> dict:
    """The headers that sign a request to a node — `X-CCL-DID`, `X-CCL-Coop`, `X-CCL-Time`,
    `X-CCL-Nonce`, `X-CCL-Salt` (hex of 16 random bytes) and `X-CCL-Signature` (base64 of the
    signature of `request_message`, version 3): used by ccl.client and by anyone who talks to a
    node."""
    import base64
    import secrets

    nonce = nonce or secrets.token_hex(16)
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    signature = member.sign(request_message(method, path, body_digest(salt, body), time, nonce, coop))
    return {"X-CCL-DID": member.did, "X-CCL-Coop": coop, "X-CCL-Time": str(time), "X-CCL-Nonce": nonce,
            "X-CCL-Salt": salt.hex(), "X-CCL-Signature": base64.b64encode(signature).decode("ascii")}


def request_evidence_valid(request: dict) -> bool:
    """Does the signed request a node-signed receipt carries verify? Never raises. (Version 3
    evidence has `body_digest`; versions 1 and 2, `body_sha256`.)"""
    try:
        if "body_digest" in request:
            msg = request_message(request["method"], request["path"], request["body_digest"], request["time"],
                                  request["nonce"], request["coop"])
        else:
            msg = request_message(request["method"], request["path"], request["body_sha256"], request["time"],
                                  request["nonce"], request.get("coop"), version=2)
        return verify(request["did"], msg, request["signature"])
    except (KeyError, TypeError, AttributeError):
        return False


class Keystore:
    """`.ccl/keys/NAME.pem` (private, 0600) and `NAME.json` (name and DID)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def create(self, name: str) -> Identity:
        if not NAME_RE.match(name):
            raise error("U0700", f"`{name}` is not a usable identity name", Span(),
                        "use letters, digits, `_`, `.` and `-` (up to 64)")
        if (self.folder / f"{name}.pem").exists():
            raise error("U0700", f"an identity named `{name}` already exists", Span(),
                        f"pick another name, or use it with --as {name}")
        ident = Identity.generate(name)
        self.folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)
        path = self.folder / f"{name}.pem"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(ident.pkcs8())
        (self.folder / f"{name}.json").write_text(json.dumps({"name": name, "did": ident.did}) + "\n")
        return ident

    def names(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(p.stem for p in self.folder.glob("*.pem"))

    def load(self, name: str) -> Identity:
        if not NAME_RE.match(name):                # never a path: `../coop/coop` is no member's key
            raise error("U0700", f"no identity named `{name}`", Span(),
                        "identity names are letters, digits, `_`, `.` and `-` (up to 64)")
        path = self.folder / f"{name}.pem"
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise error("U0700", f"no identity named `{name}`", Span(),
                        f"create it with `ccl id new {name}`") from None
        key = serialization.load_pem_private_key(data, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise error("I0800", f"the key file of `{name}` is not an Ed25519 key", Span(str(path)))
        return Identity(name, key)

    def find(self, name_or_did: str) -> Identity | None:
        """A local identity by name or by DID; None for a DID with no key here."""
        if name_or_did.startswith("did:"):
            for name in self.names():
                ident = self.load(name)
                if ident.did == name_or_did:
                    return ident
            return None
        return self.load(name_or_did)
