"""Exact money arithmetic shared by the engines and the builtins: splitting a whole amount.

Leaf module (imports fractions). `split(total, weights)` gives integer shares by the
largest-remainder rule: they sum exactly to `total`, none differs from its exact pro-rata value
by a unit or more, and a leftover unit goes to the larger remainder (the earlier entry on a tie).
With a pay-ratio cap k, no share exceeds k × the smallest positive share; the excess goes to the
others in proportion to their weights. Errors are ValueError with a message for members.
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
    return largest_remainder(total, exact_shares(total, weights, pay_ratio_cap))
