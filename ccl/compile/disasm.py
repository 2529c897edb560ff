"""Human-readable bytecode: one line per instruction with its source position and gas.

Imports ccl.compile and ccl.hosttable. Output is stable (golden-tested): functions in module
order, one row per instruction — pc, source line:col, the instruction's own gas, the `block`
charge on the first instruction of each basic block (as both VM paths charge it), the
instruction and a note naming what its operand refers to.
"""

from __future__ import annotations

from ccl import types as ty
from ccl.compile import opcodes as O
from ccl.compile.verify import Verified, instruction_gas
from ccl.hosttable import HOST_TABLE


def disassemble(verified: Verified) -> str:
    m = verified.module
    out = [f"; module {m.cid}", f"; source {m.source}"]
    for contract, name, desc in m.states:
        out.append(f"; state {contract}::{name}: {ty.from_descriptor(desc)}")
    for i, f in enumerate(m.functions):
        params = ", ".join(f"{n}: {ty.from_descriptor(t)}" for n, t in zip(f.param_names, f.params))
        flag = "entry " if f.entry else ""
        out.append("")
        out.append(f"{flag}fn #{i} {f.name}({params}) -> {ty.from_descriptor(f.ret)}  ; {f.nlocals} locals")
        out.append("   pc  line:col   gas  block  instruction")
        positions = f.positions()
        gas = verified.block_gas[i]
        depth = 0
        for pc in range(len(f.code) // 2):
            op = O.OPS[f.code[2 * pc]]
            arg = f.code[2 * pc + 1]
            if op.code in (O.ELSE, O.END, O.SC_END):
                depth = max(depth - 1, 0)
            line, col = positions[pc]
            charge = f"{gas[pc]:>5}" if pc in gas else "     "
            text = "  " * depth + op.name + _operand(m, f, op, arg)
            out.append(f"{pc:>5}  {f'{line}:{col}':<9}{instruction_gas(m, op, arg):>4}  {charge}  {text}")
            if op.code in (O.IF, O.ELSE, O.LOOP, O.SC_AND, O.SC_OR):
                depth += 1
    return "\n".join(out) + "\n"


def _operand(m, f, op, arg) -> str:
    kind = op.operand
    if kind == "none":
        return ""
    if kind == "const":
        return f" {arg}  ; {m.consts[arg]!r}"
    if kind == "local":
        name = f.local_names[arg] if arg < len(f.local_names) else "?"
        return f" {arg}  ; {name}"
    if kind == "state":
        contract, name, _ = m.states[arg]
        return f" {arg}  ; {contract}::{name}"
    if kind == "fn":
        return f" {arg}  ; {m.functions[arg].name}"
    if kind == "host":
        row = HOST_TABLE[arg]
        return f" {arg}  ; {row.name}"
    if kind == "variant":
        t, tag, n = O.split_variant(arg)
        names = ["Option", "Result", *(e for e, _ in m.enums)]
        name = names[t] if t < len(names) else "?"
        return f" {arg}  ; {name} tag {tag}, {n} value(s)"
    if kind == "struct":
        s, n = O.split_struct(arg)
        name = m.structs[s][0] if s < len(m.structs) else "?"
        return f" {arg}  ; {name}, {n} field(s)"
    if kind == "trap":
        return f" {arg}  ; {O.TRAPS[arg][0]} {O.TRAPS[arg][1]}"
    if kind == "event":
        name, fields = m.consts[arg]
        return f" {arg}  ; {name} {{{', '.join(fields)}}}"
    return f" {arg}"
