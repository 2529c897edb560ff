"""One resource model: gas bounds memory and time, and the runtime has no internal errors.

Per host row with a per-item column: gas(n + k items) − gas(n items) == k × per-item. Per
builtin with its worst input: peak memory ≤ ccl.limits.memory_bound(gas limit). Shared and
self-containing values, deep or fractional --args, balances at the edge of the range.
"""

import importlib.util
import json
import tracemalloc
from pathlib import Path

import pytest

from ccl import limits
from ccl.hosttable import HOST_TABLE
from ccl.pipeline import build
from ccl.semantics import Trap
from ccl.vm.run import compiled, execute
from tests.helpers import run_both

ROOT = Path(__file__).resolve().parents[1]

# row → (source of `run(x)`, argument for n items, n, k). Only the row's work depends on n.
PURE_ROWS = {
    "array_contains": ("fn run(a: Array<Integer>) -> Bool { a.contains(-1) }", lambda n: [list(range(n))]),
    "array_slice": ("fn run(a: Array<Integer>) -> Integer { a.slice(0, a.len()).len() }", lambda n: [list(range(n))]),
    "sum": ("fn run(a: Array<Integer>) -> Integer { sum(a) }", lambda n: [list(range(n))]),
    "string_concat": ("fn run(s: String) -> Integer { string_concat(s, \"x\").length() }", lambda n: ["a" * n]),
    "string_substring": ("fn run(s: String) -> Integer { s.substring(0, s.length()).length() }", lambda n: ["a" * n]),
    "string_contains": ("fn run(s: String) -> Bool { s.contains(\"z\") }", lambda n: ["a" * n]),
    "string_to_upper": ("fn run(s: String) -> Integer { s.to_upper().length() }", lambda n: ["a" * n]),
    "string_to_lower": ("fn run(s: String) -> Integer { s.to_lower().length() }", lambda n: ["A" * n]),
    "string_trim": ("fn run(s: String) -> Integer { s.trim().length() }", lambda n: [" " + "a" * n + " "]),
    "string_split": ("fn run(s: String) -> Integer { s.split(\",\").len() }", lambda n: ["a" * n]),
    "string_replace": ("fn run(s: String) -> Integer { s.replace(\"a\", \"b\").length() }", lambda n: ["a" * n]),
    "string_format": ("fn run(s: String) -> Integer { string_format(s, []).length() }", lambda n: ["a" * n]),
    "pow": ("fn run(e: Integer) -> Integer { pow(2, e) }", lambda n: [n]),
    "hash": ("fn run(s: String) -> Integer { hash(s).length() }", lambda n: ["a" * n]),
    "hash_sha256": ("fn run(s: String) -> Integer { hash_sha256(s).length() }", lambda n: ["a" * n]),
    "is_valid_did": ("fn run(s: String) -> Bool { is_valid_did(s) }", lambda n: ["did:key:" + "a" * n]),
    "log": ("fn run(s: String) -> Integer { log(s); 0 }", lambda n: ["a" * n]),
    "to_string": ("fn run(x: Integer) -> Integer { to_string(x).length() }", lambda n: [10 ** n]),
    "calculate_cid": ("fn run(s: String) -> Integer { calculate_cid(s).length() }", lambda n: ["a" * (300 + n)]),
    "split_pro_rata": ("fn run(w: Array<Integer>) -> Integer { split_pro_rata(100, w).len() }",
                       lambda n: [[1] * n]),
    "assert_eq": ("fn run(a: Array<Integer>) -> Integer { assert_eq(a, a.slice(0, a.len())); 0 }",
                  lambda n: [list(range(n))]),
}
# Effectful rows: their per-item gas is charged by ccl.runtime.host, tested below with the engine
# call replaced (the metering is the host layer's, whatever the engine does).
EFFECT_ROWS = {"dag_put", "dag_get", "emit_event", "distribute_profits", "work_contributions",
               "calculate_patronage", "match_needs"}


def test_every_per_item_row_is_tested():
    assert {row.name for row in HOST_TABLE if row.gas_per_item} == set(PURE_ROWS) | EFFECT_ROWS


@pytest.mark.parametrize("name", sorted(PURE_ROWS))
def test_pure_row_charges_its_per_item_gas(name):
    row = next(r for r in HOST_TABLE if r.name == name)
    source, arg = PURE_ROWS[name]
    if name == "array_slice" or name == "assert_eq":
        per = row.gas_per_item + (HOST_TABLE[[r.name for r in HOST_TABLE].index("array_slice")].gas_per_item
                                  if name == "assert_eq" else 0)
    else:
        per = row.gas_per_item
    n, k = 10, 7
    a, b = (run_both(source, args=arg(m)) for m in (n, n + k))
    assert a.ok and b.ok, (a.error, b.error)
    assert b.gas_used - a.gas_used == k * per


def _host_rows(monkeypatch, n_items: int):
    """The effectful rows bound to a throwaway store, authorization waived, and the engine calls
    that answer with a list answering `n_items` items."""
    from ccl.ledger import EngineState, Ledger
    from ccl.runtime import authority, host
    from ccl.store.sqlite import SqliteStore
    from ccl import aid, coop

    monkeypatch.setattr(authority, "authorize", lambda *a: None)
    rows_of = [["did:key:a", 1, 1]] * n_items
    monkeypatch.setattr(coop, "distribute_profits", lambda *a: [["did:key:a", 1]])
    monkeypatch.setattr(coop, "contributions", lambda *a: rows_of)
    monkeypatch.setattr(coop, "calculate_patronage", lambda *a: [["did:key:a", 1]] * n_items)
    monkeypatch.setattr(aid, "match", lambda *a: [["m", "r", "o", 1, 0]] * n_items)
    tx = SqliteStore.memory().transaction().__enter__()

    class State:
        ns = {"_g": 10 ** 9}

    principal = authority.Principal("did:key:a")
    return host.bind(tx, host.Effects(), State, Ledger(EngineState(tx), 0), principal), State


@pytest.mark.parametrize("name", sorted(EFFECT_ROWS))
def test_effectful_row_charges_its_per_item_gas(name, monkeypatch):
    row = next(r for r in HOST_TABLE if r.name == name)
    n, k = 10, 7

    def gas(items: int) -> int:
        rows, state = _host_rows(monkeypatch, items)
        text = "a" * (300 + items)
        if name == "dag_get":
            cid = rows["dag_put"](text)
            before = state.ns["_g"]
            rows["dag_get"](cid)
        else:
            before = state.ns["_g"]
            args = {"dag_put": (text,), "emit_event": ("t", text),
                    "distribute_profits": ("did:key:c", 100, [["did:key:a", 1, 1]] * items),
                    "work_contributions": (0, 1), "calculate_patronage": ("2024", 100), "match_needs": ()}[name]
            rows[name](*args)
        return before - state.ns["_g"]

    assert gas(n + k) - gas(n) == k * row.gas_per_item


# ---------------------------------------------------------------- the memory bound

def _bench():
    spec = importlib.util.spec_from_file_location("bench_memory", ROOT / "bench" / "memory.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BENCH = _bench()


@pytest.mark.parametrize("name", sorted(BENCH.PROGRAMS))
def test_peak_memory_is_within_the_bound(name):
    for gas in (2_000, 30_000):
        peak, _ = BENCH.measure(BENCH.PROGRAMS[name], gas, "fast")
        assert peak <= limits.memory_bound(gas), (name, gas, peak)


def test_the_bound_is_measured_on_both_engines():
    peak, end = BENCH.measure(BENCH.PROGRAMS["event_shared"], 30_000, "interp")
    assert end == "G0400" and peak <= limits.memory_bound(30_000)


def test_memory_bound_is_base_plus_per_gas():
    assert limits.memory_bound(1000) - limits.memory_bound(0) == 1000 * limits.memory_bytes_per_gas


# ---------------------------------------------------------------- shared and cyclic values

CYCLE = "struct N { kids: Array<N> }\n"


@pytest.mark.parametrize("tail", [
    "n }",                                                         # returned
    "emit Grew { n: n }; 0 }",                                     # emitted
])
def test_a_value_that_contains_itself_is_refused(tail):
    ret = "N" if tail == "n }" else "Integer"
    source = CYCLE + f"fn run() -> {ret} {{ let n = N {{ kids: [] }}; n.kids.push(n); " + tail
    r = run_both(source)
    assert not r.ok and r.error.code == "L0508", r.error


def test_a_self_containing_value_in_state_is_refused():
    source = (CYCLE + "contract C { state root: N = N { kids: [] };\n"
              "fn run() -> Integer { root.kids.push(root); 0 } }")
    r = run_both(source, entry="C::run")
    assert not r.ok and r.error.code == "L0508", r.error


def test_comparing_self_containing_values_is_refused():
    source = CYCLE + ("fn run() -> Bool { let a = N { kids: [] }; a.kids.push(a); "
                      "let b = N { kids: [] }; b.kids.push(b); a == b }")
    assert run_both(source).error.code == "L0508"


SHARED = CYCLE + ("fn run() -> RET { let a = N { kids: [] }; let b = N { kids: [] }; let i = 0; "
                  "while i < 26 { a = N { kids: [a, a] }; b = N { kids: [b, b] }; i = i + 1; } TAIL }")


@pytest.mark.parametrize("ret, tail", [("Bool", "a == b"), ("Bool", "a != b"), ("N", "a"),
                                       ("Integer", "assert_eq(a, b); 0"), ("Bool", "[a].contains(b)")])
def test_shared_structure_is_paid_per_item_reached(ret, tail):
    r = run_both(SHARED.replace("RET", ret).replace("TAIL", tail), gas=100_000)
    assert not r.ok and r.error.code == "G0400"


def test_equality_by_value_costs_what_it_compares():
    small = run_both("fn run() -> Bool { [1, 2] == [1, 2] }")
    large = run_both("fn run() -> Bool { [1, 2, 3, 4] == [1, 2, 3, 4] }")
    assert small.value is True and large.value is True
    # per extra element: CONST and MKARRAY's operand gas in each of the two arrays, then one compared
    assert large.gas_used - small.gas_used == 2 * (2 * 2) + 2


def test_assertion_messages_are_bounded():
    r = run_both('fn run(s: String) -> Integer { assert_eq([s], [s + "x"]); 0 }', args=["a" * 100_000])
    assert r.error.code == "R0308" and len(r.error.message) <= limits.message_length_max + 40


def test_require_messages_are_bounded():
    r = run_both('fn run(s: String) -> Integer { require(false, s); 0 }', args=["a" * 100_000])
    assert r.error.code == "R0303" and len(r.error.message) <= limits.message_length_max + 40


@pytest.mark.parametrize("source", [
    'fn run() -> Integer { let s = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"; '
    'let i = 0; while i < 12 { s = string_replace(s, "a", "aa"); i = i + 1; } s.length() }',
    'fn run() -> Integer { let s = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"; '
    'let i = 0; while i < 12 { s = string_format("{}{}", [s, s]); i = i + 1; } s.length() }',
])
def test_string_builders_pay_before_they_allocate(source):
    r = run_both(source, gas=100_000)
    assert not r.ok and r.error.code == "G0400"


# ---------------------------------------------------------------- no internal errors

def test_deep_and_fractional_args_are_usage_errors():
    from ccl.diag import CclError

    verified = build("fn run(x: Array<Integer>) -> Integer { x.len() }", "t.ccl")
    deep = json.loads("[" * 500 + "]" * 500)
    for bad in ([deep], [[1.5]]):
        with pytest.raises(CclError) as e:
            execute(verified, "run", bad)
        assert e.value.diagnostic.code == "U0702", bad


@pytest.mark.parametrize("text", ["[" * 1000 + "]" * 1000, "[1.5]", "[[NaN]]"])
def test_cli_args_refuse_what_no_value_can_be(text):
    from ccl.vm.values import ArgError, load_args

    with pytest.raises(ArgError) as e:
        load_args(text)
    assert e.value.code == "U0702" and e.value.hint


def test_a_balance_at_the_edge_of_the_range_is_a_refusal():
    from ccl.ledger import INT_MAX, EngineState, Ledger, Refused
    from ccl.ledger import engines as E
    from ccl.store.sqlite import SqliteStore

    tx = SqliteStore.memory().transaction().__enter__()
    L = Ledger(EngineState(tx), 0)
    E.ensure_credit(L)
    with pytest.raises(Refused) as e:
        E.set_credit_limit(L, "did:key:a", "did:key:a", -(2 ** 63), 0)
    assert e.value.rule == "balance_range"
    E.set_credit_limit(L, "did:key:a", "did:key:a", -INT_MAX, 0)
    E.set_credit_limit(L, "did:key:b", "did:key:b", 0, INT_MAX)
    E.issue_credit(L, "did:key:a", "did:key:a", "did:key:b", INT_MAX)
    with pytest.raises(Refused):
        E.issue_credit(L, "did:key:a", "did:key:a", "did:key:b", 1)


def test_python_errors_in_source_modules_are_bugs_not_malformed_modules(monkeypatch):
    from ccl.vm import builtins

    real = builtins.implementations

    def broken(state):
        impl = real(state)
        impl["sum"] = lambda a: a + None            # a bug in a builtin
        return impl

    monkeypatch.setattr(builtins, "implementations", broken)
    source = "fn run() -> Integer { sum([1]) }"
    for mode in ("fast", "interp"):
        with pytest.raises(TypeError):
            execute(build(source, "t.ccl"), "run", [], mode=mode)


def test_a_missing_key_is_r0305_on_both_engines():
    r = run_both('fn run() -> Integer { let m: Map<String, Integer> = map_new(); m["x"] }')
    assert r.error.code == "R0305"


def test_trap_messages_are_clipped():
    assert len(Trap("R0303", "x" * 10 ** 6).message) < limits.message_length_max + 40


def test_compiled_once_per_module():
    verified = build("fn run() -> Integer { 1 }", "t.ccl")
    assert compiled(verified) is compiled(verified)


def test_memory_is_measured_above_the_baseline():
    tracemalloc.start()
    try:
        peak, end = BENCH.measure("fn run() -> Integer { 1 }", 1000, "fast")
    finally:
        if tracemalloc.is_tracing():
            tracemalloc.stop()
    assert end == "ok" and 0 <= peak <= limits.memory_bound(1000)


def test_python_errors_in_hand_built_modules_are_r0307_alike_on_both_engines(monkeypatch):
    from ccl.semantics import FROM_SOURCE
    from ccl.vm import builtins

    real = builtins.implementations

    def broken(state):
        impl = real(state)
        impl["sum"] = lambda a: a + None            # what a module the compiler never made could cause
        return impl

    monkeypatch.setattr(builtins, "implementations", broken)
    verified = build("fn run() -> Integer {\n    sum([1])\n}", "hand.ccl")
    FROM_SOURCE.discard(verified.cid)               # as if it were read from hand-made bytes
    results = [execute(verified, "run", [], mode=mode) for mode in ("fast", "interp")]
    assert [(r.error.code, r.error.span.line, r.error.span.col) for r in results] == [("R0307", 2, 5)] * 2


def test_a_lone_surrogate_in_an_argument_is_refused():
    """Adversarial review: `--args '["\\ud800"]'` was X9999 (UnicodeEncodeError) on write-out."""
    from click.testing import CliRunner
    from ccl.cli.main import cli

    with CliRunner().isolated_filesystem():
        with open("s.ccl", "w") as f:
            f.write("fn run(s: String) -> String { emit E { s: s }; s }\n")
        for args in ('["\\ud800"]', '["a\\udfff"]'):
            r = CliRunner().invoke(cli, ["run", "s.ccl", "--json", "--args", args])
            assert r.exit_code == 3, r.output
            assert '"code": "E0218"' in r.output and "lone surrogate" in r.output
        r = CliRunner().invoke(cli, ["run", "s.ccl", "--json", "--args", '["\\ud83d\\ude00"]'])
        assert r.exit_code == 0, r.output
