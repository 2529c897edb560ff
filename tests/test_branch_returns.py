"""Functions whose last statement is an `if` that returns on every branch run (issue: gas and
engines — "valid programs refused"), on both engines; an `if` used as a value with a branch that
gives none is a type error, not an integrity error at run time."""

import pytest

from ccl.diag import CclError
from ccl.pipeline import build
from helpers import value

CASES = [
    ("fn pick(c: Bool, a: Integer, b: Integer) -> Integer {\n    if c { return a; } else { return b; }\n}\n"
     "fn run() -> Integer { pick(false, 1, 2) }", 2),
    ('fn grade(n: Integer) -> String {\n    if n > 5 { return "high"; } else if n > 2 { return "mid"; } '
     'else { return "low"; }\n}\nfn run() -> String { grade(3) }', "mid"),
    ("fn f(c: Bool) {\n    if c { return; } else { return; }\n}\nfn run() -> Integer { f(true); 7 }", 7),
    ("fn g(n: Integer) -> Integer {\n    let i = 0;\n    while true {\n        i = i + 1;\n"
     "        if i > n { return i; } else { continue; }\n    }\n    0\n}\nfn run() -> Integer { g(3) }", 4),
    ("fn h(c: Bool) -> Integer {\n    if c { if true { return 1; } else { return 2; } } else { return 3; }\n}\n"
     "fn run() -> Integer { h(true) + h(false) }", 4),
]


@pytest.mark.parametrize("source, expected", CASES)
def test_every_branch_returns(source, expected):
    assert value(source) == expected          # both engines, same result and gas (helpers.run_both)


@pytest.mark.parametrize("source", [
    "fn run() -> Integer { if true { 1 } else {} }",
    "fn run() -> Integer { if false { 1 } else if true { 2 } else { } }",
])
def test_a_branch_without_a_value_is_a_type_error(source):
    with pytest.raises(CclError) as e:
        build(source, "x.ccl")
    assert e.value.diagnostic.code == "E0202" and "every branch" in e.value.diagnostic.message
