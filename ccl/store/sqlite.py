"""The SQLite store: WAL journal, synchronous=FULL, IMMEDIATE transactions, group commit.

`BEGIN IMMEDIATE` takes the write lock before a run reads anything, so two processes working on
one workspace serialize their runs and never lose an update; `synchronous=FULL` makes a commit
durable before the run reports success.

Group commit: in one process, runs that arrive while another holds the write connection join
its store transaction instead of waiting for its fsync. The first run does BEGIN IMMEDIATE; each
run, in turn, works in a SAVEPOINT of its own (so it sees the previous run's state and head, and
one that fails rolls back to its savepoint and takes no other with it); the run that finds no
run waiting (or the group at `group_max`) COMMITs — one fsync — and wakes the others. A run
returns only once the COMMIT that holds it is durable; a COMMIT that fails fails every run in
it, and none is kept. One run alone (the CLI) commits at once, as before. Reads run on read-only
connections (`PRAGMA query_only`) taken from a small pool (at most READERS_IDLE kept open
between reads), each in its own snapshot, beside the writes. `SqliteStore.memory()` gives the same store in memory
for runs without a workspace. Every write of a state row also updates the state root's
accumulator (ccl.store.root), in the same transaction. Imports leaves and ccl.store.root.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from contextlib import contextmanager
from typing import Iterator, Optional, cast

from ccl import canon
from ccl.diag import Span, error
from ccl.store.root import CONTRACT, KV, Rooted
from ccl.store.side import SCHEMA as SIDE_SCHEMA, Savepoints, SideTables

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
# runs committed together at most (the benchmark's baseline sets CCL_SQLITE_GROUP_MAX=1: one COMMIT each)
GROUP_MAX = int(os.environ.get("CCL_SQLITE_GROUP_MAX", "64"))
READERS_IDLE = 16                  # read-only connections kept open between reads (more are opened as needed)


class IntegrityFailure(Exception):
    def __init__(self, cid: str, why: str, code: str = "I0801"):
        super().__init__(f"block {cid}: {why}")
        self.cid = cid
        self.why = why
        self.code = code        # I0801 bytes that do not hash to their CID, I0805 not strict DAG-CBOR


class SqliteTx(Rooted, SideTables, Savepoints):
    def __init__(self, conn: sqlite3.Connection):
        self.c = conn

    # blocks
    def get_block(self, cid: str) -> Optional[bytes]:
        row = self.c.execute("SELECT data FROM blocks WHERE cid = ?", (cid,)).fetchone()
        return None if row is None else checked(cid, bytes(row[0]))

    def put_block(self, cid: str, data: bytes) -> None:
        if self.c.execute("INSERT OR IGNORE INTO blocks (cid, data) VALUES (?, ?)", (cid, data)).rowcount:
            self.written += len(data)           # a new block, not one the history had

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


class ReadTx(SqliteTx):
    """A read's transaction on a read-only connection (`PRAGMA query_only`): what a read writes
    (a query may create a default currency) is kept in memory for the read's length only, so it
    never reaches the database nor takes its write lock."""

    def __init__(self, conn: sqlite3.Connection):
        super().__init__(conn)
        self._kv: dict[tuple[str, str], bytes] = {}
        self._st: dict[str, tuple[str, bytes]] = {}
        self._bl: dict[str, bytes] = {}
        self._rc: list[str] = []
        self._mt: dict[str, str] = {}

    def get_block(self, cid: str) -> Optional[bytes]:
        return self._bl[cid] if cid in self._bl else super().get_block(cid)

    def put_block(self, cid: str, data: bytes) -> None:
        self._bl.setdefault(cid, data)

    def iter_blocks(self) -> Iterator[tuple[str, bytes]]:
        rows = dict(super().iter_blocks())
        rows.update({c: d for c, d in self._bl.items() if c not in rows})
        yield from sorted(rows.items())

    def head(self) -> Optional[str]:
        return self._rc[-1] if self._rc else super().head()

    def append_receipt(self, cid: str) -> int:
        self._rc.append(cid)
        return len(super().receipts()) + len(self._rc)

    def receipts(self) -> list[str]:
        return super().receipts() + self._rc

    def get_state(self, contract: str) -> Optional[tuple[str, bytes]]:
        return self._st[contract] if contract in self._st else SqliteTx.get_state(self, contract)

    def put_state(self, contract: str, module_cid: str, value: bytes) -> None:
        old = self.get_state(contract)
        self._replaced(None if old is None else (CONTRACT, contract, *old), (CONTRACT, contract, module_cid, value))
        self._st[contract] = (module_cid, value)

    def states(self) -> list[tuple[str, str, bytes]]:
        rows = {c: (m, v) for c, m, v in super().states()}
        rows.update(self._st)
        return [(c, m, v) for c, (m, v) in sorted(rows.items())]

    def kv_get(self, namespace: str, key: str) -> Optional[bytes]:
        k = (namespace, key)
        return self._kv[k] if k in self._kv else SqliteTx.kv_get(self, namespace, key)

    def kv_put(self, namespace: str, key: str, value: bytes) -> None:
        old = self.kv_get(namespace, key)
        self._replaced(None if old is None else (KV, namespace, key, old), (KV, namespace, key, value))
        self._kv[(namespace, key)] = value

    def kv_scan(self, namespace: str) -> list[tuple[str, bytes]]:
        rows = dict(super().kv_scan(namespace))
        rows.update({k: v for (n, k), v in self._kv.items() if n == namespace})
        return sorted(rows.items())

    def kv_rows(self) -> list[tuple[str, str, bytes]]:
        rows = {(n, k): v for n, k, v in super().kv_rows()}
        rows.update(self._kv)
        return [(n, k, v) for (n, k), v in sorted(rows.items())]

    def _meta_get(self, key: str) -> Optional[str]:
        return self._mt[key] if key in self._mt else super()._meta_get(key)

    def _meta_set(self, key: str, value: str) -> None:
        self._mt[key] = value


def checked(cid: str, data: bytes) -> bytes:
    """A block's bytes, after re-checking that they hash to its CID (on every read)."""
    if canon.cid_text(data, _codec(cid)) != cid:
        raise IntegrityFailure(cid, "its bytes do not match its content id")
    return data


def _codec(cid: str) -> int:
    raw = canon.parse_cid(cid)
    return raw[1] if raw[1] < 0x80 else canon.CODEC_DAG_CBOR


class _Member:
    """A run of the open group: acknowledged when the COMMIT holding it is durable."""

    def __init__(self):
        self.done = threading.Event()
        self.error: Optional[BaseException] = None


class SqliteStore:
    """`transaction()` runs are group-committed: while one run holds the write connection, the
    runs waiting for it join its store transaction, each in a SAVEPOINT of its own, and one
    COMMIT (one fsync) makes up to `group_max` of them durable together (see the module doc)."""

    def __init__(self, path: str, group_max: Optional[int] = None):
        self.path = path
        self.group_max = max(1, group_max if group_max is not None else GROUP_MAX)
        self.commits = 0                        # COMMITs done (each one fsync of the WAL)
        self._mu = threading.Condition()
        self._busy = False                      # a run is using the write connection
        self._open = False                      # a group's store transaction is open (BEGIN done)
        self._waiting = 0                       # runs waiting for the write connection
        self._group: list[_Member] = []         # runs done and released, waiting for the COMMIT
        self._idle: list[sqlite3.Connection] = []   # read-only connections no read is using
        self._closed = False
        try:
            self.conn = self._connect()
            if path != ":memory:":
                mode = self.conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                if mode.lower() != "wal":
                    raise sqlite3.OperationalError(f"cannot switch {path} to WAL (got {mode})")
            self.conn.execute("PRAGMA synchronous=FULL")
            self.conn.executescript(SCHEMA + SIDE_SCHEMA)
            self.conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', ?)", (SCHEMA_VERSION,))
        except sqlite3.DatabaseError as e:
            raise error("N0900", f"cannot open the store {path}: {e}", Span(path),
                        "is it a ccl workspace database? `ccl init` creates one") from None

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=30, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout=30000")
        return conn

    @classmethod
    def memory(cls) -> "SqliteStore":
        return cls(":memory:")

    @contextmanager
    def _quiet(self):
        """The write connection with no run on it and no group open (a backup, a memory read)."""
        with self._mu:
            while self._busy or self._open:
                self._mu.wait()
            self._busy = True
        try:
            yield self.conn
        finally:
            with self._mu:
                self._busy = False
                self._mu.notify_all()

    def memory_copy(self) -> "SqliteStore":
        """A copy of this whole store in memory (SQLite's online backup), for throwaway runs."""
        copy = SqliteStore.memory()
        with self._quiet() as conn:
            conn.backup(copy.conn)
        return copy

    def _commit(self) -> None:
        self.conn.execute("COMMIT")

    @contextmanager
    def transaction(self):
        """An all-or-nothing run: kept if the block ends normally, else rolled back to its
        savepoint. It returns only once the COMMIT that holds it is durable; a failed COMMIT
        fails every run of its group (N0900), and none of them is kept."""
        with self._mu:
            self._waiting += 1
            while self._busy:
                self._mu.wait()
            self._waiting -= 1
            self._busy = True
        failure: Optional[BaseException] = None
        member: Optional[_Member] = None
        try:
            if not self._open:
                try:
                    self.conn.execute("BEGIN IMMEDIATE")
                except sqlite3.OperationalError as e:
                    raise error("N0900", f"the store is busy or unavailable: {e}", Span(self.path)) from None
                self._open = True
            self.conn.execute("SAVEPOINT run")
        except BaseException:
            self._leave()
            raise
        try:
            yield SqliteTx(self.conn)
        except BaseException as e:
            failure = e
            try:
                self.conn.execute("ROLLBACK TO run")
                self.conn.execute("RELEASE run")
            except sqlite3.DatabaseError:
                self._fail_group()              # the transaction cannot go on: none of it is kept
        else:
            try:
                self.conn.execute("RELEASE run")
                if not self.conn.in_transaction:    # SQLite rolled the whole group back (a full disk)
                    raise sqlite3.OperationalError("the store transaction was rolled back")
                member = _Member()
                self._group.append(member)
            except sqlite3.DatabaseError as e:
                failure = error("N0900", f"could not write to the store: {e}", Span(self.path))
                self._fail_group()
        self._leave()
        if failure is not None:
            raise failure                       # its own failure: the others of its group go on
        assert member is not None
        member.done.wait()
        if member.error is not None:
            raise member.error

    def _leave(self) -> None:
        """Hand the open group on to a waiting run, or COMMIT it (at `group_max` runs, or when no
        run waits) and wake its runs with their outcome."""
        with self._mu:
            hand_on = self._open and self._waiting > 0 and len(self._group) < self.group_max
        if not hand_on and self._open and not self._group:
            self._fail_group()                  # nothing done in it to keep (a refused run alone)
        elif not hand_on and self._open:
            group, self._group = self._group, []
            problem: Optional[str] = None
            try:
                self._commit()
                self.commits += 1
            except sqlite3.DatabaseError as e:
                problem = f"could not commit to the store: {e}"
                self._rollback()
            self._wake(group, problem)
        with self._mu:
            self._busy = False
            self._mu.notify_all()

    def _fail_group(self) -> None:
        group, self._group = self._group, []
        self._rollback()
        self._wake(group, "the store transaction failed: nothing of it was kept")

    def _rollback(self) -> None:
        try:
            self.conn.execute("ROLLBACK")
        except sqlite3.DatabaseError:
            pass

    def _wake(self, group: list, problem: Optional[str]) -> None:
        """The group's transaction is over: each of its runs learns the outcome (None: durable)."""
        self._open = False
        for m in group:
            m.error = None if problem is None else error("N0900", problem, Span(self.path))
            m.done.set()

    @contextmanager
    def reader(self):
        """A read: its own snapshot on a read-only connection from a small pool (WAL: reads run beside
        the writes and never wait for them); what it writes is thrown away."""
        if self.path == ":memory:":              # one connection: read it between groups
            with self._quiet() as conn:
                conn.execute("BEGIN")
                try:
                    yield ReadTx(conn)
                finally:
                    conn.execute("ROLLBACK")
            return
        with self._mu:
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            try:
                conn = self._connect()
                conn.execute("PRAGMA query_only=1")
            except sqlite3.DatabaseError as e:
                raise error("N0900", f"cannot open the store {self.path}: {e}", Span(self.path)) from None
        try:
            conn.execute("BEGIN")
            try:
                yield ReadTx(conn)
            finally:
                conn.execute("ROLLBACK")
        finally:
            with self._mu:                       # back to the pool, or closed if the pool is full
                keep = not self._closed and len(self._idle) < READERS_IDLE
                if keep:
                    self._idle.append(conn)
            if not keep:
                conn.close()

    def close(self) -> None:
        with self._mu:
            readers, self._idle, self._closed = self._idle, [], True
        for conn in readers:
            conn.close()
        self.conn.close()
