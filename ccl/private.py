"""Private inputs: what a member tells the co-op that other members need not read.

An input the operations table declares private (a loan's purpose, an aid place name, a member
fact no rule computes on) never enters the history as text. At the edge (ccl.api.actions) its
value is replaced by a salted commitment,

    ccl:private:<base32 of SHA-256("ccl.private.v1" NUL, salt, NUL, text)>

and the run, its receipt, the engines' rows and replay see only that string. The salt (16
random bytes, so that a guessable text — "yes", a street on a short list — cannot be found by
trying) and the text go to the store's `private` side table (ccl.store.side), outside the state
root, with who the text is about and which permission may read it besides them. Rules never
compute on a private text, so replay and `dag verify` need nothing but the history; anyone shown
the salt and text checks them against the commitment with `matches`.

`reveal(value, tx, may_read)` gives a read's answer with each commitment replaced by its text
where `may_read(subject, readers)` allows it, and left as the commitment otherwise. Imports
leaves only.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Callable

PREFIX = "ccl:private:"
DOMAIN = b"ccl.private.v1\x00"
_LENGTH = len(PREFIX) + 52                  # base32 of 32 bytes, unpadded


def commitment(salt: str, text: str) -> str:
    digest = hashlib.sha256(DOMAIN + bytes.fromhex(salt) + b"\x00" + text.encode("utf-8")).digest()
    return PREFIX + base64.b32encode(digest).decode("ascii").rstrip("=").lower()


def is_commitment(value) -> bool:
    return isinstance(value, str) and len(value) == _LENGTH and value.startswith(PREFIX)


def seal(text: str, readers: str) -> tuple[str, tuple[str, str, str]]:
    """(commitment, (readers, salt, text)) for a new private text."""
    salt = secrets.token_hex(16)
    return commitment(salt, text), (readers, salt, text)


def matches(value: str, salt: str, text: str) -> bool:
    """Whether `text` with `salt` is what the commitment `value` commits to."""
    return is_commitment(value) and secrets.compare_digest(commitment(salt, text), value)


def reveal(value, tx, may_read: Callable[[str, str], bool]):
    """`value` (a read's answer) with every commitment the reader may read replaced by its text."""
    if isinstance(value, str):
        if not is_commitment(value):
            return value
        row = tx.private_get(value)
        if row is None:
            return value
        subject, readers, salt, text = row
        return text if may_read(subject, readers) and matches(value, salt, text) else value
    if isinstance(value, dict):
        return {k: reveal(v, tx, may_read) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [reveal(v, tx, may_read) for v in value]
    return value
