"""Mutual aid: requests, offers, deterministic matching, fulfilment — and emergency mode.

Locations are grid points "x,y" in whole kilometres (e.g. "12,-3"); distance is the Euclidean
distance rounded down to whole kilometres, computed in integers. A location that is not a grid
point is a named place: distance 0 to the same name, and "far" (10⁹) to anything else.

Matching (`match`) is deterministic and never over-allocates an offer:
1. requests are served in priority order — urgency (+10 for every request while emergency mode
   is on), then the older request, then the id;
2. each request takes from the nearest open offers of its category first; equal distance goes to
   the older offer, then the id (with reputation weighting on, distance is divided by
   1 + reputation/100 first);
3. quantities are split: a request may be filled by several offers and an offer may serve several
   requests, each match taking the smaller of what is still needed and still offered.

Offers are indexed by category and by grid cell (sized so a cell holds about four offers), so a
request looks only at the cells around it, ring by ring, until no nearer offer can exist, and
spent offers are dropped from their cells as they are met. For offers spread over an area that
is O((R + O) log O) instead of R × O comparisons. Owns the store namespaces `aid.*` (NAMESPACES);
providers' reputation is a member fact kept by ccl.governance. Imports ccl.ledger and
ccl.governance.
"""

from __future__ import annotations

import heapq
import math
from typing import Optional

from ccl import governance as G
from ccl.ledger import Ledger, Refused
from ccl.ledger import engines as E

NAMESPACES = ("aid",)                  # the store namespaces this engine owns
FAR = 10**9
WINDOW_S = 7 * 86_400
EMERGENCY_WINDOW_S = 86_400


def parse_location(text: str) -> Optional[tuple[int, int]]:
    parts = text.split(",")
    if len(parts) != 2:
        return None
    try:
        return int(parts[0].strip()), int(parts[1].strip())
    except ValueError:
        return None


def public_location(L: Ledger, value: str, values: dict) -> bool:
    """A location stays in plain text when it is empty or a grid point (matching computes on it);
    a place name or a street address is a private input (ccl.private)."""
    return value == "" or parse_location(value) is not None


def distance(a: str, b: str) -> int:
    pa, pb = parse_location(a), parse_location(b)
    if pa is None or pb is None:
        return 0 if a == b else FAR
    return math.isqrt((pa[0] - pb[0]) ** 2 + (pa[1] - pb[1]) ** 2)


def settings(L: Ledger) -> dict:
    return {"emergency": 0, "reputation_weight": 0, "hours_per_unit": 0, **(L.s.get("aid.settings", "s") or {})}


def set_setting(L: Ledger, actor: str, key: str, value: int) -> bool:
    if key not in ("emergency", "reputation_weight", "hours_per_unit"):
        raise Refused("policy_key", f"`{key}` is not a mutual-aid setting",
                      "settings: emergency, reputation_weight, hours_per_unit")
    L.s.put("aid.settings", "s", {**settings(L), key: value})
    return True


def _check(category: str, quantity: int) -> None:
    if not category:
        raise Refused("category", "say what is needed or offered")
    if quantity <= 0:
        raise Refused("positive_amount", "a quantity is a positive whole number")


def request_aid(L: Ledger, actor: str, requester: str, category: str, quantity: int, urgency: int,
                location: str) -> str:
    _check(category, quantity)
    if not 0 <= urgency <= 10:
        raise Refused("urgency", "urgency runs from 0 (whenever) to 10 (now)")
    rid = f"need-{L.s.next_seq('aid')}"
    window = EMERGENCY_WINDOW_S if settings(L)["emergency"] else WINDOW_S
    L.s.put("aid.requests", rid, {"id": rid, "requester": requester, "category": category, "quantity": quantity,
                                  "open": quantity, "urgency": urgency, "location": location, "created": L.now,
                                  "expires": L.now + window})
    return rid


def offer_resource(L: Ledger, actor: str, provider: str, category: str, quantity: int, location: str) -> str:
    _check(category, quantity)
    oid = f"offer-{L.s.next_seq('aid')}"
    L.s.put("aid.offers", oid, {"id": oid, "provider": provider, "category": category, "quantity": quantity,
                                "open": quantity, "location": location, "created": L.now})
    return oid


def _seq(item_id: str) -> int:
    return int(item_id.rsplit("-", 1)[1])


def plan(requests: list[dict], offers: list[dict], *, emergency: bool = False,
         reputation: Optional[dict] = None) -> list[dict]:
    """Pure matching: [{request, offer, quantity, distance}] — see the module docstring."""
    boost = 10 if emergency else 0
    order = sorted(requests, key=lambda r: (-(r["urgency"] + boost), r["created"], _seq(r["id"])))
    remaining = {o["id"]: o["open"] for o in offers}
    by_category: dict[str, list] = {}
    for o in sorted(offers, key=lambda o: (o["created"], _seq(o["id"]))):
        by_category.setdefault(o["category"], []).append(o)
    index = {c: _Grid(os) for c, os in by_category.items()}
    out = []
    for r in order:
        need = r["open"]
        grid = index.get(r["category"])
        if grid is None or need <= 0:
            continue
        for o, dist in grid.nearest(r["location"], remaining, reputation):
            take = min(need, remaining[o["id"]])
            remaining[o["id"]] -= take
            need -= take
            out.append({"request": r["id"], "offer": o["id"], "quantity": take, "distance": dist})
            if need == 0:
                break
    return out


def _effective(dist: int, provider: str, reputation: Optional[dict]) -> int:
    if not reputation:
        return dist
    return dist * 100 // (100 + max(0, min(100, reputation.get(provider, 0))))


class _Grid:
    """One category's offers in square cells sized so a cell holds a few offers on average;
    named places are kept by name."""

    def __init__(self, offers: list[dict]):
        points = [(parse_location(o["location"]), o) for o in offers]
        located = [(p, o) for p, o in points if p is not None]
        self.named: dict[str, list] = {}
        for p, o in points:
            if p is None:
                self.named.setdefault(o["location"], []).append(o)
        self.cells: dict[tuple, list] = {}
        self.cell_km = 1
        self.max_cell = 0
        if located:
            xs, ys = [p[0] for p, _ in located], [p[1] for p, _ in located]
            area = (max(xs) - min(xs) + 1) * (max(ys) - min(ys) + 1)
            self.cell_km = max(1, math.isqrt(area * 4 // len(located)))
            for p, o in located:
                self.cells.setdefault((p[0] // self.cell_km, p[1] // self.cell_km), []).append(o)
            self.max_cell = max(max(abs(c[0]), abs(c[1])) for c in self.cells)

    def nearest(self, location: str, remaining: dict, reputation: Optional[dict]):
        """Open offers nearest first (ties: older, then id), found ring by ring."""
        p = parse_location(location)
        if p is None:
            for o in self.named.get(location, []):        # already in (created, id) order
                if remaining[o["id"]] > 0:
                    yield o, 0
            return
        if not self.cells:
            return
        cx, cy = p[0] // self.cell_km, p[1] // self.cell_km
        last_ring = self.max_cell + max(abs(cx), abs(cy)) + 1
        heap: list = []
        ring = 0
        while True:
            if ring <= last_ring:
                for cell in _ring(cx, cy, ring):
                    bucket = self.cells.get(cell)
                    if not bucket:
                        continue
                    bucket[:] = [o for o in bucket if remaining[o["id"]] > 0]     # drop spent offers
                    for o in bucket:
                        d = distance(location, o["location"])
                        heapq.heappush(heap, (_effective(d, o["provider"], reputation), o["created"],
                                              _seq(o["id"]), d, o["id"], o))
                # offers in farther rings are at least ring × cell_km away (half that, weighted)
                bound = ring * self.cell_km // (2 if reputation else 1)
            else:
                bound = FAR * 2
            while heap and heap[0][0] < bound:
                item = heapq.heappop(heap)
                if remaining[item[4]] > 0:
                    yield item[5], item[3]
            if ring > last_ring:
                return
            ring += 1


def _ring(cx: int, cy: int, r: int):
    if r == 0:
        yield (cx, cy)
        return
    for x in range(cx - r, cx + r + 1):
        yield (x, cy - r)
        yield (x, cy + r)
    for y in range(cy - r + 1, cy + r):
        yield (cx - r, y)
        yield (cx + r, y)


def match(L: Ledger, actor: str) -> list[list]:
    """Match every open request against every open offer and record the matches. Returns
    [id, request, offer, quantity, distance] rows."""
    s = settings(L)
    requests = [v for _, v in L.s.scan("aid.requests") if v["open"] > 0 and v["expires"] > L.now]
    offers = [v for _, v in L.s.scan("aid.offers") if v["open"] > 0]
    reputation = None
    if s["reputation_weight"]:
        reputation = {}
        for o in offers:
            rep = G.attributes(L, o["provider"]).get("reputation", 0)
            reputation[o["provider"]] = rep if isinstance(rep, int) and not isinstance(rep, bool) else 0
    rows = []
    for m in plan(requests, offers, emergency=bool(s["emergency"]), reputation=reputation):
        mid = f"match-{L.s.next_seq('aid')}"
        req = L.s.get("aid.requests", m["request"])
        off = L.s.get("aid.offers", m["offer"])
        assert req["open"] >= m["quantity"] and off["open"] >= m["quantity"], "matching over-allocated"
        L.s.put("aid.requests", req["id"], {**req, "open": req["open"] - m["quantity"]})
        L.s.put("aid.offers", off["id"], {**off, "open": off["open"] - m["quantity"]})
        L.s.put("aid.matches", mid, {"id": mid, **m, "status": "matched", "created": L.now,
                                     "requester": req["requester"], "provider": off["provider"]})
        rows.append([mid, m["request"], m["offer"], m["quantity"], m["distance"]])
    return rows


def fulfil(L: Ledger, actor: str, match_id: str) -> bool:
    """The requester (or a coordinator) confirms delivery; with `hours_per_unit` set, the
    provider earns time-bank minutes from the community's aid account."""
    m = L.s.require("aid.matches", match_id, "match_exists", f"there is no match `{match_id}`")
    if m["status"] != "matched":
        raise Refused("match_status", f"`{match_id}` is already {m['status']}")
    L.s.put("aid.matches", match_id, {**m, "status": "fulfilled", "fulfilled": L.now})
    minutes = settings(L)["hours_per_unit"] * m["quantity"]
    if minutes:
        E.ensure_hours(L)
        L.apply({"currency": E.HOURS, "from": "sys:aid", "to": m["provider"], "amount": minutes, "kind": "aid",
                 "memo": match_id})
    return True


def requester(L: Ledger, match_id) -> Optional[str]:
    """Who asked for what a match delivers (who confirms it), or None when there is no match."""
    m = L.s.get("aid.matches", match_id) if isinstance(match_id, str) else None
    return m["requester"] if m else None


def listing_visible(L: Ledger, reader: str, member: bool, answer: dict) -> dict:
    """`aid list` as `reader` sees it: a member sees the whole board; a neighbour who is not a
    member (where the bylaws open requests to them) sees only their own requests, offers and
    matches."""
    if member:
        return answer
    return {"requests": [r for r in answer["requests"] if r["requester"] == reader],
            "offers": [o for o in answer["offers"] if o["provider"] == reader],
            "matches": [m for m in answer["matches"] if reader in (m["requester"], m["provider"])]}


def listing(L: Ledger) -> dict:
    return {"requests": [v for _, v in L.s.scan("aid.requests")], "offers": [v for _, v in L.s.scan("aid.offers")],
            "matches": [v for _, v in L.s.scan("aid.matches")]}
