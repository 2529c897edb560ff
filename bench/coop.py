"""Profit distribution over many members and mutual-aid matching of many requests and offers.

    python bench/coop.py

- distribute: the largest-remainder split (exact fractions, then one sort of the remainders):
  O(n log n) for n members, with and without a pay-ratio cap (the cap adds at most n passes over
  the shares in the worst case, usually two or three).
- match: requests sorted once (O(R log R)); offers indexed by category and grid cell sized for
  about four offers a cell, searched ring by ring: O((R + O) log O) for offers spread over an
  area. The baseline is the plain-Python full scan a first implementation would write — sort
  every offer of the category for every request, O(R × O log O) — measured in the same run on
  the same inputs, at sizes where it still finishes.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent))

from ccl import aid, money  # noqa: E402


def timed(fn, *args, **kw):
    t = time.perf_counter()
    out = fn(*args, **kw)
    return time.perf_counter() - t, out


def world(n, span, seed=1):
    rng = random.Random(seed)
    cats = ["food", "rides", "tools", "childcare"]
    reqs = [{"id": f"need-{i}", "category": rng.choice(cats), "open": rng.randint(1, 5), "urgency": rng.randint(0, 10),
             "location": f"{rng.randint(0, span)},{rng.randint(0, span)}", "created": i} for i in range(n)]
    offs = [{"id": f"offer-{i}", "category": rng.choice(cats), "open": rng.randint(1, 5), "provider": f"p{i}",
             "location": f"{rng.randint(0, span)},{rng.randint(0, span)}", "created": i} for i in range(n)]
    return reqs, offs


def full_scan(reqs, offs):
    order = sorted(reqs, key=lambda r: (-r["urgency"], r["created"]))
    left = {o["id"]: o["open"] for o in offs}
    out = []
    for r in order:
        need = r["open"]
        for o in sorted((o for o in offs if o["category"] == r["category"]),
                        key=lambda o: (aid.distance(r["location"], o["location"]), o["created"])):
            if need == 0:
                break
            if left[o["id"]]:
                take = min(need, left[o["id"]])
                left[o["id"]] -= take
                need -= take
                out.append({"request": r["id"], "offer": o["id"], "quantity": take,
                            "distance": aid.distance(r["location"], o["location"])})
    return out


def main():
    rng = random.Random(7)
    print("distribute a surplus (largest remainder, exact):")
    for n in (1_000, 10_000, 100_000):
        weights = [rng.randint(1, 2000) for _ in range(n)]
        t, shares = timed(money.split, 987_654_321_000, weights)
        tc, capped = timed(money.split, 987_654_321_000, weights, 6)
        assert sum(shares) == sum(capped) == 987_654_321_000
        print(f"  {n:>7} members: {t * 1000:8.1f} ms   with a 6:1 pay-ratio cap: {tc * 1000:8.1f} ms")
    print("match requests to offers (grid index):")
    for n in (1_000, 2_000, 10_000):
        reqs, offs = world(n, span=60)
        t, matches = timed(aid.plan, reqs, offs)
        line = f"  {n:>6} requests × {n:>6} offers: {t * 1000:8.1f} ms, {len(matches)} matches"
        if n <= 2_000:
            tb, baseline = timed(full_scan, reqs, offs)
            assert baseline == matches
            line += f"   full scan: {tb * 1000:8.1f} ms ({tb / t:.0f}× slower)"
        print(line)


if __name__ == "__main__":
    main()
