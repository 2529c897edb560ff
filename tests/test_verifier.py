"""The typed verifier: hand-built modules it must refuse (I0800 with a reason) or run the same on
both engines, every repository program verifying, and a differential over generated verified
bytecode (result, gas, error code and location on both engines at several gas limits)."""

import glob
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from ccl.compile import opcodes as O
from ccl.compile.module import Function, Module, module_from_cbor, read_file, write_file
from ccl.compile.verify import verify
from ccl.diag import CclError
from ccl.hosttable import HOST_INDEX
from ccl.vm.run import execute

ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------- hand-built modules

def asm(text: str, consts: list) -> list:
    """`CONST 1; CONST false; IF; POP; END` → [(op, operand)…]; constants go into `consts`;
    `CALL_HOST name` names a host row."""
    out = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        name, _, operand = part.partition(" ")
        op = O.BY_NAME[name]
        if op.operand == "const":
            value = {"true": True, "false": False, "none": None}.get(operand, None)
            if operand not in ("true", "false", "none"):
                value = operand[1:-1] if operand.startswith('"') else int(operand)
            key = next((i for i, c in enumerate(consts) if type(c) is type(value) and c == value), None)
            if key is None:
                consts.append(value)
                key = len(consts) - 1
            out.append((op.code, key))
        elif op.operand == "host":
            out.append((op.code, HOST_INDEX[operand]))
        else:
            out.append((op.code, int(operand) if operand else 0))
    return out


def function(code, *, name="run", params=(), ret="Integer", nlocals=None, entry=True) -> Function:
    flat = tuple(x for pair in code for x in pair)
    lines = tuple(x for pc in range(len(code)) for x in (pc + 1, 1, 1))      # line = pc + 1
    return Function(name=name, params=tuple(params), ret=ret,
                    nlocals=len(params) if nlocals is None else nlocals, code=flat, lines=lines,
                    entry=entry, param_names=tuple(f"p{i}" for i in range(len(params))),
                    local_names=(), file="hand.ccl")


def hand(text="", *, consts=None, functions=None, structs=(), enums=(), states=(), **kw) -> Module:
    consts = [] if consts is None else consts
    fns = functions if functions is not None else [function(asm(text, consts), **kw)]
    host = set()
    for f in fns:
        for op, arg in zip(f.code[::2], f.code[1::2]):
            if op == O.CALL_HOST:
                host.add(arg)
    from ccl.hosttable import HOST_TABLE

    return Module(source="hand.ccl", consts=tuple(consts), functions=tuple(fns), states=tuple(states),
                  initializers=(), structs=tuple(structs), enums=tuple(enums),
                  host=tuple((i, HOST_TABLE[i].name) for i in sorted(host)))


def refused(module: Module, *words: str) -> str:
    with pytest.raises(CclError) as e:
        verify(module, "hand.cclb")
    d = e.value.diagnostic
    assert d.code == "I0800", d
    for w in words:
        assert w in d.message, d.message
    return d.message


def both(module: Module, entry="run", args=(), gas=100_000):
    verified = verify(module, "hand.cclb")
    a, b = (execute(verified, entry, list(args), gas_limit=gas, mode=mode, log=lambda m: None)
            for mode in ("interp", "fast"))
    assert (a.ok, a.value, a.gas_used) == (b.ok, b.value, b.gas_used), (a, b)
    if not a.ok:
        assert (a.error.code, a.error.span.line, a.error.span.col) == \
               (b.error.code, b.error.span.line, b.error.span.col), (a.error, b.error)
    return a


# The divergences of issue 12, each refused or agreed on.

def test_a_branch_cannot_pop_what_was_pushed_before_it():      # was 99 on fast, 1 on reference
    refused(hand("CONST 1; CONST false; IF; POP; CONST 99; END; RET"), "below its start")


def test_a_branch_cannot_add_to_what_was_pushed_before_it():   # the UnboundLocalError reproducer
    refused(hand("CONST 1; CONST false; IF; CONST 2; ADD; CONST 0; END; RET"), "below its start")


def test_values_left_by_break_are_discarded_on_both_engines():
    r = both(hand("CONST 1; LOOP; CONST 20; BREAK; END; RET"))
    assert r.ok and r.value == 1
    r = both(hand("CONST 1; CONST true; IF; CONST 5; CONST 6; RET; END; RET"))
    assert r.value == 6


def test_mget_on_a_string_is_refused():
    refused(hand('CONST "abc"; CONST 0; MGET; RET'), "expected Map")


def test_mul_on_a_string_is_refused():      # was 1 GB for 4 gas
    refused(hand('CONST "x"; CONST 1073741824; MUL; RET'), "left operand", "expected Integer")


def test_a_local_read_before_it_is_assigned_is_its_zero_value():
    r = both(hand("CONST false; IF; CONST 7; STORE 0; END; LOAD 0; RET", nlocals=1))
    assert r.ok and r.value == 0
    r = both(hand('CONST false; IF; CONST "s"; STORE 0; END; LOAD 0; CALL_HOST string_length; RET', nlocals=1))
    assert r.value == 0


def test_a_generic_local_without_a_zero_value_must_be_assigned_first():
    c = []
    ident = function(asm("CONST false; IF; LOAD 0; STORE 1; END; LOAD 1; RET", c), name="id",
                     params=("T",), ret="T", nlocals=2, entry=False)
    refused(hand(functions=[ident, function(asm("CONST 1; CALL 0; RET", c))], consts=c),
            "may be read before it is assigned")


def test_wrong_return_type_is_refused():
    refused(hand('CONST "s"; RET'), "return value", "expected Integer, found String")
    refused(hand("CONST 1; RET", ret="Unit"), "return value")
    refused(hand("MKARRAY 0; RET", ret=["Map", "String", "Integer"]), "return value")


@pytest.mark.parametrize("descriptor, words", [
    (["Array"], "takes 1 type argument"),
    (["Map", "Bool", "Integer"], "map key"),
    ("struct:Nope", "not declared"),
    ("enum:Nope", "not declared"),
    ([], "malformed"),
    (5, "malformed"),
    ("Any", "unknown type"),
    (["Integer", "Integer"], "no type arguments"),
    ([["Array"] * 3], "malformed"),
])
def test_malformed_descriptors_are_refused(descriptor, words):
    refused(hand("CONST 1; RET", params=(descriptor,), nlocals=1), words)
    refused(hand("CONST 1; RET", structs=(("S", (("f", descriptor),)),)), words)
    refused(hand("CONST 1; RET", enums=(("E", (("A", (descriptor,)),)),)), words)
    refused(hand("CONST 1; RET", states=(("C", "x", descriptor),)), words)


def test_deep_descriptor_is_refused_not_a_crash():
    d = "Integer"
    for _ in range(5000):
        d = ["Array", d]
    refused(hand("CONST 1; RET", params=(d,), nlocals=1), "nested too deeply")


def test_declared_struct_and_enum_shapes():
    refused(hand("CONST 1; RET", structs=(("S", (("f", "Integer"), ("f", "Integer"))),)), "field twice")
    refused(hand("CONST 1; RET", structs=(("S", ()), ("S", ()))), "declared twice")
    refused(hand("CONST 1; RET", enums=(("E", ()),)), "variant count")


def test_operand_types_of_each_instruction():
    refused(hand("CONST 1; CONST 2; CONCAT; RET", ret="String"), "expected String")
    refused(hand("CONST 1; CONST 0; AGET; RET"), "expected Array")
    refused(hand('CONST 1; MKARRAY 1; CONST "0"; AGET; RET'), "index")
    one = (("S", (("a", "Integer"),)),)
    refused(hand("CONST 1; MKSTRUCT 1; GETFIELD 1; RET", structs=one), "no field #1")
    refused(hand('CONST "x"; MKSTRUCT 1; GETFIELD 0; RET', structs=one), "field 0", "expected Integer")
    refused(hand("CONST 1; GETFIELD 0; RET"), "takes a struct")
    refused(hand("CONST 1; TAG; RET"), "takes a variant")
    refused(hand("CONST 1; IF; END; CONST 1; RET"), "expected Bool")
    refused(hand('CONST 1; CONST "m"; REQUIRE; CONST 1; RET'), "condition")
    refused(hand("CONST true; CONST 5; REQUIRE; CONST 1; RET"), "message")
    refused(hand("CONST 5; CALL_HOST string_length; RET"), "argument 1")
    refused(hand('CONST 1; CONST "a"; LT; RET', ret="Bool"), "operands")
    refused(hand("CONST true; CONST false; LT; RET", ret="Bool"), "orders Integers or Strings")
    refused(hand('CONST true; CONST 1; EQ; RET', ret="Bool"), "operands")


def test_call_is_checked_against_the_callee_signature():
    callee = function(asm("LOAD 0; RET", []), name="f", params=("Integer",), entry=False)
    refused(hand(functions=[callee, function(asm('CONST "x"; CALL 0; RET', c := []))], consts=c),
            "argument 1", "expected Integer, found String")
    generic = function(asm("LOAD 0; RET", []), name="id", params=("T",), ret="T", entry=False)
    ok = hand(functions=[generic, function(asm("CONST 41; CALL 0; CONST 1; ADD; RET", c := []))], consts=c)
    assert both(ok).value == 42
    bad = hand(functions=[generic, function(asm('CONST "s"; CALL 0; CONST 1; ADD; RET', c := []))], consts=c)
    refused(bad, "left operand")
    opaque = function(asm("LOAD 0; CONST 1; ADD; RET", []), name="g", params=("T",), ret="Integer", entry=False)
    refused(hand(functions=[opaque], consts=[1]), "expected Integer, found T")


def test_payload_needs_a_known_tag():
    enums = (("E", (("A", ()), ("B", ("Integer",)), ("C", ("String",)))),)
    params = ("enum:E",)
    refused(hand("LOAD 0; PAYLOAD 0; RET", params=params, enums=enums), "tag is not known")
    test = "LOAD 0; TAG; CONST 1; EQ; IF; LOAD 0; PAYLOAD 0; RET; END; CONST 0; RET"
    m = hand(test, params=params, enums=enums)
    assert both(m, args=[{"B": 5}]).value == 5
    assert both(m, args=["A"]).value == 0
    refused(hand(test.replace("CONST 1", "CONST 2"), params=params, enums=enums), "expected Integer, found String")
    # the fact ends when the local is stored again
    refused(hand("LOAD 0; TAG; CONST 1; EQ; IF; MKVARIANT 33554432; STORE 0; LOAD 0; PAYLOAD 0; RET; END; CONST 0; RET",
                 params=params, enums=enums), "tag is not known")
    # and a loop may undo it before its back edge
    refused(hand("LOAD 0; TAG; CONST 1; EQ; IF; LOOP; LOAD 0; PAYLOAD 0; POP; MKVARIANT 33554432; STORE 0; END; END; "
                 "CONST 0; RET", params=params, enums=enums), "tag is not known")


def test_an_option_built_in_a_branch_has_one_type():
    # None and Some(1) flow into one local: its type is a variant of both
    m = hand("MKVARIANT 0; STORE 1; LOAD 0; IF; CONST 3; MKVARIANT 257; STORE 1; END; "
             "LOAD 1; TAG; CONST 1; EQ; IF; LOAD 1; PAYLOAD 0; RET; END; CONST 0; RET",
             params=("Bool",), nlocals=2)
    assert both(m, args=[True]).value == 3
    assert both(m, args=[False]).value == 0
    refused(hand("CONST 1; STORE 0; CONST \"s\"; STORE 0; CONST 0; RET", nlocals=1), "local #0")


def test_aliased_empty_arrays_keep_one_element_type():
    # [] stored in two locals is one array: pushing an Integer through one and reading a String
    # through the other must be refused
    refused(hand('MKARRAY 0; DUP; STORE 0; STORE 1; LOAD 0; CONST 1; CALL_HOST array_push; POP; '
                 'LOAD 1; CONST 0; AGET; CONST "x"; CONCAT; CALL_HOST string_length; RET', nlocals=2),
            "expected")


def test_block_shapes():
    refused(hand("CONST true; IF; CONST 1; END; CONST 1; RET"), "differs")
    refused(hand("CONST true; IF; CONST 1; ELSE; END; CONST 1; RET"), "differs")
    refused(hand("LOOP; CONST 1; END; CONST 1; RET"), "differs")
    refused(hand("CONST 1; LOOP; CONST true; BREAK_IFNOT; POP; END; RET"), "below its start")
    refused(hand("CONST 1; CONST true; SC_AND; CONST 2; ADD; SC_END; RET"), "below its start")
    refused(hand("CONST true; SC_AND; CONST 1; SC_END; RET", ret="Bool"), "expected Bool")


def test_event_descriptors_and_constants():
    refused(hand("CONST 1; RET", consts=[["E", ["a", "a"]]]), "field twice")
    refused(hand("CONST 1; RET", consts=[1.5]), "unsupported type")


def test_bad_operands_are_refused_not_crashes():
    refused(hand(functions=[Function("run", (), "Integer", 0, (0, "x", O.RET, 0), (1, 1, 2), True)], consts=[1]),
            "not an integer")
    refused(hand(functions=[Function("run", (), "Integer", 0, (999, 0, O.RET, 0), (1, 1, 2), True)]),
            "unknown opcode")


def test_modules_of_another_format_version_are_refused_with_a_recompile_hint():
    m = hand("CONST 1; RET")
    obj = m.to_cbor()
    obj["version"] = 0
    with pytest.raises(CclError) as e:
        module_from_cbor(obj, "old.cclb")
    assert e.value.diagnostic.code == "I0800" and "format version" in e.value.diagnostic.message
    assert "recompile" in " ".join(e.value.diagnostic.hints)
    assert read_file(write_file(m), "x.cclb") == m


# ---------------------------------------------------------------- every repository program

def _repository_sources():
    files = sorted({*glob.glob(str(ROOT / "contracts" / "**" / "*.ccl"), recursive=True),
                    *glob.glob(str(ROOT / "stdlib" / "**" / "*.ccl"), recursive=True),
                    *glob.glob(str(ROOT / "tests" / "golden" / "**" / "*.ccl"), recursive=True),
                    *glob.glob(str(ROOT / "bench" / "programs" / "*.ccl"))})
    out = [(Path(f).relative_to(ROOT).as_posix(), Path(f).read_text(), f) for f in files]
    for md in sorted(glob.glob(str(ROOT / "docs" / "**" / "*.md"), recursive=True)):
        text = Path(md).read_text()
        for i, block in enumerate(re.findall(r"```ccl\n(.*?)```", text, re.S)):
            out.append((f"{Path(md).relative_to(ROOT).as_posix()}#{i}", block, None))
    return out


def _check(source: str, path):
    from ccl.check import check
    from ccl.api.files import Loader
    from ccl.compile.codegen import compile_program
    from ccl.pipeline import deep_recursion
    from ccl.syntax.parse import parse

    name = path or "example.ccl"
    with deep_recursion():
        program = check(parse(source, name), Loader())
        return compile_program(program, Path(name).name)


def test_every_repository_program_that_checks_verifies_and_runs_the_same():
    verified_count = ran = 0
    for label, source, path in _repository_sources():
        try:
            module = _check(source, path)
        except CclError:
            continue                        # not a valid program (error goldens, fragments)
        verified = verify(module, label)    # must not raise
        verified_count += 1
        for f in module.functions:
            if f.entry and not f.params:
                a, b = (execute(verified, f.name, [], gas_limit=200_000, mode=mode, log=lambda m: None,
                                hidden=True) for mode in ("interp", "fast"))
                assert (a.ok, a.value, a.gas_used) == (b.ok, b.value, b.gas_used), (label, f.name, a, b)
                if not a.ok:
                    assert (a.error.code, a.error.span.line, a.error.span.col) == \
                           (b.error.code, b.error.span.line, b.error.span.col), (label, f.name)
                ran += 1
    assert verified_count >= 30 and ran >= 30, (verified_count, ran)


# ---------------------------------------------------------------- generated verified bytecode

INT_LOCALS = (0, 1, 2)      # Integer locals; 3, 6: loop counters; 4: String; 5: Array<Integer>
STR_LOCAL, ARR_LOCAL, COUNTERS = 4, 5, (3, 6)


class _Gen:
    def __init__(self, draw):
        self.draw = draw
        self.code: list = []
        self.consts: list = []
        self.loops = 0
        self.in_sc = 0

    def const(self, v):
        key = next((i for i, c in enumerate(self.consts) if type(c) is type(v) and c == v), None)
        if key is None:
            self.consts.append(v)
            key = len(self.consts) - 1
        self.code.append((O.CONST, key))

    def op(self, name, arg=0):
        self.code.append((O.BY_NAME[name].code, arg))

    def int_expr(self, depth=0):
        d = self.draw
        choice = d(st.integers(0, (8 if self.in_sc else 9) if depth < 3 else 1))
        if choice == 0:
            self.const(d(st.sampled_from([0, 1, 2, 3, 7, -1, 2**31, 2**62, -(2**63), 2**63 - 1])))
        elif choice == 1:
            self.op("LOAD", d(st.sampled_from(INT_LOCALS)))
        elif choice <= 4:
            self.int_expr(depth + 1)
            self.int_expr(depth + 1)
            self.op(d(st.sampled_from(["ADD", "SUB", "MUL", "DIV", "MOD"])))
        elif choice == 5:
            self.int_expr(depth + 1)
            self.op("NEG")
        elif choice == 6:
            self.op("LOAD", ARR_LOCAL)
            self.op("ALEN")
        elif choice == 7:
            self.op("LOAD", ARR_LOCAL)
            self.int_expr(depth + 1)
            self.op("AGET")
        elif choice == 8:
            self.str_expr(depth + 1)
            self.op("CALL_HOST", HOST_INDEX["string_length"])
        else:
            self.bool_expr(depth + 1)
            self.op("IF")
            self.int_expr(depth + 1)
            self.op("STORE", 0)
            self.op("ELSE")
            self.int_expr(depth + 1)
            self.op("STORE", 0)
            self.op("END")
            self.op("LOAD", 0)

    def bool_expr(self, depth=0):
        d = self.draw
        choice = d(st.integers(0, 3 if depth < 3 else 0))
        if choice == 0:
            self.const(d(st.booleans()))
        elif choice == 1:
            self.int_expr(depth + 1)
            self.int_expr(depth + 1)
            self.op(d(st.sampled_from(["EQ", "NE", "LT", "LE", "GT", "GE"])))
        elif choice == 2:
            self.bool_expr(depth + 1)
            self.op("NOT")
        else:
            self.bool_expr(depth + 1)
            self.op(d(st.sampled_from(["SC_AND", "SC_OR"])))
            self.in_sc += 1
            self.bool_expr(depth + 1)
            self.in_sc -= 1
            self.op("SC_END")

    def str_expr(self, depth=0):
        d = self.draw
        choice = d(st.integers(0, 2 if depth < 3 else 1))
        if choice == 0:
            self.const(d(st.sampled_from(["", "a", "hello"])))
        elif choice == 1:
            self.op("LOAD", STR_LOCAL)
        else:
            self.str_expr(depth + 1)
            self.str_expr(depth + 1)
            self.op("CONCAT")

    def stmts(self, depth=0):
        for _ in range(self.draw(st.integers(0, 3))):
            if not self.stmt(depth):
                return False          # ended in a terminator
        return True

    def stmt(self, depth):
        d = self.draw
        if depth > 3:
            return True
        choice = d(st.integers(0, 9 if self.loops < len(COUNTERS) else 7))
        if choice <= 1:
            self.int_expr()
            self.op("STORE", d(st.sampled_from(INT_LOCALS)))
        elif choice == 2:
            self.str_expr()
            self.op("STORE", STR_LOCAL)
        elif choice == 3:
            self.op("LOAD", ARR_LOCAL)
            self.int_expr()
            self.op("CALL_HOST", HOST_INDEX["array_push"])
            self.op("POP")
        elif choice == 4:
            self.bool_expr()
            self.str_expr()
            self.op("REQUIRE")
        elif choice == 5:
            self.op("LOAD", ARR_LOCAL)
            self.int_expr()
            self.int_expr()
            self.op("ASET")
        elif choice <= 7:
            self.bool_expr()
            self.op("IF")
            self.branch(depth)
            if d(st.booleans()):
                self.op("ELSE")
                self.branch(depth)
            self.op("END")
        else:
            counter = COUNTERS[self.loops]
            self.const(0)
            self.op("STORE", counter)
            self.op("LOOP")
            self.loops += 1
            self.op("LOAD", counter)
            self.const(d(st.integers(0, 4)))
            self.op("LT")
            self.op("BREAK_IFNOT")
            self.op("LOAD", counter)
            self.const(1)
            self.op("ADD")
            self.op("STORE", counter)
            self.stmts(depth + 1)
            self.loops -= 1
            self.op("END")
        return True

    def branch(self, depth):
        if not self.stmts(depth + 1):
            return
        ending = self.draw(st.integers(0, 5))
        if ending == 0:
            self.int_expr()
            self.op("RET")
        elif ending == 1 and self.loops:
            self.int_expr()                 # a value left on the stack by a break: discarded
            self.op(self.draw(st.sampled_from(["BREAK", "CONTINUE"])))
        elif ending == 2:
            self.op("TRAP", O.TRAP_NO_MATCH)


@st.composite
def generated_modules(draw):
    g = _Gen(draw)
    g.op("MKARRAY", 0)
    g.op("STORE", ARR_LOCAL)
    g.stmts()
    g.int_expr()
    g.op("RET")
    return hand(functions=[function(g.code, nlocals=7)], consts=g.consts)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(generated_modules())
def test_generated_verified_bytecode_runs_the_same_on_both_engines(module):
    verified = verify(module, "gen.cclb")
    for gas in (30, 300, 3000, 100_000):
        a, b = (execute(verified, "run", [], gas_limit=gas, mode=mode, log=lambda m: None)
                for mode in ("interp", "fast"))
        assert (a.ok, a.value, a.gas_used) == (b.ok, b.value, b.gas_used), (gas, a, b)
        if not a.ok:
            assert (a.error.code, a.error.span.line, a.error.span.col) == \
                   (b.error.code, b.error.span.line, b.error.span.col), (gas, a.error, b.error)


def test_a_long_short_circuit_operand_is_evaluated_only_when_needed():
    right = "CONST 1; " + "CONST 1; ADD; " * 40 + "CONST 0; DIV; CONST 0; EQ"
    for left, ok in (("false", True), ("true", False)):
        r = both(hand(f"CONST {left}; SC_AND; {right}; SC_END; RET", ret="Bool"))
        assert r.ok == ok
        if not ok:
            assert r.error.code == "R0301" and r.error.span.line == 85
    r = both(hand(f"CONST true; SC_OR; {right}; SC_END; RET", ret="Bool"))
    assert r.ok and r.value is True


def test_long_expression_chains_translate_and_agree():
    from ccl.vm.run import compiled

    m = hand("CONST 1; " + "CONST 1; ADD; " * 3000 + "RET")
    assert compiled(verify(m))[0] is not None
    assert both(m).value == 3001
    m = hand("CONST 9223372036854775806; " + "CONST 1; ADD; " * 3000 + "RET")
    r = both(m)
    assert r.error.code == "R0300" and r.error.span.line == 5


def test_constructors_name_their_type():
    """MKSTRUCT and MKVARIANT carry the type they build (struct index; Option, Result or enum)."""
    one = (("S", (("a", "Integer"),)),)
    refused(hand("CONST 1; MKSTRUCT 1; POP; CONST 1; RET"), "struct #0 does not exist")
    refused(hand("CONST 1; CONST 2; MKSTRUCT 2; RET", ret="struct:S", structs=one), "has 1 field(s), not 2")
    assert both(hand("CONST 4; MKSTRUCT 1; RET", ret="struct:S", structs=one)).value == {"a": 4}
    refused(hand("MKVARIANT 50331648; RET", ret=["Option", "Integer"]), "variant type #3 does not exist")
    refused(hand("MKVARIANT 1; RET", ret=["Option", "Integer"]), "does not carry 1 value")
    refused(hand("CONST 1; MKVARIANT 513; RET", ret=["Option", "Integer"]), "variant 2")
    refused(hand('CONST "s"; MKVARIANT 257; RET', ret=["Option", "Integer"]), "expected Option<Integer>")
    assert both(hand("CONST 7; MKVARIANT 257; RET", ret=["Option", "Integer"])).value == 7
    # an Option is not an enum, even one with the same shape
    enums = (("E", (("A", ()), ("B", ("Integer",)))),)
    refused(hand("CONST 7; MKVARIANT 257; RET", ret="enum:E", enums=enums), "expected E")
    assert both(hand("CONST 7; MKVARIANT 33554689; RET", ret="enum:E", enums=enums)).value == {"B": 7}


RECURSIVE = {
    "enum": ("enum L { Nil, Cons(Integer, L) }\n"
             "fn len(l: L) -> Integer { match l { L::Nil => 0, L::Cons(_, t) => 1 + len(t) } }\n"
             "fn run() -> Integer { let l = L::Nil; let i = 0; while i < 5 { l = L::Cons(i, l); i = i + 1; } len(l) }",
             5),
    "struct": ("struct N { v: Integer, kids: Array<N> }\n"
               "fn run() -> Integer { let a = N { v: 1, kids: [] }; let i = 0;"
               " while i < 3 { a = N { v: i, kids: [a, a] }; i = i + 1; } a.kids[0].v }", 1),
}


@pytest.mark.parametrize("name", sorted(RECURSIVE))
def test_recursive_types_built_in_a_loop_verify(name):
    """A local that holds a recursive type built from itself has a finite, named type (these
    were refused by the first typed verifier: the structural shape grew without end)."""
    from ccl.pipeline import build
    from ccl.vm.run import execute

    source, want = RECURSIVE[name]
    verified = build(source, "rec.ccl")
    results = [execute(verified, "run", [], mode=mode, log=lambda m: None) for mode in ("fast", "interp")]
    assert [r.value for r in results] == [want, want]
    assert results[0].gas_used == results[1].gas_used


def test_a_field_of_a_struct_not_known_yet():
    """A field read or set on a map entry before anything typed is put in the map: the value
    must be a struct with that field, checked when its struct becomes known (found by the
    campaign: `let m: Map<String, S> = map_new(); m["k"].a = …` passed check, failed to verify)."""
    from ccl.pipeline import build
    from ccl.vm.run import execute

    source = ('struct S { a: Integer, b: String }\n'
              'fn run() -> Integer { let m: Map<String, S> = map_new(); let n: Map<String, S> = map_new();\n'
              ' if map_size(n) > 0 { n["y"].a = 3; }\n'
              ' m["x"] = S { a: 1, b: "q" }; m["x"].a = 5; m["x"].a + n.len() }')
    verified = build(source, "fields.ccl")
    assert [execute(verified, "run", [], mode=m, log=lambda _: None).value for m in ("fast", "interp")] == [5, 5]
    one = (("S", (("a", "Integer"),)),)
    # field #3 asked of an entry, then a one-field struct stored in the map: refused
    refused(hand('CALL_HOST map_new; STORE 0; LOAD 0; CONST "k"; MGET; GETFIELD 3; POP; '
                 'LOAD 0; CONST "k"; CONST 1; MKSTRUCT 1; MSET; CONST 0; RET', structs=one, nlocals=1,
                 consts=None), "expected")
    # a field read of an entry whose struct never becomes known is still typed: a String field
    # cannot be added to an Integer
    refused(hand('CALL_HOST map_new; STORE 0; LOAD 0; CONST "k"; MGET; GETFIELD 0; CONST "s"; CONCAT; POP; '
                 'LOAD 0; CONST "k"; CONST 1; MKSTRUCT 1; MSET; CONST 0; RET', structs=one, nlocals=1), "expected")


def test_a_module_cannot_redeclare_a_prelude_struct():
    """Adversarial review: a hand-built module gave `Contribution.hours` the type String, so the
    host multiplied a string (433 MB at 3,000 gas); the host table's structs are fixed."""
    fields = (("member", "Did"), ("hours", "String"), ("weight", "Integer"))
    refused(hand("CONST 1; RET", structs=(("Contribution", fields),)), "host table's", "hours: Integer")
    same = (("member", "Did"), ("hours", "Integer"), ("weight", "Integer"))
    verify(hand("CONST 1; RET", structs=(("Contribution", same),)), "hand.cclb")


def test_a_module_too_big_to_translate_cheaply_runs_on_the_interpreter():
    """Adversarial review: translation costs ~11 KB an instruction before any gas is charged
    (400k instructions: 4.4 GB at --gas 100); past the limit the reference interpreter runs it."""
    from ccl import limits
    from ccl.vm.run import compiled

    n = limits.translate_instructions_max // 2
    m = hand("CONST 0; " + "CONST 0; ADD; " * n + "RET")
    verified = verify(m, "hand.cclb")
    assert compiled(verified)[0] is None
    r = both(m, gas=50)
    assert r.error.code == "G0400"
    small = verify(hand("CONST 0; " + "CONST 0; ADD; " * 10 + "RET"), "hand.cclb")
    assert compiled(small)[0] is not None


def test_a_type_parameter_is_only_itself_in_its_function():
    """Found by the final campaign: `fn id<T>(x: T) -> T { 0 }` passed check (a type parameter
    matched anything inside its own body) and the verifier refused it. Now the checker refuses
    it, and generic code that is right still checks, verifies and runs alike."""
    from ccl.diag import CclError as Err
    from ccl.pipeline import build
    from ccl.vm.run import execute

    for bad in ("fn id<T>(x: T) -> T { 0 }", "fn f<T>(x: T) -> Integer { x + 1 }",
                "fn f<T>(x: T) -> T { let y: T = 3; y }", "fn f<A, B>(a: A, b: B) -> A { b }"):
        with pytest.raises(Err) as e:
            build(bad + "\nfn run() -> Integer { 1 }\n", "g.ccl")
        assert e.value.diagnostic.code == "E0202", (bad, e.value.diagnostic)
    good = ("fn id<T>(x: T) -> T { let y: T = x; y }\nfn same<A>(a: A, b: A) -> Bool { a == b }\n"
            "fn first<T>(xs: Array<T>, d: T) -> T { if xs.len() > 0 { xs[0] } else { d } }\n"
            "fn run() -> Integer { if same(1, 1) { id(first([5], 2)) } else { 0 } }\n")
    verified = build(good, "g.ccl")
    assert [execute(verified, "run", [], mode=m, log=lambda _: None).value for m in ("fast", "interp")] == [5, 5]
