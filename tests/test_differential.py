"""Hypothesis writes CCL programs; both VM paths must agree on result, gas and error."""

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
        assert (a.error.code, a.error.message, a.error.span.line) == \
               (b.error.code, b.error.message, b.error.span.line), source
