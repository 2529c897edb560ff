"""`ccl work|purchase|patronage|coop|aid` — worker and consumer co-op tools and mutual aid.

Changes are runs of the shipped bylaw `std/cli_coop.ccl` (one transaction, a signed receipt);
listings and notices read the engines directly.
"""

from __future__ import annotations

import csv
import io
import json

import click

from ccl import aid as AID
from ccl import coop as C
from ccl.cli.common import bylaw_call, guard as _guard, main as _main, member as _member, read as _read
from ccl.cli.common import table as _table, who_option as _who


def _call(entry, args, who, at, as_json):
    return bylaw_call("cli_coop", entry, args, who, at, as_json)


def register(cli) -> None:
    for command in (work, purchase, patronage, coop, aid):
        cli.add_command(command)


# ---------------------------------------------------------------- labour

@click.group()
def work():
    """Labour records that feed the profit split: log, list."""


@work.command("log")
@click.argument("member_name")
@click.argument("minutes", type=int)
@click.argument("task")
@_who
@_guard
def work_log(member_name, minutes, task, who, at, as_json):
    """Record MINUTES of work on TASK by MEMBER_NAME (yourself, or with `manage_coop`)."""
    _call("work_log", [_member(member_name), minutes, task], who, at, as_json)


@work.command("list")
@click.option("--from", "start", type=int, default=None)
@click.option("--to", "end", type=int, default=None)
@click.option("--json", "as_json", is_flag=True)
@_guard
def work_list(start, end, as_json):
    """Work records, and hours per member, between --from and --to (seconds since 1970)."""
    rows, totals = _read(lambda L, ws: (C.work_records(L, start, end),
                                        C.contributions(L, start or 0, end or 2**62)))
    if as_json:
        click.echo(json.dumps({"ok": True, "records": rows, "contributions": totals}))
        return
    _table("work", ["id", "member", "minutes", "task", "time"],
           [[r["id"], r["member"], r["minutes"], r["task"], r["time"]] for r in rows])
    _table("hours per member", ["member", "hours", "weight"], totals)


# ---------------------------------------------------------------- consumer co-ops

@click.command()
@click.argument("member_name")
@click.argument("amount", type=int)
@_who
@_guard
def purchase(member_name, amount, who, at, as_json):
    """Record a purchase of AMOUNT by MEMBER_NAME (theirs, or with `record_purchases`)."""
    _call("purchase", [_member(member_name), amount], who, at, as_json)


@click.group()
def patronage():
    """Patronage dividends: rule, calculate, notices."""


@patronage.command("rule")
@click.argument("period")
@click.argument("cash_bps", type=int)
@_who
@_guard
def patronage_rule(period, cash_bps, who, at, as_json):
    """Fix PERIOD's cash share (basis points) before its first purchase (needs `manage_coop`)."""
    _call("patronage_rule", [period, cash_bps], who, at, as_json)


@patronage.command("calculate")
@click.argument("period")
@click.argument("pool", type=int)
@_who
@_guard
def patronage_calculate(period, pool, who, at, as_json):
    """Share POOL among members by their purchases in PERIOD (needs `manage_coop`)."""
    _call("patronage", [period, pool], who, at, as_json)


@patronage.command("notices")
@click.argument("period")
@click.option("--csv", "as_csv", is_flag=True, help="Comma-separated values, one row per member.")
@click.option("--json", "as_json", is_flag=True)
@_guard
def patronage_notices(period, as_csv, as_json):
    """The written notice of each member's dividend for PERIOD: cash and retained parts."""
    record = _read(lambda L, ws: C.patronage_notices(L, period))
    if record is None:
        from ccl.diag import Diagnostic, Span

        raise _main().Failure(Diagnostic("host", "H0600", f"no patronage has been calculated for {period}",
                                         Span(), ("calculate it with `ccl patronage calculate`",)), 1)
    rows = record["notices"]
    if as_json:
        click.echo(json.dumps({"ok": True, **record}))
    elif as_csv:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["member", "purchases", "dividend", "cash", "retained"])
        for r in rows:
            writer.writerow([r["member"], r["purchases"], r["dividend"], r["cash"], r["retained"]])
        click.echo(out.getvalue(), nl=False)
    else:
        _table(f"patronage {period}: pool {record['pool']}, cash share {record['rule']['cash_bps'] / 100:g}%",
               ["member", "purchases", "dividend", "cash", "retained"],
               [[r["member"], r["purchases"], r["dividend"], r["cash"], r["retained"]] for r in rows])


# ---------------------------------------------------------------- the co-op

@click.group()
def coop():
    """The co-op's policy, profit distribution and member analytics."""


@coop.command("policy")
@click.argument("key")
@click.argument("value", type=int)
@_who
@_guard
def coop_policy(key, value, who, at, as_json):
    """Set reserve_bps, education_bps, pay_ratio_cap, capital_accounts or cash_bps."""
    _call("policy", [key, value], who, at, as_json)


@coop.command("distribute")
@click.argument("coop_did")
@click.argument("total", type=int)
@click.option("--from", "start", type=int, default=0)
@click.option("--to", "end", type=int, default=2**62)
@_who
@_guard
def coop_distribute(coop_did, total, start, end, who, at, as_json):
    """Distribute TOTAL surplus by the hours logged between --from and --to."""
    _call("distribute", [coop_did, total, start, end], who, at, as_json)


@coop.command("analytics")
@click.option("--period", default=None, help="The year for purchases (default: this year).")
@click.option("--json", "as_json", is_flag=True)
@_guard
def coop_analytics(period, as_json):
    """Per member: ballots cast, purchases, hours worked."""
    from ccl.api.analytics import member_analytics

    year, rows = _read(lambda L, ws: member_analytics(L, period))
    if as_json:
        click.echo(json.dumps({"ok": True, "period": year, "members": rows}))
        return
    _table(f"members in {year}", ["member", "votes", "purchases", "hours"],
           [[r["member"], r["votes"], r["purchases"], r["hours"]] for r in rows])


# ---------------------------------------------------------------- mutual aid

@click.group()
def aid():
    """Mutual aid: request, offer, match, list, fulfil, settings."""


@aid.command("request")
@click.argument("category")
@click.argument("quantity", type=int)
@click.option("--urgency", type=click.IntRange(0, 10), default=5)
@click.option("--location", default="", help='"x,y" in km, or a place name.')
@_who
@_guard
def aid_request(category, quantity, urgency, location, who, at, as_json):
    """Ask for QUANTITY of CATEGORY."""
    _call("aid_request", [category, quantity, urgency, location], who, at, as_json)


@aid.command("offer")
@click.argument("category")
@click.argument("quantity", type=int)
@click.option("--location", default="")
@_who
@_guard
def aid_offer(category, quantity, location, who, at, as_json):
    """Offer QUANTITY of CATEGORY."""
    _call("aid_offer", [category, quantity, location], who, at, as_json)


@aid.command("match")
@_who
@_guard
def aid_match(who, at, as_json):
    """Match open requests to open offers (deterministic)."""
    _call("aid_match", [], who, at, as_json)


@aid.command("fulfil")
@click.argument("match_id")
@_who
@_guard
def aid_fulfil(match_id, who, at, as_json):
    """Confirm a match was delivered."""
    _call("aid_fulfil", [match_id], who, at, as_json)


@aid.command("setting")
@click.argument("key")
@click.argument("value", type=int)
@_who
@_guard
def aid_setting(key, value, who, at, as_json):
    """emergency 0|1, reputation_weight 0|1, hours_per_unit N (needs `manage_aid`)."""
    _call("aid_setting", [key, value], who, at, as_json)


@aid.command("list")
@click.option("--json", "as_json", is_flag=True)
@_guard
def aid_list(as_json):
    """Requests, offers and matches."""
    data = _read(lambda L, ws: AID.listing(L))
    if as_json:
        click.echo(json.dumps({"ok": True, **data}))
        return
    _table("requests", ["id", "category", "quantity", "open", "urgency", "location"],
           [[r["id"], r["category"], r["quantity"], r["open"], r["urgency"], r["location"]] for r in data["requests"]])
    _table("offers", ["id", "category", "quantity", "open", "location"],
           [[o["id"], o["category"], o["quantity"], o["open"], o["location"]] for o in data["offers"]])
    _table("matches", ["id", "request", "offer", "quantity", "distance", "status"],
           [[m["id"], m["request"], m["offer"], m["quantity"], m["distance"], m["status"]] for m in data["matches"]])
