"""The richer read pages of the operations table (views of kind `custom`): a loan, a proposal, a
tally, the bylaws, the work log, mutual aid. Each takes the renderer (ccl.cli.ops.Shown), the
query's answer and the command's inputs."""

from __future__ import annotations

import json

CREDIT = "money:CREDIT"


def loan(out, data: dict, values: dict) -> None:
    ln = data["loan"]
    money = f"money:{ln['currency']}"
    out.line(f"{ln['id']}: {out.value(money, ln['amount'], ln)} to {out.value('member', ln['borrower'], ln)} for "
             f"{ln['purpose']!r} over {ln['term_days']} days — {ln['status']}")
    out.line(f"paid {out.value(money, ln['paid'], ln)}, in arrears {out.value(money, ln['arrears'], ln)}; "
             f"risk score {ln['score']}")
    for reason in ln["reasons"]:
        out.line(f"  {reason}")
    if ln["schedule"]:
        out.table("schedule", ["due", "amount"],
                  [[out.value("time", i["due"], ln), out.value(money, i["amount"], ln)] for i in ln["schedule"]])


RULES = {"majority": "majority (yes > half of yes+no)", "consensus": "consensus (no blocks)",
         "unanimous": "unanimous (every eligible member says yes)"}


def _span(seconds: int) -> str:
    days, rest = divmod(seconds, 86_400)
    return f"{days}d {rest // 3600}h" if days else f"{rest // 3600}h {rest % 3600 // 60}m"


def proposal(out, data: dict, values: dict) -> None:
    from ccl.governance import kind_label

    p, t, state, now = data["proposal"], data["tally"], data["status"], data["now"]
    kind, num, den = p["threshold"]
    rule = RULES.get(kind, f"supermajority (yes > {num}/{den} of yes+no)")
    out.line(f"{p['id']}: {kind_label(p)}{' ' + json.dumps(p['args']) if p['args'] else ''} — {state}")
    out.line(f"  proposed by {out.value('member', p['proposer'], p)}")
    if p.get("description"):
        out.line(f"  {p['description']}")
    if p.get("amendment"):
        from ccl.runtime import amend

        a = p["amendment"]
        out.line(f"  {a['op']} {a['module']}" + (f" in place of {a['replaces']}" if a.get("replaces") else ""))
        out.line("  " + amend.render(a["diff"]).replace("\n", "\n  "))
        dry = a["dry_run"]
        out.line(f"  dry-run: passed — {dry['tests_passed']} test(s) of the new version against the migrated "
                 f"state{'; migrated ' + ', '.join(dry['migrated']) if dry['migrated'] else ''}")
    if p.get("can"):
        out.line(f"  its execution may: {', '.join(p['can'])}")
    method = rule if p["method"] == "binary" else p["method"] + " vote over " + ", ".join(p["options"])
    out.line(f"  rule: {method}; quorum {p['quorum_pct']}% of {t['eligible']} eligible "
             f"({p['eligible_role'] or 'all members'})")
    needed = -(-p["quorum_pct"] * t["eligible"] // 100)
    out.line(f"  quorum: {t['participation']} took part, {needed} needed{' (met)' if t['quorum_met'] else ''}")
    if t.get("counts"):
        c = t["counts"]
        out.line(f"  tally: yes {c['yes']} · no {c['no']} · abstain {c['abstain']} · block {c['block']}")
    else:
        out.line(f"  leading: {t['winner']}; rounds: {t['rounds']}")
    for voter, via in sorted(t["via"].items()):
        out.line(f"  {out.value('member', voter, p)} voted through {out.value('member', via, p)}")
    left = p["end"] - now
    out.line(f"  {'voting ends in ' + _span(left) + ' (' + out.value('time', p['end'], p) + ')' if left > 0 else 'voting ended'}")


def tally(out, data: dict, values: dict) -> None:
    t = data["tally"]
    if t.get("counts"):
        c = t["counts"]
        out.line(f"yes {c['yes']} · no {c['no']} · abstain {c['abstain']} · block {c['block']}")
    else:
        out.line(f"leading: {t['winner']}")
    out.line(f"{t['participation']} of {t['eligible']} eligible took part; quorum {'met' if t['quorum_met'] else 'not met'}; "
             f"{'passes' if t['passed'] else 'does not pass'}")
    for voter, via in sorted(t["via"].items()):
        out.line(f"{out.value('member', voter, t)} voted through {out.value('member', via, t)}")


def bylaws(out, data: dict, values: dict) -> None:
    genesis, rows, amendment = data["coop"], data["modules"], data["amendment"]
    if genesis is None:
        out.line("this workspace is not founded: `ccl init --founder NAME --bylaws FILE`")
        return
    out.line(f"the co-op {genesis['coop']}{' (a demo)' if genesis['demo'] else ''}, "
             f"founded by {out.value('member', genesis['founder'], genesis)}")
    for r in rows:
        out.line(f"{r['cid']}  {', '.join(r['contracts'])}  (since {out.value('time', r['adopted'], r)}, by {r['via']})")
        out.line(f"  roles: {', '.join(r['roles']) or '-'}; proposal kinds: {', '.join(r['kinds']) or '-'}")
    if not rows:
        out.line("no bylaws adopted yet: `ccl adopt FILE` proposes some")
    if amendment:
        kind, num, den = amendment["threshold"]
        out.line(f"amendments: {kind}{f' {num}/{den}' if kind == 'supermajority' else ''}, quorum "
                 f"{amendment['quorum_pct']}%, {amendment['duration_s'] // 86_400} days, "
                 f"{amendment['eligible'] or 'all members'} vote")


def diff(out, data: dict, values: dict) -> None:
    from ccl.runtime import amend

    out.line(f"{'replace ' + data['replaces'] if data['replaces'] else 'adopt (new)'} → {data['module']}")
    out.line(amend.render(data["diff"]))


def work(out, data: dict, values: dict) -> None:
    rows = data["records"]
    out.table("work", ["id", "member", "time worked", "task", "when"],
              [[r["id"], out.value("member", r["member"], r), out.value("minutes", r["minutes"], r), r["task"],
                out.value("time", r["time"], r)] for r in rows])
    out.table("hours per member", ["member", "hours", "weight"],
              [[out.value("member", m, {}), h, w] for m, h, w in data["contributions"]])


def aid(out, data: dict, values: dict) -> None:
    out.table("requests", ["id", "who", "category", "quantity", "open", "urgency", "location"],
              [[r["id"], out.value("member", r.get("requester"), r), r["category"], r["quantity"], r["open"],
                r["urgency"], r["location"]] for r in data["requests"]])
    out.table("offers", ["id", "who", "category", "quantity", "open", "location"],
              [[o["id"], out.value("member", o.get("provider"), o), o["category"], o["quantity"], o["open"],
                o["location"]] for o in data["offers"]])
    out.table("matches", ["id", "request", "offer", "quantity", "distance", "status"],
              [[m["id"], m["request"], m["offer"], m["quantity"], m["distance"], m["status"]] for m in data["matches"]])


def currency(out, data: dict, values: dict) -> None:
    c = data["currency"]
    money = f"money:{c['symbol']}"
    policy = c["policy"]
    out.line(f"{c['symbol']}: {c['name']} ({c['kind']})")
    out.line(f"  in circulation {out.value(money, c['supply'], c)}"
             + (f", at most {out.value(money, policy['cap'], c)}" if policy.get("cap", 2**63 - 1) < 2**63 - 1 else ""))
    out.line(f"  {c['decimals']} decimal(s); {'transferable' if policy.get('transferable', 1) else 'not transferable'}"
             + (f"; demurrage {policy['demurrage_bps'] / 100:g}% every {policy['period_days']} days"
                if policy.get("demurrage_bps") else ""))
