"""LANGUAGE.md §5, rule by rule, on both VM paths (helpers.run_both asserts they agree)."""

import pytest

from ccl.diag import CclError
from ccl.pipeline import build
from helpers import error_code, run_both, value

MAX = 2**63 - 1
MIN = -(2**63)


def fn(body: str, ret: str = "Integer") -> str:
    return f"fn run() -> {ret} {{ {body} }}"


# ---------------------------------------------------------------- arithmetic

@pytest.mark.parametrize("expr, expected", [
    ("-7 / 2", -3), ("7 / -2", -3), ("-7 / -2", 3), ("7 / 2", 3),
    ("-7 % 3", -1), ("7 % -3", 1), ("-7 % -3", -1), ("7 % 3", 1),
    ("9223372036854775807 / -1", -MAX), ("-9223372036854775808 % -1", 0),
    ("2 + 3 * 4", 14), ("(2 + 3) * 4", 20), ("10 - 3 - 2", 5), ("100 / 10 / 5", 2), ("-3 * -3", 9),
])
def test_integer_arithmetic(expr, expected):
    assert value(fn(expr)) == expected


@pytest.mark.parametrize("expr", [
    "9223372036854775807 + 1", "-9223372036854775808 - 1", "4611686018427387904 * 2",
    "-9223372036854775808 / -1",
])
def test_overflow_traps(expr):
    # through a variable too, so the constant folder is not what traps
    assert error_code(fn(f"let x = {expr}; x")) in ("R0300",)


def test_negating_min_overflows():
    assert error_code(fn("let m = -9223372036854775807 - 1; -m")) == "R0300"


@pytest.mark.parametrize("expr", ["1 / 0", "1 % 0"])
def test_division_by_zero(expr):
    assert error_code(fn(f"let z = 0; let r = {expr.replace('0', 'z', 1) if False else expr}; r")) == "R0301"


def test_division_by_runtime_zero():
    assert error_code(fn("let z = 0; 5 / z")) == "R0301"
    assert error_code(fn("let z = 0; 5 % z")) == "R0301"


def test_min_literal():
    assert value(fn("-9223372036854775808")) == MIN


def test_literal_too_big_is_compile_error():
    with pytest.raises(CclError) as e:
        build(fn("9223372036854775808"))
    assert e.value.diagnostic.code == "E0103"


# ---------------------------------------------------------------- booleans, strings, equality

def test_short_circuit_and_or():
    src = """
    fn boom() -> Bool { let z = 0; 1 / z == 1 }
    fn run() -> Bool { (false && boom()) || (true || boom()) }
    """
    assert value(src) is True


def test_string_concat_and_compare():
    assert value(fn('"co" + "op"', "String")) == "coop"
    assert value(fn('"apple" < "banana" && "b" > "a" && "é" > "z"', "Bool")) is True


def test_string_length_counts_code_points():
    assert value(fn('"héllo😀".length()')) == 6


def test_equality_by_value_for_every_type():
    src = """
    struct P { x: Integer, tags: Array<String> }
    enum E { A, B(Integer) }
    fn run() -> Bool {
        let a = P { x: 1, tags: ["t"] };
        let b = P { x: 1, tags: ["t"] };
        let m1: Map<String, Integer> = map_new();
        let m2: Map<String, Integer> = map_new();
        m1["k"] = 1; m2["k"] = 1;
        a == b && [1, 2] == [1, 2] && E::B(3) == E::B(3) && E::A != E::B(0) && Some(1) == Some(1)
            && m1 == m2 && did:key:abc == did:key:abc
    }
    """
    assert value(src) is True


def test_comparisons_do_not_chain():
    with pytest.raises(CclError) as e:
        build(fn("let a = 1; let b = 2; let c = 3; if a < b < c { 1 } else { 0 }"))
    assert e.value.diagnostic.code == "E0202"


# ---------------------------------------------------------------- variables

def test_let_rebinds_function_scoped_variable_in_loop():
    src = fn("let sum = 0; for n in [1, 2, 3, 4] { let sum = sum + n; } sum")
    assert value(src) == 10


def test_let_with_different_type_is_error():
    with pytest.raises(CclError) as e:
        build(fn('let x = 1; let x: String = "a"; 0'))
    assert e.value.diagnostic.code == "E0202"


def test_read_before_assignment_on_some_path_is_error():
    with pytest.raises(CclError) as e:
        build(fn("let c = true; if c { let y = 1; } y"))
    assert e.value.diagnostic.code == "E0207"


def test_assigned_on_every_path_is_fine():
    assert value(fn("let c = false; if c { let y = 1; } else { let y = 2; } y")) == 2


def test_mut_is_optional():
    assert value(fn("let mut x = 1; x = x + 1; let y = 1; y = y + x; y")) == 3


def test_loop_variable_cannot_be_assigned():
    with pytest.raises(CclError) as e:
        build(fn("for x in [1] { x = 2; } 0"))
    assert e.value.diagnostic.code == "E0206"


def test_const_cannot_be_assigned():
    with pytest.raises(CclError) as e:
        build("const K: Integer = 1;\n" + fn("K = 2; K"))
    assert e.value.diagnostic.code == "E0206"


# ---------------------------------------------------------------- arrays and references

@pytest.mark.parametrize("index", ["3", "-1", "100"])
def test_array_index_out_of_range(index):
    assert error_code(fn(f"let a = [1, 2, 3]; let i = {index}; a[i]")) == "R0302"


def test_arrays_and_structs_are_references():
    src = """
    struct Box { n: Integer }
    fn bump(b: Box, xs: Array<Integer>) { b.n = b.n + 1; xs.push(9); }
    fn run() -> Integer {
        let b = Box { n: 1 };
        let xs = [1];
        let alias = xs;
        bump(b, xs);
        b.n * 100 + alias.length()
    }
    """
    assert value(src) == 202


def test_nested_lvalues():
    src = """
    struct P { xs: Array<Integer> }
    fn run() -> Integer { let ps = [P { xs: [1, 2] }]; ps[0].xs[1] = 7; ps[0].xs[1] += 1; ps[0].xs[1] }
    """
    assert value(src) == 8


# ---------------------------------------------------------------- require, match, options

def test_require_carries_message_and_line():
    r = run_both("fn run() -> Integer {\n  let x = 1;\n  require(x > 5, \"x too small\");\n  x\n}")
    assert not r.ok
    assert r.error.code == "R0303" and "x too small" in r.error.message and r.error.span.line == 3


def test_match_without_matching_arm_is_runtime_error():
    src = "fn run() -> Integer { let x = 5; match x { 1 => 10, 2 => 20 } }"
    assert error_code(src) == "R0304"


def test_match_guards_bindings_and_nested_patterns():
    src = """
    enum Shape { Dot, Square(Integer), Rect(Integer, Integer) }
    fn area(s: Shape) -> Integer {
        match s {
            Shape::Dot => 0,
            Shape::Square(n) if n > 100 => -1,
            Shape::Square(n) => n * n,
            Shape::Rect(w, h) => w * h,
        }
    }
    fn run() -> Array<Integer> {
        let o: Option<Result<Integer, String>> = Some(Ok(4));
        let inner = match o { Some(Ok(v)) => v, Some(Err(_)) => -2, None => -3 };
        [area(Shape::Dot), area(Shape::Square(3)), area(Shape::Square(101)), area(Shape::Rect(2, 5)), inner]
    }
    """
    assert value(src) == [0, 9, -1, 10, 4]


def test_none_takes_type_from_context():
    src = """
    fn find(xs: Array<Integer>, x: Integer) -> Option<Integer> {
        let i = 0;
        while i < xs.length() { if xs[i] == x { return Some(i); } i = i + 1; }
        None
    }
    fn run() -> Array<Option<Integer>> { [find([5, 6], 6), find([], 1)] }
    """
    assert value(src) == [1, None]


def test_tail_if_is_the_value():
    src = "fn sign(x: Integer) -> Integer { if x < 0 { -1 } else if x == 0 { 0 } else { 1 } }\n" \
          "fn run() -> Array<Integer> { [sign(-5), sign(0), sign(7)] }"
    assert value(src) == [-1, 0, 1]


def test_missing_return_is_compile_error():
    with pytest.raises(CclError) as e:
        build("fn f(x: Integer) -> Integer { if x > 0 { return 1; } }")
    assert e.value.diagnostic.code == "E0208"


def test_user_function_shadows_host_function():
    src = "fn min(a: Integer, b: Integer) -> Integer { 42 }\nfn run() -> Integer { min(1, 2) + std::math::min(1, 2) }"
    assert value(src) == 43


def test_break_and_continue():
    src = fn("let s = 0; let i = 0; while true { i = i + 1; if i > 10 { break; } if i % 2 == 0 { continue; } s = s + i; } s")
    assert value(src) == 25


def test_recursion_and_call_depth_limit():
    assert value("fn f(n: Integer) -> Integer { if n == 0 { 0 } else { 1 + f(n - 1) } }\n"
                 "fn run() -> Integer { f(150) }") == 150
    assert error_code("fn f(n: Integer) -> Integer { 1 + f(n + 1) }\nfn run() -> Integer { f(0) }") == "L0502"


def test_try_catch():
    src = """
    fn may_fail(x: Integer) -> Result<Integer> { if x > 0 { Ok(x) } else { Err("no") } }
    fn twice(x: Integer) -> Result<Integer> { let v = try may_fail(x); Ok(v * 2) }
    fn run() -> Array<Result<Integer>> { [try may_fail(0) catch Ok(42), twice(4), twice(0)] }
    """
    assert value(src) == [{"Ok": 42}, {"Ok": 8}, {"Err": "no"}]


def test_contract_state_persists_within_a_run():
    src = """
    contract Counter {
        state count: Integer = 10;
        state names: Array<String>;
        fn add(n: Integer) -> Integer { count = count + n; @count }
        fn run() -> Integer { add(1); add(2); names.push("x"); count + names.length() }
    }
    """
    assert value(src) == 14


def test_compound_assignment_on_strings_and_ints():
    assert value(fn('let s = "a"; s += "b"; let n = 5; n -= 2; n *= 3; n /= 2; n %= 3; s + to_string(n)',
                    "String")) == "ab1"


def test_emit_records_events():
    r = run_both('fn run() -> Integer { emit Paid { who: "ana", amount: 5 }; 1 }')
    assert r.ok and [(e.name, e.fields) for e in r.events] == [("Paid", {"who": "ana", "amount": 5})]


# ---------------------------------------------------------------- the JSON boundary

def test_arguments_checked_before_running():
    verified = build("fn f(n: Integer, who: Did, xs: Array<Bool>) -> Integer { n }")
    from ccl.vm.run import execute

    for bad in ([1, "did:key:x", [1]], ["1", "did:key:x", []], [1, "bob", []], [1, "did:key:x"]):
        with pytest.raises(CclError) as e:
            execute(verified, "f", bad)
        assert e.value.diagnostic.kind == "type"
    assert execute(verified, "f", [7, "did:key:x", [True]]).value == 7


def test_json_round_trip_of_structs_enums_options_maps():
    src = """
    struct P { name: String, age: Option<Integer> }
    enum V { Yes, No, Maybe(Integer) }
    fn run(p: P, v: Array<V>, m: Map<String, Integer>) -> Array<String> {
        let out: Array<String> = [p.name];
        match p.age { Some(a) => out.push(to_string(a)), None => out.push("?") };
        for x in v { match x { V::Yes => out.push("y"), V::No => out.push("n"), V::Maybe(k) => out.push(to_string(k)) } }
        out.push(to_string(m["k"]));
        out
    }
    """
    assert value(src, args=[{"name": "ana", "age": None}, ["Yes", {"Maybe": 3}], {"k": 9}]) == \
        ["ana", "?", "y", "3", "9"]
