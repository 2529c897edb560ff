"""AST + checked Program → bytecode Module.

One `gen_*` function per node kind, named after the node (house rule 8). Codegen trusts the
checker's side tables (types, refs, slots) and decides nothing the checker decided. It drops
code after `return`/`break`/`continue` (the verifier forbids unreachable instructions), so
every function ends in a terminator. Imports leaves, ccl.syntax, ccl.check, ccl.hosttable.
"""

from __future__ import annotations

from typing import Any, Callable, cast

from ccl import limits, types as ty
from ccl.check.program import FnInfo, Program, TypeIds
from ccl.compile import opcodes as O
from ccl.compile.module import Function, Module
from ccl.diag import Span, error, printable_name
from ccl.hosttable import HOST_TABLE
from ccl.syntax import ast as A


class Emitter:
    def __init__(self, program: Program, fn: FnInfo, consts: "Consts"):
        self.program = program
        self.fn = fn
        self.consts = consts
        self.code: list[tuple[int, int, int, int]] = []     # op, operand, line, col
        self.reachable = True
        self.pos = (0, 0)
        self.hosts: set[int] = set()

    def at(self, node):
        self.pos = (node.span.line, node.span.col)
        return self

    def emit(self, op: int, arg: int = 0):
        if self.reachable:
            self.code.append((op, arg, *self.pos))
            if O.OPS[op].terminator:
                self.reachable = False

    def const(self, value):
        if isinstance(value, list):
            # a named array constant is written out at each use: bounded program-wide by what
            # could fit in a module at all (two bytes an instruction at the least)
            self.consts.expanded += len(value)
            if self.consts.expanded > limits.module_bytes_max // 2:
                raise error("L0507", "array constants expand to more code than a module may hold",
                            Span(self.fn.module.file, *self.pos), "use the array through a function or a variable")
            for v in value:
                self.const(v)
            self.emit(O.MKARRAY, len(value))
        else:
            self.emit(O.CONST, self.consts.index(value))

    def temp(self, t) -> int:
        self.fn.locals.append(("<tmp>", t))
        return len(self.fn.locals) - 1

    # structured control flow with reachability bookkeeping
    def if_(self, then, orelse=None):
        """Emit IF … [ELSE …] END around two callbacks; returns nothing."""
        if not self.reachable:
            return
        self.emit(O.IF)
        then()
        end_then = self.reachable
        self.reachable = True
        if orelse is not None:
            self.emit(O.ELSE)
            orelse()
        end_else = self.reachable
        self.reachable = True
        self.emit(O.END)
        self.reachable = end_then or end_else

    def loop(self, body):
        if not self.reachable:
            return
        self.emit(O.LOOP)
        body()
        self.reachable = True
        self.emit(O.END)


class Consts:
    """The constant pool: scalars (int, str, bool, None) and event descriptors, deduplicated."""

    def __init__(self):
        self.values: list = []
        self.seen: dict = {}
        self.expanded = 0                   # array-constant items written out so far

    def index(self, value) -> int:
        key = (type(value).__name__, repr(value))
        if key not in self.seen:
            self.seen[key] = len(self.values)
            self.values.append(value)
        return self.seen[key]


# ---------------------------------------------------------------- module

def compile_program(program: Program, source: str) -> Module:
    consts = Consts()
    functions = []
    hosts: set[int] = set()
    init_index = {}
    for fn in program.functions:
        e = Emitter(program, fn, consts)
        gen_function(e, fn)
        functions.append(_finish(e, fn))
        hosts |= e.hosts
    for contract in program.contracts:
        init = program.initializers.get(contract)
        if init is None:
            init = FnInfo(f"{contract}::<state>", None, program.root, contract, [], ty.UNIT, entry=False)
        e = Emitter(program, init, consts)
        gen_initializer(e, program, contract)
        init_index[contract] = len(functions)
        functions.append(_finish(e, init))
        hosts |= e.hosts
    return Module(
        source=source,
        consts=tuple(consts.values),
        functions=tuple(functions),
        states=tuple((s.contract, s.name, ty.to_descriptor(s.type)) for s in program.states),
        initializers=tuple(sorted(init_index.items())),
        structs=tuple((n, tuple((f, ty.to_descriptor(t)) for f, t in s.fields))
                      for n, s in sorted(program.structs.items())),
        enums=tuple((n, tuple((v, tuple(ty.to_descriptor(t) for t in ts)) for v, ts in en.variants))
                    for n, en in sorted(program.enums.items())),
        host=tuple((i, HOST_TABLE[i].name) for i in sorted(hosts)),
        contracts=tuple((name, contract_metadata(program, c)) for name, c in sorted(program.contracts.items())),
    )


def contract_metadata(program: Program, contract) -> dict:
    """What the runtime knows of a contract without running it (part of the module's CBOR):

    {"roles": [{"name", "extends": name | None, "can": [permission…], "requires": {key: literal | None}}],
     "proposals": [{"name", "description", "eligible": role | None, "duration_s", "quorum_pct",
                    "threshold": [kind, numerator, denominator] | None,
                    "params": [[name, written type name]…],
                    "param_types": [type descriptor…]      (ccl.types.to_descriptor, one per parameter),
                    "execution": "Contract::proposal::Kind" | None,
                    "can": [name…]                          (sorted; [] when the kind declares none)}],
     "functions": {name: {"needs": permission or role | None, "open": bool}}
                  (every function the contract declares; not the synthesized executions and `init`),
     "meta": {key: literal, …, "founder": "Role" when declared}}
    """
    roles = [{"name": r.name, "extends": r.extends, "can": list(r.can),
              "requires": {q.key: _literal(q.value) for q in r.requires}} for r in contract.roles]
    proposals = []
    for p in contract.proposals:
        t = p.threshold
        proposals.append({
            "name": p.name, "description": p.description, "eligible": p.eligible,
            "duration_s": p.duration_s, "quorum_pct": p.quorum_pct,
            "threshold": [t.kind, t.numerator, t.denominator] if t else None,
            "params": [[q.name, q.type.name] for q in p.params],
            "param_types": [ty.to_descriptor(t) for t in contract.kind_param_types.get(p.name, ())],
            "execution": f"{contract.name}::proposal::{p.name}" if p.execution is not None else None,
            "close_early": p.close_early,
            "can": sorted(set(p.can or ())),
        })
    functions = {f.name: {"needs": f.needs, "open": f.open} for f in contract.node.items if isinstance(f, A.Fn)}
    meta = {k: v.value for k, v in contract.meta.items() if isinstance(v, (A.StrLit, A.IntLit, A.BoolLit))}
    if contract.founder is not None:
        meta["founder"] = contract.founder
    return {"roles": roles, "proposals": proposals, "functions": functions, "meta": meta}


def _literal(node):
    """A requirement's value when it is a literal (checked when a role is granted), else None."""
    if isinstance(node, (A.IntLit, A.StrLit, A.BoolLit, A.DidLit)):
        return node.value
    return None


def _finish(e: Emitter, fn: FnInfo) -> Function:
    code: list[int] = []
    lines: list[int] = []                   # runs of (line, col, instruction count)
    for op, arg, line, col in e.code:
        code += (op, arg)
        if lines and lines[-3] == line and lines[-2] == col:
            lines[-1] += 1
        else:
            lines += (line, col, 1)
    return Function(
        name=fn.qualname, params=tuple(ty.to_descriptor(t) for _, t in fn.params),
        ret=ty.to_descriptor(fn.ret), nlocals=len(fn.locals), code=tuple(code), lines=tuple(lines),
        entry=fn.entry, param_names=tuple(n for n, _ in fn.params),
        local_names=tuple(n for n, _ in fn.locals), file=printable_name(_relative(fn.module.file, e.program.root.file)))


def _relative(file: str, root: str) -> str:
    """A source file named relative to the root file's folder: precise for errors, and the same
    wherever the project is checked out (module CIDs must not depend on the path)."""
    import posixpath

    file, root = file.replace("\\", "/"), root.replace("\\", "/")
    if file.startswith("std/"):
        return file
    return posixpath.relpath(file, posixpath.dirname(root) or ".")


def gen_function(e: Emitter, fn: FnInfo) -> None:
    node = fn.node
    assert node is not None             # every function has a declaration (initializers are not here)
    body = node.body
    e.at(node)
    if getattr(node, "needs", None):
        gen_guard(e, node)
    end = (body.span.end_line, max(body.span.end_col - 1, 1))
    if fn.ret == ty.UNIT:
        gen_block(e, body, value=False)
        e.pos = end
        e.const(None)
        e.emit(O.RET)
    else:
        gen_block(e, body, value=True)
        e.pos = end
        if e.program.ref.get(id(body)) is not None:
            e.emit(O.RET)
        e.emit(O.TRAP, O.TRAP_NO_RETURN)
    _seal(e)


def _seal(e: Emitter) -> None:
    """A body that ends in an `if` whose every branch returns: the codegen knows nothing follows,
    but the verifier sees code after END as reachable, so the function ends in a trap it can never
    reach at run time (TRAP_NO_RETURN), instead of running off its end."""
    if not e.reachable and e.code and e.code[-1][0] == O.END:
        e.reachable = True
        e.emit(O.TRAP, O.TRAP_NO_RETURN)


def gen_guard(e: Emitter, fn: A.Fn) -> None:
    """The prologue of a `needs` function: `guard(need)` stops the run unless the caller holds
    it, on every call (not only at the entry)."""
    guard = _host("guard")
    e.const(fn.needs)
    e.hosts.add(guard)
    e.emit(O.CALL_HOST, guard)
    e.emit(O.POP)


def gen_initializer(e: Emitter, program: Program, contract: str) -> None:
    for state in program.states:
        if state.contract != contract:
            continue
        if state.init is not None:
            e.at(state.init)
            gen_expr(e, state.init)
        else:
            e.pos = (state.span.line, state.span.col)
            gen_default(e, state.type)
        e.emit(O.GSTORE, state.index)
    e.emit(O.CONST, e.consts.index(None))
    e.emit(O.RET)


def gen_default(e: Emitter, t) -> None:
    if t.name == "Integer":
        e.const(0)
    elif t.name == "Bool":
        e.const(False)
    elif t.name in ("String", "Did"):
        e.const("")
    elif t.name == "Array":
        e.emit(O.MKARRAY, 0)
    elif t.name == "Map":
        e.hosts.add(_host("map_new"))
        e.emit(O.CALL_HOST, _host("map_new"))
    else:                                   # Option and anything unconstrained: None
        e.emit(O.MKVARIANT, O.variant_operand(O.OPTION_TYPE, 0, 0))


def _host(name: str) -> int:
    from ccl.hosttable import HOST_INDEX

    return HOST_INDEX[name]


# ---------------------------------------------------------------- statements

def gen_block(e: Emitter, block: A.Block, value: bool) -> None:
    kind = e.program.ref.get(id(block)) if value else None
    stmts = block.stmts[:-1] if kind == ("if",) else block.stmts
    for s in stmts:
        if not e.reachable:
            return
        gen_stmt(e, s)
    if kind == ("if",):
        gen_if(e, cast(A.If, block.stmts[-1]), value=True)     # the checker's ("if",): it is one
    elif block.tail is not None:
        if not value and isinstance(block.tail, A.Match):
            gen_match(e, block.tail, value=False)
            return
        gen_expr(e, block.tail)
        if not value:
            e.emit(O.POP)


def gen_stmt(e: Emitter, s) -> None:
    e.at(s)
    _STMT[type(s)](e, s)


def gen_let(e: Emitter, s: A.Let) -> None:
    gen_expr(e, s.value)
    e.at(s).emit(O.STORE, e.program.slot[id(s)])


_ARITH = {"+": O.ADD, "-": O.SUB, "*": O.MUL, "/": O.DIV, "%": O.MOD}


def gen_assign(e: Emitter, s: A.Assign) -> None:
    ref = e.program.ref[id(s)]
    kind = ref[0]
    op = None
    if s.op != "=":
        op = O.CONCAT if ref[-1] == "str" else _ARITH[s.op[0]]
    load, store = {"local": (O.LOAD, O.STORE), "state": (O.GLOAD, O.GSTORE)}.get(kind, (None, None))
    if load is not None:
        if op is not None:
            e.emit(load, ref[1])
        gen_expr(e, s.value)
        if op is not None:
            e.at(s).emit(op)
        e.at(s).emit(store, ref[1])
        return
    target = cast("A.GetField | A.Index", s.target)   # the checker resolved a field or an element
    gen_expr(e, target.obj)
    if kind == "field":
        if op is not None:
            e.emit(O.DUP)
            e.emit(O.GETFIELD, ref[1])
        gen_expr(e, s.value)
        if op is not None:
            e.at(s).emit(op)
        e.at(s).emit(O.SETFIELD, ref[1])
        return
    gen_expr(e, cast(A.Index, target).index)
    get, put = (O.AGET, O.ASET) if ref[1] == "array" else (O.MGET, O.MSET)
    if op is not None:
        e.emit(O.DUP2)
        e.at(target).emit(get)
    gen_expr(e, s.value)
    if op is not None:
        e.at(s).emit(op)
    e.at(s).emit(put)


def gen_if(e: Emitter, s: A.If, value: bool = False) -> None:
    slot = e.program.slot.get(id(s)) if value else None
    if value:
        _gen_if_chain(e, s, slot)
        e.at(s).emit(O.LOAD, slot)
    else:
        _gen_if_chain(e, s, None)


def _gen_if_chain(e: Emitter, s: A.If, slot) -> None:
    gen_expr(e, s.cond)
    e.at(s)

    def branch(block):
        def run():
            gen_block(e, block, value=slot is not None)
            if slot is not None and e.reachable:
                e.emit(O.STORE, slot)
        return run

    if s.orelse is None:
        e.if_(branch(s.then))
    elif isinstance(s.orelse, A.If):
        e.if_(branch(s.then), lambda: _gen_if_chain(e, s.orelse, slot))
    else:
        e.if_(branch(s.then), branch(s.orelse))


def gen_while(e: Emitter, s: A.While) -> None:
    def body():
        gen_expr(e, s.cond)
        e.at(s).emit(O.BREAK_IFNOT)
        gen_block(e, s.body, value=False)
    e.loop(body)


def gen_for(e: Emitter, s: A.For) -> None:
    var, arr, idx = e.program.slot[id(s)]
    gen_expr(e, s.iterable)
    e.at(s).emit(O.STORE, arr)
    e.const(0)
    e.emit(O.STORE, idx)

    def body():
        e.at(s)
        for op, arg in ((O.LOAD, idx), (O.LOAD, arr), (O.ALEN, 0), (O.LT, 0), (O.BREAK_IFNOT, 0),
                        (O.LOAD, arr), (O.LOAD, idx), (O.AGET, 0), (O.STORE, var),
                        (O.LOAD, idx)):
            e.emit(op, arg)
        e.const(1)
        e.emit(O.ADD)
        e.emit(O.STORE, idx)
        gen_block(e, s.body, value=False)
    e.loop(body)


def gen_return(e: Emitter, s: A.Return) -> None:
    if s.value is None:
        e.const(None)
    else:
        gen_expr(e, s.value)
    e.at(s).emit(O.RET)


def gen_break(e: Emitter, s) -> None:
    e.emit(O.BREAK if isinstance(s, A.Break) else O.CONTINUE)


def gen_emit(e: Emitter, s: A.Emit) -> None:
    for f in s.fields:
        gen_expr(e, f.value)
    descriptor = e.consts.index([s.name, [f.name for f in s.fields]])
    e.at(s).emit(O.EMIT, descriptor)


def gen_require(e: Emitter, s: A.Require) -> None:
    """The message is evaluated only when the condition is false (docs/language.md §Evaluation
    order). A literal message, or none, has nothing to evaluate: `<cond> CONST m REQUIRE`.
    Otherwise `<cond> NOT IF CONST false <message> REQUIRE END`, so both engines skip the
    message by construction when the requirement holds."""
    if s.message is None or isinstance(s.message, A.StrLit):
        gen_expr(e, s.cond)
        if s.message is not None:
            gen_expr(e, s.message)
        else:
            e.const("requirement failed")
        e.at(s).emit(O.REQUIRE)
        return
    gen_expr(e, s.cond)
    e.at(s).emit(O.NOT)

    def fail():
        e.at(s).const(False)
        gen_expr(e, s.message)
        e.at(s).emit(O.REQUIRE)
    e.if_(fail)


def gen_expr_stmt(e: Emitter, s: A.ExprStmt) -> None:
    if isinstance(s.expr, A.Match):
        gen_match(e, s.expr, value=False)
        return
    gen_expr(e, s.expr)
    e.emit(O.POP)


# node class → its generator (each takes its own class, hence Any)
_STMT: dict[type, Callable[[Emitter, Any], None]] = {
    A.Let: gen_let, A.Assign: gen_assign, A.If: gen_if, A.While: gen_while, A.For: gen_for,
    A.Return: gen_return, A.Break: gen_break, A.Continue: gen_break, A.Emit: gen_emit,
    A.Require: gen_require, A.ExprStmt: gen_expr_stmt,
}


# ---------------------------------------------------------------- expressions

def gen_expr(e: Emitter, x) -> None:
    if not e.reachable:
        return
    _EXPR[type(x)](e, x)


def gen_literal(e: Emitter, x) -> None:
    e.at(x).const(x.value)


def gen_name(e: Emitter, x) -> None:
    ref = e.program.ref[id(x)]
    e.at(x)
    kind = ref[0]
    if kind == "local":
        e.emit(O.LOAD, ref[1])
    elif kind == "state":
        e.emit(O.GLOAD, ref[1])
    elif kind == "const":
        e.const(ref[1])
    elif kind == "variant":
        e.emit(O.MKVARIANT, _variant_operand(e, ref))
    else:
        raise AssertionError(ref)


def gen_array(e: Emitter, x: A.ArrayLit) -> None:
    for item in x.items:
        gen_expr(e, item)
    e.at(x).emit(O.MKARRAY, len(x.items))


def gen_struct_lit(e: Emitter, x: A.StructLit) -> None:
    _, fields, name = e.program.ref[id(x)]
    for f in fields:
        gen_expr(e, f.value)
    e.at(x).emit(O.MKSTRUCT, O.struct_operand(_type_ids(e.program).structs[name], len(fields)))


def _type_ids(program: Program) -> TypeIds:
    """Struct index and MKVARIANT type code of each named type, in the module's (sorted) order."""
    ids = program.type_ids
    if ids is None:
        structs = {n: i for i, n in enumerate(sorted(program.structs))}
        enums = {"Option": O.OPTION_TYPE, "Result": O.RESULT_TYPE,
                 **{n: O.ENUM_TYPE_BASE + i for i, n in enumerate(sorted(program.enums))}}
        ids = program.type_ids = TypeIds(structs, enums)
    return ids


def _variant_operand(e: Emitter, ref) -> int:
    _, tag, n, type_name = ref
    return O.variant_operand(_type_ids(e.program).variants[type_name], tag, n)


_BINARY = {"-": O.SUB, "*": O.MUL, "/": O.DIV, "%": O.MOD, "==": O.EQ, "!=": O.NE, "<": O.LT,
           "<=": O.LE, ">": O.GT, ">=": O.GE}


def gen_binary(e: Emitter, x: A.Binary) -> None:
    if x.op in ("&&", "||"):
        gen_short_circuit(e, x)
        return
    gen_expr(e, x.left)
    gen_expr(e, x.right)
    e.at(x)
    if x.op == "+":
        e.emit(O.CONCAT if e.program.ref.get(id(x)) == ("str",) else O.ADD)
    else:
        e.emit(_BINARY[x.op])


def gen_short_circuit(e: Emitter, x: A.Binary) -> None:
    gen_expr(e, x.left)
    e.at(x)
    if not _has_control_flow(x.right):
        e.emit(O.SC_AND if x.op == "&&" else O.SC_OR)
        gen_expr(e, x.right)
        e.at(x).emit(O.SC_END)
        return
    slot = e.temp(ty.BOOL)                    # the right side holds a match or try: use IF

    def right():
        gen_expr(e, x.right)
        e.emit(O.STORE, slot)

    def short():
        e.const(x.op == "||")
        e.emit(O.STORE, slot)

    if x.op == "&&":
        e.if_(right, short)
    else:
        e.if_(short, right)
    e.at(x).emit(O.LOAD, slot)


def _has_control_flow(x) -> bool:
    if isinstance(x, (A.Match, A.TryCatch)):
        return True
    import attrs

    for field in attrs.fields(type(x)):
        v = getattr(x, field.name)
        items = v if isinstance(v, tuple) else (v,)
        for item in items:
            if attrs.has(type(item)) and not isinstance(item, A.TypeName) and _has_control_flow(item):
                return True
    return False


def gen_unary(e: Emitter, x: A.Unary) -> None:
    gen_expr(e, x.operand)
    e.at(x).emit(O.NOT if x.op == "!" else O.NEG)


def gen_get_field(e: Emitter, x: A.GetField) -> None:
    gen_expr(e, x.obj)
    e.at(x).emit(O.GETFIELD, e.program.ref[id(x)][1])


def gen_index(e: Emitter, x: A.Index) -> None:
    gen_expr(e, x.obj)
    gen_expr(e, x.index)
    e.at(x).emit(O.AGET if e.program.ref[id(x)] == ("array",) else O.MGET)


def gen_call(e: Emitter, x: A.Call) -> None:
    ref = e.program.ref[id(x)]
    args = list(x.args)
    if isinstance(x.callee, A.GetField) and ref[0] == "host":
        args = [x.callee.obj, *args]
    for a in args:
        gen_expr(e, a)
    e.at(x)
    kind = ref[0]
    if kind == "fn":
        e.emit(O.CALL, ref[1])
    elif kind == "host":
        e.hosts.add(ref[1])
        e.emit(O.CALL_HOST, ref[1])
    elif kind == "variant":
        e.emit(O.MKVARIANT, _variant_operand(e, ref))
    else:
        raise AssertionError(ref)


def gen_match(e: Emitter, x: A.Match, value: bool = True) -> None:
    """Arms run one after another, guarded by a `matched` flag: no nesting grows with the
    number of arms, and guards need no code duplication."""
    subject, result, flag = e.program.slot[id(x)]
    gen_expr(e, x.subject)
    e.at(x).emit(O.STORE, subject)
    arms = []
    exhaustive = False
    for arm in x.arms:
        arms.append(arm)
        if arm.guard is None and _irrefutable(e, arm.pattern):
            exhaustive = True
            break
    use_flag = len(arms) > 1 or not exhaustive
    if use_flag:
        e.const(False)
        e.emit(O.STORE, flag)
    for i, arm in enumerate(arms):
        last_needs_no_flag = exhaustive and i == len(arms) - 1

        def run_arm(arm=arm, set_flag=use_flag and not last_needs_no_flag):
            _gen_arm(e, arm, subject, result if value else None, flag if set_flag else None)

        if i == 0:
            run_arm()
        else:
            e.at(arm).emit(O.LOAD, flag)
            e.emit(O.NOT)
            e.if_(run_arm)
    if not exhaustive:
        e.at(x).emit(O.LOAD, flag)
        e.emit(O.NOT)
        e.if_(lambda: e.emit(O.TRAP, O.TRAP_NO_MATCH))
    if value:
        e.at(x).emit(O.LOAD, result)


def _gen_arm(e: Emitter, arm: A.Arm, subject: int, result, flag) -> None:
    tests: list[list[tuple[int, int]]] = []         # each a run of (op, operand) leaving a Bool
    _pattern_tests(e, arm.pattern, [(O.LOAD, subject)], tests)
    e.at(arm)

    def bound():
        _pattern_binds(e, arm.pattern, [(O.LOAD, subject)])
        if arm.guard is not None:
            gen_expr(e, arm.guard)
            e.at(arm)
            e.if_(body)
        else:
            body()

    def body():
        _gen_arm_body(e, arm.body, result)
        if flag is not None:
            e.const(True)
            e.emit(O.STORE, flag)

    if not tests:
        bound()
        return
    for k, test in enumerate(tests):         # t1 SC_AND t2 SC_AND t3 SC_END SC_END
        if k:
            e.emit(O.SC_AND)
        for op, arg in test:
            e.emit(op, arg)
    for _ in tests[1:]:
        e.emit(O.SC_END)
    e.if_(bound)


def _pattern_tests(e: Emitter, p, access, out) -> None:
    ref = e.program.ref[id(p)]
    kind = ref[0]
    if kind in ("wild", "bind"):
        return
    if kind == "tag":
        out.append([*access, (O.TAG, 0), (O.CONST, e.consts.index(ref[1])), (O.EQ, 0)])
    elif kind == "lit":
        out.append([*access, (O.CONST, e.consts.index(ref[1])), (O.EQ, 0)])
    elif kind == "variant":
        out.append([*access, (O.TAG, 0), (O.CONST, e.consts.index(ref[1])), (O.EQ, 0)])
        for i, sub in enumerate(ref[2]):
            _pattern_tests(e, sub, [*access, (O.PAYLOAD, i)], out)
    elif kind == "struct":
        for i, sub in ref[1]:
            _pattern_tests(e, sub, [*access, (O.GETFIELD, i)], out)


def _pattern_binds(e: Emitter, p, access) -> None:
    ref = e.program.ref[id(p)]
    if ref[0] == "bind":
        for op, arg in access:
            e.emit(op, arg)
        e.emit(O.STORE, ref[1])
    elif ref[0] == "variant":
        for i, sub in enumerate(ref[2]):
            _pattern_binds(e, sub, [*access, (O.PAYLOAD, i)])
    elif ref[0] == "struct":
        for i, sub in ref[1]:
            _pattern_binds(e, sub, [*access, (O.GETFIELD, i)])


def _irrefutable(e: Emitter, p) -> bool:
    ref = e.program.ref[id(p)]
    if ref[0] in ("wild", "bind"):
        return True
    if ref[0] == "struct":
        return all(_irrefutable(e, sub) for _, sub in ref[1])
    return False


def _gen_arm_body(e: Emitter, body, result) -> None:
    if isinstance(body, A.ArmReturn):
        gen_return(e, A.Return(value=body.value, span=body.span))
        return
    if isinstance(body, A.Block):
        gen_block(e, body, value=result is not None)
    elif isinstance(body, A.Match):
        gen_match(e, body, value=result is not None)
    else:
        gen_expr(e, body)
        if result is None:
            e.emit(O.POP)
    if result is not None:
        e.emit(O.STORE, result)


def gen_try(e: Emitter, x: A.TryCatch) -> None:
    slot = e.program.slot[id(x)]
    gen_expr(e, x.expr)
    e.at(x).emit(O.STORE, slot)
    e.emit(O.LOAD, slot)
    e.emit(O.TAG)
    e.const(1)
    e.emit(O.EQ)
    if x.handler is not None:
        def handler():
            gen_expr(e, x.handler)
            e.emit(O.STORE, slot)
        e.if_(handler)
        e.emit(O.LOAD, slot)
    else:
        def propagate():
            e.emit(O.LOAD, slot)
            e.emit(O.RET)
        e.if_(propagate)
        e.emit(O.LOAD, slot)
        e.emit(O.PAYLOAD, 0)


_EXPR: dict[type, Callable[[Emitter, Any], None]] = {
    A.IntLit: gen_literal, A.StrLit: gen_literal, A.BoolLit: gen_literal, A.DidLit: gen_literal,
    A.Name: gen_name, A.Path: gen_name, A.StateRef: gen_name, A.ArrayLit: gen_array,
    A.StructLit: gen_struct_lit, A.Binary: gen_binary, A.Unary: gen_unary, A.Call: gen_call,
    A.GetField: gen_get_field, A.Index: gen_index, A.Match: gen_match, A.TryCatch: gen_try,
}
