"""ccl — the Cooperative Contract Language toolkit.

Pipeline: syntax (Lark LALR → AST) → check → compile (bytecode module, CID) → verify → vm.

The Python API (docs/python.md), loaded on first use so that `import ccl` stays cheap:

    ccl.found(path, founder=NAME, bylaws=[FILE], demo=False) -> Coop   a new co-op
    ccl.open(path) -> Coop                                              an existing one
    ccl.build(source, name) -> Verified        parse, check, compile and verify (raises CclError)
    ccl.problems(source, name) -> [Diagnostic] what `ccl check` would say (empty: it checks)
    ccl.run(source, entry="run", args=[]) -> RunResult     run in memory (nothing is kept)
    Coop.member(NAME) -> Member; Member.credit_issue(to=…, amount=…) and every other operation
    Coop.read(OPERATION, **inputs), Coop.run(...), Coop.verify(), Coop.replay(), Coop.history()
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_API = {"found": "ccl.api.coop", "open": "ccl.api.coop", "Coop": "ccl.api.coop", "Member": "ccl.api.coop",
        "Done": "ccl.api.coop", "CclError": "ccl.diag", "Diagnostic": "ccl.diag"}
__all__ = ["__version__", "build", "problems", "run", *_API]
# (`ccl.check` and `ccl.compile` are the packages of those stages, so the API says `build`.)


def __getattr__(name: str) -> Any:
    if name in _API:
        import importlib

        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'ccl' has no attribute {name!r}")


def build(source: str, name: str = "contract.ccl"):
    """Parse, check, compile and verify CCL source text; the verified module (`.cid`), or
    CclError with the diagnostic. A path ending in `.ccl` is read (with its imports)."""
    if source.endswith(".ccl") and "\n" not in source:
        from ccl.api.files import build_file

        return build_file(source)
    from ccl.pipeline import build

    return build(source, name)


def run(source: str, entry: str = "run", args: list | None = None, *, gas: int | None = None):
    """Run `entry` of CCL source (or a verified module) in memory: a RunResult with `ok`,
    `value`, `gas_used` and, when it failed, `error` (a Diagnostic). Nothing is kept."""
    from ccl import limits
    from ccl.vm.run import execute

    verified = build(source) if isinstance(source, str) else source
    return execute(verified, entry, list(args or []), gas_limit=gas or limits.gas_default)


def problems(source: str, name: str = "contract.ccl") -> list:
    """What checking the source finds: [] when it builds, else its one diagnostic."""
    from ccl.diag import CclError

    try:
        build(source, name)
    except CclError as e:
        return [e.diagnostic]
    return []
