"""The one-pass bytecode verifier.

Nothing runs until this has accepted a module: opcodes and operands in range, constants of
allowed types, structured control flow properly nested, stack heights consistent at every join,
no unreachable instruction, every function ending in a terminator, short-circuit regions that
hold only expression instructions, host rows that exist with the name the module expects. It
also computes the gas of every basic block, which both VM paths charge. Imports leaves,
ccl.compile.opcodes/module and ccl.hosttable.
"""

from __future__ import annotations

import attrs

from ccl import canon, limits, types as ty
from ccl.compile import opcodes as O
from ccl.compile.module import Function, Module
from ccl.diag import Span, error
from ccl.hosttable import HOST_TABLE

EXPR_OPS = frozenset(O.BY_NAME[n].code for n in (
    "CONST", "LOAD", "GLOAD", "DUP", "DUP2", "ADD", "SUB", "MUL", "DIV", "MOD", "NEG", "NOT", "EQ", "NE",
    "LT", "LE", "GT", "GE", "CONCAT", "SC_AND", "SC_OR", "SC_END", "MKARRAY", "MKSTRUCT", "MKVARIANT",
    "TAG", "PAYLOAD", "GETFIELD", "AGET", "MGET", "ALEN", "CALL", "CALL_HOST"))


@attrs.frozen
class Verified:
    module: Module
    block_gas: tuple[dict, ...]      # per function: leader pc → gas charged on entry
    matches: tuple[dict, ...]        # per function: pc of IF/ELSE/LOOP/SC_* → pc of its partner
    encoded: bytes = b""             # the module's canonical bytes and their CID, computed once:
    cid: str = ""                    # every run names its module, so this must not be redone per run


class Bad(Exception):
    pass


def verify(module: Module, path: str = "<module>") -> Verified:
    try:
        return _verify(module)
    except Bad as e:
        raise error("I0800", f"{path}: bytecode rejected by the verifier: {e}", Span(path),
                    "recompile it from source with `ccl compile`") from None


def _verify(m: Module) -> Verified:
    if len(m.functions) > limits.function_count_max or len(m.consts) > limits.constant_count_max:
        raise Bad("too many functions or constants")
    for c in m.consts:
        _check_const(c)
    for index, name in m.host:
        if not 0 <= index < len(HOST_TABLE) or HOST_TABLE[index].name != name:
            raise Bad(f"host function #{index} `{name}` is not in this ccl's host table")
    for f in m.functions:
        try:
            [ty.from_descriptor(d) for d in f.params]
            ty.from_descriptor(f.ret)
        except (ValueError, TypeError):
            raise Bad(f"function `{f.name}` has a malformed signature") from None
        if len(f.param_names) != len(f.params):
            raise Bad(f"function `{f.name}` names {len(f.param_names)} of {len(f.params)} parameters")
    for contract, index in m.initializers:
        if not 0 <= index < len(m.functions) or m.functions[index].params:
            raise Bad(f"initializer of `{contract}` is not a function without parameters")
    hosts = {i for i, _ in m.host}
    gas, matches = [], []
    for i, f in enumerate(m.functions):
        g, mt = _verify_function(m, f, hosts)
        gas.append(g)
        matches.append(mt)
    encoded = m.encode()
    return Verified(m, tuple(gas), tuple(matches), encoded, canon.cid_text(encoded))


def _check_const(c) -> None:
    if c is None or isinstance(c, (bool, str)):
        return
    if isinstance(c, int):
        if not limits.int_min <= c <= limits.int_max:
            raise Bad("integer constant out of 64-bit range")
        return
    if (isinstance(c, list) and len(c) == 2 and isinstance(c[0], str) and isinstance(c[1], list)
            and all(isinstance(x, str) for x in c[1])):
        return                      # an event descriptor
    raise Bad(f"constant of unsupported type {type(c).__name__}")


def _verify_function(m: Module, f: Function, hosts: set) -> tuple[dict, dict]:
    code = f.code
    n = len(code) // 2
    if len(code) % 2 or n == 0 or n > limits.code_length_max:
        raise Bad(f"function `{f.name}` has a malformed code array")
    if sum(f.lines[2::3]) != n or len(f.lines) % 3:
        raise Bad(f"function `{f.name}` has a line table that does not match its code")
    if not len(f.params) <= f.nlocals <= limits.locals_per_function_max:
        raise Bad(f"function `{f.name}` has a bad local count")
    height = 0
    control: list[list] = []           # [kind, height, pc]
    reachable = True
    matches: dict[int, int] = {}
    leaders = {0: 0}
    leader = 0
    for pc in range(n):
        op_code, arg = code[2 * pc], code[2 * pc + 1]
        if not 0 <= op_code < len(O.OPS):
            raise Bad(f"`{f.name}` pc {pc}: unknown opcode {op_code}")
        op = O.OPS[op_code]
        where = f"`{f.name}` pc {pc} ({op.name})"
        if not reachable and op_code not in (O.ELSE, O.END):
            raise Bad(f"{where}: unreachable instruction")
        in_sc = any(c[0] == "SC" for c in control)
        if in_sc and op_code not in EXPR_OPS:
            raise Bad(f"{where}: not allowed inside a short-circuit operand")
        pops, pushes = _effect(m, op, arg, where, f, hosts)
        leaders[leader] += instruction_gas(m, op, arg)
        if op_code in (O.IF, O.SC_AND, O.SC_OR):
            if height < 1:
                raise Bad(f"{where}: stack underflow")
            height -= 1
            control.append(["IF" if op_code == O.IF else "SC", height, pc])
        elif op_code == O.LOOP:
            control.append(["LOOP", height, pc])
        elif op_code == O.ELSE:
            if not control or control[-1][0] != "IF":
                raise Bad(f"{where}: ELSE without IF")
            if reachable and height != control[-1][1]:
                raise Bad(f"{where}: stack height {height} differs from {control[-1][1]} at IF")
            matches[control[-1][2]] = pc
            control[-1][0] = "ELSE"
            control[-1][2] = pc
            height = control[-1][1]
            reachable = True
        elif op_code == O.END:
            if not control or control[-1][0] == "SC":
                raise Bad(f"{where}: END without IF or LOOP")
            kind, h, start = control.pop()
            if reachable and height != h:
                raise Bad(f"{where}: stack height {height} differs from {h} at block start")
            matches[start] = pc
            matches[pc] = start
            height = h
            reachable = True
        elif op_code == O.SC_END:
            if not control or control[-1][0] != "SC":
                raise Bad(f"{where}: SC_END without SC_AND/SC_OR")
            _, h, start = control.pop()
            if height != h + 1:
                raise Bad(f"{where}: a short-circuit operand must leave exactly one value")
            matches[start] = pc
        else:
            if height < pops:
                raise Bad(f"{where}: stack underflow")
            height += pushes - pops
            if op_code in (O.BREAK, O.CONTINUE, O.BREAK_IFNOT):
                loop = next((c for c in reversed(control) if c[0] == "LOOP"), None)
                if loop is None:
                    raise Bad(f"{where}: outside a loop")
                if height < loop[1]:
                    raise Bad(f"{where}: stack below the loop's height")
        if op.terminator:
            reachable = False
        if op_code in O.BLOCK_STARTERS:
            leader = pc + 1
            leaders.setdefault(leader, 0)
    if control:
        raise Bad(f"`{f.name}`: {control[-1][0]} at pc {control[-1][2]} is never closed")
    if reachable:
        raise Bad(f"`{f.name}`: the code can run off its end")
    return {pc: g for pc, g in leaders.items() if pc < n}, matches


def _effect(m: Module, op: O.Op, arg: int, where: str, f: Function, hosts: set) -> tuple[int, int]:
    kind = op.operand
    if kind == "none" and arg != 0:
        raise Bad(f"{where}: takes no operand")
    if kind == "const" and not 0 <= arg < len(m.consts):
        raise Bad(f"{where}: constant #{arg} does not exist")
    if kind == "const" and isinstance(m.consts[arg], list):
        raise Bad(f"{where}: constant #{arg} is not a value")
    if kind == "local" and not 0 <= arg < f.nlocals:
        raise Bad(f"{where}: local #{arg} does not exist")
    if kind == "state" and not 0 <= arg < len(m.states):
        raise Bad(f"{where}: state #{arg} does not exist")
    if kind == "trap" and not 0 <= arg < len(O.TRAPS):
        raise Bad(f"{where}: trap #{arg} does not exist")
    if kind in ("field", "count") and not 0 <= arg <= limits.array_length_max:
        raise Bad(f"{where}: operand out of range")
    if kind == "variant" and not 0 <= arg < 65536 * 256:
        raise Bad(f"{where}: operand out of range")
    if kind == "fn":
        if not 0 <= arg < len(m.functions):
            raise Bad(f"{where}: function #{arg} does not exist")
        return len(m.functions[arg].params), 1
    if kind == "host":
        if arg not in hosts:
            raise Bad(f"{where}: host function #{arg} is not declared by the module")
        return len(HOST_TABLE[arg].params), 1
    if kind == "event":
        if not 0 <= arg < len(m.consts) or not isinstance(m.consts[arg], list):
            raise Bad(f"{where}: constant #{arg} is not an event descriptor")
        return len(m.consts[arg][1]), 0
    if kind == "count":
        return arg, 1
    if kind == "variant":
        return arg & 255, 1
    return op.pops, op.pushes


def instruction_gas(m: Module, op: O.Op, arg: int) -> int:
    """The static gas of one instruction; a basic block's charge is the sum over its rows."""
    if op.operand == "host":
        return HOST_TABLE[arg].gas_base
    if op.operand == "event":
        return op.gas + op.gas_per_operand * len(m.consts[arg][1])
    return O.static_gas(op, arg)
