"""The fast path: verified bytecode → Python source → one code object per module CID.

The translator simulates the operand stack symbolically, so stack code becomes ordinary Python
expressions (`x3 = x1 * x1 % 7` with inline 64-bit checks), structured control flow becomes
`if`/`while True`, and gas is charged per basic block exactly where the reference interpreter
charges it. The generated code is a sandbox by construction: it is produced only from verified
bytecode, uses a fixed small set of constructs, runs with empty `__builtins__`, never does
attribute access, and reaches the world only through the `_…` helpers the runner provides.
Every failure branch passes the index of its instruction's position, so errors point where the
interpreter's do. Imports leaves and ccl.compile.
"""

from __future__ import annotations

from ccl import limits
from ccl.compile import opcodes as O
from ccl.compile.verify import Verified
from ccl.hosttable import HOST_INDEX, HOST_TABLE

MIN, MAX = limits.int_min, limits.int_max

# Host rows the translator writes inline (their gas is all static, so nothing is lost).
_INLINE_HOST = {
    HOST_INDEX["array_len"]: "len({0})", HOST_INDEX["array_length"]: "len({0})",
    HOST_INDEX["map_size"]: "len({0})", HOST_INDEX["string_length"]: "len({0})",
    HOST_INDEX["map_contains_key"]: "({1} in {0})", HOST_INDEX["caller"]: "_caller",
    HOST_INDEX["now"]: "_now", HOST_INDEX["host_get_caller"]: "_caller", HOST_INDEX["host_get_current_time"]: "_now", HOST_INDEX["min"]: "_min({0}, {1})", HOST_INDEX["max"]: "_max({0}, {1})",
}


class _Untranslatable(Exception):
    pass


class _Fn:
    """Translation state of one function."""

    def __init__(self, verified: Verified, index: int, positions: list):
        self.v = verified
        self.m = verified.module
        self.index = index
        self.f = self.m.functions[index]
        self.lines: list[str] = []
        self.indent = 1
        # (expression, simple): simple is False (compound), "name" (a variable: copy it before a
        # statement that might reassign it) or "lit" (a literal or a temp: never changes)
        self.stack: list[tuple] = []
        self.temps = 0
        self.positions = positions                  # shared table: position index → (fn, pc)
        self.control: list[str] = []
        self.empty: list[bool] = []
        self.pending: list[int] = []      # pcs whose helpers may raise, not yet written to a line
        self.line_pcs: list[tuple] = []   # per generated line: those pcs

    def pos(self, pc: int) -> int:
        self.positions.append((self.index, pc))
        return len(self.positions) - 1

    def line(self, text: str) -> None:
        self.lines.append("    " * self.indent + text)
        self.line_pcs.append(tuple(self.pending))
        self.pending.clear()
        if self.empty:
            self.empty[-1] = False

    def temp(self) -> str:
        self.temps += 1
        return f"t{self.temps}"

    def push(self, expr: str, simple=False) -> None:
        self.stack.append((expr, simple))

    def pop(self) -> str:
        return self.stack.pop()[0]

    def spill(self) -> None:
        """Before a statement: evaluate pending stack expressions, in order, into temps."""
        for i, (expr, simple) in enumerate(self.stack):
            if simple != "lit":
                t = self.temp()
                self.line(f"{t} = {expr}")
                self.stack[i] = (t, "lit")

    def open(self, header: str, kind: str) -> None:
        self.line(header)
        self.indent += 1
        self.control.append(kind)
        self.empty.append(True)

    def close(self) -> None:
        if self.empty.pop():
            self.line("pass")
        self.indent -= 1
        self.control.pop()


def translate(verified: Verified) -> tuple[str, list, list]:
    """Python source of the whole module, its position table (index → (function, pc)) and,
    per source line, the (function, pcs) of helper calls on it that may raise."""
    positions: list = []
    lines: list[str] = []
    line_pcs: list = []
    for i in range(len(verified.module.functions)):
        fn = _Fn(verified, i, positions)
        _translate_function(fn)
        lines.extend(fn.lines)
        line_pcs.extend((i, pcs) for pcs in [(), *fn.line_pcs])
    return "\n".join(lines) + "\n", positions, line_pcs


def _translate_function(fn: _Fn) -> None:
    f = fn.f
    params = [f"x{i}" for i in range(len(f.params))]
    fn.lines.append(f"def f{fn.index}({', '.join([*params, '_d'])}):")     # line_pcs gets () for it
    fn.line("global _g")
    rest = [f"x{i}" for i in range(len(f.params), f.nlocals)]
    if rest:
        fn.line(" = ".join(rest) + " = None")
    fn.line(f"if _d > {limits.call_depth_max}: _depth({fn.pos(0)})")
    gas = fn.v.block_gas[fn.index]
    matches = fn.v.matches[fn.index]
    code = f.code
    local_until = -1                 # while pc <= this, gas is counted in the local `g`
    for pc in range(len(code) // 2):
        op = code[2 * pc]
        if op == O.LOOP and local_until < 0 and _call_free(code, pc, matches[pc]):
            fn.spill()
            fn.line("g = _g")        # a call-free loop keeps the gas counter in a fast local;
            fn.open("try:", "try")   # `finally` writes it back on every way out
            local_until = matches[pc]
        var = "g" if local_until >= 0 else "_g"
        cost = gas.get(pc)
        if cost:
            fn.line(f"{var} -= {cost}")
            fn.line(f"if {var} < 0: _oog({fn.pos(pc)})")
        _translate_op(fn, pc, op, code[2 * pc + 1], matches)
        if pc == local_until:
            fn.close()
            fn.open("finally:", "finally")
            fn.line("_g = g")
            fn.close()
            local_until = -1


_GAS_USERS = frozenset((O.CALL, O.CONCAT, O.EQ, O.NE))


def _call_free(code, start: int, end: int) -> bool:
    """No instruction between LOOP and its END reaches code that charges gas through `_g`."""
    for pc in range(start, end):
        op = code[2 * pc]
        if op in _GAS_USERS or (op == O.CALL_HOST and code[2 * pc + 1] not in _INLINE_HOST):
            return False
    return True


def _translate_op(fn: _Fn, pc: int, op: int, arg: int, matches: dict) -> None:
    handler = _OPS.get(op)
    if handler is None:
        raise _Untranslatable(O.OPS[op].name)
    handler(fn, pc, arg, matches)


def _binary_checked(symbol):
    def run(fn, pc, arg, matches):
        b = fn.pop()
        a = fn.pop()
        t = fn.temp()
        fn.push(f"({t} if {MIN} <= ({t} := {a} {symbol} {b}) <= {MAX} else _ovf({fn.pos(pc)}))")
    return run


def _div_mod(kind):
    def run(fn, pc, arg, matches):
        b_expr, b_simple = fn.stack[-1]
        if b_simple and b_expr.isdigit() and int(b_expr) > 0:
            fn.stack.pop()
            a, a_simple = fn.stack.pop()
            t = a if a_simple else fn.temp()
            bind = a if a_simple else f"({t} := {a})"
            symbol = "//" if kind == "div" else "%"
            fn.push(f"({t} {symbol} {b_expr} if {bind} >= 0 else -(-{t} {symbol} {b_expr}))")
            return
        b = fn.pop()
        a = fn.pop()
        fn.push(f"_{kind}({a}, {b}, {fn.pos(pc)})")
    return run


def op_const(fn, pc, arg, matches):
    v = fn.m.consts[arg]
    if isinstance(v, str) and len(v) > 64:
        fn.push(f"_K[{arg}]", "lit")
    else:
        fn.push(repr(v), "lit")


def op_load(fn, pc, arg, matches):
    fn.push(f"x{arg}", "name")


def op_store(fn, pc, arg, matches):
    v = fn.pop()
    fn.spill()
    fn.line(f"x{arg} = {v}")


def op_gload(fn, pc, arg, matches):
    fn.push(f"_S[{arg}]", False)


def op_gstore(fn, pc, arg, matches):
    v = fn.pop()
    fn.spill()
    fn.line(f"_S[{arg}] = {v}")


def op_pop(fn, pc, arg, matches):
    expr, simple = fn.stack.pop()
    if not simple:
        fn.spill()
        fn.line(expr)


def op_dup(fn, pc, arg, matches):
    expr, simple = fn.stack.pop()
    if simple:
        fn.push(expr, simple)
        fn.push(expr, simple)
    else:
        t = fn.temp()
        fn.push(f"({t} := {expr})")
        fn.push(t, "lit")


def op_dup2(fn, pc, arg, matches):
    b_expr, b_simple = fn.stack.pop()
    a_expr, a_simple = fn.stack.pop()
    names = []
    for expr, simple in ((a_expr, a_simple), (b_expr, b_simple)):
        if simple:
            fn.push(expr, simple)
            names.append((expr, simple))
        else:
            t = fn.temp()
            fn.push(f"({t} := {expr})")
            names.append((t, "lit"))
    fn.push(*names[0])
    fn.push(*names[1])


def op_neg(fn, pc, arg, matches):
    a = fn.pop()
    t = fn.temp()
    fn.push(f"({t} if ({t} := -{a}) <= {MAX} else _ovf({fn.pos(pc)}))")


def op_not(fn, pc, arg, matches):
    fn.push(f"(not {fn.pop()})")


def _compare(symbol):
    def run(fn, pc, arg, matches):
        b = fn.pop()
        a = fn.pop()
        fn.push(f"({a} {symbol} {b})")
    return run


def _equality(negate):
    def run(fn, pc, arg, matches):      # the runner's `_eq`: by value, metered, as the interpreter
        b = fn.pop()
        a = fn.pop()
        fn.push(f"({'not ' if negate else ''}_eq({a}, {b}, {fn.pos(pc)}))")
    return run


def op_concat(fn, pc, arg, matches):
    b = fn.pop()
    a = fn.pop()
    fn.push(f"_cat({a}, {b}, {fn.pos(pc)})")


def op_sc(fn, pc, arg, matches):
    a = fn.pop()
    fn.push(("and" if fn.m.functions[fn.index].code[2 * pc] == O.SC_AND else "or", a), False)


def op_sc_end(fn, pc, arg, matches):
    b = fn.pop()
    word, a = fn.pop()
    fn.push(f"({a} {word} {b})")


def _take(fn, n):
    items = [fn.pop() for _ in range(n)]
    items.reverse()
    return items


def op_mkarray(fn, pc, arg, matches):
    fn.push(f"[{', '.join(_take(fn, arg))}]")


def op_mkvariant(fn, pc, arg, matches):
    items = [str(arg >> 8), *_take(fn, arg & 255)]
    fn.push(f"({', '.join(items)},)", "lit" if not arg & 255 else False)


def op_tag(fn, pc, arg, matches):
    fn.push(f"{fn.pop()}[0]")


def op_payload(fn, pc, arg, matches):
    fn.push(f"{fn.pop()}[{1 + arg}]")


def op_getfield(fn, pc, arg, matches):
    fn.push(f"{fn.pop()}[{arg}]")


def op_setfield(fn, pc, arg, matches):
    v = fn.pop()
    s = fn.pop()
    fn.spill()
    fn.line(f"{s}[{arg}] = {v}")


def op_aget(fn, pc, arg, matches):
    (i, i_simple), (a, a_simple) = fn.stack.pop(), fn.stack.pop()
    if a_simple and i_simple:
        fn.push(f"({a}[{i}] if 0 <= {i} < len({a}) else _oob({i}, {a}, {fn.pos(pc)}))")
    else:
        fn.push(f"_aget({a}, {i}, {fn.pos(pc)})")


def op_aset(fn, pc, arg, matches):
    v = fn.pop()
    i = fn.pop()
    a = fn.pop()
    fn.spill()
    ta, ti = fn.temp(), fn.temp()
    fn.line(f"{ta} = {a}")
    fn.line(f"{ti} = {i}")
    fn.line(f"if not 0 <= {ti} < len({ta}): _oob({ti}, {ta}, {fn.pos(pc)})")
    fn.line(f"{ta}[{ti}] = {v}")


def op_mget(fn, pc, arg, matches):
    k = fn.pop()
    m = fn.pop()
    fn.push(f"{m}[{k}]")
    fn.pending.append(pc)


def op_mset(fn, pc, arg, matches):
    v = fn.pop()
    k = fn.pop()
    m = fn.pop()
    fn.spill()
    tm, tk, tv = fn.temp(), fn.temp(), fn.temp()
    fn.line(f"{tm} = {m}")
    fn.line(f"{tk} = {k}")
    fn.line(f"{tv} = {v}")
    fn.line(f"if {tk} not in {tm}: _mnew({tm}, {fn.pos(pc)})")
    fn.line(f"{tm}[{tk}] = {tv}")


def op_alen(fn, pc, arg, matches):
    fn.push(f"len({fn.pop()})")


def op_call(fn, pc, arg, matches):
    args = _take(fn, len(fn.m.functions[arg].params))
    fn.push(f"f{arg}({', '.join([*args, '_d + 1'])})")


def op_call_host(fn, pc, arg, matches):
    args = _take(fn, len(HOST_TABLE[arg].params))
    inline = _INLINE_HOST.get(arg)
    if inline is not None:
        fn.push(inline.format(*args))
    else:
        fn.push(f"_h{arg}({', '.join(args)})")
        fn.pending.append(pc)


def op_ret(fn, pc, arg, matches):
    v = fn.pop()
    fn.spill()
    fn.line(f"return {v}")


def op_if(fn, pc, arg, matches):
    c = fn.pop()
    fn.spill()
    fn.open(f"if {c}:", "if")


def op_else(fn, pc, arg, matches):
    fn.close()
    fn.open("else:", "else")


def op_end(fn, pc, arg, matches):
    fn.close()


def op_loop(fn, pc, arg, matches):
    fn.spill()
    fn.open("while True:", "loop")


def op_break(fn, pc, arg, matches):
    fn.line("break")


def op_continue(fn, pc, arg, matches):
    fn.line("continue")


def op_break_ifnot(fn, pc, arg, matches):
    c = fn.pop()
    fn.spill()
    fn.line(f"if not {c}: break")


def op_require(fn, pc, arg, matches):
    msg = fn.pop()
    c = fn.pop()
    fn.spill()
    fn.line(f"if not {c}: _require({msg}, {fn.pos(pc)})")


def op_trap(fn, pc, arg, matches):
    fn.spill()
    fn.line(f"_trap({arg}, {fn.pos(pc)})")


def op_emit(fn, pc, arg, matches):
    values = _take(fn, len(fn.m.consts[arg][1]))
    fn.spill()
    fn.line(f"_emit({arg}, [{', '.join(values)}], {fn.pos(pc)})")


_OPS = {
    O.CONST: op_const, O.LOAD: op_load, O.STORE: op_store, O.GLOAD: op_gload, O.GSTORE: op_gstore,
    O.POP: op_pop, O.DUP: op_dup, O.DUP2: op_dup2, O.ADD: _binary_checked("+"),
    O.SUB: _binary_checked("-"), O.MUL: _binary_checked("*"), O.DIV: _div_mod("div"),
    O.MOD: _div_mod("mod"), O.NEG: op_neg, O.NOT: op_not, O.EQ: _equality(False), O.NE: _equality(True),
    O.LT: _compare("<"), O.LE: _compare("<="), O.GT: _compare(">"), O.GE: _compare(">="),
    O.CONCAT: op_concat, O.SC_AND: op_sc, O.SC_OR: op_sc, O.SC_END: op_sc_end,
    O.MKARRAY: op_mkarray, O.MKSTRUCT: op_mkarray, O.MKVARIANT: op_mkvariant, O.TAG: op_tag,
    O.PAYLOAD: op_payload, O.GETFIELD: op_getfield, O.SETFIELD: op_setfield, O.AGET: op_aget,
    O.ASET: op_aset, O.MGET: op_mget, O.MSET: op_mset, O.ALEN: op_alen, O.CALL: op_call,
    O.CALL_HOST: op_call_host, O.RET: op_ret, O.IF: op_if, O.ELSE: op_else, O.END: op_end,
    O.LOOP: op_loop, O.BREAK: op_break, O.CONTINUE: op_continue, O.BREAK_IFNOT: op_break_ifnot,
    O.REQUIRE: op_require, O.TRAP: op_trap, O.EMIT: op_emit,
}
