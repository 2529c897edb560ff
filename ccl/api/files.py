"""Files below the edges: reading sources, resolving imports, the compiled-module cache.

Owns every file access of the language commands (the CLI's and the node's). Sources must be UTF-8; `std/NAME` imports
resolve to the standard library shipped inside the package (ccl.stdlib). The cache keeps
compiled modules under the user's cache folder, keyed by the hash of the source and of every
file it imported, so a repeated `ccl run` of an unchanged file skips parse and compile.
Imports leaves, ccl.compile and ccl.pipeline.
"""

from __future__ import annotations

import hashlib
import json
import os
from importlib import resources
from pathlib import Path

from ccl import __version__
from ccl.compile.module import Module, read_file, write_file
from ccl.compile.verify import Verified, verify
from ccl.diag import Span, error


def data_dir(name: str) -> Path:
    """`contracts` or `stdlib`: inside an installed wheel they are the packages ccl.contracts and
    ccl.stdlib; in a source checkout they are the folders beside the package."""
    try:
        return Path(str(resources.files(f"ccl.{name}")))
    except ModuleNotFoundError:
        return Path(__file__).resolve().parent.parent.parent / name


def stdlib_dir() -> Path:
    return data_dir("stdlib")


def read_source(path: str) -> str:
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise error("U0701", f"no such file: {path}", Span(path), "check the path") from None
    except IsADirectoryError:
        raise error("U0701", f"{path} is a folder, not a file", Span(path)) from None
    except OSError as e:
        raise error("N0900", f"cannot read {path}: {e.strerror}", Span(path)) from None
    return decode_source(data, path)


def decode_source(data: bytes, path: str) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise error("E0107", f"byte 0x{data[e.start]:02x} at offset {e.start} is not valid UTF-8",
                    Span(path, line, col), "save the file as UTF-8") from None
    if "\x00" in text:
        i = text.index("\x00")
        line = text.count("\n", 0, i) + 1
        raise error("E0101", "the file contains a NUL character: is it a binary file?",
                    Span(path, line, i - (text.rfind("\n", 0, i) + 1) + 1))
    return text.removeprefix("\ufeff")


class Loader:
    """Resolves imports and remembers every file read (for the cache key)."""

    def __init__(self):
        self.read: dict[str, str] = {}

    def __call__(self, import_path: str, from_file: str) -> tuple[str, str]:
        path = import_path.replace("::", "/")
        if path.startswith("std/"):
            name = path[4:].removesuffix(".ccl")
            resource = stdlib_dir() / f"{name}.ccl"
            if not resource.is_file():
                raise FileNotFoundError(2, f"the standard library has no module `{name}`")
            text = resource.read_text(encoding="utf-8")
            canonical = f"std/{name}.ccl"
        else:
            base = Path(from_file).parent
            target = (base / path)
            if not target.suffix:
                target = target.with_suffix(".ccl")
            canonical = os.path.normpath(str(target))
            text = read_source(canonical)
        self.read[canonical] = hashlib.sha256(text.encode()).hexdigest()
        return text, canonical


def cache_dir() -> Path | None:
    if os.environ.get("CCL_NO_CACHE"):
        return None
    base = os.environ.get("CCL_CACHE_DIR") or os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ccl" / "modules"


def _compiler_stamp() -> str:
    """Size and modification time of every file of the front end and the host table, so that a
    changed compiler (an upgrade, or a developer's edit) never serves a module it did not make."""
    root = Path(__file__).resolve().parent.parent
    parts = []
    for sub in ("syntax", "check", "compile"):
        for f in sorted((root / sub).glob("*.*")):
            st = f.stat()
            parts.append(f"{f.name}:{st.st_size}:{st.st_mtime_ns}")
    for name in ("hosttable.py", "types.py", "pipeline.py"):
        st = (root / name).stat()
        parts.append(f"{name}:{st.st_size}:{st.st_mtime_ns}")
    return ";".join(parts)


def _key(path: str, text: str) -> str:
    h = hashlib.sha256()
    h.update(f"ccl {__version__}\0{_compiler_stamp()}\0{os.path.abspath(path)}\0".encode("utf-8", "surrogateescape"))
    h.update(text.encode())
    return h.hexdigest()


def build_file(path: str, *, use_cache: bool = True) -> Verified:
    """Compile and verify a `.ccl` file (through the cache) or load a `.cclb` file."""
    if path.endswith(".cclb"):
        try:
            data = Path(path).read_bytes()
        except FileNotFoundError:
            raise error("U0701", f"no such file: {path}", Span(path)) from None
        except OSError as e:
            raise error("N0900", f"cannot read {path}: {e.strerror}", Span(path)) from None
        return verify(read_file(data, path), path)
    text = read_source(path)
    folder = cache_dir() if use_cache else None
    key = _key(path, text)
    if folder is not None:
        hit = _cache_get(folder, key, path)
        if hit is not None:
            return hit
    from ccl.pipeline import compile_source     # imported here: a cache hit needs no compiler

    loader = Loader()
    module = compile_source(text, path, loader)
    verified = verify(module, path)
    if folder is not None:
        _cache_put(folder, key, module, loader.read)
    return verified


def _cache_get(folder: Path, key: str, path: str) -> Verified | None:
    try:
        meta = json.loads((folder / f"{key}.json").read_text())
        for dep, digest in meta["imports"].items():
            dep_text = ((stdlib_dir() / dep[4:]).read_text(encoding="utf-8")
                        if dep.startswith("std/") else Path(dep).read_text(encoding="utf-8"))
            if hashlib.sha256(dep_text.encode()).hexdigest() != digest:
                return None
        return verify(read_file((folder / f"{key}.cclb").read_bytes(), path), path)
    except Exception:       # any damage to the cache is a miss, never an error
        return None


def _cache_put(folder: Path, key: str, module: Module, imports: dict) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f"{key}.{os.getpid()}.tmp"
        tmp.write_bytes(write_file(module))
        os.replace(tmp, folder / f"{key}.cclb")
        tmp.write_text(json.dumps({"imports": imports}))
        os.replace(tmp, folder / f"{key}.json")
    except OSError:
        pass                 # a read-only home must not stop a run
