"""Worker and consumer co-op tools: profit sharing, labour records, patronage dividends.

- `split(total, weights)`: integer shares by the largest-remainder rule — the parts sum exactly to
  the total and none differs from its exact pro-rata value by a unit or more. Ties for a leftover
  unit go to the earlier entry. Optionally under a pay-ratio cap (highest ≤ k × lowest share),
  kept by the whole-unit shares: the nearest split that keeps it, or a refusal if none can.
- `distribute_profits`: reserve and education fund first (basis points from the co-op's policy),
  then the members by hours × weight; optionally credited to each member's internal capital
  account (currency CAPITAL) in the ledger.
- Labour: `log_work` records minutes on a task; `contributions` turns a period's records into
  the contributions the split takes.
- Consumer co-ops: `record_purchase`, a patronage rule fixed before a period's first purchase
  (cash share in basis points), `calculate_patronage` (retained part credited to EQUITY).

Owns the store namespaces `coop.*` (NAMESPACES); members' facts (a worker's `weight`, who is a
member for the member price) come from ccl.governance. Imports ccl.ledger and ccl.governance.
Amounts are integers; every split asserts that its parts sum to its total.
"""

from __future__ import annotations

from typing import Optional

from ccl import governance as G
from ccl import money
from ccl.ledger import Ledger, Refused

NAMESPACES = ("coop",)                 # the store namespaces this engine owns
POLICY_KEYS = {"reserve_bps": 3000, "education_bps": 500, "pay_ratio_cap": 0, "capital_accounts": 0,
               "cash_bps": 10_000, "member_discount_bps": 0}


# ---------------------------------------------------------------- splitting

def split(total: int, weights: list[int], pay_ratio_cap: int = 0) -> list[int]:
    try:
        return money.split(total, weights, pay_ratio_cap)
    except ValueError as e:
        hint = ("raise the co-op's pay_ratio_cap, or split a total the members can share in whole units "
                "within it" if str(e).startswith("no split") else "")
        raise Refused("split", str(e), hint) from None


# ---------------------------------------------------------------- policy

def policy(L: Ledger) -> dict:
    stored = L.s.get("coop.policy", "policy") or {}
    return {**POLICY_KEYS, **stored}


def set_policy(L: Ledger, actor: str, key: str, value: int) -> bool:
    if key not in POLICY_KEYS:
        raise Refused("policy_key", f"`{key}` is not a co-op policy", "policies: " + ", ".join(POLICY_KEYS))
    if key.endswith("_bps") and not 0 <= value <= 10_000:
        raise Refused("policy_range", "basis points run from 0 to 10000")
    if value < 0:
        raise Refused("policy_range", "policies are not negative")
    L.s.put("coop.policy", "policy", {**policy(L), key: value})
    return True


# ---------------------------------------------------------------- worker co-ops

def distribute_profits(L: Ledger, actor: str, coop: str, total: int, contributions: list) -> list[list]:
    """contributions: [member, hours, weight] rows; returns [member, amount] rows — the reserve
    and education fund first (as `COOP#reserve`, `COOP#education`), then the members."""
    if total < 0:
        raise Refused("positive_amount", "a surplus to distribute cannot be negative")
    if not contributions:
        raise Refused("weights", "there are no contributions to split by")
    members = [c[0] for c in contributions]
    if len(set(members)) != len(members):
        raise Refused("contributions", "each member appears once in the contributions")
    p = policy(L)
    if p["reserve_bps"] + p["education_bps"] > 10_000:
        raise Refused("policy_range", "reserve and education together exceed 100%")
    reserve = total * p["reserve_bps"] // 10_000
    education = total * p["education_bps"] // 10_000
    pool = total - reserve - education
    weights = [c[1] * c[2] for c in contributions]
    amounts = split(pool, weights, p["pay_ratio_cap"])
    out = [[f"{coop}#reserve", reserve], [f"{coop}#education", education],
           *([m, a] for m, a in zip(members, amounts))]
    assert sum(a for _, a in out) == total
    if p["capital_accounts"]:
        if L.currency("CAPITAL") is None:
            L.create_currency("CAPITAL", "members' internal capital accounts", "issued", {"transferable": 0})
        for member, amount in zip(members, amounts):
            if amount:
                L.mint("CAPITAL", member, amount)
    return out


def log_work(L: Ledger, actor: str, member: str, minutes: int, task: str) -> str:
    if not 0 < minutes <= 24 * 60:
        raise Refused("work_minutes", "log between 1 minute and a day of work at a time")
    record = f"work-{L.s.next_seq('work')}"
    L.s.put("coop.work", record, {"id": record, "member": member, "minutes": minutes, "task": task,
                                  "time": L.now, "by": actor})
    return record


def work_records(L: Ledger, start: Optional[int] = None, end: Optional[int] = None) -> list[dict]:
    rows = [v for _, v in L.s.scan("coop.work")]
    return [r for r in rows if (start is None or r["time"] >= start) and (end is None or r["time"] < end)]


def contributions(L: Ledger, start: int, end: int) -> list[list]:
    """A period's work as [member, hours, weight] rows (minutes rounded down to hours; weight
    from the member fact `weight`, default 1), in member order."""
    minutes: dict[str, int] = {}
    for r in work_records(L, start, end):
        minutes[r["member"]] = minutes.get(r["member"], 0) + r["minutes"]
    out = []
    for member in sorted(minutes):
        facts = G.attributes(L, member)
        weight = facts.get("weight", 1) if isinstance(facts.get("weight", 1), int) else 1
        out.append([member, minutes[member] // 60, weight])
    return out


# ---------------------------------------------------------------- consumer co-ops

def period_of(timestamp: int) -> str:
    """The calendar year (UTC) a time falls in, computed in integers."""
    days = timestamp // 86_400
    year = 1970
    while True:
        length = 366 if (year % 4 == 0 and year % 100 != 0) or year % 400 == 0 else 365
        if days < length:
            return str(year)
        days -= length
        year += 1


def set_patronage_rule(L: Ledger, actor: str, period: str, cash_bps: int) -> bool:
    if not 0 <= cash_bps <= 10_000:
        raise Refused("policy_range", "the cash share is in basis points from 0 to 10000")
    if L.s.scan(f"coop.purchases/{period}"):
        raise Refused("rule_fixed_before", f"purchases are already recorded for {period}: its rule is fixed")
    L.s.put("coop.patronage_rule", period, {"cash_bps": cash_bps, "set": L.now})
    return True


def record_purchase(L: Ledger, actor: str, member: str, amount: int) -> bool:
    if amount <= 0:
        raise Refused("positive_amount", "a purchase is a positive amount")
    period = period_of(L.now)
    if L.s.get("coop.patronage_rule", period) is None:          # the rule in force is fixed now
        L.s.put("coop.patronage_rule", period, {"cash_bps": policy(L)["cash_bps"], "set": L.now})
    L.s.put(f"coop.purchases/{period}", member, member_purchases(L, member, period) + amount)
    return True


def purchases(L: Ledger, period: str) -> list[tuple[str, int]]:
    return L.s.scan(f"coop.purchases/{period}")


def member_purchases(L: Ledger, member: str, period: str) -> int:
    """What `member` bought in `period` (a calendar year, `period_of`)."""
    return L.s.get(f"coop.purchases/{period}", member) or 0


def calculate_patronage(L: Ledger, actor: str, period: str, pool: int) -> list[list]:
    """Allocate `pool` by each member's purchases in `period`; the retained part of each
    dividend is credited to the member's EQUITY account. Returns [member, amount] rows."""
    if L.s.get("coop.patronage", period) is not None:
        raise Refused("patronage_once", f"patronage for {period} was already calculated")
    rows = purchases(L, period)
    if not rows:
        raise Refused("weights", f"no purchases were recorded in {period}")
    rule = L.s.get("coop.patronage_rule", period)
    members = [m for m, _ in rows]
    amounts = split(pool, [v for _, v in rows])
    notices = []
    if L.currency("EQUITY") is None:
        L.create_currency("EQUITY", "members' equity", "issued", {"transferable": 0})
    for member, bought, amount in zip(members, [v for _, v in rows], amounts):
        cash = amount * rule["cash_bps"] // 10_000
        retained = amount - cash
        if retained:
            L.mint("EQUITY", member, retained)
        notices.append({"member": member, "purchases": bought, "dividend": amount, "cash": cash,
                        "retained": retained})
    L.s.put("coop.patronage", period, {"period": period, "pool": pool, "rule": rule, "notices": notices,
                                       "calculated": L.now})
    return [[m, a] for m, a in zip(members, amounts)]


def member_price(L: Ledger, member: str, price: int) -> int:
    """A member benefit: active members pay the price less the co-op's member discount."""
    if price < 0:
        raise Refused("positive_amount", "a price is not negative")
    if not G.is_member(L, member):
        return price
    return price - price * policy(L)["member_discount_bps"] // 10_000


def patronage_notices(L: Ledger, period: str) -> Optional[dict]:
    return L.s.get("coop.patronage", period)


# ---------------------------------------------------------------- reads (the operations table's queries)

def work_view(L: Ledger, start: Optional[int] = None, end: Optional[int] = None) -> dict:
    return {"records": work_records(L, start, end),
            "contributions": contributions(L, 0 if start is None else start, 2**62 if end is None else end)}


def notices_view(L: Ledger, period: str) -> dict:
    record = patronage_notices(L, period)
    if record is None:
        raise Refused("patronage_exists", f"no patronage has been calculated for {period}",
                      "calculate it with `ccl patronage calculate`")
    return {"period": period, **record}
