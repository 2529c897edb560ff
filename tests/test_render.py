"""ccl.cli.render: money, minutes, times and names for people; and Output — one JSON object and
nothing else under --json, nothing under --quiet, colour only on a terminal without NO_COLOR."""

import io
import json

import pytest
from hypothesis import given, settings, strategies as st

from ccl.cli import render as R
from ccl.diag import CclError
from helpers import cli_in

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
ANA = "did:key:z6MktCPBptTxa1Mi7eERqzQbY9JkrPCgYDuzaNjsAWWCQh7q"
BO = "did:key:z6MkshH6RC3DspeomWUzNi1nbFssT6hd8qHLxYUHivyPnxUv"


# ---------------------------------------------------------------- money

@pytest.mark.parametrize("amount, symbol, decimals, shown", [
    (1250, "CREDIT", 2, "12.50 CREDIT"), (-5, "CREDIT", 2, "-0.05 CREDIT"), (0, "CREDIT", 2, "0.00 CREDIT"),
    (100, "RIV", 0, "100 RIV"), (-100, "RIV", 0, "-100 RIV"), (10_000, "CREDIT", 2, "100.00 CREDIT"),
    (1, "SAT", 8, "0.00000001 SAT"), (2**63 - 1, "CREDIT", 2, "92233720368547758.07 CREDIT"),
    (-(2**63), "CREDIT", 2, "-92233720368547758.08 CREDIT"), (123, "", 1, "12.3"),
])
def test_money(amount, symbol, decimals, shown):
    assert R.money(amount, symbol, decimals) == shown


def test_money_takes_whole_minor_units_only():
    for bad in (12.5, "12", True):
        with pytest.raises(TypeError):
            R.money(bad, "CREDIT", 2)


@pytest.mark.parametrize("text, decimals, value", [
    ("12.50", 2, 1250), ("12.5", 2, 1250), ("12", 2, 1200), ("-3.07", 2, -307), ("+1", 2, 100), (" 7 ", 0, 7),
    ("0.05", 2, 5), ("-0", 2, 0), ("92233720368547758.07", 2, 2**63 - 1), ("-92233720368547758.08", 2, -(2**63)),
    ("0.00000001", 8, 1), ("100", 0, 100),
])
def test_parse_money(text, decimals, value):
    assert R.parse_money(text, decimals) == value


@pytest.mark.parametrize("text, decimals, words", [
    ("12.505", 2, "3 decimal places"), ("12.5", 0, "whole units"), ("12,50", 2, "not an amount"),
    ("1e3", 2, "not an amount"), ("", 2, "not an amount"), ("12.", 2, "not an amount"), (".5", 2, "not an amount"),
    ("ten", 2, "not an amount"), ("1 2", 2, "not an amount"), ("92233720368547758.08", 2, "too large"),
    ("-92233720368547758.09", 2, "too large"), ("9" * 100, 2, "not an amount"), ("١٢", 0, "not an amount"),
])
def test_bad_amounts_are_usage_diagnostics_with_a_hint(text, decimals, words):
    with pytest.raises(CclError) as e:
        R.parse_money(text, decimals)
    d = e.value.diagnostic
    assert (d.kind, d.code) == ("usage", "U0702") and words in d.message and d.hints and d.hints[0]


@settings(max_examples=500, deadline=None)
@given(INT64, st.integers(min_value=0, max_value=8))
def test_money_round_trips(amount, decimals):
    shown = R.money(amount, "CREDIT", decimals)
    assert R.parse_money(shown.removesuffix(" CREDIT"), decimals) == amount
    assert R.parse_amount(shown.removesuffix(" CREDIT"), "CREDIT", decimals) == amount


# ---------------------------------------------------------------- minutes

@pytest.mark.parametrize("m, shown", [(90, "1h30"), (45, "45m"), (120, "2h"), (-65, "-1h05"), (0, "0m"),
                                      (61, "1h01"), (600_000, "10000h")])
def test_minutes(m, shown):
    assert R.minutes(m) == shown
    assert R.amount(m, "HOURS", 0) == shown


@pytest.mark.parametrize("text, m", [("1h30", 90), ("90m", 90), ("2h", 120), ("90", 90), ("1h30m", 90),
                                     ("1h 30m", 90), ("-1h05", -65), ("0", 0), ("1h5", 65)])
def test_parse_minutes(text, m):
    assert R.parse_minutes(text) == m
    assert R.parse_amount(text, "HOURS", 0) == m


@pytest.mark.parametrize("text", ["1h60", "h30", "1.5h", "", "ninety", "1d", "1h30s", "9" * 30])
def test_bad_minutes_are_usage_diagnostics(text):
    with pytest.raises(CclError) as e:
        R.parse_minutes(text)
    assert e.value.diagnostic.code == "U0702" and e.value.diagnostic.hints


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=-(2**62), max_value=2**62))
def test_minutes_round_trip(m):
    assert R.parse_minutes(R.minutes(m)) == m


# ---------------------------------------------------------------- times, ids

def test_when_in_utc_and_in_a_zone():
    t = 1796187600                                              # 2026-12-02 05:00 UTC
    assert R.when(t) == "2026-12-02T05:00:00Z"
    assert R.when(t, "Europe/Amsterdam") == "2026-12-02T06:00:00+01:00"
    assert R.when(t, "America/Bogota") == "2026-12-02T00:00:00-05:00"
    assert R.when(1782968400, "Europe/Amsterdam") == "2026-07-02T07:00:00+02:00"     # summer time
    assert R.when(2**62) == str(2**62)                          # past year 9999: the number


@pytest.mark.parametrize("tz", ["Mars/Olympus", "../../etc/passwd", "", "Europe/"])
def test_an_unknown_zone_is_a_usage_diagnostic(tz):
    with pytest.raises(CclError) as e:
        R.when(0, tz)
    assert e.value.diagnostic.code == "U0702" and "time zone" in e.value.diagnostic.message


def test_short_ids():
    assert R.short_did(ANA) == "did:key:z6Mk…7q"
    assert R.short_cid("bafyreidqlditbxhtrddspropiekehkxlw4y7iorjmeqbu75nhwfsrtnqfi") == "bafy…fi"
    assert R.short_did("did:key:anon") == "did:key:anon"


# ---------------------------------------------------------------- names

def test_names_prefer_the_display_name_then_the_identity_then_the_did():
    names = R.Names({ANA: "Ana Lucía"}, {ANA: "ana", BO: "bo"}, coop="did:key:z6MkCoop")
    assert names.of(ANA) == "Ana Lucía" and names.of(BO) == "bo"
    assert names.of("did:key:z6MkzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzQQ") == "did:key:z6Mk…QQ"
    assert names.of("sys:lending") == "lending" and names.of("sys:pool:circle") == "pool:circle"
    assert names.of("did:key:z6MkCoop") == "co-op" and names.of("did:key:z6MkCoop#reserve") == "co-op#reserve"
    assert names.lookup("bo") == BO and names.lookup("Ana Lucía") == ANA and names.lookup("nobody") is None


def test_names_with_dids():
    names = R.Names({}, {ANA: "ana"}, show_dids=True)
    assert names.of(ANA) == f"ana ({ANA})" and names.of("sys:lending") == "lending"


def test_a_display_name_that_looks_like_someone_elses_identity_shows_its_did():
    """Identity names are local, so the engine cannot refuse them; the renderer marks the copy."""
    names = R.Names({BO: "Ana"}, {ANA: "ana"})
    assert names.of(ANA) == "ana" and names.of(BO) == f"Ana ({R.short_did(BO)})"
    assert R.Names({ANA: "Ana"}, {ANA: "ana"}).of(ANA) == "Ana"        # their own identity: no mark


def test_names_from_a_workspace(tmp_path):
    from ccl import governance as G
    from ccl.api.workspace import find
    from ccl.ledger import EngineState, Ledger

    assert cli_in(tmp_path, "init", "--founder", "ana", "--demo").exit_code == 0
    assert cli_in(tmp_path, "id", "new", "bo").exit_code == 0
    ws = find(tmp_path, None)
    dids = {n: json.loads(cli_in(tmp_path, "id", "show", n, "--json").stdout)["did"] for n in ("ana", "bo")}
    with ws.store.reader() as tx:                       # the names set here are thrown away after
        L = Ledger(EngineState(tx), 0)
        assert R.Names.load(ws, L).of(dids["ana"]) == "ana"
        G.set_display_name(L, dids["ana"], dids["ana"], "Ana Lucía")
        names = R.Names.load(ws, L)
        assert names.of(dids["ana"]) == "Ana Lucía" and names.of(dids["bo"]) == "bo"
        assert names.of(G.coop(L)["coop"]) == "co-op"


# ---------------------------------------------------------------- colour

class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_colour_only_on_a_terminal_and_never_with_no_color(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert R.colour(Terminal()) and not R.colour(io.StringIO())
    assert "\x1b[" in R._printed(_red(), Terminal())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not R.colour(Terminal()) and "\x1b[" not in R._printed(_red(), Terminal())
    monkeypatch.setenv("NO_COLOR", "")                           # empty: not set (no-color.org)
    assert R.colour(Terminal())


def _red():
    from rich.text import Text

    return Text("refused", style="bold red")


def test_no_color_keeps_highlight_and_diagnostics_plain(tmp_path, monkeypatch):
    (tmp_path / "c.ccl").write_text("fn run() -> Integer { 1 }\n")
    monkeypatch.setenv("NO_COLOR", "1")
    r = cli_in(tmp_path, "highlight", "c.ccl")
    assert r.stdout == "fn run() -> Integer { 1 }\n"
    r = cli_in(tmp_path, "run", "missing.ccl")
    assert r.exit_code == 2 and "\x1b[" not in r.stderr and "U0701" in r.stderr


# ---------------------------------------------------------------- Output

def test_output_forms(capsys):
    out = R.Output()
    out.attach(receipt="bafyreidqlditbxhtrddspropiekehkxlw4y7iorjmeqbu75nhwfsrtnqfi")
    out.data({"x": 1})                                              # not under --json: nothing
    out.sentence("ana issued 100.00 CREDIT to bo")
    out.table("Loans", ["id", "amount"], [])
    out.note("a note")
    out.next("ccl dag log")
    got = capsys.readouterr()
    assert got.out == "ana issued 100.00 CREDIT to bo · receipt bafy…fi\nno loans\n"
    assert got.err == "note: a note\nnext: ccl dag log\n"


def test_output_json_is_one_object_with_what_was_attached(capsys):
    out = R.Output(as_json=True)
    out.attach(receipt="bafyfull", events=[{"name": "Lent", "fields": {}}])
    out.sentence("ana did a thing")
    out.table("Loans", ["id"], [["loan-1"]])
    out.note("a note")
    out.next("ccl dag log")
    out.data({"result": True})
    got = capsys.readouterr()
    assert got.err == "" and json.loads(got.out) == {"ok": True, "receipt": "bafyfull",
                                                      "events": [{"name": "Lent", "fields": {}}], "result": True}
    assert got.out.count("\n") == 1


def test_output_quiet_prints_nothing_but_failures(capsys):
    from ccl.diag import Diagnostic

    out = R.Output(quiet=True)
    out.sentence("done")
    out.table("Loans", ["id"], [["loan-1"]])
    out.note("n")
    out.line("l")
    assert capsys.readouterr() == ("", "")
    out.error(Diagnostic("usage", "U0700", "bad"))
    assert "usage error[U0700]: bad" in capsys.readouterr().err


def test_a_table_aligns_numbers_right(capsys):
    R.Output().table("Balances", ["member", "balance"], [["ana", "12.50 CREDIT"], ["bo", "-100.00 CREDIT"]])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Balances" and lines[-1].endswith("-100.00 CREDIT") and lines[-2].endswith(" 12.50 CREDIT")
    assert all(line == line.rstrip() for line in lines)


# ---------------------------------------------------------------- the commands

@pytest.fixture
def coop(tmp_path):
    """A demo workspace with ana (founder) and a file that logs, emits an event and writes."""
    assert cli_in(tmp_path, "init", "--founder", "ana", "--demo").exit_code == 0
    (tmp_path / "c.ccl").write_text(
        'contract Counter { state count: Integer = 0;\n'
        '  fn bump(n: Integer) -> Integer { log("bumping"); count = count + n; emit Bumped { by: caller(), n: n }; '
        'count } }\n')
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "t_test.ccl").write_text("fn test_one() { assert_eq(1, 1); }\n")
    return tmp_path


JSON_COMMANDS = [
    ["run", "c.ccl", "--fn", "bump", "--args", "[2]", "--as", "ana", "--at", "1767225600"],
    ["check", "c.ccl"], ["compile", "c.ccl", "-o", "c.cclb"], ["clock", "show"], ["clock", "advance", "1d"],
    ["id", "list"], ["id", "new", "cy"], ["dag", "log"], ["dag", "verify"], ["dag", "replay"], ["new"],
    ["test", "tests"], ["fmt", "--check", "tests/t_test.ccl"], ["disasm", "c.ccl"], ["dag", "show", "1"],
]


@pytest.mark.parametrize("args", JSON_COMMANDS, ids=lambda a: " ".join(a[:2]))
@pytest.mark.parametrize("where", ["after", "before"])
def test_json_is_one_object_on_stdout_and_nothing_on_stderr(coop, args, where):
    r = cli_in(coop, *(args + ["--json"] if where == "after" else ["--json", *args]))
    assert r.exit_code == 0, r.output
    assert r.stderr == "", r.stderr
    assert r.stdout.count("\n") == 1 and isinstance(json.loads(r.stdout), dict), r.stdout


def test_a_runs_receipt_events_and_logs_are_in_its_json(coop):
    r = cli_in(coop, "--json", "run", "c.ccl", "--fn", "bump", "--args", "[2]", "--as", "ana", "--at", "1767225600")
    out = json.loads(r.stdout)
    assert out["ok"] and out["result"] == 2 and out["receipt"].startswith("bafyrei") and out["logs"] == ["bumping"]
    assert out["events"][0]["name"] == "Bumped" and out["events"][0]["fields"]["by"].startswith("did:key:")
    text = cli_in(coop, "run", "c.ccl", "--fn", "bump", "--args", "[3]", "--as", "ana")
    assert text.stdout == "5\n"
    assert "bumping" in text.stderr and "event Bumped by=ana n=3" in text.stderr and "receipt bafy…" in text.stderr


def test_a_failing_run_under_json_is_one_object_too(coop):
    (coop / "bad.ccl").write_text("fn run() -> Integer { let z = 0; 1 / z }\n")
    r = cli_in(coop, "--json", "run", "bad.ccl")
    assert r.exit_code == 1 and r.stderr == "" and json.loads(r.stdout)["error"]["code"] == "R0301"


def test_an_engine_command_takes_the_global_json_flag(coop):
    r = cli_in(coop, "--json", "credit", "balance", "ana")
    assert r.exit_code == 0 and json.loads(r.stdout)["balance"] == 0


@pytest.mark.parametrize("args", [
    ["run", "c.ccl", "--fn", "bump", "--args", "[2]", "--as", "ana", "--at", "1767225600"], ["dag", "log"],
    ["id", "list"], ["check", "c.ccl"], ["clock", "advance", "1d"], ["test", "tests"], ["dag", "verify"],
], ids=lambda a: " ".join(a[:2]))
def test_quiet_prints_nothing_on_success(coop, args):
    r = cli_in(coop, "-q", *args)
    assert r.exit_code == 0 and r.stdout == "" and r.stderr == "", r.output


def test_quiet_still_says_why_a_command_failed(coop):
    (coop / "bad.ccl").write_text("fn run() -> Integer { nope }\n")
    r = cli_in(coop, "--quiet", "check", "bad.ccl")
    assert r.exit_code == 3 and "E0203" in r.stderr and r.stdout == ""
    r = cli_in(coop, "--quiet", "run", "missing.ccl")
    assert r.exit_code == 2 and "U0701" in r.stderr


def test_people_see_names_and_times_and_dids_on_request(coop):
    log = cli_in(coop, "dag", "log").stdout
    assert "founder ana" in log and "did:key:" not in log and "T" in log.splitlines()[-1]
    ana = json.loads(cli_in(coop, "id", "show", "ana", "--json").stdout)["did"]
    assert f"ana ({ana})" in cli_in(coop, "--dids", "dag", "log").stdout


def test_times_in_the_workspaces_zone(coop):
    config = coop / ".ccl" / "config.toml"
    config.write_text(config.read_text().replace("[workspace]\n", '[workspace]\ntimezone = "America/Bogota"\n'))
    shown = cli_in(coop, "clock", "show").stdout.strip()
    assert shown.endswith("-05:00")
    config.write_text(config.read_text().replace("America/Bogota", "Mars/Olympus"))
    r = cli_in(coop, "clock", "show")
    assert r.exit_code == 2 and "U0702" in r.stderr and "Mars/Olympus" in r.stderr


def test_next_hints_follow_only_the_command_they_belong_to(coop, tmp_path_factory):
    other = tmp_path_factory.mktemp("plain")
    r = cli_in(other, "init")
    assert "next: found it with `ccl init --founder NAME" in r.stderr
    assert "next:" not in cli_in(coop, "dag", "log").stderr
    assert "next:" not in cli_in(coop, "run", "c.ccl", "--fn", "bump", "--args", "[1]", "--as", "ana").stderr


def test_review_finds_members_text_is_shown_as_written(tmp_path, monkeypatch):
    """Found by review of issue 13: a task or purpose written as rich markup (`[/x]`) made every
    member's listing an internal error, and escape codes reached the reader's terminal."""
    from click.testing import CliRunner

    import ccl
    from ccl.cli.main import cli

    (tmp_path / "c.ccl").write_text("contract C {\n    founder: Steward;\n    role Steward { can: [manage_members]; }\n}\n")
    coop = ccl.found(tmp_path / "w", founder="ana", bylaws=[str(tmp_path / "c.ccl")], demo=True)
    coop.new_member("bo", by=coop.member("ana"))
    coop.member("ana").hours_log(member="bo", minutes=30, description="[/x] [bold]x[/] \x1b[2J\nforged row")
    coop.close()
    monkeypatch.chdir(tmp_path / "w")
    r = CliRunner().invoke(cli, ["hours", "pending", "bo"])
    assert r.exit_code == 0, r.output
    assert "[/x] [bold]x[/] \\x1b[2J\\nforged row" in r.stdout and "\x1b" not in r.stdout
