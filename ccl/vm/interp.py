"""The reference interpreter: the executable specification of the bytecode.

A plain dispatch loop over verified bytecode with an explicit frame stack (no Python recursion
per CCL call). It is slow on purpose — clear over clever — and the fast path (translate.py) must
agree with it on every result, every gas count and every error; a differential test holds them
together. Imports leaves, ccl.compile and ccl.vm.builtins.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ccl import limits
from ccl.compile import opcodes as O
from ccl.compile.verify import Verified
from ccl.semantics import Trap, add, div, mod, mul, neg, sub

if TYPE_CHECKING:
    from ccl.vm.run import RunState


class Located(Exception):
    """A Trap with the function and instruction where it happened."""

    def __init__(self, trap: Trap, fn_index: int, pc: int):
        super().__init__(trap.message)
        self.trap = trap
        self.fn_index = fn_index
        self.pc = pc


class _Frame:
    __slots__ = ("fn", "code", "pc", "locals", "stack", "loops", "gas", "matches")
    # CCL values are Any here: the verifier proved each instruction's operand types, and the
    # loop uses a value as what its opcode needs (a list for AGET, a tuple for TAG, …).
    fn: int                             # function index
    code: tuple[int, ...]               # (opcode, operand) pairs, flat
    pc: int
    locals: list[Any]
    stack: list[Any]
    loops: list[tuple[int, int]]        # (pc of LOOP, stack height at entry)
    gas: dict[int, int]                 # leader pc → gas charged on entry
    matches: dict[int, int]             # pc → pc of its structured partner


def run(verified: Verified, fn_index: int, args: list, state: RunState) -> object:
    module = verified.module
    consts = module.consts
    builtins = state.builtins
    ns = state.ns
    frames: list[_Frame] = []

    def enter(index: int, arguments: list) -> _Frame:
        f = module.functions[index]
        fr = _Frame()
        fr.fn = index
        fr.code = f.code
        fr.pc = 0
        fr.locals = list(arguments) + fresh(verified.local_defaults[index])
        fr.stack = []
        fr.loops = []
        fr.gas = verified.block_gas[index]
        fr.matches = verified.matches[index]
        return fr

    fr = enter(fn_index, args)
    frames.append(fr)
    try:
        while True:
            pc = fr.pc
            fr.pc = pc + 1
            cost = fr.gas.get(pc)
            if cost:
                ns["_g"] -= cost
                if ns["_g"] < 0:
                    raise Trap("G0400", "out of gas")
            code = fr.code
            op = code[2 * pc]
            arg = code[2 * pc + 1]
            stack = fr.stack
            if op == O.CONST:
                stack.append(consts[arg])
            elif op == O.LOAD:
                stack.append(fr.locals[arg])
            elif op == O.STORE:
                fr.locals[arg] = stack.pop()
            elif op == O.GLOAD:
                stack.append(state.globals[arg])
            elif op == O.GSTORE:
                state.globals[arg] = stack.pop()
            elif op == O.POP:
                stack.pop()
            elif op == O.DUP:
                stack.append(stack[-1])
            elif op == O.DUP2:
                stack.extend(stack[-2:])
            elif op in _ARITH:
                b = stack.pop()
                stack[-1] = _ARITH[op](stack[-1], b)
            elif op == O.NEG:
                stack[-1] = neg(stack[-1])
            elif op == O.NOT:
                stack[-1] = not stack[-1]
            elif op == O.EQ or op == O.NE:            # by value, metered: one helper for both engines
                b = stack.pop()
                same = state.equal(stack[-1], b)
                stack[-1] = same if op == O.EQ else not same
            elif op in _COMPARE:
                b = stack.pop()
                stack[-1] = _COMPARE[op](stack[-1], b)
            elif op == O.CONCAT:
                b = stack.pop()
                stack[-1] = state.concat(stack[-1], b)
            elif op == O.SC_AND or op == O.SC_OR:
                v = stack.pop()
                if bool(v) == (op == O.SC_OR):
                    stack.append(v)
                    fr.pc = fr.matches[pc] + 1
            elif op == O.SC_END:
                pass
            elif op == O.MKARRAY or op == O.MKSTRUCT:
                n = arg if op == O.MKARRAY else arg & _STRUCT_MASK
                items = stack[len(stack) - n:] if n else []
                del stack[len(stack) - n:]
                stack.append(items)
            elif op == O.MKVARIANT:
                n = arg & 255
                payload = stack[len(stack) - n:] if n else []
                del stack[len(stack) - n:]
                stack.append(((arg >> 8) & 0xFFFF, *payload))
            elif op == O.TAG:
                stack[-1] = stack[-1][0]
            elif op == O.PAYLOAD:
                stack[-1] = stack[-1][1 + arg]
            elif op == O.GETFIELD:
                stack[-1] = stack[-1][arg]
            elif op == O.SETFIELD:
                v = stack.pop()
                stack.pop()[arg] = v
            elif op == O.AGET:
                i = stack.pop()
                a = stack[-1]
                if not 0 <= i < len(a):
                    raise out_of_range(i, len(a))
                stack[-1] = a[i]
            elif op == O.ASET:
                v = stack.pop()
                i = stack.pop()
                a = stack.pop()
                if not 0 <= i < len(a):
                    raise out_of_range(i, len(a))
                a[i] = v
            elif op == O.MGET:
                k = stack.pop()
                m = stack[-1]
                if k not in m:
                    raise missing_key(k)
                stack[-1] = m[k]
            elif op == O.MSET:
                v = stack.pop()
                k = stack.pop()
                state.map_insert(stack.pop(), k, v)
            elif op == O.ALEN:
                stack[-1] = len(stack[-1])
            elif op == O.CALL:
                if len(frames) >= limits.call_depth_max:      # reported at the callee's entry
                    raise Located(depth_exceeded(), arg, 0)
                n = len(module.functions[arg].params)
                arguments = stack[len(stack) - n:] if n else []
                del stack[len(stack) - n:]
                fr = enter(arg, arguments)
                frames.append(fr)
            elif op == O.CALL_HOST:
                n = _ARITY[arg]
                arguments = stack[len(stack) - n:] if n else []
                del stack[len(stack) - n:]
                stack.append(builtins[arg](*arguments))
            elif op == O.RET:
                value = stack.pop()
                frames.pop()
                if not frames:
                    return value
                fr = frames[-1]
                fr.stack.append(value)
            elif op == O.IF:
                if not stack.pop():
                    fr.pc = fr.matches[pc] + 1
            elif op == O.ELSE:
                fr.pc = fr.matches[pc] + 1
            elif op == O.END:
                start = fr.matches[pc]
                if code[2 * start] == O.LOOP:
                    fr.pc = start + 1
            elif op == O.LOOP:
                fr.loops.append((pc, len(stack)))
            elif op == O.BREAK or (op == O.BREAK_IFNOT and not stack.pop()):
                start, height = fr.loops.pop()
                del stack[height:]
                fr.pc = fr.matches[start] + 1
            elif op == O.BREAK_IFNOT:
                pass
            elif op == O.CONTINUE:
                start, height = fr.loops[-1]
                del stack[height:]
                fr.pc = start + 1
            elif op == O.REQUIRE:
                message = stack.pop()
                if not stack.pop():
                    raise Trap("R0303", f"requirement failed: {message}")
            elif op == O.TRAP:
                code_, message = O.TRAPS[arg]
                raise Trap(code_, message)
            elif op == O.EMIT:
                name, fields = consts[arg]
                n = len(fields)
                values = stack[len(stack) - n:] if n else []
                del stack[len(stack) - n:]
                state.emit(name, fields, values)
            else:
                raise AssertionError(f"opcode {op} passed the verifier but has no implementation")
    except Trap as t:
        raise Located(t, fr.fn, fr.pc - 1) from None
    except RecursionError:
        raise Located(depth_exceeded(), fr.fn, fr.pc - 1) from None
    except (TypeError, IndexError, KeyError, AttributeError, ValueError, OverflowError, MemoryError) as e:
        raise Located(malformed(e), fr.fn, fr.pc - 1) from None


def fresh(defaults: tuple) -> list:
    """New local variables: the verifier's zero values, with new arrays, maps and structs."""
    return [v if v is None or type(v) in (int, bool, str) else _copy(v) for v in defaults]


def _copy(v):
    if type(v) is list:
        return [_copy(x) for x in v]
    if type(v) is tuple:
        return tuple(_copy(x) for x in v)
    if type(v) is dict:
        return {}
    return v


def out_of_range(i, n) -> Trap:
    return Trap("R0302", f"index {i} is out of range for length {n}")


def missing_key(k) -> Trap:
    return Trap("R0305", f"key {k!r} is not in the map", "check with map_contains_key or use map_get")


def depth_exceeded() -> Trap:
    return Trap("L0502", f"calls nested more than {limits.call_depth_max} deep", "is a recursion missing its base case?")


def malformed(e: Exception) -> Trap:
    return Trap("R0307", f"the module misbehaved at run time ({type(e).__name__})",
                "the bytecode is not what ccl's compiler produces; recompile it from source")


_STRUCT_MASK = (1 << O.STRUCT_SHIFT) - 1
_ARITH = {O.ADD: add, O.SUB: sub, O.MUL: mul, O.DIV: div, O.MOD: mod}
_COMPARE = {
    O.LT: lambda a, b: a < b,
    O.LE: lambda a, b: a <= b, O.GT: lambda a, b: a > b, O.GE: lambda a, b: a >= b,
}


def _arity():
    from ccl.hosttable import HOST_TABLE

    return [len(row.params) for row in HOST_TABLE]


_ARITY = _arity()
