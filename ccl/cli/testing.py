"""`ccl test [PATH…]`: run the `test_*` functions of `*_test.ccl` files.

Each test function runs alone, against a fresh in-memory co-op founded for it (engines and all,
with the test file's module adopted and a fixed test member as its founder) at a fixed time
(2026-01-01), so tests are repeatable. `assert_eq` and `assert_true` (and `require`) stop a test
with the expected and actual values and the source line; `as_member`, `at` and `expect_fail`
(ccl.runtime.testing) let a test act as someone else, move time and expect a refusal. Output: one line per test and a closing `N passed, M failed`; `--json` for machines,
`--junit FILE` (JUnit XML) for CI systems, `--gas-report` for the gas each test used.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from xml.sax.saxutils import quoteattr

import click

from ccl.diag import printable_name

TEST_TIME = 1_767_225_600          # 2026-01-01T00:00:00Z
TEST_SEED = b"ccl test member".ljust(32, b".")


def discover(paths: tuple[str, ...]) -> list[Path]:
    found = []
    for p in paths or (".",):
        path = Path(p)
        if path.is_dir():
            found.extend(sorted(x for x in path.rglob("*_test.ccl")
                                if not any(part.startswith(".") for part in x.relative_to(path).parts)))
        else:
            found.append(path)
    return found


def run_file(path: Path) -> list[dict]:
    """Results of every test function in one file (a compile error is one failed result)."""
    from ccl.api.files import build_file
    from ccl.diag import CclError
    from ccl.identity import Identity
    from ccl.runtime import session
    from ccl.runtime.testing import TestHooks, tests_of

    try:
        verified = build_file(str(path))
    except CclError as e:
        return [{"file": printable_name(str(path)), "name": "<compile>", "ok": False, "gas_used": 0, "seconds": 0.0,
                 "error": e.diagnostic}]
    member = Identity.from_seed("tester", TEST_SEED)
    results = []
    for f in tests_of(verified):
        started = time.perf_counter()
        store = session.scratch(verified, member.did, TEST_TIME)
        outcome = session.run(verified, f.name, [], store=store, caller=member.did, signer=member, now=TEST_TIME,
                              log=lambda m: None, testing=TestHooks())
        store.close()
        r = outcome.run
        error = outcome.error or (None if r.ok else r.error)
        results.append({"file": printable_name(str(path)), "name": f.name, "ok": error is None, "gas_used": r.gas_used,
                        "seconds": time.perf_counter() - started, "error": error})
    return results


def junit(results: list[dict]) -> str:
    failures = sum(1 for r in results if not r["ok"])
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             f'<testsuite name="ccl" tests="{len(results)}" failures="{failures}" errors="0">']
    for r in results:
        attrs = f'classname={quoteattr(r["file"])} name={quoteattr(r["name"])} time="{r["seconds"]:.6f}"'
        if r["ok"]:
            lines.append(f"  <testcase {attrs}/>")
        else:
            e = r["error"]
            lines.append(f"  <testcase {attrs}>")
            lines.append(f'    <failure type={quoteattr(e.code)} message={quoteattr(e.message)}>'
                         f'{quoteattr(f"{e.span.file}:{e.span.line}:{e.span.col}")[1:-1]}</failure>')
            lines.append("  </testcase>")
    lines.append("</testsuite>")
    return "\n".join(lines) + "\n"


def register(cli) -> None:
    from ccl.cli import main as m

    @cli.command("test")
    @click.argument("paths", nargs=-1, type=click.Path())
    @click.option("--json", "as_json", is_flag=True, help="Print one JSON object as the last line.")
    @click.option("--junit", "junit_path", type=click.Path(dir_okay=False), help="Also write JUnit XML here.")
    @click.option("--gas-report", is_flag=True, help="List the gas each test used.")
    @m.guarded
    def test(paths, as_json, junit_path, gas_report):
        """Run `test_*` functions in `*_test.ccl` files (default: under the current folder)."""
        from ccl.diag import Diagnostic, Span, render

        files = discover(paths)
        if not files:
            raise m.Failure(Diagnostic("usage", "U0701", "no *_test.ccl files found", Span(),
                                       ("name test files or folders",)), 2)
        out = m.output(as_json)
        results = []
        for path in files:
            for r in run_file(path):
                results.append(r)
                if out.json:
                    continue
                label = f"{r['file']}::{r['name']}"
                if r["ok"]:
                    out.line(f"ok    {label}  ({r['gas_used']} gas)")
                else:                       # a failure is shown under --quiet too
                    click.echo(f"FAIL  {label}")
                    e = r["error"]
                    source = None
                    try:
                        source = Path(e.span.file if e.span.file and e.span.line else r["file"]).read_text()
                    except (OSError, UnicodeDecodeError):
                        pass                # the diagnostic is shown without its source line
                    d = e if e.span.file else Diagnostic(e.kind, e.code, e.message, Span(r["file"], e.span.line,
                                                                                          e.span.col), e.hints)
                    if d.span.file in ("", "<input>") or not d.span.file.endswith(".ccl"):
                        d = Diagnostic(d.kind, d.code, d.message, Span(r["file"], d.span.line, d.span.col), d.hints)
                    click.echo("      " + render(d, source).replace("\n", "\n      "))
        passed = sum(1 for r in results if r["ok"])
        failed = len(results) - passed
        if gas_report:
            out.table("Gas per test", ["gas", "test"], [(r["gas_used"], f"{r['file']}::{r['name']}")
                                                        for r in sorted(results, key=lambda r: -r["gas_used"])])
        if junit_path:
            Path(junit_path).write_text(junit(results))
        report = {"passed": passed, "failed": failed, "tests": [
            {"file": r["file"], "name": r["name"], "ok": r["ok"], "gas_used": r["gas_used"],
             **({"error": r["error"].to_json()} if r["error"] else {})} for r in results]}
        if failed:
            click.echo(json.dumps({"ok": False, **report}) if out.json else f"{passed} passed, {failed} failed")
            raise click.exceptions.Exit(1)
        out.data(report)
        out.line(f"{passed} passed, {failed} failed")
