"""`ccl member|role|proposal|delegate|undelegate` — governance from the command line.

State changes are runs of the shipped bylaw `std/cli_governance.ccl` (one transaction, refused with
nothing changed, a signed receipt). Ballots are signed by the voter's key here, before the run,
and verified by the engine. `proposal open` registers the contract's roles and proposal kinds and
opens the proposal in the same run; `proposal execute` runs the proposal's `execution` block from
the contract module that was registered, with the passed proposal as its authority, and its
receipt links the proposal and the ballots behind it.
"""

from __future__ import annotations

import json
import time

import click

from ccl import governance as G
from ccl.cli.common import bylaw_call, guard as _guard, main as _main, member as _member, read as _read
from ccl.cli.common import who_option as _who_option, ws as _ws


def _gov(entry: str, args: list, who, at, as_json, **session_kw):
    return bylaw_call("cli_governance", entry, args, who, at, as_json, **session_kw)


def register(cli) -> None:
    for command in (adopt, member, role, proposal, delegate, undelegate):
        cli.add_command(command)


# ---------------------------------------------------------------- adopting bylaws

@click.command()
@click.argument("contract", type=click.Path(dir_okay=False))
@_who_option
@_guard
def adopt(contract, who, at, as_json):
    """Adopt the bylaws in CONTRACT: register its roles and kinds of proposal in the workspace."""
    m = _main()
    verified = m.build(contract)
    m.call(_noop_module(), "noop", [], label=contract, source=None, who=who, at=at, as_json=as_json,
           require_workspace=True, registers=verified, quiet=not as_json)
    if not as_json:
        for name, meta in verified.module.contracts:
            click.echo(f"adopted {name}: roles {', '.join(r['name'] for r in meta['roles']) or '-'}; "
                       f"proposals {', '.join(p['name'] for p in meta['proposals']) or '-'}")


# ---------------------------------------------------------------- members and roles

@click.group()
def member():
    """Members: add, remove, list."""


@member.command("add")
@click.argument("name")
@_who_option
@_guard
def member_add(name, **kw):
    """Admit NAME (an identity name or DID). The first member founds the workspace; then
    `manage_members`."""
    _gov("member_add", [_member(name)], **kw)


@member.command("remove")
@click.argument("name")
@_who_option
@_guard
def member_remove(name, **kw):
    """NAME leaves (needs `manage_members`)."""
    _gov("member_remove", [_member(name)], **kw)


@member.command("set")
@click.argument("name")
@click.argument("key")
@click.argument("value")
@_who_option
@_guard
def member_set(name, key, value, **kw):
    """Record KEY = VALUE about a member (checked by roles' `requires:`; needs `manage_members`)."""
    _gov("member_set", [_member(name), key, value], **kw)


@member.command("list")
@click.option("--json", "as_json", is_flag=True)
@_guard
def member_list(as_json):
    """Members with their roles."""
    rows = _read(lambda L, ws: [{**m, "roles": G.roles_of(L, d)} for d, m in G.members(L)])
    if as_json:
        click.echo(json.dumps({"ok": True, "members": rows}))
        return
    for r in rows:
        state = "" if r["active"] else " (left)"
        click.echo(f"{r['did']}  {', '.join(r['roles']) or '-'}{state}")


@click.group()
def role():
    """Roles from the bylaws: grant, revoke, list."""


@role.command("grant")
@click.argument("member_name")
@click.argument("role_name")
@_who_option
@_guard
def role_grant(member_name, role_name, **kw):
    """Give MEMBER_NAME the role ROLE_NAME (needs `manage_roles`; its `requires:` must hold)."""
    _gov("role_grant", [_member(member_name), role_name], **kw)


@role.command("revoke")
@click.argument("member_name")
@click.argument("role_name")
@_who_option
@_guard
def role_revoke(member_name, role_name, **kw):
    """Take the role ROLE_NAME from MEMBER_NAME (needs `manage_roles`)."""
    _gov("role_revoke", [_member(member_name), role_name], **kw)


@role.command("list")
@click.option("--json", "as_json", is_flag=True)
@_guard
def role_list(as_json):
    """Roles the registered bylaws declare, and who holds them."""
    def read(L, ws):
        holders = {}
        for did, _ in G.members(L):
            for r in G.roles_of(L, did):
                holders.setdefault(r, []).append(did)
        return [{"role": name, **d, "holders": holders.get(name, [])} for name, d in L.s.scan("gov.role_defs")]
    rows = _read(read)
    if as_json:
        click.echo(json.dumps({"ok": True, "roles": rows}))
        return
    for r in rows:
        extends = f" extends {r['extends']}" if r.get("extends") else ""
        click.echo(f"{r['role']}{extends}: can {', '.join(r['can']) or '-'}; held by {len(r['holders'])}")


# ---------------------------------------------------------------- proposals

@click.group()
def proposal():
    """Proposals: open, vote, list, show, tally, close, cancel, execute."""


@proposal.command("open")
@click.argument("contract", type=click.Path(dir_okay=False))
@click.argument("kind")
@click.option("--args", "args_json", default="[]", help="JSON list of the kind's parameters.")
@click.option("--method", type=click.Choice(G.METHODS), default="binary")
@click.option("--options", default=None, help="Comma-separated options (ranked, approval, quadratic, score).")
@click.option("--delay", type=int, default=0, help="Seconds before voting opens.")
@click.option("--timelock", type=int, default=0, help="Seconds after voting closes before it may execute.")
@click.option("--allow-changes", is_flag=True, help="Members may change their ballot while voting is open.")
@_who_option
@_guard
def proposal_open(contract, kind, args_json, method, options, delay, timelock, allow_changes, who, at, as_json):
    """Open a proposal of KIND declared in CONTRACT (a .ccl file)."""
    m = _main()
    verified = m.build(contract)
    args = m.parse_args_json(args_json)
    names = [c for c, meta in verified.module.contracts if any(p["name"] == kind for p in meta["proposals"])]
    if len(names) != 1:
        from ccl.diag import Diagnostic, Span

        raise m.Failure(Diagnostic("usage", "U0700", f"{contract} declares no single proposal kind `{kind}`",
                                   Span(contract)), 2)
    opts = [o.strip() for o in options.split(",")] if options else None
    spec = {"contract": names[0], "kind": kind, "args": args, "method": method, "options": opts,
            "delay_s": delay, "timelock_s": timelock, "allow_changes": allow_changes}
    opened = {}
    ws = _ws()
    caller, _ = ws.identity(who)

    def before(ledger):
        opened["id"] = G.open_from_spec(ledger, caller, spec)
        return {"action": {"op": "open_proposal", **spec}, "opened": opened["id"]}

    m.call(_noop_module(), "noop", [], label=contract, source=None, who=who, at=at, as_json=True,
           require_workspace=True, registers=verified, before=before, quiet=True)
    if as_json:
        click.echo(json.dumps({"ok": True, "proposal": opened["id"]}))
    else:
        click.echo(opened["id"])


def _noop_module():
    from ccl.cli.files import stdlib_dir

    return _main().build(str(stdlib_dir() / "cli_noop.ccl"))


@proposal.command("vote")
@click.argument("proposal_id")
@click.argument("choice")
@click.option("--reason", default="", help="Why — kept with the ballot.")
@_who_option
@_guard
def proposal_vote(proposal_id, choice, reason, who, at, as_json):
    """Vote yes|no|abstain|block — or, for proposals with options, a JSON list (ranked,
    approval) or object (quadratic, score). The ballot is signed with your key."""
    m = _main()
    ws = _ws()
    caller, signer = ws.identity(who)
    if signer is None:
        from ccl.diag import Diagnostic, Span

        raise m.Failure(Diagnostic("usage", "U0703", "a ballot must be signed: name your identity with --as",
                                   Span()), 2)
    value = choice
    if choice.startswith(("[", "{")):
        try:
            value = json.loads(choice)
        except json.JSONDecodeError:
            pass
    now = at if at is not None else int(time.time())
    previous = _read(lambda L, w: G.proposal(L, proposal_id)["ballots"].get(caller))
    seq = 0 if previous is None else previous["seq"] + 1
    ballot = G.sign_ballot(G.ballot_payload(proposal_id, caller, value, reason, seq, now), signer)
    _gov("vote", [proposal_id, ballot], who, now, as_json)


def _status_row(L, p) -> dict:
    t = G.tally(L, p)
    return {"id": p["id"], "kind": f"{p['contract']}::{p['kind']}", "status": G.status(L, p), "tally": t,
            "ends": p["end"], "proposer": p["proposer"]}


@proposal.command("list")
@click.option("--json", "as_json", is_flag=True)
@_guard
def proposal_list(as_json):
    """Every proposal with its status."""
    rows = _read(lambda L, ws: [_status_row(L, p) for _, p in L.s.scan("gov.proposals")])
    if as_json:
        click.echo(json.dumps({"ok": True, "proposals": rows}))
        return
    for r in rows:
        click.echo(f"{r['id']:<14} {r['kind']:<32} {r['status']:<10} "
                   f"{r['tally']['participation']}/{r['tally']['eligible']} voted")


@proposal.command("show")
@click.argument("proposal_id")
@click.option("--at", "at", type=int, default=None)
@click.option("--json", "as_json", is_flag=True)
@_guard
def proposal_show(proposal_id, at, as_json):
    """The proposal's text, rule, tally, quorum progress and time left."""
    def read(L, ws):
        if at is not None:
            L.now = at
        p = G.proposal(L, proposal_id)
        return p, G.tally(L, p), G.status(L, p), L.now
    p, t, state, now = _read(read)
    if as_json:
        click.echo(json.dumps({"ok": True, "proposal": {k: v for k, v in p.items() if k != "ballots"},
                               "status": state, "tally": t}, default=str))
        return
    kind, num, den = p["threshold"]
    rule = {"majority": "majority (yes > half of yes+no)", "supermajority": f"supermajority (yes > {num}/{den} of yes+no)",
            "consensus": "consensus (no blocks)", "unanimous": "unanimous (every eligible member says yes)"}[kind]
    click.echo(f"{p['id']}: {p['contract']}::{p['kind']}{' ' + json.dumps(p['args']) if p['args'] else ''} — {state}")
    if p.get("description"):
        click.echo(f"  {p['description']}")
    click.echo(f"  rule: {rule if p['method'] == 'binary' else p['method'] + ' vote over ' + ', '.join(p['options'])}"
               f"; quorum {p['quorum_pct']}% of {t['eligible']} eligible ({p['eligible_role'] or 'all members'})")
    needed = -(-p["quorum_pct"] * t["eligible"] // 100)
    click.echo(f"  quorum: {t['participation']} of {needed} needed {'(met)' if t['quorum_met'] else ''}")
    if t.get("counts"):
        c = t["counts"]
        click.echo(f"  tally: yes {c['yes']} · no {c['no']} · abstain {c['abstain']} · block {c['block']}")
    else:
        click.echo(f"  leading: {t['winner']}; rounds: {t['rounds']}")
    for voter, via in sorted(t["via"].items()):
        click.echo(f"  {voter} voted through {via}")
    left = p["end"] - now
    click.echo(f"  {'voting ends in ' + _span(left) if left > 0 else 'voting ended'}")


def _span(seconds: int) -> str:
    days, rest = divmod(seconds, 86_400)
    return f"{days}d {rest // 3600}h" if days else f"{rest // 3600}h {rest % 3600 // 60}m"


@proposal.command("tally")
@click.argument("proposal_id")
@click.option("--json", "as_json", is_flag=True)
@_guard
def proposal_tally(proposal_id, as_json):
    """The current tally, including who voted through whom."""
    t = _read(lambda L, ws: G.tally(L, G.proposal(L, proposal_id)))
    click.echo(json.dumps({"ok": True, **t}) if as_json else json.dumps(t, indent=2))


@proposal.command("close")
@click.argument("proposal_id")
@_who_option
@_guard
def proposal_close(proposal_id, **kw):
    """Record the final tally of a proposal whose voting has ended."""
    _gov("close", [proposal_id], **kw)


@proposal.command("cancel")
@click.argument("proposal_id")
@_who_option
@_guard
def proposal_cancel(proposal_id, **kw):
    """Withdraw your proposal (only before anyone has voted)."""
    _gov("cancel", [proposal_id], **kw)


@proposal.command("execute")
@click.argument("proposal_id")
@_who_option
@_guard
def proposal_execute(proposal_id, who, at, as_json):
    """Run the execution block of a succeeded proposal, with the vote as its authority."""
    m = _main()
    ws = _ws()
    from ccl.canon import Link
    from ccl.compile.module import module_from_cbor
    from ccl.compile.verify import verify

    def load(L, w):
        p = G.proposal(L, proposal_id)
        data = w.store.conn.execute("SELECT data FROM blocks WHERE cid = ?", (p["module"],)).fetchone()
        return p, bytes(data[0]) if data else None
    p, data = _read(load)
    if data is None or p["execution"] is None:
        from ccl.diag import Diagnostic, Span

        raise m.Failure(Diagnostic("host", "H0600", f"`{proposal_id}` has nothing to execute", Span()), 1)
    from ccl import canon

    verified = verify(module_from_cbor(canon.decode(data), p["module"]), p["module"])
    caller, _ = ws.identity(who)

    def before(ledger):
        q = G.begin_execution(ledger, caller, proposal_id)
        return {"proposal": proposal_id, "ballots": [Link(b["cid"]) for _, b in sorted(q["ballots"].items())]}

    m.call(verified, p["execution"], p["args"], label=proposal_id, source=None, who=who, at=at, as_json=as_json,
           require_workspace=True, authority=proposal_id, before=before)


# ---------------------------------------------------------------- delegation

@click.command()
@click.argument("to")
@click.option("--scope", default="*", help="A proposal kind, or * for every kind.")
@_who_option
@_guard
def delegate(to, scope, **kw):
    """Let TO's ballots count for you (unless you vote yourself); transitive, revocable."""
    _gov("delegate", [_member(to), scope], **kw)


@click.command()
@click.option("--scope", default="*")
@_who_option
@_guard
def undelegate(scope, **kw):
    """End your delegation for a scope."""
    _gov("undelegate", [scope], **kw)
