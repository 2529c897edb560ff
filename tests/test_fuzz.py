"""Hostile input never escapes as a Python exception: fuzzed sources and fuzzed bytecode."""

import random

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from ccl.compile.module import Function, Module, module_from_cbor, read_file, write_file
from ccl.compile.verify import verify
from ccl.diag import CclError
from ccl.pipeline import build
from ccl.vm.run import execute

SAMPLE = """
struct P { x: Integer, name: String }
enum V { A, B(Integer) }
fn helper(p: P, v: V) -> Integer { match v { V::A => p.x, V::B(n) => n + p.x } }
fn run() -> Integer {
    let ps = [P { x: 1, name: "a" }, P { x: 2, name: "b" }];
    let m: Map<String, Integer> = map_new();
    let total = 0;
    for p in ps { m[p.name] = p.x; total = total + helper(p, V::B(3)); }
    if total > 3 && m["a"] == 1 { total = total * 2; } else { total = 0; }
    require(total >= 0, "neg");
    emit Done { total: total };
    total + string_length("abc")
}
"""

TOKENS = ["fn", "run", "(", ")", "{", "}", "->", "Integer", "let", "x", "=", "1", ";", "+", "if", "else",
          "while", "for", "in", "[", "]", ",", "match", "=>", "_", "\"s\"", "struct", "P", ":", ".", "return",
          "contract", "state", "proposal", "quorum", "60%", "2/3", "days", "did:key:z6Mk", "::", "@", "/*", "*/",
          "//", "\n", "3.14", "-", "!", "&&", "||", "==", "<", "emit", "require", "true", "None", "Some"]


def must_not_crash(text: str) -> None:
    try:
        verified = build(text, "fuzz.ccl")
    except CclError:
        return
    for mode in ("interp", "fast"):
        for entry in [f.name for f in verified.module.functions if f.entry][:3]:
            try:
                execute(verified, entry, [], gas_limit=20_000, mode=mode, log=lambda m: None)
            except CclError:
                pass


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS), max_size=60).map(" ".join))
def test_token_soup(text):
    must_not_crash(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_random_text(text):
    must_not_crash(text)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, len(SAMPLE) - 1), st.integers(1, 8), st.text(max_size=4))
def test_mutated_sample(position, length, replacement):
    must_not_crash(SAMPLE[:position] + replacement + SAMPLE[position + length:])


@pytest.mark.parametrize("source", ["(" * 200_000, "{" * 5000 + "}" * 5000, "[" * 100_000,
                                    "fn run() -> Integer { " + "-" * 50_000 + "1 }",
                                    "fn run() -> Integer { " + "!" * 50_000 + "true }",
                                    "fn run() -> Integer { 1" + " + 1" * 100_000 + " }",
                                    "fn run() { " + "if true { 1; } else " * 3000 + "{ } }",
                                    "fn run() -> Integer { f" + "()" * 20_000 + " }"])
def test_pathological_sources(source):
    with pytest.raises(CclError) as e:
        build(source, "deep.ccl")
    assert e.value.diagnostic.kind in ("limit", "parse", "type")


def test_every_flipped_byte_of_a_cclb_is_caught():
    data = write_file(build(SAMPLE, "s.ccl").module)
    rng = random.Random(7)
    for position in range(len(data)):
        corrupt = bytearray(data)
        corrupt[position] ^= 1 << rng.randrange(8)
        with pytest.raises(CclError) as e:
            read_file(bytes(corrupt), "bad.cclb")
        assert e.value.diagnostic.kind == "integrity"


def _rewrap(module: Module, code_fn) -> Module:
    functions = tuple(Function(f.name, f.params, f.ret, f.nlocals, tuple(code_fn(list(f.code))), f.lines, f.entry,
                               f.param_names, f.local_names) for f in module.functions)
    return Module(module.source, module.consts, functions, module.states, module.initializers, module.structs,
                  module.enums, module.host, module.contracts)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(-3, 70)), min_size=1, max_size=4))
def test_crafted_bytecode_with_valid_content_id(edits):
    """A module whose code was changed and whose CID was recomputed (a crafted file): the verifier
    rejects it or it runs to a result or a runtime error — never a Python exception."""
    base = build(SAMPLE, "s.ccl").module

    def mutate(code):
        for where, value in edits:
            code[where % len(code)] = value
        return code

    crafted = _rewrap(base, mutate)
    module = read_file(write_file(crafted), "crafted.cclb")
    try:
        verified = verify(module, "crafted.cclb")
    except CclError as e:
        assert e.diagnostic.kind == "integrity"
        return
    for mode in ("interp", "fast"):
        r = execute(verified, "run", [], gas_limit=50_000, mode=mode, log=lambda m: None)
        assert r.ok or r.error.kind in ("runtime", "gas", "limit")


def test_module_shape_errors_are_integrity_errors():
    for junk in [{}, {"format": "ccl-module", "version": 99}, {"format": "ccl-module", "version": 1}, [], 5]:
        with pytest.raises(CclError) as e:
            module_from_cbor(junk, "x.cclb")
        assert e.value.diagnostic.code == "I0800"
