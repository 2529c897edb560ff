"""The CCL test suites of the standard library and the bylaw templates pass under `ccl test`."""

from pathlib import Path

from click.testing import CliRunner

from ccl.cli.main import cli

ROOT = Path(__file__).parent.parent


def test_stdlib_and_template_suites_pass(tmp_path):
    junit = tmp_path / "junit.xml"
    r = CliRunner().invoke(cli, ["test", str(ROOT / "stdlib" / "tests"), str(ROOT / "contracts" / "tests"),
                                 "--junit", str(junit)])
    assert r.exit_code == 0, r.output
    assert r.stdout.strip().splitlines()[-1].endswith(" 0 failed")
    assert 'failures="0"' in junit.read_text()


def test_every_template_has_tests():
    templates = {p.stem for p in (ROOT / "contracts").glob("*.ccl")}
    tested = {p.stem.removesuffix("_test") for p in (ROOT / "contracts" / "tests").glob("*_test.ccl")}
    assert templates == tested


def test_failures_show_expected_actual_and_line(tmp_path):
    (tmp_path / "x_test.ccl").write_text("fn test_sum() {\n    assert_eq(1 + 1, 3);\n}\n")
    r = CliRunner().invoke(cli, ["test", str(tmp_path), "--json"])
    assert r.exit_code == 1
    import json

    out = json.loads(r.stdout.strip().splitlines()[-1])
    (t,) = out["tests"]
    assert t["error"]["message"] == "expected 3, got 2" and t["error"]["line"] == 2


def test_new_scaffolds_a_coop_whose_tests_pass(tmp_path):
    import os

    target = tmp_path / "bakery"
    r = CliRunner().invoke(cli, ["new", "worker_coop", str(target)])
    assert r.exit_code == 0, r.output
    assert (target / "worker_coop.ccl").exists() and (target / ".ccl" / "state.db").exists()
    old = os.getcwd()
    os.chdir(target)
    try:
        r = CliRunner().invoke(cli, ["test"])
    finally:
        os.chdir(old)
    assert r.exit_code == 0 and r.stdout.strip().endswith(" passed, 0 failed"), r.output
    assert "test_a_non_member_cannot_log_work" in r.stdout
    # with a named founder, who holds the template's founder role
    named = tmp_path / "named"
    r = CliRunner().invoke(cli, ["new", "worker_coop", str(named), "--founder", "ana"])
    assert r.exit_code == 0, r.output
    os.chdir(named)
    try:
        r = CliRunner().invoke(cli, ["test"])
    finally:
        os.chdir(old)
    assert r.exit_code == 0 and r.stdout.strip().endswith(" passed, 0 failed"), r.output
    listing = CliRunner().invoke(cli, ["new"])
    assert "housing_coop" in listing.stdout and "participatory_budget" in listing.stdout
    assert CliRunner().invoke(cli, ["new", "worker_co-op"]).exit_code == 2
