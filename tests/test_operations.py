"""One declaration per operation: every surface of an engine operation is made from the
operations table (ccl.operations), and nothing is written by hand beside it."""

import ast
from pathlib import Path

import click

from ccl import operations as OPS
from ccl.hosttable import HOST_INDEX, HOST_TABLE

PACKAGE = Path(__file__).parent.parent / "ccl"


def test_each_operation_is_declared_once_and_its_row_comes_from_it():
    names = [op.name for op in OPS.OPS]
    assert len(names) == len(set(names))
    entries = [op.command.entry for op in OPS.COMMANDS]
    assert len(entries) == len(set(entries))
    for op in OPS.OPS:
        assert op.engine in OPS.ENGINES, op.name
        if op.sig is None:
            assert op.command is not None and (op.command.query or op.command.action), op.name
            continue
        row = HOST_TABLE[HOST_INDEX[op.name]]
        assert (row.path, row.gas_base, row.gas_per_item, row.effect, row.who, row.doc) == \
            (op.path, op.gas[0], op.gas[1], op.effect, op.who, op.doc), op.name
        assert op.impl is not None, op.name


def test_every_effectful_engine_row_is_in_the_table():
    language = {"dag_put", "dag_get", "emit_event", "require_permission", "guard", "as_member", "at", "expect_fail",
                "admit"}
    for row in HOST_TABLE:
        if row.effect in ("pure", "context", "debug", "test") or row.name in language:
            continue
        assert row.name in OPS.BY_NAME, f"{row.name} is an engine row declared outside ccl/operations.py"


def test_every_engine_function_exists_with_the_table_calling_convention():
    import importlib
    import inspect

    for op in OPS.OPS:
        for ref in (op.impl, op.command and op.command.query, op.command and op.command.action,
                    op.command and op.command.prepare or None):
            if not ref:
                continue
            module, name = ref.split(":")
            fn = getattr(importlib.import_module(module), name)
            assert callable(fn), ref
        if op.impl and op.sig:
            fn = getattr(importlib.import_module(op.impl.split(":")[0]), op.impl.split(":")[1])
            params = inspect.signature(fn).parameters
            n = len(HOST_TABLE[HOST_INDEX[op.name]].params) + 1 + op.actor
            has_varargs = any(p.kind is p.VAR_POSITIONAL for p in params.values())
            assert has_varargs or len(params) >= n, (op.name, list(params))


def test_every_command_is_the_generated_one():
    from ccl.cli import ops as cli_ops
    from ccl.cli.main import cli

    for op in OPS.COMMANDS:
        command = cli
        for word in op.command.cli.split():
            assert isinstance(command, click.Group), op.command.cli
            command = command.commands[word]
        assert command.callback.__wrapped__.__module__ == cli_ops.__name__, op.command.cli
        wanted = {i.name for i in (op.command.cli_inputs or op.command.inputs)}
        assert wanted <= {p.name for p in command.params}, op.command.cli


def test_no_hand_written_click_command_or_route_for_an_engine_group():
    """Only ccl/cli/ops.py makes the engines' commands; only ccl/node/ops.py their routes."""
    groups = {op.command.cli.split()[0] for op in OPS.COMMANDS}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).as_posix()
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            if node.func.attr in ("command", "group") and node.args and isinstance(node.args[0], ast.Constant):
                assert node.args[0].value not in groups or rel == "cli/ops.py", (rel, node.args[0].value)
            if node.func.attr in ("get", "post", "put", "delete") and node.args and \
                    isinstance(node.args[0], ast.Constant) and str(node.args[0].value).startswith("/api/v1/"):
                first = str(node.args[0].value).split("/")[3]
                routes = {op.command.http.split()[1].split("/")[1] for op in OPS.COMMANDS if op.command.http}
                assert first not in routes, (rel, node.args[0].value)


def test_every_route_of_the_node_is_the_table_or_infrastructure():
    from ccl.identity import Identity
    from ccl.node.app import create_app

    app = create_app(None, Identity.from_seed("t", b"\x00" * 32))
    made = {(m, "/api/v1" + op.command.route[1]) for op in OPS.COMMANDS if op.command.route
            for m in [op.command.route[0]]}
    doc = app.openapi()          # (FastAPI ≥ 0.16x keeps included routers nested in app.routes)
    served = {(m.upper(), path) for path, ops in doc["paths"].items() for m in ops}
    infrastructure = {p for _, p in served - made}
    assert made <= served
    assert all(p.split("/")[3] in ("health", "contracts", "dag") for p in infrastructure), infrastructure
    for op in OPS.COMMANDS:
        if op.command.route:
            method, path = op.command.route
            described = doc["paths"]["/api/v1" + path][method.lower()]
            assert "403" in described["responses"] and op.permission in described["description"]


def test_the_client_has_a_method_per_route():
    from ccl.client import NodeClient

    client = NodeClient("http://127.0.0.1:9")
    for op in OPS.COMMANDS:
        if op.command.route:
            assert callable(getattr(client, op.command.entry))
    client.close()


def test_the_shipped_bylaw_and_the_reference_page_are_current():
    from ccl import docgen

    shipped = Path(__file__).parent.parent / "stdlib" / "operations.ccl"
    assert shipped.read_text() == OPS.operations_source(), "regenerate with: python -m ccl.docgen"
    page = docgen.operations_page()
    for op in OPS.OPS:
        assert page.count(f"| {op.name} |") == 1, op.name
    assert "who may" in page
