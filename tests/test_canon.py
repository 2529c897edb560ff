"""Canonical DAG-CBOR and CIDs: IPFS-compatible vectors, refusal of non-canonical bytes."""

import pytest
from hypothesis import given, strategies as st

from ccl import canon
from ccl.canon import Link


def test_known_cid_vectors():
    assert canon.cid_of({}) == "bafyreigbtj4x7ip5legnfznufuopl4sg4knzc2cof6duas4b3q2fy6swua"
    # the raw codec for the empty byte string (IPFS's well-known empty raw block)
    assert canon.cid_text(b"", canon.CODEC_RAW) == "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"


def test_map_keys_sorted_length_first():
    assert canon.encode({"bb": 1, "a": 2, "c": 3}) == bytes.fromhex("a3616102616303626262" + "01")


@pytest.mark.parametrize("hex_bytes", [
    "a2616201616101",        # keys out of order
    "1817",                  # 23 encoded in two bytes (not minimal)
    "9f01ff",                # indefinite-length array
    "f93c00",                # a float
    "d9ffff00",              # an unknown tag
])
def test_non_canonical_refused(hex_bytes):
    with pytest.raises(ValueError):
        canon.decode(bytes.fromhex(hex_bytes))


def test_links_round_trip():
    cid = canon.cid_of({"a": 1})
    value = {"prev": Link(cid), "items": [Link(cid), 3]}
    data = canon.encode(value)
    assert canon.decode(data) == value
    assert canon.parse_cid(cid)[:2] == bytes([1, canon.CODEC_DAG_CBOR])


json_like = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.text(max_size=10) | st.binary(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20)


@given(json_like)
def test_encoding_is_deterministic_and_round_trips(value):
    data = canon.encode(value)
    assert canon.decode(data) == value
    assert canon.encode(canon.decode(data)) == data
