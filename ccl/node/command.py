"""`ccl serve`: the node's command, contributed to the CLI through the entry-point group
`ccl.commands` (pyproject), so that the CLI never imports the node and the node never imports
the CLI.

A plain click command. Failures are raised as CclError diagnostics: the CLI wraps every command
it is given in its guard, which renders the diagnostic and exits with the code of its kind. The
global `--state` is read from the root context's parameters. Imports ccl.api, ccl.governance,
ccl.runtime and ccl.node.app.
"""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8080, show_default=True)
def serve(host, port):
    """Run a co-op node: the HTTP API over this workspace (or --state postgresql://…)."""
    import uvicorn

    from ccl import governance as G
    from ccl.api.workspace import locate
    from ccl.diag import CclError, Diagnostic, Span
    from ccl.ledger import EngineState, Ledger
    from ccl.node.app import create_app
    from ccl.runtime.session import unfounded

    ws = locate(Path.cwd(), click.get_current_context().find_root().params.get("state"), required=True)
    with ws.store.reader() as tx:
        problem = None if G.coop(Ledger(EngineState(tx), 0)) else unfounded(tx)
    if problem is not None:
        raise CclError(Diagnostic(problem.kind, problem.code, "a node serves only a founded co-op: " + problem.message,
                                  Span(), problem.hints))
    node_key = ws.keys.find("node") if "node" in ws.keys.names() else ws.keys.create("node")
    app = create_app(ws, node_key)
    click.echo(f"ccl node {node_key.did} on http://{host}:{port}/api/v1 (OpenAPI at /api/v1/openapi.json)",
               err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
