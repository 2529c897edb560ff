"""Helpers the engines' command groups share (ccl.cli.bank, gov, coop): the acting member and
time options, resolving member names, calling a shipped bylaw, read-only queries, tables.

`main` is imported lazily: ccl.cli.main imports the command groups at its end.
"""

from __future__ import annotations

import time

import click

from ccl.ledger import EngineState, Ledger, Refused


def main():
    from ccl.cli import main as m

    return m


def guard(f):
    return main().guarded(f)


def who_option(f):
    """--as (the member acting), --at (the run's time) and --json."""
    f = click.option("--as", "who", default=None, help="The member acting (identity name or DID).")(f)
    f = click.option("--at", "at", type=int, default=None, help="The time of the run (default: the clock).")(f)
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON object as the last line.")(f)


def ws():
    m = main()
    return click.get_current_context().find_object(m.Context).workspace(required=True)


def member(who: str, workspace=None) -> str:
    """A member's DID from an identity name of this workspace or the display name a member
    chose (DIDs and system accounts pass through)."""
    if who.startswith("did:") or who.startswith("sys:"):
        return who
    from ccl.diag import CclError

    workspace = workspace or ws()
    try:
        return workspace.keys.load(who).did
    except CclError as e:
        chosen = _display_lookup(workspace, who)
        if chosen is not None:
            return chosen
        raise main().Failure(e.diagnostic, 2) from None


def _display_lookup(workspace, name: str):
    from ccl.cli.render import Names

    try:
        with workspace.store.reader() as tx:
            return Names.load(workspace, Ledger(EngineState(tx), 0)).lookup(name)
    except Exception:                      # an unfounded or unreadable store names nobody
        return None


def read(fn):
    """Run `fn(ledger, workspace)` against the workspace's store; nothing it does is kept."""
    m = main()
    workspace = ws()
    now = workspace.demo_now()                     # a demo workspace reads at its demo clock
    try:
        with workspace.store.reader() as tx:      # reads may create default currencies: keep none of it
            return fn(Ledger(EngineState(tx), int(time.time()) if now is None else now), workspace)
    except Refused as r:
        from ccl.diag import Diagnostic, Span

        raise m.Failure(Diagnostic("host", "H0600", r.message, Span(), (r.hint,) if r.hint else ()), 1) from None


def table(title: str, columns: list[str], rows: list[list]) -> None:
    """A table through the command's Output (ccl.cli.render): none under --json or --quiet."""
    main().output().table(title, columns, rows)
