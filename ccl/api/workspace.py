"""Workspaces on disk: `.ccl/` with `state.db`, `config.toml`, `keys/` (members' keys), `coop/`
(the co-op's own key, which signs the genesis record and is never a member's `--as`) and, in a
demo workspace, `clock.json` (the clock `ccl clock advance` moves).

Commands find the workspace by walking up from the current folder, like git; `--state PATH`
names a workspace folder (or its `.ccl`, or a `state.db`) directly. Below both edges: the CLI
and the node open workspaces through it. Imports leaves, ccl.identity and ccl.store.
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Optional

from ccl.diag import Span, error
from ccl.identity import Identity, Keystore

DIR = ".ccl"


class Workspace:
    def __init__(self, root: Path, store_url: Optional[str] = None):
        self.root = root                    # the .ccl folder (keys and settings)
        self.db = root / "state.db"
        self.keys = Keystore(root / "keys")
        self.store_url = store_url          # a PostgreSQL URL instead of state.db
        self._store = None

    @property
    def store(self):
        if self._store is None:
            if self.store_url:
                from ccl.store.postgres import PostgresStore

                self._store = PostgresStore(self.store_url)
            else:
                from ccl.store.sqlite import SqliteStore

                self._store = SqliteStore(str(self.db))
        return self._store

    def coop_key(self) -> Identity:
        """The co-op's own key (made at founding; rotation is the key-lifetime issue's)."""
        keys = Keystore(self.root / "coop")
        return keys.load("coop") if "coop" in keys.names() else keys.create("coop")

    def _clock_file(self) -> Path:
        return self.root / "clock.json"

    def demo(self) -> bool:
        """Whether this is a demo workspace (the genesis says so; this file mirrors it so the
        CLI can pick the demo clock before a run — the run itself checks the genesis)."""
        return self._clock_file().exists()

    def demo_now(self) -> Optional[int]:
        """The demo clock's time, or None (the real clock) for a real workspace."""
        try:
            return int(json.loads(self._clock_file().read_text())["time"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def set_demo(self, demo: bool, now: int) -> None:
        if demo:
            self.set_clock(now)

    def set_clock(self, t: int) -> None:
        tmp = self._clock_file().with_suffix(".tmp")
        tmp.write_text(json.dumps({"time": t}) + "\n")
        os.replace(tmp, self._clock_file())

    def config(self) -> dict:
        try:
            return tomllib.loads((self.root / "config.toml").read_text())
        except (OSError, tomllib.TOMLDecodeError):
            return {}

    def identity(self, who: Optional[str]) -> tuple[str, Optional[Identity]]:
        """(caller DID, signing identity or None) for `--as NAME|DID`, or the default identity."""
        if who is None:
            who = self.config().get("identity", {}).get("default")
            if who is None:
                names = self.keys.names()
                if len(names) != 1:
                    return ANONYMOUS, None
                who = names[0]
        ident = self.keys.find(who)
        if ident is None:
            return who, None
        return ident.did, ident


ANONYMOUS = "did:key:anonymous"


def init(folder: Path) -> Workspace:
    root = folder / DIR
    if (root / "state.db").exists():
        raise error("U0700", f"{folder} already has a workspace", Span(str(root)))
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o700)                    # the co-op's records are as private as its keys
    (root / "keys").mkdir(exist_ok=True)
    os.chmod(root / "keys", 0o700)
    _private_file(root / "config.toml").write_text(
        "# ccl workspace settings\n[workspace]\nversion = 1\n\n[identity]\n# default = \"name\"   # who runs commands without --as\n")
    _private_file(root / "state.db")         # SQLite gives its WAL and shared-memory files the db's mode
    ws = Workspace(root)
    ws.store                                 # creates state.db (WAL)
    return ws


def _private_file(path: Path) -> Path:
    """`path` created empty with mode 0600 (whatever the umask), if it is not there yet."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    os.chmod(path, 0o600)
    return path


def find(start: Path, override: Optional[str]) -> Optional[Workspace]:
    if override and override.startswith(("postgresql://", "postgres://")):
        local = find(start, None)
        keys_home = local.root if local else Path.home() / DIR
        return Workspace(keys_home, store_url=override)
    if override:
        p = Path(override)
        if p.name == "state.db":
            p = p.parent
        elif (p / DIR).is_dir():
            p = p / DIR
        if not (p / "state.db").exists():
            raise error("U0701", f"no workspace at {override}", Span(override), "create one with `ccl init`")
        return Workspace(p)
    for folder in [start, *start.parents]:
        if (folder / DIR / "state.db").exists():
            return Workspace(folder / DIR)
    return None


def locate(start: Path, override: Optional[str], *, required: bool = False) -> Optional[Workspace]:
    """`find`; with `required`, no workspace is a usage error that says how to make one."""
    ws = find(start, override)
    if ws is None and required:
        raise error("U0701", "no ccl workspace here or in any parent folder", Span(),
                    "create one with `ccl init`, or name one with --state PATH")
    return ws
