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
from typing import Any

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
            params.append(click.Option([i.flag], is_flag=True, default=False, help=i.help))
        elif i.unit == "files":
            params.append(click.Option([i.flag], multiple=True, type=click.Path(dir_okay=False), help=i.help))
        else:
            shown = i.default is not None and i.default != "" and i.default != []
            params.append(click.Option([i.flag], default=None, type=_param_type(i), help=i.help,
                                       show_default=json.dumps(i.default) if shown and i.unit == "json" else shown
                                       and str(i.default)))
    if _writes(op):
        params.append(click.Option(["--as", "who"], default=None, help="The member acting (identity name or DID)."))
        params.append(click.Option(["--at", "at"], type=int, default=None,
                                   help="The time of the run (demo workspaces; default: the clock)."))
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


def convert(op: Op, raw: dict, ws, read) -> dict:
    """The command line's words as the operation's inputs (DIDs, minor units, minutes, JSON)."""
    from ccl.cli import render

    c = op.command
    assert c is not None
    values: dict[str, Any] = {}
    for i in c.cli_inputs or c.inputs:
        v = raw.get(i.name)
        if v is None or (i.unit == "files" and not v):
            values[i.name] = list(i.default) if isinstance(i.default, (tuple, list)) else i.default
            continue
        if i.unit == "member":
            v = common.member(v, ws)
        elif i.unit.startswith("money:"):
            v = render.parse_money(v, decimals(read, _symbol(i.unit, values)))
        elif i.unit == "minutes":
            v = render.parse_minutes(v)
        elif i.unit == "json":
            v = common.main().parse_args_json(v)
        elif i.unit == "list":
            v = [o.strip() for o in v.split(",")]
        elif i.unit == "files":
            v = list(v)
        values[i.name] = v
    return values


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
    inv = actions.invocation(op, values, read)
    outcome = m.call(inv.verified, inv.entry, inv.args, label=inv.label or f"ccl {c.cli}", source=None, who=who,
                     at=at, as_json=as_json, require_workspace=True, action=inv.action,
                     attachments=inv.attachments, quiet=True)
    caller, _ = ws.identity(who)
    out.wrote(op, values, caller, outcome)


def remote(op: Op, kw: dict, who, as_json: bool, as_csv: bool = False) -> None:
    """The command through the node's route for it (`--node URL`), signed as --as."""
    from ccl.client import NodeError

    c = op.command
    assert c is not None
    m = common.main()
    if c.route is None:
        raise m.Failure(Diagnostic("usage", "U0700", f"`ccl {c.cli}` has no route on a node", Span(),
                                   ("run it in the workspace, without --node",)), 2)
    ctx = click.get_current_context().find_object(m.Context)
    client = ctx.remote(who)
    from ccl.api.workspace import find
    from pathlib import Path

    local = find(Path.cwd(), None)
    values: dict[str, Any] = {}
    for i in c.inputs:
        v = kw.get(i.name)
        if v is not None and i.unit == "member" and local is not None:
            v = common.member(v, local)
        elif v is not None and i.unit.startswith("money:"):
            from ccl.cli import render

            v = render.parse_money(v, 2 if _symbol(i.unit, values) == "CREDIT" else 0)
        elif v is not None and i.unit == "minutes":
            from ccl.cli import render

            v = render.parse_minutes(v)
        values[i.name] = v if v is not None else i.default
    try:
        answer = client.operation(op.name, values)
    except NodeError as e:
        p = e.problem
        kind = p.get("kind") or ("usage" if e.status < 500 else "environment")
        raise m.Failure(Diagnostic(kind, p.get("code", "N0900"), p.get("detail", "the node refused"),
                                   Span(f"ccl {c.cli}")), m.EXIT.get(kind, 1)) from None
    out = Shown(local, None, as_json, as_csv)
    if not _writes(op):
        out.view(op, {k: v for k, v in answer.items() if k != "ok"}, values)
        return
    out.wrote(op, values, client.member.did, Answer(answer))


class Answer:
    """A node's answer to a write, shaped as a local run's outcome."""

    def __init__(self, answer: dict):
        from ccl.vm.run import RunResult

        self.run = RunResult(True, answer.get("result"), gas_used=answer.get("gas_used", 0))
        self.receipt = answer.get("receipt")
        self.opened = answer.get("proposal")


# ---------------------------------------------------------------- showing answers

class Shown:
    """Renders a command's answer: the machine form under --json, else names, money, minutes,
    times and tables (ccl.cli.render)."""

    def __init__(self, ws, read, as_json: bool, as_csv: bool = False):
        self.ws, self.read, self.as_json, self.as_csv = ws, read, as_json, as_csv
        self._names = None
        self._decimals: dict[str, int] = {}

    @property
    def names(self):
        from ccl.cli import render

        if self._names is None:
            keys = {} if self.ws is None else {self.ws.keys.load(n).did: n for n in self.ws.keys.names()}
            self._names = render.Names(keys)
        return self._names

    def decimals(self, symbol: str) -> int:
        from ccl.ledger import engines as E

        if symbol not in self._decimals:
            self._decimals[symbol] = (decimals(self.read, symbol) if self.read is not None
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
            return render.money(v, symbol, self.decimals(symbol))
        if unit == "minutes" and isinstance(v, int):
            return render.minutes(v)
        if unit == "time" and isinstance(v, int):
            try:
                return render.when(v)
            except (OverflowError, OSError, ValueError):    # past what a calendar shows (`--end` 2**62)
                return str(v)
        if unit == "cid" and isinstance(v, str):
            return v[:4] + "…" + v[-6:] if len(v) > 12 else v
        if unit == "active":
            return "" if v else "left"
        if isinstance(v, bool):
            return "yes" if v else "no"
        return str(v)

    def line(self, text: str = "") -> None:
        click.echo(text)

    def table(self, title: str, columns: list, rows: list) -> None:
        if not rows:
            click.echo(f"no {title.split(' ')[0]}" if title else "nothing to show")
            return
        common.table(title, columns, rows)

    def view(self, op: Op, data: dict, values: dict) -> None:
        if self.as_json:
            click.echo(json.dumps({"ok": True, **data}, ensure_ascii=False, default=str))
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
            writer.writerow([name for name, _ in v.columns])
            for r in data[v.field]:
                writer.writerow([" ".join(map(str, x)) if isinstance(x, list) else "" if x is None else x
                                 for x in (r.get(name) for name, _ in v.columns)])
            click.echo(text.getvalue(), nl=False)
        elif v.kind == "value":
            self.line(self.value(v.unit, data[v.field], context))
        elif v.kind == "table":
            rows = data[v.field]
            title = v.title.format(**{k: self.value(_unit_of(c, k), x, context) for k, x in values.items()}) \
                if v.title else ""
            self.table(title, [name for name, _ in v.columns],
                       [[self.value(unit, r.get(name), {**context, **r}) for name, unit in v.columns] for r in rows])
        else:
            from ccl.api.actions import resolve

            resolve(v.render)(self, data, values)

    def wrote(self, op: Op, values: dict, caller: str, outcome) -> None:
        c = op.command
        assert c is not None
        r = outcome.run
        result = outcome.opened if outcome.opened is not None else r.value
        if self.as_json:
            extra = {"receipt": outcome.receipt} if outcome.receipt else {}
            if outcome.opened is not None:
                extra["proposal"] = outcome.opened
            click.echo(json.dumps({"ok": True, "result": r.value, "gas_used": r.gas_used, **extra},
                                  ensure_ascii=False))
            return
        context = {**values, "caller": caller}
        shown = {k: self.value(_unit_of(c, k), x, context) for k, x in values.items()}
        shown["caller"] = self.names.of(caller)
        shown["result"] = self.value("", result, context) if not isinstance(result, list) else f"{len(result)} rows"
        text = (c.says or f"done: {c.cli}").format(**shown)
        if outcome.receipt:
            text += f" · receipt {outcome.receipt[:4]}…{outcome.receipt[-6:]}"
        self.line(text)
        if isinstance(result, list) and result and isinstance(result[0], dict):
            keys = list(result[0])
            self.table("", keys, [[self.value(_guess(k), row.get(k), context) for k in keys] for row in result])


def _unit_of(c, name: str) -> str:
    for i in (*c.inputs, *(c.cli_inputs or ())):
        if i.name == name:
            return i.unit
    return ""


def _guess(key: str) -> str:
    return {"member": "member", "amount": "money:CREDIT", "request": "", "offer": ""}.get(key, "")
