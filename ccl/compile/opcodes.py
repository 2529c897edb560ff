"""The opcode table: name, operand kind, stack effect and gas — one row per instruction.

Data only (imports attrs). The verifier, both VM paths, the disassembler and the docs read this
table; nothing else knows an opcode's number. Numbers are part of the bytecode format: append
only, and bump `FORMAT_VERSION` in module.py when the meaning of a row changes.

Control flow is structured (after WebAssembly): IF/ELSE/END, LOOP/END, BREAK and CONTINUE leave
or restart the innermost LOOP, SC_AND/SC_OR … SC_END short-circuit inside one expression.
Gas is charged per basic block on entry: a block starts at function entry and after each
LOOP, IF, ELSE and END, and ends with the next of those (included). Its cost is the sum of its
instructions' `gas` plus `gas_per_operand × operand` for the rows that have it.
"""

from __future__ import annotations

from typing import Union

import attrs


@attrs.frozen
class Op:
    code: int
    name: str
    operand: str          # none | const | local | state | fn | host | count | struct | field | variant | trap | event
    pops: int             # -1: depends on the operand (see stack_effect)
    pushes: int
    gas: int
    gas_per_operand: int = 0
    doc: str = ""
    terminator: bool = False


# name, operand, pops, pushes, gas, gas_per_operand, doc[, terminator]
_Row = Union[tuple[str, str, int, int, int, int, str], tuple[str, str, int, int, int, int, str, bool]]
_ROWS: list[_Row] = [
    ("CONST", "const", 0, 1, 1, 0, "push a constant"),
    ("LOAD", "local", 0, 1, 1, 0, "push a local variable"),
    ("STORE", "local", 1, 0, 1, 0, "pop into a local variable"),
    ("GLOAD", "state", 0, 1, 2, 0, "push a contract state variable"),
    ("GSTORE", "state", 1, 0, 2, 0, "pop into a contract state variable"),
    ("POP", "none", 1, 0, 1, 0, "discard the top value"),
    ("DUP", "none", 1, 2, 1, 0, "duplicate the top value"),
    ("DUP2", "none", 2, 4, 1, 0, "duplicate the top two values"),
    ("ADD", "none", 2, 1, 1, 0, "a + b (traps on 64-bit overflow)"),
    ("SUB", "none", 2, 1, 1, 0, "a - b (traps on 64-bit overflow)"),
    ("MUL", "none", 2, 1, 2, 0, "a * b (traps on 64-bit overflow)"),
    ("DIV", "none", 2, 1, 3, 0, "a / b truncated toward zero (traps on zero and MIN / -1)"),
    ("MOD", "none", 2, 1, 3, 0, "remainder with the sign of a (traps on zero)"),
    ("NEG", "none", 1, 1, 1, 0, "-a (traps on MIN)"),
    ("NOT", "none", 1, 1, 1, 0, "logical not"),
    ("EQ", "none", 2, 1, 1, 0, "a == b, by value"),
    ("NE", "none", 2, 1, 1, 0, "a != b, by value"),
    ("LT", "none", 2, 1, 1, 0, "a < b"),
    ("LE", "none", 2, 1, 1, 0, "a <= b"),
    ("GT", "none", 2, 1, 1, 0, "a > b"),
    ("GE", "none", 2, 1, 1, 0, "a >= b"),
    ("CONCAT", "none", 2, 1, 2, 0, "string a followed by b (length limit)"),
    ("SC_AND", "none", 1, 0, 1, 0, "if the top is false, leave false and skip to SC_END"),
    ("SC_OR", "none", 1, 0, 1, 0, "if the top is true, leave true and skip to SC_END"),
    ("SC_END", "none", 0, 0, 0, 0, "end of a short-circuit operand"),
    ("MKARRAY", "count", -1, 1, 2, 1, "pop n values into a new array"),
    ("MKSTRUCT", "struct", -1, 1, 2, 1, "pop the n field values of struct s into a new struct (operand: s × 2^20 + n)"),
    ("MKVARIANT", "variant", -1, 1, 2, 0, "pop n payload values into variant `tag` of type t (operand: t × 2^24 + tag × 256 + n; t: 0 Option, 1 Result, 2 + i the module's enum i)"),
    ("TAG", "none", 1, 1, 1, 0, "the variant tag of the top value"),
    ("PAYLOAD", "field", 1, 1, 1, 0, "payload value i of the top variant"),
    ("GETFIELD", "field", 1, 1, 1, 0, "field i of the top struct"),
    ("SETFIELD", "field", 2, 0, 2, 0, "struct, value → set field i"),
    ("AGET", "none", 2, 1, 2, 0, "array, index → element (traps out of range)"),
    ("ASET", "none", 3, 0, 2, 0, "array, index, value → set element (traps out of range)"),
    ("MGET", "none", 2, 1, 2, 0, "map, key → value (traps when missing)"),
    ("MSET", "none", 3, 0, 3, 0, "map, key, value → insert or replace"),
    ("ALEN", "none", 1, 1, 1, 0, "length of an array"),
    ("CALL", "fn", -1, 1, 5, 0, "call a function of this module"),
    ("CALL_HOST", "host", -1, 1, 0, 0, "call a host-table row (gas from the row)"),
    ("RET", "none", 1, 0, 1, 0, "return the top value", True),
    ("IF", "none", 1, 0, 1, 0, "pop a Bool; run to ELSE/END if true, else after ELSE"),
    ("ELSE", "none", 0, 0, 0, 0, "start of the false branch"),
    ("END", "none", 0, 0, 1, 0, "end of IF or LOOP (a LOOP's END jumps back)"),
    ("LOOP", "none", 0, 0, 0, 0, "start of a loop"),
    ("BREAK", "none", 0, 0, 1, 0, "leave the innermost loop", True),
    ("CONTINUE", "none", 0, 0, 1, 0, "restart the innermost loop", True),
    ("BREAK_IFNOT", "none", 1, 0, 1, 0, "pop a Bool; leave the innermost loop if false"),
    ("REQUIRE", "none", 2, 0, 1, 0, "condition, message → trap with the message if false"),
    ("TRAP", "trap", 0, 0, 1, 0, "stop with a runtime error from the trap table", True),
    ("EMIT", "event", -1, 0, 5, 1, "pop the fields of an event (operand: constant [name, fields])"),
]

# The opcode numbers, one module constant per row (set from the table just below; declared
# here so that `O.ADD` has a type).
CONST: int; LOAD: int; STORE: int; GLOAD: int; GSTORE: int; POP: int; DUP: int; DUP2: int
ADD: int; SUB: int; MUL: int; DIV: int; MOD: int; NEG: int; NOT: int; EQ: int; NE: int
LT: int; LE: int; GT: int; GE: int; CONCAT: int; SC_AND: int; SC_OR: int; SC_END: int
MKARRAY: int; MKSTRUCT: int; MKVARIANT: int; TAG: int; PAYLOAD: int; GETFIELD: int
SETFIELD: int; AGET: int; ASET: int; MGET: int; MSET: int; ALEN: int; CALL: int
CALL_HOST: int; RET: int; IF: int; ELSE: int; END: int; LOOP: int; BREAK: int; CONTINUE: int
BREAK_IFNOT: int; REQUIRE: int; TRAP: int; EMIT: int

OPS: tuple[Op, ...] = tuple(
    Op(i, name, operand, pops, pushes, gas, per, doc, bool(rest and rest[0]))
    for i, (name, operand, pops, pushes, gas, per, doc, *rest) in enumerate(_ROWS)
)
BY_NAME: dict[str, Op] = {op.name: op for op in OPS}
globals().update({op.name: op.code for op in OPS})

BLOCK_STARTERS = frozenset((BY_NAME["LOOP"].code, BY_NAME["IF"].code, BY_NAME["ELSE"].code, BY_NAME["END"].code))

# TRAP operands
TRAPS = (
    ("R0304", "no match arm matches the value"),
    ("R0307", "function ended without returning a value"),
)
TRAP_NO_MATCH = 0
TRAP_NO_RETURN = 1


# MKSTRUCT and MKVARIANT name the type they build (nominal, as WebAssembly's struct.new does), so
# a recursive type built in a loop has a name the verifier can unify with, never an infinite shape.
STRUCT_SHIFT = 20                   # MKSTRUCT: struct index × 2^20 + field count
VARIANT_SHIFT = 24                  # MKVARIANT: type × 2^24 + tag × 256 + payload count
OPTION_TYPE, RESULT_TYPE, ENUM_TYPE_BASE = 0, 1, 2


def struct_operand(index: int, n: int) -> int:
    return (index << STRUCT_SHIFT) | n


def split_struct(arg: int) -> tuple[int, int]:
    return arg >> STRUCT_SHIFT, arg & ((1 << STRUCT_SHIFT) - 1)


def variant_operand(type_code: int, tag: int, n: int) -> int:
    return (type_code << VARIANT_SHIFT) | (tag << 8) | n


def split_variant(arg: int) -> tuple[int, int, int]:
    return arg >> VARIANT_SHIFT, (arg >> 8) & 0xFFFF, arg & 255


def static_gas(op: Op, arg: int) -> int:
    if op.operand == "count":
        return op.gas + op.gas_per_operand * arg
    if op.operand == "struct":
        return op.gas + op.gas_per_operand * split_struct(arg)[1]
    return op.gas
