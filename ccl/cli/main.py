"""The `ccl` command line: the only code that touches argv, the working folder and stdout (what
it shares with the node — files, the module cache, workspaces — is in ccl.api, below both).

Every command writes through one `ccl.cli.render.Output` (`ctx.output()`): names, money and
times for people, exactly one JSON object under `--json`, nothing on success under `--quiet`.
It renders failures as one diagnostic (file:line:col, the source line, a caret, a
hint) on stderr, or with `--json` as the stdout JSON object, and exits with the documented code
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
from ccl.cli.render import Names, Output, workspace_tz
from ccl.diag import CclError, Diagnostic, Span

EXIT = {"ok": 0, "runtime": 1, "gas": 1, "limit": 1, "host": 1, "usage": 2, "parse": 3, "type": 3,
        "integrity": 4, "environment": 5}
EXIT_INTERNAL = 70


class Failure(Exception):
    """A diagnostic to print and the exit code it ends with."""

    def __init__(self, diagnostic: Diagnostic, code: int, source: str | None = None):
        self.diagnostic = diagnostic
        self.code = code
        self.source = source


def output(as_json: bool = False) -> Output:
    """The current command's Output (one made from `as_json` alone outside a command)."""
    c = click.get_current_context(silent=True)
    context = c.find_object(Context) if c is not None else None
    return context.output(as_json) if context is not None else Output(as_json=as_json)


def report(diagnostic: Diagnostic, source: str | None, as_json: bool) -> None:
    output(as_json).error(diagnostic, source)


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
    """The global options of one command line, and the command's Output."""

    def __init__(self, debug: bool, state: str | None = None, node: str | None = None, *, as_json: bool = False,
                 quiet: bool = False, show_dids: bool = False):
        self.debug = debug
        self.state = state
        self.node = node
        self.as_json = as_json          # `ccl --json CMD`; a command's own --json also counts
        self.quiet = quiet
        self.show_dids = show_dids
        self._output: Output | None = None

    def output(self, as_json: bool = False) -> Output:
        """The command's Output, made once (`as_json`: the command's own --json flag)."""
        if self._output is None:
            self._output = Output(as_json=self.as_json or as_json, quiet=self.quiet, show_dids=self.show_dids,
                                  tz=self._tz)
        elif as_json:
            self._output.json = True
        return self._output

    def _tz(self) -> str:
        try:
            return workspace_tz(self.workspace())
        except CclError:
            return "UTC"

    def names(self, L=None) -> Names:
        """What members are called here: this workspace's identities and, given the ledger of a
        governance read (`ccl.cli.common.read`), the display names members chose."""
        try:
            ws = self.workspace()
        except CclError:
            ws = None
        return Names.load(ws, L, show_dids=self.show_dids)

    def remote(self, who: str | None):
        """A signed client for --node, acting as `who` (a local identity)."""
        from ccl.client import NodeClient
        from ccl.api.workspace import DIR, Workspace, find

        local = find(Path.cwd(), None)
        ws = local or Workspace(Path.home() / DIR)
        _, signer = ws.identity(who)
        if signer is None:
            raise Failure(Diagnostic("usage", "U0703", "a request to a node must be signed: name your identity "
                                     "with --as", Span()), 2)
        assert self.node is not None
        return NodeClient(self.node, signer)

    def workspace(self, required: bool = False):
        from ccl.api.workspace import locate

        return locate(Path.cwd(), self.state, required=required)


def guarded(fn):
    """Run a command body: map Failure and unexpected exceptions to exit codes."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        ctx = click.get_current_context()
        context = ctx.find_object(Context)
        if context is not None and context.as_json and "as_json" in kwargs:
            kwargs["as_json"] = True                # `ccl --json CMD` is `ccl CMD --json`
        out = output(kwargs.get("as_json", False))
        debug = context.debug if context else False
        try:
            return fn(*args, **kwargs)
        except Failure as f:
            out.error(f.diagnostic, f.source)
            ctx.exit(f.code)
        except CclError as e:                       # a located failure the command did not render itself
            out.error(e.diagnostic, None)
            ctx.exit(EXIT.get(e.diagnostic.kind, 1))
        except click.exceptions.Exit:
            raise
        except click.ClickException:
            raise
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)
        except BrokenPipeError:                     # `ccl … | head`: the reader left; main() ends quietly
            raise
        except Exception as e:                      # our bug: say so, without a traceback
            if debug:
                traceback.print_exc()
            d = Diagnostic("environment", "X9999", f"internal error in ccl {__version__}: "
                           f"{type(e).__name__}: {e}", Span(),
                           ("this is a bug in ccl; rerun with --debug and report the traceback",))
            out.error(d, None)
            ctx.exit(EXIT_INTERNAL)
    return wrapper


def _wants_json(args) -> bool:
    """Whether the command line asks for JSON output (`--json` before any `--`), read from the raw
    arguments: a usage error may stop click before it has parsed `--json` itself."""
    for a in args:
        if a == "--":
            return False
        if a == "--json":
            return True
    return False


def usage_failure(e: click.UsageError) -> Diagnostic:
    """A click usage error (bad option value, unknown option or command, missing argument) as a
    U0700 diagnostic naming the command and where its help is."""
    path = e.ctx.command_path if e.ctx is not None else "ccl"
    if isinstance(e, click.exceptions.NoArgsIsHelpError):
        message = f"`{path}` needs a command or arguments"
    else:
        message = e.format_message()
    return Diagnostic("usage", "U0700", message, Span(path), (f"see `{path} --help`",))


class CclGroup(click.Group):
    """The top-level group: every click usage error below it, in any command or group, becomes
    one U0700 diagnostic (a JSON line under --json) and exit code 2. Subcommands are parsed inside
    `invoke`, so catching there covers every command; the group's own options in `parse_args`."""

    _argv: list = []

    def main(self, args=None, prog_name=None, *rest, **extra):
        CclGroup._argv = list(sys.argv[1:] if args is None else args)
        return super().main(args, prog_name, *rest, **extra)

    def _usage(self, e: click.UsageError):
        as_json = _wants_json(CclGroup._argv)
        if isinstance(e, click.exceptions.NoArgsIsHelpError) and not as_json:
            click.echo(e.format_message(), err=True)             # the help it asked for, then the code
        report(usage_failure(e), None, as_json)
        raise click.exceptions.Exit(2)

    def parse_args(self, ctx, args):
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as e:
            self._usage(e)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except click.UsageError as e:
            self._usage(e)


@click.group(name="ccl", cls=CclGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ccl")
@click.option("--debug", is_flag=True, help="Show Python tracebacks for internal errors.")
@click.option("--state", "state", default=None, metavar="PATH",
              help="The workspace to use (its folder, its .ccl or its state.db, or postgresql://…).")
@click.option("--node", "node", default=None, metavar="URL",
              help="Send state-changing commands (and balances) to a co-op node, signed with --as.")
@click.option("--json", "as_json", is_flag=True, help="Machine output: one JSON object on stdout (as CMD --json).")
@click.option("--quiet", "-q", "quiet", is_flag=True, help="Print nothing on success (failures still say why).")
@click.option("--dids", "show_dids", is_flag=True, help="Show each member's DID beside their name.")
@click.pass_context
def cli(ctx, debug, state, node, as_json, quiet, show_dids):
    """ccl — run cooperative bylaws written in CCL."""
    ctx.obj = Context(debug, state, node, as_json=as_json, quiet=quiet, show_dids=show_dids)


def build(path: str, use_cache: bool = True):
    from ccl.api.files import build_file

    try:
        return build_file(path, use_cache=use_cache)
    except CclError as e:
        raise compile_failure(e, path) from None


def parse_args_json(text: str | None) -> list:
    if text is None:
        return []
    from ccl.vm.values import ArgError, load_args

    try:
        value = load_args(text)
    except ArgError as e:
        raise Failure(Diagnostic("usage", "U0702", e.message, Span("--args", 1, 1), (e.hint,)), 2, text) from None
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
@click.option("--at", "at", type=int, default=None,
              help="The run's time (seconds since 1970) for now(); default: the clock, recorded in the receipt.")
@click.option("--as", "who", default=None, help="Who runs it: an identity name or a DID (caller()).")
@click.option("--engine", type=click.Choice(["fast", "reference"]), default="fast",
              help="VM path: the fast translator or the reference interpreter.")
@click.option("--no-cache", is_flag=True, help="Do not use or fill the compiled-module cache.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object as the last line.")
@guarded
def run(file, entry, args_json, gas, at, who, engine, no_cache, as_json):
    """Run FILE (a .ccl source or a .cclb module): call `run`, or --fn NAME.

    In a workspace, a run that changes state is committed with a signed receipt; elsewhere it
    runs in memory and nothing is kept."""
    args = parse_args_json(args_json)
    verified = build(file, use_cache=not no_cache)          # checked locally first, even for --node
    source = None if file.endswith(".cclb") else Path(file).read_text(encoding="utf-8")
    call(verified, entry, args, label=file, source=source, who=who, at=at, gas=gas, engine=engine,
         as_json=as_json)


def call(verified, entry, args, *, label, source, who, at, gas=limits.gas_default, engine="fast",
         as_json=False, require_workspace=False, quiet=False, action=None, attachments=None):
    """Run one function in the workspace (or, without one, in a scratch co-op in memory founded
    for the caller) and report it as `ccl run` does. Returns the session's outcome.

    `quiet=True`: the caller renders the result — this prints nothing of it, and attaches the
    receipt, events and logs to the command's Output (for its JSON object and its sentence)."""
    import time

    from ccl.runtime import session

    ctx = click.get_current_context().find_object(Context)
    out = ctx.output(as_json)
    if ctx.node and action is None:
        return _remote_call(ctx, verified, entry, args, label, who, out, quiet)
    ws = ctx.workspace(required=require_workspace)
    if ws is not None:
        caller, signer = ws.identity(who)
        store, record = ws.store, True
        now = at if at is not None else ws.demo_now()          # None: the clock
    else:
        from ccl.api.workspace import ANONYMOUS

        if who is not None and not who.startswith("did:"):
            raise Failure(Diagnostic("usage", "U0701", f"no workspace in which to find the identity `{who}`",
                                     Span(), ("give a DID, or run inside a workspace (`ccl init --founder NAME`)",)), 2)
        caller, signer = who or ANONYMOUS, None
        now = at if at is not None else int(time.time())
        store, record = session.scratch(verified, caller, now), False
    logs: list[str] = []

    def log(message: str) -> None:                 # for people as it happens; into the JSON otherwise
        if out.people:
            click.echo(message, err=True)
        logs.append(message)

    try:
        outcome = session.run(verified, entry, args, store=store, caller=caller, signer=signer, now=now,
                              gas_limit=gas, mode="fast" if engine == "fast" else "interp", record=record,
                              action=action, attachments=attachments, log=log)
    except CclError as e:
        d = e.diagnostic
        raise Failure(Diagnostic(d.kind, d.code, d.message, Span(label), d.hints), EXIT.get(d.kind, 2)) from None
    if outcome.error is not None:
        d = outcome.error
        raise Failure(Diagnostic(d.kind, d.code, d.message, Span(label), d.hints), EXIT[d.kind])
    result = outcome.run
    if not result.ok:
        d = result.error
        d = Diagnostic(d.kind, d.code, d.message, Span(label, d.span.line, d.span.col), d.hints)
        if d.kind in ("usage", "environment", "integrity"):
            raise Failure(d, EXIT[d.kind])
        out.error(d, source, gas_used=result.gas_used, **({"logs": logs} if logs else {}))
        raise click.exceptions.Exit(1)
    from ccl.vm.values import dynamic_to_json

    events = [{"name": ev.name, "fields": dynamic_to_json(ev.fields)} for ev in result.events]
    if events and out.people:
        names = _read_names(ws)
        for shown in events:
            out.aside(f"event {shown['name']} {_fields(shown['fields'], names)}")
    out.attach(receipt=outcome.receipt or None, events=events or None, logs=logs or None)
    if ws is None:
        out.note("no workspace here, so this ran in memory and nothing was kept (`ccl init --founder NAME` "
                 "creates one)")
    elif at is not None and ws.demo():
        out.note("this is a demo workspace: its clock is set by hand (--at, `ccl clock advance`)")
    if quiet:
        return outcome
    if outcome.receipt:
        out.aside(f"receipt {out.cid(outcome.receipt)}")
    out.data({"result": result.value, "gas_used": result.gas_used})
    value = result.value
    out.line(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
    return outcome


@cli.command("call")
@click.argument("contract")
@click.argument("entry")
@click.option("--args", "args_json", default=None, help="JSON list of positional arguments.")
@click.option("--gas", type=click.IntRange(1, limits.gas_max), default=limits.gas_default, show_default=True)
@click.option("--at", "at", type=int, default=None, help="The run's time (demo workspaces only).")
@click.option("--as", "who", default=None, help="Who calls it: an identity name or a DID.")
@click.option("--engine", type=click.Choice(["fast", "reference"]), default="fast")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object as the last line.")
@guarded
def call_(contract, entry, args_json, gas, at, who, engine, as_json):
    """Call function ENTRY of the adopted contract CONTRACT (no file needed: the constitution
    pins the version)."""
    from ccl.cli.common import read

    args = parse_args_json(args_json)

    def find(L, ws):
        from ccl import governance as G
        from ccl.diag import did_you_mean
        from ccl.runtime.session import load_module

        adopted = G.adopted(L)
        if contract not in adopted:
            names = sorted(adopted)
            raise Failure(Diagnostic("usage", "U0701", f"the constitution has no contract `{contract}`", Span(),
                                     (did_you_mean(contract, names) or ("adopted: " + ", ".join(names) if names else
                                                                        "adopt bylaws first: `ccl adopt FILE`"),)), 2)
        return load_module(L.s.tx, adopted[contract])
    verified = read(find)
    name = entry if "::" in entry else f"{contract}::{entry}"
    call(verified, name, args, label=contract, source=verified.module.source, who=who, at=at, gas=gas,
         engine=engine, as_json=as_json, require_workspace=True)


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--syntax-only", is_flag=True, help="Only parse.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object as the last line.")
@guarded
def check(files, syntax_only, as_json):
    """Check CCL files: syntax, names, types, assignments and returns."""
    from ccl.api.files import Loader, read_source
    from ccl.pipeline import compile_source, deep_recursion
    from ccl.syntax.parse import parse

    from ccl.diag import printable_name

    out = _out(as_json)
    failures = []
    results = []
    for path in files:
        shown = printable_name(path)
        try:
            text = read_source(path)
            if syntax_only:
                with deep_recursion():
                    parse(text, path)
            else:
                compile_source(text, path, Loader())
            results.append({"file": shown, "ok": True})
            out.line(f"ok  {shown}")
        except CclError as e:
            f = compile_failure(e, path)
            failures.append(f)
            results.append({"file": shown, "ok": False, "error": f.diagnostic.to_json()})
            if not out.json:
                out.error(f.diagnostic, f.source)
    if failures:
        if out.json:           # one object: every file's result, and the first failure as its error
            click.echo(json.dumps({"ok": False, "files": results, "error": failures[0].diagnostic.to_json()},
                                  ensure_ascii=False))
        raise click.exceptions.Exit(max(f.code for f in failures))
    out.data({"files": results})


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
    out = _out(as_json)
    out.data({"cid": cid, "output": output, "bytes": len(data)})
    out.line(f"{cid}  {output}  ({len(data)} bytes)")          # the content id in full: it names the module


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object as the last line.")
@guarded
def disasm(file, as_json):
    """Show the bytecode of FILE (.ccl or .cclb) with source lines and gas per block."""
    from ccl.compile.disasm import disassemble

    verified = build(file, use_cache=False)
    text = disassemble(verified)
    out = _out(as_json)
    out.data({"cid": verified.module.cid, "text": text})
    if out.people:
        click.echo(text, nl=False)


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["terminal", "html"]), default="terminal")
@click.option("--color", "color", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True,
              help="Colour the terminal format: auto = on a terminal without NO_COLOR (piped, the plain source).")
@guarded
def highlight(file, fmt, color):
    """Print FILE with CCL syntax highlighting (for the terminal, or a standalone HTML page)."""
    from ccl.api.files import read_source
    from ccl.cli.render import colour
    from ccl.highlight import highlight as render

    text = read_source(file)
    out = _out()
    if fmt == "terminal" and not (color == "always" or color == "auto" and colour(sys.stdout)):
        shown = text                             # no escape codes where nobody sees colour
    else:
        shown = render(text, fmt)
    out.data({"format": fmt, "text": shown})
    if out.people:
        click.echo(shown, nl=False, color=True)


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--check", is_flag=True, help="Change nothing; exit 1 if a file is not formatted.")
@click.option("--diff", "show_diff", is_flag=True, help="Change nothing; print what would change.")
@click.option("--json", "as_json", is_flag=True)
@guarded
def fmt(files, check, show_diff, as_json):
    """Rewrite CCL files in canonical layout (comments and line breaks are kept)."""
    import difflib

    from ccl.api.files import read_source
    from ccl.pipeline import deep_recursion
    from ccl.syntax.fmt import format_source
    from ccl.syntax.parse import parse

    import re

    from ccl.syntax.dump import dump

    def tree(text):                              # the syntax tree without positions
        return re.sub(r"@\d+:\d+", "", dump(parse(text, path)))

    out = _out(as_json)
    changed = []
    for path in files:
        try:
            text = read_source(path)
            with deep_recursion():
                before = tree(text)                # never reformat what does not parse
        except CclError as e:
            raise compile_failure(e, path) from None
        new = format_source(text)
        if new == text:
            continue
        try:                                       # nor write what would mean something else
            with deep_recursion():
                same = tree(new) == before
        except CclError as e:
            raise Failure(Diagnostic("usage", "U0710", f"{path}: formatting it would give a file ccl refuses: "
                                     f"{e.diagnostic.message}", Span(path), ("leave its layout as it is",)), 1) from None
        if not same:
            raise Failure(Diagnostic("usage", "U0710", f"{path}: formatting it would change what it says "
                                     "(a string with a carriage return in it, say)", Span(path),
                                     ("leave its layout as it is; the file was not changed",)), 1)
        changed.append(path)
        if show_diff and out.people:
            click.echo("".join(difflib.unified_diff(text.splitlines(True), new.splitlines(True),
                                                    f"{path} (before)", f"{path} (formatted)")), nl=False)
        elif not check:
            tmp = f"{path}.fmt{os.getpid()}"
            Path(tmp).write_text(new, encoding="utf-8")
            os.replace(tmp, path)
    if check and changed:
        if out.json:
            click.echo(json.dumps({"ok": False, "changed": changed}))
        elif not out.quiet:                      # what failed the check
            for path in changed:
                click.echo(f"would reformat {path}", err=True)
        raise click.exceptions.Exit(1)
    out.data({"changed": changed})
    if not check and not show_diff:
        out.line(f"reformatted {', '.join(changed)}" if changed else "nothing to reformat")


def _remote_call(ctx, verified, entry, args, label, who, out: Output, quiet):
    """`call` through a node: the shipped bylaws by name, any other module uploaded first."""
    from ccl.client import NodeError

    client = ctx.remote(who)
    try:
        if label.startswith("std/cli_"):
            name = label[4:].removesuffix(".ccl")
            answer = client.post(f"/api/v1/bylaws/{name}/{entry}", {"args": args})
        else:
            source = Path(label).read_text(encoding="utf-8")
            cid = client.post("/api/v1/contracts", {"source": source, "name": Path(label).name})["cid"]
            answer = client.post(f"/api/v1/contracts/{cid}/call", {"function": entry, "args": args})
    except NodeError as e:
        p = e.problem
        kind = p.get("kind") or ("usage" if e.status < 500 else "environment")
        d = Diagnostic(kind, p.get("code", "N0900"), p.get("detail", "the node refused"), Span(label))
        raise Failure(d, EXIT.get(kind, 1)) from None
    except Exception as e:          # httpx.HTTPError and friends
        raise Failure(Diagnostic("environment", "N0900", f"cannot reach the node {ctx.node}: {e}", Span()), 5) from None
    out.attach(receipt=answer.get("receipt"))
    if quiet:
        return answer["result"]
    if answer.get("receipt"):
        out.aside(f"receipt {out.cid(answer['receipt'])}")
    out.data({k: v for k, v in answer.items() if k != "ok"})
    value = answer["result"]
    out.line(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
    return answer["result"]


# ---------------------------------------------------------------- workspace and identities

def _ctx() -> Context:
    ctx = click.get_current_context().find_object(Context)
    assert ctx is not None
    return ctx


def _out(as_json: bool = False) -> Output:
    return _ctx().output(as_json)


def _found(ws, founder: str, modules: list, demo: bool) -> dict:
    """Found the workspace `ws` (ccl.api.coop.found_in: the co-op key, the founder, the founding
    bylaws adopted, one genesis record); its refusals are usage errors (exit 2) through the guard."""
    from ccl.api.coop import found_in

    return found_in(ws, founder, modules, demo)


@cli.command()
@click.argument("folder", required=False, default=".", type=click.Path(file_okay=False))
@click.option("--founder", default=None, metavar="NAME|DID",
              help="Found the co-op: its first member (a key is made for a NAME; a DID's key stays with them).")
@click.option("--bylaws", "bylaws", multiple=True, type=click.Path(dir_okay=False),
              help="Bylaws adopted at founding (repeatable).")
@click.option("--demo", is_flag=True, help="A demo or test co-op: honours --at and `ccl clock advance`.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object as the last line.")
@guarded
def init(folder, founder, bylaws, demo, as_json):
    """Create a workspace (.ccl/ with state.db, config.toml and keys/) in FOLDER and, with
    --founder, found the co-op: its own key, its first member and its founding bylaws."""
    from ccl.api.workspace import DIR, Workspace, init as make

    if (bylaws or demo) and not founder:
        raise Failure(Diagnostic("usage", "U0700", "--bylaws and --demo are part of founding", Span(),
                                 ("add --founder NAME",)), 2)
    modules = [build(f) for f in bylaws]            # bylaws that do not check found nothing
    Path(folder).mkdir(parents=True, exist_ok=True)
    existing = Path(folder) / DIR
    fresh = not (existing / "state.db").exists()
    ws = Workspace(existing) if founder and not fresh else make(Path(folder))
    facts = {"workspace": str(ws.root)}
    if founder:
        facts.update(_found(ws, founder, modules, demo))
    out = _out(as_json)
    out.data(facts)
    if fresh:
        out.line(f"created workspace {ws.root}")
    if "genesis" in facts:
        out.sentence(_founded(ws, facts, [Path(f).name for f in bylaws]))
    else:
        out.next("found it with `ccl init --founder NAME [--bylaws FILE]`")


def _founded(ws, facts: dict, files: list[str]) -> str:
    """`founded the co-op (a demo) · founder ana · bylaws tool_library.ccl · genesis bafy…7q`"""
    names = Names.load(ws, show_dids=_ctx().show_dids)
    shown = _out()
    return (f"founded the co-op{' (a demo)' if facts['demo'] else ''} · founder {names.of(facts['founder'])}"
            + (f" · bylaws {', '.join(files)}" if files else "") + f" · genesis {shown.cid(facts['genesis'])}")


@cli.command()
@click.argument("template", required=False)
@click.argument("folder", required=False, type=click.Path(file_okay=False))
@click.option("--founder", default=None, metavar="NAME|DID", help="Found the co-op with the template as its bylaws.")
@click.option("--demo", is_flag=True, help="A demo co-op (honours --at and `ccl clock advance`).")
@click.option("--json", "as_json", is_flag=True)
@guarded
def new(template, folder, founder, demo, as_json):
    """Start a co-op from a bylaw TEMPLATE in FOLDER: workspace, bylaws and their tests; with
    --founder, found it with the template adopted. Without a TEMPLATE, list the templates."""
    import shutil

    from ccl.api.files import data_dir
    from ccl.api.workspace import init as make

    out = _out(as_json)
    templates = data_dir("contracts")
    names = sorted(p.stem for p in templates.glob("*.ccl"))
    if template is None:
        rows = [(name, (templates / f"{name}.ccl").read_text().splitlines()[0].lstrip("/ ")) for name in names]
        out.data({"templates": [{"name": n, "description": d} for n, d in rows]})
        out.table("Templates", ["template", "what it is"], rows)
        return
    if template not in names:
        from ccl.diag import did_you_mean

        raise Failure(Diagnostic("usage", "U0700", f"there is no template `{template}`", Span(),
                                 (did_you_mean(template, names) or "templates: " + ", ".join(names),)), 2)
    target = Path(folder or template)
    if (target / ".ccl").exists() or (target / f"{template}.ccl").exists():
        raise Failure(Diagnostic("usage", "U0700", f"{target} already holds a co-op", Span(str(target))), 2)
    (target / "tests").mkdir(parents=True, exist_ok=True)
    shutil.copy(templates / f"{template}.ccl", target / f"{template}.ccl")
    modules = [build(str(target / f"{template}.ccl"))] if founder else []
    test = templates / "tests" / f"{template}_test.ccl"
    if test.exists():
        shutil.copy(test, target / "tests" / f"{template}_test.ccl")
    ws = make(target)
    founded = _found(ws, founder, modules, demo) if founder else None
    out.data({"folder": str(target), "bylaws": f"{template}.ccl", **({"founded": founded} if founded else {})})
    out.line(f"created {target}/ with {template}.ccl, tests/{template}_test.ccl and a workspace")
    if founded:
        out.sentence(_founded(ws, founded, [f"{template}.ccl"]))
        out.next(f"cd {target} && ccl test && ccl bylaws show")
    else:
        out.next(f"cd {target} && ccl init --founder YOUR_NAME --bylaws {template}.ccl")


@cli.group()
def clock():
    """A demo workspace's clock: show it, move it forward."""


def _demo_ws():
    ws = _ctx().workspace(required=True)
    if not ws.demo():
        raise Failure(Diagnostic("usage", "U0705", "only a demo workspace has a clock set by hand; a real co-op's "
                                 "time is the clock's", Span(), ("found a demo with `ccl init --founder NAME --demo`",)),
                      2)
    return ws


@clock.command("show")
@click.option("--json", "as_json", is_flag=True)
@guarded
def clock_show(as_json):
    """The demo clock's time (in JSON: seconds since 1970)."""
    t = _demo_ws().demo_now()
    out = _out(as_json)
    out.data({"time": t})
    out.line(out.when(t))


@clock.command("advance")
@click.argument("span")
@click.option("--json", "as_json", is_flag=True)
@guarded
def clock_advance(span, as_json):
    """Move the demo clock forward by SPAN: 90s, 30m, 12h, 7d or 2w."""
    import re

    m = re.fullmatch(r"(\d{1,7})([smhdw])", span.strip())
    if not m:
        raise Failure(Diagnostic("usage", "U0702", f"`{span}` is not a span of time", Span(),
                                 ("for example 7d (days), 12h, 30m, 90s or 2w",)), 2)
    seconds = int(m.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}[m.group(2)]
    ws = _demo_ws()
    t = ws.demo_now() + seconds
    ws.set_clock(t)
    out = _out(as_json)
    out.data({"time": t})
    out.sentence(f"moved the demo clock {span.strip()} forward, to {out.when(t)}")


@cli.group()
def store():
    """The workspace's store: back it up, restore it, move it to PostgreSQL."""


@store.command("backup")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--without-private", is_flag=True, help="Leave the private inputs' texts out of the backup.")
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
@click.option("--json", "as_json", is_flag=True)
@guarded
def store_backup(file, without_private, force, as_json):
    """Write a consistent copy of the whole store (while a node may serve) to FILE, a SQLite file."""
    from ccl.api.backup import backup

    done = backup(_ctx().workspace(required=True).store, file, force=force, with_private=not without_private)
    out = _out(as_json)
    out.data({"file": done.path, "receipts": done.receipts, "blocks": done.blocks, "state_root": done.state_root,
              "bytes": done.bytes, "private_texts": done.private_texts if done.private else None})
    texts = (f"with {done.private_texts} private inputs' texts" if done.private else
             "without the private inputs' texts")
    out.sentence(f"backed up {done.receipts} receipts and {done.blocks} blocks to {done.path} ({done.bytes} bytes, "
                 f"{texts}); state root {out.cid(done.state_root)}")


@store.command("restore")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Replace a store that is not empty (kept as state.db.before-restore).")
@click.option("--json", "as_json", is_flag=True)
@guarded
def store_restore(file, force, as_json):
    """Check the backup FILE and make it this workspace's store."""
    from ccl.api.backup import restore, workspace_root

    done = restore(workspace_root(Path.cwd(), _ctx().state), file, force=force)
    out = _out(as_json)
    out.data({"receipts": done.receipts, "blocks": done.blocks, "state_root": done.state_root,
              "missing_private_texts": done.missing_texts, "kept": done.kept})
    out.sentence(f"restored {done.receipts} receipts and {done.blocks} blocks, verified; state root "
                 f"{out.cid(done.state_root)}")
    if done.missing_texts:
        out.sentence(f"{done.missing_texts} private inputs' texts are not in this backup: their commitments stay in "
                     f"the history; the texts cannot be shown")
    if done.kept:
        out.next(f"the store it replaced is kept as {done.kept}")


@store.command("migrate")
@click.option("--to", "target", required=True, help="postgresql://user@host:port/database (an empty one).")
@click.option("--json", "as_json", is_flag=True)
@guarded
def store_migrate(target, as_json):
    """Copy everything in this workspace's store to PostgreSQL, then check the state roots match."""
    from ccl.api.migrate import migrate

    done = migrate(_ctx().workspace(required=True).store, target)
    out = _out(as_json)
    out.data({"receipts": done.receipts, "state_root": done.state_root})
    out.sentence(f"copied {done.receipts} receipts; both have the state root {out.cid(done.state_root)}")
    out.next(f"use --state {done.target} from now on")


@cli.group("id")
def id_():
    """Identities: did:key Ed25519 keys kept in the workspace."""


@id_.command("new")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
@guarded
def id_new(name, as_json):
    """Create a key called NAME and print its DID."""
    ws = _ctx().workspace(required=True)
    ident = ws.keys.create(name)
    out = _out(as_json)
    out.data({"name": name, "did": ident.did})
    out.line(ident.did)                          # the DID in full: it is what others admit


@id_.command("list")
@click.option("--json", "as_json", is_flag=True)
@guarded
def id_list(as_json):
    """List the workspace's identities."""
    ws = _ctx().workspace(required=True)
    rows = [(n, ws.keys.load(n).did) for n in ws.keys.names()]
    out = _out(as_json)
    out.data({"identities": [{"name": n, "did": d} for n, d in rows]})
    out.table("Identities", ["name", "DID"], rows, empty="no identities yet: make one with `ccl id new NAME`")


@id_.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
@guarded
def id_show(name, as_json):
    """Print the DID of NAME (never its private key)."""
    ws = _ctx().workspace(required=True)
    ident = ws.keys.load(name)
    out = _out(as_json)
    out.data({"name": name, "did": ident.did})
    out.line(ident.did)


# ---------------------------------------------------------------- the DAG

@cli.group()
def dag():
    """The workspace's DAG of signed receipts: log, show, verify, replay, export, import."""


def _integrity(cid: str, why: str, code: str = "I0801") -> Failure:
    return Failure(Diagnostic("integrity", code, f"block {cid}: {why}", Span(cid),
                              ("the workspace's DAG was changed outside ccl; restore it from a copy",)), 4)


@dag.command("log")
@click.option("--limit", type=click.IntRange(1), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@guarded
def dag_log(limit, as_json):
    """The newest receipts first."""
    from ccl import dag as D
    from ccl.store.sqlite import IntegrityFailure

    ws = _ctx().workspace(required=True)
    rows = []
    try:
        with ws.store.reader() as tx:
            names = _names(tx)
            receipts = tx.receipts()
            for seq in range(len(receipts), max(len(receipts) - limit, 0), -1):
                cid = receipts[seq - 1]
                block = D.get(tx, cid)
                p = block["payload"]
                if block.get("kind") == "genesis":
                    rows.append({"seq": seq, "cid": cid, "time": p["time"], "caller": p["coop"], "function": "genesis",
                                 "gas_used": 0, "result": {"founder": p["founder"]}, "module": None})
                    continue
                rows.append({"seq": seq, "cid": cid, "time": p["time"], "caller": p["caller"],
                             "function": p["function"], "gas_used": p["gas_used"], "result": p["result"],
                             "module": p["module"].cid})
    except IntegrityFailure as e:
        raise _integrity(e.cid, e.why, e.code) from None
    out = _out(as_json)
    out.data({"receipts": rows})
    shown = []
    for r in rows:
        result = r["result"]
        if r["function"] == "genesis":
            result = f"founder {names.of(result['founder'])}"
        else:
            result = json.dumps(result, ensure_ascii=False)
            result = result if len(result) <= 30 else result[:29] + "…"
        shown.append((r["seq"], out.when(r["time"]), names.of(r["caller"]), r["function"], r["gas_used"], result,
                      out.cid(r["cid"])))
    out.table("Receipts, newest first", ["#", "time", "by", "function", "gas", "result", "receipt"], shown,
              empty="no receipts yet: found the co-op with `ccl init --founder NAME`")


def _fields(fields, names: Names) -> str:
    """An event's fields for people: `tool=drill to=bo` (members by name)."""
    if not isinstance(fields, dict):
        return json.dumps(fields, ensure_ascii=False)

    def shown(v):
        if isinstance(v, str) and v.startswith(("did:", "sys:")):
            return names.of(v)
        if isinstance(v, str) and v and " " not in v and "=" not in v:
            return v
        return json.dumps(v, ensure_ascii=False)
    return " ".join(f"{k}={shown(v)}" for k, v in fields.items())


def _read_names(ws) -> Names:
    """What members are called in workspace `ws` (identities only without one)."""
    if ws is None:
        return _ctx().names()
    with ws.store.reader() as tx:
        return _names(tx)


def _names(tx) -> Names:
    """What members are called, read in `tx`, a transaction of the workspace's store."""
    from ccl.ledger import EngineState, Ledger

    return _ctx().names(Ledger(EngineState(tx), 0))


@dag.command("show")
@click.argument("cid")
@click.option("--json", "as_json", is_flag=True)
@guarded
def dag_show(cid, as_json):
    """Print one block as JSON (links as {"/": CID}); CID may be a receipt's # in `ccl dag log`."""
    import re

    from ccl import canon, dag as D
    from ccl.store.sqlite import IntegrityFailure

    ws = _ctx().workspace(required=True)
    seq = re.fullmatch(r"#?(\d{1,12})", cid)
    if seq is None and not canon.is_cid(cid):
        raise Failure(Diagnostic("usage", "U0700", f"`{cid}` is not a content id or a receipt's number", Span(),
                                 ("`ccl dag log` lists the receipts: give a # from it, or --json for their CIDs",)),
                      2)
    try:
        with ws.store.reader() as tx:
            if seq is not None:
                receipts = tx.receipts()
                n = int(seq.group(1))
                if not 1 <= n <= len(receipts):
                    raise Failure(Diagnostic("usage", "U0701", f"there is no receipt #{n}: the log has "
                                             f"{len(receipts)}", Span()), 2)
                cid = receipts[n - 1]
            value = D.get(tx, cid)
    except IntegrityFailure as e:
        raise _integrity(e.cid, e.why, e.code) from None
    if value is None:
        raise Failure(Diagnostic("usage", "U0701", f"no block {cid} in this workspace", Span()), 2)
    if isinstance(value, dict) and value.get("format") == "ccl-module":
        value = {"format": value["format"], "version": value["version"], "source": value["source"],
                 "functions": [f["name"] for f in value["functions"]]}
    _out(as_json).document(D.json_view(value))


@dag.command("verify")
@click.option("--json", "as_json", is_flag=True)
@guarded
def dag_verify(as_json):
    """Re-check every block's content id, every receipt's signature and chain, and the live state's root."""
    from ccl import dag as D
    from ccl.store.root import state_root_of

    from ccl.store import snapshot

    ws = _ctx().workspace(required=True)
    with snapshot(ws.store) as tx:                  # one consistent view; writers go on meanwhile
        problems = D.verify_all(tx)
        blocks = sum(1 for _ in tx.iter_blocks())
        receipts = len(tx.receipts())
        head = tx.head()
        if not problems:
            recorded = D.get(tx, head)["payload"].get("state_root") if head else state_root_of(bytes(32))
            rows = tx.recompute_root_accumulator()
            try:
                kept = tx.root_accumulator()
            except CclError:
                kept = None
    if problems:
        p = problems[0]
        code = "I0802" if p.code == "I0801" and ("signature" in p.why or "signed" in p.why) else p.code
        raise Failure(Diagnostic("integrity", code, f"block {p.cid}: {p.why}", Span(p.cid),
                                 (f"{len(problems)} problem(s) in all; the first is shown",)), 4)
    if state_root_of(rows) != recorded:
        raise _state_differs(ws.store, head, recorded, state_root_of(rows))
    if kept != rows:
        raise Failure(Diagnostic("integrity", "I0804", "the store's state-root accumulator (meta table) does "
                                 "not match its rows, though the rows match the head receipt", Span(ws.store.path),
                                 ("the accumulator was changed outside ccl; restore the store from a copy",)), 4)
    out = _out(as_json)
    out.data({"blocks": blocks, "receipts": receipts, "state_root": recorded})
    out.line(f"ok: {blocks} blocks and {receipts} receipts verified; the live state has the head's state root")


def _state_differs(store, head, recorded, live) -> Failure:
    """The failure for a live state whose root is not the head receipt's, naming the rows that
    differ from a replay of the receipts (or the replay's own first mismatch)."""
    from ccl.runtime.session import replay
    from ccl.store.root import LIVE_DIFFERS

    bad = [s for s in replay(store, live=True) if not s.ok]
    if bad and bad[0].why.startswith(LIVE_DIFFERS):
        message = bad[0].why
    else:
        message = f"the live state's root {live} is not the head receipt's {recorded}"
        if bad:
            message += f"; replay of receipt #{bad[0].seq} {bad[0].receipt}: {bad[0].why}"
    return Failure(Diagnostic("integrity", "I0804", message, Span(head or store.path),
                              ("the state was changed outside ccl; restore the store from a copy",)), 4)


@dag.command("replay")
@click.option("--engine", type=click.Choice(["fast", "reference"]), default="fast")
@click.option("--json", "as_json", is_flag=True)
@guarded
def dag_replay(engine, as_json):
    """Re-run every receipt from genesis in a fresh store; compare state roots, then the live rows."""
    from ccl.runtime.session import replay
    from ccl.store.root import LIVE_DIFFERS
    from ccl.store.sqlite import IntegrityFailure

    ws = _ctx().workspace(required=True)
    try:
        steps = replay(ws.store, mode="fast" if engine == "fast" else "interp", live=True)
    except IntegrityFailure as e:
        raise _integrity(e.cid, e.why, e.code) from None
    bad = [s for s in steps if not s.ok]
    if bad:
        s = bad[0]
        if s.why.startswith(LIVE_DIFFERS):
            raise Failure(Diagnostic("integrity", "I0804", f"after replaying receipt #{s.seq}: {s.why}",
                                     Span(s.receipt or ws.store.path),
                                     ("the state was changed outside ccl; restore the store from a copy",)), 4)
        raise Failure(Diagnostic("integrity", "I0803", f"replay of receipt #{s.seq} {s.receipt}: {s.why}",
                                 Span(s.receipt)), 4)
    out = _out(as_json)
    out.data({"replayed": len(steps)})
    out.line(f"ok: replayed {len(steps)} receipts; every state root and the live state match")


@dag.command("export")
@click.option("--car", "car", required=True, type=click.Path(dir_okay=False), help="The CARv1 file to write.")
@click.option("--json", "as_json", is_flag=True)
@guarded
def dag_export(car, as_json):
    """Write every block to a CARv1 file rooted at the head receipt."""
    from ccl import dag as D

    ws = _ctx().workspace(required=True)
    tmp = f"{car}.tmp{os.getpid()}"
    try:
        from ccl.store import snapshot

        with snapshot(ws.store) as tx, open(tmp, "wb") as out:
            head = tx.head()
            count = D.write_car(tx, out, head)
        os.replace(tmp, car)
    except OSError as e:
        raise Failure(Diagnostic("environment", "N0900", f"cannot write {car}: {e.strerror}", Span(car)), 5) from None
    out = _out(as_json)
    out.data({"blocks": count, "root": head, "car": car})
    out.sentence(f"wrote {count} blocks to {car}, rooted at {out.cid(head)}" if head else
                 f"wrote {count} blocks to {car}")


@dag.command("import")
@click.argument("car", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True)
@guarded
def dag_import(car, as_json):
    """Rebuild this empty workspace's store from a CAR export: verify every block, replay from genesis."""
    from ccl.api.backup import import_car, workspace_root

    done = import_car(workspace_root(Path.cwd(), _ctx().state), car)
    out = _out(as_json)
    out.data({"receipts": done.receipts, "blocks": done.blocks, "state_root": done.state_root,
              "missing_private_texts": done.missing_texts})
    out.sentence(f"imported {done.blocks} blocks and replayed {done.receipts} receipts; state root "
                 f"{out.cid(done.state_root)}, the head receipt's")
    out.sentence("a CAR export holds no nonces of handled requests"
                 + (f" and no private texts: {done.missing_texts} private inputs' texts are not in it; their "
                    f"commitments stay in the history; the texts cannot be shown" if done.missing_texts else ""))


def _guard_all(command: click.Command) -> None:
    """Run `command` (and, for a group, every command in it) inside the guard."""
    if command.callback is not None:
        command.callback = guarded(command.callback)
    for sub in getattr(command, "commands", {}).values():
        _guard_all(sub)


def _unloadable(name: str, target: str, e: Exception) -> click.Command:
    """Stands in for a contributed command that cannot be imported: using it says so."""
    def fail(**_):
        raise CclError(Diagnostic("environment", "N0900", f"the command `{name}` ({target}) cannot be loaded: "
                                  f"{type(e).__name__}: {e}", Span(),
                                  ("reinstall the package that provides it, or uninstall it",)))
    return click.Command(name, callback=fail, help=f"(cannot be loaded: {type(e).__name__})",
                         context_settings={"ignore_unknown_options": True, "allow_extra_args": True})


def add_contributed(group: click.Group, group_name: str = "ccl.commands") -> None:
    """Add the commands installed packages contribute through the entry-point group `ccl.commands`
    (name = "module:click_command"), such as the node's `serve`: each runs inside the guard, so a
    CclError it raises is one diagnostic and the exit code of its kind. A name a built-in command
    already has stays the built-in's; a command that cannot be imported is reported when used."""
    from importlib.metadata import entry_points

    for ep in sorted(entry_points(group=group_name), key=lambda e: e.name):
        if ep.name in group.commands:
            continue
        try:
            command = ep.load()
            if not isinstance(command, click.Command):
                raise TypeError(f"{ep.value} is not a click command")
        except Exception as e:                    # a broken plugin must not break every command
            command = _unloadable(ep.name, ep.value, e)
        _guard_all(command)
        group.add_command(command, ep.name)


from ccl.cli import ops, testing  # noqa: E402  (register the engines' commands, made from the table)

ops.register(cli)
testing.register(cli)
add_contributed(cli)


def _retired(name: str):
    @cli.command(name, context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
    @click.argument("ignored", nargs=-1, type=click.UNPROCESSED)
    @guarded
    def command(ignored):
        raise Failure(Diagnostic(
            "usage", "U0708", f"`ccl {name}` is retired: permissions come only from the roles the adopted bylaws "
            "declare", Span(), ("give the member a role whose `can:` lists the permission: "
                                "`ccl role grant MEMBER ROLE` (see docs/governance.md, How authority works)",)), 2)
    command.__doc__ = "Retired: permissions come from roles (`ccl role grant`)."


_retired("grant")
_retired("revoke")


def main() -> None:
    try:
        cli(prog_name="ccl")
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(1)
