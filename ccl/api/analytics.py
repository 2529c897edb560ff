"""Member analytics of a co-op (`ccl coop analytics`), below both edges, from the engines'
functions only: ballots each member cast, what they bought in a period, the hours they worked.
Imports the engines.
"""

from __future__ import annotations

from typing import Optional

from ccl import coop as C
from ccl import governance as G
from ccl.ledger import Ledger


def member_analytics(L: Ledger, period: Optional[str] = None) -> tuple[str, list[dict]]:
    """(the period, one row per member: {member, votes, purchases, hours}). `period` is the year
    whose purchases count (default: the year of `L.now`); votes and hours count all time. Every
    member appears, and anyone with purchases or hours recorded, in DID order."""
    year = period or C.period_of(L.now)
    votes: dict[str, int] = {}
    for p in G.proposals(L):
        for voter in p["ballots"]:
            votes[voter] = votes.get(voter, 0) + 1
    bought = dict(C.purchases(L, year))
    hours = {m: h for m, h, _ in C.contributions(L, 0, 2**62)}
    members = sorted({d for d, _ in G.members(L)} | set(bought) | set(hours))
    return year, [{"member": m, "votes": votes.get(m, 0), "purchases": bought.get(m, 0), "hours": hours.get(m, 0)}
                  for m in members]


def analytics_view(L: Ledger, period: Optional[str] = None) -> dict:
    """`ccl coop analytics`: the period and its rows."""
    year, rows = member_analytics(L, period)
    return {"period": year, "members": rows}
