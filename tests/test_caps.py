"""The pay-ratio cap holds on the whole-unit shares: the nearest split that keeps it (checked
against a brute-force search), or a refusal exactly when none exists."""

import itertools
import json
import math
from fractions import Fraction

import pytest
from hypothesis import given, settings, strategies as st

from ccl import coop as C
from ccl import money
from ccl.ledger import Refused
from test_coop_aid import commons, ledger, ws_cli


def keeps(shares, weights, cap):
    paid = [s for s, w in zip(shares, weights) if w > 0]
    return all(s == 0 for s, w in zip(shares, weights) if w == 0) and min(paid) >= 1 and max(paid) <= cap * min(paid)


def some_split_keeps(total, weights, cap):
    """A whole-unit split keeps the cap iff a whole m has n·m ≤ total ≤ n·cap·m (n members paid)."""
    n = sum(1 for w in weights if w > 0)
    return total == 0 or math.floor(Fraction(total, n)) >= math.ceil(Fraction(total, n * cap))


def brute_force(total, weights, cap):
    """The definition, by enumeration: least Σ (share − exact)², then more to earlier entries."""
    exact = money.exact_shares(total, weights, cap)
    best = None
    for shares in itertools.product(range(total + 1), repeat=len(weights)):
        if sum(shares) != total or (total and not keeps(shares, weights, cap)):
            continue
        key = (sum((s - e) ** 2 for s, e in zip(shares, exact)), [-s for s in shares])
        if best is None or key < best[0]:
            best = (key, list(shares))
    return None if best is None else best[1]


def test_the_reported_split():
    assert money.split(99, [100, 1], 6) == [84, 15]                       # largest remainder gave 85 and 14
    assert money.largest_remainder(99, money.exact_shares(99, [100, 1], 6)) == [85, 14]


def test_splits_that_already_keep_the_cap_are_unchanged():
    assert money.split(10_000, [1000, 10], 3) == money.largest_remainder(10_000, money.exact_shares(10_000, [1000, 10], 3))
    assert money.split(100, [1, 1, 1], 2) == [34, 33, 33]


@pytest.mark.parametrize("total, weights, cap", [(2, [1, 1, 1], 6), (10, [1, 1, 1], 1), (7, [5, 0, 5], 1)])
def test_no_whole_unit_split_keeps_the_cap(total, weights, cap):
    assert brute_force(total, weights, cap) is None
    with pytest.raises(ValueError, match=f"keeps the pay-ratio cap of {cap}:1"):
        money.split(total, weights, cap)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 24), st.lists(st.integers(0, 9), min_size=1, max_size=3).filter(lambda w: sum(w) > 0),
       st.integers(1, 5))
def test_the_split_is_the_nearest_that_keeps_the_cap(total, weights, cap):
    expected = brute_force(total, weights, cap)
    if expected is None:
        with pytest.raises(ValueError):
            money.split(total, weights, cap)
    else:
        assert money.split(total, weights, cap) == expected


@settings(max_examples=400, deadline=None)
@given(st.integers(0, 10 ** 9), st.lists(st.integers(0, 1000), min_size=1, max_size=30).filter(lambda w: sum(w) > 0),
       st.integers(1, 12))
def test_capped_shares_sum_to_the_total_and_keep_the_cap_or_are_refused(total, weights, cap):
    if not some_split_keeps(total, weights, cap):
        with pytest.raises(ValueError, match="no split"):
            money.split(total, weights, cap)
        return
    shares = money.split(total, weights, cap)
    assert sum(shares) == total
    if total:
        assert keeps(shares, weights, cap)


def test_hundreds_of_two_member_splits_keep_the_cap():
    """The sweep of the report, in small: cap 6, hours h:1, every total — each capped split now keeps it."""
    broken = 0
    for h in range(7, 30):
        for total in range(1, 120):
            exact = money.exact_shares(total, [h, 1], 6)
            if exact[1] * 6 != exact[0]:
                continue                                     # the cap does not bind
            if not keeps(money.largest_remainder(total, exact), [h, 1], 6):
                broken += 1
            if some_split_keeps(total, [h, 1], 6):
                assert keeps(money.split(total, [h, 1], 6), [h, 1], 6)
            else:
                with pytest.raises(ValueError):
                    money.split(total, [h, 1], 6)
    assert broken > 1000                                    # rounding alone broke the cap in most of them


def test_distribute_profits_refuses_a_split_no_whole_units_can_cap():
    L = ledger()
    for key, value in (("pay_ratio_cap", 1), ("reserve_bps", 0), ("education_bps", 0)):
        C.set_policy(L, "did:key:admin", key, value)
    rows = [["did:key:a", 10, 1], ["did:key:b", 5, 1], ["did:key:c", 1, 1]]
    assert [a for _, a in C.distribute_profits(L, "did:key:admin", "did:web:x", 9, rows)[2:]] == [3, 3, 3]
    with pytest.raises(Refused, match="no split of 10 in whole units among 3 members") as e:
        C.distribute_profits(L, "did:key:admin", "did:web:x", 10, rows)
    assert e.value.rule == "split" and "pay_ratio_cap" in e.value.hint


def test_the_refusal_on_the_command_line_is_h0600(tmp_path):
    commons(tmp_path)
    for cmd in (["work", "log", "ana", 600, "baking", "--as", "ana", "--at", 100],
                ["work", "log", "bo", 60, "deliveries", "--as", "bo", "--at", 200],
                ["coop", "policy", "pay_ratio_cap", 1, "--as", "cy"]):
        assert ws_cli(tmp_path, *cmd).exit_code == 0, cmd
    r = ws_cli(tmp_path, "coop", "distribute", "did:web:bakery", "10.01", "--as", "cy", "--json")   # 10.01: 651 cents between two
    assert r.exit_code == 1
    error = json.loads(r.stdout.splitlines()[-1])["error"]
    assert error["code"] == "H0600" and "pay-ratio cap of 1:1" in error["message"]
    r = ws_cli(tmp_path, "coop", "distribute", "did:web:bakery", "10.00", "--as", "cy", "--json")   # 650 cents: 325 each
    assert r.exit_code == 0, r.output
    assert [d["amount"] for d in json.loads(r.stdout.splitlines()[-1])["result"][2:]] == [325, 325]
