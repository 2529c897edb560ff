"""The SQLite store: WAL journal, synchronous=FULL, one IMMEDIATE transaction per run.

`BEGIN IMMEDIATE` takes the write lock before a run reads anything, so two processes working on
one workspace serialize their runs and never lose an update; `synchronous=FULL` makes a commit
durable before the run reports success. `SqliteStore.memory()` gives the same store in memory
for runs without a workspace. Every write of a state row also updates the state root's
accumulator (ccl.store.root), in the same transaction. Imports leaves and ccl.store.root.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from typing import Iterator, Optional, cast

from ccl import canon
from ccl.diag import Span, error
from ccl.store.root import CONTRACT, KV, Rooted
from ccl.store.side import SCHEMA as SIDE_SCHEMA, SideTables

SCHEMA = """
CREATE TABLE IF NOT EXISTS blocks (cid TEXT PRIMARY KEY, data BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS receipts (seq INTEGER PRIMARY KEY, cid TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS contract_state (
    contract TEXT PRIMARY KEY, module_cid TEXT NOT NULL, value BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS kv (
    namespace TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, PRIMARY KEY (namespace, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
"""
SCHEMA_VERSION = "1"


class IntegrityFailure(Exception):
    def __init__(self, cid: str, why: str, code: str = "I0801"):
        super().__init__(f"block {cid}: {why}")
        self.cid = cid
        self.why = why
        self.code = code        # I0801 bytes that do not hash to their CID, I0805 not strict DAG-CBOR


class SqliteTx(Rooted, SideTables):
    def __init__(self, conn: sqlite3.Connection):
        self.c = conn

    # blocks
    def get_block(self, cid: str) -> Optional[bytes]:
        row = self.c.execute("SELECT data FROM blocks WHERE cid = ?", (cid,)).fetchone()
        return None if row is None else checked(cid, bytes(row[0]))

    def put_block(self, cid: str, data: bytes) -> None:
        self.c.execute("INSERT OR IGNORE INTO blocks (cid, data) VALUES (?, ?)", (cid, data))

    def iter_blocks(self) -> Iterator[tuple[str, bytes]]:
        for cid, data in self.c.execute("SELECT cid, data FROM blocks ORDER BY cid"):
            yield cid, bytes(data)

    # receipts
    def head(self) -> Optional[str]:
        row = self.c.execute("SELECT cid FROM receipts ORDER BY seq DESC LIMIT 1").fetchone()
        return row[0] if row else None

    def append_receipt(self, cid: str) -> int:
        cur = self.c.execute("INSERT INTO receipts (cid) VALUES (?)", (cid,))
        return cast(int, cur.lastrowid)          # set by every INSERT

    def receipts(self) -> list[str]:
        return [r[0] for r in self.c.execute("SELECT cid FROM receipts ORDER BY seq")]

    # contract state
    def get_state(self, contract: str) -> Optional[tuple[str, bytes]]:
        row = self.c.execute("SELECT module_cid, value FROM contract_state WHERE contract = ?", (contract,)).fetchone()
        return (row[0], bytes(row[1])) if row else None

    def put_state(self, contract: str, module_cid: str, value: bytes) -> None:
        old = self.get_state(contract)
        self._replaced(None if old is None else (CONTRACT, contract, *old), (CONTRACT, contract, module_cid, value))
        self.c.execute("INSERT INTO contract_state (contract, module_cid, value) VALUES (?, ?, ?) "
                       "ON CONFLICT (contract) DO UPDATE SET module_cid = excluded.module_cid, value = excluded.value",
                       (contract, module_cid, value))

    def states(self) -> list[tuple[str, str, bytes]]:
        return [(c, m, bytes(v)) for c, m, v in
                self.c.execute("SELECT contract, module_cid, value FROM contract_state ORDER BY contract")]

    # engines
    def kv_get(self, namespace: str, key: str) -> Optional[bytes]:
        row = self.c.execute("SELECT value FROM kv WHERE namespace = ? AND key = ?", (namespace, key)).fetchone()
        return bytes(row[0]) if row else None

    def kv_put(self, namespace: str, key: str, value: bytes) -> None:
        old = self.kv_get(namespace, key)
        self._replaced(None if old is None else (KV, namespace, key, old), (KV, namespace, key, value))
        self.c.execute("INSERT INTO kv (namespace, key, value) VALUES (?, ?, ?) "
                       "ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value", (namespace, key, value))

    def kv_scan(self, namespace: str) -> list[tuple[str, bytes]]:
        return [(k, bytes(v)) for k, v in
                self.c.execute("SELECT key, value FROM kv WHERE namespace = ? ORDER BY key", (namespace,))]

    def kv_rows(self) -> list[tuple[str, str, bytes]]:
        return [(n, k, bytes(v)) for n, k, v in
                self.c.execute("SELECT namespace, key, value FROM kv ORDER BY namespace, key")]

    # the meta table (the state root's accumulator)
    def _meta_get(self, key: str) -> Optional[str]:
        row = self.c.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _meta_set(self, key: str, value: str) -> None:
        self.c.execute("INSERT INTO meta (key, value) VALUES (?, ?) "
                       "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))


def checked(cid: str, data: bytes) -> bytes:
    """A block's bytes, after re-checking that they hash to its CID (on every read)."""
    if canon.cid_text(data, _codec(cid)) != cid:
        raise IntegrityFailure(cid, "its bytes do not match its content id")
    return data


def _codec(cid: str) -> int:
    raw = canon.parse_cid(cid)
    return raw[1] if raw[1] < 0x80 else canon.CODEC_DAG_CBOR


class SqliteStore:
    def __init__(self, path: str):
        self.path = path
        self._lock = threading.Lock()
        try:
            self.conn = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
            if path != ":memory:":
                mode = self.conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                if mode.lower() != "wal":
                    raise sqlite3.OperationalError(f"cannot switch {path} to WAL (got {mode})")
            self.conn.execute("PRAGMA synchronous=FULL")
            self.conn.execute("PRAGMA busy_timeout=30000")
            self.conn.executescript(SCHEMA + SIDE_SCHEMA)
            self.conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', ?)", (SCHEMA_VERSION,))
        except sqlite3.DatabaseError as e:
            raise error("N0900", f"cannot open the store {path}: {e}", Span(path),
                        "is it a ccl workspace database? `ccl init` creates one") from None

    @classmethod
    def memory(cls) -> "SqliteStore":
        return cls(":memory:")

    def memory_copy(self) -> "SqliteStore":
        """A copy of this whole store in memory (SQLite's online backup), for throwaway runs."""
        copy = SqliteStore.memory()
        with self._lock:
            self.conn.backup(copy.conn)
        return copy

    @contextmanager
    def transaction(self):
        """An exclusive write transaction: committed if the block ends normally, else rolled back."""
        with self._lock:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as e:
                raise error("N0900", f"the store is busy or unavailable: {e}", Span(self.path)) from None
            try:
                yield SqliteTx(self.conn)
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            else:
                try:
                    self.conn.execute("COMMIT")
                except sqlite3.DatabaseError as e:
                    self.conn.execute("ROLLBACK")
                    raise error("N0900", f"could not commit to the store: {e}", Span(self.path)) from None

    @contextmanager
    def reader(self):
        """A transaction whose writes are always thrown away (for queries)."""
        with self._lock:
            self.conn.execute("BEGIN")
            try:
                yield SqliteTx(self.conn)
            finally:
                self.conn.execute("ROLLBACK")

    def close(self) -> None:
        self.conn.close()
