"""Moving a workspace's store to PostgreSQL (`ccl store migrate`), below both edges.

Everything is copied through the store interface (ccl.store.copy) inside one reading transaction
of the source and one writing transaction of the target; the copy counts only if both have the
same state root and the target's accumulator matches its rows. Failures are diagnostics
(CclError): U0700 for a target that already holds a workspace, I0803 for roots that differ,
N0900 for a server that cannot be reached. Imports leaves, ccl.store and ccl.runtime.
"""

from __future__ import annotations

import attrs

from ccl import store as S
from ccl.diag import Span, error


@attrs.frozen
class MigrationResult:
    receipts: int                 # how many receipts the target now holds
    state_root: str               # the state root both stores have
    target: str                   # where the state now is (the URL without its password)


def migrate(store, target_url: str) -> MigrationResult:
    """Copy everything in `store` into the empty PostgreSQL database at `target_url`."""
    from ccl.runtime.session import state_root
    from ccl.store.postgres import PostgresStore

    dest = PostgresStore(target_url)
    try:
        with store.reader() as src, dest.transaction() as out:
            if out.receipts() or any(True for _ in out.iter_blocks()):
                raise error("U0700", "the target database already holds a workspace", Span(dest.path),
                            "migrate into an empty database")
            S.copy(src, out)
            before, after = state_root(src), state_root(out)
            if before != after or out.recompute_root_accumulator() != out.root_accumulator():
                raise error("I0803", f"state roots differ after copying ({before} vs {after})", Span(dest.path))
            receipts = len(out.receipts())
    finally:
        dest.close()
    return MigrationResult(receipts, after, dest.path)
