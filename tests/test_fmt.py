"""`ccl fmt`: idempotent, never loses a token (comments included), keeps the program the same."""

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings

from ccl.cli.main import cli
from ccl.pipeline import deep_recursion
from ccl.syntax.dump import dump
from ccl.syntax.fmt import format_source, tokens
from ccl.syntax.parse import parse
from test_differential import programs

ROOT = Path(__file__).parent.parent
FILES = sorted(p for p in ROOT.rglob("*.ccl") if "errors" not in p.parts and not {".venv", "build", "site", "corpus"} & set(p.relative_to(ROOT).parts))


def significant(text):
    return [v for k, v in tokens(text) if k not in ("ws", "nl")]


def same_program(a: str, b: str) -> bool:
    with deep_recursion():
        strip = lambda t: re.sub(r"@\d+:\d+", "", dump(parse(t, "x.ccl")))
        return strip(a) == strip(b)


def check(text: str) -> None:
    once = format_source(text)
    assert format_source(once) == once                  # fmt(fmt(x)) == fmt(x)
    assert significant(once) == significant(text)       # every token kept, comments included
    assert same_program(text, once)


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_repository_file(path):
    check(path.read_text())


@settings(max_examples=150, deadline=None)
@given(programs())
def test_fuzzed_programs(source):
    # squeeze everything onto few lines, then format: the result must still be stable and equal
    check(source)
    check(source.replace(";", ";\n").replace("{", "{\n   // note\n"))


def test_layout_rules():
    ugly = "fn   f( a:Integer,b :Array< Integer > )->Integer{\nlet x=-a+b[ 0 ]*2;// why\n\n\n  if(x<3){return x;}\nx}\n"
    assert format_source(ugly) == (
        "fn f(a: Integer, b: Array<Integer>) -> Integer {\n"
        "    let x = -a + b[0] * 2; // why\n"
        "\n"
        "    if (x < 3) { return x; }\n"
        "    x }\n")


def test_cli_check_diff_and_write(tmp_path):
    path = tmp_path / "a.ccl"
    path.write_text("fn run()->Integer{1}\n")
    r = CliRunner().invoke(cli, ["fmt", "--check", str(path)])
    assert r.exit_code == 1 and path.read_text() == "fn run()->Integer{1}\n"
    r = CliRunner().invoke(cli, ["fmt", "--diff", str(path)])
    assert "+fn run() -> Integer { 1 }" in r.stdout
    assert CliRunner().invoke(cli, ["fmt", str(path)]).exit_code == 0
    assert path.read_text() == "fn run() -> Integer { 1 }\n"
    assert CliRunner().invoke(cli, ["fmt", "--check", str(path)]).exit_code == 0
    bad = tmp_path / "bad.ccl"
    bad.write_text("fn (")
    assert CliRunner().invoke(cli, ["fmt", str(bad)]).exit_code == 3


def test_the_repository_practises_what_it_preaches():
    shipped = [*ROOT.glob("contracts/**/*.ccl"), *ROOT.glob("stdlib/**/*.ccl")]
    unformatted = [str(p) for p in shipped if format_source(p.read_text()) != p.read_text()]
    assert not unformatted, unformatted


def test_fmt_refuses_to_change_what_a_file_says(tmp_path):
    """Second adversarial review: a CRLF inside a string became LF, and formatting pushed a
    valid file past the size limit. fmt now compares the syntax trees and leaves the file."""
    from helpers import cli_in

    crlf = b'fn run() -> String { "a\r\nb" }\n'
    (tmp_path / "crlf.ccl").write_bytes(crlf)
    r = cli_in(tmp_path, "fmt", "crlf.ccl")
    assert r.exit_code == 1 and "U0710" in r.output and (tmp_path / "crlf.ccl").read_bytes() == crlf
    line = "a=" + "+".join(["a"] * 60) + ";\n"
    dense = "fn run() -> Integer {\nlet a = 1;\n" + line * (60_000 // len(line)) + "a\n}\n"
    (tmp_path / "dense.ccl").write_text(dense)
    assert cli_in(tmp_path, "check", "dense.ccl").exit_code == 0
    r = cli_in(tmp_path, "fmt", "dense.ccl")
    assert r.exit_code == 1 and "U0710" in r.output and "L0500" not in r.output.split("U0710")[0], r.output
    assert (tmp_path / "dense.ccl").read_text() == dense
