"""Canonical DAG-CBOR encoding, a strict decoder and CIDv1 content ids.

Leaf module (imports cbor2, hashlib). Encoding is deterministic: map keys sorted length-first
then bytewise (RFC 7049 canonical, as DAG-CBOR requires), minimal integers, no floats, no
indefinite lengths. A CID is CIDv1, codec dag-cbor (0x71), multihash sha2-256, in base32
(multibase `b`) — the same text IPFS gives for the same bytes.

`decode` is a strict walker over the bytes, not cbor2's decoder: cbor2 turns many tags (dates,
bignums, decimals, fractions, regexes, UUIDs, sets, shared references) into Python objects and
accepts `undefined` and simple values. ccl's data model is DAG-CBOR's without floats: null,
booleans, integers in [-2^64, 2^64-1], UTF-8 text, bytes, lists, maps with text keys and links.
A block is accepted only if it is exactly the canonical encoding of such a value; every refusal
is a `DagCborError` naming the byte offset and what is wrong.

Links are CBOR tag 42 over a byte string: 0x00 (the identity multibase prefix), then a binary
CIDv1 — version 1, codec, multihash code, digest length (each a minimal unsigned varint), then
exactly that many digest bytes. CIDv0 links (a bare sha2-256 multihash) are refused: every block
a ccl store holds is named by a base32 CIDv1, a CIDv0 names a dag-pb block that no ccl store can
hold, and accepting both spellings would give one block two different links (docs/design.md).
A sha2-256 digest must be its full 32 bytes; no digest may be empty except an identity one.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import attrs
import cbor2

CODEC_DAG_CBOR = 0x71
CODEC_RAW = 0x55
MULTIHASH_IDENTITY = 0x00
MULTIHASH_SHA2_256 = 0x12
MAX_DEPTH = 256
MAX_CID_BYTES = 124          # the longest binary CID whose base32 text `parse_cid` accepts (200 chars)
INT_MIN, INT_MAX = -(2 ** 64), 2 ** 64 - 1   # what CBOR's major types 0 and 1 can hold


class DagCborError(ValueError):
    """Bytes that are not strict DAG-CBOR, or a value that cannot be encoded as it."""


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
    raise DagCborError(f"cannot encode {type(value).__name__} as DAG-CBOR")


def _links(value, depth=0):
    """Turn tag-42 CIDs into Links after decoding bytes this process encoded (`decode_trusted`)."""
    if isinstance(value, cbor2.CBORTag):
        return Link(cid_from_bytes(value.value[1:]))
    if isinstance(value, list):
        return [_links(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {k: _links(v, depth + 1) for k, v in value.items()}
    return value


def _check(value, depth=0):
    """Refuse what is not in ccl's data model before cbor2 sees it (cbor2 would encode a float,
    a date, a set or a big integer as a tag or a float, which `decode` refuses)."""
    if depth > MAX_DEPTH:
        raise DagCborError("value nested too deeply for DAG-CBOR")
    t = type(value)
    if value is None or t is bool or t is str or t is bytes or t is Link:
        return
    if t is int:
        if not INT_MIN <= value <= INT_MAX:
            raise DagCborError(f"the integer {value} is outside DAG-CBOR's range [-2^64, 2^64-1]")
        return
    if t is dict:
        for k, v in value.items():
            if type(k) is not str:
                raise DagCborError("DAG-CBOR map keys must be strings")
            _check(v, depth + 1)
        return
    if t is list or t is tuple:
        for v in value:
            _check(v, depth + 1)
        return
    if isinstance(value, float):
        raise DagCborError("floats are not allowed in ccl's DAG-CBOR")
    raise DagCborError(f"cannot encode {t.__name__} as DAG-CBOR")


def encode(value) -> bytes:
    _check(value)
    return cbor2.dumps(value, canonical=True, default=_default)


# ---------------------------------------------------------------- the strict decoder

_MINIMUM = {24: 24, 25: 0x100, 26: 0x10000, 27: 0x100000000}     # below these a shorter form exists
_WIDTH = {24: 1, 25: 2, 26: 4, 27: 8}


def decode(data: bytes):
    """Decode one strict DAG-CBOR value that fills `data` exactly, or raise DagCborError."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise DagCborError(f"cannot decode {type(data).__name__} as DAG-CBOR")
    data = bytes(data)
    if not data:
        raise DagCborError("empty block: no CBOR value")
    value, pos = _item(data, 0, 0)
    if pos != len(data):
        raise DagCborError(f"at byte {pos}: {len(data) - pos} byte(s) after the end of the value")
    return value


def _head(data: bytes, pos: int) -> tuple[int, int, int]:
    """(major type, argument, position after the head); refuses indefinite and non-minimal forms."""
    end = len(data)
    initial = data[pos]
    major, info = initial >> 5, initial & 0x1F
    if info < 24:
        return major, info, pos + 1
    if info == 31:
        what = "a break code outside an indefinite-length item" if initial == 0xFF else \
            "an indefinite length (DAG-CBOR allows only definite lengths)"
        raise DagCborError(f"at byte {pos}: {what}")
    if info > 27:
        raise DagCborError(f"at byte {pos}: reserved additional information {info} (byte 0x{initial:02x})")
    width = _WIDTH[info]
    if pos + 1 + width > end:
        raise DagCborError(f"at byte {pos}: truncated (a {width}-byte argument runs past the end)")
    if major == 7:
        return major, info, pos + 1              # floats and simple values: the caller refuses them
    arg = int.from_bytes(data[pos + 1:pos + 1 + width], "big")
    if arg < _MINIMUM[info]:
        raise DagCborError(f"at byte {pos}: the length or value {arg} is not in its shortest form "
                           f"(written in {1 + width} bytes)")
    return major, arg, pos + 1 + width


def _item(data: bytes, pos: int, depth: int):
    if pos >= len(data):
        raise DagCborError(f"at byte {pos}: truncated (a value was expected)")
    if depth > MAX_DEPTH:
        raise DagCborError(f"at byte {pos}: nested more than {MAX_DEPTH} deep")
    start = pos
    major, arg, pos = _head(data, pos)
    if major == 0:
        return arg, pos
    if major == 1:
        return -1 - arg, pos
    if major == 2 or major == 3:
        if arg > len(data) - pos:
            raise DagCborError(f"at byte {start}: truncated (a {arg}-byte string runs past the end)")
        raw = data[pos:pos + arg]
        if major == 2:
            return raw, pos + arg
        try:
            return raw.decode("utf-8"), pos + arg
        except UnicodeDecodeError:
            raise DagCborError(f"at byte {start}: a text string that is not valid UTF-8") from None
    if major == 4:
        if arg > len(data) - pos:                # every item takes at least one byte
            raise DagCborError(f"at byte {start}: truncated (an array of {arg} items runs past the end)")
        out = []
        for _ in range(arg):
            v, pos = _item(data, pos, depth + 1)
            out.append(v)
        return out, pos
    if major == 5:
        if 2 * arg > len(data) - pos:
            raise DagCborError(f"at byte {start}: truncated (a map of {arg} entries runs past the end)")
        obj: dict[str, Any] = {}
        previous = None
        for _ in range(arg):
            key_at = pos
            if pos >= len(data):
                raise DagCborError(f"at byte {pos}: truncated (a map key was expected)")
            if data[pos] >> 5 != 3:
                raise DagCborError(f"at byte {pos}: a map key that is not a text string "
                                   f"(DAG-CBOR keys are strings only)")
            key, pos = _item(data, pos, depth + 1)
            encoded = data[key_at:pos]
            if previous is not None:
                order = (len(encoded) > len(previous)) - (len(encoded) < len(previous)) or \
                    (encoded > previous) - (encoded < previous)
                if order == 0:
                    raise DagCborError(f"at byte {key_at}: duplicate map key {key!r}")
                if order < 0:
                    raise DagCborError(f"at byte {key_at}: map key {key!r} out of order (keys sort "
                                       f"length-first, then bytewise)")
            previous = encoded
            obj[key], pos = _item(data, pos, depth + 1)
        return obj, pos
    if major == 6:
        if arg != 42:
            raise DagCborError(f"at byte {start}: CBOR tag {arg} (DAG-CBOR allows only tag 42, a CID link)")
        if pos >= len(data):
            raise DagCborError(f"at byte {pos}: truncated (tag 42 without its content)")
        if data[pos] >> 5 != 2:
            raise DagCborError(f"at byte {pos}: tag 42 must hold a byte string (a binary CID)")
        raw, end = _item(data, pos, depth + 1)
        if raw[:1] != b"\x00":
            raise DagCborError(f"at byte {pos}: a link's bytes must start with 0x00 (the identity multibase)")
        try:
            cid_check(raw[1:])
        except DagCborError as e:
            raise DagCborError(f"at byte {start}: bad link: {e}") from None
        return Link(cid_from_bytes(raw[1:])), end
    # major 7: only false, true and null are in the data model
    initial = data[start]
    if initial == 0xF4:
        return False, pos
    if initial == 0xF5:
        return True, pos
    if initial == 0xF6:
        return None, pos
    if initial == 0xF7:
        what = "`undefined` (not in the IPLD data model)"
    elif initial in (0xF9, 0xFA, 0xFB):
        what = "a float (ccl's data model has no floats)"
    else:
        simple = data[start + 1] if initial == 0xF8 else initial & 0x1F
        what = f"the simple value {simple} (not in the IPLD data model)"
    raise DagCborError(f"at byte {start}: {what}")


def decode_trusted(data: bytes):
    """Decode bytes this process just produced with `encode` (skips the strict checks)."""
    return _links(cbor2.loads(data))


# ---------------------------------------------------------------- CIDs

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


def _read_varint(raw: bytes, pos: int, what: str) -> tuple[int, int]:
    """A minimal unsigned varint (multiformats: at most 9 bytes, no trailing zero byte)."""
    value = shift = 0
    for i in range(9):
        if pos + i >= len(raw):
            raise DagCborError(f"the CID ends inside its {what}")
        b = raw[pos + i]
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            if b == 0 and i > 0:
                raise DagCborError(f"the CID's {what} is not a minimal varint")
            return value, pos + i + 1
    raise DagCborError(f"the CID's {what} is longer than 9 bytes")


def cid_check(raw: bytes) -> tuple[int, int, int]:
    """Validate a binary CIDv1; returns (codec, multihash code, digest length) or DagCborError."""
    if not raw:
        raise DagCborError("an empty CID")
    if len(raw) > MAX_CID_BYTES:
        raise DagCborError(f"a CID of {len(raw)} bytes (at most {MAX_CID_BYTES})")
    if raw[0] == MULTIHASH_SHA2_256 and raw[1:2] == b"\x20":
        raise DagCborError("a CIDv0 (a bare sha2-256 multihash); ccl links are CIDv1 only")
    version, pos = _read_varint(raw, 0, "version")
    if version != 1:
        raise DagCborError(f"CID version {version} (ccl links are CIDv1)")
    codec, pos = _read_varint(raw, pos, "codec")
    code, pos = _read_varint(raw, pos, "multihash code")
    length, pos = _read_varint(raw, pos, "digest length")
    digest = len(raw) - pos
    if digest != length:
        raise DagCborError(f"the multihash declares a {length}-byte digest but holds {digest} byte(s)")
    if code == MULTIHASH_SHA2_256 and length != 32:
        raise DagCborError(f"a sha2-256 digest of {length} bytes (it has 32)")
    if length == 0 and code != MULTIHASH_IDENTITY:
        raise DagCborError("a multihash with no digest")
    return codec, code, length


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
    """The binary form of a base32 CIDv1 text (well-formed as `cid_check` requires), or ValueError."""
    if not isinstance(text, str) or not text.startswith("b") or len(text) > 200:
        raise DagCborError(f"not a base32 CIDv1: {text!r}")
    body = text[1:]
    if body != body.lower():
        raise DagCborError(f"not a base32 CIDv1: {text!r}")
    try:
        raw = base64.b32decode(body.upper() + "=" * (-len(body) % 8))
    except Exception:
        raise DagCborError(f"not a base32 CIDv1: {text!r}") from None
    if cid_from_bytes(raw) != text:                       # one spelling per CID (no stray padding bits)
        raise DagCborError(f"not a base32 CIDv1: {text!r}")
    try:
        cid_check(raw)
    except DagCborError as e:
        raise DagCborError(f"not a CIDv1: {text!r}: {e}") from None
    return raw


def cid_length(raw: bytes) -> int:
    """How many leading bytes of `raw` one binary CIDv1 takes (a CAR section: the CID, then the block)."""
    pos = 0
    for what in ("version", "codec", "multihash code"):
        _, pos = _read_varint(raw, pos, what)
    length, pos = _read_varint(raw, pos, "digest length")
    if pos + length > len(raw):
        raise DagCborError("the CID ends inside its digest")
    cid_check(raw[:pos + length])
    return pos + length


def cid_codec(text: str) -> int:
    """The codec of a CID text (its second varint)."""
    raw = parse_cid(text)
    _, pos = _read_varint(raw, 0, "version")
    return _read_varint(raw, pos, "codec")[0]


def is_cid(text) -> bool:
    try:
        parse_cid(text)
        return True
    except ValueError:
        return False
