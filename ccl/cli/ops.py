"""The engines' commands, made from the operations table (ccl.operations) — none is written by hand.

For each operation with a command: its click group and command, arguments and options from the
declared inputs (members by name or DID, money in the currency's units with its decimals,
minutes as `1h30`), and one callback. A read asks the engine's query in a read-only transaction
and shows the answer as the operation's view declares; a write is the run ccl.api.actions makes
for it (a call of `std/operations.ccl`, or a governance action), run as the member `--as`, and
confirmed with the operation's sentence. With `--node URL` the same command goes to the node's
route for it, signed.
"""

from __future__ import annotations

import json
import re
import string
from typing import Any, Callable, Optional

import click

from ccl.cli import common
from ccl.diag import CclError, Diagnostic, Span
from ccl.operations import COMMANDS, GROUPS, Input, Op


def register(cli: click.Group) -> None:
    groups: dict[str, click.Group] = {}
    for op in COMMANDS:
        assert op.command is not None
        words = op.command.cli.split()
        parent = cli
        for i, word in enumerate(words[:-1]):
            key = " ".join(words[: i + 1])
            if key not in groups:
                groups[key] = click.Group(word, help=GROUPS.get(key, ""))
                parent.add_command(groups[key])
            parent = groups[key]
        parent.add_command(command(op, words[-1]))


def _writes(op: Op) -> bool:
    c = op.command
    return c is not None and (op.sig is not None or c.action is not None)


def _param_type(i: Input):
    if i.choices:
        return click.Choice(i.choices)
    if i.type == "Integer" and i.unit in ("", "time"):
        return click.INT
    return click.STRING


def _params(op: Op) -> list[click.Parameter]:
    c = op.command
    assert c is not None
    params: list[click.Parameter] = []
    for i in c.cli_inputs or c.inputs:
        if i.kind == "arg":
            params.append(click.Argument([i.name], type=_param_type(i)))
        elif i.kind == "flag":
            params.append(click.Option([i.flag, i.name], is_flag=True, default=False, help=i.help))
        elif i.unit == "files":
            params.append(click.Option([i.flag, i.name], multiple=True, type=click.Path(dir_okay=False), help=i.help))
        else:
            shown = i.default is not None and i.default != "" and i.default not in ([], ())
            text = json.dumps(i.default) if i.unit == "json" else str(i.default)
            params.append(click.Option([i.flag, i.name], default=None, type=_param_type(i),
                                       help=f"{i.help} [default: {text}]" if shown else i.help))
    if _writes(op):
        params.append(click.Option(["--as", "who"], default=None, help="The member acting (identity name or DID)."))
        params.append(click.Option(["--at", "at"], type=int, default=None,
                                   help="The time of the run (demo workspaces; default: the clock)."))
    elif c.route is not None:
        params.append(click.Option(["--as", "who"], default=None,
                                   help="With --node: the identity that signs the request."))
    params.append(click.Option(["--json", "as_json"], is_flag=True,
                               help="Print one JSON object (the machine form) and nothing else."))
    if c.view is not None and c.view.kind == "table":
        params.append(click.Option(["--csv", "as_csv"], is_flag=True,
                                   help="Comma-separated values (the machine form), a header and one line per row."))
    return params


NEGATIVE = re.compile(r"-\d[\d.:hm]*")


class _Command(click.Command):
    """A command whose numbers may be negative (`ccl credit limit mo -50 1000`): click must not
    read `-50` as an option, yet any other word that starts with `-` and is not one of the
    command's options is refused as an unknown option, as in every other command (it does not
    become an argument's value: `ccl pool claim care 5 --urgent`)."""

    def parse_args(self, ctx, args):
        options = [p for p in self.get_params(ctx) if isinstance(p, click.Option)]
        known = {o for p in options for o in (*p.opts, *p.secondary_opts)}
        valued = {o for p in options if not p.is_flag for o in p.opts}
        takes_value = False
        for word in args:
            if takes_value:
                takes_value = False
                continue
            if word == "--":
                break
            if word.startswith("-") and len(word) > 1 and not NEGATIVE.fullmatch(word):
                name = word.split("=", 1)[0]
                if name not in known:
                    raise click.NoSuchOption(name, possibilities=sorted(known), ctx=ctx)
                takes_value = name in valued and "=" not in word
        return super().parse_args(ctx, args)


def command(op: Op, name: str) -> click.Command:
    c = op.command
    assert c is not None
    numeric = any(i.kind == "arg" and i.type == "Integer" for i in (c.cli_inputs or c.inputs))

    def callback(**kw):
        run(op, kw)
    return (_Command if numeric else click.Command)(name, params=_params(op), callback=common.main().guarded(callback),
                         help=c.doc or op.doc, short_help=(c.doc or op.doc).split(". ")[0].rstrip("."),
                         context_settings={"ignore_unknown_options": True} if numeric else {})


# ---------------------------------------------------------------- reading inputs

def _usage(message: str, hint: str = "") -> CclError:
    return CclError(Diagnostic("usage", "U0702", message, Span(), (hint,) if hint else ()))


def convert(op: Op, raw: dict, ws, read, places: Optional[Callable[[str], int]] = None) -> dict:
    """The command line's words as the operation's inputs (DIDs, minor units, minutes, JSON)."""
    from ccl.cli import render

    c = op.command
    assert c is not None
    values: dict[str, Any] = {}
    inputs = c.cli_inputs or c.inputs
    # money last: its decimals may come from another input (`currency create --decimals 2 --cap 1000`)
    for i in sorted(inputs, key=lambda i: i.unit.startswith("money:")):
        v = raw.get(i.name)
        if v is None or (i.unit == "files" and not v):
            values[i.name] = list(i.default) if isinstance(i.default, (tuple, list)) else i.default
            continue
        if i.unit == "member":
            v = common.member(v, ws)
        elif i.unit.startswith("money:"):
            symbol = _symbol(i.unit, values)
            n = values.get("decimals") if "decimals" in values else (places or (lambda s: decimals(read, s)))(symbol)
            v = render.parse_money(v, n or 0)
        elif i.unit == "minutes":
            v = render.parse_minutes(v)
        elif i.unit == "json":
            v = common.main().parse_args_json(v)
        elif i.unit == "list":
            v = [o.strip() for o in v.split(",")]
        elif i.unit == "files":
            v = list(v)
        values[i.name] = v
    return {i.name: values[i.name] for i in inputs}


def _symbol(unit: str, values: dict) -> str:
    symbol = unit.split(":", 1)[1]
    if symbol.startswith("{"):
        return str(values.get(symbol.strip("{}"), ""))
    return symbol


def decimals(read, symbol: str) -> int:
    from ccl.ledger import engines as E

    return read(lambda L, tx: E.currency_decimals(L, symbol))


# ---------------------------------------------------------------- running

def run(op: Op, kw: dict) -> None:
    from ccl.api import actions

    c = op.command
    assert c is not None
    m = common.main()
    who, at, as_json = kw.pop("who", None), kw.pop("at", None), kw.pop("as_json", False)
    as_csv = kw.pop("as_csv", False)
    ctx = click.get_current_context().find_object(m.Context)
    assert ctx is not None
    if ctx.node:
        return remote(op, kw, who, as_json, as_csv)
    ws = common.ws()

    def read(fn):
        return common.read(lambda L, w: fn(L, L.s.tx))
    values = convert(op, kw, ws, read)
    if c.prepare:
        _, signer = ws.identity(who)
        values = actions.resolve(c.prepare)(read, signer, **values,
                                            at=at if at is not None else ws.demo_now())
    out = Shown(ws, read, as_json, as_csv)
    if not _writes(op):
        query = actions.resolve(c.query or "")
        data = read(lambda L, tx: query(L, *[values[i.name] for i in c.inputs]))
        out.view(op, data, values)
        return
    from ccl.api.coop import Coop, execute

    caller, signer = ws.identity(who)
    label = f"ccl {c.cli}"
    out.names                                     # as they are before the run (a write may rename)
    try:
        done = execute(Coop(ws), actions.invocation(op, values, read), caller, signer, at)
    except CclError as e:
        d = e.diagnostic
        raise m.Failure(Diagnostic(d.kind, d.code, d.message, Span(label), d.hints), m.EXIT.get(d.kind, 1)) from None
    try:
        out.wrote(op, values, caller, done)
    except CclError as e:                  # it is kept: a failure to show it must not say otherwise
        click.echo(f"done: ccl {c.cli} · receipt {done.receipt}")
        click.echo(f"note: it was kept, but could not be shown: {e.diagnostic.message}", err=True)


def remote(op: Op, kw: dict, who, as_json: bool, as_csv: bool = False) -> None:
    """The command through the node's route for it (`--node URL`), signed as --as."""
    import httpx

    from ccl.client import NodeError

    c = op.command
    assert c is not None
    m = common.main()
    if c.route is None:
        raise m.Failure(Diagnostic("usage", "U0700", f"`ccl {c.cli}` has no route on a node", Span(),
                                   ("run it in the workspace, without --node",)), 2)
    ctx = click.get_current_context().find_object(m.Context)
    assert ctx is not None
    client = ctx.remote(who)
    from ccl.api.workspace import find
    from pathlib import Path

    local = find(Path.cwd(), None)

    def read(fn):                       # no store here: what a ballot's signing reads is the node's
        return fn(None, None)

    def places(symbol: str) -> int:     # a currency's decimals, from the node
        from ccl.ledger.engines import UNIT_DECIMALS

        if symbol in UNIT_DECIMALS:
            return UNIT_DECIMALS[symbol]
        try:
            return int(client.operation("currency show", {"symbol": symbol})["currency"]["decimals"])
        except NodeError as e:
            raise m.Failure(Diagnostic("host", e.problem.get("code", "H0600"), e.problem.get("detail", ""),
                                       Span(f"ccl {c.cli}")), 1) from None
    values = convert(op, kw, local, read, places)   # the same words as in a workspace: names, money, JSON
    if c.prepare:
        from ccl.api import actions

        values = actions.resolve(c.prepare)(None, client.member, **values, at=None)
    try:
        answer = client.operation(op.name, values)
    except NodeError as e:
        p = e.problem
        kind = p.get("kind") or ("usage" if e.status < 500 else "environment")
        raise m.Failure(Diagnostic(kind, p.get("code", "N0900"), p.get("detail", "the node refused"),
                                   Span(f"ccl {c.cli}")), m.EXIT.get(kind, 1)) from None
    except httpx.HTTPError as e:
        raise m.Failure(Diagnostic("environment", "N0900", f"cannot reach the node {ctx.node}: {e}", Span()),
                        5) from None
    out = Shown(local, None, as_json, as_csv, places)
    if not _writes(op):
        out.view(op, {k: v for k, v in answer.items() if k != "ok"}, values)
        return
    from ccl.api.coop import Done

    out.wrote(op, values, client.member.did, Done(answer.get("result"), answer.get("gas_used", 0),
                                                  answer.get("receipt"), answer.get("proposal")))


# ---------------------------------------------------------------- showing answers

class Shown:
    """Renders a command's answer through the command's Output (ccl.cli.render): the machine
    form under --json, nothing under --quiet, else names, money, minutes, times and tables."""

    def __init__(self, ws, read, as_json: bool, as_csv: bool = False,
                 places: Optional[Callable[[str], int]] = None):
        m = common.main()
        self.ctx = click.get_current_context().find_object(m.Context)
        assert self.ctx is not None
        self.ws, self.read, self.as_csv, self.places = ws, read, as_csv, places
        self.out = self.ctx.output(as_json)
        self._names = None
        self._decimals: dict[str, int] = {}

    @property
    def names(self):
        if self._names is None:
            self._names = (self.read(lambda L, tx: self.ctx.names(L)) if self.read is not None
                           else self.ctx.names(None))
        return self._names

    def decimals(self, symbol: str) -> int:
        from ccl.ledger import engines as E

        if symbol not in self._decimals:
            self._decimals[symbol] = (decimals(self.read, symbol) if self.read is not None
                                      else self.places(symbol) if self.places is not None
                                      else E.currency_decimals(None, symbol))
        return self._decimals[symbol]

    def value(self, unit: str, v, context: dict) -> str:
        from ccl.cli import render

        if v is None:
            return "-"
        if unit == "member":
            return self.names.of(v)
        if unit == "members":
            return ", ".join(self.names.of(d) for d in v) or "-"
        if unit == "list":
            return ", ".join(str(x) for x in v) or "-"
        if unit.startswith("money:") and isinstance(v, int):
            symbol = _symbol(unit, context)
            return render.amount(v, symbol, self.decimals(symbol))
        if unit == "minutes" and isinstance(v, int):
            return render.minutes(v)
        if unit == "time" and isinstance(v, int):
            return self.out.when(v)
        if unit == "cid" and isinstance(v, str):
            return self.out.cid(v)
        if unit == "active":
            return "" if v else "left"
        if isinstance(v, bool):
            return "yes" if v else "no"
        return render.printable(str(v))

    def line(self, text: str = "") -> None:
        from ccl.cli import render

        self.out.line("\n".join(render.printable(part) for part in text.split("\n")))

    def table(self, title: str, columns: list, rows: list) -> None:
        self.out.table(title, columns, rows)

    def view(self, op: Op, data: dict, values: dict) -> None:
        self.out.data(data)
        if not self.out.people:
            return
        c = op.command
        assert c is not None and c.view is not None
        v = c.view
        context = {**values, **data}
        if v.kind == "table" and self.as_csv:
            import csv
            import io

            text = io.StringIO()
            writer = csv.writer(text, lineterminator="\n")
            writer.writerow([col[0] for col in v.columns])
            for r in data[v.field]:
                writer.writerow([" ".join(map(str, x)) if isinstance(x, list) else "" if x is None else x
                                 for x in (r.get(col[0]) for col in v.columns)])
            self.out.line(text.getvalue().rstrip("\n"))
        elif v.kind == "value":
            self.line(self.value(v.unit, data[v.field], context))
        elif v.kind == "table":
            rows = data[v.field]
            title = v.title.format(**{k: self.value(_unit_of(c, k), x, context) for k, x in context.items()}) \
                if v.title else c.cli.split()[-1]
            self.table(title, [col[2] if len(col) > 2 else col[0] for col in v.columns],
                       [[self.value(col[1], r.get(col[0]), {**context, **r}) for col in v.columns] for r in rows])
        else:
            from ccl.api.actions import resolve

            resolve(v.render)(self, data, values)

    def wrote(self, op: Op, values: dict, caller: str, done) -> None:
        c = op.command
        assert c is not None
        self.out.attach(receipt=done.receipt)
        self.out.data({"result": done.result, "gas_used": done.gas_used,
                       **({"proposal": done.proposal} if done.proposal is not None else {})})
        if not self.out.people:
            return
        result = done.proposal if done.proposal is not None else done.result
        context = {**values, "caller": caller}
        says = c.says or f"done: {c.cli}"
        used = {field for _, field, _, _ in string.Formatter().parse(says) if field}
        shown = {k: self.value(_unit_of(c, k), x, context) for k, x in values.items() if k in used}
        shown["caller"] = self.names.of(caller)
        shown["result"] = self.value("", result, context) if not isinstance(result, list) else f"{len(result)} rows"
        self.out.sentence(says.format(**shown))
        if isinstance(result, list) and result and isinstance(result[0], dict):
            keys = list(result[0])
            self.table(c.cli.split()[-1], keys,
                       [[self.value(_struct_unit(k), row.get(k), context) for k in keys] for row in result])


def _unit_of(c, name: str) -> str:
    for i in (*c.inputs, *(c.cli_inputs or ())):
        if i.name == name:
            return i.unit
    return ""


def _struct_unit(field: str) -> str:
    """How a field of a prelude struct a write answers is shown (ccl.hosttable.PRELUDE_STRUCTS:
    Distribution and Contribution name a member; a Distribution's amount is CREDIT)."""
    return {"member": "member", "amount": "money:CREDIT"}.get(field, "")
