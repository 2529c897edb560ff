"""Strict DAG-CBOR: ccl's own vectors (tests/data/dagcbor/, written for ccl after reading which
cases ipld/codec-fixtures covers), the decoder as an exact inverse of the encoder, CIDs, and the
places a non-strict block or ballot would have slipped through (`ccl dag verify`, cast_ballot)."""

import datetime
import hashlib
import json
import sqlite3
from fractions import Fraction
from pathlib import Path

import cbor2
import pytest
from hypothesis import given, settings, strategies as st

from ccl import canon
from ccl import governance as G
from ccl.canon import DagCborError, Link
from ccl.ledger import Refused
from helpers import found

DATA = Path(__file__).parent / "data" / "dagcbor"


def vectors(name: str) -> list:
    out = []
    for line in (DATA / name).read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        fields = [f.strip() for f in line.split(";")]
        data = b"" if fields[0] == "-" else bytes.fromhex(fields[0])
        out.append(pytest.param(data, *fields[1:-1], id=fields[-1]))
    return out


def cbor2_view(value):
    """Our decoded value in the form cbor2 gives for the same bytes (links as tag-42 objects)."""
    if isinstance(value, Link):
        return cbor2.CBORTag(42, b"\x00" + canon.parse_cid(value.cid))
    if isinstance(value, list):
        return [cbor2_view(v) for v in value]
    if isinstance(value, dict):
        return {k: cbor2_view(v) for k, v in value.items()}
    return value


@pytest.mark.parametrize("data", vectors("valid.txt"))
def test_valid_vectors_decode_and_re_encode_to_the_same_bytes(data):
    value = canon.decode(data)
    assert canon.encode(value) == data
    assert cbor2_view(value) == cbor2.loads(data)           # an independent decoder reads the same value


@pytest.mark.parametrize("data, word", vectors("invalid.txt"))
def test_invalid_vectors_are_refused_naming_what_is_wrong(data, word):
    with pytest.raises(DagCborError) as e:
        canon.decode(data)
    assert word.lower() in str(e.value).lower(), str(e.value)


def test_the_vector_files_cover_every_rule():
    words = {p.values[1] for p in vectors("invalid.txt")}
    for rule in ("tag 0", "tag 2", "tag 3", "tag 4", "tag 30", "tag 35", "tag 37", "tag 258", "undefined",
                 "simple value", "float", "indefinite", "shortest form", "not a text string", "out of order",
                 "duplicate", "UTF-8", "truncated", "after the end", "CIDv0", "holds 0", "holds 5", "nested"):
        assert rule in words, rule


def test_values_in_the_examples():
    assert canon.decode(bytes.fromhex("3bffffffffffffffff")) == -(2 ** 64)
    assert canon.decode(bytes.fromhex("a3616101616202626161f6")) == {"a": 1, "b": 2, "aa": None}
    link = canon.decode(bytes.fromhex("d82a4800015500036363" "6c"))
    assert isinstance(link, Link) and canon.parse_cid(link.cid) == bytes.fromhex("0155000363636c")


def test_an_error_names_the_byte_offset():
    with pytest.raises(DagCborError, match=r"at byte 3: `undefined`"):
        canon.decode(bytes.fromhex("a16161f7"))
    with pytest.raises(DagCborError, match=r"at byte 3: CBOR tag 0"):
        canon.decode(bytes.fromhex("a16174c074323031332d30332d32315432303a30343a30305a"))


# ---------------------------------------------------------------- the encoder's side

@pytest.mark.parametrize("value", [1.5, float("nan"), datetime.datetime(2026, 1, 1), {1, 2}, Fraction(1, 3),
                                   2 ** 64, -(2 ** 64) - 1, {1: "integer key"}, bytearray(b"x"), cbor2.undefined,
                                   [cbor2.CBORSimpleValue(32)]])
def test_the_encoder_refuses_what_the_decoder_would(value):
    with pytest.raises(DagCborError):
        canon.encode(value)


dag_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2 ** 64), 2 ** 64 - 1) | st.text(max_size=6) | st.binary(max_size=6)
    | st.sampled_from([Link(canon.cid_of({})), Link(canon.cid_text(b"", canon.CODEC_RAW))]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=16)


@settings(max_examples=300, deadline=None)
@given(dag_values, st.data())
def test_strict_means_the_decoder_accepts_exactly_the_encoders_bytes(value, data):
    """Flip, insert or delete a byte of a canonical encoding: whatever the decoder still accepts
    re-encodes to exactly the bytes it was given; everything else is a DagCborError."""
    encoded = canon.encode(value)
    assert canon.decode(encoded) == value
    i = data.draw(st.integers(0, len(encoded)))
    b = data.draw(st.integers(0, 255))
    op = data.draw(st.sampled_from(["flip", "insert", "delete"]))
    if op == "flip" and i < len(encoded):
        mutated = encoded[:i] + bytes([b]) + encoded[i + 1:]
    elif op == "insert":
        mutated = encoded[:i] + bytes([b]) + encoded[i:]
    else:
        mutated = encoded[:i] + encoded[i + 1:]
    try:
        decoded = canon.decode(mutated)
    except DagCborError:
        return
    assert canon.encode(decoded) == mutated


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40))
def test_random_bytes_give_a_value_or_a_dag_cbor_error(data):
    try:
        decoded = canon.decode(data)
    except DagCborError:
        return
    assert canon.encode(decoded) == data


# ---------------------------------------------------------------- CIDs

def test_parse_cid_is_as_strict_as_a_link():
    good = canon.cid_of({})
    assert canon.is_cid(good) and canon.cid_codec(good) == canon.CODEC_DAG_CBOR
    digest = hashlib.sha256(b"").digest()
    for raw in (bytes([1, 0x71, 0x12, 0x20]),                      # no digest
                bytes([1, 0x71, 0x12, 0x20]) + digest[:5],         # short digest
                bytes([1, 0x71, 0x12, 0x10]) + digest[:16],        # a truncated sha2-256
                bytes([0x12, 0x20]) + digest,                      # CIDv0 bytes
                bytes([2, 0x71, 0x12, 0x20]) + digest):            # version 2
        assert not canon.is_cid(canon.cid_from_bytes(raw)), raw.hex()
    assert not canon.is_cid(good.upper()[0].lower() + good[1:].upper())   # one spelling only
    assert not canon.is_cid("QmQg1v4o9xdT3Q14wh4S7dxZkDjyZ9ssFzFzyep1YrVJBY")


def test_car_sections_with_multi_byte_varints_read_back():
    from ccl import dag as D

    raw = bytes([1, 0xB0, 0x01, 0x12, 0x20]) + hashlib.sha256(b"x").digest()
    assert canon.cid_length(raw + b"\xa0") == len(raw)
    header = canon.encode({"roots": [], "version": 1})
    car = canon._varint(len(header)) + header + canon._varint(len(raw) + 1) + raw + b"\xa0"
    assert D.read_car(car) == ([], [(canon.cid_from_bytes(raw), b"\xa0")])


# ---------------------------------------------------------------- where it matters

BAD_BLOCKS = {
    "a date (tag 0)": "a164746578" "74c074323031332d30332d32315432303a30343a30305a",
    "undefined": "a1657265617365f7",
    "a simple value": "a16161f820",
    "a bignum (tag 2)": "a16161c249010000000000000000",
    "a set (tag 258)": "a16161d9010283010203",
    "a link with a short digest": "a16161d82a4a00017112200102030405",
}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("strict")
    return cwd, found(cwd, members=())


@pytest.mark.parametrize("hex_block", BAD_BLOCKS.values(), ids=BAD_BLOCKS.keys())
def test_dag_verify_fails_on_a_store_holding_a_non_strict_block(workspace, hex_block):
    cwd, ccl = workspace
    data = bytes.fromhex(hex_block)
    cid = canon.cid_text(data)                              # its content id is right: only its encoding is wrong
    db = sqlite3.connect(Path(cwd) / ".ccl" / "state.db")
    with db:
        db.execute("INSERT INTO blocks (cid, data) VALUES (?, ?)", (cid, data))
    try:
        r = ccl("dag", "verify", "--json")
        assert r.exit_code == 4, r.output
        error = json.loads(r.output.strip().splitlines()[-1])["error"]
        assert error["code"] == "I0805" and cid in error["message"] and "not strict DAG-CBOR" in error["message"]
        r = ccl("dag", "show", cid, "--json")
        assert r.exit_code == 4 and json.loads(r.output.strip().splitlines()[-1])["error"]["code"] == "I0805"
    finally:
        with db:
            db.execute("DELETE FROM blocks WHERE cid = ?", (cid,))
        db.close()
    assert ccl("dag", "verify").exit_code == 0


def _ballot_bytes(payload: dict, signer) -> str:
    """A ballot signed over cbor2's canonical bytes: what a client with a lax encoder would send."""
    import base64

    message = cbor2.dumps(payload, canonical=True)
    block = {"kind": "ballot", "payload": payload, "signer": signer.did, "signature": signer.sign(message)}
    return base64.b64encode(cbor2.dumps(block, canonical=True)).decode()


@pytest.mark.parametrize("reason", [cbor2.undefined, cbor2.CBORSimpleValue(99), datetime.datetime(2026, 1, 1,
                                    tzinfo=datetime.timezone.utc), 7])
def test_a_ballot_whose_reason_is_not_text_is_not_counted(reason):
    from test_governance import World

    w = World()
    try:
        pid = w.open()
        w.at(w.L.now + 1)
        payload = {**G.ballot_payload(pid, w.dids[1], "yes", "", 0, w.L.now), "reason": reason}
        with pytest.raises(Refused) as e:
            G.cast_ballot(w.L, w.tx, w.dids[1], pid, _ballot_bytes(payload, w.ids[1]))
        assert e.value.rule == "ballot_format"
        assert G.proposal(w.L, pid)["ballots"] == {}
        w.vote(pid, 1, "yes")                             # the same member's well-formed ballot counts
        assert list(G.proposal(w.L, pid)["ballots"]) == [w.dids[1]]
    finally:
        w.close()
