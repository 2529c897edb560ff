"""Checking function bodies: names, types, definite assignment, returns, loops.

One walk per function does the work of the stages `resolve`, `types`, `assign` and `returns`
(they need the same scopes, so they share one traversal; each error names its stage through
its code range). Results go into the Program's side tables keyed by id(node): `type_of`
(expression types), `ref` (what a name, call or operator means) and `slot` (local-variable
slots), which codegen reads and never recomputes. Imports leaves, ccl.syntax, ccl.hosttable
and ccl.check.program.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import attrs

from ccl import limits
from ccl import types as ty
from ccl.check.program import FnInfo, ModuleScope, Program, float_error, resolve_type
from ccl.diag import Span, did_you_mean, error
from ccl.hosttable import HOST_BY_PATH, HOST_INDEX, HOST_TABLE, METHODS
from ccl.syntax import ast as A
from ccl.types import T

CONSTRUCTORS = ("Some", "Ok", "Err")


@attrs.define
class Var:
    slot: int
    type: T
    kind: str            # var | param | loop | pattern


class Cx:
    """The state of checking one function."""

    def __init__(self, program: Program, fn: FnInfo):
        self.program = program
        self.fn = fn
        self.contract = program.contracts.get(fn.contract) if fn.contract else None
        self.vars: dict[str, Var] = {}
        self.scopes: list[dict[str, Var]] = []
        self.flow = Flow()                        # which variables are assigned here
        self.loops: list[dict] = []
        names = fn.type_params
        self.ret = ty.rigid(fn.ret, names) if names else fn.ret
        for name, t in fn.params:
            t = ty.rigid(t, names) if names else t
            self.vars[name] = Var(self.new_slot(name, t), t, "param")
            self.flow.add(name)

    def new_slot(self, name: str, t: T) -> int:
        if len(self.fn.locals) >= limits.locals_per_function_max:
            node = self.fn.node             # None: a contract's state initializers
            raise error("L0501", "too many local variables in one function",
                        node.span if node is not None else Span(self.fn.module.file))
        self.fn.locals.append((name, t))
        return len(self.fn.locals) - 1

    def lookup(self, name: str) -> Optional[Var]:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        return self.vars.get(name)



@attrs.frozen
class BranchEnd:
    """How a branch checked in place ended (Flow.undo)."""

    assigned: list[str]             # what it assigned, in journal order
    live: bool                      # whether its end is reachable


class Flow:
    """Definite assignment at the current point: the names assigned on every path here, and
    whether the point is reachable at all. Branches are checked in place and undone from a
    journal, so a branch costs what it assigns, not the number of variables in scope (copying
    the set at every `if` made checking quadratic)."""

    def __init__(self):
        self.names: set[str] = set()
        self.journal: list[str] = []        # names in the order they were first assigned
        self.live = True                    # False: this point is unreachable

    def add(self, name: str) -> None:
        if self.live and name not in self.names:
            self.names.add(name)
            self.journal.append(name)

    def has(self, name: str) -> bool:
        return not self.live or name in self.names

    def mark(self) -> tuple[int, bool]:
        return len(self.journal), self.live

    def undo(self, mark: tuple[int, bool]) -> BranchEnd:
        """Back to `mark`; returns what the branch since then assigned, and whether its end is
        reachable."""
        at, live = mark
        added = self.journal[at:]
        del self.journal[at:]
        self.names.difference_update(added)
        ended_live = self.live
        self.live = live
        return BranchEnd(added, ended_live)

    def join(self, mark: tuple[int, bool], ends: list[BranchEnd]) -> None:
        """After branches that each started at `mark` (and were undone): assigned is what every
        branch whose end is reachable assigned; unreachable if none is."""
        common: Optional[set[str]] = None
        for end in ends:
            if end.live:
                common = set(end.assigned) if common is None else common.intersection(end.assigned)
        if common is None:
            self.live = False
            return
        for name in ends[[end.live for end in ends].index(True)].assigned:      # journal order
            if name in common:
                self.add(name)


def stage_bodies(program: Program) -> None:
    for fn in list(program.functions):
        check_function(program, fn)
    for state in program.states:
        if state.init is not None:
            init = _initializer_fn(program, state)
            cx = Cx(program, init)
            t = check_expr(state.init, cx, state.type)
            expect(t, state.type, state.init.span, f"state `{state.name}`")
        elif not _has_default(program, state.type):
            raise error("E0202", f"state `{state.name}` of type {state.type} needs an initial value",
                        state.span, f"write `state {state.name}: {state.type} = …;`")
    for contract in program.contracts.values():
        for role in contract.roles:
            for req in role.requires:
                cx = Cx(program, _initializer_fn(program, None, contract.name))
                check_expr(req.value, cx, None)


def _initializer_fn(program, state, contract=None) -> FnInfo:
    """State initializers are checked (and compiled) as parts of a synthetic init function."""
    name = state.contract if state else contract
    fn = program.initializers.get(name)
    if fn is None:
        module = program.contracts[name].module
        fn = FnInfo(f"{name}::<state>", None, module, name, [], ty.UNIT, entry=False)
        program.initializers[name] = fn
    return fn


def _has_default(program, t: T) -> bool:
    return t.name in ("Integer", "Bool", "String", "Did", "Array", "Map", "Option", "Any") or t.kind in ("var", "param")


def check_function(program: Program, fn: FnInfo) -> None:
    cx = Cx(program, fn)
    assert fn.node is not None          # every function has a declaration (initializers are not here)
    body = fn.node.body
    want = cx.ret if cx.ret != ty.UNIT else None
    value = check_block(body, cx, want)
    if want is not None:
        if value is not None:
            expect(value, cx.ret, _value_span(body), f"the result of `{fn.qualname}`")
        elif cx.flow.live:
            raise error("E0208", f"`{fn.qualname}` must return {fn.ret} on every path", _end_span(body),
                        "add a `return` (or a final expression) at the end")


def _end_span(block: A.Block) -> Span:
    s = block.span
    return Span(s.file, s.end_line, max(s.end_col - 1, 1), s.end_line, s.end_col)


def _value_span(block: A.Block) -> Span:
    return block.tail.span if block.tail is not None else block.span


def expect(actual: T, wanted: T, span: Span, what: str) -> None:
    if not ty.assignable(actual, wanted):
        hint = ""
        if wanted == ty.STR and actual == ty.INT:
            hint = "convert with `to_string(x)`"
        elif wanted.name == "Option" and ty.assignable(actual, wanted.args[0]):
            hint = "wrap it: `Some(x)`"
        raise error("E0202", f"{what} should be {wanted}, found {actual}", span, hint)


# ---------------------------------------------------------------- blocks and statements

def check_block(block: A.Block, cx: Cx, want: Optional[T]) -> Optional[T]:
    """Check a block; with `want`, return the type of its value (None if it has none)."""
    stmts = block.stmts
    value_if = None
    if want is not None and block.tail is None and stmts and isinstance(stmts[-1], A.If) \
            and _if_has_value(stmts[-1]):
        value_if = stmts[-1]
        stmts = stmts[:-1]
    for s in stmts:
        check_stmt(s, cx)
    if value_if is not None:
        cx.program.ref[id(block)] = ("if",)
        return check_if(value_if, cx, want)
    if block.tail is not None:
        t = check_expr(block.tail, cx, want, value_used=want is not None)
        cx.program.ref[id(block)] = ("tail",)
        return t if want is not None else None
    return None


def _if_has_value(s: A.If) -> bool:
    if s.orelse is None:
        return False
    branches = [s.then]
    tail = s.orelse
    while isinstance(tail, A.If):
        if tail.orelse is None:
            return False
        branches.append(tail.then)
        tail = tail.orelse
    branches.append(tail)
    return any(b.tail is not None or (b.stmts and isinstance(b.stmts[-1], A.If) and _if_has_value(b.stmts[-1]))
               for b in branches)


def check_stmt(s, cx: Cx) -> None:
    handler = _STMT.get(type(s))
    if handler is None:
        raise error("E0219", f"unsupported statement {type(s).__name__}", s.span)
    handler(s, cx)


def check_let(s: A.Let, cx: Cx) -> None:
    declared = ty.rigid(resolve_type(cx.program, s.type, cx.fn.type_params), cx.fn.type_params) if s.type else None
    existing = cx.lookup(s.name)
    if existing is not None and existing.kind in ("loop",):
        raise error("E0206", f"`{s.name}` is a loop variable and cannot be reassigned", s.span)
    if existing is not None:
        if s.type is not None and declared != existing.type and not ty.is_any(existing.type):
            raise error("E0202", f"`{s.name}` is already a {existing.type}; it cannot become {declared}",
                        s.type.span, "variables are function-scoped: pick a new name")
        t = check_expr(s.value, cx, existing.type)
        expect(t, existing.type, s.value.span, f"`{s.name}`")
        if ty.is_any(existing.type) or _has_any(existing.type):
            existing.type = ty.join(existing.type, t)
            cx.fn.locals[existing.slot] = (s.name, existing.type)
        var = existing
    else:
        t = check_expr(s.value, cx, declared)
        if declared is not None:
            expect(t, declared, s.value.span, f"`{s.name}`")
        vtype = declared or t
        if vtype in (ty.UNIT, ty.NEVER):
            raise error("E0202", f"`{s.name}` would hold no value ({vtype})", s.value.span)
        var = Var(cx.new_slot(s.name, vtype), vtype, "var")
        cx.vars[s.name] = var
    cx.program.slot[id(s)] = var.slot
    cx.flow.add(s.name)


def _has_any(t: T) -> bool:
    return ty.is_any(t) or any(_has_any(a) for a in t.args)


def check_assign(s: A.Assign, cx: Cx) -> None:
    target = s.target
    if isinstance(target, (A.Name, A.StateRef)):
        t, ref = _assign_target(target, cx)
    elif isinstance(target, A.GetField):
        obj = check_expr(target.obj, cx, None)
        t = _field_type(obj, target, cx)
        ref = ("field", cx.program.ref[id(target)][1])
    elif isinstance(target, A.Index):
        obj = check_expr(target.obj, cx, None)
        t = _index_type(obj, target, cx)
        ref = ("index", cx.program.ref[id(target)][0])
    else:
        raise error("E0206", "the left side of `=` must be a variable, a field or an element", target.span)
    if s.op == "=":
        v = check_expr(s.value, cx, t)
        expect(v, t, s.value.span, "the assigned value")
    else:
        op = s.op[0]
        v = check_expr(s.value, cx, t)
        if op == "+" and t == ty.STR and v == ty.STR:
            cx.program.ref[id(s)] = ref + ("str",)
        else:
            expect(t, ty.INT, target.span, f"the left side of `{s.op}`")
            expect(v, ty.INT, s.value.span, f"the right side of `{s.op}`")
    cx.program.ref.setdefault(id(s), ref)
    if isinstance(target, A.Name) and ref[0] == "local":
        cx.flow.add(target.name)


def _assign_target(target, cx: Cx):
    name = target.name
    if isinstance(target, A.Name):
        var = cx.lookup(name)
        if var is not None:
            if var.kind == "loop":
                raise error("E0206", f"`{name}` is a loop variable and cannot be assigned", target.span)
            cx.program.ref[id(target)] = ("local", var.slot)
            return var.type, ("local", var.slot)
    state = cx.contract.states.get(name) if cx.contract else None
    if state is not None:
        cx.program.ref[id(target)] = ("state", state.index)
        return state.type, ("state", state.index)
    if _const(cx, name) is not None:
        raise error("E0206", f"`{name}` is a constant and cannot be assigned", target.span)
    raise error("E0203", f"undefined name `{name}`", target.span,
                f"declare it first: `let {name} = …;`" if isinstance(target, A.Name) else "")


def check_if(s: A.If, cx: Cx, want: Optional[T] = None) -> Optional[T]:
    c = check_expr(s.cond, cx, ty.BOOL)
    expect(c, ty.BOOL, s.cond.span, "an `if` condition")
    start = cx.flow.mark()
    t1 = check_block(s.then, cx, want)
    after_then = cx.flow.undo(start)
    t2 = None
    if isinstance(s.orelse, A.If):
        t2 = check_if(s.orelse, cx, want)
    elif isinstance(s.orelse, A.Block):
        t2 = check_block(s.orelse, cx, want)
    cx.flow.join(start, [after_then, cx.flow.undo(start)])
    if want is None:
        return None
    cx.program.slot[id(s)] = cx.new_slot("<if>", want)
    for t, branch in ((t1, s.then), (t2, s.orelse)):
        if t is None and isinstance(branch, A.Block) and not _diverges(branch):
            raise error("E0202", f"this branch gives no value, but the `if` must give `{want}` on every branch",
                        branch.span, "end the branch with a value, or `return` from it")
    return _join_values([(t1, s.then.span), (t2, s.span)], want)


def _diverges(block: A.Block) -> bool:
    """Whether a block never finishes normally: it ends in return, break or continue, or in an
    `if` every branch of which diverges."""
    if block.tail is not None or not block.stmts:
        return False
    last = block.stmts[-1]
    if isinstance(last, (A.Return, A.Break, A.Continue)):
        return True
    if isinstance(last, A.If) and last.orelse is not None:
        other = last.orelse if isinstance(last.orelse, A.Block) else A.Block(stmts=(last.orelse,), tail=None,
                                                                            span=last.span)
        return _diverges(last.then) and _diverges(other)
    return False


def _join_values(values, want):
    result = None
    for t, span in values:
        if t is None:
            continue
        expect(t, want, span, "this branch")
        result = t if result is None else ty.join(result, t)
    return result if result is not None else ty.NEVER


def check_while(s: A.While, cx: Cx) -> None:
    c = check_expr(s.cond, cx, ty.BOOL)
    expect(c, ty.BOOL, s.cond.span, "a `while` condition")
    before = cx.flow.mark()
    cx.loops.append({"breaks": False})
    check_block(s.body, cx, None)
    loop = cx.loops.pop()
    forever = isinstance(s.cond, A.BoolLit) and s.cond.value and not loop["breaks"]
    cx.flow.undo(before)
    if forever:
        cx.flow.live = False


def check_for(s: A.For, cx: Cx) -> None:
    it = check_expr(s.iterable, cx, None)
    if it.name != "Array":
        raise error("E0202", f"`for` loops over an Array, not {it}", s.iterable.span)
    elem = it.args[0]
    var = Var(cx.new_slot(s.var, elem), elem, "loop")
    hidden = (cx.new_slot("<array>", it), cx.new_slot("<index>", ty.INT))
    cx.program.slot[id(s)] = (var.slot, *hidden)
    before = cx.flow.mark()
    cx.scopes.append({s.var: var})
    cx.flow.add(s.var)
    cx.loops.append({"breaks": False})
    check_block(s.body, cx, None)
    cx.loops.pop()
    cx.scopes.pop()
    cx.flow.undo(before)


def check_return(s: A.Return, cx: Cx) -> None:
    ret = cx.ret
    if s.value is None:
        if ret != ty.UNIT:
            raise error("E0202", f"`return` needs a value of type {ret}", s.span)
    else:
        if ret == ty.UNIT:
            raise error("E0202", f"`{cx.fn.qualname}` declares no return type, so `return` takes no value",
                        s.value.span, "add `-> Type` to the function")
        t = check_expr(s.value, cx, ret)
        expect(t, ret, s.value.span, "the returned value")
    cx.flow.live = False


def check_break(s, cx: Cx) -> None:
    if not cx.loops:
        word = "break" if isinstance(s, A.Break) else "continue"
        raise error("E0209", f"`{word}` outside a loop", s.span)
    if isinstance(s, A.Break):
        cx.loops[-1]["breaks"] = True
    cx.flow.live = False


def check_emit(s: A.Emit, cx: Cx) -> None:
    seen = set()
    for f in s.fields:
        if f.name in seen:
            raise error("E0200", f"field `{f.name}` is given twice", f.span)
        seen.add(f.name)
        t = check_expr(f.value, cx, None)
        if t in (ty.UNIT, ty.NEVER):
            raise error("E0202", f"event field `{f.name}` has no value", f.value.span)


def check_require(s: A.Require, cx: Cx) -> None:
    c = check_expr(s.cond, cx, ty.BOOL)
    expect(c, ty.BOOL, s.cond.span, "a `require` condition")
    if s.message is not None:
        m = check_expr(s.message, cx, ty.STR)
        expect(m, ty.STR, s.message.span, "a `require` message")


def check_expr_stmt(s: A.ExprStmt, cx: Cx) -> None:
    check_expr(s.expr, cx, None, value_used=False)


# node class → its checker (each takes its own class, hence Any)
_STMT: dict[type, Callable[[Any, Cx], object]] = {
    A.Let: check_let, A.Assign: check_assign, A.If: lambda s, cx: check_if(s, cx, None),
    A.While: check_while, A.For: check_for, A.Return: check_return, A.Break: check_break,
    A.Continue: check_break, A.Emit: check_emit, A.Require: check_require, A.ExprStmt: check_expr_stmt,
}


# ---------------------------------------------------------------- expressions

def check_expr(e, cx: Cx, want: Optional[T], value_used: bool = True) -> T:
    handler = _EXPR.get(type(e))
    if handler is None:
        raise error("E0219", f"unsupported expression {type(e).__name__}", e.span)
    t = handler(e, cx, want) if handler is not check_match else check_match(e, cx, want, value_used)
    cx.program.type_of[id(e)] = t
    return t


def check_int(e: A.IntLit, cx, want) -> T:
    if not limits.int_min <= e.value <= limits.int_max:
        raise error("E0103", f"integer literal {e.value} does not fit in 64 bits", e.span,
                    f"Integers range from {limits.int_min} to {limits.int_max}")
    return ty.INT


def check_float(e: A.FloatLit, cx, want) -> T:
    raise float_error(e)


def check_name(e: A.Name, cx: Cx, want) -> T:
    var = cx.lookup(e.name)
    if var is not None:
        if not cx.flow.has(e.name) and var.kind == "var":
            raise error("E0207", f"`{e.name}` may be used before it is assigned", e.span,
                        "assign it on every path before this point")
        cx.program.ref[id(e)] = ("local", var.slot)
        return var.type
    state = cx.contract.states.get(e.name) if cx.contract else None
    if state is not None:
        cx.program.ref[id(e)] = ("state", state.index)
        return state.type
    const = _const(cx, e.name)
    if const is not None:
        cx.program.ref[id(e)] = ("const", const.value)
        return const.type
    if e.name == "None":
        inner = want.args[0] if want is not None and want.name == "Option" else ty.ANY
        cx.program.ref[id(e)] = ("variant", 0, 0, "Option")
        return ty.option(inner)
    hint = did_you_mean(e.name, _visible_names(cx))
    if not hint and _find_function(cx, e.name) is not None:
        hint = f"`{e.name}` is a function: call it with `{e.name}(…)`"
    raise error("E0203", f"undefined name `{e.name}`", e.span, hint)


def _const(cx: Cx, name: str):
    if cx.contract is not None and name in cx.contract.consts:
        return cx.contract.consts[name]
    return cx.fn.module.consts.get(name)


def _visible_names(cx: Cx):
    names = list(cx.vars)
    for scope in cx.scopes:
        names.extend(scope)
    if cx.contract:
        names.extend(cx.contract.states)
        names.extend(cx.contract.consts)
    names.extend(cx.fn.module.consts)
    return names


def check_state_ref(e: A.StateRef, cx: Cx, want) -> T:
    state = cx.contract.states.get(e.name) if cx.contract else None
    if state is None:
        known = list(cx.contract.states) if cx.contract else []
        raise error("E0203", f"no state variable `@{e.name}`", e.span, did_you_mean(e.name, known))
    cx.program.ref[id(e)] = ("state", state.index)
    return state.type


def check_path(e: A.Path, cx: Cx, want) -> T:
    parts = e.parts
    if len(parts) == 2 and parts[0] in cx.program.enums:
        enum, i = _enum_variant(cx, parts, e.span)
        if enum.variants[i][1]:
            raise error("E0205", f"`{e.parts[0]}::{e.parts[1]}` carries a value: write "
                        f"`{e.parts[0]}::{e.parts[1]}(…)`", e.span)
        cx.program.ref[id(e)] = ("variant", i, 0, enum.name)
        return T(enum.name, (), "enum")
    module = _module_of_path(cx, parts[:-1])
    if module is not None and parts[-1] in module.consts:
        c = module.consts[parts[-1]]
        cx.program.ref[id(e)] = ("const", c.value)
        return c.type
    raise error("E0203", f"undefined name `{'::'.join(parts)}`", e.span)


def _enum_variant(cx: Cx, parts, span):
    enum = cx.program.enums[parts[0]]
    i = enum.variant_index(parts[1])
    if i < 0:
        raise error("E0203", f"`{parts[0]}` has no variant `{parts[1]}`", span,
                    did_you_mean(parts[1], [v for v, _ in enum.variants]))
    return enum, i


def _module_of_path(cx: Cx, parts) -> Optional[ModuleScope]:
    module = cx.fn.module
    for p in parts:
        inner = module.imports.get(p)
        if inner is None:
            return None
        module = inner
    return module


def check_array(e: A.ArrayLit, cx: Cx, want) -> T:
    if len(e.items) > limits.array_length_max:
        raise error("L0503", "array literal too long", e.span)
    elem_want = want.args[0] if want is not None and want.name == "Array" else None
    elem = elem_want or ty.ANY
    for item in e.items:
        t = check_expr(item, cx, elem_want)
        if not ty.assignable(t, elem):
            raise error("E0202", f"array elements must all be {elem}, found {t}", item.span)
        elem = ty.join(elem, t)
    return ty.array(elem)


def check_struct_lit(e: A.StructLit, cx: Cx, want) -> T:
    info = cx.program.structs.get(e.name)
    if info is None:
        raise error("E0201", f"unknown struct `{e.name}`", e.span, did_you_mean(e.name, cx.program.structs))
    given = {}
    for f in e.fields:
        if f.name in given:
            raise error("E0200", f"field `{f.name}` is given twice", f.span)
        given[f.name] = f
    order = []
    for name, ftype in info.fields:
        found = given.pop(name, None)
        if found is None:
            raise error("E0220", f"`{e.name}` needs field `{name}`", e.span)
        t = check_expr(found.value, cx, ftype)
        expect(t, ftype, found.value.span, f"field `{name}`")
        order.append(found)
    if given:
        name = next(iter(given))
        raise error("E0211", f"`{e.name}` has no field `{name}`", given[name].span,
                    did_you_mean(name, [n for n, _ in info.fields]))
    cx.program.ref[id(e)] = ("struct", tuple(order), info.name)
    return T(info.name, (), "struct")


def check_binary(e: A.Binary, cx: Cx, want) -> T:
    op = e.op
    if op in ("&&", "||"):
        for side in (e.left, e.right):
            t = check_expr(side, cx, ty.BOOL)
            expect(t, ty.BOOL, side.span, f"an operand of `{op}`")
        return ty.BOOL
    left = check_expr(e.left, cx, None)
    right = check_expr(e.right, cx, left if not ty.is_any(left) else None)
    if ty.is_any(left) and not ty.is_any(right):
        left = right
    if op in ("==", "!="):
        if not (ty.assignable(left, right) or ty.assignable(right, left)):
            raise error("E0202", f"cannot compare {left} with {right}", e.span)
        cx.program.ref[id(e)] = ("eq",)
        return ty.BOOL
    if op in ("<", "<=", ">", ">="):
        if left == right == ty.STR or (left == ty.STR and ty.is_any(right)):
            return ty.BOOL
        _int_operands(e, left, right)
        return ty.BOOL
    if op == "+" and (left == ty.STR or right == ty.STR):
        if not (ty.assignable(left, ty.STR) and ty.assignable(right, ty.STR)):
            raise error("E0202", f"`+` joins two Strings, not {left} and {right}", e.span,
                        "convert the number with `to_string(x)`")
        cx.program.ref[id(e)] = ("str",)
        return ty.STR
    _int_operands(e, left, right)
    return ty.INT


def _int_operands(e, left, right):
    for t, side in ((left, e.left), (right, e.right)):
        if not ty.assignable(t, ty.INT):
            raise error("E0202", f"`{e.op}` needs Integer operands, found {t}", side.span,
                        "comparisons do not chain: write `a < b && b < c`" if t == ty.BOOL and e.op in "<=>=" else "")
    if ty.is_any(left) and ty.is_any(right):
        raise error("E0202", f"cannot tell the operand types of `{e.op}`", e.span, "add a type annotation")


def check_unary(e: A.Unary, cx: Cx, want) -> T:
    if e.op == "!":
        t = check_expr(e.operand, cx, ty.BOOL)
        expect(t, ty.BOOL, e.operand.span, "the operand of `!`")
        return ty.BOOL
    t = check_expr(e.operand, cx, ty.INT)
    expect(t, ty.INT, e.operand.span, "the operand of `-`")
    return ty.INT


def check_get_field(e: A.GetField, cx: Cx, want) -> T:
    obj = check_expr(e.obj, cx, None)
    return _field_type(obj, e, cx)


def _field_type(obj: T, e: A.GetField, cx: Cx) -> T:
    if obj.kind != "struct":
        raise error("E0211", f"{obj} has no field `{e.name}`", e.span,
                    f"call it as a method: `.{e.name}()`" if (obj.name, e.name) in METHODS else "")
    info = cx.program.structs[obj.name]
    i = info.field_index(e.name)
    if i >= 0:
        cx.program.ref[id(e)] = ("field", i)
        return info.fields[i][1]
    raise error("E0211", f"`{obj.name}` has no field `{e.name}`", e.span,
                did_you_mean(e.name, [n for n, _ in info.fields]))


def check_index(e: A.Index, cx: Cx, want) -> T:
    obj = check_expr(e.obj, cx, None)
    return _index_type(obj, e, cx)


def _index_type(obj: T, e: A.Index, cx: Cx) -> T:
    if obj.name == "Array":
        i = check_expr(e.index, cx, ty.INT)
        expect(i, ty.INT, e.index.span, "an array index")
        cx.program.ref[id(e)] = ("array",)
        return obj.args[0]
    if obj.name == "Map":
        k = check_expr(e.index, cx, obj.args[0])
        expect(k, obj.args[0], e.index.span, "a map key")
        cx.program.ref[id(e)] = ("map",)
        return obj.args[1]
    raise error("E0202", f"cannot index into {obj}", e.span)


def check_call(e: A.Call, cx: Cx, want) -> T:
    callee = e.callee
    if isinstance(callee, A.GetField):
        return _check_method(e, callee, cx)
    if isinstance(callee, A.Name):
        name = callee.name
        if name in CONSTRUCTORS:
            return _check_constructor(e, name, cx, want)
        fn = _find_function(cx, name)
        if fn is not None:
            return _check_user_call(e, fn, cx)
        if name in HOST_INDEX:
            return _check_host_call(e, HOST_INDEX[name], list(e.args), cx, want, "host")
        known = [*HOST_INDEX, *(f.qualname for f in cx.program.functions if f.module is cx.fn.module)]
        if cx.contract:
            known.extend(cx.contract.functions)
        raise error("E0204", f"undefined function `{name}`", callee.span, did_you_mean(name, known))
    if isinstance(callee, A.Path):
        return _check_path_call(e, callee, cx, want)
    raise error("E0204", "only named functions can be called", callee.span)


def _find_function(cx: Cx, name: str) -> Optional[FnInfo]:
    if cx.contract is not None and name in cx.contract.functions:
        return cx.contract.functions[name]
    module = cx.fn.module
    if name in module.functions:
        return module.functions[name]
    for alias, imported in sorted(module.imports.items()):
        prefix = alias + "_"
        if name.startswith(prefix) and name[len(prefix):] in imported.functions:
            return imported.functions[name[len(prefix):]]
    return None


def _check_path_call(e: A.Call, callee: A.Path, cx: Cx, want) -> T:
    parts = callee.parts
    if len(parts) == 2 and parts[0] in cx.program.enums:
        enum, i = _enum_variant(cx, parts, callee.span)
        payload = enum.variants[i][1]
        _arity(e, len(payload), f"{parts[0]}::{parts[1]}")
        for arg, t in zip(e.args, payload):
            expect(check_expr(arg, cx, t), t, arg.span, "the variant's value")
        cx.program.ref[id(e)] = ("variant", i, len(payload), enum.name)
        return T(enum.name, (), "enum")
    if len(parts) == 2 and parts[0] in cx.program.contracts:
        fn = cx.program.contracts[parts[0]].functions.get(parts[1])
        if fn is not None:
            return _check_user_call(e, fn, cx)
    module = _module_of_path(cx, parts[:-1])
    if module is not None and parts[-1] in module.functions:
        return _check_user_call(e, module.functions[parts[-1]], cx)
    path = "::".join(parts)
    if path in HOST_BY_PATH:
        return _check_host_call(e, HOST_BY_PATH[path], list(e.args), cx, want, "host")
    raise error("E0204", f"undefined function `{path}`", callee.span,
                did_you_mean(path, list(HOST_BY_PATH)))


def _arity(e, n, what):
    if len(e.args) != n:
        raise error("E0205", f"`{what}` takes {n} argument{'s' if n != 1 else ''}, given {len(e.args)}",
                    e.span)


def _check_constructor(e: A.Call, name: str, cx: Cx, want) -> T:
    _arity(e, 1, name)
    arg = e.args[0]
    if name == "Some":
        inner = want.args[0] if want is not None and want.name == "Option" else None
        t = check_expr(arg, cx, inner)
        cx.program.ref[id(e)] = ("variant", 1, 1, "Option")
        return ty.option(t)
    ok, err = (want.args if want is not None and want.name == "Result" else (None, None))
    if name == "Ok":
        t = check_expr(arg, cx, ok)
        cx.program.ref[id(e)] = ("variant", 0, 1, "Result")
        return ty.result(t, err or ty.ANY)
    t = check_expr(arg, cx, err)
    cx.program.ref[id(e)] = ("variant", 1, 1, "Result")
    return ty.result(ok or ty.ANY, t)


def _check_user_call(e: A.Call, fn: FnInfo, cx: Cx) -> T:
    _arity(e, len(fn.params), fn.qualname)
    env: dict = {}
    for arg, (pname, ptype) in zip(e.args, fn.params):
        t = check_expr(arg, cx, ptype if not ty.is_any(ptype) else None)
        if not ty.bind(ptype, t, env) or not ty.assignable(t, ty.substitute(ptype, env)):
            raise error("E0202", f"argument `{pname}` of `{fn.qualname}` should be {ptype}, found {t}", arg.span)
    cx.program.ref[id(e)] = ("fn", fn.index)
    return ty.substitute(fn.ret, env) if fn.type_params else fn.ret


def _check_host_call(e: A.Call, index: int, args: list, cx: Cx, want, how: str,
                     receiver: Optional[T] = None) -> T:
    row = HOST_TABLE[index]
    if len(args) != len(row.params):
        given = len(args) - (1 if receiver is not None else 0)
        takes = len(row.params) - (1 if receiver is not None else 0)
        raise error("E0205", f"`{row.name}` takes {takes} argument{'s' if takes != 1 else ''}, given {given}",
                    e.span, f"{row.name}({', '.join(f'{n}: {t}' for n, t in row.params)}) -> {row.ret}")
    env: dict = {}
    if want is not None:
        ty.bind(row.ret, want, env) if not _has_any(want) else None
    for i, (arg, (pname, ptype)) in enumerate(zip(args, row.params)):
        if i == 0 and receiver is not None:
            t = receiver
        else:
            t = check_expr(arg, cx, ty.substitute(ptype, env) if ptype.kind != "var" or ptype.name in env else None)
        if not ty.bind(ptype, t, env):
            raise error("E0202", f"argument `{pname}` of `{row.name}` should be {ty.substitute(ptype, env)}, "
                        f"found {t}", arg.span)
    cx.program.ref[id(e)] = (how, index)
    return ty.substitute(row.ret, env)


def _check_method(e: A.Call, callee: A.GetField, cx: Cx) -> T:
    obj = check_expr(callee.obj, cx, None)
    name = METHODS.get((obj.name, callee.name))
    if name is None:
        methods = sorted(m for (recv, m) in METHODS if recv == obj.name)
        raise error("E0213", f"{obj} has no method `{callee.name}`", callee.span,
                    did_you_mean(callee.name, methods) or (f"methods: {', '.join(methods)}" if methods else ""))
    return _check_host_call(e, HOST_INDEX[name], [callee.obj, *e.args], cx, None, "host", receiver=obj)


def check_match(e: A.Match, cx: Cx, want, value_used: bool = True) -> T:
    subject = check_expr(e.subject, cx, None)
    slots = [cx.new_slot("<subject>", subject), None, cx.new_slot("<matched>", ty.BOOL)]
    ends = []
    result = None
    start = cx.flow.mark()
    for arm in e.arms:
        bindings: dict = {}
        check_pattern(arm.pattern, subject, cx, bindings)
        cx.scopes.append(bindings)
        for name in bindings:
            cx.flow.add(name)
        if arm.guard is not None:
            g = check_expr(arm.guard, cx, ty.BOOL)
            expect(g, ty.BOOL, arm.guard.span, "a match guard")
        t = _check_arm_body(arm.body, cx, want if value_used else None, value_used)
        cx.scopes.pop()
        ends.append(cx.flow.undo(start))
        if value_used and t is not None:
            if result is not None and not ty.assignable(t, result) and not ty.assignable(result, t):
                raise error("E0202", f"match arms disagree: {result} and {t}", arm.span)
            result = t if result is None else ty.join(result, t)
    if e.arms:
        cx.flow.join(start, ends)
    if not value_used:
        cx.program.slot[id(e)] = tuple(slots)
        return ty.UNIT
    result = result or ty.NEVER
    if want is not None and result.name == "Never":
        result = want
    if result == ty.UNIT:
        raise error("E0202", "this match has no value to use", e.span)
    slots[1] = cx.new_slot("<match>", result)
    cx.program.slot[id(e)] = tuple(slots)
    return result


def _check_arm_body(body, cx: Cx, want, value_used) -> Optional[T]:
    if isinstance(body, A.ArmReturn):
        check_return(A.Return(value=body.value, span=body.span), cx)
        cx.program.type_of[id(body)] = ty.NEVER
        return ty.NEVER
    if isinstance(body, A.Block):
        t = check_block(body, cx, want if value_used else None)
        if value_used and t is None:
            if not cx.flow.live:
                return ty.NEVER
            raise error("E0202", "this arm has no value: end its block with an expression", body.span)
        return t
    return check_expr(body, cx, want, value_used=value_used) if value_used else (
        check_expr(body, cx, None, value_used=False) and None)


def check_pattern(p, subject: T, cx: Cx, bindings: dict) -> None:
    program = cx.program
    if isinstance(p, A.NamePattern):
        if p.name == "_":
            program.ref[id(p)] = ("wild",)
        elif p.name == "None" and (subject.name == "Option" or ty.is_any(subject)):
            program.ref[id(p)] = ("tag", 0)
        else:
            if p.name in bindings:
                raise error("E0212", f"`{p.name}` is bound twice in one pattern", p.span)
            var = Var(cx.new_slot(p.name, subject), subject, "pattern")
            bindings[p.name] = var
            program.ref[id(p)] = ("bind", var.slot)
        return
    if isinstance(p, A.LitPattern):
        t = ty.BOOL if isinstance(p.value, bool) else ty.INT if isinstance(p.value, int) else ty.STR
        if isinstance(p.value, int) and not isinstance(p.value, bool) and not limits.int_min <= p.value <= limits.int_max:
            raise error("E0103", "integer pattern does not fit in 64 bits", p.span)
        if not ty.assignable(t, subject):
            raise error("E0212", f"a {t} pattern cannot match {subject}", p.span)
        program.ref[id(p)] = ("lit", p.value)
        return
    if isinstance(p, A.VariantPattern):
        _check_variant_pattern(p, subject, cx, bindings)
        return
    if isinstance(p, A.StructPattern):
        if subject.kind != "struct" or subject.name != p.name:
            raise error("E0212", f"a `{p.name}` pattern cannot match {subject}", p.span)
        info = program.structs[p.name]
        parts = []
        for fp in p.fields:
            i = info.field_index(fp.name)
            if i < 0:
                raise error("E0211", f"`{p.name}` has no field `{fp.name}`", fp.span,
                            did_you_mean(fp.name, [n for n, _ in info.fields]))
            t = info.fields[i][1]
            check_pattern(fp.pattern, t, cx, bindings)
            parts.append((i, fp.pattern))
        program.ref[id(p)] = ("struct", tuple(parts))
        return
    raise error("E0212", "unsupported pattern", p.span)


def _check_variant_pattern(p: A.VariantPattern, subject: T, cx: Cx, bindings: dict) -> None:
    parts = p.parts
    if len(parts) == 1 and parts[0] in ("Some", "None", "Ok", "Err"):
        family = "Option" if parts[0] in ("Some", "None") else "Result"
        if subject.name != family and not ty.is_any(subject):
            raise error("E0212", f"`{parts[0]}` cannot match {subject}", p.span)
        tag = {"None": 0, "Some": 1, "Ok": 0, "Err": 1}[parts[0]]
        payload = [] if parts[0] == "None" else [
            subject.args[0 if parts[0] in ("Some", "Ok") else 1] if subject.args else ty.ANY]
    elif len(parts) == 2 and parts[0] in cx.program.enums:
        enum = cx.program.enums[parts[0]]
        if subject.kind != "enum" or subject.name != enum.name:
            raise error("E0212", f"`{'::'.join(parts)}` cannot match {subject}", p.span)
        tag = enum.variant_index(parts[1])
        if tag < 0:
            raise error("E0212", f"`{parts[0]}` has no variant `{parts[1]}`", p.span,
                        did_you_mean(parts[1], [v for v, _ in enum.variants]))
        payload = enum.variants[tag][1]
    else:
        raise error("E0212", f"unknown pattern `{'::'.join(parts)}`", p.span,
                    did_you_mean("::".join(parts), [*(f"{e}::{v}" for e, i in cx.program.enums.items()
                                                      for v, _ in i.variants), "Some", "None", "Ok", "Err"]))
    if p.has_parens and len(p.args) != len(payload) or (not p.has_parens and payload):
        raise error("E0212", f"`{'::'.join(parts)}` carries {len(payload)} value(s); the pattern gives "
                    f"{len(p.args)}", p.span)
    for sub, t in zip(p.args, payload):
        check_pattern(sub, t, cx, bindings)
    cx.program.ref[id(p)] = ("variant", tag, tuple(p.args))


def check_try(e: A.TryCatch, cx: Cx, want) -> T:
    t = check_expr(e.expr, cx, None)
    if t.name != "Result":
        raise error("E0202", f"`try` needs a Result, found {t}", e.expr.span)
    if e.handler is not None:
        h = check_expr(e.handler, cx, t)
        expect(h, t, e.handler.span, "the `catch` value")
        cx.program.slot[id(e)] = cx.new_slot("<try>", t)
        return ty.join(t, h)
    ret = cx.ret
    if ret.name != "Result":
        raise error("E0202", f"`try` without `catch` passes errors on, so `{cx.fn.qualname}` must return a "
                    f"Result, not {ret}", e.span, "add `catch fallback`")
    expect(ty.result(ty.ANY, t.args[1]), ret, e.span, "the passed-on error")
    cx.program.slot[id(e)] = cx.new_slot("<try>", t)
    return t.args[0]


def check_literal(t):
    return lambda e, cx, want: t


_EXPR = {
    A.IntLit: check_int, A.FloatLit: check_float, A.StrLit: check_literal(ty.STR),
    A.BoolLit: check_literal(ty.BOOL), A.DidLit: check_literal(ty.DID), A.Name: check_name,
    A.Path: check_path, A.StateRef: check_state_ref, A.ArrayLit: check_array,
    A.StructLit: check_struct_lit, A.Binary: check_binary, A.Unary: check_unary,
    A.Call: check_call, A.GetField: check_get_field, A.Index: check_index, A.Match: check_match,
    A.TryCatch: check_try,
}
