"""The checked program: every declaration resolved and typed, ready for codegen.

Owns `Program` (what codegen consumes) and the declaration stages: `stage_collect` (gather
declarations of the root file and its imports, reject duplicates and import cycles),
`stage_types` (resolve every written type), `stage_consts` (evaluate constants at compile
time). Bodies are checked by ccl.check.body. Imports leaves, ccl.syntax and ccl.hosttable;
file access comes in through a `load` callback so the checker stays I/O-free.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import attrs

from ccl import limits
from ccl import types as ty
from ccl.diag import CclError, Span, did_you_mean, error
from ccl.syntax import ast as A
from ccl.types import T


@attrs.define
class FnInfo:
    qualname: str                  # `run`, `Coop::transfer`, `helper::add`
    node: Optional[A.Fn]           # a synthesized Fn for proposal executions and `init`; None for
                                   # a contract's state initializers (`Contract::<state>`)
    module: "ModuleScope"
    contract: Optional[str]
    params: list[tuple[str, T]]
    ret: T
    type_params: tuple[str, ...] = ()
    index: int = -1
    locals: list[tuple[str, T]] = attrs.Factory(list)
    entry: bool = True


def _position(items: list, cache: dict, name: str) -> int:
    """Where `name` is among `items` ((name, …) pairs; the first wins), from a dict built once
    per length of the list: a lookup per use instead of a scan (a scan per use is quadratic)."""
    if cache.get("size") != len(items):
        names: dict = {}
        for i, (n, _) in enumerate(items):
            names.setdefault(n, i)
        cache["size"], cache["names"] = len(items), names
    return cache["names"].get(name, -1)


@attrs.define
class StructInfo:
    name: str
    fields: list[tuple[str, T]]
    span: Span
    _index: dict = attrs.field(factory=dict, eq=False, repr=False)

    def field_index(self, name: str) -> int:
        return _position(self.fields, self._index, name)


@attrs.define
class EnumInfo:
    name: str
    variants: list[tuple[str, list[T]]]
    span: Span
    _index: dict = attrs.field(factory=dict, eq=False, repr=False)

    def variant_index(self, name: str) -> int:
        return _position(self.variants, self._index, name)


@attrs.define
class StateInfo:
    contract: str
    name: str
    type: T
    init: Optional[A.Expr]
    index: int
    span: Span


@attrs.define
class ModuleScope:
    """One source file: its own names, and the aliases of the files it imports."""

    file: str
    node: A.Module
    prefix: str                                   # "" for the root, "alias::" for imports
    functions: dict[str, FnInfo] = attrs.Factory(dict)
    consts: dict[str, "ConstInfo"] = attrs.Factory(dict)
    imports: dict[str, "ModuleScope"] = attrs.Factory(dict)


@attrs.define
class ConstInfo:
    name: str
    node: A.Const
    module: ModuleScope
    type: T = ty.ANY
    value: object = None
    state: str = "todo"            # todo | busy | done


@attrs.define
class ContractInfo:
    name: str
    node: A.Contract
    module: ModuleScope
    functions: dict[str, FnInfo] = attrs.Factory(dict)
    states: dict[str, StateInfo] = attrs.Factory(dict)
    consts: dict[str, ConstInfo] = attrs.Factory(dict)
    roles: list[A.Role] = attrs.Factory(list)
    proposals: list[A.Proposal] = attrs.Factory(list)
    meta: dict[str, A.Expr] = attrs.Factory(dict)
    founder: Optional[str] = None                                 # the `founder:` role (authority stage)
    kind_param_types: dict[str, list[T]] = attrs.Factory(dict)    # kind → its parameters' types


@attrs.frozen
class TypeIds:
    """Codegen's numbers for the named types, in the module's (sorted) order."""

    structs: dict[str, int]         # struct → its index (MKSTRUCT)
    variants: dict[str, int]        # Option, Result and each enum → its MKVARIANT type code


@attrs.define
class Program:
    root: ModuleScope
    functions: list[FnInfo] = attrs.Factory(list)
    structs: dict[str, StructInfo] = attrs.Factory(dict)
    enums: dict[str, EnumInfo] = attrs.Factory(dict)
    states: list[StateInfo] = attrs.Factory(list)
    contracts: dict[str, ContractInfo] = attrs.Factory(dict)
    modules: list[ModuleScope] = attrs.Factory(list)
    # side tables filled by the body checker, keyed by id(node)
    type_of: dict[int, T] = attrs.Factory(dict)     # expression → its type
    ref: dict[int, tuple] = attrs.Factory(dict)     # what a name, call, operator or pattern means: ("local", slot), …
    slot: dict[int, Any] = attrs.Factory(dict)      # local slot(s) of a let, for, if, match or try
    warnings: list = attrs.Factory(list)
    initializers: dict[str, FnInfo] = attrs.Factory(dict)   # contract → FnInfo computing its state initializers
    prelude: set[str] = attrs.Factory(set)          # built-in structs this program did not declare
    # (name, fields) the program's own declaration must match
    prelude_checks: list[tuple[str, list[tuple[str, T]]]] = attrs.Factory(list)
    type_ids: Optional[TypeIds] = None           # set by codegen, once
    source_bytes: int = 0                        # of every file read, for limits.program_source_bytes_max

    def entry(self, name: str) -> FnInfo:
        """Find an entry point by name: `run`, `transfer`, or `Coop::transfer`."""
        exact = [f for f in self.functions if f.entry and f.qualname == name]
        if exact:
            return exact[0]
        short = [f for f in self.functions if f.entry and f.module is self.root
                 and f.qualname.rsplit("::", 1)[-1] == name]
        if len(short) == 1:
            return short[0]
        names = [f.qualname for f in self.functions if f.entry and f.module is self.root]
        if len(short) > 1:
            raise error("E0217", f"`{name}` is defined in several contracts",
                        Span(self.root.file), "name one: " + ", ".join(f.qualname for f in short))
        raise error("E0217", f"no function `{name}` to run", Span(self.root.file),
                    did_you_mean(name, names) or ("functions: " + ", ".join(names) if names else
                                                  "the file defines no functions"))


Loader = Callable[[str, str], tuple[str, str]]   # (import path, importing file) → (text, canonical file)


# ---------------------------------------------------------------- stage: collect

def stage_collect(root: A.Module, load: Optional[Loader], parse) -> Program:
    scope = ModuleScope(root.file, root, "")
    program = Program(root=scope)
    program.source_bytes = root.size
    loaded: dict[str, ModuleScope] = {root.file: scope}
    _collect_module(program, scope, load, parse, loaded, [root.file])
    _add_prelude(program)
    return program


def _add_prelude(program: Program) -> None:
    """The structs the host table's signatures use; a program may declare one itself only with
    the same fields."""
    from ccl.hosttable import PRELUDE_STRUCTS

    for name, fields in PRELUDE_STRUCTS.items():
        typed = [(f, ty.parse_signature_type(t)) for f, t in fields]
        mine = program.structs.get(name)
        if mine is None:
            program.structs[name] = StructInfo(name, typed, Span(program.root.file))
            program.prelude.add(name)
        else:
            program.prelude_checks.append((name, typed))


def _collect_module(program, scope, load, parse, loaded, stack):
    for item in scope.node.items:
        if isinstance(item, A.Import):
            _collect_import(program, scope, item, load, parse, loaded, stack)
    for item in scope.node.items:
        if isinstance(item, A.Fn):
            _add_fn(program, scope, None, item)
        elif isinstance(item, A.Struct):
            _add_type(program, item)
        elif isinstance(item, A.Enum):
            _add_type(program, item)
        elif isinstance(item, A.Const):
            _add_const(scope.consts, scope, item)
        elif isinstance(item, A.Contract):
            _collect_contract(program, scope, item)
        elif isinstance(item, A.Class):
            pass                               # token-class metadata: no code
        elif isinstance(item, A.Rule):
            raise error("E0219", "`rule … when … then …` declarations are parsed but not executed yet",
                        item.span, "write the rule as a function returning Bool")
    program.modules.append(scope)


def _collect_import(program, scope, item, load, parse, loaded, stack):
    if load is None:
        raise error("E0214", f"cannot import \"{item.path}\" here", item.span,
                    "imports need a file on disk; check the file from the command line")
    if len(loaded) > limits.import_count_max:
        raise error("E0214", f"more than {limits.import_count_max} imports", item.span)
    hint = "paths are relative to the importing file; `std/NAME` is the standard library"
    try:
        text, canonical = load(item.path, scope.file)
    except CclError as e:
        if e.diagnostic.code not in ("U0701", "N0900"):
            raise
        raise error("E0214", f"cannot import \"{item.path}\": {e.diagnostic.message}", item.span, hint) from None
    except OSError as e:
        raise error("E0214", f"cannot import \"{item.path}\": {e.strerror or e}", item.span, hint) from None
    if canonical in stack:
        cycle = " → ".join([*stack[stack.index(canonical):], canonical])
        raise error("E0215", f"import cycle: {cycle}", item.span)
    if canonical not in loaded:
        program.source_bytes += len(text.encode("utf-8", "surrogatepass"))
        if program.source_bytes > limits.program_source_bytes_max:
            raise error("L0500", f"the program's source, with what it imports, is over "
                        f"{limits.program_source_bytes_max} bytes (at \"{item.path}\")", item.span,
                        "a program and its imports together are limited so that checking it stays fast")
    alias = item.alias or canonical.rsplit("/", 1)[-1].removesuffix(".ccl")
    if alias in scope.imports:
        raise error("E0200", f"two imports are both named `{alias}`", item.span, "use `as` to rename one")
    if canonical in loaded:
        scope.imports[alias] = loaded[canonical]
        return
    module = parse(text, canonical)
    child = ModuleScope(canonical, module, alias + "::")
    loaded[canonical] = child
    scope.imports[alias] = child
    _collect_module(program, child, load, parse, loaded, [*stack, canonical])


def _add_fn(program, scope, contract: Optional[ContractInfo], fn: A.Fn, entry=True) -> FnInfo:
    table = contract.functions if contract else scope.functions
    if fn.name in table:
        raise error("E0200", f"function `{fn.name}` is defined twice", fn.span)
    qual = (f"{contract.name}::" if contract else scope.prefix) + fn.name
    info = FnInfo(qual, fn, scope, contract.name if contract else None, [], ty.UNIT, fn.type_params,
                  entry=entry and scope.prefix == "")
    info.index = len(program.functions)
    program.functions.append(info)
    table[fn.name] = info
    return info


def _add_type(program, item):
    if item.name in program.structs or item.name in program.enums or item.name in ty.ALIASES:
        raise error("E0200", f"type `{item.name}` is defined twice", item.span)
    if isinstance(item, A.Struct):
        program.structs[item.name] = StructInfo(item.name, [], item.span)
    else:
        program.enums[item.name] = EnumInfo(item.name, [], item.span)


def _add_const(table, scope, item):
    if item.name in table:
        raise error("E0200", f"constant `{item.name}` is defined twice", item.span)
    table[item.name] = ConstInfo(item.name, item, scope)


def _collect_contract(program, scope, node: A.Contract):
    if node.name in program.contracts:
        raise error("E0200", f"contract `{node.name}` is defined twice", node.span)
    contract = ContractInfo(node.name, node, scope)
    program.contracts[node.name] = contract
    for meta in node.meta:
        contract.meta[meta.key] = meta.value
    for item in node.items:
        if isinstance(item, A.Fn):
            _add_fn(program, scope, contract, item)
        elif isinstance(item, A.State):
            if item.name in contract.states:
                raise error("E0200", f"state `{item.name}` is declared twice", item.span)
            info = StateInfo(node.name, item.name, ty.ANY, item.init, len(program.states), item.span)
            program.states.append(info)
            contract.states[item.name] = info
        elif isinstance(item, (A.Struct, A.Enum)):
            _add_type(program, item)
        elif isinstance(item, A.Const):
            _add_const(contract.consts, scope, item)
        elif isinstance(item, A.Role):
            contract.roles.append(item)
        elif isinstance(item, A.Proposal):
            contract.proposals.append(item)
            if item.execution is not None:
                fn = A.Fn(name=f"proposal::{item.name}", type_params=(), params=item.params, ret=None,
                          body=item.execution, span=item.span)
                _add_fn(program, scope, contract, fn, entry=False)
        elif isinstance(item, A.Init):
            fn = A.Fn(name="init", type_params=(), params=(), ret=None, body=item.body, span=item.span)
            _add_fn(program, scope, contract, fn)
        elif isinstance(item, A.Meta):
            contract.meta[item.key] = item.value
        elif isinstance(item, A.Rule):
            raise error("E0219", "`rule … when … then …` declarations are parsed but not executed yet",
                        item.span, "write the rule as a function returning Bool")


# ---------------------------------------------------------------- stage: types

def resolve_type(program: Program, t: A.TypeName, type_params=()) -> T:
    if t.name in type_params:
        return T(t.name, (), "var")
    args = tuple(resolve_type(program, a, type_params) for a in t.args)
    if t.name in ty.ALIASES and not args:
        return ty.ALIASES[t.name]
    name = "Map" if t.name == "map" else t.name
    if name in ty.GENERIC_ARITY:
        arity = ty.GENERIC_ARITY[name]
        ok = len(args) in arity if isinstance(arity, tuple) else len(args) == arity
        if not ok:
            raise error("E0201", f"`{name}` takes {arity if not isinstance(arity, tuple) else '1 or 2'} "
                        f"type argument(s), not {len(args)}", t.span)
        if name == "Result" and len(args) == 1:
            args = (args[0], ty.STR)
        if name == "Map" and args[0].name not in ty.MAP_KEYS and not ty.is_any(args[0]):
            raise error("E0201", f"map keys must be Integer, String or Did, not {args[0]}", t.span)
        return T(name, args)
    if args:
        raise error("E0201", f"`{t.name}` takes no type arguments", t.span)
    if t.name in program.structs:
        return T(t.name, (), "struct")
    if t.name in program.enums:
        return T(t.name, (), "enum")
    if t.name in ("Float", "float", "f64", "Decimal"):
        raise error("E0201", f"there is no `{t.name}` type: CCL has no floating point", t.span,
                    "use Integer minor units, and basis points (1% = 100) for rates")
    known = [*ty.ALIASES, *ty.GENERIC_ARITY, *program.structs, *program.enums]
    raise error("E0201", f"unknown type `{t.name}`", t.span, did_you_mean(t.name, known))


def stage_types(program: Program) -> None:
    _resolve_module_types(program)
    for name, fields in program.prelude_checks:
        info = program.structs[name]
        if [(f, str(t)) for f, t in info.fields] != [(f, str(t)) for f, t in fields]:
            raise error("E0200", f"`{name}` is a built-in struct; a program may declare it only as "
                        f"{name} {{ {', '.join(f'{f}: {t}' for f, t in fields)} }}", info.span)


def _resolve_module_types(program: Program) -> None:
    for module in program.modules:
        for item in module.node.items:
            _resolve_decl_types(program, item)
        for item in module.node.items:
            if isinstance(item, A.Contract):
                for sub in item.items:
                    _resolve_decl_types(program, sub)
    for fn in program.functions:
        node = fn.node
        assert node is not None             # only state initializers have none, and they are not here
        seen = set()
        for p in node.params:
            if p.name in seen:
                raise error("E0200", f"parameter `{p.name}` is declared twice", p.span)
            seen.add(p.name)
            fn.params.append((p.name, resolve_type(program, p.type, fn.type_params)))
        fn.ret = resolve_type(program, node.ret, fn.type_params) if node.ret else ty.UNIT
    declared: dict[tuple[str, str], A.State] = {}     # one pass over each contract, not one per state
    for contract in program.contracts.values():
        for sub in contract.node.items:
            if isinstance(sub, A.State):
                declared.setdefault((contract.name, sub.name), sub)
    for state in program.states:
        state.type = resolve_type(program, declared[(state.contract, state.name)].type)


def _resolve_decl_types(program, item):
    if isinstance(item, A.Struct) and not program.structs[item.name].fields:
        _unique(item.fields, "field")
        program.structs[item.name].fields.extend(
            (f.name, resolve_type(program, f.type, item.type_params)) for f in item.fields)
    elif isinstance(item, A.Enum) and not program.enums[item.name].variants:
        _unique(item.variants, "variant")
        program.enums[item.name].variants.extend(
            (v.name, [resolve_type(program, t, item.type_params) for t in v.types]) for v in item.variants)


def _unique(items, what: str) -> None:
    seen = set()
    for item in items:
        if item.name in seen:
            raise error("E0200", f"{what} `{item.name}` is declared twice", item.span)
        seen.add(item.name)


# ---------------------------------------------------------------- stage: consts

def stage_consts(program: Program) -> None:
    for module in program.modules:
        for c in module.consts.values():
            eval_const(program, c, module.consts)
    for contract in program.contracts.values():
        for c in contract.consts.values():
            eval_const(program, c, {**contract.module.consts, **contract.consts})


def eval_const(program, c: ConstInfo, table) -> object:
    if c.state == "done":
        return c.value
    if c.state == "busy":
        raise error("E0216", f"constant `{c.name}` is defined in terms of itself", c.node.span)
    c.state = "busy"
    c.type = resolve_type(program, c.node.type)
    value, vtype = _const_expr(program, c.node.value, table)
    if not ty.assignable(vtype, c.type):
        raise error("E0202", f"constant `{c.name}` is declared {c.type} but its value is {vtype}",
                    c.node.value.span)
    c.value = value
    c.state = "done"
    return value


def _const_expr(program, e, table):
    from ccl import semantics as S

    if isinstance(e, A.IntLit):
        if e.value > limits.int_max:
            raise error("E0103", "integer literal does not fit in 64 bits", e.span)
        return e.value, ty.INT
    if isinstance(e, A.BoolLit):
        return e.value, ty.BOOL
    if isinstance(e, A.StrLit):
        return e.value, ty.STR
    if isinstance(e, A.DidLit):
        return e.value, ty.DID
    if isinstance(e, A.FloatLit):
        raise float_error(e)
    if isinstance(e, A.Name) and e.name in table:
        c = table[e.name]
        return eval_const(program, c, table), c.type
    if isinstance(e, A.Unary):
        v, t = _const_expr(program, e.operand, table)
        if e.op == "-" and t == ty.INT:
            return _fold(S.neg, e, v), ty.INT
        if e.op == "!" and t == ty.BOOL:
            return not v, ty.BOOL
    if isinstance(e, A.Binary):
        a, ta = _const_expr(program, e.left, table)
        b, tb = _const_expr(program, e.right, table)
        if ta == tb == ty.INT and e.op in S.INT_BINARY:
            return _fold(S.INT_BINARY[e.op], e, a, b), (ty.BOOL if e.op in S.COMPARISONS else ty.INT)
        if ta == tb == ty.BOOL and e.op in ("&&", "||", "==", "!="):
            return {"&&": a and b, "||": a or b, "==": a == b, "!=": a != b}[e.op], ty.BOOL
        if ta == tb == ty.STR and e.op == "+":
            if len(a) + len(b) > limits.string_length_max:      # `const B = A + A` doubles
                raise error("L0504", f"constant string longer than {limits.string_length_max} characters",
                            e.span, "build long strings at run time, where they are paid for in gas")
            return a + b, ty.STR
        if ta == tb and e.op in ("==", "!="):
            return (a == b) == (e.op == "=="), ty.BOOL
    if isinstance(e, A.ArrayLit):
        items = [_const_expr(program, i, table) for i in e.items]
        if sum(_const_size(v) for v, _ in items) > limits.array_length_max:   # `[A, A]` doubles
            raise error("L0503", f"constant array with more than {limits.array_length_max} items in all",
                        e.span, "build large arrays at run time, where they are paid for in gas")
        elem = items[0][1] if items else ty.ANY
        return [v for v, _ in items], ty.array(elem)
    raise error("E0216", "a constant must be computed from literals and other constants", e.span,
                "use a function, or a `state` variable with an initializer")


def _const_size(v) -> int:
    """Items a constant value holds, nested arrays counted through (each counts once more)."""
    return 1 + sum(_const_size(x) for x in v) if isinstance(v, list) else 1


def _fold(op, e, *args):
    from ccl.semantics import Trap

    try:
        return op(*args)
    except Trap as t:
        raise error("E0216", f"constant expression fails: {t.message}", e.span) from None


def float_error(e) -> CclError:
    whole, _, frac = e.text.replace("_", "").partition(".")
    whole = whole.lstrip("0") or "0"
    hint = "CCL has no floating point: use Integer minor units, and basis points for rates"
    if len(frac) <= 4 and len(whole) == 1 and int(whole) <= 1:      # int() sees one digit only
        bps = int(whole) * 10000 + int((frac + "0000")[:4])
        hint += f" ({e.text} = {bps} bps)"
    text = e.text if len(e.text) <= 40 else f"{e.text[:12]}…{e.text[-12:]}"
    return error("E0210", f"floating-point literal `{text}`", e.span, hint)
