"""The DAG: content-addressed, signed records of everything a workspace's bylaws did.

Block kinds (canonical DAG-CBOR, links as CBOR tag 42):
- module  — the compiled bytecode that ran (its bytes are the module's own encoding, so the
            block's CID is the module CID)
- receipt — {"kind": "receipt", "payload": {...}, "signer": DID, "signature": bytes}; the
            signature is Ed25519 over the canonical bytes of the payload
- event   — the roadmap's CooperativeEvent: {"kind": "event", "type", "actor", "timestamp",
            "data", "anchor"}
- data    — text stored by `dag_put`

Owns building and signing receipts, verifying a whole DAG, and CARv1 export. Imports leaves,
ccl.identity and ccl.store.
"""

from __future__ import annotations

from typing import BinaryIO, Iterable, Optional

import attrs

from ccl import canon, identity
from ccl.canon import Link
from ccl.store.sqlite import IntegrityFailure

RECEIPT_VERSION = 1
# What receipts, gas and state roots mean. 2: founding (a genesis record first), the constitution
# and its authority model, the state root over the store's content. 3: gas per code point and per
# item written out, metered equality, nominal constructors in bytecode (module format 2), exact
# pay-ratio caps, strict DAG-CBOR. 4: signed requests' nonces and private inputs' texts live beside
# the history, not in the state root; private inputs enter receipts as salted commitments.
# 5: requests' evidence carries a salted body digest (request format 3); the host reads of
# members' data and governance records (has_role, is_member, dag_get, …) are for members only;
# engine rows refuse text arguments past their input's length limit (L0509) from any contract;
# a node's per-member history quota refuses runs. Replay refuses other versions.
HISTORY_VERSION = 5


def put(tx, value) -> str:
    data = canon.encode(value)
    cid = canon.cid_text(data)
    tx.put_block(cid, data)
    return cid


def get(tx, cid: str):
    data = tx.get_block(cid)
    if data is None:
        return None
    try:
        return canon.decode(data)
    except ValueError as e:
        raise IntegrityFailure(cid, f"not strict DAG-CBOR: {e}", "I0805") from None


def event_block(type_: str, actor: str, timestamp: int, data, anchor: Optional[str]) -> dict:
    return {"kind": "event", "type": type_, "actor": actor, "timestamp": timestamp, "data": data,
            "anchor": Link(anchor) if anchor else None}


def sign_receipt(payload: dict, signer: "identity.Identity") -> dict:
    message = canon.encode(payload)
    return {"kind": "receipt", "version": RECEIPT_VERSION, "payload": payload, "signer": signer.did,
            "signature": signer.sign(message)}


def receipt_problem(block, first: bool = False) -> Optional[str]:
    """Why a decoded block is not a well-formed, correctly signed record of the chain (None if it
    is): the genesis first, signed by the co-op's key, then receipts."""
    kind = block.get("kind") if isinstance(block, dict) else None
    if kind != ("genesis" if first else "receipt"):
        return ("the chain does not start with a genesis record (a workspace made before founding existed)"
                if first else "not a receipt")
    payload, signer, signature = block.get("payload"), block.get("signer"), block.get("signature")
    if not isinstance(payload, dict) or not isinstance(signer, str) or not isinstance(signature, bytes):
        return "malformed receipt"
    if first:
        if payload.get("coop") != signer:
            return "the genesis record is not signed by the co-op's key"
    else:
        # an execution acts as the co-op, signed for the member who triggered it
        actor = payload.get("triggered_by") if payload.get("proposal") else payload.get("caller")
        if actor != signer:
            # a node acting for a member signs the receipt itself and carries the member's signed request
            request = payload.get("request")
            if not isinstance(request, dict) or request.get("did") != actor:
                return "signed by someone other than its caller"
            if not identity.request_evidence_valid(request):
                return "bad signature on the member's request"
    if not identity.verify(signer, canon.encode(payload), signature):
        return "bad signature"
    return None


@attrs.frozen
class Problem:
    cid: str
    why: str
    code: str = "I0801"        # I0805 for a block that is not strict DAG-CBOR


def verify_all(tx) -> list[Problem]:
    """Re-check every block's CID and encoding, every receipt's signature and the receipt chain.
    Problems come in a deterministic order: damaged blocks first (by CID), then the chain."""
    problems: list[Problem] = []
    for cid, data in tx.iter_blocks():
        try:
            codec = canon.cid_codec(cid)
        except ValueError:
            problems.append(Problem(cid, "malformed content id"))
            continue
        if canon.cid_text(data, codec) != cid:
            problems.append(Problem(cid, "its bytes do not match its content id"))
            continue
        try:
            canon.decode(data)
        except ValueError as e:
            problems.append(Problem(cid, f"not strict DAG-CBOR: {e}", "I0805"))
    if problems:
        return problems
    previous = None
    for cid in tx.receipts():
        block = get(tx, cid)
        if block is None:
            problems.append(Problem(cid, "receipt missing from the DAG"))
            break
        why = receipt_problem(block, first=previous is None)
        if why is None and previous is None:
            if any(not isinstance(b, Link) or tx.get_block(b.cid) is None for b in block["payload"].get("bylaws", [])):
                why = "a founding bylaw module is missing"
        elif why is None:
            payload = block["payload"]
            prev = payload.get("prev")
            if (prev.cid if isinstance(prev, Link) else prev) != previous:
                why = "does not link to the receipt before it"
            elif not isinstance(payload.get("module"), Link) or tx.get_block(payload["module"].cid) is None:
                why = "the module it ran is missing"
        if why is not None:
            problems.append(Problem(cid, why))
            break
        previous = cid
    return problems


def json_view(value):
    """A DAG value as JSON: links as {"/": cid}, bytes as {"/": {"bytes": base64}} (IPLD's JSON form)."""
    import base64

    if isinstance(value, Link):
        return {"/": value.cid}
    if isinstance(value, bytes):
        return {"/": {"bytes": base64.b64encode(value).decode()}}
    if isinstance(value, dict):
        return {k: json_view(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_view(v) for v in value]
    return value


def links(value) -> Iterable[str]:
    if isinstance(value, Link):
        yield value.cid
    elif isinstance(value, dict):
        for v in value.values():
            yield from links(v)
    elif isinstance(value, list):
        for v in value:
            yield from links(v)


def write_car(tx, out: BinaryIO, root: Optional[str]) -> int:
    """CARv1: a header naming the root (the head receipt), then every block. Returns the count."""
    roots = [Link(root)] if root else []
    header = canon.encode({"roots": roots, "version": 1})
    out.write(canon._varint(len(header)) + header)
    count = 0
    for cid, data in tx.iter_blocks():
        raw = canon.parse_cid(cid)
        out.write(canon._varint(len(raw) + len(data)) + raw + data)
        count += 1
    return count


def read_car(data: bytes) -> tuple[list[str], list[tuple[str, bytes]]]:
    """Parse a CARv1 file (for tests and imports): (roots, [(cid, bytes)])."""
    pos = 0

    def varint() -> int:
        nonlocal pos
        shift = value = 0
        while True:
            b = data[pos]
            pos += 1
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                return value
            shift += 7

    n = varint()
    header = canon.decode(data[pos:pos + n])
    pos += n
    blocks = []
    while pos < len(data):
        n = varint()
        section = data[pos:pos + n]
        pos += n
        cid_len = canon.cid_length(section)  # version, codec, hash code, digest length (varints), digest
        blocks.append((canon.cid_from_bytes(section[:cid_len]), section[cid_len:]))
    return [r.cid for r in header["roots"]], blocks
