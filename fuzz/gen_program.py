"""Grammar-aware generation of well-typed CCL programs, deterministic from an integer seed.

The generator keeps a typed environment (variables in scope, functions, structs, enums) and
writes only expressions of the type the context asks for, so most programs pass `ccl check`;
what they do at run time (overflow, out-of-range index, missing key, failed requirement, deep
recursion, running out of gas) is left to chance, which is the point: both engines must agree
on every one of those outcomes.

Types are small tuples: ("Int",), ("Bool",), ("Str",), ("Array", t), ("Map", k, v),
("Option", t), ("Struct", name), ("Enum", name).
"""

from __future__ import annotations

import random

INT = ("Int",)
BOOL = ("Bool",)
STR = ("Str",)

EDGE_INTS = [0, 1, -1, 2, 7, -7, 10, 100, 255, 1000, 2**31, 2**62, 2**63 - 1, -(2**63) + 1, 3_037_000_499,
             3_037_000_500, -(2**62)]
WORDS = ["", "a", "ab", "abc", "x y", " pad ", "Ana", "bo", "{}", "{} and {}", "é", "ünï", "日本", "\\n", "\\t",
         "\\\"q\\\"", "\\u{1F600}", "a,b,c", ",", "did:key:z6Mkf", "AbC", "aaaa"]
DIDS = ["did:key:z6MkhaXgBZDvot", "did:web:coop.example", "did:key:z6Mkf"]


def render(t) -> str:
    k = t[0]
    if k == "Int":
        return "Integer"
    if k == "Bool":
        return "Bool"
    if k == "Str":
        return "String"
    if k == "Array":
        return f"Array<{render(t[1])}>"
    if k == "Map":
        return f"Map<{render(t[1])}, {render(t[2])}>"
    if k == "Option":
        return f"Option<{render(t[1])}>"
    return t[1]


class Program:
    """One program under construction."""

    def __init__(self, rng: random.Random, size: int):
        self.r = rng
        self.size = size               # rough budget: bigger → deeper expressions, more statements
        self.structs: dict[str, list] = {}
        self.enums: dict[str, list] = {}
        self.fns: list[tuple[str, list, tuple]] = []    # name, param types, return type
        self.events: dict[str, list] = {}
        self.counter = 0
        self.scopes: list[dict] = []
        self.loop_depth = 0
        self.ret = INT
        self.readonly: set[str] = set()
        self.budget = 0

    # ------------------------------------------------------------ helpers
    def fresh(self, prefix="v") -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def chance(self, p: float) -> bool:
        return self.r.random() < p

    def vars_of(self, t, writable=False) -> list[str]:
        out = []
        for scope in self.scopes:
            for name, vt in scope.items():
                if vt == t and not (writable and name in self.readonly):
                    out.append(name)
        return out

    def all_vars(self) -> list[tuple[str, tuple]]:
        return [(n, t) for s in self.scopes for n, t in s.items()]

    def declare(self, name, t) -> None:
        self.scopes[-1][name] = t

    def rand_type(self, depth=0, key=False):
        if key:
            return self.r.choice([INT, STR])
        choices = [INT, INT, INT, BOOL, STR, STR]
        if depth < 2:
            choices += ["Array", "Array", "Map", "Option"]
            if self.structs:
                choices.append("Struct")
            if self.enums:
                choices.append("Enum")
        c = self.r.choice(choices)
        if c == "Array":
            return ("Array", self.rand_type(depth + 1))
        if c == "Map":
            return ("Map", self.rand_type(depth + 1, key=True), self.rand_type(depth + 1))
        if c == "Option":
            return ("Option", self.rand_type(depth + 1))
        if c == "Struct":
            return ("Struct", self.r.choice(sorted(self.structs)))
        if c == "Enum":
            return ("Enum", self.r.choice(sorted(self.enums)))
        return c

    # ------------------------------------------------------------ literals
    def int_lit(self) -> str:
        if self.chance(0.15):
            v = self.r.choice(EDGE_INTS)
        else:
            v = self.r.randint(-5, 20)
        if v < 0:
            return f"({v})" if v != -(2**63) + 1 else "(-9223372036854775807)"
        if v > 999 and self.chance(0.3):
            return f"{v:_}"
        return str(v)

    def str_lit(self) -> str:
        return '"' + self.r.choice(WORDS) + '"'

    # ------------------------------------------------------------ expressions
    def expr(self, t, d: int) -> str:
        self.budget -= 1
        leaf = d <= 0 or self.budget <= 0 or self.chance(0.25)
        names = self.vars_of(t)
        if names and self.chance(0.5 if leaf else 0.2):
            return self.r.choice(names)
        k = t[0]
        if k == "Int":
            return self.int_expr(d, leaf)
        if k == "Bool":
            return self.bool_expr(d, leaf)
        if k == "Str":
            return self.str_expr(d, leaf)
        if k == "Array":
            return self.array_expr(t, d, leaf)
        if k == "Map":
            return self.map_expr(t, d, leaf)
        if k == "Option":
            return self.option_expr(t, d, leaf)
        if k == "Struct":
            return self.struct_expr(t, d, leaf)
        return self.enum_expr(t, d, leaf)

    def common(self, t, d):
        """Forms that give any type: a call, a field, an index, a match, unwrap_or."""
        opts = []
        fns = [f for f in self.fns if f[2] == t]
        if fns:
            opts.append("call")
        fields = [(s, f) for s, fs in self.structs.items() for f, ft in fs if ft == t]
        if fields:
            opts.append("field")
        opts += ["index", "match", "unwrap_or", "mapidx"]
        c = self.r.choice(opts)
        if c == "call":
            name, params, _ = self.r.choice(fns)
            return f"{name}({', '.join(self.expr(p, d - 1) for p in params)})"
        if c == "field":
            s, f = self.r.choice(fields)
            return f"{self.expr(('Struct', s), d - 1)}.{f}"
        if c == "index":
            return f"{self.expr(('Array', t), d - 1)}[{self.index_expr(d - 1)}]"
        if c == "mapidx":
            kt = self.rand_type(key=True)
            return f"{self.expr(('Map', kt, t), d - 1)}[{self.expr(kt, d - 1)}]"
        if c == "unwrap_or":
            return f"unwrap_or({self.expr(('Option', t), d - 1)}, {self.expr(t, d - 1)})"
        return self.match_expr(t, d)

    def index_expr(self, d):
        if self.chance(0.7):
            return str(self.r.choice([0, 0, 1, 1, 2, 3, -1]))
        return self.expr(INT, d)

    def match_expr(self, t, d):
        kind = self.r.choice(["option", "enum", "int", "bool", "str"] if self.enums else
                             ["option", "int", "bool", "str"])
        if kind == "option":
            inner = self.rand_type(1)
            scrut = self.expr(("Option", inner), d - 1)
            x = self.fresh("m")
            self.scopes.append({x: inner})
            some = self.expr(t, d - 1)
            self.scopes.pop()
            arms = [f"Some({x}) => {some}", f"None => {self.expr(t, d - 1)}"]
            if self.chance(0.3):
                arms.reverse()
            return f"match {scrut} {{ {', '.join(arms)} }}"
        if kind == "enum":
            name = self.r.choice(sorted(self.enums))
            scrut = self.expr(("Enum", name), d - 1)
            arms = []
            for vname, payload in self.enums[name]:
                if self.chance(0.15):
                    continue
                if payload:
                    binds = [self.fresh("m") if self.r.random() < 0.8 else "_" for _ in payload]
                    self.scopes.append({b: p for b, p in zip(binds, payload) if b != "_"})
                    guard = f" if {self.expr(BOOL, d - 2)}" if self.chance(0.15) else ""
                    body = self.expr(t, d - 1)
                    self.scopes.pop()
                    pats = ", ".join(binds)
                    arms.append(f"{name}::{vname}({pats}){guard} => {body}")
                else:
                    arms.append(f"{name}::{vname} => {self.expr(t, d - 1)}")
            if self.chance(0.6) or not arms:
                arms.append(f"_ => {self.expr(t, d - 1)}")
            return f"match {scrut} {{ {', '.join(arms)} }}"
        if kind == "int":
            scrut = self.expr(INT, d - 1)
            arms = [f"{self.r.randint(-2, 5)} => {self.expr(t, d - 1)}" for _ in range(self.r.randint(1, 3))]
            arms.append(f"_ => {self.expr(t, d - 1)}")
            return f"match {scrut} {{ {', '.join(arms)} }}"
        if kind == "bool":
            return f"match {self.expr(BOOL, d - 1)} {{ true => {self.expr(t, d - 1)}, false => {self.expr(t, d - 1)} }}"
        scrut = self.expr(STR, d - 1)
        arms = [f"{self.str_lit()} => {self.expr(t, d - 1)}"]
        x = self.fresh("m")
        self.scopes.append({x: STR})
        arms.append(f"{x} => {self.expr(t, d - 1)}")
        self.scopes.pop()
        return f"match {scrut} {{ {', '.join(arms)} }}"

    def int_expr(self, d, leaf):
        if leaf:
            return self.int_lit()
        c = self.r.randrange(20)
        e = self.expr
        if c < 6:
            op = self.r.choice(["+", "-", "*", "/", "%", "+", "-"])
            return f"({e(INT, d - 1)} {op} {e(INT, d - 1)})"
        if c == 6:
            return f"(-{e(INT, d - 1)})"
        if c == 7:
            a = self.r.choice(["array_len", "array_length", "len"])
            arr = e(("Array", self.rand_type(1)), d - 1)
            return f"{arr}.length()" if a == "len" else f"{a}({arr})"
        if c == 8:
            s = e(STR, d - 1)
            return f"{s}.length()" if self.chance(0.5) else f"string_length({s})"
        if c == 9:
            f = self.r.choice(["abs", "min", "max", "percentage", "apply_percentage", "sqrt", "days", "hours",
                               "add_duration"])
            n = 1 if f in ("abs", "sqrt", "days", "hours") else 2
            return f"{f}({', '.join(e(INT, d - 1) for _ in range(n))})"
        if c == 10:
            return f"pow({e(INT, d - 1)}, {self.r.choice(['0', '1', '2', '3', '10', '63', '64', e(INT, d - 1)])})"
        if c == 11:
            return f"sum({e(('Array', INT), d - 1)})"
        if c == 12:
            m = e(("Map", self.rand_type(key=True), self.rand_type(1)), d - 1)
            return f"map_size({m})"
        if c == 13:
            a = e(("Array", INT), d - 1)
            return f"{a}.push({e(INT, d - 1)})" if self.chance(0.5) else f"array_push({a}, {e(INT, d - 1)})"
        if c == 14 and not self.r.randrange(4):
            return self.r.choice(["now()", "host_get_current_time()"])
        return self.common(INT, d)

    def bool_expr(self, d, leaf):
        if leaf:
            return self.r.choice(["true", "false"])
        c = self.r.randrange(14)
        e = self.expr
        if c < 3:
            t = self.r.choice([INT, INT, STR])
            return f"({e(t, d - 1)} {self.r.choice(['<', '<=', '>', '>='])} {e(t, d - 1)})"
        if c < 5:
            t = self.rand_type(1)
            return f"({e(t, d - 1)} {self.r.choice(['==', '!='])} {e(t, d - 1)})"
        if c < 7:
            return f"({e(BOOL, d - 1)} {self.r.choice(['&&', '||'])} {e(BOOL, d - 1)})"
        if c == 7:
            return f"!{e(BOOL, d - 1)}"
        if c == 8:
            t = self.rand_type(1)
            return f"array_contains({e(('Array', t), d - 1)}, {e(t, d - 1)})"
        if c == 9:
            kt = self.rand_type(key=True)
            return f"map_contains_key({e(('Map', kt, self.rand_type(1)), d - 1)}, {e(kt, d - 1)})"
        if c == 10:
            s, p = e(STR, d - 1), e(STR, d - 1)
            return f"{s}.contains({p})" if self.chance(0.5) else f"string_contains({s}, {p})"
        if c == 11:
            f = self.r.choice(["is_some", "is_none"])
            return f"{f}({e(('Option', self.rand_type(1)), d - 1)})"
        if c == 12:
            return f"is_valid_did({e(STR, d - 1)})"
        return self.common(BOOL, d)

    def str_expr(self, d, leaf):
        if leaf:
            return self.str_lit()
        c = self.r.randrange(15)
        e = self.expr
        if c < 3:
            return f"({e(STR, d - 1)} + {e(STR, d - 1)})"
        if c == 3:
            return f"to_string({e(INT, d - 1)})"
        if c == 4:
            s = e(STR, d - 1)
            a, b = self.index_expr(d - 1), self.index_expr(d - 1)
            return f"{s}.substring({a}, {b})" if self.chance(0.5) else f"string_substring({s}, {a}, {b})"
        if c == 5:
            f = self.r.choice(["to_upper", "to_lower", "trim"])
            s = e(STR, d - 1)
            return f"{s}.{f}()" if self.chance(0.5) else f"string_{f}({s})"
        if c == 6:
            s, a, b = e(STR, d - 1), e(STR, d - 1), e(STR, d - 1)
            return f"{s}.replace({a}, {b})" if self.chance(0.5) else f"string_replace({s}, {a}, {b})"
        if c == 7:
            n = self.r.randint(0, 3)
            tmpl = " ".join(["{}"] * n + ([self.r.choice(WORDS)] if self.chance(0.5) else []))
            if self.chance(0.1):
                n += self.r.choice([-1, 1]) if n else 1
            args = ", ".join(e(STR, d - 1) for _ in range(n))
            return f'string_format("{tmpl}", [{args}])' if n else f'string_format("{tmpl}", {e(("Array", STR), d - 1)})'
        if c == 8:
            return f"{self.r.choice(['hash', 'hash_sha256', 'calculate_cid'])}({e(STR, d - 1)})"
        if c == 9:
            return f"string_concat({e(STR, d - 1)}, {e(STR, d - 1)})"
        if c == 10 and self.chance(0.3):
            return self.r.choice(["did_to_string(caller())", "did_to_string(host_get_caller())",
                                  f"did_to_string({self.r.choice(DIDS)})"])
        return self.common(STR, d)

    def array_expr(self, t, d, leaf):
        inner = t[1]
        c = self.r.randrange(8)
        if leaf or c < 4:
            n = self.r.randint(1, 4 if not leaf else 2)
            return "[" + ", ".join(self.expr(inner, d - 1) for _ in range(n)) + "]"
        if c == 4:
            return f"array_slice({self.expr(t, d - 1)}, {self.index_expr(d - 1)}, {self.index_expr(d - 1)})"
        if c == 5 and inner == STR:
            s, p = self.expr(STR, d - 1), self.expr(STR, d - 1)
            return f"{s}.split({p})" if self.chance(0.5) else f"string_split({s}, {p})"
        return self.common(t, d)

    def map_expr(self, t, d, leaf):
        if leaf or self.chance(0.5):
            return self.common(t, d) if not leaf and self.vars_of(t) else self.fresh_map(t, d)
        return f"map_insert({self.expr(t, d - 1)}, {self.expr(t[1], d - 1)}, {self.expr(t[2], d - 1)})"

    def fresh_map(self, t, d):
        # map_new() takes its type from context: only directly where the type is known
        return f"map_insert(map_insert(map_new(), {self.expr(t[1], 0)}, {self.expr(t[2], 0)}), " \
               f"{self.expr(t[1], 0)}, {self.expr(t[2], 0)})"

    def option_expr(self, t, d, leaf):
        c = self.r.randrange(8)
        if leaf or c < 3:
            return f"Some({self.expr(t[1], d - 1)})"
        if c == 3:
            kt = self.rand_type(key=True)
            return f"map_get({self.expr(('Map', kt, t[1]), d - 1)}, {self.expr(kt, d - 1)})"
        if c == 4:
            a = self.expr(("Array", t[1]), d - 1)
            return f"{a}.pop()" if self.chance(0.5) else f"array_pop({a})"
        if c == 5:
            kt = self.rand_type(key=True)
            return f"map_remove({self.expr(('Map', kt, t[1]), d - 1)}, {self.expr(kt, d - 1)})"
        return self.common(t, d)

    def struct_expr(self, t, d, leaf):
        if leaf or self.chance(0.6):
            fields = self.structs[t[1]]
            order = list(fields)
            if self.chance(0.3):
                self.r.shuffle(order)
            # parenthesized: a struct literal may not stand bare in an if/while/for/match head
            return f"({t[1]} {{ " + ", ".join(f"{f}: {self.expr(ft, d - 1)}" for f, ft in order) + " })"
        return self.common(t, d)

    def enum_expr(self, t, d, leaf):
        if leaf or self.chance(0.6):
            vname, payload = self.r.choice(self.enums[t[1]])
            if payload:
                return f"{t[1]}::{vname}(" + ", ".join(self.expr(p, d - 1) for p in payload) + ")"
            return f"{t[1]}::{vname}"
        return self.common(t, d)

    # ------------------------------------------------------------ statements
    def lvalue(self, d):
        """(text, type) of something assignable."""
        opts = [(n, t) for n, t in self.all_vars() if n not in self.readonly]
        if not opts:
            return None
        name, t = self.r.choice(opts)
        text = name
        for _ in range(self.r.randint(0, 2)):
            if t[0] == "Struct" and self.structs[t[1]]:
                f, ft = self.r.choice(self.structs[t[1]])
                text, t = f"{text}.{f}", ft
            elif t[0] == "Array":
                text, t = f"{text}[{self.index_expr(d - 1)}]", t[1]
            elif t[0] == "Map":
                text, t = f"{text}[{self.expr(t[1], d - 1)}]", t[2]
            else:
                break
        return text, t

    def block(self, d, n) -> str:
        self.scopes.append({})
        out = [self.stmt(d) for _ in range(n)]
        self.scopes.pop()
        return "{ " + " ".join(s for s in out if s) + " }"

    def stmt(self, d) -> str:
        self.budget -= 1
        c = self.r.randrange(22)
        ed = max(1, min(3, d))
        if c < 5 or self.budget <= 0:
            t = self.rand_type()
            name = self.fresh()
            if t[0] == "Map" and self.chance(0.6):
                value = "map_new()"
                text = f"let {name}: {render(t)} = {value};"
            elif t[0] == "Array" and self.chance(0.2):
                text = f"let {name}: {render(t)} = [];"
            elif t[0] == "Option" and self.chance(0.2):
                text = f"let {name}: {render(t)} = None;"
            else:
                value = self.expr(t, ed)
                text = f"let {name}: {render(t)} = {value};" if self.chance(0.4) else f"let {name} = {value};"
            self.declare(name, t)
            return text
        if c < 9:
            lv = self.lvalue(ed)
            if lv is None:
                return ""
            text, t = lv
            if t == INT and self.chance(0.3):
                return f"{text} {self.r.choice(['+=', '-=', '*=', '/=', '%='])} {self.expr(INT, ed)};"
            return f"{text} = {self.expr(t, ed)};"
        if c < 11 and d > 0:
            s = f"if {self.expr(BOOL, ed)} {self.block(d - 1, self.r.randint(1, 3))}"
            if self.chance(0.5):
                s += f" else {self.block(d - 1, self.r.randint(1, 3))}"
            elif self.chance(0.2):
                s += f" else if {self.expr(BOOL, ed)} {self.block(d - 1, self.r.randint(1, 2))}"
            return s
        if c == 11 and d > 0:
            i = self.fresh("i")
            bound = self.r.choice(["0", "1", "3", "5", "20", self.expr(INT, 1)])
            self.loop_depth += 1
            self.scopes.append({i: INT})
            body = [self.stmt(d - 1) for _ in range(self.r.randint(1, 3))]
            self.scopes.pop()
            self.loop_depth -= 1
            return f"let {i} = 0; while {i} < {bound} {{ {i} = {i} + 1; {' '.join(body)} }}"
        if c == 12 and d > 0:
            x = self.fresh("x")
            t = self.rand_type(1)
            arr = self.expr(("Array", t), ed)
            self.loop_depth += 1
            self.scopes.append({x: t})
            self.readonly.add(x)
            body = [self.stmt(d - 1) for _ in range(self.r.randint(1, 3))]
            self.scopes.pop()
            self.loop_depth -= 1
            return f"for {x} in {arr} {{ {' '.join(body)} }}"
        if c == 13 and self.loop_depth:
            return f"if {self.expr(BOOL, 1)} {{ {self.r.choice(['break;', 'continue;'])} }}"
        if c == 14:
            msg = self.expr(STR, 1) if self.chance(0.5) else self.str_lit()
            return f"require({self.expr(BOOL, ed)}, {msg});" if self.chance(0.9) else f"require({self.expr(BOOL, ed)});"
        if c == 15:
            name = self.r.choice(sorted(self.events)) if self.events and self.chance(0.7) else None
            if name is None:
                name = f"Ev{len(self.events)}"
                self.events[name] = [(f"f{i}", self.rand_type(1)) for i in range(self.r.randint(0, 3))]
            fields = ", ".join(f"{f}: {self.expr(t, ed)}" for f, t in self.events[name])
            return f"emit {name} {{ {fields} }};"
        if c == 16:
            t = self.rand_type(1)
            a = self.expr(("Array", t), ed)
            return f"{a}.push({self.expr(t, ed)});" if self.chance(0.5) else f"array_push({a}, {self.expr(t, ed)});"
        if c == 17:
            kt, vt = self.rand_type(key=True), self.rand_type(1)
            return f"map_insert({self.expr(('Map', kt, vt), ed)}, {self.expr(kt, ed)}, {self.expr(vt, ed)});"
        if c == 18 and self.chance(0.2):
            return f"log({self.expr(STR, ed)});"
        if c == 19 and d > 0 and self.chance(0.4):
            return f"if {self.expr(BOOL, ed)} {{ return {self.expr(self.ret, ed)}; }}"
        if c == 20:
            return f"{self.expr(self.rand_type(), ed)};"
        return f"{self.common(self.rand_type(1), ed)};"

    # ------------------------------------------------------------ declarations
    def function(self, name, params, ret, recursive_on=None) -> str:
        self.scopes = [dict(params)]
        self.readonly = set()
        self.ret = ret
        self.loop_depth = 0
        self.budget = self.size * 6
        body = []
        if recursive_on:
            n = recursive_on
            base = self.expr(ret, 2)
            body.append(f"if {n} <= 0 {{ return {base}; }}")
        for _ in range(self.r.randint(1, 2 + self.size)):
            body.append(self.stmt(min(3, 1 + self.size // 2)))
        tail = self.expr(ret, min(3, 1 + self.size // 2))
        if self.chance(0.2):
            # a final if/else whose branches both return, or give the value
            c = self.expr(BOOL, 2)
            if self.chance(0.5):
                tail = f"if {c} {{ return {tail}; }} else {{ return {self.expr(ret, 2)}; }}"
            else:
                tail = f"if {c} {{ {tail} }} else {{ {self.expr(ret, 2)} }}"
        elif self.chance(0.2):
            tail = f"return {tail};"
        body.append(tail)
        sig = ", ".join(f"{p}: {render(t)}" for p, t in params)
        return f"fn {name}({sig}) -> {render(ret)} {{\n    " + "\n    ".join(s for s in body if s) + "\n}"

    def generate(self) -> str:
        r = self.r
        out = []
        for i in range(r.randint(0, 2)):
            name = f"S{i}"
            fields = [(f"a{j}", self.rand_type(1)) for j in range(r.randint(1, 3))]
            self.structs[name] = fields
            out.append(f"struct {name} {{ " + ", ".join(f"{f}: {render(t)}" for f, t in fields) + " }")
        for i in range(r.randint(0, 2)):
            name = f"E{i}"
            variants = []
            for j in range(r.randint(1, 3)):
                payload = [self.rand_type(1) for _ in range(r.choice([0, 0, 1, 1, 2]))]
                variants.append((f"V{j}", payload))
            self.enums[name] = variants
            out.append(f"enum {name} {{ " + ", ".join(
                v + (f"({', '.join(render(t) for t in p)})" if p else "") for v, p in variants) + " }")
        sigs = []
        for i in range(r.randint(0, 1 + self.size // 2)):
            params = [(f"p{j}", self.rand_type(1)) for j in range(r.randint(0, 3))]
            rec = None
            if self.chance(0.3):
                params.insert(0, ("n", INT))
                rec = "n"
            sigs.append((f"f{i}", params, self.rand_type(1), rec))
        # functions may call any function (recursion included); declared order is free
        self.fns = [(n, [t for _, t in ps], ret) for n, ps, ret, _ in sigs]
        if self.chance(0.25):
            out.extend(self.recursive_types())
        for name, params, ret, rec in sigs:
            out.append(self.function(name, params, ret, rec))
        run_ret = self.rand_type(1)
        out.append(self.function("run", [], run_ret))
        return "\n".join(out) + "\n"


    def recursive_types(self) -> list[str]:
        """A recursive struct and enum, built from themselves in a loop (the typed verifier first
        refused these), compared and walked; `rbuild(n)` is callable from the random code."""
        self.fns.append(("rbuild", [INT], INT))
        op = self.r.choice(["==", "!="])
        return [
            "struct R0 { v: Integer, kids: Array<R0>, next: Option<R0> }",
            "enum L0 { Nil, Cons(Integer, L0), Pair(L0, L0) }",
            "fn rdepth(l: L0) -> Integer { match l { L0::Nil => 0, L0::Cons(_, t) => 1 + rdepth(t), "
            "L0::Pair(a, b) => max(rdepth(a), rdepth(b)) } }",
            "fn rbuild(n: Integer) -> Integer {\n"
            "    let a = R0 { v: 0, kids: [], next: None }; let l = L0::Nil; let i = 0;\n"
            "    while i < n { a = R0 { v: i, kids: [a, a], next: Some(a) };"
            " if i % 2 == 0 { l = L0::Cons(i, l); } else { l = L0::Pair(l, l); } i = i + 1; }\n"
            "    let m: Map<Integer, R0> = map_new(); m[0] = a; m[0].v = m[0].v + 1;\n"
            f"    let same = 0; if a {op} m[0] {{ same = 1; }}\n"
            "    a.kids.len() + m[0].v + rdepth(l) + same\n"
            "}",
        ]


def generate(seed: int, size: int | None = None) -> str:
    rng = random.Random(f"ccl-fuzz-program-{seed}")
    if size is None:
        size = rng.choice([1, 1, 2, 2, 3, 4])
    return Program(rng, size).generate()
