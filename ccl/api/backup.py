"""Backups of a workspace's store (`ccl store backup`/`restore`) and rebuilding one from a CAR
export (`ccl dag import`), below both edges.

- `backup` writes one consistent copy of the whole store into a new SQLite file that is itself a
  working state.db (mode 0600): from SQLite with its online backup API (a read snapshot beside a
  serving node's writes), from PostgreSQL by copying one REPEATABLE READ snapshot through the
  store interface (ccl.store.copy). `--without-private` leaves out the private side table.
- `restore` checks a backup (every block's CID and encoding, the chain and its signatures, the
  state root of its rows against its head receipt and its accumulator) before it replaces the
  workspace's state.db; a non-empty store is replaced only when forced, and kept beside as
  `state.db.before-restore`.
- `import_car` verifies every block of a CARv1 export, orders the chain from its root back to
  the genesis, replays it from genesis (ccl.runtime.session.replay) and writes the blocks, the
  receipts and the replayed rows into the workspace's empty store in one transaction; the state
  root must be the head receipt's.

These are local admin commands on the workspace's own files: whoever can read state.db already
has everything in it, so they need no signature and have no node route. Every refusal is one
diagnostic and leaves the workspace's store as it was. Imports leaves, ccl.store, ccl.dag,
ccl.private and ccl.runtime.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Optional

import attrs

from ccl import store as S
from ccl.diag import CclError, Diagnostic, Span, error

BEFORE_RESTORE = "state.db.before-restore"


@attrs.frozen
class BackupResult:
    path: str
    receipts: int
    blocks: int
    state_root: str
    bytes: int
    private: bool                 # whether the private inputs' texts are in the file
    private_texts: int            # how many are


@attrs.frozen
class RestoreResult:
    receipts: int
    blocks: int
    state_root: str
    missing_texts: int            # private inputs whose commitment is in the history but whose text is not
    kept: Optional[str]           # where the replaced store was kept (state.db.before-restore), if any


@attrs.frozen
class ImportResult:
    receipts: int
    blocks: int
    state_root: str
    missing_texts: int            # a CAR has no private texts: every commitment of the history


def _private_file(path: str) -> None:
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    os.chmod(path, 0o600)


def _remove(*paths: str) -> None:
    for p in paths:
        try:
            os.remove(p)
        except OSError:                 # not there (or not a file: what uses the path next says so)
            pass


def _io(path: str, e: OSError):
    return error("N0900", f"cannot use {path}: {e.strerror or e}", Span(path))


# ---------------------------------------------------------------- backup

def backup(store, path: str, *, force: bool = False, with_private: bool = True) -> BackupResult:
    """One consistent copy of `store` (SQLite or PostgreSQL) written to the new SQLite file `path`."""
    from ccl.store.sqlite import SqliteStore

    if os.path.exists(path) and not force:
        raise error("U0700", f"{path} already exists", Span(path), "name a new file, or give --force to replace it")
    if os.path.isdir(path):
        raise error("U0700", f"{path} is a folder", Span(path), "name a file")
    live = getattr(store, "path", "")
    if os.path.exists(path) and live and os.path.exists(live) and os.path.samefile(path, live):
        raise error("U0700", f"{path} is the workspace's own store", Span(path), "back it up to another file")
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        _remove(tmp, tmp + "-wal", tmp + "-shm")
        _private_file(tmp)
        if isinstance(store, SqliteStore) and store.path != ":memory:":
            src = sqlite3.connect(Path(store.path).absolute().as_uri() + "?mode=ro", uri=True, timeout=30)
            dst = sqlite3.connect(tmp)
            try:
                src.backup(dst)                 # one step: one read snapshot, beside the writers (WAL)
            finally:
                dst.close()
                src.close()
        else:
            out_store = SqliteStore(tmp)
            try:
                with S.snapshot(store) as src_tx, out_store.transaction() as out:
                    S.copy(src_tx, out)
            finally:
                out_store.close()
        if not with_private:
            db = sqlite3.connect(tmp, isolation_level=None)
            try:
                db.execute("PRAGMA secure_delete=ON")
                db.execute("DELETE FROM private")
                db.execute("VACUUM")            # the deleted texts leave no page behind
            finally:
                db.close()
        result = _summary(tmp)
        os.replace(tmp, path)
        os.chmod(path, 0o600)
    except OSError as e:
        _remove(tmp, tmp + "-wal", tmp + "-shm")
        raise _io(path, e) from None
    except (CclError, sqlite3.DatabaseError) as e:
        _remove(tmp, tmp + "-wal", tmp + "-shm")
        if isinstance(e, sqlite3.DatabaseError):
            raise error("N0900", f"cannot write the backup {path}: {e}", Span(path)) from None
        raise
    return attrs.evolve(result, path=path, bytes=os.path.getsize(path), private=with_private)


def _summary(path: str) -> BackupResult:
    from ccl.runtime.session import state_root
    from ccl.store.sqlite import SqliteStore

    st = SqliteStore(path)
    try:
        with st.reader() as tx:
            return BackupResult(path, len(tx.receipts()), sum(1 for _ in tx.iter_blocks()), state_root(tx), 0, True,
                                len(tx.private_rows()))
    finally:
        st.close()


# ---------------------------------------------------------------- restore

def workspace_root(start: Path, override: Optional[str]):
    """The workspace a restore or an import writes into: the usual one, or a `.ccl` folder whose
    state.db was lost (its keys and settings are still there)."""
    from ccl.api.workspace import DIR, Workspace, find

    if override and override.startswith(("postgresql://", "postgres://")):
        raise error("U0700", "a restore or an import writes a SQLite workspace, not a PostgreSQL database",
                    Span(), "restore into a SQLite workspace, then `ccl store migrate --to URL`")
    if override:
        p = Path(override)
        p = p.parent if p.name == "state.db" else (p / DIR if (p / DIR).is_dir() else p)
        if p.is_dir() and p.name == DIR:
            return Workspace(p)
        ws = find(start, override)
        assert ws is not None
        return ws
    ws = find(start, None)
    if ws is not None:
        return ws
    for folder in [start, *start.parents]:
        if (folder / DIR).is_dir():
            return Workspace(folder / DIR)
    raise error("U0701", "no ccl workspace here or in any parent folder", Span(),
                "create one with `ccl init` (no --founder), then restore or import into it")


def _nonempty(ws) -> bool:
    """Whether ws's store holds anything (a state.db that cannot be read counts as holding something)."""
    if not ws.db.exists():
        return False
    try:
        with ws.store.reader() as tx:
            return bool(tx.receipts()) or any(True for _ in tx.iter_blocks())
    except (CclError, sqlite3.DatabaseError):
        return True


def _demo_clock(ws, tx) -> None:
    """A demo co-op's workspace gets its demo clock (at the head receipt's time) if it has none."""
    from ccl import dag as D

    receipts = tx.receipts()
    if not receipts or ws.demo():
        return
    genesis, head = D.get(tx, receipts[0]), D.get(tx, receipts[-1])
    if genesis["payload"].get("demo") is True:
        ws.set_clock(int(head["payload"]["time"]))


def _commitments(tx) -> set[str]:
    """Every private input's commitment the history's receipts carry."""
    from ccl import dag as D
    from ccl.private import is_commitment

    found: set[str] = set()

    def walk(v):
        if is_commitment(v):
            found.add(v)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, (list, tuple)):
            for x in v:
                walk(x)
    for cid in tx.receipts():
        block = D.get(tx, cid)
        if isinstance(block, dict):
            walk(block.get("payload"))
    return found


def _integrity(problems) -> CclError:
    p = problems[0]
    code = "I0802" if p.code == "I0801" and ("signature" in p.why or "signed" in p.why) else p.code
    return CclError(Diagnostic("integrity", code, f"block {p.cid}: {p.why}", Span(p.cid),
                               (f"{len(problems)} problem(s) in all; the first is shown; nothing was changed",)))


def check_store(tx, where: str) -> tuple[str, int, int]:
    """(state root, receipts, blocks) of a store that passes `dag verify`'s checks, else the failure."""
    from ccl import dag as D
    from ccl.store.root import state_root_of

    problems = D.verify_all(tx)
    if problems:
        raise _integrity(problems)
    head = tx.head()
    rows = state_root_of(tx.recompute_root_accumulator())
    recorded = D.get(tx, head)["payload"].get("state_root") if head else state_root_of(bytes(32))
    if rows != recorded or tx.root_accumulator() != tx.recompute_root_accumulator():
        raise error("I0804", f"the state in {where} does not have its head receipt's state root "
                    f"({rows} vs {recorded})", Span(where), "nothing was changed; use another backup")
    return recorded, len(tx.receipts()), sum(1 for _ in tx.iter_blocks())


def restore(ws, path: str, *, force: bool = False) -> RestoreResult:
    """Replace `ws`'s state.db by the checked backup `path`."""
    from ccl.store.sqlite import SqliteStore

    if not os.path.isfile(path):
        raise error("U0701", f"no backup file {path}", Span(path))
    if ws.store_url:
        raise error("U0700", "a restore writes a SQLite workspace, not a PostgreSQL database", Span(),
                    "restore into a SQLite workspace, then `ccl store migrate --to URL`")
    if _nonempty(ws) and not force:
        raise error("U0700", "this workspace's store is not empty", Span(str(ws.db)),
                    f"give --force to replace it (it is kept as {BEFORE_RESTORE})")
    staged = str(ws.root / f"state.db.restoring{os.getpid()}")
    try:
        _remove(staged, staged + "-wal", staged + "-shm")
        _private_file(staged)
        try:
            with open(path, "rb") as f:
                head = f.read(16)
            if head != b"SQLite format 3\x00":
                raise error("U0712", f"{path} is not a ccl backup (not an SQLite database)", Span(path),
                            "`ccl store backup FILE` makes one; a CAR export is read by `ccl dag import`")
            src = sqlite3.connect(Path(path).absolute().as_uri() + "?mode=ro", uri=True)
            dst = sqlite3.connect(staged)
            try:
                names = {r[0] for r in src.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                if not {"blocks", "receipts", "contract_state", "kv", "meta"} <= names:
                    raise error("U0712", f"{path} is not a ccl backup (it has no ccl store tables)", Span(path),
                                "`ccl store backup FILE` makes one")
                src.backup(dst)
            finally:
                dst.close()
                src.close()
        except sqlite3.DatabaseError as e:
            raise error("U0712", f"{path} is not a ccl backup: {e}", Span(path)) from None
        st = SqliteStore(staged)
        try:
            with st.reader() as tx:
                root, receipts, blocks = check_store(tx, path)
                missing = sum(1 for c in _commitments(tx) if tx.private_get(c) is None)
        finally:
            st.close()
        kept = _swap_in(ws, staged)
        with ws.store.reader() as tx:
            _demo_clock(ws, tx)
    except OSError as e:
        _remove(staged, staged + "-wal", staged + "-shm")
        raise _io(path, e) from None
    except BaseException:
        _remove(staged, staged + "-wal", staged + "-shm")
        raise
    return RestoreResult(receipts, blocks, root, missing, kept)


def _swap_in(ws, staged: str) -> Optional[str]:
    """Put the checked file `staged` in place of ws's state.db; the old one, if it held anything,
    becomes state.db.before-restore (after a checkpoint, so it is whole without its WAL)."""
    db = str(ws.db)
    if ws._store is not None:
        ws._store.close()
        ws._store = None
    kept = None
    if os.path.exists(db):
        conn = sqlite3.connect(db)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            full = conn.execute("SELECT EXISTS (SELECT 1 FROM receipts) OR EXISTS (SELECT 1 FROM blocks)").fetchone()[0]
        except sqlite3.DatabaseError:
            full = 1
        finally:
            conn.close()
        if full:
            kept = str(ws.root / BEFORE_RESTORE)
            os.replace(db, kept)
            os.chmod(kept, 0o600)
        _remove(db + "-wal", db + "-shm")
    os.replace(staged, db)
    os.chmod(db, 0o600)
    return kept


# ---------------------------------------------------------------- a CAR export

def import_car(ws, path: str) -> ImportResult:
    """Rebuild `ws`'s empty store from the CAR export `path`: verify, order, replay, write."""
    from ccl import canon, dag as D
    from ccl.canon import Link
    from ccl.runtime.session import replay
    from ccl.store.sqlite import SqliteStore

    if not os.path.isfile(path):
        raise error("U0701", f"no CAR file {path}", Span(path))
    if ws.store_url:
        raise error("U0700", "an import writes a SQLite workspace, not a PostgreSQL database", Span(),
                    "import into a SQLite workspace, then `ccl store migrate --to URL`")
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise _io(path, e) from None
    try:
        roots, blocks = D.read_car(data)
    except (IndexError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise error("U0712", f"{path} is not a CARv1 export: {e}", Span(path),
                    "`ccl dag export --car FILE` makes one; a backup is read by `ccl store restore`") from None
    if len(roots) != 1:
        raise error("U0712", f"{path} names {len(roots)} roots; a ccl export names its head receipt", Span(path))
    if _nonempty(ws):
        raise error("U0700", "this workspace's store is not empty", Span(str(ws.db)),
                    "import into a new workspace: `ccl init` (no --founder) in an empty folder")
    if not ws.db.exists():
        _private_file(str(ws.db))               # SQLite gives its WAL and shared-memory files its mode
    staging = SqliteStore.memory()
    fresh = SqliteStore.memory()
    try:
        with staging.transaction() as tx:
            by_cid = {}
            for cid, raw in blocks:
                tx.put_block(cid, raw)
                by_cid[cid] = raw
            problems = D.verify_all(tx)         # every block's CID and encoding (no receipts yet)
            if problems:
                raise _integrity(problems)
            chain: list[str] = []
            at: Optional[str] = roots[0]
            while at is not None:
                if at not in by_cid or len(chain) > len(by_cid):
                    raise error("I0801", f"block {at}: receipt missing from the CAR", Span(at),
                                "nothing was changed; export the workspace again")
                chain.append(at)
                block = canon.decode(by_cid[at])
                payload = block.get("payload") if isinstance(block, dict) else None
                prev = payload.get("prev") if isinstance(payload, dict) else None
                at = prev.cid if isinstance(prev, Link) else prev if isinstance(prev, str) else None
            for c in reversed(chain):
                tx.append_receipt(c)
            root, receipts, count = _checked_chain(tx)
        steps = replay(staging, into=fresh)
        bad = [s for s in steps if not s.ok]
        if bad:
            s = bad[0]
            raise error("I0803", f"replay of receipt #{s.seq} {s.receipt}: {s.why}", Span(s.receipt),
                        "nothing was changed")
        with staging.reader() as src, fresh.reader() as rows:
            if _nonempty(ws):
                raise error("U0700", "this workspace's store is not empty", Span(str(ws.db)))
            with ws.store.transaction() as out:
                S.copy(src, out, rows=rows)     # the CAR's history, the replay's rows (a CAR has no side tables)
                from ccl.runtime.session import state_root

                if state_root(out) != root or out.recompute_root_accumulator() != out.root_accumulator():
                    raise error("I0803", f"the replayed state's root {state_root(out)} is not the head "
                                f"receipt's {root}", Span(roots[0]), "nothing was changed")
            missing = len(_commitments(src))
            _demo_clock(ws, src)
    finally:
        staging.close()
        fresh.close()
    return ImportResult(receipts, count, root, missing)


def _checked_chain(tx) -> tuple[str, int, int]:
    from ccl import dag as D

    problems = D.verify_all(tx)
    if problems:
        raise _integrity(problems)
    head = tx.head()
    return D.get(tx, head)["payload"]["state_root"], len(tx.receipts()), sum(1 for _ in tx.iter_blocks())
