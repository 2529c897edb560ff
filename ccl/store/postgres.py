"""The PostgreSQL store (psycopg 3, an explicitly opened connection pool): the same tables and
methods as the SQLite store, for several node processes or machines sharing one state.

Every run is one transaction that first takes a transaction-scoped advisory lock, so runs from
any number of nodes are serialized exactly as SQLite's `BEGIN IMMEDIATE` serializes them on one
machine: no double spend, no lost vote, the same history and the same state root. Reads take no
lock. Every write of a state row also updates the state root's accumulator (ccl.store.root), in
the same transaction. Imports leaves, ccl.store.root and ccl.store.sqlite (for the shared
integrity check).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Optional

from ccl.diag import Span, error
from ccl.store.root import CONTRACT, KV, Rooted
from ccl.store.side import SCHEMA as SIDE_SCHEMA, SideTables
from ccl.store.sqlite import checked

SCHEMA = """
CREATE TABLE IF NOT EXISTS blocks (cid TEXT PRIMARY KEY, data BYTEA NOT NULL);
CREATE TABLE IF NOT EXISTS receipts (seq BIGSERIAL PRIMARY KEY, cid TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS contract_state (contract TEXT PRIMARY KEY, module_cid TEXT NOT NULL, value BYTEA NOT NULL);
CREATE TABLE IF NOT EXISTS kv (namespace TEXT NOT NULL, key TEXT NOT NULL, value BYTEA NOT NULL,
                               PRIMARY KEY (namespace, key));
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
RUN_LOCK = 0x63636c          # "ccl": the advisory lock every writing transaction takes


class PostgresTx(Rooted, SideTables):
    _P = "%s"

    def __init__(self, conn):
        self.c = conn

    def _one(self, sql, args=()):
        return self.c.execute(sql, args).fetchone()

    def get_block(self, cid: str) -> Optional[bytes]:
        row = self._one("SELECT data FROM blocks WHERE cid = %s", (cid,))
        return None if row is None else checked(cid, bytes(row[0]))

    def put_block(self, cid: str, data: bytes) -> None:
        self.c.execute("INSERT INTO blocks (cid, data) VALUES (%s, %s) ON CONFLICT (cid) DO NOTHING", (cid, data))

    def iter_blocks(self) -> Iterator[tuple[str, bytes]]:
        for cid, data in self.c.execute("SELECT cid, data FROM blocks ORDER BY cid COLLATE \"C\"").fetchall():
            yield cid, bytes(data)

    def head(self) -> Optional[str]:
        row = self._one("SELECT cid FROM receipts ORDER BY seq DESC LIMIT 1")
        return row[0] if row else None

    def append_receipt(self, cid: str) -> int:
        return self._one("INSERT INTO receipts (cid) VALUES (%s) RETURNING seq", (cid,))[0]

    def receipts(self) -> list[str]:
        return [r[0] for r in self.c.execute("SELECT cid FROM receipts ORDER BY seq").fetchall()]

    def get_state(self, contract: str) -> Optional[tuple[str, bytes]]:
        row = self._one("SELECT module_cid, value FROM contract_state WHERE contract = %s", (contract,))
        return (row[0], bytes(row[1])) if row else None

    def put_state(self, contract: str, module_cid: str, value: bytes) -> None:
        old = self.get_state(contract)
        self._replaced(None if old is None else (CONTRACT, contract, *old), (CONTRACT, contract, module_cid, value))
        self.c.execute("INSERT INTO contract_state (contract, module_cid, value) VALUES (%s, %s, %s) "
                       "ON CONFLICT (contract) DO UPDATE SET module_cid = EXCLUDED.module_cid, value = EXCLUDED.value",
                       (contract, module_cid, value))

    def states(self) -> list[tuple[str, str, bytes]]:
        rows = self.c.execute("SELECT contract, module_cid, value FROM contract_state ORDER BY contract COLLATE \"C\"")
        return [(c, m, bytes(v)) for c, m, v in rows.fetchall()]

    def kv_get(self, namespace: str, key: str) -> Optional[bytes]:
        row = self._one("SELECT value FROM kv WHERE namespace = %s AND key = %s", (namespace, key))
        return bytes(row[0]) if row else None

    def kv_put(self, namespace: str, key: str, value: bytes) -> None:
        old = self.kv_get(namespace, key)
        self._replaced(None if old is None else (KV, namespace, key, old), (KV, namespace, key, value))
        self.c.execute("INSERT INTO kv (namespace, key, value) VALUES (%s, %s, %s) "
                       "ON CONFLICT (namespace, key) DO UPDATE SET value = EXCLUDED.value", (namespace, key, value))

    def kv_scan(self, namespace: str) -> list[tuple[str, bytes]]:
        rows = self.c.execute("SELECT key, value FROM kv WHERE namespace = %s ORDER BY key COLLATE \"C\"", (namespace,))
        return [(k, bytes(v)) for k, v in rows.fetchall()]

    def kv_rows(self) -> list[tuple[str, str, bytes]]:
        rows = self.c.execute("SELECT namespace, key, value FROM kv "
                              "ORDER BY namespace COLLATE \"C\", key COLLATE \"C\"")
        return [(n, k, bytes(v)) for n, k, v in rows.fetchall()]

    def _meta_get(self, key: str) -> Optional[str]:
        row = self._one("SELECT value FROM meta WHERE key = %s", (key,))
        return row[0] if row else None

    def _meta_set(self, key: str, value: str) -> None:
        self.c.execute("INSERT INTO meta (key, value) VALUES (%s, %s) "
                       "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", (key, value))


class PostgresStore:
    def __init__(self, url: str, *, pool_size: int = 4):
        import logging

        import psycopg
        from psycopg_pool import ConnectionPool

        logging.getLogger("psycopg.pool").setLevel(logging.CRITICAL)    # failures are reported once, below
        self.path = _redact(url)
        try:
            self.pool = ConnectionPool(url, min_size=1, max_size=pool_size, open=False, kwargs={"autocommit": False})
            self.pool.open(wait=True, timeout=10)
            with self.pool.connection() as conn:
                with conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (RUN_LOCK,))
                    conn.execute(SCHEMA + SIDE_SCHEMA)
                    conn.execute("INSERT INTO meta (key, value) VALUES ('schema', '1') ON CONFLICT DO NOTHING")
        except (psycopg.Error, Exception) as e:
            if getattr(self, "pool", None) is not None:
                self.pool.close()
            raise error("N0900", f"cannot open the PostgreSQL store {self.path}: {e}", Span(self.path),
                        "is the server running, and the URL right?") from None

    @contextmanager
    def transaction(self):
        """One writing transaction, serialized across every node by an advisory lock."""
        import psycopg

        try:
            with self.pool.connection() as conn:
                with conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (RUN_LOCK,))
                    yield PostgresTx(conn)
        except psycopg.OperationalError as e:
            raise error("N0900", f"the PostgreSQL store failed: {e}", Span(self.path)) from None

    @contextmanager
    def reader(self):
        """A transaction whose writes are always thrown away (for queries)."""
        with self.pool.connection() as conn:
            tx = conn.transaction(force_rollback=True)
            with tx:
                yield PostgresTx(conn)

    def close(self) -> None:
        self.pool.close()


def _redact(url: str) -> str:
    import re

    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


def open_store(location: str):
    """A store from a `--state` value: a PostgreSQL URL, or a SQLite file path."""
    if location.startswith(("postgresql://", "postgres://")):
        return PostgresStore(location)
    from ccl.store.sqlite import SqliteStore

    return SqliteStore(location)
