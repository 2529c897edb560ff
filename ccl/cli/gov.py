"""`ccl adopt|bylaws|member|role|proposal|delegate|undelegate` — governance from the command line.

State changes are runs of the shipped bylaw `std/cli_governance.ccl` (one transaction, refused with
nothing changed, a signed receipt). Ballots are signed by the voter's key here, before the run,
and verified by the engine. `proposal open KIND` opens a proposal of a kind the adopted bylaws
declare (its arguments type-checked); `proposal execute` runs the proposal's `execution` block
from the module it was opened under, as the co-op, with only what its kind declares; its receipt
links the proposal and the ballots behind it. `adopt FILE` proposes an amendment (checked, diffed
and dry-run first); `bylaws show|history|diff` read the constitution.
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
    for command in (adopt, bylaws, member, role, proposal, delegate, undelegate):
        cli.add_command(command)


# ---------------------------------------------------------------- the constitution

def _tests_for(path: str, tests: tuple) -> list:
    """The test files pinned with an amendment: --tests, else tests/STEM_test.ccl beside FILE."""
    from pathlib import Path

    if tests:
        return list(tests)
    p = Path(path)
    found = p.parent / "tests" / f"{p.stem}_test.ccl"
    return [str(found)] if found.exists() else []


def _amend(op: str, module_cid: str, attachments: list, tests: list, who, at, as_json):
    m = _main()
    action = {"op": "open_proposal", "kind": "Amendment", "args": [op, module_cid], "method": "binary",
              "options": None, "delay_s": 0, "timelock_s": 0, "allow_changes": False,
              "tests": [t.cid for t in tests]}
    outcome = m.call(_noop_module(), "noop", [], label="Amendment", source=None, who=who, at=at, as_json=as_json,
                     require_workspace=True, action=action, quiet=True,
                     attachments={v.cid: v for v in [*attachments, *tests]})
    pid = outcome.opened
    if as_json:
        click.echo(json.dumps({"ok": True, "proposal": pid}))
    else:
        click.echo(pid)
        click.echo(f"opened amendment {pid} ({op} {module_cid[:20]}…); `ccl proposal show {pid}` shows the diff "
                   "and the dry-run", err=True)


@click.command()
@click.argument("contract", type=click.Path(dir_okay=False))
@click.option("--tests", "tests", multiple=True, type=click.Path(dir_okay=False),
              help="Test files of the new version (default: tests/NAME_test.ccl beside it).")
@_who_option
@_guard
def adopt(contract, tests, who, at, as_json):
    """Propose adopting the bylaws in CONTRACT (or replacing the adopted version of its
    contracts): checked, diffed and dry-run first, then an Amendment proposal members vote on."""
    m = _main()
    verified = m.build(contract)
    test_modules = [m.build(t) for t in _tests_for(contract, tests)]
    current = _read(lambda L, ws: G.adopted(L))
    from ccl.runtime.session import contracts_of

    op = "replace" if any(c in current for c in contracts_of(verified)) else "adopt"
    _amend(op, verified.cid, [verified], test_modules, who, at, as_json)


@click.group()
def bylaws():
    """The constitution: what is in force, its history, what a new version would change."""


@bylaws.command("show")
@click.option("--json", "as_json", is_flag=True)
@_guard
def bylaws_show(as_json):
    """The adopted modules (pinned by CID) with their contracts, roles and proposal kinds."""
    def read(L, ws):
        kinds, roles = G.kinds(L), G.role_defs(L)
        return G.coop(L), [{**m, "roles": sorted(r for r, d in roles.items() if d.get("module") == m["cid"]),
                            "kinds": sorted(k for k, d in kinds.items() if d.get("module") == m["cid"])}
                           for m in G.constitution(L)], kinds.get(G.AMENDMENT)
    genesis, rows, amendment = _read(read)
    if as_json:
        click.echo(json.dumps({"ok": True, "coop": genesis, "modules": rows, "amendment": amendment}))
        return
    if genesis is None:
        click.echo("this workspace is not founded: `ccl init --founder NAME --bylaws FILE`")
        return
    click.echo(f"co-op {genesis['coop']}{' (demo)' if genesis['demo'] else ''}, founded by {genesis['founder']}")
    for r in rows:
        click.echo(f"{r['cid']}  {', '.join(r['contracts'])}  (since t={r['adopted']}, by {r['via']})")
        click.echo(f"  roles: {', '.join(r['roles']) or '-'}; proposal kinds: {', '.join(r['kinds']) or '-'}")
    if not rows:
        click.echo("no bylaws adopted yet: `ccl adopt FILE` proposes some")
    if amendment:
        kind, num, den = amendment["threshold"]
        click.echo(f"amendments: {kind}{f' {num}/{den}' if kind == 'supermajority' else ''}, quorum "
                   f"{amendment['quorum_pct']}%, {amendment['duration_s'] // 86_400} days, "
                   f"{amendment['eligible'] or 'all members'} vote")


@bylaws.command("history")
@click.option("--json", "as_json", is_flag=True)
@_guard
def bylaws_history(as_json):
    """Every change to the constitution, oldest first."""
    rows = _read(lambda L, ws: G.history(L))
    if as_json:
        click.echo(json.dumps({"ok": True, "history": rows}))
        return
    for h in rows:
        old = f" (replacing {h['old'][:16]}…)" if h.get("old") else ""
        click.echo(f"t={h['time']}  {h['op']:<8} {h['cid']}  {', '.join(h['contracts'])}{old}  by {h['via']}")


@bylaws.command("diff")
@click.argument("contract", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True)
@_guard
def bylaws_diff(contract, as_json):
    """What adopting CONTRACT would change against the adopted version of its contracts."""
    from ccl.runtime import amend
    from ccl.runtime.session import contracts_of, load_module

    m = _main()
    verified = m.build(contract)

    def read(L, ws):
        adopted = G.adopted(L)
        olds = sorted({adopted[c] for c in contracts_of(verified) if c in adopted})
        return load_module(L.s.tx, olds[0]) if len(olds) == 1 else None
    old = _read(read)
    d = amend.diff(old, verified)
    if as_json:
        click.echo(json.dumps({"ok": True, "replaces": old.cid if old else None, "module": verified.cid, "diff": d}))
        return
    click.echo(f"{'replace ' + old.cid if old else 'adopt (new)'} → {verified.cid}")
    click.echo(amend.render(d))


@bylaws.command("retire")
@click.argument("contract")
@_who_option
@_guard
def bylaws_retire(contract, who, at, as_json):
    """Propose retiring the adopted module that declares CONTRACT (an Amendment)."""
    def read(L, ws):
        adopted = G.adopted(L)
        if contract not in adopted:
            raise G.Refused("adopted", f"the constitution has no contract `{contract}`")
        return adopted[contract]
    _amend("retire", _read(read), [], [], who, at, as_json)


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
        return [{"role": name, **d, "holders": holders.get(name, [])} for name, d in G.role_defs(L).items()]
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
@click.argument("kind")
@click.option("--args", "args_json", default="[]", help="JSON list of the kind's parameters.")
@click.option("--method", type=click.Choice(G.METHODS), default="binary")
@click.option("--options", default=None, help="Comma-separated options (ranked, approval, quadratic, score).")
@click.option("--delay", type=int, default=0, help="Seconds before voting opens.")
@click.option("--timelock", type=int, default=0, help="Seconds after voting closes before it may execute.")
@click.option("--allow-changes", is_flag=True, help="Members may change their ballot while voting is open.")
@_who_option
@_guard
def proposal_open(kind, args_json, method, options, delay, timelock, allow_changes, who, at, as_json):
    """Open a proposal of KIND (`Kind` or `Contract::Kind`), a kind the adopted bylaws declare."""
    m = _main()
    if kind.endswith(".ccl"):
        from ccl.diag import Diagnostic, Span

        raise m.Failure(Diagnostic("usage", "U0700", "proposals are opened from the adopted bylaws, not from a file",
                                   Span(kind), ("drop the file: `ccl proposal open KIND --args …` "
                                                "(`ccl bylaws show` lists the kinds)",)), 2)
    args = m.parse_args_json(args_json)
    opts = [o.strip() for o in options.split(",")] if options else None
    action = {"op": "open_proposal", "kind": kind, "args": args, "method": method, "options": opts,
              "delay_s": delay, "timelock_s": timelock, "allow_changes": allow_changes}
    outcome = m.call(_noop_module(), "noop", [], label=kind, source=None, who=who, at=at, as_json=as_json,
                     require_workspace=True, action=action, quiet=True)
    if as_json:
        click.echo(json.dumps({"ok": True, "proposal": outcome.opened}))
    else:
        click.echo(outcome.opened)


def _noop_module():
    from ccl.api.files import stdlib_dir

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
    run_at = at if at is not None else ws.demo_now()          # None: the clock
    previous = _read(lambda L, w: G.proposal(L, proposal_id)["ballots"].get(caller))
    seq = 0 if previous is None else previous["seq"] + 1
    signed_at = run_at if run_at is not None else int(time.time())
    ballot = G.sign_ballot(G.ballot_payload(proposal_id, caller, value, reason, seq, signed_at), signer)
    _gov("vote", [proposal_id, ballot], who, at, as_json)


def _kind_label(p) -> str:
    return f"{p['contract']}::{p['kind']}" if p["contract"] else p["kind"]


def _status_row(L, p) -> dict:
    t = G.tally(L, p)
    return {"id": p["id"], "kind": _kind_label(p), "status": G.status(L, p), "tally": t,
            "ends": p["end"], "proposer": p["proposer"]}


@proposal.command("list")
@click.option("--json", "as_json", is_flag=True)
@_guard
def proposal_list(as_json):
    """Every proposal with its status."""
    rows = _read(lambda L, ws: [_status_row(L, p) for p in G.proposals(L)])
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
    click.echo(f"{p['id']}: {_kind_label(p)}{' ' + json.dumps(p['args']) if p['args'] else ''} — {state}")
    if p.get("description"):
        click.echo(f"  {p['description']}")
    if p.get("amendment"):
        from ccl.runtime import amend

        a = p["amendment"]
        click.echo(f"  {a['op']} {a['module']}" + (f" in place of {a['replaces']}" if a.get("replaces") else ""))
        click.echo("  " + amend.render(a["diff"]).replace("\n", "\n  "))
        dry = a["dry_run"]
        click.echo(f"  dry-run: passed — {dry['tests_passed']} test(s) of the new version against the migrated "
                   f"state{'; migrated ' + ', '.join(dry['migrated']) if dry['migrated'] else ''}")
    if p.get("can"):
        click.echo(f"  its execution may: {', '.join(p['can'])}")
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
    """Carry out a succeeded proposal: its execution block runs as the co-op, with what its kind
    declares; an amendment switches the constitution."""
    m = _main()
    from ccl.runtime.session import load_module

    def load(L, w):
        p = G.proposal(L, proposal_id)
        if p["execution"] in (None, "builtin:amendment"):
            return p, None
        return p, load_module(L.s.tx, p["module"])
    p, verified = _read(load)
    action = {"op": "execute", "proposal": proposal_id}
    if p["execution"] is None:
        from ccl.diag import Diagnostic, Span

        raise m.Failure(Diagnostic("host", "H0600", f"`{proposal_id}` has nothing to execute", Span()), 1)
    if verified is None:
        m.call(_noop_module(), "noop", [], label=proposal_id, source=None, who=who, at=at, as_json=as_json,
               require_workspace=True, action=action)
        return
    m.call(verified, p["execution"], p["args"], label=proposal_id, source=None, who=who, at=at, as_json=as_json,
           require_workspace=True, action=action)


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
