"""Source text → AST.

Owns the Lark parser (built once, lazily) and the callbacks that build AST nodes while the
LALR parser reduces — no parse tree is ever materialized and nothing here recurses, so hostile
input cannot raise RecursionError. Before Lark sees the text, `precheck` bounds its size and
bracket nesting (strings and comments skipped); during the build, expression depth is bounded.
Imports ccl.diag, ccl.limits and ccl.syntax.ast only.
"""

from __future__ import annotations

import attrs
import re
import threading
from functools import lru_cache
from importlib import resources
from typing import cast

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from ccl import limits
from ccl.diag import CclError, Span, did_you_mean, error, lone_surrogate
from ccl.syntax import ast as A

# ---------------------------------------------------------------- prechecks

_PRE = re.compile(r'"(?:\\.|[^"\\])*"|//[^\n]*|/\*.*?\*/|[()\[\]{}\n]', re.S)


def precheck(text: str, file: str) -> None:
    """Reject oversize sources and over-deep bracket nesting before building anything."""
    size = len(text.encode("utf-8", "surrogatepass"))
    at = lone_surrogate(text)           # only a str handed in (the HTTP API) can hold one
    if at is not None:
        line = text.count("\n", 0, at) + 1
        col = at - (text.rfind("\n", 0, at) + 1) + 1
        raise error("E0107", "source holds a lone surrogate (U+D800–U+DFFF), which is not Unicode text",
                    Span(file, line, col), "send the source as valid UTF-8")
    if size > limits.source_bytes_max:
        raise error("L0500", f"source is {size} bytes; the limit is {limits.source_bytes_max}",
                    Span(file, 1, 1), "split the contract into files joined with `import`")
    depth = 0
    line = 1
    line_start = 0
    for m in _PRE.finditer(text):
        c = m.group()
        if c == "\n":
            line += 1
            line_start = m.end()
        elif c in "([{":
            depth += 1
            if depth > limits.nesting_depth_max:
                col = m.start() - line_start + 1
                raise error("L0501", f"brackets nested more than {limits.nesting_depth_max} deep",
                            Span(file, line, col, line, col + 1),
                            "move inner blocks into their own functions")
        elif c in ")]}":
            depth = max(depth - 1, 0)
        else:
            line += c.count("\n")
            if "\n" in c:
                line_start = m.start() + c.rindex("\n") + 1


# ---------------------------------------------------------------- node building

def _shorten(text: str) -> str:
    """A literal quoted in a message: long ones by their ends and length."""
    return text if len(text) <= 40 else f"{text[:12]}…{text[-12:]} ({len(text)} characters)"


def _tok_span(file, t: Token) -> Span:
    # the lexer positions every token it makes (lark types the fields Optional for hand-made ones)
    return Span(file, cast(int, t.line), cast(int, t.column), cast(int, t.end_line), cast(int, t.end_column))


_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r"}
_ESCAPE_RE = re.compile(r"\\(u\{[0-9A-Fa-f]{1,6}\}|.)", re.S)


class _Names(tuple):
    """The names of a `can: [...]` list, with the span of each (for diagnostics)."""

    def __new__(cls, file, toks):
        names = super().__new__(cls, (t.value for t in toks))
        names.spans = tuple(_tok_span(file, t) for t in toks)
        return names


class _Build(Transformer):
    """Callbacks named after grammar rules and aliases; each returns an AST node."""

    def __init__(self, file: str):
        super().__init__(visit_tokens=False)
        self.file = file
        self.depth: dict[int, int] = {}

    # -- helpers
    def sp(self, ch) -> Span:
        first = last = None
        for c in ch:
            if c is not None:
                first = c
                break
        for c in reversed(ch):
            if c is not None:
                last = c
                break
        if first is None or last is None:           # both or neither
            return Span(self.file)
        a = _tok_span(self.file, first) if isinstance(first, Token) else first.span
        b = _tok_span(self.file, last) if isinstance(last, Token) else last.span
        return Span(self.file, a.line, a.col, b.end_line, b.end_col)

    @staticmethod
    def nodes(ch):
        return [c for c in ch if c is not None and not isinstance(c, Token)]

    @staticmethod
    def tokens(ch, kind):
        return [c for c in ch if isinstance(c, Token) and c.type == kind]

    def deep(self, node, *kids):
        d = 1 + max((self.depth.get(id(k), 0) for k in kids if k is not None), default=0)
        if d > limits.expression_depth_max:
            raise error("L0501", f"expression nested more than {limits.expression_depth_max} deep",
                        node.span, "compute parts in `let` statements")
        self.depth[id(node)] = d
        return node

    def string_value(self, t: Token) -> str:
        raw = t.value[1:-1]
        if "\\" not in raw:
            return raw

        def repl(m):
            e = m.group(1)
            if e in _ESCAPES:
                return _ESCAPES[e]
            if e.startswith("u{"):
                cp = int(e[2:-1], 16)
                if cp <= 0x10FFFF and not 0xD800 <= cp <= 0xDFFF:
                    return chr(cp)
            before = t.value[: m.start() + 1]
            line = t.line + before.count("\n")
            col = (len(before) - before.rindex("\n")) if "\n" in before else t.column + m.start() + 1
            raise error("E0102", f"invalid escape `\\{e}` in string",
                        Span(self.file, line, col, line, col + len(e) + 1),
                        'allowed escapes: \\" \\\\ \\n \\t \\r \\u{hex}')

        return _ESCAPE_RE.sub(repl, raw)

    def int_value(self, t: Token) -> int:
        digits = t.value.replace("_", "").lstrip("0") or "0"
        # at most 19 digits reach int(): Python refuses over 4,300, and nothing that long fits
        v = int(digits) if len(digits) <= 19 else None
        if v is None or v > 2**63:
            raise error("E0103", f"integer literal {_shorten(t.value)} does not fit in 64 bits",
                        _tok_span(self.file, t), f"the largest Integer is {limits.int_max}")
        return v

    def small_int(self, text: str, t: Token, what: str, largest: int) -> int:
        """A number inside a declaration (a percentage, a fraction's part), at most `largest`."""
        digits = text.lstrip("0") or "0"
        if len(digits) > len(str(largest)) or int(digits) > largest:
            raise error("E0109", f"{what} {_shorten(text)} is too large", _tok_span(self.file, t),
                        f"the largest is {largest}")
        return int(digits)

    # -- top level
    def start(self, ch):
        items = tuple(self.nodes(ch))
        return A.Module(file=self.file, items=items, span=Span(self.file, 1, 1))

    def import_decl(self, ch):
        s = self.tokens(ch, "STRING")[0]
        names = self.tokens(ch, "NAME")
        return A.Import(path=self.string_value(s), alias=names[0].value if names else None, span=self.sp(ch))

    def const_decl(self, ch):
        name = self.tokens(ch, "NAME")[0].value
        typ, value = self.nodes(ch)
        return A.Const(name=name, type=typ, value=value, span=self.sp(ch))

    def field(self, ch):
        return A.Field(name=ch[0].value, type=ch[2], span=self.sp(ch))

    def struct_decl(self, ch):
        ns = self.nodes(ch)
        tparams = next((n for n in ns if isinstance(n, tuple)), ())
        return A.Struct(name=ch[1].value, type_params=tparams,
                        fields=tuple(n for n in ns if isinstance(n, A.Field)), span=self.sp(ch))

    def variant(self, ch):
        return A.Variant(name=ch[0].value, types=tuple(self.nodes(ch)), span=self.sp(ch))

    def enum_decl(self, ch):
        ns = self.nodes(ch)
        tparams = next((n for n in ns if isinstance(n, tuple)), ())
        return A.Enum(name=ch[1].value, type_params=tparams,
                      variants=tuple(n for n in ns if isinstance(n, A.Variant)), span=self.sp(ch))

    def type_params(self, ch):
        return tuple(n for n in self.nodes(ch))

    def type_param(self, ch):
        return ch[0].value

    def param(self, ch):
        return A.Param(name=ch[0].value, type=ch[2], span=self.sp(ch))

    def fn_decl(self, ch):
        is_open = bool(self.tokens(ch, "OPEN"))
        start = ch[:3] if is_open else ch[:2]
        if is_open:
            ch = ch[1:]
        rest = [c for c in ch[2:] if c is not None and not isinstance(c, Token)]
        tparams = ()
        if rest and isinstance(rest[0], tuple):
            tparams = rest.pop(0)
        body = rest.pop()
        params = tuple(r for r in rest if isinstance(r, A.Param))
        ret = next((r for r in rest if isinstance(r, A.TypeName)), None)
        names = self.tokens(ch, "NAME")
        needs = names[1] if self.tokens(ch, "NEEDS") else None
        return A.Fn(name=ch[1].value, type_params=tparams, params=params, ret=ret, body=body,
                    span=self.sp(start), open=is_open, needs=needs.value if needs else None,
                    needs_span=_tok_span(self.file, needs) if needs else None)

    # -- contracts
    def contract_decl(self, ch):
        ns = self.nodes(ch)
        meta = tuple(n for n in ns if isinstance(n, A.Meta))
        items = []
        for n in ns:
            if isinstance(n, A.Meta):
                continue
            if isinstance(n, list):     # a `state { … }` or `metadata { … }` section
                items.extend(n)
            else:
                items.append(n)
        return A.Contract(name=ch[1].value, meta=meta, items=tuple(items), span=self.sp(ch[:2]))

    def contract_meta(self, ch):
        return A.Meta(key=ch[0].value, value=ch[2], span=self.sp(ch))

    meta_field = contract_meta

    def state_decl(self, ch):
        ns = self.nodes(ch)
        return A.State(name=ch[1].value, type=ns[0], init=ns[1] if len(ns) > 1 else None, span=self.sp(ch))

    def state_field(self, ch):
        ns = self.nodes(ch)
        return A.State(name=ch[0].value, type=ns[0], init=ns[1] if len(ns) > 1 else None, span=self.sp(ch))

    def state_section(self, ch):
        return self.nodes(ch)

    def metadata_section(self, ch):
        return self.nodes(ch)

    def init_section(self, ch):
        return A.Init(body=ch[1], span=self.sp(ch))

    def role_decl(self, ch):
        names = self.tokens(ch, "NAME")
        can: list[str] = []
        requires: list = []
        for n in self.nodes(ch):
            if isinstance(n, tuple):
                can.extend(n)
            else:
                requires.extend(n)
        spans = tuple(s for n in self.nodes(ch) if isinstance(n, tuple) for s in n.spans)
        return A.Role(name=names[0].value, extends=names[1].value if len(names) > 1 else None,
                      can=tuple(can), requires=tuple(requires), span=self.sp(ch[:2]),
                      extends_span=_tok_span(self.file, names[1]) if len(names) > 1 else None,
                      can_spans=spans)

    def perm(self, ch):
        """`mint:RIV` as one NAME token (a scoped permission), spanning from its first part."""
        names = self.tokens(ch, "NAME")
        return Token.new_borrow_pos("NAME", ":".join(t.value for t in names), names[0])

    def can_clause(self, ch):
        return _Names(self.file, self.tokens(ch, "NAME"))

    def requires_clause(self, ch):
        return list(self.nodes(ch))

    def requirement(self, ch):
        return A.Requirement(key=ch[0].value, value=ch[2], span=self.sp(ch))

    def proposal_decl(self, ch):
        fields = {}
        params = []
        for n in self.nodes(ch):
            if isinstance(n, A.Param):
                params.append(n)
            else:
                key, value, span = n
                if key in fields:
                    raise error("E0109", f"proposal field `{key}` given twice", span)
                fields[key] = value
        eligible = fields.get("eligible")
        can = fields.get("can")
        return A.Proposal(name=ch[1].value, params=tuple(params), description=fields.get("description"),
                          eligible=eligible.value if eligible else None, duration_s=fields.get("duration"),
                          quorum_pct=fields.get("quorum"), threshold=fields.get("threshold"),
                          execution=fields.get("execution"), span=self.sp(ch[:2]),
                          can=tuple(can) if can is not None else None,
                          can_spans=can.spans if can is not None else (),
                          eligible_span=_tok_span(self.file, eligible) if eligible else None,
                          close_early=bool(fields.get("close_early")))

    def description_field(self, ch):
        return ("description", self.string_value(ch[2]), self.sp(ch))

    def eligible_field(self, ch):
        return ("eligible", ch[2], self.sp(ch))

    def close_early_true(self, ch):
        return ("close_early", True, self.sp(ch))

    def close_early_false(self, ch):
        return ("close_early", False, self.sp(ch))

    def kind_can_field(self, ch):
        return ("can", _Names(self.file, self.tokens(ch, "NAME")), self.sp(ch))

    def duration_field(self, ch):
        return ("duration", ch[2], self.sp(ch))

    def quorum_field(self, ch):
        pct = self.small_int(ch[2].value[:-1], ch[2], "quorum", 10**6)
        if pct > 100:
            raise error("E0109", f"quorum {pct}% is above 100%", self.sp(ch))
        return ("quorum", pct, self.sp(ch))

    def threshold_field(self, ch):
        return ("threshold", ch[2], self.sp(ch))

    def execution_field(self, ch):
        return ("execution", ch[2], self.sp(ch))

    _UNIT_S = {"day": 86400, "hour": 3600, "minute": 60, "second": 1}

    def duration(self, ch):
        unit = ch[1].value.rstrip("s") if ch[1].value != "s" else "second"
        seconds = self.int_value(ch[0]) * self._UNIT_S[unit]
        if seconds > limits.int_max:
            raise error("E0109", f"duration {_shorten(ch[0].value)} {ch[1].value} is too long", self.sp(ch),
                        f"the longest is {limits.int_max} seconds")
        return seconds

    def threshold_majority(self, ch):
        return A.Threshold(kind="majority", numerator=1, denominator=2, span=self.sp(ch))

    def threshold_supermajority(self, ch):
        num, den = (self.small_int(x, ch[2], "supermajority part", limits.int_max)
                    for x in re.split(r"\s*/\s*", ch[2].value))
        if den == 0 or num > den or num == 0:
            raise error("E0109", f"supermajority {num}/{den} is not a fraction between 0 and 1",
                        self.sp(ch))
        return A.Threshold(kind="supermajority", numerator=num, denominator=den, span=self.sp(ch))

    def threshold_consensus(self, ch):
        return A.Threshold(kind="consensus", numerator=1, denominator=1, span=self.sp(ch))

    def threshold_unanimous(self, ch):
        return A.Threshold(kind="unanimous", numerator=1, denominator=1, span=self.sp(ch))

    def class_decl(self, ch):
        return A.Class(name=ch[1].value, fields=tuple(self.nodes(ch)), span=self.sp(ch[:2]))

    def rule_decl(self, ch):
        cond, (action, amount) = self.nodes(ch)
        return A.Rule(name=ch[1].value, cond=cond, action=action, amount=amount, span=self.sp(ch[:2]))

    def rule_allow(self, ch):
        return ("allow", None)

    def rule_deny(self, ch):
        return ("deny", None)

    def rule_charge(self, ch):
        return ("charge", ch[1])

    # -- types
    def named_type(self, ch):
        return A.TypeName(name=ch[0].value, args=tuple(self.nodes(ch)), span=self.sp(ch))

    def array_type(self, ch):
        return A.TypeName(name="Array", args=(ch[1],), span=self.sp(ch))

    # -- statements
    def block(self, ch):
        stmts = self.nodes(ch)
        tail = None
        if stmts and isinstance(stmts[-1], A.ExprStmt) and not stmts[-1].semicolon:
            tail = stmts.pop().expr
        for s in stmts:
            if isinstance(s, A.ExprStmt) and not s.semicolon and not isinstance(s.expr, A.Match):
                raise error("E0108", "this expression needs a `;` after it", s.span,
                            "only a block's last expression may leave out `;` (it is the block's value)")
        return A.Block(stmts=tuple(stmts), tail=tail, span=self.sp(ch))

    def let_stmt(self, ch):
        ns = self.nodes(ch)
        typ = ns[0] if len(ns) == 2 else None
        return A.Let(name=self.tokens(ch, "NAME")[0].value, mutable=bool(self.tokens(ch, "MUT")),
                     type=typ, value=ns[-1], span=self.sp(ch))

    def assign_op(self, ch):
        return ch[0]

    def assign_stmt(self, ch):
        return A.Assign(target=ch[0], op=ch[1].value, value=ch[2], span=self.sp(ch))

    def if_stmt(self, ch):
        ns = self.nodes(ch)
        node = A.If(cond=ns[0], then=ns[1], orelse=ns[2] if len(ns) > 2 else None, span=self.sp(ch))
        return self.deep(node, ns[2] if len(ns) > 2 else None)

    def while_stmt(self, ch):
        return A.While(cond=ch[1], body=ch[2], span=self.sp(ch))

    def for_stmt(self, ch):
        return A.For(var=ch[1].value, iterable=ch[3], body=ch[4], span=self.sp(ch))

    def return_stmt(self, ch):
        ns = self.nodes(ch)
        return A.Return(value=ns[0] if ns else None, span=self.sp(ch))

    def break_stmt(self, ch):
        return A.Break(span=self.sp(ch))

    def continue_stmt(self, ch):
        return A.Continue(span=self.sp(ch))

    def emit_stmt(self, ch):
        return A.Emit(name=ch[1].value, fields=tuple(self.nodes(ch)), span=self.sp(ch))

    def require_stmt(self, ch):
        ns = self.nodes(ch)
        return A.Require(cond=ns[0], message=ns[1] if len(ns) > 1 else None, span=self.sp(ch))

    def expr_stmt(self, ch):
        return A.ExprStmt(expr=ch[0], semicolon=True, span=self.sp(ch))

    def bare_expr_stmt(self, ch):
        return A.ExprStmt(expr=ch[0], semicolon=False, span=self.sp(ch))

    # -- expressions
    def eq_op(self, ch):
        return ch[0]

    cmp_op = add_op = mul_op = unary_op = eq_op

    def binary(self, ch):
        left, op, right = ch
        node = A.Binary(op=op.value, left=left, right=right, span=self.sp(ch))
        return self.deep(node, left, right)

    def unary(self, ch):
        op, operand = ch
        if op.value == "-" and isinstance(operand, A.IntLit) and operand.value > 0:
            return A.IntLit(value=-operand.value, span=self.sp(ch))
        return self.deep(A.Unary(op=op.value, operand=operand, span=self.sp(ch)), operand)

    def call(self, ch):
        callee = ch[0]
        args = tuple(c for c in ch[1:] if c is not None and not isinstance(c, Token))
        return self.deep(A.Call(callee=callee, args=args, span=self.sp(ch)), callee, *args)

    def get_field(self, ch):
        return self.deep(A.GetField(obj=ch[0], name=ch[2].value, span=self.sp(ch)), ch[0])

    def index(self, ch):
        return self.deep(A.Index(obj=ch[0], index=ch[2], span=self.sp(ch)), ch[0], ch[2])

    def try_catch(self, ch):
        handler = ch[3] if len(ch) > 3 else None
        return self.deep(A.TryCatch(expr=ch[1], handler=handler, span=self.sp(ch)), ch[1], handler)

    def atom(self, ch):                   # "(" expr ")"
        return ch[1]

    def int_lit(self, ch):
        return A.IntLit(value=self.int_value(ch[0]), span=self.sp(ch))

    def float_lit(self, ch):
        return A.FloatLit(text=ch[0].value, span=self.sp(ch))

    def string_lit(self, ch):
        return A.StrLit(value=self.string_value(ch[0]), span=self.sp(ch))

    def true_lit(self, ch):
        return A.BoolLit(value=True, span=self.sp(ch))

    def false_lit(self, ch):
        return A.BoolLit(value=False, span=self.sp(ch))

    def did_lit(self, ch):
        return A.DidLit(value=ch[0].value, span=self.sp(ch))

    def name(self, ch):
        return A.Name(name=ch[0].value, span=self.sp(ch))

    def path(self, ch):
        return A.Path(parts=tuple(t.value for t in self.tokens(ch, "NAME")), span=self.sp(ch))

    def state_ref(self, ch):
        return A.StateRef(name=ch[1].value, span=self.sp(ch))

    def array_lit(self, ch):
        items = tuple(self.nodes(ch))
        return self.deep(A.ArrayLit(items=items, span=self.sp(ch)), *items)

    def field_init(self, ch):
        ns = self.nodes(ch)
        value = ns[0] if ns else A.Name(name=ch[0].value, span=_tok_span(self.file, ch[0]))
        return A.FieldInit(name=ch[0].value, value=value, span=self.sp(ch))

    def struct_lit(self, ch):
        fields = tuple(self.nodes(ch))
        return self.deep(A.StructLit(name=ch[0].value, fields=fields, span=self.sp(ch)),
                         *(f.value for f in fields))

    def match_expr(self, ch):
        ns = self.nodes(ch)
        node = A.Match(subject=ns[0], arms=tuple(ns[1:]), span=self.sp(ch))
        return self.deep(node, ns[0], *(a.body for a in ns[1:]))

    def match_arm(self, ch):
        ns = self.nodes(ch)
        pattern, body = ns[0], ns[-1]
        guard = ns[1] if len(ns) == 3 else None
        return A.Arm(pattern=pattern, guard=guard, body=body, span=self.sp(ch))

    def arm_return(self, ch):
        ns = self.nodes(ch)
        return A.ArmReturn(value=ns[0] if ns else None, span=self.sp(ch))

    # -- patterns
    def name_pattern(self, ch):
        return A.NamePattern(name=ch[0].value, span=self.sp(ch))

    def path_pattern(self, ch):
        return A.VariantPattern(parts=tuple(t.value for t in self.tokens(ch, "NAME")), args=(),
                                has_parens=False, span=self.sp(ch))

    def variant_pattern(self, ch):
        return A.VariantPattern(parts=tuple(t.value for t in self.tokens(ch, "NAME")),
                                args=tuple(self.nodes(ch)), has_parens=True, span=self.sp(ch))

    def struct_pattern(self, ch):
        return A.StructPattern(name=ch[0].value, fields=tuple(self.nodes(ch)), span=self.sp(ch))

    def field_pattern(self, ch):
        ns = self.nodes(ch)
        pattern = ns[0] if ns else A.NamePattern(name=ch[0].value, span=_tok_span(self.file, ch[0]))
        return A.FieldPattern(name=ch[0].value, pattern=pattern, span=self.sp(ch))

    def int_pattern(self, ch):
        return A.LitPattern(value=self.int_value(ch[0]), span=self.sp(ch))

    def neg_int_pattern(self, ch):
        return A.LitPattern(value=-self.int_value(ch[1]), span=self.sp(ch))

    def string_pattern(self, ch):
        return A.LitPattern(value=self.string_value(ch[0]), span=self.sp(ch))

    def true_pattern(self, ch):
        return A.LitPattern(value=True, span=self.sp(ch))

    def false_pattern(self, ch):
        return A.LitPattern(value=False, span=self.sp(ch))


# ---------------------------------------------------------------- the parser

def grammar_text() -> str:
    return resources.files("ccl.syntax").joinpath("grammar.lark").read_text(encoding="utf-8")


_BUILD = _Build("<input>")
_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _lark() -> Lark:
    # The AST is built by callbacks during LALR reductions (no parse tree, no recursion). The
    # callbacks belong to one shared _Build; `parse` sets its file under a lock.
    return Lark(grammar_text(), parser="lalr", lexer="contextual", keep_all_tokens=True,
                maybe_placeholders=True, transformer=_BUILD)


# Human names for the regex terminals in "expected …" hints; string terminals show themselves.
_TERMINAL_NAMES = {
    "NAME": "a name", "INT": "an integer", "STRING": "a string", "DID": "a DID", "FLOAT": "a number",
    "PERCENT": "a percentage such as `60%`", "FRACTION": "a fraction such as `2/3`",
    "DURATION_UNIT": "a unit (days, hours, minutes, seconds)",
}


@lru_cache(maxsize=1)
def _terminal_texts() -> dict:
    from lark.lexer import PatternStr

    out = dict(_TERMINAL_NAMES)
    for t in _lark().terminals:
        if isinstance(t.pattern, PatternStr):
            out[t.name] = f"`{t.pattern.value}`"
    return out


def _expected(names) -> str:
    texts = _terminal_texts()
    shown = sorted({texts[n] for n in names if n in texts}, key=lambda x: (not x.startswith("`"), x))
    if not shown:
        return ""
    if len(shown) > 10:
        shown = shown[:10] + ["…"]
    return "expected " + ", ".join(shown)


def _describe(token: Token) -> str:
    if token.type == "$END":
        return "end of file"
    return f"`{token.value}`"


def _convert(e: UnexpectedInput, text: str, file: str) -> CclError:
    line, col = getattr(e, "line", 0) or 0, getattr(e, "column", 0) or 0
    if isinstance(e, UnexpectedCharacters):
        pos = cast(int, e.pos_in_stream)        # set on every UnexpectedCharacters
        if text.startswith('"', pos):
            return error("E0104", "string is not terminated", Span(file, line, col, line, col + 1),
                         'close it with `"`')
        if text.startswith("/*", pos):
            return error("E0105", "block comment is not terminated", Span(file, line, col, line, col + 2),
                         "close it with `*/`")
        ch = text[pos] if pos < len(text) else ""
        hint = ""
        if ch == "'":
            hint = 'strings use double quotes: "text"'
        elif e.allowed:
            hint = _expected(e.allowed)
        return error("E0101", f"unexpected character {ch!r}", Span(file, line, col, line, col + 1), hint)
    if isinstance(e, UnexpectedEOF) or (isinstance(e, UnexpectedToken) and e.token.type == "$END"):
        lines = text.splitlines() or [""]
        last = len(lines)
        expected = getattr(e, "expected", None) or getattr(e, "accepts", None) or ()
        return error("E0106", "unexpected end of file", Span(file, last, len(lines[-1]) + 1),
                     _expected(expected) or "a block or declaration is not closed")
    assert isinstance(e, UnexpectedToken)
    tok = e.token
    if text.startswith("/*", tok.start_pos or 0):
        return error("E0105", "block comment is not terminated", Span(file, tok.line, tok.column, tok.line,
                     tok.column + 2), "close it with `*/`")
    span = Span(file, tok.line, tok.column, tok.end_line or tok.line, tok.end_column or tok.column + 1)
    expected = e.accepts or e.expected or set()
    hint = _expected(expected)
    if tok.type == "FLOAT" or (tok.type == "NAME" and "SEMICOLON" in expected):
        hint = hint or "a `;` may be missing"
    if tok.type == "NAME" and tok.value in ("function", "func", "def"):
        hint = "functions are declared with `fn`"
    elif tok.type == "NAME":
        kw = did_you_mean(tok.value, [n.lower() for n in expected if n.isalpha() and n.isupper()])
        hint = kw or hint
    return error("E0100", f"unexpected {_describe(tok)}", span, hint)


def parse(text: str, file: str = "<input>") -> A.Module:
    """Parse CCL source text into an AST, or raise CclError with a located diagnostic."""
    precheck(text, file)
    return parse_unbounded(text, file)


def parse_unbounded(text: str, file: str = "<input>") -> A.Module:
    """`parse` without the size and bracket prechecks: for bench/frontend.py, which measures
    sources past the size limit. Everything else goes through `parse`."""
    parser = _lark()
    with _LOCK:
        _BUILD.file = file
        _BUILD.depth = {}
        try:
            module = cast(A.Module, parser.parse(text))      # built by _Build.start, not a Tree
            return attrs.evolve(module, size=len(text.encode("utf-8", "surrogatepass")))
        except UnexpectedInput as e:
            raise _convert(e, text, file) from None
        except VisitError as e:                  # raised inside a callback
            if isinstance(e.orig_exc, CclError):
                raise e.orig_exc from None
            raise
        finally:
            _BUILD.depth = {}
