"""Helpers of the generated engine commands (ccl.cli.ops): the workspace, members by name,
read-only queries.

`main` is imported lazily: ccl.cli.main imports the command groups at its end.
"""

from __future__ import annotations

import time

import click

from ccl.ledger import EngineState, Ledger, Refused


def main():
    from ccl.cli import main as m

    return m


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
