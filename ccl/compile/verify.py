"""The typed bytecode verifier.

Nothing runs until this has accepted a module. It checks, as WebAssembly validation does, the
type of every operand-stack slot at every instruction along every path, so that no instruction
on either engine ever sees a value it does not accept and the translator can rely on it:

- opcodes and operands in range; constants of allowed types; type descriptors well formed
  (struct and enum names declared, arities right, map keys Integer or String);
- structured control flow properly nested, with block signatures: an IF, ELSE or LOOP body and
  a short-circuit operand take nothing from below the height they start at; an IF (and its ELSE)
  and a LOOP body end at exactly that height; BREAK and CONTINUE leave from at or above the
  loop's height (what is above is discarded, as after RET and TRAP); BREAK_IFNOT at exactly it;
  a short-circuit operand leaves exactly one Bool;
- every instruction's operand types (ADD … on Integers, CONCAT on Strings, AGET on an Array with
  an Integer index, MGET on a Map with a key of its key type, GETFIELD/SETFIELD within the
  struct's fields, TAG/PAYLOAD on variants, CALL/CALL_HOST against the callee's signature, RET
  against the function's return type, REQUIRE on (Bool, String), IF/BREAK_IFNOT on Bool);
- locals have one type each, inferred by unification (parameters have their declared types);
  a local starts as the zero value of its type (`local_defaults`), so reading one before it is
  assigned is well typed; a local whose type has no zero value (a bare type parameter, a struct
  that contains one) must be assigned on every path before it is read;
- PAYLOAD i needs the variant's tag to be known: the verifier follows the tests codegen emits
  (`LOAD x; TAG; CONST k; EQ` under IF or SC_AND/SC_OR) and knows the tag inside the guarded code.

It also computes the gas of every basic block, which both VM paths charge. Imports leaves,
ccl.compile.opcodes/module and ccl.hosttable.
"""

from __future__ import annotations

from typing import NoReturn

import attrs

from ccl import canon, limits, types as ty
from ccl.compile import opcodes as O
from ccl.compile.module import Function, Module
from ccl.diag import Span, error
from ccl.hosttable import HOST_TABLE, PRELUDE_STRUCTS

EXPR_OPS = frozenset(O.BY_NAME[n].code for n in (
    "CONST", "LOAD", "GLOAD", "DUP", "DUP2", "ADD", "SUB", "MUL", "DIV", "MOD", "NEG", "NOT", "EQ", "NE",
    "LT", "LE", "GT", "GE", "CONCAT", "SC_AND", "SC_OR", "SC_END", "MKARRAY", "MKSTRUCT", "MKVARIANT",
    "TAG", "PAYLOAD", "GETFIELD", "AGET", "MGET", "ALEN", "CALL", "CALL_HOST"))

DESCRIPTOR_DEPTH_MAX = 32


@attrs.frozen
class Verified:
    module: Module
    block_gas: tuple[dict, ...]      # per function: leader pc → gas charged on entry
    matches: tuple[dict, ...]        # per function: pc of IF/ELSE/LOOP/SC_* → pc of its partner
    encoded: bytes = b""             # the module's canonical bytes and their CID, computed once:
    cid: str = ""                    # every run names its module, so this must not be redone per run
    local_defaults: tuple = ()       # per function: the initial value of each non-parameter local


class Bad(Exception):
    pass


def verify(module: Module, path: str = "<module>") -> Verified:
    try:
        return _verify(module)
    except Bad as e:
        raise error("I0800", f"{path}: bytecode rejected by the verifier: {e}", Span(path),
                    "recompile it from source with `ccl compile`") from None
    except RecursionError:
        raise error("I0800", f"{path}: bytecode rejected by the verifier: its types are nested too deeply",
                    Span(path), "recompile it from source with `ccl compile`") from None


# ---------------------------------------------------------------- type terms

# A term is a tuple (constructor, *arguments) or a Var. Constructors: Integer, Bool, String (Did
# is a String at run time), Unit, Array, Map, Option, Result, struct (name), enum (name),
# param (a function's type parameter: opaque). Constructors name their struct or enum
# (MKSTRUCT, MKVARIANT), so no term is structural.
INT, BOOL, STR, UNIT = ("Integer",), ("Bool",), ("String",), ("Unit",)
_NULLARY = {"Integer": INT, "Bool": BOOL, "String": STR, "Did": STR, "Unit": UNIT}
_ARITY = {"Array": 1, "Option": 1, "Map": 2, "Result": 2}


class Var:
    """A type not known yet. `row`: tag → [payload terms, closed] when it must be a variant;
    `key`: it must be a map key (Integer or String); `fields`: index → term when it must be a
    struct with those fields (a field read or set on a value whose struct is not known yet, as
    an entry of a map made by `map_new()` before anything is put in it)."""

    __slots__ = ("ref", "row", "key", "fields")

    def __init__(self, row=None, key=False):
        self.ref = None
        self.row = row
        self.key = key
        self.fields = None


def find(t):
    while type(t) is Var and t.ref is not None:
        t = t.ref
    return t


def show(t, depth=0) -> str:
    t = find(t)
    if depth > 6:
        return "…"
    if type(t) is Var:
        return ("a variant" if t.row is not None else "a map key" if t.key
                else "a struct" if t.fields is not None else "an unknown type")
    if t[0] in ("struct", "enum", "param"):
        return t[1]
    if len(t) == 1:
        return t[0]
    return f"{t[0]}<{', '.join(show(x, depth + 1) for x in t[1:])}>"


class Types:
    """The module's struct and enum declarations as terms, and unification over them."""

    def __init__(self, m: Module):
        self.structs: dict[str, tuple] = {}
        self.enums: dict[str, tuple] = {}
        struct_names = [n for n, _ in m.structs]
        enum_names = [n for n, _ in m.enums]
        for n in (*struct_names, *enum_names):
            if type(n) is not str or not n:
                raise Bad("a struct or enum has no name")
        if len(set(struct_names)) != len(struct_names) or len(set(enum_names)) != len(enum_names):
            raise Bad("a struct or enum is declared twice")
        self.struct_names = set(struct_names)
        self.enum_names = set(enum_names)
        for name, signature in PRELUDE_STRUCTS.items():       # host rows may return these
            if name not in self.struct_names:
                self.struct_names.add(name)
                self.structs[name] = tuple(self.host_term(ty.parse_signature_type(t), {}) for _, t in signature)
        for name, fields in m.structs:
            names = [f for f, _ in fields]
            if len(set(names)) != len(names):
                raise Bad(f"struct `{name}` names a field twice")
            prelude = PRELUDE_STRUCTS.get(name)
            if prelude is not None and [(f, ty.from_descriptor(d) if _descriptor_ok(d) else None)
                                        for f, d in fields] != [(f, ty.parse_signature_type(t)) for f, t in prelude]:
                raise Bad(f"struct `{name}` is the host table's; it must have exactly its fields "
                          f"({', '.join(f'{f}: {t}' for f, t in prelude)})")
            self.structs[name] = tuple(self.term(d, f"field `{f}` of struct `{name}`") for f, d in fields)
        for name, variants in m.enums:
            names = [v for v, _ in variants]
            if len(set(names)) != len(names) or not 0 < len(names) <= 65536:
                raise Bad(f"enum `{name}` has duplicate variants or a bad variant count")
            self.enums[name] = tuple(
                tuple(self.term(d, f"variant `{v}` of enum `{name}`") for d in ts) for v, ts in variants)
            if any(len(ts) > 255 for ts in self.enums[name]):
                raise Bad(f"enum `{name}` has a variant with more than 255 values")

    # descriptors ------------------------------------------------------------
    def term(self, d, where: str, params: bool = False, depth: int = 0):
        """A term from a type descriptor; `params`: bare unknown names are type parameters."""
        if depth > DESCRIPTOR_DEPTH_MAX:
            raise Bad(f"{where}: type descriptor nested too deeply")
        if type(d) is str:
            name, args = d, []
        elif type(d) is list and d and type(d[0]) is str:
            name, args = d[0], d[1:]
        else:
            raise Bad(f"{where}: malformed type descriptor {_short(d)}")
        if name in _NULLARY or name.startswith(("struct:", "enum:")) or (name not in _ARITY and params):
            if args:
                raise Bad(f"{where}: `{name}` takes no type arguments")
        if name in _NULLARY:
            return _NULLARY[name]
        if name in _ARITY:
            if len(args) != _ARITY[name]:
                raise Bad(f"{where}: `{name}` takes {_ARITY[name]} type argument(s), not {len(args)}")
            out = (name, *(self.term(a, where, params, depth + 1) for a in args))
            if name == "Map" and out[1] not in (INT, STR):
                raise Bad(f"{where}: a map key must be Integer, String or Did, not {show(out[1])}")
            return out
        if name.startswith("struct:"):
            if name[7:] not in self.struct_names:
                raise Bad(f"{where}: struct `{name[7:]}` is not declared")
            return ("struct", name[7:])
        if name.startswith("enum:"):
            if name[5:] not in self.enum_names:
                raise Bad(f"{where}: enum `{name[5:]}` is not declared")
            return ("enum", name[5:])
        if params and name.isidentifier() and name not in ("Any", "Never"):
            return ("param", name)
        raise Bad(f"{where}: unknown type `{_short(name)}`")

    def host_term(self, t: ty.T, env: dict):
        """A term from a host-table type; type variables become fresh Vars (one per name)."""
        if t.kind == "var":
            if t.name not in env:
                env[t.name] = Var(key=t.name == "K")
            return env[t.name]
        if t.kind == "struct":
            return ("struct", t.name)
        if t.kind == "enum":
            return ("enum", t.name)
        if t.name in _NULLARY:
            return _NULLARY[t.name]
        return (t.name, *(self.host_term(a, env) for a in t.args))

    # shapes -----------------------------------------------------------------
    def variants(self, t):
        """Payload terms per tag of a concrete variant type, or None."""
        k = t[0]
        if k == "Option":
            return ((), (t[1],))
        if k == "Result":
            return ((t[1],), (t[2],))
        if k == "enum":
            return self.enums[t[1]]
        return None

    def fields(self, t):
        if t[0] == "struct":
            return self.structs[t[1]]
        return None

    # unification --------------------------------------------------------------
    def unify(self, a, b, what: str = "") -> None:
        if not self._unify(a, b, 0):
            raise Bad(f"{what}expected {show(b)}, found {show(a)}")

    def _unify(self, a, b, depth: int) -> bool:
        a, b = find(a), find(b)
        if a is b:
            return True
        if depth > 64:
            raise Bad("types nested too deeply")
        if type(a) is Var or type(b) is Var:
            if type(a) is not Var:
                a, b = b, a
            if type(b) is Var:
                if a.key or b.key:
                    if a.row is not None or b.row is not None or a.fields is not None or b.fields is not None:
                        return False
                    b.key = True
                if a.fields is not None or b.fields is not None:
                    if a.row is not None or b.row is not None:
                        return False
                    a.ref = b
                    if b.fields is None:
                        b.fields = a.fields
                    elif a.fields is not None:
                        for i, t in a.fields.items():
                            if i in b.fields:
                                if not self._unify(b.fields[i], t, depth + 1):
                                    return False
                            else:
                                b.fields[i] = t
                    return True
                if a.row is not None:
                    if _occurs_row(b, a.row):
                        return False
                    if b.row is None:
                        b.row = a.row
                    else:
                        for tag, entry in a.row.items():
                            if tag in b.row:
                                if not self._merge_entry(b.row[tag], entry, depth):
                                    return False
                            else:
                                b.row[tag] = entry
                a.ref = b
                return True
            if _occurs(a, b):
                return False
            if a.key and b not in (INT, STR):
                return False
            if a.fields is not None:
                fs = self.fields(b)
                if fs is None:
                    return False
                a.ref = b                   # provisionally: field types may mention a
                if all(0 <= i < len(fs) and self._unify(x, fs[i], depth + 1) for i, x in a.fields.items()):
                    return True
                a.ref = None                # so the message names what it was: "a struct"
                return False
            if a.row is not None:
                vs = self.variants(b)
                if vs is None:
                    return False
                for tag, (terms, closed) in a.row.items():
                    if tag >= len(vs) or len(terms) > len(vs[tag]) or (closed and len(terms) != len(vs[tag])):
                        return False
                    a.ref = b               # provisionally: payloads may mention a
                    for x, y in zip(terms, vs[tag]):
                        if not self._unify(x, y, depth + 1):
                            return False
            a.ref = b
            return True
        if a[0] != b[0]:
            return False
        if a[0] in ("struct", "enum", "param"):
            return a[1] == b[1]
        if len(a) != len(b):
            return False
        return all(self._unify(x, y, depth + 1) for x, y in zip(a[1:], b[1:]))

    def _merge_entry(self, into: list, other: list, depth: int) -> bool:
        t1, c1 = into
        t2, c2 = other
        if (c1 and len(t2) > len(t1)) or (c2 and len(t1) > len(t2)) or (c1 and c2 and len(t1) != len(t2)):
            return False
        for x, y in zip(t1, t2):
            if not self._unify(x, y, depth + 1):
                return False
        if len(t2) > len(t1):
            t1.extend(t2[len(t1):])
        into[1] = c1 or c2
        return True

    # zero values ----------------------------------------------------------------
    def default(self, t, depth: int = 0):
        """The initial value of a local of type t (fresh mutable parts are made per call), or
        raise LookupError when the type has none."""
        t = find(t)
        if depth > 16:
            raise LookupError
        if type(t) is Var:
            if t.key:
                return 0
            if t.fields is not None:
                raise LookupError           # a struct not known yet: no zero value to start at
            if t.row is not None:
                for tag in sorted(t.row):
                    terms, closed = t.row[tag]
                    if closed:
                        try:
                            return (tag, *(self.default(x, depth + 1) for x in terms))
                        except LookupError:
                            pass
                raise LookupError
            return None                     # nothing constrains it: no instruction looks at it
        k = t[0]
        if k == "Integer":
            return 0
        if k == "Bool":
            return False
        if k == "String":
            return ""
        if k == "Unit":
            return None
        if k == "Array":
            return []
        if k == "Map":
            return {}
        if k in ("Option", "Result", "enum"):
            for tag, payload in enumerate(self.variants(t)):
                try:
                    return (tag, *(self.default(x, depth + 1) for x in payload))
                except LookupError:
                    pass
            raise LookupError
        if k == "struct":
            return [self.default(x, depth + 1) for x in self.fields(t)]
        raise LookupError                   # a type parameter: no value is known to have it


def _descriptor_ok(d) -> bool:
    try:
        ty.from_descriptor(d)
        return True
    except (ValueError, TypeError, KeyError, IndexError, RecursionError):
        return False


def _occurs(v: Var, t, seen=None) -> bool:
    t = find(t)
    if t is v:
        return True
    if type(t) is Var:
        if t.row is None and t.fields is None:
            return False
        seen = seen if seen is not None else set()
        if id(t) in seen:
            return False
        seen.add(id(t))
        if t.fields is not None:
            return any(_occurs(v, x, seen) for x in t.fields.values())
        return any(_occurs(v, x, seen) for terms, _ in t.row.values() for x in terms)
    return any(_occurs(v, x, seen) for x in t[1:] if not isinstance(x, str))


def _occurs_row(v: Var, row: dict) -> bool:
    return any(_occurs(v, x) for terms, _ in row.values() for x in terms)


def _short(x) -> str:
    text = repr(x)
    return text if len(text) <= 40 else text[:37] + "…"


def instantiate(t, env: dict):
    """Replace type parameters by fresh Vars (a call of a generic function)."""
    t = find(t)
    if type(t) is Var:
        return t
    if t[0] == "param":
        if t[1] not in env:
            env[t[1]] = Var()
        return env[t[1]]
    if len(t) == 1 or t[0] in ("struct", "enum"):
        return t
    return (t[0], *(instantiate(x, env) for x in t[1:]))


# ---------------------------------------------------------------- module

def _verify(m: Module) -> Verified:
    if len(m.functions) > limits.function_count_max or len(m.consts) > limits.constant_count_max:
        raise Bad("too many functions or constants")
    for c in m.consts:
        _check_const(c)
    for index, name in m.host:
        if not 0 <= index < len(HOST_TABLE) or HOST_TABLE[index].name != name:
            raise Bad(f"host function #{index} `{name}` is not in this ccl's host table")
    types = Types(m)
    states = tuple(types.term(t, f"state `{c}::{n}`") for c, n, t in m.states)
    sigs = []
    for f in m.functions:
        if len(f.param_names) != len(f.params):
            raise Bad(f"function `{f.name}` names {len(f.param_names)} of {len(f.params)} parameters")
        sigs.append((tuple(types.term(d, f"parameter {i + 1} of `{f.name}`", True) for i, d in enumerate(f.params)),
                     types.term(f.ret, f"return type of `{f.name}`", True)))
    for contract, index in m.initializers:
        if not 0 <= index < len(m.functions) or m.functions[index].params:
            raise Bad(f"initializer of `{contract}` is not a function without parameters")
    hosts = {i for i, _ in m.host}
    gas, matches, defaults = [], [], []
    for i, f in enumerate(m.functions):
        g, mt, d = _FnVerifier(m, f, types, states, sigs, sigs[i], hosts).run()
        gas.append(g)
        matches.append(mt)
        defaults.append(d)
    encoded = m.encode()
    return Verified(m, tuple(gas), tuple(matches), encoded, canon.cid_text(encoded), tuple(defaults))


def _check_const(c) -> None:
    if c is None or isinstance(c, (bool, str)):
        return
    if isinstance(c, int):
        if not limits.int_min <= c <= limits.int_max:
            raise Bad("integer constant out of 64-bit range")
        return
    if (isinstance(c, list) and len(c) == 2 and isinstance(c[0], str) and isinstance(c[1], list)
            and all(isinstance(x, str) for x in c[1])):
        if len(set(c[1])) != len(c[1]):
            raise Bad(f"event `{_short(c[0])}` names a field twice")
        return                      # an event descriptor
    raise Bad(f"constant of unsupported type {type(c).__name__}")


def _const_term(c):
    if c is None:
        return UNIT
    if isinstance(c, bool):
        return BOOL
    if isinstance(c, int):
        return INT
    return STR


class _State:
    """What is known along one path: definitely assigned locals (a bit set) and tag facts
    (path → (possible tags, time from which the fact is valid))."""

    __slots__ = ("assigned", "facts")

    def __init__(self, assigned: int, facts: dict):
        self.assigned = assigned
        self.facts = facts

    def copy(self) -> "_State":
        return _State(self.assigned, dict(self.facts))


def _with(facts: dict, extra) -> dict:
    out = dict(facts)
    if extra:
        for p, (tags, t) in extra.items():
            if p in out:
                old, t0 = out[p]
                out[p] = (old & tags, min(t, t0))
            else:
                out[p] = (tags, t)
    return out


def _join(states: list) -> _State:
    first = states[0]
    assigned = first.assigned
    facts = dict(first.facts)
    for s in states[1:]:
        assigned &= s.assigned
        for p in list(facts):
            if p in s.facts:
                tags, t = facts[p]
                tags2, t2 = s.facts[p]
                facts[p] = (tags | tags2, min(t, t2))
            else:
                del facts[p]
    return _State(assigned, facts)


class _Slot:
    """One operand-stack value: its type, where it was loaded from (local, steps, time) and,
    for Bools and tags, what it tells about variant tags."""

    __slots__ = ("t", "path", "info")

    def __init__(self, t, path=None, info=None):
        self.t = t
        self.path = path
        self.info = info


class _FnVerifier:
    def __init__(self, m, f: Function, types: Types, states, sigs, sig, hosts):
        self.m, self.f, self.types, self.states, self.sigs, self.hosts = m, f, types, states, sigs, hosts
        self.params, self.ret = sig
        self.locals = [*self.params, *(Var() for _ in range(max(0, f.nlocals - len(self.params))))]
        self.maybe_unassigned: set[int] = set()
        self.last_store: dict[int, int] = {}
        self.last_mut = -1

    def bad(self, why: str) -> NoReturn:
        raise Bad(f"{self.where}: {why}")

    # facts ------------------------------------------------------------------------
    def tags_known(self, st: _State, path):
        if path is None:
            return None
        root, steps, t = path
        hit = st.facts.get((root, steps))
        if hit is None:
            return None
        tags, t2 = hit
        since = min(t, t2)
        if self.last_store.get(root, -1) >= since or (any(s[0] == "f" for s in steps) and self.last_mut >= since):
            return None
        return tags

    def run(self):
        f, m, types = self.f, self.m, self.types
        code = f.code
        n = len(code) // 2
        if len(code) % 2 or n == 0 or n > limits.code_length_max:
            raise Bad(f"function `{f.name}` has a malformed code array")
        if sum(f.lines[2::3]) != n or len(f.lines) % 3:
            raise Bad(f"function `{f.name}` has a line table that does not match its code")
        if not len(f.params) <= f.nlocals <= limits.locals_per_function_max:
            raise Bad(f"function `{f.name}` has a bad local count")
        stack: list[_Slot] = []
        floor = 0
        control: list[list] = []           # [kind, floor, pc, extra…]
        loops: list[list] = []             # the open LOOP entries of `control`
        reachable = True
        matches: dict[int, int] = {}
        leaders = {0: 0}
        leader = 0
        st = _State((1 << len(self.params)) - 1, {})
        unify = types.unify
        for pc in range(n):
            op_code, arg = code[2 * pc], code[2 * pc + 1]
            if type(op_code) is not int or not 0 <= op_code < len(O.OPS):
                raise Bad(f"`{f.name}` pc {pc}: unknown opcode {op_code}")
            op = O.OPS[op_code]
            self.where = where = f"`{f.name}` pc {pc} ({op.name})"
            if not reachable and op_code not in (O.ELSE, O.END):
                raise Bad(f"{where}: unreachable instruction")
            if control and control[-1][0] == "SC" and op_code not in EXPR_OPS:
                raise Bad(f"{where}: not allowed inside a short-circuit operand")
            pops = self.operand(op, arg)
            if len(stack) - pops < floor:
                raise Bad(f"{where}: stack underflow (a block cannot take values from below its start)")
            leaders[leader] += instruction_gas(m, op, arg)

            if op_code == O.CONST:
                c = m.consts[arg]
                info = ("k", c) if type(c) is int else None
                stack.append(_Slot(_const_term(c), None, info))
            elif op_code == O.LOAD:
                if not st.assigned >> arg & 1:
                    self.maybe_unassigned.add(arg)
                stack.append(_Slot(self.locals[arg], (arg, (), pc)))
            elif op_code == O.STORE:
                unify(stack.pop().t, self.locals[arg], f"{where}: local #{arg}: ")
                st.assigned |= 1 << arg
                self.last_store[arg] = pc
            elif op_code == O.GLOAD:
                stack.append(_Slot(self.states[arg]))
            elif op_code == O.GSTORE:
                unify(stack.pop().t, self.states[arg], f"{where}: ")
            elif op_code == O.POP:
                stack.pop()
            elif op_code == O.DUP:
                stack.append(stack[-1])
            elif op_code == O.DUP2:
                stack.extend(stack[-2:])
            elif op_code in (O.ADD, O.SUB, O.MUL, O.DIV, O.MOD):
                b, a = stack.pop(), stack.pop()
                unify(a.t, INT, f"{where}: left operand: ")
                unify(b.t, INT, f"{where}: right operand: ")
                stack.append(_Slot(INT))
            elif op_code == O.NEG:
                unify(stack.pop().t, INT, f"{where}: ")
                stack.append(_Slot(INT))
            elif op_code == O.NOT:
                s = stack.pop()
                unify(s.t, BOOL, f"{where}: ")
                stack.append(_Slot(BOOL, None, (s.info[1], s.info[0]) if _is_cond(s) else None))
            elif op_code in (O.EQ, O.NE):
                b, a = stack.pop(), stack.pop()
                unify(b.t, a.t, f"{where}: operands: ")
                info = self.tag_test(a, b) or self.tag_test(b, a)
                if info is not None and op_code == O.NE:
                    info = (info[1], info[0])
                stack.append(_Slot(BOOL, None, info))
            elif op_code in (O.LT, O.LE, O.GT, O.GE):
                b, a = stack.pop(), stack.pop()
                unify(b.t, a.t, f"{where}: operands: ")
                r = find(a.t)
                if type(r) is Var and r.row is None:
                    unify(r, INT, f"{where}: ")
                elif r not in (INT, STR):
                    self.bad(f"orders Integers or Strings, not {show(r)}")
                stack.append(_Slot(BOOL))
            elif op_code == O.CONCAT:
                b, a = stack.pop(), stack.pop()
                unify(a.t, STR, f"{where}: left operand: ")
                unify(b.t, STR, f"{where}: right operand: ")
                stack.append(_Slot(STR))
            elif op_code in (O.SC_AND, O.SC_OR):
                c = stack.pop()
                unify(c.t, BOOL, f"{where}: ")
                before = st.facts
                if _is_cond(c):
                    st.facts = _with(st.facts, c.info[0] if op_code == O.SC_AND else c.info[1])
                control.append(["SC", floor, pc, op_code, before])
                floor = len(stack)
            elif op_code == O.SC_END:
                if not control or control[-1][0] != "SC":
                    raise Bad(f"{where}: SC_END without SC_AND/SC_OR")
                _, outer, start, kind, before = control.pop()
                if len(stack) != floor + 1:
                    raise Bad(f"{where}: a short-circuit operand must leave exactly one value")
                r = stack.pop()
                unify(r.t, BOOL, f"{where}: ")
                ran = st.facts
                rinfo = r.info if _is_cond(r) else (None, None)
                info = (_with(ran, rinfo[0]), None) if kind == O.SC_AND else (None, _with(ran, rinfo[1]))
                st.facts = _join([_State(0, before), _State(0, ran)]).facts
                floor = outer
                matches[start] = pc
                stack.append(_Slot(BOOL, None, info))
            elif op_code == O.MKARRAY:
                e = Var()
                for s in stack[len(stack) - arg:] if arg else ():
                    unify(s.t, e, f"{where}: element: ")
                del stack[len(stack) - arg:]
                stack.append(_Slot(("Array", e)))
            elif op_code == O.MKSTRUCT:
                s_index, k = O.split_struct(arg)
                name = m.structs[s_index][0]
                for i, (s, want) in enumerate(zip(stack[len(stack) - k:] if k else (), types.structs[name])):
                    unify(s.t, want, f"{where}: field {i}: ")
                del stack[len(stack) - k:]
                stack.append(_Slot(("struct", name)))
            elif op_code == O.MKVARIANT:
                t_code, tag, k = O.split_variant(arg)
                if t_code == O.OPTION_TYPE:
                    made = ("Option", Var())
                elif t_code == O.RESULT_TYPE:
                    made = ("Result", Var(), Var())
                else:
                    made = ("enum", m.enums[t_code - O.ENUM_TYPE_BASE][0])
                payload = types.variants(made)[tag]
                for i, (s, want) in enumerate(zip(stack[len(stack) - k:] if k else (), payload)):
                    unify(s.t, want, f"{where}: value {i}: ")
                del stack[len(stack) - k:]
                stack.append(_Slot(made))
            elif op_code == O.TAG:
                s = stack.pop()
                r = find(s.t)
                count = None
                if type(r) is Var:
                    if r.key:
                        self.bad("takes a variant, not a map key")
                    if r.row is None:
                        r.row = {}
                elif types.variants(r) is None:
                    self.bad(f"takes a variant, not {show(r)}")
                else:
                    count = len(types.variants(r))
                stack.append(_Slot(INT, None, ("tag", s.path, count)))
            elif op_code == O.PAYLOAD:
                s = stack.pop()
                stack.append(_Slot(self.payload(st, s, arg), _step(s.path, "p", arg)))
            elif op_code == O.GETFIELD:
                s = stack.pop()
                stack.append(_Slot(self.field(s.t, arg), _step(s.path, "f", arg)))
            elif op_code == O.SETFIELD:
                v, s = stack.pop(), stack.pop()
                unify(v.t, self.field(s.t, arg), f"{where}: field {arg}: ")
                self.last_mut = pc
            elif op_code == O.AGET:
                i, a = stack.pop(), stack.pop()
                e = Var()
                unify(a.t, ("Array", e), f"{where}: ")
                unify(i.t, INT, f"{where}: index: ")
                stack.append(_Slot(e))
            elif op_code == O.ASET:
                v, i, a = stack.pop(), stack.pop(), stack.pop()
                e = Var()
                unify(a.t, ("Array", e), f"{where}: ")
                unify(i.t, INT, f"{where}: index: ")
                unify(v.t, e, f"{where}: element: ")
            elif op_code in (O.MGET, O.MSET):
                v = stack.pop() if op_code == O.MSET else None
                k, mp = stack.pop(), stack.pop()
                kv, vv = Var(key=True), Var()
                unify(mp.t, ("Map", kv, vv), f"{where}: ")
                unify(k.t, kv, f"{where}: key: ")
                if v is None:
                    stack.append(_Slot(vv))
                else:
                    unify(v.t, vv, f"{where}: value: ")
            elif op_code == O.ALEN:
                unify(stack.pop().t, ("Array", Var()), f"{where}: ")
                stack.append(_Slot(INT))
            elif op_code == O.CALL:
                params, ret = self.sigs[arg]
                env: dict = {}
                self.call_args(stack, [instantiate(p, env) for p in params])
                stack.append(_Slot(instantiate(ret, env)))
                self.last_mut = pc
            elif op_code == O.CALL_HOST:
                row = HOST_TABLE[arg]
                env = {}
                self.call_args(stack, [types.host_term(t, env) for _, t in row.params])
                stack.append(_Slot(types.host_term(row.ret, env)))
                self.last_mut = pc
            elif op_code == O.RET:
                self.fit(st, stack.pop(), self.ret)
            elif op_code == O.IF:
                c = stack.pop()
                unify(c.t, BOOL, f"{where}: ")
                other = st.copy()
                if _is_cond(c):
                    other.facts = _with(other.facts, c.info[1])
                    st.facts = _with(st.facts, c.info[0])
                control.append(["IF", floor, pc, other, None])
                floor = len(stack)
            elif op_code == O.LOOP:
                st.facts = {}          # a fact could be undone later in the body, before the back edge
                control.append(["LOOP", floor, pc, [], st.copy(), len(stack)])
                loops.append(control[-1])
                floor = len(stack)
            elif op_code == O.ELSE:
                if not control or control[-1][0] != "IF":
                    raise Bad(f"{where}: ELSE without IF")
                ctl = control[-1]
                if reachable and len(stack) != floor:
                    raise Bad(f"{where}: stack height {len(stack)} differs from {floor} at IF")
                del stack[floor:]
                matches[ctl[2]] = pc
                ctl[0], ctl[2], ctl[4] = "ELSE", pc, st if reachable else None
                st = ctl[3]
                reachable = True
            elif op_code == O.END:
                if not control or control[-1][0] == "SC":
                    raise Bad(f"{where}: END without IF or LOOP")
                ctl = control.pop()
                kind, outer, start = ctl[0], ctl[1], ctl[2]
                if reachable and len(stack) != floor:
                    raise Bad(f"{where}: stack height {len(stack)} differs from {floor} at block start")
                del stack[floor:]
                if kind == "LOOP":
                    loops.pop()
                    breaks = ctl[3]
                    st = _join(breaks) if breaks else ctl[4]    # no way out: what follows is dead
                else:
                    ends = [s for s in ((st if reachable else None), ctl[4] if kind == "ELSE" else ctl[3])
                            if s is not None]
                    st = _join(ends) if ends else ctl[3]
                matches[start] = pc
                matches[pc] = start
                floor = outer
                reachable = True
            elif op_code in (O.BREAK, O.CONTINUE, O.BREAK_IFNOT):
                if not loops:                   # (never inside SC: only EXPR_OPS are allowed there)
                    raise Bad(f"{where}: outside a loop")
                loop = loops[-1]
                if op_code == O.BREAK_IFNOT:
                    c = stack.pop()
                    unify(c.t, BOOL, f"{where}: ")
                    if len(stack) != loop[5]:
                        raise Bad(f"{where}: must be at the loop's own height, {loop[5]}")
                    out = st.copy()
                    if _is_cond(c):
                        out.facts = _with(out.facts, c.info[1])
                        st.facts = _with(st.facts, c.info[0])
                    loop[3].append(out)
                elif len(stack) < loop[5]:
                    raise Bad(f"{where}: stack below the loop's height")
                elif op_code == O.BREAK:
                    loop[3].append(st)
            elif op_code == O.REQUIRE:
                msg, c = stack.pop(), stack.pop()
                unify(c.t, BOOL, f"{where}: condition: ")
                unify(msg.t, STR, f"{where}: message: ")
            elif op_code == O.TRAP:
                pass
            elif op_code == O.EMIT:
                del stack[len(stack) - pops:]
            else:
                raise Bad(f"{where}: no typing rule")           # pragma: no cover
            if op.terminator:
                reachable = False
            if op_code in O.BLOCK_STARTERS:
                leader = pc + 1
                leaders.setdefault(leader, 0)
        if control:
            raise Bad(f"`{f.name}`: {control[-1][0]} at pc {control[-1][2]} is never closed")
        if reachable:
            raise Bad(f"`{f.name}`: the code can run off its end")
        defaults = []
        for i in range(len(self.params), f.nlocals):
            try:
                defaults.append(types.default(self.locals[i]))
            except LookupError:
                if i in self.maybe_unassigned:
                    raise Bad(f"`{f.name}`: local #{i} ({show(self.locals[i])}) may be read before it is "
                              "assigned, and its type has no zero value") from None
                defaults.append(None)
        return {pc: g for pc, g in leaders.items() if pc < n}, matches, tuple(defaults)

    # typing helpers -------------------------------------------------------------------
    def operand(self, op: O.Op, arg: int) -> int:
        """Check the operand; return how many stack values the instruction pops."""
        m, f, kind, where = self.m, self.f, op.operand, self.where
        if type(arg) is not int:
            raise Bad(f"{where}: operand is not an integer")
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
        if kind == "struct":
            s, n = O.split_struct(arg)
            if not 0 <= s < len(m.structs):
                raise Bad(f"{where}: struct #{s} does not exist")
            fields = m.structs[s][1]
            if n != len(fields):
                raise Bad(f"{where}: struct `{m.structs[s][0]}` has {len(fields)} field(s), not {n}")
            return n
        if kind == "variant":
            if arg < 0:
                raise Bad(f"{where}: operand out of range")
            t, tag, n = O.split_variant(arg)
            counts: tuple[int, ...]
            if t == O.OPTION_TYPE:
                counts = (0, 1)
            elif t == O.RESULT_TYPE:
                counts = (1, 1)
            elif O.ENUM_TYPE_BASE <= t < O.ENUM_TYPE_BASE + len(m.enums):
                counts = tuple(len(ts) for _, ts in m.enums[t - O.ENUM_TYPE_BASE][1])
            else:
                raise Bad(f"{where}: variant type #{t} does not exist")
            if tag >= len(counts) or n != counts[tag]:
                raise Bad(f"{where}: variant {tag} of its type does not carry {n} value(s)")
            return n
        if kind == "fn":
            if not 0 <= arg < len(m.functions):
                raise Bad(f"{where}: function #{arg} does not exist")
            return len(m.functions[arg].params)
        if kind == "host":
            if arg not in self.hosts:
                raise Bad(f"{where}: host function #{arg} is not declared by the module")
            return len(HOST_TABLE[arg].params)
        if kind == "event":
            if not 0 <= arg < len(m.consts) or not isinstance(m.consts[arg], list):
                raise Bad(f"{where}: constant #{arg} is not an event descriptor")
            return len(m.consts[arg][1])
        if kind == "count":
            return arg
        return op.pops

    def call_args(self, stack, params) -> None:
        n = len(params)
        args = stack[len(stack) - n:] if n else []
        del stack[len(stack) - n:]
        for i, (s, p) in enumerate(zip(args, params)):
            self.types.unify(s.t, p, f"{self.where}: argument {i + 1}: ")

    def tag_test(self, tag: _Slot, k: _Slot):
        """`TAG x == CONST k`: (facts when true, facts when false)."""
        if not (tag.info and tag.info[0] == "tag" and tag.info[1] is not None and k.info and k.info[0] == "k"):
            return None
        _, path, count = tag.info
        value = k.info[1]
        root, steps, t = path
        true = {(root, steps): (frozenset((value,)), t)}
        false = {(root, steps): (frozenset(range(count)) - {value}, t)} if count is not None else None
        return (true, false)

    def payload(self, st: _State, s: _Slot, i: int):
        types = self.types
        tags = self.tags_known(st, s.path)
        r = find(s.t)
        if type(r) is Var:
            if r.key:
                self.bad("takes a variant, not a map key")
            if r.row is None:
                r.row = {}
            if tags is None:
                self.bad("payload of a variant whose tag is not known here (test it with TAG first)")
            out = None
            for tag in sorted(tags):
                entry = r.row.get(tag)
                if entry is None:
                    entry = r.row[tag] = [[], False]
                terms, closed = entry
                if len(terms) <= i:
                    if closed:
                        self.bad(f"variant {tag} carries {len(terms)} value(s), not {i + 1}")
                    terms.extend(Var() for _ in range(i + 1 - len(terms)))
                out = terms[i] if out is None else out
                types.unify(terms[i], out, f"{self.where}: ")
            if out is None:
                self.bad("payload of a variant that cannot have any tag here")
            return out
        vs = types.variants(r)
        if vs is None:
            self.bad(f"takes a variant, not {show(r)}")
        out = None
        for tag in sorted(tags) if tags is not None else range(len(vs)):
            if not 0 <= tag < len(vs) or len(vs[tag]) <= i:
                self.bad(f"variant {tag} of {show(r)} has no value #{i}" if tags is not None
                         else "payload of a variant whose tag is not known here (test it with TAG first)")
            out = vs[tag][i] if out is None else out
            types.unify(vs[tag][i], out, f"{self.where}: ")
        if out is None:
            self.bad("payload of a variant that cannot have any tag here")
        return out

    def field(self, t, i: int):
        r = find(t)
        if type(r) is Var and r.row is None and not r.key and 0 <= i:
            if r.fields is None:
                r.fields = {}
            if i not in r.fields:
                r.fields[i] = Var()
            return r.fields[i]
        fs = None if type(r) is Var else self.types.fields(r)
        if fs is None:
            self.bad(f"takes a struct, not {show(r)}")
        if not 0 <= i < len(fs):
            self.bad(f"{show(r)} has {len(fs)} field(s); there is no field #{i}")
        return fs[i]

    def fit(self, st: _State, s: _Slot, target) -> None:
        """RET: the value must have the declared type; a variant whose tag is known need only
        match that variant (`return r` after testing that r is an Err)."""
        tags = self.tags_known(st, s.path)
        r, goal = find(s.t), find(target)
        if tags and type(goal) is not Var and self.types.variants(goal) is not None:
            mine = (self.types.variants(r) if type(r) is not Var
                    else {t: e[0] for t, e in (r.row or {}).items() if e[1]})
            theirs = self.types.variants(goal)
            if mine is not None and all(t in range(len(theirs)) and (t in mine if isinstance(mine, dict)
                                                                      else t < len(mine)) for t in tags):
                for t in sorted(tags):
                    a, b = mine[t], theirs[t]
                    if len(a) != len(b):
                        self.bad(f"returns variant {t} with {len(a)} value(s); {show(goal)} has {len(b)}")
                    for x, y in zip(a, b):
                        self.types.unify(x, y, f"{self.where}: return value: ")
                return
        self.types.unify(s.t, target, f"{self.where}: return value: ")


def _is_cond(s: _Slot) -> bool:
    return bool(s.info) and s.info[0] != "tag" and s.info[0] != "k"


def _step(path, kind: str, i: int):
    if path is None:
        return None
    root, steps, t = path
    if len(steps) >= 16:
        return None
    return (root, (*steps, (kind, i)), t)


def instruction_gas(m: Module, op: O.Op, arg: int) -> int:
    """The static gas of one instruction; a basic block's charge is the sum over its rows."""
    if op.operand == "host":
        return HOST_TABLE[arg].gas_base
    if op.operand == "event":
        return op.gas + op.gas_per_operand * len(m.consts[arg][1])
    return O.static_gas(op, arg)
