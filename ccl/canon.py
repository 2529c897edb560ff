"""Canonical DAG-CBOR encoding and CIDv1 content ids.

Leaf module (imports cbor2, hashlib). Encoding is deterministic: map keys sorted length-first
then bytewise (RFC 7049 canonical, as DAG-CBOR requires), minimal integers, no floats, no
indefinite lengths. A CID is CIDv1, codec dag-cbor (0x71), multihash sha2-256, in base32
(multibase `b`) — the same text IPFS gives for the same bytes.
"""

from __future__ import annotations

import base64
import hashlib

import cbor2

CODEC_DAG_CBOR = 0x71
CODEC_RAW = 0x55
MULTIHASH_SHA2_256 = 0x12


def _check(value, depth=0):
    if depth > 256:
        raise ValueError("value nested too deeply for DAG-CBOR")
    if isinstance(value, float):
        raise ValueError("floats are not allowed in ccl's DAG-CBOR")
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise ValueError("DAG-CBOR map keys must be strings")
            _check(v, depth + 1)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _check(v, depth + 1)


def encode(value) -> bytes:
    _check(value)
    return cbor2.dumps(value, canonical=True)


def decode(data: bytes):
    """Decode CBOR and refuse anything that does not re-encode to the same bytes."""
    value = cbor2.loads(data)
    if encode(value) != data:
        raise ValueError("not canonical DAG-CBOR")
    return value


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def cid_bytes(data: bytes, codec: int = CODEC_DAG_CBOR) -> bytes:
    digest = hashlib.sha256(data).digest()
    return _varint(1) + _varint(codec) + _varint(MULTIHASH_SHA2_256) + _varint(len(digest)) + digest


def cid_text(data: bytes, codec: int = CODEC_DAG_CBOR) -> str:
    raw = cid_bytes(data, codec)
    return "b" + base64.b32encode(raw).decode("ascii").lower().rstrip("=")


def cid_of(value) -> str:
    return cid_text(encode(value))
