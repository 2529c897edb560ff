"""Exact money arithmetic shared by the engines and the builtins: splitting a whole amount.

Leaf module (imports fractions). `split(total, weights)` gives integer shares by the
largest-remainder rule: they sum exactly to `total`, none differs from its exact pro-rata value
by a unit or more, and a leftover unit goes to the larger remainder (the earlier entry on a tie).
With a pay-ratio cap k, no share exceeds k × the smallest positive share; the excess goes to the
others in proportion to their weights. The cap holds on the whole-unit shares too: when rounding
would break it, the split is the nearest one that keeps it (`capped_split`), or a refusal when no
whole-unit split can. Errors are ValueError with a message for members.
"""

from __future__ import annotations

from fractions import Fraction


def largest_remainder(total: int, exact: list[Fraction]) -> list[int]:
    floors = [int(x // 1) for x in exact]
    left = total - sum(floors)
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    assert sum(floors) == total, "a split must add up to its total"
    return floors


def exact_shares(total: int, weights: list[int], pay_ratio_cap: int = 0) -> list[Fraction]:
    if any(w < 0 for w in weights):
        raise ValueError("contributions cannot be negative")
    weight_sum = sum(weights)
    if weight_sum == 0:
        raise ValueError("nobody contributed: there is nothing to split by")
    shares = [Fraction(total * w, weight_sum) for w in weights]
    if pay_ratio_cap <= 0 or total == 0:
        return shares
    capped: set[int] = set()
    for _ in range(len(weights) + 1):
        positive = [s for s in shares if s > 0]
        limit = min(positive) * pay_ratio_cap
        over = [i for i, s in enumerate(shares) if s > limit]
        if not over:
            break
        capped.update(over)
        free = [i for i, w in enumerate(weights) if i not in capped and w > 0]
        if not free:
            break
        # the uncapped share in proportion to weight; each capped share = k × the smallest one
        free_weight = sum(weights[i] for i in free)
        min_free = min(weights[i] for i in free)
        scale = Fraction(total, free_weight + len(capped) * pay_ratio_cap * min_free)
        shares = [scale * pay_ratio_cap * min_free if i in capped else scale * w if w > 0 else Fraction(0)
                  for i, w in enumerate(weights)]
    assert sum(shares) == total
    return shares


def split(total: int, weights: list[int], pay_ratio_cap: int = 0) -> list[int]:
    if total < 0:
        raise ValueError("an amount to split cannot be negative")
    exact = exact_shares(total, weights, pay_ratio_cap)
    rounded = largest_remainder(total, exact)
    if pay_ratio_cap <= 0 or total == 0 or respects_cap(rounded, weights, pay_ratio_cap):
        return rounded
    return capped_split(total, weights, pay_ratio_cap, exact)


def respects_cap(shares: list[int], weights: list[int], cap: int) -> bool:
    """Whether the members with a positive weight all get a share in [m, cap × m] for some m ≥ 1."""
    paid = [s for s, w in zip(shares, weights) if w > 0]
    return min(paid) >= 1 and max(paid) <= cap * min(paid)


def capped_split(total: int, weights: list[int], cap: int, exact: list[Fraction]) -> list[int]:
    """The whole-unit split nearest the exact capped shares that keeps the cap, or ValueError.

    Nearest means the least sum of squared differences from the exact shares (without a cap this
    is exactly the largest-remainder rounding); on a tie, the split that gives more to earlier
    entries (the lexicographically greatest). A split keeps the cap when every member with a
    positive weight gets a share in [m, cap × m] for a whole m ≥ 1 (members of weight 0 get 0).
    Only two m need trying, the floor and the ceiling of the smallest exact share a: a split
    whose smallest share is ≥ ⌈a⌉ is never nearer than the nearest split with every share ≥ ⌈a⌉,
    which stays below cap × ⌈a⌉ on its own; one whose smallest share is ≤ ⌊a⌋ is never nearer than
    the nearest split with every share ≤ cap × ⌊a⌋, which stays above ⌊a⌋ on its own (moving a
    unit from a share above its exact value to one a whole unit below its own lowers the sum of
    squares). If neither box has a split — no whole m lies in [total / (n × cap), total / n] for
    the n members paid — then no whole-unit split keeps the cap at all (docs/design.md)."""
    paid = [i for i, w in enumerate(weights) if w > 0]
    a = min(exact[i] for i in paid)
    best = None
    for m in sorted({int(a // 1), -int(-a // 1)}):
        if m < 1:
            continue
        lo = [m if w > 0 else 0 for w in weights]
        hi = [cap * m if w > 0 else 0 for w in weights]
        shares = _nearest_in_box(total, exact, lo, hi)
        if shares is None:
            continue
        key = (sum((s - e) ** 2 for s, e in zip(shares, exact)), [-s for s in shares])
        if best is None or key < best[0]:
            best = (key, shares)
    if best is None:
        n = len(paid)
        raise ValueError(f"no split of {total} in whole units among {n} members keeps the pay-ratio cap of "
                         f"{cap}:1 (the smallest share would have to be a whole number from {total}/{n * cap} "
                         f"to {total}/{n}, and there is none)")
    shares = best[1]
    assert sum(shares) == total and respects_cap(shares, weights, cap), "a capped split keeps its cap"
    return shares


def _nearest_in_box(total: int, exact: list[Fraction], lo: list[int], hi: list[int]):
    """The integer shares lo ≤ s ≤ hi summing to `total` with the least Σ (s − exact)², earlier
    entries first on a tie; None if there are none. The unit that takes share i from x to x + 1
    costs 2(x − exact_i) + 1: units are taken by round r = x − ⌊exact_i⌋ (every unit of a round
    costs less than any unit of the next), within a round by the larger fractional part, then
    the earlier entry — with no bounds this is the largest-remainder rule."""
    if sum(lo) > total or sum(hi) < total:
        return None
    floors = [int(x // 1) for x in exact]

    def filled(r: int) -> int:
        return sum(min(max(f + r, l), h) for f, l, h in zip(floors, lo, hi))

    low = min(l - f for f, l in zip(floors, lo))            # filled(low) = Σ lo ≤ total
    high = max(h - f for f, h in zip(floors, hi))           # filled(high) = Σ hi ≥ total
    while low < high:                                       # the last round r with filled(r) ≤ total
        mid = (low + high + 1) // 2
        if filled(mid) <= total:
            low = mid
        else:
            high = mid - 1
    r = low
    shares = [min(max(f + r, l), h) for f, l, h in zip(floors, lo, hi)]
    left = total - sum(shares)
    open_ = [i for i, (f, l, h) in enumerate(zip(floors, lo, hi)) if l <= f + r < h]
    for i in sorted(open_, key=lambda i: (-(exact[i] - floors[i]), i))[:left]:
        shares[i] += 1
    assert sum(shares) == total
    return shares
