"""The transactional store every engine uses: one interface, SQLite by default.

A `Store` hands out transactions; everything a run does happens inside one and is committed or
rolled back whole. The interface is small and SQL-shaped so the PostgreSQL store of a later
release implements the same methods:

- blocks: content-addressed DAG blocks (the CID is re-checked on every read)
- receipts: the ordered log of receipt CIDs, and the head
- contract state: per contract name, the module CID that last wrote it and its value
- kv: namespaced keys for the engines (ledger, governance, …)
- side tables outside the state root (ccl.store.side): the nonces of handled requests and the
  plain text of private inputs
- meta: the schema version and the state root's accumulator over the contract-state and kv rows
  (ccl.store.root), kept up to date by every `put_state` and `kv_put`

Imports leaves only.
"""

from __future__ import annotations

from typing import Iterator, Optional, Protocol

from ccl.diag import CclError, Diagnostic, Span


class Tx(Protocol):
    def get_block(self, cid: str) -> Optional[bytes]: ...
    def put_block(self, cid: str, data: bytes) -> None: ...
    def iter_blocks(self) -> Iterator[tuple[str, bytes]]: ...
    def head(self) -> Optional[str]: ...
    def append_receipt(self, cid: str) -> int: ...
    def receipts(self) -> list[str]: ...
    def get_state(self, contract: str) -> Optional[tuple[str, bytes]]: ...
    def put_state(self, contract: str, module_cid: str, value: bytes) -> None: ...
    def states(self) -> list[tuple[str, str, bytes]]: ...
    def kv_get(self, namespace: str, key: str) -> Optional[bytes]: ...
    def kv_put(self, namespace: str, key: str, value: bytes) -> None: ...
    def kv_scan(self, namespace: str) -> list[tuple[str, bytes]]: ...
    def kv_rows(self) -> list[tuple[str, str, bytes]]: ...          # every (namespace, key, value)
    def root_accumulator(self) -> bytes: ...                         # as the writes kept it
    def recompute_root_accumulator(self) -> bytes: ...               # from every row, from scratch
    # the side tables, outside the state root (ccl.store.side)
    def use_nonce(self, did: str, nonce: str, time: int, now: int) -> Optional[str]: ...
    def private_put(self, commitment: str, subject: str, readers: str, salt: str, text: str) -> None: ...
    def private_get(self, commitment: str) -> Optional[tuple[str, str, str, str]]: ...
    def private_rows(self) -> list[tuple[str, str, str, str, str]]: ...
    def private_erase(self, subject: str) -> int: ...
    def nonce_rows(self) -> list[tuple[str, str, int]]: ...
    def put_nonce_row(self, did: str, nonce: str, time: int) -> None: ...
    def upload_put(self, did: str, cid: str, time: int, name: str, size: int) -> bool: ...
    def uploads_since(self, did: str, since: int) -> int: ...
    def usage_add(self, did: str, day: int, size: int) -> int: ...
    written: int                                                      # bytes of blocks put so far
    def upload_rows(self, did: Optional[str] = None) -> list[tuple[str, str, int, str, int]]: ...
    # the ordered step: from here to the commit this transaction holds the head of the chain
    def ordered(self, time: Optional[int] = None) -> None: ...


class Conflict(CclError):
    """A run's transaction lost a race with another node's (a deadlock, a serialization failure,
    or a head that moved past the run's time): nothing of it was kept, and running it again from
    the start is safe (ccl.runtime.session.run does, up to RETRIES times). Where nothing retries
    it, it is what it says to a member: N0903 (environment, a node's 503), try again."""

    def __init__(self, why: str):
        super().__init__(Diagnostic("environment", "N0903", f"this transaction conflicted with another "
                                    f"node's and was rolled back: {why}", Span(), ("try again",)))
        self.why = why

    def __str__(self) -> str:
        return self.why


RETRIES = 8


class Store(Protocol):
    def transaction(self): ...          # context manager yielding a Tx; commits on success
    def close(self) -> None: ...


def snapshot(store):
    """A read-only transaction over one consistent snapshot that blocks no writer (`dag verify`,
    replay's reading of the receipts): the store's `snapshot()` if it has one (PostgreSQL), else
    its `reader()` (SQLite's readers already see a snapshot, beside WAL writers)."""
    return store.snapshot() if hasattr(store, "snapshot") else store.reader()


def copy(src: Tx, out: Tx, rows: Optional[Tx] = None) -> None:
    """Everything in `src` into `out`, through the interface: blocks, receipts in order, contract
    state and engine rows — written through `put_state` and `kv_put`, so `out` keeps its own
    state-root accumulator (a store migration, a backup, the amendment dry-run's scratch copy).
    With `rows`, the contract state and engine rows come from it instead (a CAR import: the
    history from the CAR, the rows its replay made)."""
    rows = src if rows is None else rows
    for cid, data in src.iter_blocks():
        out.put_block(cid, data)
    for cid in src.receipts():
        out.append_receipt(cid)
    for contract, module, value in rows.states():
        out.put_state(contract, module, value)
    for namespace, key, value in rows.kv_rows():
        out.kv_put(namespace, key, value)
    for row in src.private_rows():              # the side tables (ccl.store.side) go along
        out.private_put(*row)
    for did, nonce, time in src.nonce_rows():
        out.put_nonce_row(did, nonce, time)
    for did, cid, at, name, size in src.upload_rows():
        out.upload_put(did, cid, at, name, size)
