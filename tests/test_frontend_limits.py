"""The front end's bounds: numbers of any length in the source, and the source size limit.
No timings here (bench/frontend.py measures them)."""

import pytest

from ccl import limits
from ccl.diag import CclError
from ccl.pipeline import build

PROPOSAL = ('contract C {{ role Member {{ can: [vote]; }} proposal P {{ description: "d"; eligible: Member; '
            'duration: {duration}; quorum: {quorum}%; threshold: {threshold}; }} fn run() -> Integer {{ 1 }} }}\n')


def diagnostic(source):
    with pytest.raises(CclError) as e:
        build(source, "big.ccl")
    return e.value.diagnostic


@pytest.mark.parametrize("digits", [20, 4301, 50_000])
def test_a_long_integer_literal_is_E0103_at_its_place(digits):
    d = diagnostic("fn run() -> Integer {\n    let x = " + "9" * digits + ";\n    x\n}\n")
    assert (d.code, d.span.line, d.span.col) == ("E0103", 2, 13)
    assert len(d.message) < 120


@pytest.mark.parametrize("where", ["match x {{ {n} => 1, _ => 0 }}", "match x {{ -{n} => 1, _ => 0 }}", "x + {n}"])
def test_long_literals_in_patterns_and_expressions_are_E0103(where):
    source = f"fn run(x: Integer) -> Integer {{ {where.format(n='1' * 5000)} }}\n"
    assert diagnostic(source).code == "E0103"


def test_a_long_constant_and_leading_zeros():
    assert diagnostic(f"const X: Integer = {'8' * 4400};\nfn run() -> Integer {{ X }}\n").code == "E0103"
    build("fn run() -> Integer { " + "0" * 5000 + "7 }\n", "zeros.ccl")      # 7, however written


def test_a_long_float_literal_is_E0210():
    d = diagnostic("fn run() -> Integer { " + "1" * 5000 + ".5 }\n")
    assert d.code == "E0210" and len(d.message) < 120


@pytest.mark.parametrize("field", [
    {"quorum": "9" * 5000}, {"threshold": f"supermajority({'9' * 5000}/3)"},
    {"duration": f"{limits.int_max} days"}, {"duration": f"{'9' * 5000} days"},
])
def test_long_numbers_in_a_proposal_are_E0109_or_E0103(field):
    values = {"duration": "3 days", "quorum": "50", "threshold": "majority", **field}
    assert diagnostic(PROPOSAL.format(**values)).code in ("E0109", "E0103")


def test_constants_that_double_are_refused_before_they_grow():
    strings = ['const C0: String = "ab";'] + [f"const C{i}: String = C{i - 1} + C{i - 1};" for i in range(1, 40)]
    d = diagnostic("\n".join(strings) + "\nfn run() -> Integer { string_length(C39) }\n")
    assert (d.code, d.span.line) == ("L0504", 20)
    arrays, t = ["const A0: Array<Integer> = [1, 2];"], "Array<Integer>"
    for i in range(1, 40):
        t = f"Array<{t}>"
        arrays.append(f"const A{i}: {t} = [A{i - 1}, A{i - 1}];")
    d = diagnostic("\n".join(arrays) + "\nfn run() -> Integer { 0 }\n")
    assert (d.code, d.span.line) == ("L0503", 19)


def test_an_array_constant_written_out_at_every_use_is_bounded():
    big = "[" + ", ".join(["7"] * 10_000) + "]"
    uses = "\n".join("    n = n + A.length();" for _ in range(1200))
    d = diagnostic(f"const A: Array<Integer> = {big};\nfn run() -> Integer {{\n    let n = 0;\n{uses}\n    n\n}}\n")
    assert d.code == "L0507" and d.span.line > 2


def test_a_source_past_the_size_limit_is_L0500_before_parsing():
    line = "fn f(x: Integer) -> Integer { x }\n"
    d = diagnostic(line * (limits.source_bytes_max // len(line) + 1))
    assert (d.code, d.span.line) == ("L0500", 1) and str(limits.source_bytes_max) in d.message


def test_a_source_of_exactly_the_limit_is_accepted():
    program = "fn run() -> Integer { 1 }\n"
    filler = "// " + "é" * ((limits.source_bytes_max - len(program) - 4) // 2)   # two bytes each
    text = filler + "x" * (limits.source_bytes_max - len(program) - len(filler.encode()) - 1) + "\n" + program
    assert len(text.encode()) == limits.source_bytes_max
    build(text, "edge.ccl")
    assert diagnostic(text + " ").code == "L0500"


def test_a_program_with_its_imports_is_within_one_source_limit(tmp_path):
    """Second adversarial review: 63 imports of 256 KiB each took 84 s to check; the limit now
    holds for a file and everything it imports together (L0500 at the import that passes it)."""
    from helpers import cli_in

    from ccl import limits

    per = limits.program_source_bytes_max // 3
    for i in range(4):
        body = "".join(f"fn f{i}_{j}() -> Integer {{ {j} }}\n" for j in range(per // 30))
        (tmp_path / f"m{i}.ccl").write_text(body[:per - 100].rsplit("\n", 2)[0] + "\n")
    (tmp_path / "main.ccl").write_text("".join(f'import "m{i}.ccl";\n' for i in range(4))
                                       + "fn run() -> Integer { 1 }\n")
    r = cli_in(tmp_path, "check", "main.ccl", "--json")
    assert r.exit_code == 3 and '"code": "L0500"' in r.output and 'at \\"m' in r.output, r.output
    (tmp_path / "main.ccl").write_text('import "m0.ccl";\nimport "m1.ccl";\nfn run() -> Integer { 1 }\n')
    assert cli_in(tmp_path, "check", "main.ccl").exit_code == 0
