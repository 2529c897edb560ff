"""The PostgreSQL store (psycopg 3, an explicitly opened connection pool): the same tables and
methods as the SQLite store, for several node processes or machines sharing one state.

Runs from any number of nodes go on at the same time, and commit as if one after another in the
order of the receipt chain (so replay gives the same history and the same state root):

- A writing transaction runs at READ COMMITTED and takes a transaction-scoped advisory lock on
  every state row before its first read of it: exclusive for the engines' rows (a ledger run
  reads an account, a currency or a counter to write it), shared for governance rows (`gov.*`,
  read by every run and written rarely), which a write then upgrades. A scan of a namespace
  shares the namespace's lock, a write of a row in it holds it exclusively, so a range read sees
  no new row appear; `kv_rows`/`states` (a whole-store read inside a run) lock every row at once.
  Locks are held to the commit (strict two-phase locking), so each read sees the newest committed
  value of its row, and two runs touching the same rows wait for each other.
- The ordered step: just before the receipt is built (it names the previous head and the state
  root), `ordered()` takes the chain head's lock — the last lock a run takes — and only then
  reads the head and the state root's accumulator. The run's writes add a delta to the
  accumulator (ccl.store.root), applied to the newest committed value under that lock, so the
  accumulator's row is not a lock every run holds for its whole length. If another node's
  receipt, committed meanwhile, is later than this run's time, the run is a `Conflict`.
- A deadlock or serialization failure between two runs is a `Conflict` too: everything rolls
  back and ccl.runtime.session.run runs it again from the start (bounded).

Reads (`reader`) take no lock. `snapshot()` is a REPEATABLE READ READ ONLY transaction: one
consistent view of the whole store that blocks no writer (`ccl dag verify`).

A database that cannot be reached is `N0902` (environment: a node answers 503) within about
`WAIT_S` seconds, never a long freeze: the pool waits that long for a connection, then checks
whether the server answers at all (it keeps waiting, up to `BUSY_S`, only if it does — the pool
is busy, not broken). The pool checks each connection as it hands it out and reconnects in the
background, so a node recovers on its own when the database is back. Imports leaves,
ccl.store, ccl.store.root and ccl.store.sqlite (for the shared integrity check).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Optional

from ccl import canon
from ccl.diag import Span, error
from ccl.store import Conflict
from ccl.store.root import CONTRACT, KV, META_KEY, MOD, Rooted, replaced, rows_of, total
from ccl.store.side import SCHEMA as SIDE_SCHEMA, Savepoints, SideTables
from ccl.store.sqlite import checked

SCHEMA = """
CREATE TABLE IF NOT EXISTS blocks (cid TEXT PRIMARY KEY, data BYTEA NOT NULL);
CREATE TABLE IF NOT EXISTS receipts (seq BIGSERIAL PRIMARY KEY, cid TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS contract_state (contract TEXT PRIMARY KEY, module_cid TEXT NOT NULL, value BYTEA NOT NULL);
CREATE TABLE IF NOT EXISTS kv (namespace TEXT NOT NULL, key TEXT NOT NULL, value BYTEA NOT NULL,
                               PRIMARY KEY (namespace, key));
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
# A lock and the read or write it guards, in one round trip. The functions are VOLATILE, so at
# READ COMMITTED each statement in them sees what was committed before it began: a read after its
# lock sees the newest value of its row.
FUNCTIONS = """
CREATE OR REPLACE FUNCTION ccl_locks(shared TEXT[], exclusive TEXT[]) RETURNS VOID LANGUAGE plpgsql VOLATILE AS $$
DECLARE name TEXT;
BEGIN
    FOREACH name IN ARRAY shared LOOP PERFORM pg_advisory_xact_lock_shared(hashtextextended(name, 0)); END LOOP;
    FOREACH name IN ARRAY exclusive LOOP PERFORM pg_advisory_xact_lock(hashtextextended(name, 0)); END LOOP;
END $$;
CREATE OR REPLACE FUNCTION ccl_kv_get(shared TEXT[], exclusive TEXT[], ns TEXT, k TEXT) RETURNS BYTEA
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM ccl_locks(shared, exclusive);
    RETURN (SELECT value FROM kv WHERE namespace = ns AND key = k);
END $$;
CREATE OR REPLACE FUNCTION ccl_kv_put(shared TEXT[], exclusive TEXT[], ns TEXT, k TEXT, v BYTEA) RETURNS VOID
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM ccl_locks(shared, exclusive);
    INSERT INTO kv (namespace, key, value) VALUES (ns, k, v)
        ON CONFLICT (namespace, key) DO UPDATE SET value = EXCLUDED.value;
END $$;
"""
SCHEMA_LOCK = (0x63636c, 2)    # taken by a node preparing the schema as it starts
CHAIN_LOCK = (0x63636c, 1)     # "ccl": the chain head's advisory lock (two-int key space: no row lock is one)
SHARED_READ = ("gov.",)        # namespaces a read locks shared (read by nearly every run, written rarely)
WAIT_S = 1.0                   # wait this long for a pooled connection before asking if the server is up
BUSY_S = 30.0                  # ... and at most this long in all while it is (a busy pool, not a broken one)
_NO_HEAD = object()


class _Conn:
    """The transaction's connection: remembers the first database error, even one that code
    between the store and the caller caught, so the transaction ends as what it was."""

    def __init__(self, conn, tx: "PostgresTx"):
        self._conn, self._tx = conn, tx

    def execute(self, sql, args=()):
        if self._tx.failed is not None:
            raise self._tx.failed
        try:
            return self._conn.execute(sql, args)
        except Exception as e:
            import psycopg

            if isinstance(e, psycopg.Error):
                self._tx.failed = e
            raise


class PostgresTx(Rooted, SideTables, Savepoints):
    _P = "%s"
    # what a savepoint puts back besides the SQL (locks taken since stay held, or are taken again)
    _SAVED = ("_acc", "written", "_held", "_delta", "_base", "_ordered", "_seen_head", "_rows")

    def __init__(self, conn, writing: bool = False):
        self.failed: Optional[Exception] = None
        self.c = _Conn(conn, self)
        self.writing = writing          # a writing transaction locks what it reads (see the module doc)
        self._held: dict[str, bool] = {}        # lock name -> held exclusively
        self._delta = 0                 # what this transaction's writes add to the accumulator
        self._base: Optional[int] = None        # the accumulator as committed (read again in `ordered`)
        self._ordered = False
        self._seen_head = _NO_HEAD      # the head as this transaction first read it
        self._rows: dict[tuple[str, str], Optional[bytes]] = {}    # kv rows read or written under lock

    def _one(self, sql, args=()):
        return self.c.execute(sql, args).fetchone()

    # ------------------------------------------------------------ locks
    def _needed(self, wanted: list[tuple[str, bool]]) -> tuple[list[str], list[str]]:
        """Of the (lock name, exclusive) pairs wanted, those this transaction does not hold yet,
        as (shared, exclusive) lists — now counted as held (the caller takes them at once)."""
        shared: list[str] = []
        exclusive: list[str] = []
        if not self.writing:
            return shared, exclusive
        for name, x in wanted:
            held = self._held.get(name)
            if held or (held is not None and not x):
                continue
            (exclusive if x else shared).append(name)
            self._held[name] = x
        return shared, exclusive

    def _lock(self, name: str, exclusive: bool) -> None:
        shared, excl = self._needed([(name, exclusive)])
        if shared or excl:
            self.c.execute("SELECT ccl_locks(%s::text[], %s::text[])", (shared, excl))

    def _lock_all(self, exclusive: bool) -> None:
        self._lock("\x1fall", exclusive)

    @staticmethod
    def _kv_lock(namespace: str, key: str, write: bool) -> tuple[str, bool]:
        return f"kv\x1f{namespace}\x1f{key}", write or not namespace.startswith(SHARED_READ)

    def uploads_since(self, did: str, since: int) -> int:
        self._lock(f"uploads\x1f{did}", True)      # two nodes counting one member's uploads take turns
        return super().uploads_since(did, since)

    # ------------------------------------------------------------ blocks (content-addressed: no lock)
    def get_block(self, cid: str) -> Optional[bytes]:
        row = self._one("SELECT data FROM blocks WHERE cid = %s", (cid,))
        return None if row is None else checked(cid, bytes(row[0]))

    def put_block(self, cid: str, data: bytes) -> None:
        if self.c.execute("INSERT INTO blocks (cid, data) VALUES (%s, %s) ON CONFLICT (cid) DO NOTHING",
                          (cid, data)).rowcount:
            self.written += len(data)           # a new block, not one the history had

    def iter_blocks(self) -> Iterator[tuple[str, bytes]]:
        for cid, data in self.c.execute("SELECT cid, data FROM blocks ORDER BY cid COLLATE \"C\"").fetchall():
            yield cid, bytes(data)

    # ------------------------------------------------------------ the chain
    def head(self) -> Optional[str]:
        row = self._one("SELECT cid FROM receipts ORDER BY seq DESC LIMIT 1")
        head = row[0] if row else None
        if self._seen_head is _NO_HEAD:
            self._seen_head = head
        return head

    def ordered(self, time: Optional[int] = None) -> None:
        """Take the chain head's lock (held to the commit); with `time`, the run's time, refuse
        (Conflict) if a receipt committed since this transaction first read the head is later."""
        if self._ordered or not self.writing:
            return
        self.c.execute("SELECT pg_advisory_xact_lock(%s, %s)", CHAIN_LOCK)
        self._ordered = True
        self._base = None                       # read again, as committed now
        seen = self._seen_head
        head = self.head()
        if time is not None and seen is not _NO_HEAD and head is not None and head != seen:
            data = self.get_block(head)
            later = data is not None and canon.decode(data).get("payload", {}).get("time", 0) > time
            if later:
                raise Conflict("a receipt later than this run's time was committed meanwhile")

    def append_receipt(self, cid: str) -> int:
        self.ordered()
        return self._one("INSERT INTO receipts (cid) VALUES (%s) RETURNING seq", (cid,))[0]

    def receipts(self) -> list[str]:
        return [r[0] for r in self.c.execute("SELECT cid FROM receipts ORDER BY seq").fetchall()]

    # ------------------------------------------------------------ contract state
    def get_state(self, contract: str) -> Optional[tuple[str, bytes]]:
        self._lock(f"state\x1f{contract}", True)
        row = self._one("SELECT module_cid, value FROM contract_state WHERE contract = %s", (contract,))
        return (row[0], bytes(row[1])) if row else None

    def put_state(self, contract: str, module_cid: str, value: bytes) -> None:
        self._lock_all(False)
        old = self.get_state(contract)
        self._replaced(None if old is None else (CONTRACT, contract, *old), (CONTRACT, contract, module_cid, value))
        self.c.execute("INSERT INTO contract_state (contract, module_cid, value) VALUES (%s, %s, %s) "
                       "ON CONFLICT (contract) DO UPDATE SET module_cid = EXCLUDED.module_cid, value = EXCLUDED.value",
                       (contract, module_cid, value))

    def states(self) -> list[tuple[str, str, bytes]]:
        self._lock_all(True)
        rows = self.c.execute("SELECT contract, module_cid, value FROM contract_state ORDER BY contract COLLATE \"C\"")
        return [(c, m, bytes(v)) for c, m, v in rows.fetchall()]

    # ------------------------------------------------------------ engine rows
    def kv_get(self, namespace: str, key: str) -> Optional[bytes]:
        k = (namespace, key)
        if k in self._rows:
            return self._rows[k]
        shared, exclusive = self._needed([self._kv_lock(namespace, key, False)])
        row = self._one("SELECT ccl_kv_get(%s::text[], %s::text[], %s, %s)", (shared, exclusive, namespace, key))
        value = None if row[0] is None else bytes(row[0])
        if self.writing:                # locked: no other transaction changes it before this one ends
            self._rows[k] = value
        return value

    def kv_put(self, namespace: str, key: str, value: bytes) -> None:
        old = self.kv_get(namespace, key)
        self._replaced(None if old is None else (KV, namespace, key, old), (KV, namespace, key, value))
        shared, exclusive = self._needed([("\x1fall", False), (f"ns\x1f{namespace}", True),
                                          self._kv_lock(namespace, key, True)])
        self.c.execute("SELECT ccl_kv_put(%s::text[], %s::text[], %s, %s, %s)", (shared, exclusive, namespace, key, value))
        if self.writing:
            self._rows[(namespace, key)] = bytes(value)

    def kv_scan(self, namespace: str) -> list[tuple[str, bytes]]:
        self._lock(f"ns\x1f{namespace}", False)
        rows = self.c.execute("SELECT key, value FROM kv WHERE namespace = %s ORDER BY key COLLATE \"C\"", (namespace,))
        return [(k, bytes(v)) for k, v in rows.fetchall()]

    def kv_rows(self) -> list[tuple[str, str, bytes]]:
        self._lock_all(True)
        rows = self.c.execute("SELECT namespace, key, value FROM kv "
                              "ORDER BY namespace COLLATE \"C\", key COLLATE \"C\"")
        return [(n, k, bytes(v)) for n, k, v in rows.fetchall()]

    # ------------------------------------------------------------ the accumulator, as a delta
    def _accumulator(self) -> int:
        if self._base is None:
            text = self._meta_get(META_KEY)
            if text is None:            # a store made before the accumulator: its rows, less this transaction's
                self._base = (total(rows_of(self)) - self._delta) % MOD
            else:
                self._base = _parse(text)
        return (self._base + self._delta) % MOD

    def _replaced(self, old, new) -> None:
        if old is not None and old[2:] == new[2:]:
            return                          # rewritten unchanged
        self._delta = replaced(self._delta, old, new)

    def _finish(self) -> None:
        """Before the commit: a transaction that changed state rows applies its delta to the
        accumulator as committed, under the chain head's lock."""
        if self._delta:
            self.ordered()
            self._meta_set(META_KEY, f"{self._accumulator():064x}")

    def _meta_get(self, key: str) -> Optional[str]:
        row = self._one("SELECT value FROM meta WHERE key = %s", (key,))
        return row[0] if row else None

    def _meta_set(self, key: str, value: str) -> None:
        self.c.execute("INSERT INTO meta (key, value) VALUES (%s, %s) "
                       "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", (key, value))


def _parse(text: str) -> int:
    if len(text) == 64 and all(c in "0123456789abcdef" for c in text):
        return int(text, 16)
    raise error("N0900", "the store's state-root accumulator is damaged (not 64 hex digits)", Span(),
                "`ccl dag verify` recomputes it from the rows and checks them")


class PostgresStore:
    def __init__(self, url: str, *, pool_size: int = 4):
        import logging

        import psycopg
        from psycopg_pool import ConnectionPool

        logging.getLogger("psycopg.pool").setLevel(logging.CRITICAL)    # failures are reported once, below
        self.url = url
        self.path = _redact(url)
        try:
            psycopg.connect(url, connect_timeout=2).close()     # at once, not after the pool's wait
            self.pool = ConnectionPool(url, min_size=1, max_size=pool_size, open=False, timeout=WAIT_S,
                                       kwargs={"autocommit": False, "connect_timeout": 2},
                                       check=ConnectionPool.check_connection, reconnect_timeout=24 * 3600)
            self.pool.open(wait=True, timeout=10)
            with self.pool.connection() as conn:
                with conn.transaction():
                    _prepare(conn)
        except (psycopg.Error, Exception) as e:
            if getattr(self, "pool", None) is not None:
                self.pool.close()
            raise error("N0900", f"cannot open the PostgreSQL store {self.path}: {_first_line(e)}", Span(self.path),
                        "is the server running, and the URL right?") from None

    def _unavailable(self, e: Exception):
        return error("N0902", f"the PostgreSQL store {self.path} is unavailable: {_first_line(e)}", Span(self.path),
                     "the database server is down or unreachable; try again once it is back")

    @contextmanager
    def _connection(self):
        """A pooled connection within about WAIT_S seconds, or N0902 if the server is down."""
        import psycopg
        from psycopg_pool import PoolTimeout

        try:
            try:
                conn = self.pool.getconn(timeout=WAIT_S)
            except PoolTimeout as e:
                if not self._server_up():
                    raise self._unavailable(e) from None
                conn = self.pool.getconn(timeout=BUSY_S)     # up, so busy: wait (once more, not again and again)
        except PoolTimeout as e:
            raise self._unavailable(e) from None
        except (psycopg.OperationalError, psycopg.InterfaceError) as e:
            raise self._unavailable(e) from None
        try:
            yield conn
        finally:
            self.pool.putconn(conn)         # a broken connection is discarded, and replaced in the background

    def _server_up(self) -> bool:
        import psycopg

        try:
            psycopg.connect(self.url, connect_timeout=1).close()
            return True
        except psycopg.Error:
            return False

    @contextmanager
    def transaction(self):
        """One writing transaction (see the module doc): committed if the block ends normally."""
        import psycopg

        tx: Optional[PostgresTx] = None
        try:
            with self._connection() as conn:
                with conn.transaction():
                    tx = PostgresTx(conn, writing=True)
                    try:
                        yield tx
                        if tx.failed is not None:
                            raise tx.failed                 # caught on the way, but it ended the transaction
                        tx._finish()
                    except Exception:
                        if tx.failed is not None:
                            raise tx.failed from None           # what really ended it (see _Conn)
                        raise
        except (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure) as e:
            raise Conflict(_first_line(e)) from None
        except (psycopg.OperationalError, psycopg.InterfaceError) as e:
            raise self._unavailable(e) from None

    @contextmanager
    def reader(self):
        """A transaction whose writes are always thrown away (for queries)."""
        import psycopg

        try:
            with self._connection() as conn:
                with conn.transaction(force_rollback=True):
                    yield PostgresTx(conn)
        except (psycopg.OperationalError, psycopg.InterfaceError) as e:
            raise self._unavailable(e) from None

    @contextmanager
    def snapshot(self):
        """A REPEATABLE READ READ ONLY transaction: one consistent view of the whole store, taking
        no lock, so writers on every node go on while it is open (`ccl dag verify`)."""
        import psycopg

        try:
            with self._connection() as conn:
                with conn.transaction(force_rollback=True):
                    conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    yield PostgresTx(conn)
        except (psycopg.OperationalError, psycopg.InterfaceError) as e:
            raise self._unavailable(e) from None

    def close(self) -> None:
        self.pool.close()


def _prepare(conn) -> None:
    """Create what is missing — tables, then the lock functions (again when this ccl's differ) —
    and nothing else: a node starting beside nodes that are running takes no lock of theirs (a
    CREATE INDEX, even IF NOT EXISTS, would wait for every writer of its table while they wait
    for the chain head, which it once held: a deadlock). Nodes starting at once take turns."""
    import hashlib

    conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", SCHEMA_LOCK)
    if conn.execute("SELECT to_regclass('meta') IS NULL OR to_regclass('nonces') IS NULL").fetchone()[0]:
        conn.execute(SCHEMA + SIDE_SCHEMA)
        conn.execute("INSERT INTO meta (key, value) VALUES ('schema', '1') ON CONFLICT DO NOTHING")
    digest = hashlib.sha256(FUNCTIONS.encode()).hexdigest()
    if conn.execute("SELECT value FROM meta WHERE key = 'functions'").fetchone() != (digest,):
        conn.execute(FUNCTIONS)
        conn.execute("INSERT INTO meta (key, value) VALUES ('functions', %s) "
                     "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", (digest,))


def _first_line(e: Exception) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0]


def _redact(url: str) -> str:
    import re

    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


def open_store(location: str):
    """A store from a `--state` value: a PostgreSQL URL, or a SQLite file path."""
    if location.startswith(("postgresql://", "postgres://")):
        return PostgresStore(location)
    from ccl.store.sqlite import SqliteStore

    return SqliteStore(location)
