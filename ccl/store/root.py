"""The state root's accumulator: a multiset hash of the rows the state root commits to.

The state rows are every kv row (namespace, key, value) and every contract_state row (contract,
module CID, value). Each hashes — SHA-256 over a domain tag, the table's name and the three
fields, each length-prefixed — to a 256-bit number; the accumulator is their sum modulo 2**256.
A write subtracts the old row's hash (if there was one) and adds the new row's, so a commit
costs what it touches; the sum depends only on which rows there are (not on the order or the
history of writes), and `total` over the rows gives the same number from scratch.

`Rooted` is the base of both stores' transaction classes: it keeps the accumulator in the
store's `meta` table (never in a row it commits to) and updates it from their `kv_put` and
`put_state`. `state_root_of` is the state root of an accumulator; `diff_rows` names the rows
in which two stores differ. Imports leaves only.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Iterable, Iterator, Optional

from ccl import canon
from ccl.diag import NO_SPAN, error

DOMAIN = b"ccl.state-row.v1\x00"
MOD = 1 << 256
META_KEY = "state_rows"                 # the accumulator's row in the meta table: 64 hex digits
KV, CONTRACT = "kv", "contract_state"
ROOT_VERSION = 2
LIVE_DIFFERS = "the live state differs from the receipts"      # how a replay's last step says so

Row = tuple[str, str, str, bytes]       # (table, namespace or contract, key or module CID, value)


def row_hash(row: Row) -> int:
    """A row's hash, as a number below 2**256."""
    h = hashlib.sha256(DOMAIN)
    for part in (row[0].encode(), row[1].encode(), row[2].encode(), bytes(row[3])):
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return int.from_bytes(h.digest(), "big")


def total(rows: Iterable[Row]) -> int:
    """The accumulator of a set of rows, from scratch."""
    return sum(row_hash(r) for r in rows) % MOD


def replaced(acc: int, old: Optional[Row], new: Row) -> int:
    """The accumulator after `old` (None if there was no such row) became `new`."""
    return (acc - (row_hash(old) if old is not None else 0) + row_hash(new)) % MOD


def state_root_of(acc: bytes) -> str:
    """The state root: the CID of a small map holding the accumulator."""
    return canon.cid_of({"v": ROOT_VERSION, "rows": acc})


def rows_of(tx) -> Iterator[Row]:
    """Every state row of a store, in no particular order."""
    for namespace, key, value in tx.kv_rows():
        yield (KV, namespace, key, value)
    for contract, module_cid, value in tx.states():
        yield (CONTRACT, contract, module_cid, value)


class Rooted:
    """Accumulator upkeep shared by the stores' transactions. A subclass provides
    `_meta_get(key) -> Optional[str]`, `_meta_set(key, text)`, `kv_rows()` and `states()`, and
    calls `_replaced(old, new)` just before each write of a state row, in the same transaction."""

    _acc: Optional[int] = None              # this transaction's accumulator, once read

    if TYPE_CHECKING:                       # what the subclass provides
        def _meta_get(self, key: str) -> Optional[str]: ...
        def _meta_set(self, key: str, value: str) -> None: ...

    def root_accumulator(self) -> bytes:
        """The stored accumulator (32 bytes), as the writes have kept it."""
        return self._accumulator().to_bytes(32, "big")

    def _accumulator(self) -> int:
        if self._acc is None:
            text = self._meta_get(META_KEY)
            if text is None:                # a new store, or one made before the accumulator: count its
                self._acc = total(rows_of(self))        # rows (kept by the transaction's first write)
            elif len(text) == 64 and all(c in "0123456789abcdef" for c in text):
                self._acc = int(text, 16)
            else:
                raise error("N0900", "the store's state-root accumulator is damaged (not 64 hex digits)",
                            NO_SPAN, "`ccl dag verify` recomputes it from the rows and checks them")
        return self._acc

    def ordered(self, time: Optional[int] = None) -> None:
        """Begin the ordered step of a run (the receipt is built after it). A store whose runs are
        serialized whole (SQLite's IMMEDIATE transactions) holds the chain already: nothing to do.
        The PostgreSQL store takes the chain head's lock here (ccl.store.postgres)."""

    def recompute_root_accumulator(self) -> bytes:
        """The accumulator recomputed from every row (what `root_accumulator` must equal)."""
        return total(rows_of(self)).to_bytes(32, "big")

    def _replaced(self, old: Optional[Row], new: Row) -> None:
        if old is not None and old[2:] == new[2:]:
            return                          # rewritten unchanged
        self._save(replaced(self._accumulator(), old, new))

    def _save(self, acc: int) -> None:
        self._acc = acc
        self._meta_set(META_KEY, f"{acc:064x}")


def _identity(row: Row) -> tuple:
    return row[:3] if row[0] == KV else row[:2]


def _name(ident: tuple) -> str:
    return f"kv {ident[1]}/{ident[2]}" if ident[0] == KV else f"contract_state {ident[1]}"


def diff_rows(expected, live) -> list[str]:
    """How the rows of store transaction `live` differ from those of `expected`, one phrase per
    row (`kv ledger.account/CREDIT|did:key:… was edited`), sorted by table, namespace and key."""
    a = {_identity(r): r for r in rows_of(expected)}
    b = {_identity(r): r for r in rows_of(live)}
    out = []
    for ident in sorted(a.keys() | b.keys()):
        if ident not in b:
            out.append(f"{_name(ident)} was removed")
        elif ident not in a:
            out.append(f"{_name(ident)} was added")
        elif a[ident] != b[ident]:
            out.append(f"{_name(ident)} was edited")
    return out
