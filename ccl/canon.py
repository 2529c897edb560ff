"""Canonical DAG-CBOR encoding and CIDv1 content ids.

Leaf module (imports cbor2, hashlib). Encoding is deterministic: map keys sorted length-first
then bytewise (RFC 7049 canonical, as DAG-CBOR requires), minimal integers, no floats, no
indefinite lengths. A CID is CIDv1, codec dag-cbor (0x71), multihash sha2-256, in base32
(multibase `b`) — the same text IPFS gives for the same bytes.
"""

from __future__ import annotations

import base64
import hashlib

import attrs
import cbor2

CODEC_DAG_CBOR = 0x71
CODEC_RAW = 0x55
MULTIHASH_SHA2_256 = 0x12


@attrs.frozen
class Link:
    """A CID link inside a DAG-CBOR block (CBOR tag 42)."""

    cid: str

    def __str__(self) -> str:
        return self.cid


def _default(encoder, value):
    if isinstance(value, Link):
        encoder.encode(cbor2.CBORTag(42, b"\x00" + parse_cid(value.cid)))
        return
    raise ValueError(f"cannot encode {type(value).__name__} as DAG-CBOR")


def _links(value, depth=0):
    """Turn tag-42 CIDs into Links after decoding; refuse every other tag and floats."""
    if depth > 256:
        raise ValueError("value nested too deeply for DAG-CBOR")
    if isinstance(value, cbor2.CBORTag):
        if value.tag == 42 and isinstance(value.value, bytes) and value.value[:1] == b"\x00":
            raw = value.value[1:]
            parse_cid(cid_from_bytes(raw))
            return Link(cid_from_bytes(raw))
        raise ValueError(f"CBOR tag {value.tag} is not allowed in DAG-CBOR")
    if isinstance(value, list):
        return [_links(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {k: _links(v, depth + 1) for k, v in value.items()}
    if isinstance(value, float):
        raise ValueError("floats are not allowed in ccl's DAG-CBOR")
    return value


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
    return cbor2.dumps(value, canonical=True, default=_default)


def decode(data: bytes):
    """Decode CBOR and refuse anything that does not re-encode to the same bytes."""
    try:
        value = _links(cbor2.loads(data))
    except ValueError:
        raise
    except Exception as e:              # cbor2 raises several kinds on junk
        raise ValueError(f"undecodable CBOR ({type(e).__name__})") from None
    try:
        same = encode(value) == data
    except (ValueError, TypeError):
        same = False
    if not same:
        raise ValueError("not canonical DAG-CBOR")
    return value


def decode_trusted(data: bytes):
    """Decode bytes this process just produced with `encode` (skips the canonical re-check)."""
    return _links(cbor2.loads(data))


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


def cid_from_bytes(raw: bytes) -> str:
    return "b" + base64.b32encode(raw).decode("ascii").lower().rstrip("=")


def parse_cid(text: str) -> bytes:
    """The binary form of a base32 CIDv1 text, or ValueError."""
    if not isinstance(text, str) or not text.startswith("b") or len(text) > 200:
        raise ValueError(f"not a base32 CIDv1: {text!r}")
    body = text[1:].upper()
    try:
        raw = base64.b32decode(body + "=" * (-len(body) % 8))
    except Exception:
        raise ValueError(f"not a base32 CIDv1: {text!r}") from None
    if len(raw) < 4 or raw[0] != 1:
        raise ValueError(f"not a CIDv1: {text!r}")
    return raw


def is_cid(text) -> bool:
    try:
        parse_cid(text)
        return True
    except ValueError:
        return False
