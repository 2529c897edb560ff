"""A node compiles a member's contract upload in a child process, with a deadline and a memory
limit, so that no upload can hold the node (its event loop, its threads, its memory) however
it was written.

`compile_contract(source, name)` parses, checks, compiles and verifies the source in a child
(multiprocessing: `forkserver` where the platform has it — a clean, single-threaded process,
started once with the compiler imported, that forks one child per upload — else `spawn`). The
child first limits its own address space (RLIMIT_AS) to what it started with plus
`memory_bytes`; a compile that needs more fails in the child (L0521), one still running at the
deadline is killed (L0520). Either way the node answers with one problem and nothing else
changes. The caller (ccl.node.app) waits for it on a worker thread. Imports leaves and
ccl.pipeline.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from typing import Any, Optional

from ccl.diag import CclError, Span, error

DEADLINE_S = 10.0                 # a compile of the largest source the limits allow takes ~1 s here
MEMORY_BYTES = 512 << 20          # address space a compile may add to what the child starts with
CODES = ("L0520", "L0521")        # past the deadline, past the memory limit
# compiles at once, each a child of up to MEMORY_BYTES: as many as the machine has cores; an upload
# waiting for a slot waits within its own deadline
_slots = threading.BoundedSemaphore(max(1, os.cpu_count() or 1))

_context: Optional[Any] = None


def _ctx():
    global _context
    if _context is None:
        if "forkserver" in multiprocessing.get_all_start_methods():
            _context = multiprocessing.get_context("forkserver")
            _context.set_forkserver_preload(["ccl.node.compiler", "ccl.node._compile_server"])
        else:
            _context = multiprocessing.get_context("spawn")
    return _context


def _address_space() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _child(conn, source: str, name: str, memory_bytes: int) -> None:
    try:
        import resource

        limit = _address_space() + memory_bytes
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):
        pass                              # no such limit here: the deadline still holds
    try:
        from ccl.pipeline import build

        answer: tuple = ("ok", build(source, name))
    except CclError as e:
        answer = ("error", e.diagnostic)
    except MemoryError:
        answer = ("memory", None)
    try:
        conn.send(answer)
    except MemoryError:
        conn.send(("memory", None))
    conn.close()


def _too_long(name: str, deadline_s: float) -> CclError:
    return error("L0520", f"compiling this contract took longer than {deadline_s:g} s, so the node stopped it",
                 Span(name), "make the contract smaller or simpler; a node compiles each upload with a deadline")


def _too_big(name: str, memory_bytes: int) -> CclError:
    return error("L0521", f"compiling this contract needed more than {memory_bytes >> 20} MiB, so the node "
                 "stopped it", Span(name), "make the contract smaller or simpler; a node compiles each upload "
                 "with a memory limit")


def compile_contract(source: str, name: str, deadline_s: Optional[float] = None,
                     memory_bytes: Optional[int] = None):
    """The Verified module of `source`, compiled in a child process; CclError with the
    compiler's own diagnostic, or L0520 (past the deadline) or L0521 (past the memory limit).
    The limits default to DEADLINE_S and MEMORY_BYTES."""
    deadline_s = DEADLINE_S if deadline_s is None else deadline_s
    memory_bytes = MEMORY_BYTES if memory_bytes is None else memory_bytes
    began = time.monotonic()
    if not _slots.acquire(timeout=deadline_s):
        raise _too_long(name, deadline_s)
    try:
        return _compile(source, name, deadline_s, memory_bytes, began)
    finally:
        _slots.release()


def _compile(source: str, name: str, deadline_s: float, memory_bytes: int, began: float):
    ctx = _ctx()
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child, args=(send, source, name, memory_bytes), daemon=True)
    try:
        child.start()
        send.close()
        if not receive.poll(max(0.0, deadline_s - (time.monotonic() - began))):
            raise _too_long(name, deadline_s)
        try:
            kind, value = receive.recv()
        except (EOFError, OSError):      # the child died without an answer (killed for its memory)
            raise _too_big(name, memory_bytes) from None
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        receive.close()
    if kind == "memory":
        raise _too_big(name, memory_bytes)
    if kind == "error":
        raise CclError(value)
    return value
