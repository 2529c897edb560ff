"""The store's side tables: what a node keeps beside the co-op's history, outside the state root.

Two tables, in the same database as the history (so one commit writes a run and what goes with
it) but never counted in the state root and never reproduced by replay:

- `nonces` — each signed request's (DID, nonce) once it has been handled, whatever the outcome
  (a run that committed, a refused run, a read). A request carries its time and a node accepts
  it only within `WINDOW_S` of its clock, so an entry is needed only until its time has left the
  window: entries expire with the window (deleted as later requests arrive), never by eviction,
  and the `nonce_horizon` table records the newest time deleted so far — a request older than
  that is refused as stale even if the node's clock is later set back.
- `private` — the plain text of private inputs (a loan's purpose, an aid place name, a member
  fact): the history holds only a salted commitment (ccl.private), this table the salt and the
  text, with who the text is about and which permission may read it.
- `uploads` — which member uploaded which contract (CID) to a node to run, when, under what file
  name and how many bytes of source: the node's record of who brought what code (the module
  itself enters the history only when a run uses it). The first upload of a CID by a member is
  kept; a member's uploads of the day are what the node's upload quota counts (ccl.node.limits).
- `usage` — how many bytes of history (receipts, events, modules) each member's requests added on
  each UTC day: what the node's history quota counts (ccl.node.limits). Older days are deleted
  as members' requests arrive.

`SideTables` is a base of both stores' transaction classes; a subclass sets `_P` to its SQL
placeholder and provides `c.execute` (or its own `_side`). So is `Savepoints`: a run that is
refused is rolled back to a savepoint while its transaction goes on, so that its request's nonce
is spent in the same commit (never in a second transaction, which a second node could overtake).
Imports nothing of ccl.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Optional

WINDOW_S = 300                      # a signed request's time is within this many seconds of the node's clock

SCHEMA = """
CREATE TABLE IF NOT EXISTS nonces (did TEXT NOT NULL, nonce TEXT NOT NULL, time BIGINT NOT NULL,
                                   PRIMARY KEY (did, nonce));
CREATE INDEX IF NOT EXISTS nonces_by_time ON nonces (time);
CREATE TABLE IF NOT EXISTS nonce_horizon (id INTEGER PRIMARY KEY, time BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS private (commitment TEXT PRIMARY KEY, subject TEXT NOT NULL, readers TEXT NOT NULL,
                                    salt TEXT NOT NULL, text TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS uploads (did TEXT NOT NULL, cid TEXT NOT NULL, time BIGINT NOT NULL, name TEXT NOT NULL,
                                    bytes BIGINT NOT NULL, PRIMARY KEY (did, cid));
CREATE INDEX IF NOT EXISTS uploads_by_time ON uploads (did, time);
CREATE TABLE IF NOT EXISTS usage (did TEXT NOT NULL, day BIGINT NOT NULL, bytes BIGINT NOT NULL,
                                  PRIMARY KEY (did, day));
"""


class SideTables:
    """Every statement returns rows (RETURNING), so one method, `_side`, runs them all."""

    _P = "?"

    def _side(self, sql: str, args: tuple = ()) -> list:
        return self.c.execute(sql.replace("?", self._P), args).fetchall()      # type: ignore[attr-defined]

    # ------------------------------------------------------------ nonces
    def use_nonce(self, did: str, nonce: str, time: int, now: int) -> Optional[str]:
        """Record (did, nonce) as handled: None, or why it cannot be — "replayed" (handled before,
        or being handled by a transaction that commits first) or "stale" (older than a window
        already forgotten). Also forgets entries that have left the window."""
        row = self._side("SELECT time FROM nonce_horizon WHERE id = 1")
        horizon = row[0][0] if row else 0
        if time < horizon:
            return "stale"
        cutoff = now - WINDOW_S - 1
        if cutoff > horizon and self._side("SELECT 1 FROM nonces WHERE time < ? LIMIT 1", (cutoff,)):
            self._side("DELETE FROM nonces WHERE time < ? RETURNING 1", (cutoff,))
            self._side("INSERT INTO nonce_horizon (id, time) VALUES (1, ?) ON CONFLICT (id) DO UPDATE "
                       "SET time = excluded.time RETURNING 1", (cutoff,))
        if not self._side("INSERT INTO nonces (did, nonce, time) VALUES (?, ?, ?) ON CONFLICT (did, nonce) "
                          "DO NOTHING RETURNING 1", (did, nonce, time)):
            return "replayed"
        return None

    def nonce_rows(self) -> list[tuple[str, str, int]]:
        return [(d, n, t) for d, n, t in self._side("SELECT did, nonce, time FROM nonces ORDER BY did, nonce")]

    def put_nonce_row(self, did: str, nonce: str, time: int) -> None:
        self._side("INSERT INTO nonces (did, nonce, time) VALUES (?, ?, ?) ON CONFLICT (did, nonce) DO NOTHING "
                   "RETURNING 1", (did, nonce, time))

    # ------------------------------------------------------------ private texts
    def private_put(self, commitment: str, subject: str, readers: str, salt: str, text: str) -> None:
        self._side("INSERT INTO private (commitment, subject, readers, salt, text) VALUES (?, ?, ?, ?, ?) "
                   "ON CONFLICT (commitment) DO NOTHING RETURNING 1", (commitment, subject, readers, salt, text))

    def private_get(self, commitment: str) -> Optional[tuple[str, str, str, str]]:
        """(subject, readers, salt, text) of a commitment, or None."""
        rows = self._side("SELECT subject, readers, salt, text FROM private WHERE commitment = ?", (commitment,))
        return None if not rows else (rows[0][0], rows[0][1], rows[0][2], rows[0][3])

    def private_erase(self, subject: str) -> int:
        """Delete the plain text (and salt) of every private input about `subject`: how many. Their
        commitments stay in the history, which still verifies and replays."""
        return len(self._side("DELETE FROM private WHERE subject = ? RETURNING 1", (subject,)))

    def private_rows(self) -> list[tuple[str, str, str, str, str]]:
        return [tuple(r) for r in self._side(
            "SELECT commitment, subject, readers, salt, text FROM private ORDER BY commitment")]

    # ------------------------------------------------------------ uploaded contracts
    def upload_put(self, did: str, cid: str, time: int, name: str, size: int) -> bool:
        """Record that `did` uploaded `cid` at `time`: True if new, False if they had before."""
        return bool(self._side("INSERT INTO uploads (did, cid, time, name, bytes) VALUES (?, ?, ?, ?, ?) "
                               "ON CONFLICT (did, cid) DO NOTHING RETURNING 1", (did, cid, time, name, size)))

    def usage_add(self, did: str, day: int, size: int) -> int:
        """Count `size` more bytes of history for `did` on `day` (days since 1970, UTC): their
        total of that day, this run's included. Older days of that member are forgotten."""
        self._side("DELETE FROM usage WHERE did = ? AND day < ? RETURNING 1", (did, day))
        return int(self._side("INSERT INTO usage (did, day, bytes) VALUES (?, ?, ?) ON CONFLICT (did, day) "
                              "DO UPDATE SET bytes = usage.bytes + excluded.bytes RETURNING bytes",
                              (did, day, size))[0][0])

    def uploads_since(self, did: str, since: int) -> int:
        """How many contracts `did` first uploaded at or after `since`."""
        return int(self._side("SELECT COUNT(*) FROM uploads WHERE did = ? AND time >= ?", (did, since))[0][0])

    def upload_rows(self, did: Optional[str] = None) -> list[tuple[str, str, int, str, int]]:
        """(did, cid, time, name, bytes) of every upload (of `did`'s only, if given), oldest first."""
        where, args = ("WHERE did = ? ", (did,)) if did is not None else ("", ())
        return [(d, c, t, n, b) for d, c, t, n, b in self._side(
            f"SELECT did, cid, time, name, bytes FROM uploads {where}ORDER BY time, did, cid", args)]


class Savepoints:
    """`with tx.savepoint():` — what the block writes is kept if it ends normally, and undone (a
    SQL `ROLLBACK TO SAVEPOINT`) if it raises, while the transaction itself goes on. What a
    transaction object keeps in memory about its own writes (`_SAVED`: the accumulator, caches)
    is put back with it."""

    _SAVED: tuple[str, ...] = ("_acc", "written")
    _depth = 0
    written = 0                     # bytes of blocks this transaction has put (a member's history quota)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        name = f"ccl_sp{self._depth}"
        kept = {k: (dict(v) if isinstance(v, dict) else v) for k, v in
                ((k, getattr(self, k, None)) for k in self._SAVED)}
        self.c.execute(f"SAVEPOINT {name}")             # type: ignore[attr-defined]
        self._depth += 1
        try:
            yield
        except BaseException:
            self.c.execute(f"ROLLBACK TO SAVEPOINT {name}")     # type: ignore[attr-defined]
            self.c.execute(f"RELEASE SAVEPOINT {name}")         # type: ignore[attr-defined]
            for k, v in kept.items():
                setattr(self, k, v)
            raise
        else:
            self.c.execute(f"RELEASE SAVEPOINT {name}")         # type: ignore[attr-defined]
        finally:
            self._depth -= 1
