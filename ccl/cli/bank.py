"""`ccl credit|hours|currency|loan|pool|grant` — the economic engines from the command line.

Commands that change anything call a function of the shipped bylaw `std/cli_bank.ccl`, so they run
inside one transaction, are refused with nothing changed, and are kept as signed receipts
exactly like `ccl run`. Reads (balances, histories, listings) open the workspace's store and ask
the engines directly. Members are named by identity name or DID.
"""

from __future__ import annotations

import json

import click

from ccl.cli.common import bylaw_call, guard as _guard, main as _main, member as _member, read as _read
from ccl.cli.common import table as _table, who_option as _who_option
from ccl.ledger import engines as E


def _bank(entry: str, args: list, who, at, as_json: bool):
    return bylaw_call("cli_bank", entry, args, who, at, as_json)


def register(cli) -> None:
    for group in (credit, hours, currency, loan, pool):
        cli.add_command(group)
    cli.add_command(grant)
    cli.add_command(revoke)


def _remote_balance(path: str, member: str, as_json: bool) -> bool:
    """With --node, ask the node (signed as --as or the default identity); False otherwise."""
    m = _main()
    ctx = click.get_current_context().find_object(m.Context)
    if not ctx.node:
        return False
    from ccl.api.workspace import find

    local = find(__import__("pathlib").Path.cwd(), None)
    did = member if member.startswith("did:") or local is None else _member(member, local)
    out = ctx.remote(None).get(path.format(did))
    _print(as_json, {"member": did, "balance": out["balance"]}, str(out["balance"]))
    return True


def _print(as_json: bool, obj: dict, text: str) -> None:
    if as_json:
        click.echo(json.dumps({"ok": True, **obj}, ensure_ascii=False))
    else:
        click.echo(text)


# ---------------------------------------------------------------- credit

@click.group()
def credit():
    """Mutual credit: issue, transfer, balances, limits, history."""


@credit.command("issue")
@click.argument("to")
@click.argument("amount", type=int)
@_who_option
@_guard
def credit_issue(to, amount, who, at, as_json):
    """Pay TO with AMOUNT of new credit (you go −AMOUNT, TO goes +AMOUNT)."""
    _bank("credit_issue", [_member(to), amount], who, at, as_json)


@credit.command("transfer")
@click.argument("to")
@click.argument("amount", type=int)
@_who_option
@_guard
def credit_transfer(to, amount, who, at, as_json):
    """Move AMOUNT of your credit to TO."""
    _bank("credit_transfer", [_member(to), amount], who, at, as_json)


@credit.command("limit", context_settings={"ignore_unknown_options": True})
@click.argument("member")
@click.argument("floor", type=int)
@click.argument("ceiling", type=int)
@_who_option
@_guard
def credit_limit(member, floor, ceiling, who, at, as_json):
    """Set MEMBER's credit floor and ceiling (needs `manage_credit`)."""
    _bank("credit_limit", [_member(member), floor, ceiling], who, at, as_json)


@credit.command("balance")
@click.argument("member")
@click.option("--as-of", "as_of", type=int, default=None, help="The balance at this time (seconds since 1970).")
@click.option("--json", "as_json", is_flag=True)
@_guard
def credit_balance(member, as_of, as_json):
    """MEMBER's mutual-credit balance (now, or --as-of a time)."""
    if _remote_balance("/api/v1/credit/balance/{}", member, as_json):
        return
    def read(L, ws):
        did = _member(member, ws)
        E.ensure_credit(L)
        return did, L.balance(E.CREDIT, did, as_of)
    did, balance = _read(read)
    _print(as_json, {"member": did, "currency": E.CREDIT, "balance": balance}, str(balance))


@credit.command("history")
@click.argument("member")
@click.option("--limit", type=click.IntRange(1), default=50)
@click.option("--json", "as_json", is_flag=True)
@_guard
def credit_history(member, limit, as_json):
    """MEMBER's credit movements, oldest first."""
    _history(E.CREDIT, member, limit, as_json, E.ensure_credit)


def _history(symbol, member, limit, as_json, ensure=None):
    def read(L, ws):
        did = _member(member, ws)
        if ensure:
            ensure(L)
        return did, L.history(symbol, did, limit)
    did, rows = _read(read)
    if as_json:
        _print(True, {"member": did, "currency": symbol, "history": rows}, "")
        return
    _table(f"{symbol} history of {did}", ["seq", "time", "kind", "delta", "balance", "counterparty", "memo"],
           [[r["seq"], r["time"], r["kind"], r["delta"], r["balance"], r["counterparty"], r["memo"]] for r in rows])


# ---------------------------------------------------------------- hours

@click.group()
def hours():
    """The time bank: log, confirm, trade, balance, history (minutes)."""


@hours.command("log")
@click.argument("member")
@click.argument("minutes", type=int)
@click.argument("description")
@_who_option
@_guard
def hours_log(member, minutes, description, who, at, as_json):
    """You worked MINUTES for MEMBER; prints the record MEMBER confirms."""
    _bank("hours_log", [_member(member), minutes, description], who, at, as_json)


@hours.command("confirm")
@click.argument("record")
@_who_option
@_guard
def hours_confirm(record, who, at, as_json):
    """Confirm a record of work done for you: the minutes move."""
    _bank("hours_confirm", [record], who, at, as_json)


@hours.command("decline")
@click.argument("record")
@_who_option
@_guard
def hours_decline(record, who, at, as_json):
    """Decline hours someone logged for you (they were not worked, or not for you)."""
    _bank("hours_decline", [record], who, at, as_json)


@hours.command("pending")
@click.argument("member")
@click.option("--json", "as_json", is_flag=True)
@_guard
def hours_pending(member, as_json):
    """Hours logged for MEMBER that wait for their confirmation."""
    def read(L, ws):
        did = _member(member, ws)
        return did, E.pending_hours(L, did)
    did, rows = _read(read)
    if as_json:
        _print(True, {"member": did, "pending": rows}, "")
        return
    for c in rows:
        click.echo(f"{c['id']}  {c['minutes']} min by {c['to']}: {c['memo']}  (expires t={c['expires']})")
    if not rows:
        click.echo("nothing waits for confirmation")


@hours.command("trade")
@click.argument("to")
@click.argument("minutes", type=int)
@_who_option
@_guard
def hours_trade(to, minutes, who, at, as_json):
    """Give MINUTES of your hours to TO."""
    _bank("hours_trade", [_member(to), minutes], who, at, as_json)


@hours.command("balance")
@click.argument("member")
@click.option("--json", "as_json", is_flag=True)
@_guard
def hours_balance(member, as_json):
    """MEMBER's time-bank balance in minutes."""
    if _remote_balance("/api/v1/hours/balance/{}", member, as_json):
        return
    def read(L, ws):
        did = _member(member, ws)
        E.ensure_hours(L)
        return did, L.balance(E.HOURS, did)
    did, balance = _read(read)
    _print(as_json, {"member": did, "currency": E.HOURS, "balance": balance}, str(balance))


@hours.command("history")
@click.argument("member")
@click.option("--limit", type=click.IntRange(1), default=50)
@click.option("--json", "as_json", is_flag=True)
@_guard
def hours_history(member, limit, as_json):
    """MEMBER's statement: every exchange, with the running balance."""
    _history(E.HOURS, member, limit, as_json, E.ensure_hours)


# ---------------------------------------------------------------- currencies

@click.group()
def currency():
    """Local currencies: create, mint, burn, transfer, balance, policy."""


@currency.command("create")
@click.argument("symbol")
@click.argument("name")
@click.option("--cap", type=int, default=2**63 - 1, help="Most that may ever be in circulation.")
@click.option("--soulbound", is_flag=True, help="Members cannot transfer it (badges).")
@click.option("--demurrage-bps", type=int, default=0, help="Decay of positive balances per period.")
@click.option("--period-days", type=int, default=30)
@_who_option
@_guard
def currency_create(symbol, name, cap, soulbound, demurrage_bps, period_days, who, at, as_json):
    """Create an issued currency (needs `manage_currency`)."""
    _bank("currency_create", [symbol, name, cap, not soulbound, demurrage_bps, period_days], who, at, as_json)


@currency.command("mint")
@click.argument("symbol")
@click.argument("to")
@click.argument("amount", type=int)
@_who_option
@_guard
def currency_mint(symbol, to, amount, who, at, as_json):
    """Create AMOUNT of SYMBOL for TO (needs `mint:SYMBOL`)."""
    _bank("currency_mint", [symbol, _member(to), amount], who, at, as_json)


@currency.command("burn")
@click.argument("symbol")
@click.argument("amount", type=int)
@_who_option
@_guard
def currency_burn(symbol, amount, who, at, as_json):
    """Destroy AMOUNT of your SYMBOL."""
    _bank("currency_burn", [symbol, amount], who, at, as_json)


@currency.command("transfer")
@click.argument("symbol")
@click.argument("to")
@click.argument("amount", type=int)
@_who_option
@_guard
def currency_transfer(symbol, to, amount, who, at, as_json):
    """Move AMOUNT of your SYMBOL to TO."""
    _bank("currency_transfer", [symbol, _member(to), amount], who, at, as_json)


@currency.command("policy")
@click.argument("symbol")
@click.argument("key")
@click.argument("value", type=int)
@_who_option
@_guard
def currency_policy(symbol, key, value, who, at, as_json):
    """Change a policy of SYMBOL (cap, transferable, demurrage_bps, period_days, floor, ceiling)."""
    _bank("currency_policy", [symbol, key, value], who, at, as_json)


@currency.command("balance")
@click.argument("symbol")
@click.argument("member")
@click.option("--json", "as_json", is_flag=True)
@_guard
def currency_balance(symbol, member, as_json):
    """MEMBER's balance of SYMBOL."""
    def read(L, ws):
        did = _member(member, ws)
        return did, L.balance(symbol, did), L.require_currency(symbol)
    did, balance, c = _read(read)
    _print(as_json, {"member": did, "currency": symbol, "balance": balance, "supply": c["supply"]}, str(balance))


# ---------------------------------------------------------------- loans

@click.group()
def loan():
    """Loans: request, evaluate, approve (disburse), repay, list, show."""


@loan.command("request")
@click.argument("amount", type=int)
@click.argument("purpose")
@click.argument("term_days", type=int)
@_who_option
@_guard
def loan_request(amount, purpose, term_days, who, at, as_json):
    """Ask for a loan of AMOUNT for PURPOSE, to be repaid within TERM_DAYS."""
    _bank("loan_request", [amount, purpose, term_days], who, at, as_json)


@loan.command("evaluate")
@click.argument("loan_id")
@_who_option
@_guard
def loan_evaluate(loan_id, who, at, as_json):
    """Score the risk of a loan (0 low – 100 high) and record the reasons."""
    _bank("loan_evaluate", [loan_id], who, at, as_json)


@loan.command("approve")
@click.argument("loan_id")
@_who_option
@_guard
def loan_approve(loan_id, who, at, as_json):
    """Approve a loan and pay it out of the lending pool (needs `approve_loan`)."""
    _bank("loan_approve", [loan_id], who, at, as_json)


@loan.command("repay")
@click.argument("loan_id")
@click.argument("amount", type=int)
@_who_option
@_guard
def loan_repay(loan_id, amount, who, at, as_json):
    """Pay AMOUNT of a loan from your funds."""
    _bank("loan_repay", [loan_id, amount], who, at, as_json)


@loan.command("deposit")
@click.argument("amount", type=int)
@_who_option
@_guard
def loan_deposit(amount, who, at, as_json):
    """Put AMOUNT of your funds into the lending pool."""
    _bank("loan_deposit", [amount], who, at, as_json)


@loan.command("write-off")
@click.argument("loan_id")
@_who_option
@_guard
def loan_write_off(loan_id, who, at, as_json):
    """Write off what is left of a loan (needs `write_off`)."""
    _bank("loan_write_off", [loan_id], who, at, as_json)


@loan.command("list")
@click.option("--json", "as_json", is_flag=True)
@_guard
def loan_list(as_json):
    """Every loan with its status."""
    rows = _read(lambda L, ws: [{**v, "arrears": E._arrears(v, L.now)} for v in E.loans(L)])
    if as_json:
        _print(True, {"loans": rows}, "")
        return
    _table("loans", ["id", "borrower", "amount", "paid", "arrears", "status", "score", "purpose"],
           [[r["id"], r["borrower"], r["amount"], r["paid"], r["arrears"], r["status"], r["score"], r["purpose"]]
            for r in rows])


@loan.command("show")
@click.argument("loan_id")
@click.option("--json", "as_json", is_flag=True)
@_guard
def loan_show(loan_id, as_json):
    """A loan with its evaluation and repayment schedule."""
    loan_ = _read(lambda L, ws: {**E._loan(L, loan_id), "arrears": E.loan_arrears(L, loan_id)})
    if as_json:
        _print(True, {"loan": loan_}, "")
        return
    click.echo(f"{loan_['id']}: {loan_['amount']} {loan_['currency']} to {loan_['borrower']} for "
               f"{loan_['purpose']!r} over {loan_['term_days']} days — {loan_['status']}")
    click.echo(f"paid {loan_['paid']}, in arrears {loan_['arrears']}; risk score {loan_['score']}")
    for reason in loan_["reasons"]:
        click.echo(f"  {reason}")
    if loan_["schedule"]:
        _table("schedule", ["due", "amount"], [[i["due"], i["amount"]] for i in loan_["schedule"]])


# ---------------------------------------------------------------- risk pools

@click.group()
def pool():
    """Risk pools: create, join, contribute, claim, approve."""


@pool.command("create")
@click.argument("name")
@click.argument("contribution", type=int)
@click.argument("member_cap", type=int)
@_who_option
@_guard
def pool_create(name, contribution, member_cap, who, at, as_json):
    """A circle with a regular CONTRIBUTION and a cap per member (needs `manage_pool`)."""
    _bank("pool_create", [name, contribution, member_cap], who, at, as_json)


@pool.command("join")
@click.argument("name")
@_who_option
@_guard
def pool_join(name, who, at, as_json):
    """Join the pool NAME."""
    _bank("pool_join", [name], who, at, as_json)


@pool.command("contribute")
@click.argument("name")
@click.argument("amount", type=int)
@_who_option
@_guard
def pool_contribute(name, amount, who, at, as_json):
    """Pay AMOUNT into the pool NAME."""
    _bank("pool_contribute", [name, amount], who, at, as_json)


@pool.command("claim")
@click.argument("name")
@click.argument("amount", type=int)
@click.argument("reason")
@_who_option
@_guard
def pool_claim(name, amount, reason, who, at, as_json):
    """Ask the pool NAME for AMOUNT; prints the claim id."""
    _bank("pool_claim", [name, amount, reason], who, at, as_json)


@pool.command("approve")
@click.argument("claim_id")
@_who_option
@_guard
def pool_approve(claim_id, who, at, as_json):
    """Pay a claim from its pool (needs `approve_claim`)."""
    _bank("pool_approve", [claim_id], who, at, as_json)


# ---------------------------------------------------------------- retired: permissions beside the roles

def _retired(name: str):
    @click.command(name, context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
    @click.argument("ignored", nargs=-1, type=click.UNPROCESSED)
    @_guard
    def command(ignored):
        from ccl.diag import Diagnostic, Span

        raise _main().Failure(Diagnostic(
            "usage", "U0708", f"`ccl {name}` is retired: permissions come only from the roles the adopted bylaws "
            "declare", Span(), ("give the member a role whose `can:` lists the permission: "
                                "`ccl role grant MEMBER ROLE` (see docs/governance.md, How authority works)",)), 2)
    command.__doc__ = "Retired: permissions come from roles (`ccl role grant`)."
    return command


grant = _retired("grant")
revoke = _retired("revoke")
