"""Reference pages generated from the tables they describe, so the docs cannot drift.

`python -m ccl.docgen` rewrites them; a test fails when they are out of date.
Pages: docs/reference/host.md (host table), docs/reference/opcodes.md (opcode table),
docs/errors.md (diagnostic codes).
"""

from __future__ import annotations

import re

from pathlib import Path

from ccl.compile import opcodes as O
from ccl.diag import CODES
from ccl.hosttable import HOST_TABLE


def host_page() -> str:
    out = ["# Host and built-in functions", "",
           "Generated from `ccl/hosttable.py` by `python -m ccl.docgen` — do not edit.", "",
           "Every function a contract can call without defining it. Gas is the base cost plus, for",
           "some, a part per item, charged before the work is done (`3 + 1/code points produced`: 3 plus",
           "1 for each code point the call produces).", "",
           "**Who may** call a function that changes anything is checked in one place before it runs:",
           "the caller must be a member (unless the bylaws' `open_operations` open it), and then one of",
           "the alternatives listed must hold — `anyone` (any member), `caller is P` (the caller is the",
           "argument P), `holds PERM` (through a role of the adopted bylaws), or the caller is the member",
           "a record names. In a proposal's execution the co-op acts: `holds PERM` needs PERM in the",
           "kind's `can:`, and the other alternatives need `treasury` there and hold for the co-op",
           "itself only.", "",
           "| # | function | path | gas | effect | who may | what it does |",
           "| --- | --- | --- | --- | --- | --- | --- |"]
    for i, row in enumerate(HOST_TABLE):
        params = ", ".join(f"{n}: {t}" for n, t in row.params)
        gas = f"{row.gas_base}" + (f" + {row.gas_per_item}/{row.per_item}" if row.gas_per_item else "")
        who = row.who.replace("{", "`{").replace("}", "}`") if row.who else "—"
        out.append(f"| {i} | `{row.name}({params}) -> {row.ret}` | `{row.path}` | {gas} | {row.effect} | {who} "
                   f"| {row.doc} |")
    return "\n".join(out) + "\n"


def opcodes_page() -> str:
    out = ["# Bytecode instructions", "",
           "Generated from `ccl/compile/opcodes.py` by `python -m ccl.docgen` — do not edit.", "",
           "Gas is charged per basic block, when the block is entered: a block starts at a function's",
           "entry and after every LOOP, IF, ELSE and END, and ends with the next of them.", "",
           "| code | name | operand | pops | pushes | gas | meaning |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for op in O.OPS:
        pops = "n" if op.pops < 0 else op.pops
        gas = f"{op.gas}" + (" + n" if op.gas_per_operand else "")
        if op.operand == "host":
            gas = "from the host table"
        out.append(f"| {op.code} | {op.name} | {op.operand} | {pops} | {op.pushes} | {gas} | {op.doc} |")
    return "\n".join(out) + "\n"


def errors_page() -> str:
    out = ["# Diagnostics", "",
           "Generated from `ccl/diag.py` by `python -m ccl.docgen` — do not edit.", "",
           "Every failure is reported as one diagnostic with a kind, a code, a message and a place.",
           "The kind decides the exit code of the command line (see [cli.md](cli.md)).", "",
           "| code | kind | meaning |", "| --- | --- | --- |"]
    for code, (kind, title) in CODES.items():
        out.append(f"| {code} | {kind} | {title} |")
    return "\n".join(out) + "\n"


def cli_page() -> str:
    """Every command, its options and help, from the click command tree."""
    import click

    from ccl.cli.main import cli

    out = ["# Command-line reference", "",
           "Generated from the `ccl` command by `python -m ccl.docgen` — do not edit. See",
           "[cli.md](../cli.md) for output, JSON and exit codes.", ""]

    def walk(command, path):
        ctx = click.Context(command, info_name=path[-1])
        if isinstance(command, click.Group):
            for name in sorted(command.commands):
                walk(command.commands[name], [*path, name])
            return
        usage = " ".join(command.collect_usage_pieces(ctx))
        out.append(f"## `{' '.join(path)}`")
        out.append("")
        out.append((command.help or "").strip().replace("\n\n", "\n\n"))
        out.append("")
        out.append(f"    {' '.join(path)} {usage}")
        out.append("")
        options = [p for p in command.params if isinstance(p, click.Option)]
        if options:
            out.append("| option | meaning |")
            out.append("| --- | --- |")
            for p in options:
                names = ", ".join(f"`{o}`" for o in p.opts)
                text = (p.help or "").replace("|", "\\|")
                out.append(f"| {names} | {text} |")
            out.append("")

    walk(cli, ["ccl"])
    return "\n".join(out).rstrip() + "\n"


def _template_parts(path):
    lines = path.read_text().splitlines()
    intro = []
    for line in lines:
        if not line.startswith("//"):
            break
        intro.append(line[2:].strip())
    return " ".join(intro), path.read_text()


def _start(name: str, source: str) -> str:
    """How to found a co-op from a template and act in it (from its `contract` and `founder:`)."""
    contract = re.search(r"^contract (\w+)", source, re.M)
    founder = re.search(r"^\s*founder: (\w+);", source, re.M)
    start = f"Start a co-op from it with `ccl new {name} FOLDER --founder NAME`"
    if contract is None:
        return start + f"; run it with `ccl run {name}.ccl --as NAME`."
    role = f"the role `{founder.group(1)}`" if founder else "the built-in role `founder`"
    return (f"{start}: NAME founds it holding {role}, admits members (`ccl member add MEMBER`) and grants "
            f"roles (`ccl role grant MEMBER ROLE`). Members act with `ccl call {contract.group(1)} FUNCTION "
            "--args JSON --as NAME`; a function marked `needs` is for those who hold that role or permission, "
            "an `open fn` for anyone.")


def template_pages() -> dict:
    from ccl.api.files import data_dir

    folder = data_dir("contracts")
    pages = {}
    rows = []
    for path in sorted(folder.glob("*.ccl")):
        name = path.stem
        intro, source = _template_parts(path)
        title = intro.split(" — ")[0] if " — " in intro else name.replace("_", " ")
        rows.append(f"| [{title}]({name}.md) | `ccl new {name}` |")
        test = folder / "tests" / f"{name}_test.ccl"
        tests = (f"\n## Its tests\n\n`ccl test` runs these (`tests/{name}_test.ccl`):\n\n```ccl\n"
                 f"{test.read_text()}```\n") if test.exists() else ""
        pages[f"gallery/{name}.md"] = (
            f"# {title}\n\nGenerated from `contracts/{name}.ccl` by `python -m ccl.docgen` — do not edit.\n\n"
            f"{intro}\n\n{_start(name, source)}\n\n```ccl\n{source}```\n{tests}")
    pages["gallery/index.md"] = (
        "# Bylaw templates\n\nGenerated from `contracts/` by `python -m ccl.docgen` — do not edit.\n\n"
        "Each template is a working set of bylaws with its tests. `ccl new NAME FOLDER --founder YOU` founds a\n"
        "new co-op with one adopted, YOU holding its founder role.\n\n| template | start with |\n| --- | --- |\n" + "\n".join(rows) + "\n")
    return pages


def api_page() -> str:
    """The node's endpoints, from the OpenAPI document FastAPI generates from the routes."""
    from ccl.identity import Identity
    from ccl.node.app import create_app

    doc = create_app(None, Identity.from_seed("doc", b"\x00" * 32)).openapi()
    out = ["# HTTP API reference", "",
           "Generated from the node's OpenAPI document (`/api/v1/openapi.json`) by `python -m ccl.docgen` —",
           "do not edit. How to sign requests and read errors: [the node guide](../node.md).", "",
           "| method | path | body | what it does |", "| --- | --- | --- | --- |"]
    for path in sorted(doc["paths"]):
        for method, op in sorted(doc["paths"][path].items()):
            ref = (op.get("requestBody", {}).get("content", {}).get("application/json", {})
                   .get("schema", {}).get("$ref", ""))
            body = ref.rsplit("/", 1)[-1] if ref else ""
            fields = ", ".join(doc["components"]["schemas"][body]["properties"]) if body else ""
            summary = (op.get("description") or op.get("summary") or "").splitlines()[0].replace("|", "\\|")
            out.append(f"| {method.upper()} | `{path}` | {fields} | {summary} |")
    return "\n".join(out) + "\n"


def operations_page() -> str:
    """Every co-op operation once: its command, route, host function and who may do it."""
    from ccl.operations import OPS

    out = ["# Co-op operations", "",
           "Generated from `ccl/operations.py` by `python -m ccl.docgen` — do not edit.", "",
           "Every operation of the engines, declared once: the command members type, the node's route",
           "(under `/api/v1`), the host function a contract calls, and who may do it (checked in one place,",
           "before anything runs: see [host functions](host.md) for the grammar). Commands that change",
           "state run the shipped bylaw `std/operations.ccl` and are kept as signed receipts.", ""]
    for engine in ("ledger", "governance", "coop", "aid"):
        out += [f"## {engine}", "", "| operation | command | route | host function | who may | what it does |",
                "| --- | --- | --- | --- | --- | --- |"]
        for op in OPS:
            if op.engine != engine:
                continue
            c = op.command
            command = f"`ccl {c.cli}`" if c else "—"
            route = f"`{c.http}`" if c and c.http else "—"
            host = f"`{op.sig}`" if op.sig else "—"
            who = op.permission.replace("{", "`{").replace("}", "}`")
            doc = (c.doc if c and c.doc else op.doc).replace("|", "\\|")
            out.append(f"| {op.name} | {command} | {route} | {host} | {who} | {doc} |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


PAGES = {"reference/operations.md": operations_page, "reference/host.md": host_page, "reference/opcodes.md": opcodes_page, "errors.md": errors_page,
         "reference/cli.md": cli_page, "reference/api.md": api_page}


def all_pages() -> dict:
    out = {name: make() for name, make in PAGES.items()}
    out.update(template_pages())
    return out


def main() -> None:
    from ccl.operations import operations_source

    stdlib = Path(__file__).resolve().parent.parent / "stdlib" / "operations.ccl"
    stdlib.write_text(operations_source())
    print(f"wrote {stdlib}")
    docs = Path(__file__).resolve().parent.parent / "docs"
    for name, text in all_pages().items():
        path = docs / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
