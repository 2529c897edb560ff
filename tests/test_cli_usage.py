"""Command-line usage errors: every click usage error, in every command and group, is one U0700
diagnostic naming `--help`, exit code 2, and one JSON line under --json; a reader that leaves a
pipe early ends the command quietly."""

import json
import os
import subprocess
import sys

import click
import pytest

from ccl.cli.main import cli
from helpers import cli_in


def all_commands(group=cli, path=()):
    for name, command in sorted(group.commands.items()):
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from all_commands(command, (*path, name))


COMMANDS = list(all_commands())


def json_error(r) -> dict:
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 1, r.stdout                       # one line, nothing else on stdout
    out = json.loads(lines[0])
    assert out["ok"] is False
    return out["error"]


def test_the_walk_finds_the_commands():
    names = {" ".join(p) for p, _ in COMMANDS}
    assert {"run", "dag log", "dag verify", "coop distribute", "proposal vote", "id new"} <= names
    assert len(names) > 60
    assert {" ".join(p) for p in LOOSE} == {"grant", "revoke"}


# commands that take any words at all (the retired commands' refusal); a command whose numbers may
# be negative (`ccl credit limit ana -50 1000`) still refuses an unknown option
LOOSE = {p for p, c in COMMANDS if c.context_settings.get("allow_extra_args")}


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS if p not in LOOSE],
                         ids=[" ".join(p) for p, _ in COMMANDS if p not in LOOSE])
def test_an_unknown_option_is_u0700_in_every_command(tmp_path, path):
    r = cli_in(tmp_path, *path, "--no-such-option", "--json")
    assert r.exit_code == 2, r.output
    error = json_error(r)
    name = "ccl " + " ".join(path)
    assert error["code"] == "U0700" and error["kind"] == "usage"
    assert error["file"] == name and "No such option '--no-such-option'" in error["message"]
    assert error["hint"] == f"see `{name} --help`"
    assert not os.listdir(tmp_path)                        # nothing was created


@pytest.mark.parametrize("args, words", [
    (["run", "b.ccl", "--gas", "0", "--json"], "'--gas': 0 is not in the range"),
    (["run", "b.ccl", "--engine", "bogus", "--json"], "'--engine': 'bogus' is not one of"),
    (["run", ".", "--json"], "is a directory"),
    (["run", "--json"], "Missing argument 'FILE'"),
    (["coop", "policy", "reserve_bps", "lots", "--json"], "'lots' is not a valid integer"),
    (["dag", "log", "--limit", "0", "--json"], "'--limit'"),
    (["dag", "replay", "--engine", "slow", "--json"], "'--engine'"),
    (["credit", "limit", "ana", "--json"], "Missing argument 'FLOOR'"),
    (["credit", "limit", "ana", "-5", "5", "--jsn", "--json"], "No such option '--jsn'"),      # not the CEILING
    (["pool", "claim", "care", "5", "--urgent", "--json"], "No such option '--urgent'"),     # not the REASON
    (["init", "--json", "--founder"], "'--founder' requires an argument"),
    (["bogus", "--json"], "No such command 'bogus'"),
])
def test_option_errors_are_diagnostics(tmp_path, args, words):
    (tmp_path / "b.ccl").write_text("fn run() -> Integer { 1 }\n")
    r = cli_in(tmp_path, *args)
    assert r.exit_code == 2, r.output
    error = json_error(r)
    assert error["code"] == "U0700" and words in error["message"], error
    assert error["hint"].startswith("see `ccl") and error["hint"].endswith("--help`")
    r = cli_in(tmp_path, *(a for a in args if a != "--json"))      # the same in text, on stderr
    assert r.exit_code == 2 and r.stdout == ""
    first = r.stderr.splitlines()[0]
    assert "usage error[U0700]" in first and words in first, r.stderr
    assert "Error:" not in r.stderr and "Try '" not in r.stderr     # click's own text is gone


def test_a_group_without_its_command_shows_its_help_and_the_code(tmp_path):
    r = cli_in(tmp_path, "dag")
    assert r.exit_code == 2
    assert "Commands:" in r.stderr and "usage error[U0700]: `ccl dag` needs a command" in r.stderr


def test_the_groups_own_options(tmp_path):
    r = cli_in(tmp_path, "--state")
    assert r.exit_code == 2 and "ccl: usage error[U0700]: Option '--state' requires an argument" in r.stderr


def test_help_and_version_are_not_errors(tmp_path):
    assert cli_in(tmp_path, "run", "--help").exit_code == 0
    assert cli_in(tmp_path, "--version").exit_code == 0


def ccl_process(*args, cwd, **kw):
    return subprocess.run([sys.executable, "-m", "ccl", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60, **kw)


def test_the_installed_entry_point_exits_2_with_one_json_line(tmp_path):
    (tmp_path / "b.ccl").write_text("fn run() -> Integer { 1 }\n")
    p = ccl_process("run", "b.ccl", "--gas", "0", "--json", cwd=tmp_path)
    assert p.returncode == 2 and p.stderr == ""
    assert json.loads(p.stdout)["error"]["code"] == "U0700"


def test_dag_log_into_a_closed_pipe_ends_quietly(tmp_path):
    from helpers import found

    found(tmp_path, members=("bob",))
    read, write = os.pipe()
    os.close(read)                                         # `| head -1` has already left
    p = subprocess.Popen([sys.executable, "-m", "ccl", "dag", "log"], cwd=tmp_path, stdout=write,
                         stderr=subprocess.PIPE)
    os.close(write)
    err = p.stderr.read()
    p.stderr.close()
    assert p.wait(timeout=60) == 1 and err == b""
