"""The command line as the conformance suite drives it: output, JSON, exit codes, no tracebacks."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ccl.cli.main import cli

ROOT = Path(__file__).parent.parent


def ccl(*args, cwd=None):
    runner = CliRunner()
    result = runner.invoke(cli, list(args), catch_exceptions=False)
    return result


def last_json(result):
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def src(tmp_path):
    def write(text, name="c.ccl"):
        p = tmp_path / name
        p.write_text(text) if isinstance(text, str) else p.write_bytes(text)
        return str(p)
    return write


def test_run_prints_result(src):
    r = ccl("run", src("fn run() -> Integer { 6 * 7 }"))
    assert r.exit_code == 0 and r.stdout.strip() == "42"


def test_run_json_success(src):
    r = ccl("run", src("fn add(a: Integer, b: Integer) -> Integer { a + b }"), "--fn", "add", "--args", "[2, 3]",
            "--json")
    out = last_json(r)
    assert r.exit_code == 0 and out["ok"] is True and out["result"] == 5 and out["gas_used"] > 0


def test_run_json_runtime_error(src):
    path = src("fn run() -> Integer {\n  let z = 0;\n  10 / z\n}")
    r = ccl("run", path, "--json")
    out = last_json(r)
    assert r.exit_code == 1
    assert out["ok"] is False
    assert out["error"]["kind"] == "runtime" and out["error"]["line"] == 3 and out["error"]["file"] == path


def test_default_gas_limit_stops_infinite_loop(src):
    r = ccl("run", src("fn run() -> Integer { while true { } 0 }"), "--json")
    assert r.exit_code == 1 and last_json(r)["error"]["kind"] == "gas"


def test_gas_flag(src):
    path = src("fn run() -> Integer { let i = 0; while i < 1000 { i = i + 1; } i }")
    assert ccl("run", path, "--gas", "50", "--json").exit_code == 1
    assert last_json(ccl("run", path, "--gas", "100000", "--json"))["result"] == 1000


@pytest.mark.parametrize("text, kind, code", [
    ("", "type", 3),
    (b"\x00\x01\xff\xfe junk", "parse", 3),
    (b"fn run() -> Integer { \xff }", "parse", 3),
    ('fn run() -> String { "open', "parse", 3),
    ("fn run() -> Integer { /* open", "parse", 3),
    ("fn run() -> Integer { 99999999999999999999 }", "parse", 3),
    ("(" * 100_000, "limit", 3),
    ("fn run() -> Integer { x }", "type", 3),
])
def test_bad_sources_give_one_diagnostic(src, text, kind, code):
    r = ccl("run", src(text), "--json")
    assert r.exit_code == code
    out = last_json(r)
    assert out["ok"] is False and out["error"]["kind"] == kind
    assert "Traceback" not in r.output


def test_human_error_has_location_caret_and_hint(src):
    path = src("fn run() -> Integer {\n    let quorum = 1;\n    quorom\n}")
    r = ccl("run", path)
    assert r.exit_code == 3
    assert f"{path}:3:5: type error[E0203]: undefined name `quorom`" in r.stderr
    assert "   3 |     quorom" in r.stderr and "^^^^^^" in r.stderr
    assert "did you mean `quorum`?" in r.stderr


def test_missing_file_is_usage_error():
    r = ccl("run", "/nonexistent/x.ccl", "--json")
    assert r.exit_code == 2 and last_json(r)["error"]["kind"] == "usage"


@pytest.mark.parametrize("args", ["not json", "{\"a\": 1}", "[1"])
def test_bad_args_json_is_usage_error(src, args):
    r = ccl("run", src("fn run(a: Integer) -> Integer { a }"), "--args", args, "--json")
    assert r.exit_code == 2 and last_json(r)["error"]["kind"] == "usage"


def test_wrongly_typed_args_are_type_errors_before_running(src):
    r = ccl("run", src("fn run(a: Integer) -> Integer { a }"), "--args", '["x"]', "--json")
    assert r.exit_code == 3 and last_json(r)["error"]["kind"] == "type"


def test_check_and_syntax_only(src):
    good = src("fn run() -> Integer { 1 }", "good.ccl")
    bad_types = src("fn run() -> Integer { \"s\" }", "bad.ccl")
    assert ccl("check", good).exit_code == 0
    assert ccl("check", bad_types).exit_code == 3
    assert ccl("check", "--syntax-only", bad_types).exit_code == 0
    out = last_json(ccl("check", good, bad_types, "--json"))
    assert [f["ok"] for f in out["files"]] == [True, False]


def test_compile_then_run_and_disasm_cclb(src, tmp_path):
    path = src("fn run() -> Integer { 40 + 2 }")
    out = tmp_path / "m.cclb"
    r = ccl("compile", path, "-o", str(out), "--json")
    assert r.exit_code == 0 and last_json(r)["cid"].startswith("bafyrei")
    assert ccl("run", str(out)).stdout.strip() == "42"
    dis = ccl("disasm", str(out))
    assert dis.exit_code == 0 and "ADD" in dis.stdout and "gas" in dis.stdout
    data = bytearray(out.read_bytes())
    data[len(data) // 2] ^= 0x40
    out.write_bytes(bytes(data))
    bad = ccl("run", str(out), "--json")
    assert bad.exit_code == 4 and last_json(bad)["error"]["kind"] == "integrity"


def test_repeated_run_uses_the_cache(src, monkeypatch):
    path = src("fn run() -> Integer { 1 }")
    assert ccl("run", path).exit_code == 0
    import ccl.pipeline as pipeline

    def boom(*a, **k):
        raise AssertionError("compiled again")
    monkeypatch.setattr(pipeline, "compile_source", boom)
    assert ccl("run", path).stdout.strip() == "1"


def test_both_engines_from_the_cli(src):
    path = src("fn run() -> Integer { let s = 0; for x in [1, 2, 3] { s = s + x * x; } s }")
    a = last_json(ccl("run", path, "--json"))
    b = last_json(ccl("run", path, "--json", "--engine", "reference"))
    assert a == b and a["result"] == 14


def test_log_goes_to_stderr(src):
    r = ccl("run", src('fn run() -> Integer { log("hello co-op"); 1 }'))
    assert r.stdout.strip() == "1" and "hello co-op" in r.stderr


def test_python_dash_m_and_bundled_contract():
    r = subprocess.run([sys.executable, "-m", "ccl", "run", str(ROOT / "contracts" / "patronage.ccl"), "--json"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert sum(s["dividend"] for s in out["result"]) == 700_001


def test_an_unknown_identity_is_a_usage_error_not_an_internal_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ccl("init")
    r = ccl("aid", "fulfil", "match-1", "--as", "nobody", "--json")
    assert r.exit_code == 2 and last_json(r)["error"]["code"] == "U0700"


def test_odd_bytes_in_a_test_file_or_a_file_name_are_not_internal_errors(tmp_path):
    """Issue 12, second adversarial review: `ccl test` on a file with a byte that is not UTF-8,
    and any command on a file whose *name* is not UTF-8, ended in X9999 (exit 70)."""
    import os

    from helpers import cli_in

    (tmp_path / "mid_test.ccl").write_bytes(b'fn test_a() { assert_eq("\xff", ""); }\n')
    r = cli_in(tmp_path, "test", "mid_test.ccl")
    assert r.exit_code == 1 and "E0107" in r.output and "X9999" not in r.output, r.output
    name = os.fsdecode(b"\xfe_test.ccl")                  # a surrogate-escaped name, as the OS gives it
    (tmp_path / name).write_text("fn test_a() { assert_eq(1, 1); }\nfn run() -> Integer { 1 }\n")
    for args in (["check", name], ["test", name], ["run", name, "--json"], ["disasm", name], ["compile", name, "-o", "x.cclb"]):
        r = cli_in(tmp_path, *args)
        assert r.exit_code == 0 and "X9999" not in r.output, (args, r.output)
    assert "\ufffd_test.ccl" in cli_in(tmp_path, "disasm", name).output


# ---------------------------------------------------------------- commands contributed by packages

import click  # noqa: E402

from ccl.diag import CclError, error  # noqa: E402


@click.command()
@click.option("--fail", is_flag=True)
@click.option("--json", "as_json", is_flag=True)
def _contributed_ok(fail, as_json):
    """A command another package contributes."""
    if fail:
        raise error("U0705", "refused by the plugin")
    click.echo("plugin ran")


def test_serve_comes_from_the_node_through_the_entry_point_and_runs_in_the_guard(tmp_path, monkeypatch):
    from ccl.node.command import serve

    assert cli.commands["serve"] is serve and serve.callback.__wrapped__      # wrapped by the CLI's guard
    monkeypatch.chdir(tmp_path)
    r = ccl("serve", "--port", "1")
    assert r.exit_code == 2 and "U0701" in r.output and "Traceback" not in r.output
    assert "serve " in ccl("--help").output and "--port" in ccl("serve", "--help").output


def test_commands_installed_packages_contribute(monkeypatch):
    """Added under their name, inside the guard (a CclError is one diagnostic and its kind's exit
    code); a built-in's name stays the built-in's; one that cannot be imported says so when used."""
    import importlib.metadata as md

    from ccl.cli.main import CclGroup, add_contributed

    eps = [md.EntryPoint("plugged", "test_cli:_contributed_ok", "ccl.test"),
           md.EntryPoint("broken", "ccl_no_such_plugin:command", "ccl.test"),
           md.EntryPoint("builtin", "test_cli:_contributed_ok", "ccl.test")]
    monkeypatch.setattr(md, "entry_points", lambda group: [e for e in eps if e.group == group])

    @click.group(cls=CclGroup)
    def root():
        pass

    @root.command()
    def builtin():
        click.echo("built-in ran")

    add_contributed(root, "ccl.test")
    assert sorted(root.commands) == ["broken", "builtin", "plugged"]
    runner = CliRunner()
    assert runner.invoke(root, ["plugged"]).output == "plugin ran\n"
    r = runner.invoke(root, ["plugged", "--fail", "--json"])
    assert r.exit_code == 2 and json.loads(r.stdout.splitlines()[-1])["error"]["code"] == "U0705"
    assert runner.invoke(root, ["builtin"]).output == "built-in ran\n"
    r = runner.invoke(root, ["broken", "--anything"])
    assert r.exit_code == 5 and "cannot be loaded" in r.output and "ModuleNotFoundError" in r.output
    assert not isinstance(r.exception, CclError) and "Traceback" not in r.output


def test_the_command_line_starts_without_the_node_behind_serve():
    code = ("import sys, ccl.cli.main; loaded = [m for m in ('ccl.node.app', 'fastapi', 'uvicorn') if m in sys.modules];"
            " print(loaded)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
