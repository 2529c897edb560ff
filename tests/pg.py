"""A real PostgreSQL server for the tests: initdb into a temporary folder, start it on a free
port, stop it at the end. Run as the `postgres` user when the tests run as root (PostgreSQL
refuses root). Without PostgreSQL installed the tests that need it are skipped — except in CI
(CI=true), where .ci/run installs it and a skip would hide a missing install."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time


def binaries() -> str | None:
    found = shutil.which("initdb")
    if found:
        return os.path.dirname(os.path.realpath(found))
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return os.path.dirname(candidates[-1]) if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self):
        bindir = binaries()
        if bindir is None:
            raise RuntimeError("PostgreSQL is not installed (initdb not found)")
        self.bindir = bindir
        self.root = tempfile.mkdtemp(prefix="ccl-pg-")
        self.data = os.path.join(self.root, "data")
        self.port = _free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", self.data, "--auth=trust", "-U", "ccl", "-E", "UTF8", "--no-sync")
        self._run("pg_ctl", "-D", self.data, "-l", os.path.join(self.root, "log"), "-w", "-o",
                  f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=on", "start")
        self.url_base = f"postgresql://ccl@127.0.0.1:{self.port}"
        self.databases = 0

    def _run(self, tool, *args):
        cmd = [os.path.join(self.bindir, tool), *args]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, cwd=self.root)

    def new_database(self) -> str:
        import psycopg

        self.databases += 1
        name = f"t{self.databases}_{int(time.time() * 1000) % 100000}"
        with psycopg.connect(f"{self.url_base}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"{self.url_base}/{name}"

    def stop(self):
        try:
            self._run("pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
