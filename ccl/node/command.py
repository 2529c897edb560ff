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


def _loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False                    # a name other than localhost may resolve to anything


def _limits(args, usage):
    import attrs

    from ccl.node.limits import Limits

    names = [f.name for f in attrs.fields(Limits)]
    changed = {}
    for arg in args:
        name, _, value = arg.partition("=")
        if name not in names:
            raise usage(f"--limit {arg}: there is no limit `{name}`", "the limits: " + ", ".join(names))
        if not (value.isascii() and value.isdigit()):
            raise usage(f"--limit {arg}: a limit is a whole number", f"for example: --limit {name}=100")
        changed[name] = int(value)
    return Limits(**changed)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="The address to listen on: loopback, else with TLS or --behind-proxy.")
@click.option("--port", type=int, default=8080, show_default=True, help="The port to listen on.")
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Serve HTTPS with this certificate (PEM; with --tls-key).")
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False), default=None,
              help="The certificate's private key (PEM).")
@click.option("--behind-proxy", is_flag=True,
              help="Serve plain HTTP on a non-loopback address: a reverse proxy in front does TLS.")
@click.option("--limit", "limit_args", multiple=True, metavar="NAME=N",
              help="Change one of the node's limits (repeatable): body_bytes, upload_body_bytes, member_burst, "
                   "member_per_minute, ip_burst, ip_per_minute, uploads_per_day, history_bytes_per_day.")
def serve(host, port, tls_cert, tls_key, behind_proxy, limit_args):
    """Run a co-op node: the HTTP API over this workspace (or --state postgresql://…); beyond loopback, over HTTPS (--tls-cert, --tls-key) or behind a TLS proxy (--behind-proxy)."""
    from ccl.diag import CclError, Diagnostic, Span

    def usage(message: str, hint: str):
        return CclError(Diagnostic("usage", "U0700", message, Span("ccl serve"), (hint,)))

    if (tls_cert is None) != (tls_key is None):
        raise usage("--tls-cert and --tls-key go together", "give both files, or neither")
    if tls_cert is None and not behind_proxy and not _loopback(host):
        raise usage(f"--host {host} would serve signed requests and members' data in plain HTTP beyond this "
                    "machine", "serve HTTPS with --tls-cert FILE --tls-key FILE, or give --behind-proxy when a "
                    "reverse proxy in front of the node does TLS")
    limits = _limits(limit_args, usage)
    import uvicorn

    from ccl import governance as G
    from ccl.api.workspace import locate
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
    app = create_app(ws, node_key, limits=limits)
    scheme = "https" if tls_cert else "http"
    click.echo(f"ccl node {node_key.did} on {scheme}://{host}:{port}/api/v1 (OpenAPI at /api/v1/openapi.json)",
               err=True)
    tls = {"ssl_certfile": tls_cert, "ssl_keyfile": tls_key} if tls_cert else {}
    # the client's address (what the per-address limits count) comes from a proxy's
    # X-Forwarded-For only behind a proxy: otherwise any client could name itself another address
    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=behind_proxy, **tls)
