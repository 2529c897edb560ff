"""The `ccl` command line: the only code that touches argv, the working folder, env and stdout.

Every command renders failures as one diagnostic (file:line:col, the source line, a caret, a
hint) on stderr, or with `--json` as the last stdout line, and exits with the documented code
(docs/cli.md): 0 ok, 1 the contract failed at run time, 2 usage, 3 compile error, 4 integrity,
5 environment, 70 an internal error of ccl (a bug: please report it). No traceback is ever
printed unless `--debug` is given.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path

import click

from ccl import __version__, limits
from ccl.diag import CclError, Diagnostic, Span, render

EXIT = {"ok": 0, "runtime": 1, "gas": 1, "limit": 1, "host": 1, "usage": 2, "parse": 3, "type": 3,
        "integrity": 4, "environment": 5}
EXIT_INTERNAL = 70


class Failure(Exception):
    """A diagnostic to print and the exit code it ends with."""

    def __init__(self, diagnostic: Diagnostic, code: int, source: str | None = None):
        self.diagnostic = diagnostic
        self.code = code
        self.source = source


def _stderr_console():
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True,
                   no_color=bool(os.environ.get("NO_COLOR")))


def report(diagnostic: Diagnostic, source: str | None, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({"ok": False, "error": diagnostic.to_json()}, ensure_ascii=False))
        return
    text = render(diagnostic, source)
    console = _stderr_console()
    first, _, rest = text.partition("\n")
    console.print(first, style="bold red", markup=False)
    if rest:
        console.print(rest, markup=False)


def compile_failure(e: CclError, path: str) -> Failure:
    d = e.diagnostic
    code = EXIT.get(d.kind, 3)
    if d.kind in ("limit", "runtime", "gas", "host"):
        code = 3                       # a limit hit while compiling is a compile error
    source = None
    if d.span.file and d.span.line:
        try:
            source = Path(d.span.file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            source = None
    return Failure(d, code, source)


class Context:
    def __init__(self, debug: bool):
        self.debug = debug


def guarded(fn):
    """Run a command body: map Failure and unexpected exceptions to exit codes."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        ctx = click.get_current_context()
        as_json = kwargs.get("as_json", False)
        debug = ctx.find_object(Context).debug if ctx.find_object(Context) else False
        try:
            return fn(*args, **kwargs)
        except Failure as f:
            report(f.diagnostic, f.source, as_json)
            ctx.exit(f.code)
        except click.exceptions.Exit:
            raise
        except click.ClickException:
            raise
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)
        except Exception as e:                      # our bug: say so, without a traceback
            if debug:
                traceback.print_exc()
            d = Diagnostic("environment", "X9999", f"internal error in ccl {__version__}: "
                           f"{type(e).__name__}: {e}", Span(),
                           ("this is a bug in ccl; rerun with --debug and report the traceback",))
            report(d, None, as_json)
            ctx.exit(EXIT_INTERNAL)
    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ccl")
@click.option("--debug", is_flag=True, help="Show Python tracebacks for internal errors.")
@click.pass_context
def cli(ctx, debug):
    """ccl — run cooperative bylaws written in CCL."""
    ctx.obj = Context(debug)


def build(path: str, use_cache: bool = True):
    from ccl.cli.files import build_file

    try:
        return build_file(path, use_cache=use_cache)
    except CclError as e:
        raise compile_failure(e, path) from None


def parse_args_json(text: str | None) -> list:
    if text is None:
        return []
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise Failure(Diagnostic("usage", "U0702", f"--args is not valid JSON: {e.msg} at column {e.colno}",
                                 Span("--args", 1, e.colno), ('for example: --args \'[3, "did:key:z6Mk…"]\'',)),
                      2, text) from None
    if not isinstance(value, list):
        raise Failure(Diagnostic("usage", "U0702", "--args must be a JSON list of positional arguments",
                                 Span("--args", 1, 1), (f"wrap it: --args '[{text}]'",)), 2, text)
    return value


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--fn", "entry", default="run", show_default=True, help="The function to call.")
@click.option("--args", "args_json", default=None, help="JSON list of positional arguments.")
@click.option("--gas", type=click.IntRange(1, limits.gas_max), default=limits.gas_default, show_default=True,
              help="Gas limit for the run.")
@click.option("--at", "at", type=int, default=0, help="The run's time (seconds since 1970) for now().")
@click.option("--as", "caller", default=None, help="The caller's DID, returned by caller().")
@click.option("--engine", type=click.Choice(["fast", "reference"]), default="fast",
              help="VM path: the fast translator or the reference interpreter.")
@click.option("--no-cache", is_flag=True, help="Do not use or fill the compiled-module cache.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object as the last line.")
@guarded
def run(file, entry, args_json, gas, at, caller, engine, no_cache, as_json):
    """Run FILE (a .ccl source or a .cclb module): call `run`, or --fn NAME."""
    from ccl.vm.run import ANONYMOUS, execute

    args = parse_args_json(args_json)
    verified = build(file, use_cache=not no_cache)
    try:
        result = execute(verified, entry, args, gas_limit=gas, now=at, caller=caller or ANONYMOUS,
                         mode="fast" if engine == "fast" else "interp")
    except CclError as e:
        d = e.diagnostic
        raise Failure(Diagnostic(d.kind, d.code, d.message, Span(file), d.hints), EXIT.get(d.kind, 2)) from None
    if not result.ok:
        d = result.error
        d = Diagnostic(d.kind, d.code, d.message, Span(file, d.span.line, d.span.col), d.hints)
        source = None if file.endswith(".cclb") else Path(file).read_text(encoding="utf-8")
        if as_json:
            click.echo(json.dumps({"ok": False, "error": d.to_json(), "gas_used": result.gas_used},
                                  ensure_ascii=False))
        else:
            report(d, source, False)
        raise click.exceptions.Exit(1)
    for event in result.events:
        from ccl.vm.values import dynamic_to_json

        click.echo(f"event {event.name} {json.dumps(dynamic_to_json(event.fields), ensure_ascii=False)}",
                   err=True)
    if as_json:
        click.echo(json.dumps({"ok": True, "result": result.value, "gas_used": result.gas_used},
                              ensure_ascii=False))
    else:
        value = result.value
        click.echo(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--syntax-only", is_flag=True, help="Only parse.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object as the last line.")
@guarded
def check(files, syntax_only, as_json):
    """Check CCL files: syntax, names, types, assignments and returns."""
    from ccl.cli.files import Loader, read_source
    from ccl.pipeline import compile_source, deep_recursion
    from ccl.syntax.parse import parse

    failures = []
    results = []
    for path in files:
        try:
            text = read_source(path)
            if syntax_only:
                with deep_recursion():
                    parse(text, path)
            else:
                compile_source(text, path, Loader())
            results.append({"file": path, "ok": True})
            if not as_json:
                click.echo(f"ok  {path}")
        except CclError as e:
            f = compile_failure(e, path)
            failures.append(f)
            results.append({"file": path, "ok": False, "error": f.diagnostic.to_json()})
            if not as_json:
                report(f.diagnostic, f.source, False)
    if as_json:
        first = failures[0].diagnostic.to_json() if failures else None
        click.echo(json.dumps({"ok": not failures, "files": results, **({"error": first} if first else {})},
                              ensure_ascii=False))
    if failures:
        raise click.exceptions.Exit(max(f.code for f in failures))


@cli.command("compile")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="The .cclb file to write.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object as the last line.")
@guarded
def compile_(file, output, as_json):
    """Compile FILE to a bytecode module (.cclb) and print its content id."""
    from ccl.compile.module import write_file

    verified = build(file, use_cache=False)
    data = write_file(verified.module)
    try:
        tmp = f"{output}.tmp{os.getpid()}"
        Path(tmp).write_bytes(data)
        os.replace(tmp, output)
    except OSError as e:
        raise Failure(Diagnostic("environment", "N0900", f"cannot write {output}: {e.strerror}", Span(output)),
                      5) from None
    cid = verified.module.cid
    if as_json:
        click.echo(json.dumps({"ok": True, "cid": cid, "output": output, "bytes": len(data)}))
    else:
        click.echo(f"{cid}  {output}  ({len(data)} bytes)")


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object as the last line.")
@guarded
def disasm(file, as_json):
    """Show the bytecode of FILE (.ccl or .cclb) with source lines and gas per block."""
    from ccl.compile.disasm import disassemble

    verified = build(file, use_cache=False)
    text = disassemble(verified)
    if as_json:
        click.echo(json.dumps({"ok": True, "cid": verified.module.cid, "text": text}))
    else:
        click.echo(text, nl=False)


def main() -> None:
    try:
        cli(prog_name="ccl")
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(1)
