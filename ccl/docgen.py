"""Reference pages generated from the tables they describe, so the docs cannot drift.

`python -m ccl.docgen` rewrites them; a test fails when they are out of date.
Pages: docs/reference/host.md (host table), docs/reference/opcodes.md (opcode table),
docs/errors.md (diagnostic codes).
"""

from __future__ import annotations

from pathlib import Path

from ccl.compile import opcodes as O
from ccl.diag import CODES
from ccl.hosttable import HOST_TABLE


def host_page() -> str:
    out = ["# Host and built-in functions", "",
           "Generated from `ccl/hosttable.py` by `python -m ccl.docgen` — do not edit.", "",
           "Every function a contract can call without defining it. Gas is the base cost plus, for",
           "some, a part per item (per 16 code points for text).", "",
           "| # | function | path | gas | effect | what it does |", "| --- | --- | --- | --- | --- | --- |"]
    for i, row in enumerate(HOST_TABLE):
        params = ", ".join(f"{n}: {t}" for n, t in row.params)
        gas = f"{row.gas_base}" + (f" + {row.gas_per_item}/{row.per_item}" if row.gas_per_item else "")
        out.append(f"| {i} | `{row.name}({params}) -> {row.ret}` | `{row.path}` | {gas} | {row.effect} | {row.doc} |")
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


PAGES = {"reference/host.md": host_page, "reference/opcodes.md": opcodes_page, "errors.md": errors_page}


def main() -> None:
    docs = Path(__file__).resolve().parent.parent / "docs"
    for name, make in PAGES.items():
        path = docs / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(make())
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
