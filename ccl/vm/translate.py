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

import re
from typing import Optional

from ccl import limits
from ccl.compile import opcodes as O
from ccl.compile.verify import Verified
from ccl.hosttable import HOST_INDEX, HOST_TABLE

MIN, MAX = limits.int_min, limits.int_max
EXPR_CHARS_MAX = 2000      # a longer symbolic expression is evaluated into a temp at once

# Host rows the translator writes inline (their gas is all static, so nothing is lost).
_INLINE_HOST = {
    HOST_INDEX["array_len"]: "len({0})", HOST_INDEX["array_length"]: "len({0})",
    HOST_INDEX["map_size"]: "len({0})", HOST_INDEX["string_length"]: "len({0})",
    HOST_INDEX["map_contains_key"]: "_has({0}, {1})", HOST_INDEX["caller"]: "_caller",
    HOST_INDEX["now"]: "_now", HOST_INDEX["host_get_caller"]: "_caller", HOST_INDEX["host_get_current_time"]: "_now", HOST_INDEX["min"]: "_min({0}, {1})", HOST_INDEX["max"]: "_max({0}, {1})",
}


class _Untranslatable(Exception):
    pass


# CPython's tokenizer stops at 100 indentation levels; a function nested deeper than this is not
# translated (its source would also grow with the square of the depth), nor is a module bigger
# than limits.translate_instructions_max: translate() returns None for the source and the
# reference interpreter runs the module instead.
NESTING_MAX = 90


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
        self.saved: list[int] = []        # the symbolic stack's height at each open IF/LOOP
        self.clean = 0                    # stack[:clean] are all "lit" (spill starts above them)
        self.sc_inline = 0                # open short-circuit operands written as expressions
        self.sc_forms: list = []          # per open SC_AND/SC_OR: None or (temp, height)
        self.pending: list[int] = []      # pcs whose helpers may raise, not yet written to a line
        self.line_pcs: list[tuple] = []   # per generated line: those pcs
        self.line_spans: list[tuple] = []  # per generated line: (start, end, pc) of marked calls

    def pos(self, pc: int) -> int:
        self.positions.append((self.index, pc))
        return len(self.positions) - 1

    def line(self, text: str) -> None:
        text = "    " * self.indent + text
        spans = ()
        if _MARK in text:
            text, spans = _unmark(text)
        self.lines.append(text)
        self.line_spans.append(spans)
        self.line_pcs.append(tuple(self.pending))
        self.pending.clear()
        if self.empty:
            self.empty[-1] = False

    def temp(self) -> str:
        self.temps += 1
        return f"t{self.temps}"

    def push(self, expr, simple=False) -> None:
        self.stack.append((expr, simple))
        if not self.sc_inline and type(expr) is str and len(expr) > EXPR_CHARS_MAX:
            self.spill()                   # keeps expressions (and translation) linear in size

    def pop_entry(self) -> tuple:
        entry = self.stack.pop()
        if self.clean > len(self.stack):
            self.clean = len(self.stack)
        return entry

    def pop(self) -> str:
        return self.pop_entry()[0]

    def spill(self) -> None:
        """Before a statement: evaluate pending stack expressions, in order, into temps."""
        stack = self.stack
        for i in range(self.clean, len(stack)):
            expr, simple = stack[i]
            if simple != "lit":
                t = self.temp()
                self.line(f"{t} = {expr}")
                stack[i] = (t, "lit")
        self.clean = len(stack)

    def open(self, header: str, kind: str) -> None:
        self.line(header)
        self.indent += 1
        if self.indent > NESTING_MAX:
            raise _Untranslatable("nesting")
        self.control.append(kind)
        self.empty.append(True)

    def close(self) -> None:
        if self.empty.pop():
            self.line("pass")
        self.indent -= 1
        self.control.pop()


def translate(verified: Verified) -> tuple[Optional[str], list, list]:
    """Python source of the whole module, its position table (index → (function, pc)) and,
    per source line, the (function, pcs, spans) of helper calls on it that may raise: `spans`
    holds (start, end, pc) with the UTF-8 column range of each such call in the line, so the
    runner can tell two calls on one line apart (ccl.vm.run._where)."""
    positions: list = []
    lines: list[str] = []
    line_pcs: list = []
    if sum(len(f.code) for f in verified.module.functions) // 2 > limits.translate_instructions_max:
        return None, [], []          # too big to translate cheaply: the interpreter runs it
    for i in range(len(verified.module.functions)):
        fn = _Fn(verified, i, positions)
        try:
            _translate_function(fn)
        except _Untranslatable:
            return None, [], []
        lines.extend(fn.lines)
        line_pcs.append((i, (), ()))
        line_pcs.extend((i, pcs, spans) for pcs, spans in zip(fn.line_pcs, fn.line_spans))
    return "\n".join(lines) + "\n", positions, line_pcs


# A helper call that may raise is written `_MARK pc _OPEN expr _CLOSE` while the line is built;
# `_unmark` strips the marks and records each call's column range (repr() never writes these
# control characters, so no constant contains them).
_MARK, _OPEN, _CLOSE = "\x00", "\x01", "\x02"
_MARKS = re.compile("(\x00[0-9]+\x01|\x02)")


def _marked(expr: str, pc: int) -> str:
    return f"{_MARK}{pc}{_OPEN}{expr}{_CLOSE}"


def _unmark(text: str) -> tuple[str, tuple]:
    out: list[str] = []
    col = 0                                  # UTF-8 bytes written so far (CPython's columns)
    open_: list[tuple[int, int]] = []
    spans = []
    for part in _MARKS.split(text):
        if part.startswith(_MARK):
            open_.append((int(part[1:-1]), col))
        elif part == _CLOSE:
            pc, begin = open_.pop()
            spans.append((begin, col, pc))
        elif part:
            out.append(part)
            col += len(part.encode("utf-8", "surrogatepass"))
    return "".join(out), tuple(spans)


def _translate_function(fn: _Fn) -> None:
    f = fn.f
    params = [f"x{i}" for i in range(len(f.params))]
    fn.lines.append(f"def f{fn.index}({', '.join([*params, '_d'])}):")     # line_pcs gets () for it
    fn.line("global _g")
    defaults = fn.v.local_defaults[fn.index]
    for i in range(len(f.params), f.nlocals):       # zero values from the verifier: fresh per call
        fn.line(f"x{i} = {defaults[i - len(f.params)]!r}")
    fn.line(f"if _d > {limits.call_depth_max}: _depth({fn.pos(0)})")
    gas = fn.v.block_gas[fn.index]
    matches = fn.v.matches[fn.index]
    code = f.code
    local_until = -1                 # while pc <= this, gas is counted in the local `g`
    users = _gas_users(code)
    for pc in range(len(code) // 2):
        op = code[2 * pc]
        if op == O.LOOP and local_until < 0 and users[matches[pc]] == users[pc]:     # call-free
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


_GAS_USERS = frozenset((O.CALL, O.CONCAT, O.EQ, O.NE, O.EMIT))     # EMIT pays for its snapshot


def _gas_users(code) -> list:
    """users[pc]: how many instructions before pc reach code that charges gas through `_g`."""
    users = [0]
    for pc in range(len(code) // 2):
        op = code[2 * pc]
        users.append(users[-1] + (op in _GAS_USERS or (op == O.CALL_HOST and code[2 * pc + 1] not in _INLINE_HOST)))
    return users


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
            fn.pop_entry()
            a, a_simple = fn.pop_entry()
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
    expr, simple = fn.pop_entry()
    if not simple:
        fn.spill()
        fn.line(expr)


def op_dup(fn, pc, arg, matches):
    expr, simple = fn.pop_entry()
    if simple:
        fn.push(expr, simple)
        fn.push(expr, simple)
    else:
        t = fn.temp()
        fn.push(f"({t} := {expr})")
        fn.push(t, "lit")


def op_dup2(fn, pc, arg, matches):
    b_expr, b_simple = fn.pop_entry()
    a_expr, a_simple = fn.pop_entry()
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


SC_INLINE_MAX = 64         # a longer short-circuit operand becomes an `if` statement


def op_sc(fn, pc, arg, matches):
    a = fn.pop()
    word = "and" if fn.m.functions[fn.index].code[2 * pc] == O.SC_AND else "or"
    if matches[pc] - pc <= SC_INLINE_MAX:
        fn.sc_inline += 1                  # an expression `(a and b)`: nothing inside may spill
        fn.sc_forms.append(None)
        fn.push((word, a), False)
        return
    fn.spill()
    t = fn.temp()
    fn.line(f"{t} = {a}")
    fn.open(f"if {'' if word == 'and' else 'not '}{t}:", "sc")
    fn.sc_forms.append((t, len(fn.stack)))


def op_sc_end(fn, pc, arg, matches):
    form = fn.sc_forms.pop()
    b = fn.pop()
    if form is None:
        fn.sc_inline -= 1
        word, a = fn.pop()
        fn.push(f"({a} {word} {b})")
        return
    t, height = form
    fn.spill()
    fn.line(f"{t} = {b}")
    fn.close()
    del fn.stack[height:]
    fn.clean = min(fn.clean, len(fn.stack))
    fn.push(t, "lit")


def _take(fn, n):
    items = [fn.pop() for _ in range(n)]
    items.reverse()
    return items


def op_mkarray(fn, pc, arg, matches):
    fn.push(f"[{', '.join(_take(fn, arg))}]")


def op_mkstruct(fn, pc, arg, matches):
    op_mkarray(fn, pc, O.split_struct(arg)[1], matches)


def op_mkvariant(fn, pc, arg, matches):
    items = [str(O.split_variant(arg)[1]), *_take(fn, arg & 255)]
    fn.push(f"({', '.join(items)},)", "lit" if not arg & 255 else False)


def op_tag(fn, pc, arg, matches):
    fn.push(f"{fn.pop()}[0]")


def op_payload(fn, pc, arg, matches):
    fn.push(f"{fn.pop()}[{1 + arg}]")


def op_getfield(fn, pc, arg, matches):
    fn.push(f"{fn.pop()}[{arg}]")


def op_setfield(fn, pc, arg, matches):
    v = fn.pop()
    s, s_simple = fn.stack.pop()
    fn.spill()
    if not s_simple:                # Python evaluates `s[k] = v` value first: the target first
        t = fn.temp()
        fn.line(f"{t} = {s}")
        s = t
    fn.line(f"{s}[{arg}] = {v}")


def op_aget(fn, pc, arg, matches):
    (i, i_simple), (a, a_simple) = fn.pop_entry(), fn.pop_entry()
    if a_simple and i_simple:
        fn.push(f"({a}[{i}] if 0 <= {i} < len({a}) else _oob({i}, {a}, {fn.pos(pc)}))")
    else:
        fn.push(f"_aget({a}, {i}, {fn.pos(pc)})")


def op_aset(fn, pc, arg, matches):
    v = fn.pop()
    i = fn.pop()
    a = fn.pop()
    fn.spill()
    ta, ti, tv = fn.temp(), fn.temp(), fn.temp()
    fn.line(f"{ta} = {a}")             # operands in stack order, then the bounds check
    fn.line(f"{ti} = {i}")
    fn.line(f"{tv} = {v}")
    fn.line(f"if not 0 <= {ti} < len({ta}): _oob({ti}, {ta}, {fn.pos(pc)})")
    fn.line(f"{ta}[{ti}] = {tv}")


def op_mget(fn, pc, arg, matches):
    k = fn.pop()
    m = fn.pop()
    fn.push(_marked(f"{m}[{k}]", pc))
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
        fn.push(_marked(f"_h{arg}({', '.join(args)})", pc))
        fn.pending.append(pc)


def op_ret(fn, pc, arg, matches):
    v = fn.pop()
    fn.spill()
    fn.line(f"return {v}")


def op_if(fn, pc, arg, matches):
    c = fn.pop()
    fn.spill()
    fn.saved.append(len(fn.stack))
    fn.open(f"if {c}:", "if")


# The verifier's block signatures: a block takes nothing from below its start and ends at its
# start height, so the symbolic stack at ELSE and END is the one at IF/LOOP, cut to that height
# (a branch that ended in RET, TRAP, BREAK or CONTINUE may have left values above it: dead).
def op_else(fn, pc, arg, matches):
    fn.close()
    del fn.stack[fn.saved[-1]:]
    fn.clean = min(fn.clean, len(fn.stack))
    fn.open("else:", "else")


def op_end(fn, pc, arg, matches):
    fn.close()
    del fn.stack[fn.saved.pop():]
    fn.clean = min(fn.clean, len(fn.stack))


def op_loop(fn, pc, arg, matches):
    fn.spill()
    fn.saved.append(len(fn.stack))
    fn.open("while True:", "loop")


def op_break(fn, pc, arg, matches):
    fn.spill()                         # values left above the loop's height are still computed
    fn.line("break")


def op_continue(fn, pc, arg, matches):
    fn.spill()
    fn.line("continue")


def op_break_ifnot(fn, pc, arg, matches):
    c = fn.pop()
    fn.spill()
    fn.line(f"if not {c}: break")


def op_require(fn, pc, arg, matches):
    msg, msg_simple = fn.pop_entry()
    c = fn.pop()
    fn.spill()
    if msg_simple != "lit":            # both operands are evaluated, in order, as on the interpreter
        tc, tm = fn.temp(), fn.temp()
        fn.line(f"{tc} = {c}")
        fn.line(f"{tm} = {msg}")
        c, msg = tc, tm
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
    O.MKARRAY: op_mkarray, O.MKSTRUCT: op_mkstruct, O.MKVARIANT: op_mkvariant, O.TAG: op_tag,
    O.PAYLOAD: op_payload, O.GETFIELD: op_getfield, O.SETFIELD: op_setfield, O.AGET: op_aget,
    O.ASET: op_aset, O.MGET: op_mget, O.MSET: op_mset, O.ALEN: op_alen, O.CALL: op_call,
    O.CALL_HOST: op_call_host, O.RET: op_ret, O.IF: op_if, O.ELSE: op_else, O.END: op_end,
    O.LOOP: op_loop, O.BREAK: op_break, O.CONTINUE: op_continue, O.BREAK_IFNOT: op_break_ifnot,
    O.REQUIRE: op_require, O.TRAP: op_trap, O.EMIT: op_emit,
}
