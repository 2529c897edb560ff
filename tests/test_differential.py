"""Hypothesis writes CCL programs; both VM paths must agree on result, gas and error."""

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from ccl.pipeline import build
from ccl.vm.run import execute

INTS = st.one_of(st.integers(-20, 20), st.sampled_from([2**63 - 1, -(2**63), 2**62, 3_037_000_500, 7, -7]))
VARS = ["a", "b", "c", "d"]

HEADER = """
fn h(x: Integer, y: Integer) -> Integer { if x > y { x - y } else { y % 7 } }
fn pick(xs: Array<Integer>, i: Integer) -> Integer { xs[i] }
"""


@st.composite
def exprs(draw, depth=0):
    if depth > 3 or draw(st.integers(0, 3)) == 0:
        return draw(st.one_of(INTS.map(str), st.sampled_from(VARS)))
    kind = draw(st.integers(0, 7))
    a = draw(exprs(depth + 1))
    b = draw(exprs(depth + 1))
    if kind <= 2:
        op = draw(st.sampled_from(["+", "-", "*", "/", "%"]))
        return f"({a} {op} {b})"
    if kind == 3:
        return f"(-{a})"
    if kind == 4:
        return f"h({a}, {b})"
    if kind == 5:
        fn = draw(st.sampled_from(["min", "max"]))
        return f"{fn}({a}, {b})"
    if kind == 6:
        return f"pick([{a}, {b}, 3], {draw(st.integers(-1, 3))})"
    c = draw(conds(depth + 1))
    return f"(match {c} {{ true => {a}, false => {b} }})"


@st.composite
def conds(draw, depth=0):
    a, b = draw(exprs(depth + 1)), draw(exprs(depth + 1))
    op = draw(st.sampled_from(["<", "<=", ">", ">=", "==", "!="]))
    c = f"({a} {op} {b})"
    if depth < 2 and draw(st.booleans()):
        joiner = draw(st.sampled_from(["&&", "||"]))
        c = f"({c} {joiner} {draw(conds(depth + 1))})"
    if draw(st.integers(0, 5)) == 0:
        c = f"!{c}"
    return c


@st.composite
def stmts(draw, depth=0, loop=0):
    out = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.integers(0, 6 if depth < 2 else 1))
        if kind <= 1:
            out.append(f"{draw(st.sampled_from(VARS))} = {draw(exprs())};")
        elif kind == 2:
            body = draw(stmts(depth + 1, loop))
            other = draw(stmts(depth + 1, loop))
            out.append(f"if {draw(conds())} {{ {body} }} else {{ {other} }}")
        elif kind == 3:
            var = f"i{depth}_{len(out)}"
            out.append(f"for {var} in [{draw(exprs())}, {draw(exprs())}] {{ a = a + {var} % 5; "
                       f"{draw(stmts(depth + 1, loop + 1))} }}")
        elif kind == 4:
            counter = f"n{depth}_{len(out)}"
            out.append(f"let {counter} = 0; while {counter} < {draw(st.integers(0, 4))} {{ {counter} = {counter} + 1; "
                       f"{draw(stmts(depth + 1, loop + 1))} }}")
        elif kind == 5 and loop:
            out.append(f"if {draw(conds())} {{ {draw(st.sampled_from(['break;', 'continue;']))} }}")
        elif kind == 6:
            out.append(f"require({draw(conds())}, \"r\");")
    return " ".join(out)


@st.composite
def programs(draw):
    inits = " ".join(f"let {v} = {draw(INTS)};" for v in VARS)
    body = draw(stmts())
    return HEADER + f"fn run() -> Integer {{ {inits} {body} a + b % 1000 - c + d }}"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(), st.sampled_from([10_000_000, 40, 120, 300]))
def test_both_paths_agree(source, gas):
    verified = build(source, "gen.ccl")
    results = [execute(verified, "run", [], gas_limit=gas, mode=m) for m in ("interp", "fast")]
    a, b = results
    assert (a.ok, a.value, a.gas_used) == (b.ok, b.value, b.gas_used), source
    if not a.ok:
        assert (a.error.code, a.error.message, a.error.span.line, a.error.span.col) == \
               (b.error.code, b.error.message, b.error.span.line, b.error.span.col), source


# ---------------------------------------------------------------- issue 12: evaluation order
# Each reproducer runs on both engines, which must give the same result, gas, error code,
# message, line and column (docs/language.md §Evaluation order).

def both(source: str, gas: int = 10_000_000):
    verified = build(source, "order.ccl")
    a, b = (execute(verified, "run", [], gas_limit=gas, mode=m, log=lambda _: None) for m in ("interp", "fast"))
    assert (a.ok, a.value, a.gas_used) == (b.ok, b.value, b.gas_used), (a, b)
    if not a.ok:
        where = [(r.error.code, r.error.message, r.error.span.line, r.error.span.col) for r in (a, b)]
        assert where[0] == where[1], where
    return a


def test_a_require_message_is_evaluated_only_when_the_condition_is_false():
    ok = both('fn run() -> Integer {\n    require(true, "ab".substring(0, 5));\n    1\n}\n')
    assert ok.ok and ok.value == 1
    failed = both('fn run() -> Integer {\n    require(1 > 2, "ab".substring(0, 5));\n    1\n}\n')
    assert (failed.error.code, failed.error.span.line, failed.error.span.col) == ("R0302", 2, 20)
    message = both('fn run() -> Integer {\n    require(1 > 2, "n=" + to_string(3));\n    1\n}\n')
    assert message.error.code == "R0303" and message.error.message == "requirement failed: n=3"
    assert (message.error.span.line, message.error.span.col) == (2, 5)


def test_a_require_message_with_an_effect_runs_only_on_failure():
    source = """contract K {
    state n: Integer = 0;
    fn bump() -> String { n = n + 1; "bumped" }
    fn run() -> Integer { require(n == 0, bump()); require(true, bump()); n }
}
"""
    r = both(source)
    assert r.ok and r.value == 0


def test_an_array_store_evaluates_the_value_before_checking_the_index():
    source = """fn g(xs: Array<Integer>) -> Integer { xs.push(5); 7 }
fn run() -> Integer {
    let xs: Array<Integer> = [1];
    xs[1] = g(xs);
    xs[1]
}
"""
    r = both(source)
    assert r.ok and r.value == 7
    short = both(source.replace("xs.push(5); ", ""))
    assert (short.error.code, short.error.span.line, short.error.span.col) == ("R0302", 4, 5)


def test_a_field_store_evaluates_its_base_before_the_value():
    source = """struct P { x: Integer }
fn g(ps: Array<P>) -> Integer { ps.push(P { x: 1 }); 7 }
fn run() -> Integer {
    let ps: Array<P> = [P { x: 0 }];
    ps[1].x = g(ps);
    ps[1].x
}
"""
    r = both(source)
    assert (r.error.code, r.error.span.line, r.error.span.col) == ("R0302", 5, 5)
    never = both(source.replace("ps.push(P { x: 1 }); 7", 'require(false, "g ran"); 7'))
    assert never.error.code == "R0302"          # the base failed before the value was computed


def test_a_map_store_evaluates_the_map_key_and_value_in_order():
    source = """fn g(m: Map<String, Integer>) -> Integer { m["b"] = 2; m["b"] }
fn run() -> Integer {
    let m: Map<String, Integer> = map_new();
    m["a"] = g(m);
    m["a"] * 10 + m["b"]
}
"""
    r = both(source)
    assert r.ok and r.value == 22


def test_an_error_in_a_builtin_is_reported_at_the_call_that_failed():
    r = both('fn run() -> String {\n    string_replace("a","a","b") + string_replace("a","","b")\n}\n')
    assert (r.error.code, r.error.span.line, r.error.span.col) == ("R0306", 2, 35)
    first = both('fn run() -> String {\n    string_replace("a","","b") + string_replace("a","a","b")\n}\n')
    assert (first.error.span.line, first.error.span.col) == (2, 5)


def test_two_failing_lookups_on_one_line_are_told_apart():
    source = """fn run() -> Integer {
    let m: Map<String, Integer> = map_new();
    m["a"] = 1;
    m["a"] + m["b"]
}
"""
    r = both(source)
    assert (r.error.code, r.error.span.line, r.error.span.col) == ("R0305", 4, 14)
    nested = both(source.replace('m["a"] + m["b"]', 'm["a"] + (m["a"] - string_length(string_replace("a", "", "b")))'))
    assert (nested.error.code, nested.error.span.col) == ("R0306", 38)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(['string_replace("a","a","b")', 'string_replace("a","","b")',
                                 'm["a"]', 'm["zz"]', '"ab".substring(0, 5)', 'to_string(1)']),
                min_size=1, max_size=5),
       st.sampled_from([10_000_000, 25, 40, 60]))
def test_errors_on_a_line_of_several_calls_agree(parts, gas):
    """Several calls that may fail on one line: both engines name the same one, also when the
    gas runs out inside one of them."""
    line = " + ".join(p if p.startswith(('"', "string", "to_")) else f"to_string({p})" for p in parts)
    source = f'fn run() -> String {{\n    let m: Map<String, Integer> = map_new();\n    m["a"] = 1;\n    {line}\n}}\n'
    both(source, gas)


def test_a_receipt_with_an_effectful_require_message_replays_on_the_reference_engine(tmp_path):
    """The fast engine skipped the message and the reference engine ran it: the committed
    receipt then failed `ccl dag replay --engine reference`."""
    from helpers import found

    (tmp_path / "coop.ccl").write_text("""contract Coop {
    founder: Steward;
    role Member { can: [vote]; }
    role Steward extends Member { can: [manage_members, manage_roles]; }
    state bumps: Integer = 0;
    fn bump() -> String { bumps = bumps + 1; "bumped" }
    fn act() -> Integer { require(bumps == 0, bump()); bumps }
}
""")
    ccl = found(tmp_path, founder="ana", members=(), bylaws=["coop.ccl"])
    r = ccl("call", "Coop", "act", "--as", "ana")
    assert r.exit_code == 0, r.output
    for engine in ("fast", "reference"):
        r = ccl("dag", "replay", "--engine", engine)
        assert r.exit_code == 0, r.output


# Found by the 1,000,000-input campaign after the issue-12 merge: both agree now.
CAMPAIGN_FINDS = {
    # an event's snapshot is paid in gas: a loop that emits keeps the counter in `_g`
    "emit_in_a_loop": ("struct S0 { a0: String }\n"
                       "fn run() -> Integer { let i = 0; while i < 5 { i = i + 1; "
                       "emit Ev0 { f0: (S0 { a0: \"AbC\" }), f1: 18 }; } 4 }"),
    # map_contains_key evaluates the map before the key (the inline `k in m` did the key first)
    "contains_key_order": ("fn run() -> Bool { let m: Map<String, Bool> = map_new(); "
                           "map_contains_key(map_insert(m, \"k\", m[\"x\"]), string_replace(\"ab\", \"a\", \"c\")) }"),
}


@pytest.mark.parametrize("name", sorted(CAMPAIGN_FINDS))
@pytest.mark.parametrize("gas", [60, 100, 500, 100_000])
def test_campaign_finds_agree(name, gas):
    a = both(CAMPAIGN_FINDS[name], gas)
    assert a.ok or a.error.code in ("G0400", "R0305"), a.error
