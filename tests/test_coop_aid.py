"""Worker and consumer co-op tools and mutual aid: property tests and scenarios."""

import json
import os
import random
from fractions import Fraction

import pytest
from click.testing import CliRunner
from hypothesis import given, settings, strategies as st

from ccl import aid as AID
from ccl import coop as C
from ccl import money
from ccl.cli.main import cli
from ccl.ledger import EngineState, Ledger, Refused
from ccl.store.sqlite import SqliteStore
from helpers import found, store_dump, value


# ---------------------------------------------------------------- splits

@settings(max_examples=300, deadline=None)
@given(st.integers(0, 10**12), st.lists(st.integers(0, 10**6), min_size=1, max_size=40).filter(lambda w: sum(w) > 0))
def test_split_sums_and_stays_within_a_unit_of_pro_rata(total, weights):
    shares = money.split(total, weights)
    assert sum(shares) == total
    weight_sum = sum(weights)
    for s, w in zip(shares, weights):
        assert abs(s - Fraction(total * w, weight_sum)) < 1


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10**9), st.lists(st.integers(1, 1000), min_size=2, max_size=30), st.integers(1, 10))
def test_pay_ratio_cap_holds_exactly_before_rounding(total, weights, cap):
    exact = money.exact_shares(total, weights, cap)
    assert sum(exact) == total
    assert max(exact) <= cap * min(exact)
    rounded = money.largest_remainder(total, exact)
    if total and max(rounded) > cap * min(rounded):
        return                                       # rounding breaks the cap: tests/test_caps.py
    shares = money.split(total, weights, cap)
    assert shares == rounded and sum(shares) == total
    assert all(abs(s - e) < 1 for s, e in zip(shares, exact))


def test_split_examples_and_errors():
    assert money.split(100, [1, 1, 1]) == [34, 33, 33]
    assert money.split(7, [0, 5, 0]) == [0, 7, 0]
    with pytest.raises(ValueError):
        money.split(10, [0, 0])
    assert value("fn run() -> Array<Integer> { split_pro_rata(10, [1, 2, 3]) }") == [2, 3, 5]


def ledger():
    store = SqliteStore.memory()
    cm = store.transaction()
    tx = cm.__enter__()
    return Ledger(EngineState(tx), 1_767_225_600)        # 2026-01-01 (engines check invariants, not who asks)


def test_distribute_profits_reserve_education_and_capital_accounts():
    L = ledger()
    C.set_policy(L, "did:key:admin", "capital_accounts", 1)
    rows = [["did:key:a", 160, 2], ["did:key:b", 120, 1], ["did:key:c", 40, 1]]
    out = C.distribute_profits(L, "did:key:admin", "did:web:bakery", 1_000_001, rows)
    assert out[0] == ["did:web:bakery#reserve", 300_000] and out[1] == ["did:web:bakery#education", 50_000]
    assert sum(a for _, a in out) == 1_000_001
    assert [a for _, a in out[2:]] == [433_334, 162_500, 54_167]
    assert L.balance("CAPITAL", "did:key:a") == 433_334


def test_pay_ratio_cap_in_distribution():
    L = ledger()
    C.set_policy(L, "did:key:admin", "pay_ratio_cap", 3)
    C.set_policy(L, "did:key:admin", "reserve_bps", 0)
    C.set_policy(L, "did:key:admin", "education_bps", 0)
    out = C.distribute_profits(L, "did:key:admin", "did:web:x", 10_000, [["did:key:a", 100, 10], ["did:key:b", 10, 1]])
    a, b = out[2][1], out[3][1]
    assert a + b == 10_000 and a <= 3 * b + 1


def test_patronage_rule_is_fixed_before_the_period_and_retained_goes_to_equity():
    L = ledger()
    C.set_patronage_rule(L, "did:key:admin", "2026", 6000)            # 60% cash, 40% retained
    C.record_purchase(L, "did:key:a", "did:key:a", 12_000)
    C.record_purchase(L, "did:key:b", "did:key:b", 3_000)
    with pytest.raises(Refused, match="fixed"):
        C.set_patronage_rule(L, "did:key:admin", "2026", 10_000)
    out = C.calculate_patronage(L, "did:key:admin", "2026", 1_001)
    assert sum(a for _, a in out) == 1_001
    notices = C.patronage_notices(L, "2026")["notices"]
    for n in notices:
        assert n["cash"] + n["retained"] == n["dividend"]
        assert L.balance("EQUITY", n["member"]) == n["retained"]
    with pytest.raises(Refused):
        C.calculate_patronage(L, "did:key:admin", "2026", 5)          # once per period


def test_period_of_is_the_utc_year():
    assert C.period_of(0) == "1970" and C.period_of(1_767_225_599) == "2025" and C.period_of(1_767_225_600) == "2026"
    assert C.period_of(951_782_400) == "2000"                           # 2000-02-29


# ---------------------------------------------------------------- mutual aid

def world(seed, n=60, span=30):
    rng = random.Random(seed)
    cats = ["food", "rides", "tools"]
    reqs = [{"id": f"need-{i}", "category": rng.choice(cats), "open": rng.randint(1, 5), "urgency": rng.randint(0, 10),
             "location": rng.choice([f"{rng.randint(0, span)},{rng.randint(0, span)}", "library"]), "created": i}
            for i in range(n)]
    offs = [{"id": f"offer-{i}", "category": rng.choice(cats), "open": rng.randint(1, 5), "provider": f"p{i % 7}",
             "location": rng.choice([f"{rng.randint(0, span)},{rng.randint(0, span)}", "library"]), "created": i}
            for i in range(n)]
    return reqs, offs


def brute(reqs, offs, emergency=False):
    boost = 10 if emergency else 0
    order = sorted(reqs, key=lambda r: (-(r["urgency"] + boost), r["created"], int(r["id"].split("-")[1])))
    left = {o["id"]: o["open"] for o in offs}
    out = []
    for r in order:
        need = r["open"]
        for o in sorted((o for o in offs if o["category"] == r["category"]),
                        key=lambda o: (AID.distance(r["location"], o["location"]), o["created"],
                                       int(o["id"].split("-")[1]))):
            if need == 0:
                break
            if left[o["id"]] == 0 or AID.distance(r["location"], o["location"]) >= AID.FAR:
                continue
            take = min(need, left[o["id"]])
            left[o["id"]] -= take
            need -= take
            out.append({"request": r["id"], "offer": o["id"], "quantity": take,
                        "distance": AID.distance(r["location"], o["location"])})
    return out


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10**6), st.randoms(use_true_random=False), st.booleans())
def test_matching_is_deterministic_under_reordering_and_never_over_allocates(seed, shuffler, emergency):
    reqs, offs = world(seed)
    first = AID.plan(reqs, offs, emergency=emergency)
    shuffled_r, shuffled_o = list(reqs), list(offs)
    shuffler.shuffle(shuffled_r)
    shuffler.shuffle(shuffled_o)
    assert AID.plan(shuffled_r, shuffled_o, emergency=emergency) == first
    given_out = {}
    for m in first:
        given_out[m["offer"]] = given_out.get(m["offer"], 0) + m["quantity"]
    assert all(given_out[o["id"]] <= o["open"] for o in offs if o["id"] in given_out)
    got = {}
    for m in first:
        got[m["request"]] = got.get(m["request"], 0) + m["quantity"]
    assert all(got[r["id"]] <= r["open"] for r in reqs if r["id"] in got)
    assert first == brute(reqs, offs, emergency)          # the index finds exactly what a full scan finds


def test_urgency_emergency_and_partial_fills():
    reqs = [{"id": "need-1", "category": "food", "open": 4, "urgency": 2, "location": "0,0", "created": 1},
            {"id": "need-2", "category": "food", "open": 4, "urgency": 9, "location": "50,50", "created": 2}]
    offs = [{"id": "offer-3", "category": "food", "open": 5, "provider": "p", "location": "1,1", "created": 3}]
    m = AID.plan(reqs, offs)
    assert [(x["request"], x["quantity"]) for x in m] == [("need-2", 4), ("need-1", 1)]


# The co-op of the command-line scenarios: ana founds it and is its Steward; cy is the Treasurer
# (co-op policy, patronage, distributions) and the aid Coordinator; bo is a plain member; eve has
# a key but was never admitted.
BYLAWS = """\
contract Commons {
    founder: Steward;

    role Steward { can: [manage_members, manage_roles]; }
    role Treasurer { can: [manage_coop]; }
    role Coordinator { can: [manage_aid]; }
}
"""


def ws_cli(tmp_path, *args):
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    finally:
        os.chdir(old)


def commons(tmp_path):
    bylaws = tmp_path / "commons.ccl"
    bylaws.write_text(BYLAWS)
    found(tmp_path, "ana", ("bo", "cy"), bylaws=[str(bylaws)], roles={"cy": "Treasurer"})
    assert ws_cli(tmp_path, "role", "grant", "cy", "Coordinator", "--as", "ana").exit_code == 0
    assert ws_cli(tmp_path, "id", "new", "eve").exit_code == 0
    return tmp_path


def test_aid_scenario_with_hours_for_the_provider(tmp_path):
    commons(tmp_path)
    for cmd in (["aid", "setting", "hours_per_unit", 20, "--as", "cy"],            # the Coordinator
                ["aid", "request", "meals", 3, "--urgency", 9, "--location", "0,0", "--as", "ana"],
                ["aid", "offer", "meals", 5, "--location", "3,4", "--as", "bo"]):
        r = ws_cli(tmp_path, *cmd)
        assert r.exit_code == 0, (cmd, r.output)
    matches = json.loads(ws_cli(tmp_path, "aid", "match", "--as", "ana", "--json").stdout.splitlines()[-1])["result"]
    assert matches == [{"id": matches[0]["id"], "request": "need-1", "offer": "offer-2", "quantity": 3, "distance": 5}]
    assert ws_cli(tmp_path, "aid", "fulfil", matches[0]["id"], "--as", "bo").exit_code == 1     # the requester confirms
    assert ws_cli(tmp_path, "aid", "fulfil", matches[0]["id"], "--as", "ana").exit_code == 0
    assert ws_cli(tmp_path, "hours", "balance", "bo").stdout.strip() == "1h"
    assert ws_cli(tmp_path, "dag", "replay").exit_code == 0


def test_work_logs_feed_the_split_and_notices_print_as_csv(tmp_path):
    commons(tmp_path)
    for cmd in (["work", "log", "ana", 600, "baking", "--as", "ana", "--at", 100],
                ["work", "log", "bo", 300, "deliveries", "--as", "bo", "--at", 200],
                ["purchase", "ana", "9", "--as", "ana", "--at", 300],
                ["purchase", "bo", "1", "--as", "bo", "--at", 300],
                ["patronage", "calculate", "1970", "0.50", "--as", "cy", "--at", 400]):      # the Treasurer
        r = ws_cli(tmp_path, *cmd)
        assert r.exit_code == 0, (cmd, r.output)
    r = ws_cli(tmp_path, "coop", "distribute", "did:web:bakery", "10", "--as", "cy", "--json")
    out = json.loads(r.stdout.splitlines()[-1])["result"]
    did = {n: ws_cli(tmp_path, "id", "show", n).stdout.strip() for n in ("ana", "bo")}
    assert [d["amount"] for d in out[:2]] == [300, 50]                                  # cents of 10.00
    assert {d["member"]: d["amount"] for d in out[2:]} == {did["ana"]: 433, did["bo"]: 217}   # 10 h : 5 h
    csv_text = ws_cli(tmp_path, "patronage", "notices", "1970", "--csv").stdout
    assert csv_text.splitlines()[0] == "member,purchases,dividend,cash,retained" and len(csv_text.splitlines()) == 3


PRIVILEGED = {
    "coop policy": (["coop", "policy", "reserve_bps", 9000], "manage_coop"),
    "coop distribute": (["coop", "distribute", "did:web:bakery", "10"], "manage_coop"),
    "patronage rule": (["patronage", "rule", "2030", 5000], "manage_coop"),
    "patronage calculate": (["patronage", "calculate", "1970", "0.50", "--at", 400], "manage_coop"),
    "aid setting": (["aid", "setting", "emergency", 1], "manage_aid"),
}


@pytest.mark.parametrize("op", sorted(PRIVILEGED))
@pytest.mark.parametrize("who", ["eve", "bo"])
def test_privileged_operations_are_refused_to_outsiders_and_plain_members(tmp_path, who, op):
    commons(tmp_path)
    for cmd in (["work", "log", "ana", 600, "baking", "--as", "ana", "--at", 100],
                ["purchase", "ana", "9", "--as", "ana", "--at", 300]):
        assert ws_cli(tmp_path, *cmd).exit_code == 0
    args, permission = PRIVILEGED[op]
    before = store_dump(tmp_path)
    r = ws_cli(tmp_path, *args, "--as", who, "--json")
    assert r.exit_code == 1, r.output
    message = json.loads(r.stdout.splitlines()[-1])["error"]["message"]
    assert ("not a member" if who == "eve" else f"lacks `{permission}`") in message
    assert store_dump(tmp_path) == before
    r = ws_cli(tmp_path, *args, "--as", "cy", "--json")                  # who holds the role may
    assert r.exit_code == 0, r.output


OPEN_AID = """\
contract OpenAid {
    open_operations: "request_aid";

    open fn ask(category: String, quantity: Integer) -> String { request_aid(caller(), category, quantity, 5, "library") }
    open fn panic() -> Bool { set_aid_setting("emergency", 1) }
}
"""


def test_a_non_member_asks_for_aid_only_where_the_bylaws_open_it(tmp_path):
    commons(tmp_path)
    before = store_dump(tmp_path)
    r = ws_cli(tmp_path, "aid", "request", "meals", 1, "--as", "eve", "--json")
    assert r.exit_code == 1 and "not a member" in r.output
    assert store_dump(tmp_path) == before
    # bylaws that open `request_aid` to everyone, through an `open fn`
    other = tmp_path / "open"
    other.mkdir()
    (other / "open_aid.ccl").write_text(OPEN_AID)
    found(other, "ana", ("bo",), bylaws=[str(other / "open_aid.ccl")])
    assert ws_cli(other, "id", "new", "eve").exit_code == 0
    r = ws_cli(other, "call", "OpenAid", "ask", "--args", '["meals", 2]', "--as", "eve", "--json")
    assert r.exit_code == 0, r.output
    listed = ws_cli(other, "aid", "list", "--json").stdout
    assert "meals" in listed
    before = store_dump(other)
    r = ws_cli(other, "call", "OpenAid", "panic", "--as", "eve", "--json")
    assert r.exit_code == 1 and "not a member" in r.output           # only the operations the bylaws open
    assert store_dump(other) == before


# ---------------------------------------------------------------- the templates

def template_ws(tmp_path, contract, roles):
    """A demo co-op that adopted the template at founding: ana founds it (the built-in
    `founder` role: she admits members and grants roles), bo, cy and dee are members."""
    import shutil
    from pathlib import Path

    shutil.copy(Path(__file__).parent.parent / "contracts" / contract, tmp_path)
    found(tmp_path, "ana", ("bo", "cy", "dee"), bylaws=[str(tmp_path / contract)], roles=roles)


def run_fn(tmp_path, contract, fn, args, who, at=0):
    r = ws_cli(tmp_path, "call", contract, fn, "--args", json.dumps(args), "--as", who, "--at", at, "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout.splitlines()[-1])["result"]


def test_worker_coop_template(tmp_path):
    template_ws(tmp_path, "worker_coop.ccl", {"bo": "Worker", "cy": "Treasurer"})
    assert run_fn(tmp_path, "WorkerCoop", "adopt_policy", [], "cy") is True
    run_fn(tmp_path, "WorkerCoop", "worked", [480, "baking"], "cy", at=100)
    run_fn(tmp_path, "WorkerCoop", "worked", [60, "cleaning"], "bo", at=200)
    out = run_fn(tmp_path, "WorkerCoop", "close_year", ["did:web:bakery", 100_000, 0, 1000], "cy", at=2000)
    amounts = [d["amount"] for d in out]
    assert amounts[:2] == [30_000, 5_000] and sum(amounts) == 100_000
    assert amounts[2] <= 4 * amounts[3] + 1                       # the 4:1 cap (8 hours against 1)
    r = ws_cli(tmp_path, "call", "WorkerCoop", "close_year", "--args",
               json.dumps(["did:web:bakery", 5, 0, 1000]), "--as", "cy", "--json")
    assert r.exit_code == 1                                        # a year closes once
    r = ws_cli(tmp_path, "call", "WorkerCoop", "worked", "--args", json.dumps([60, "x"]), "--as", "dee", "--json")
    assert r.exit_code == 1 and "log_work" in r.output             # not a Worker


def test_consumer_coop_template(tmp_path):
    template_ws(tmp_path, "consumer_coop.ccl", {"bo": "Cashier", "cy": "Board"})
    run_fn(tmp_path, "FoodCoop", "fix_rule", ["1970"], "cy", at=0)
    bo = ws_cli(tmp_path, "id", "show", "bo").stdout.strip()
    ana = ws_cli(tmp_path, "id", "show", "ana").stdout.strip()
    run_fn(tmp_path, "FoodCoop", "sale", [ana, 7500], "bo", at=10)      # the cashier rings up
    run_fn(tmp_path, "FoodCoop", "sale", [bo, 2500], "bo", at=10)
    out = run_fn(tmp_path, "FoodCoop", "dividends", ["1970", 1000], "cy", at=20)
    assert {d["member"]: d["amount"] for d in out} == {ana: 750, bo: 250}
    notices = json.loads(ws_cli(tmp_path, "patronage", "notices", "1970", "--json").stdout)["notices"]
    assert {n["member"]: (n["cash"], n["retained"]) for n in notices} == {ana: (525, 225), bo: (175, 75)}


def test_mutual_aid_template(tmp_path):
    template_ws(tmp_path, "mutual_aid_network.ccl", {"bo": "Neighbour", "cy": "Coordinator", "dee": "Neighbour"})
    run_fn(tmp_path, "MutualAid", "setup", [], "cy")
    need = run_fn(tmp_path, "MutualAid", "need", ["firewood", 2, 7, "0,0"], "dee")
    run_fn(tmp_path, "MutualAid", "give", ["firewood", 5, "0,3"], "bo")
    matches = run_fn(tmp_path, "MutualAid", "match_now", [], "cy")
    assert [(m["request"], m["quantity"], m["distance"]) for m in matches] == [(need, 2, 3)]
    assert run_fn(tmp_path, "MutualAid", "received", [matches[0]["id"]], "dee") is True
    assert ws_cli(tmp_path, "hours", "balance", "bo").stdout.strip() == "1h"
    assert run_fn(tmp_path, "MutualAid", "emergency", [True], "cy") is True


def test_member_discount_is_a_benefit_of_active_members():
    L = ledger()
    from ccl import governance as G

    G.add_member(L, "did:key:admin", "did:key:admin")
    C.set_policy(L, "did:key:admin", "member_discount_bps", 500)
    assert C.member_price(L, "did:key:admin", 2_000) == 1_900
    assert C.member_price(L, "did:key:stranger", 2_000) == 2_000
