"""The roadmap's banking scenarios, through the command line and through CCL.

The test co-op's bylaws (BYLAWS) declare who may do what: alice founds it and is its Steward
(admits members, grants roles); dana is the Treasurer (credit limits, currencies, loans, pools);
bob and carol are plain members until a role is granted to them. eve has a key but was never
admitted."""

import json
import os

import pytest
from click.testing import CliRunner

from ccl.cli.main import cli
from helpers import found, store_dump

BYLAWS = """\
contract Bank {
    founder: Steward;

    role Steward { can: [manage_members, manage_roles]; }
    role Treasurer { can: [manage_credit, manage_currency, mint, approve_loan, write_off, manage_pool, approve_claim]; }
    role Minter { can: [mint]; }
    role ClaimsReviewer { can: [approve_claim]; }
}
"""


def ccl(ws, *args):
    old = os.getcwd()
    os.chdir(ws)
    try:
        return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    finally:
        os.chdir(old)


def out(r):
    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.fixture
def ws(tmp_path):
    bylaws = tmp_path / "bank.ccl"
    bylaws.write_text(BYLAWS)
    found(tmp_path, "alice", ("bob", "carol", "dana"), bylaws=[str(bylaws)], roles={"dana": "Treasurer"})
    assert ccl(tmp_path, "id", "new", "eve").exit_code == 0        # a key, never admitted
    return tmp_path


def balance(ws, member, cmd="credit"):
    return out(ccl(ws, cmd, "balance", member, "--json"))["balance"]


def test_mutual_credit_flow(ws):
    r = ccl(ws, "credit", "issue", "--as", "alice", "bob", "100")
    assert r.exit_code == 0, r.output
    assert "alice issued 100.00 CREDIT to bob" in r.stdout
    assert ccl(ws, "credit", "balance", "alice").stdout.strip() == "-100.00 CREDIT"
    assert ccl(ws, "credit", "balance", "bob").stdout.strip() == "100.00 CREDIT"
    # past a credit floor (−1000.00 CREDIT): exit 1, a message naming the limit, every balance unchanged
    r = ccl(ws, "credit", "transfer", "--as", "carol", "bob", "1000.01", "--json")
    assert r.exit_code == 1
    assert "floor" in out(r)["error"]["message"] and "-100000" in out(r)["error"]["message"]
    assert [balance(ws, m) for m in ("alice", "bob", "carol")] == [-10000, 10000, 0]      # cents
    history = out(ccl(ws, "credit", "history", "bob", "--json"))["history"]
    assert [(h["kind"], h["delta"], h["balance"]) for h in history] == [("issue", 10000, 10000)]


def test_members_move_only_their_own_funds(ws, tmp_path):
    bylaw = tmp_path / "steal.ccl"
    did_bob = ccl(ws, "id", "show", "bob").stdout.strip()
    did_carol = ccl(ws, "id", "show", "carol").stdout.strip()
    bylaw.write_text(f'fn run() -> Bool {{ transfer_credit({did_bob}, {did_carol}, 5) }}')
    before = store_dump(ws)
    r = ccl(ws, "run", str(bylaw), "--as", "carol", "--json")
    assert r.exit_code == 1 and out(r)["error"]["kind"] == "host"
    assert "may not transfer_credit: the caller is not `from`" in out(r)["error"]["message"]
    assert store_dump(ws) == before


def test_credit_limits_need_permission(ws):
    did_bob = ccl(ws, "id", "show", "bob").stdout.strip()
    r = ccl(ws, "credit", "limit", "--as", "bob", did_bob, "-1000000", "1000000", "--json")
    assert r.exit_code == 1 and "manage_credit" in out(r)["error"]["message"]
    assert ccl(ws, "credit", "limit", "--as", "dana", "bob", "-50", "1000").exit_code == 0      # the Treasurer
    r = ccl(ws, "credit", "issue", "--as", "bob", "carol", "50.01", "--json")
    assert r.exit_code == 1 and "floor of -5000" in out(r)["error"]["message"]               # −50.00 CREDIT


def test_time_bank_record_confirm_and_statement(ws):
    record = out(ccl(ws, "hours", "log", "--as", "bob", "alice", "90", "fixed the bike", "--json"))["result"]
    assert balance(ws, "bob", "hours") == 0                      # not until alice confirms
    r = ccl(ws, "hours", "confirm", "--as", "bob", record, "--json")
    assert r.exit_code == 1 and "confirm" in out(r)["error"]["message"]
    assert ccl(ws, "hours", "confirm", "--as", "alice", record).exit_code == 0
    assert ccl(ws, "hours", "trade", "--as", "bob", "carol", "30").exit_code == 0
    assert [balance(ws, m, "hours") for m in ("alice", "bob", "carol")] == [-90, 60, 30]
    statement = out(ccl(ws, "hours", "history", "bob", "--json"))["history"]
    assert sum(h["delta"] for h in statement) == statement[-1]["balance"] == 60   # reconciles exactly


def test_local_currency_policy_and_soulbound(ws):
    assert ccl(ws, "currency", "create", "--as", "dana", "RIV", "Riverside dollar", "--cap", "1000").exit_code == 0
    assert ccl(ws, "role", "grant", "bob", "Minter", "--as", "alice").exit_code == 0
    assert ccl(ws, "currency", "mint", "--as", "bob", "RIV", "carol", "600").exit_code == 0
    r = ccl(ws, "currency", "mint", "--as", "bob", "RIV", "carol", "401", "--json")
    assert r.exit_code == 1 and "cap" in out(r)["error"]["message"]
    r = ccl(ws, "currency", "mint", "--as", "carol", "RIV", "carol", "1", "--json")
    assert r.exit_code == 1 and "mint:RIV" in out(r)["error"]["message"]
    assert ccl(ws, "currency", "transfer", "--as", "carol", "RIV", "alice", "100").exit_code == 0
    assert ccl(ws, "currency", "burn", "--as", "carol", "RIV", "50").exit_code == 0
    r = out(ccl(ws, "currency", "balance", "RIV", "carol", "--json"))
    assert (r["balance"], r["supply"]) == (450, 550)
    assert ccl(ws, "currency", "create", "--as", "dana", "BADGE", "volunteer badge", "--soulbound").exit_code == 0
    assert ccl(ws, "currency", "mint", "--as", "dana", "BADGE", "bob", "1").exit_code == 0      # Treasurer: mint
    r = ccl(ws, "currency", "transfer", "--as", "bob", "BADGE", "carol", "1", "--json")
    assert r.exit_code == 1 and "transferable" in out(r)["error"]["message"]


def test_demurrage_decays_positive_balances(ws):
    assert ccl(ws, "currency", "create", "--as", "dana", "LEAF", "leaf", "--demurrage-bps", "100", "--period-days",
               "30", "--at", "0").exit_code == 0
    assert ccl(ws, "currency", "mint", "--as", "dana", "LEAF", "bob", "10000", "--at", "0").exit_code == 0
    # two full periods later bob's next move first pays 1% twice: 10000 → 9900 → 9801
    assert ccl(ws, "currency", "transfer", "--as", "bob", "LEAF", "carol", "1", "--at", str(61 * 86400)).exit_code == 0
    r = out(ccl(ws, "currency", "balance", "LEAF", "bob", "--json"))
    assert r["balance"] <= 9800


def test_loan_requested_approved_disbursed_repaid(ws):
    # members fund the lending pool with credit
    for m in ("alice", "carol"):
        assert ccl(ws, "loan", "deposit", "--as", m, "50").exit_code == 0
    loan_id = out(ccl(ws, "loan", "request", "--as", "bob", "30", "a cargo bike", "90", "--json", "--at", "0"))["result"]
    score = out(ccl(ws, "loan", "evaluate", "--as", "carol", loan_id, "--json"))["result"]
    assert 0 <= score <= 100
    r = ccl(ws, "loan", "approve", "--as", "bob", loan_id, "--json")
    assert r.exit_code == 1 and "approve_loan" in out(r)["error"]["message"]        # not authorized
    assert ccl(ws, "loan", "approve", "--as", "dana", loan_id, "--at", "0").exit_code == 0
    assert balance(ws, "bob") == 3000                                                 # 30.00 CREDIT, in cents
    shown = out(ccl(ws, "loan", "show", loan_id, "--json"))["loan"]
    assert shown["status"] == "active" and len(shown["schedule"]) == 3
    assert sum(i["amount"] for i in shown["schedule"]) == 3000
    for _ in range(3):
        assert ccl(ws, "loan", "repay", "--as", "bob", loan_id, "10").exit_code == 0
    loans = out(ccl(ws, "loan", "list", "--json"))["loans"]
    assert loans[0]["status"] == "repaid" and loans[0]["paid"] == 3000
    r = ccl(ws, "loan", "repay", "--as", "bob", loan_id, "0.01", "--json")
    assert r.exit_code == 1
    assert ccl(ws, "dag", "verify").exit_code == 0 and ccl(ws, "dag", "replay").exit_code == 0


def test_risk_pool_claim_paid_by_the_others(ws):
    assert ccl(ws, "role", "grant", "carol", "ClaimsReviewer", "--as", "alice").exit_code == 0
    assert ccl(ws, "pool", "create", "--as", "dana", "circle", "1", "5").exit_code == 0
    for m in ("alice", "bob", "carol"):
        assert ccl(ws, "pool", "join", "--as", m, "circle").exit_code == 0
        assert ccl(ws, "pool", "contribute", "--as", m, "circle", "3").exit_code == 0
    r = ccl(ws, "pool", "contribute", "--as", "bob", "circle", "3", "--json")
    assert r.exit_code == 1 and "cap" in out(r)["error"]["message"]
    claim = out(ccl(ws, "pool", "claim", "--as", "bob", "circle", "4", "sick leave", "--json"))["result"]
    assert ccl(ws, "pool", "approve", "--as", "bob", claim).exit_code == 1            # not one's own
    assert ccl(ws, "pool", "approve", "--as", "carol", claim).exit_code == 0
    assert balance(ws, "bob") == -300 + 400                                        # cents
    # holding approve_claim never lets a member approve their own claim
    own = out(ccl(ws, "pool", "claim", "--as", "carol", "circle", "0.50", "a broken wrist", "--json"))["result"]
    r = ccl(ws, "pool", "approve", "--as", "carol", own, "--json")
    assert r.exit_code == 1 and "own claim" in out(r)["error"]["message"]


def test_icn_core_names_check_and_run(ws, tmp_path):
    bylaw = tmp_path / "icn.ccl"
    did_dana = ccl(ws, "id", "show", "dana").stdout.strip()
    bylaw.write_text(f"""
        fn run() -> Integer {{
            create_token_class("SEED", "seed library token", "SEED", {did_dana});
            mint_tokens("SEED", {did_dana}, 12);
            get_token_balance("SEED", {did_dana})
        }}""")
    r = ccl(ws, "run", str(bylaw), "--as", "dana", "--json")              # the Treasurer's permissions
    assert r.exit_code == 0, r.output
    assert out(r)["result"] == 12
    r = ccl(ws, "run", str(bylaw), "--as", "alice", "--json")             # the Steward holds neither
    assert r.exit_code == 1 and "manage_currency" in out(r)["error"]["message"]


def test_write_off_and_its_effect_on_the_next_evaluation(ws):
    ccl(ws, "loan", "deposit", "--as", "alice", "50")
    first = out(ccl(ws, "loan", "request", "--as", "bob", "10", "tools", "30", "--json"))["result"]
    assert ccl(ws, "loan", "approve", "--as", "dana", first).exit_code == 0
    assert ccl(ws, "loan", "write-off", "--as", "carol", first).exit_code == 1          # needs write_off
    assert ccl(ws, "loan", "write-off", "--as", "dana", first).exit_code == 0
    second = out(ccl(ws, "loan", "request", "--as", "bob", "10", "more tools", "30", "--json"))["result"]
    shown = out(ccl(ws, "loan", "evaluate", "--as", "alice", second, "--json"))
    loan = out(ccl(ws, "loan", "show", second, "--json"))["loan"]
    assert shown["result"] >= 50 and any("written off" in r for r in loan["reasons"])


def test_loan_interest_from_the_currency_policy(ws):
    ccl(ws, "loan", "deposit", "--as", "alice", "90")                              # creates CREDIT
    assert ccl(ws, "currency", "policy", "--as", "dana", "CREDIT", "interest_bps", "1000").exit_code == 0
    loan = out(ccl(ws, "loan", "request", "--as", "bob", "36.50", "oven", "365", "--json"))["result"]
    assert ccl(ws, "loan", "approve", "--as", "dana", loan).exit_code == 0
    shown = out(ccl(ws, "loan", "show", loan, "--json"))["loan"]
    assert shown["interest"] == 365 and shown["due"] == 4015                       # 3.65 and 40.15 CREDIT
    assert sum(i["amount"] for i in shown["schedule"]) == 4015
    r = ccl(ws, "loan", "repay", "--as", "bob", loan, "40.16", "--json")
    assert r.exit_code == 1                                                   # more than is owed
    assert ccl(ws, "loan", "repay", "--as", "bob", loan, "40.15").exit_code == 0
    assert out(ccl(ws, "loan", "list", "--json"))["loans"][0]["status"] == "repaid"


# ---------------------------------------------------------------- who may: refusals change nothing

def _setup_for_refusals(ws):
    """A currency, loans and a claim waiting for someone allowed to act on them."""
    assert ccl(ws, "currency", "create", "--as", "dana", "RIV", "Riverside dollar", "--cap", "1000").exit_code == 0
    assert ccl(ws, "loan", "deposit", "--as", "alice", "50").exit_code == 0
    assert ccl(ws, "loan", "request", "--as", "bob", "10", "tools", "30").exit_code == 0         # loan-1
    assert ccl(ws, "loan", "request", "--as", "carol", "5", "seeds", "30").exit_code == 0        # loan-2
    assert ccl(ws, "loan", "approve", "loan-2", "--as", "dana").exit_code == 0
    assert ccl(ws, "pool", "create", "--as", "dana", "circle", "1", "5").exit_code == 0
    for m in ("alice", "bob"):
        assert ccl(ws, "pool", "join", "--as", m, "circle").exit_code == 0
        assert ccl(ws, "pool", "contribute", "--as", m, "circle", "3").exit_code == 0
    assert ccl(ws, "pool", "claim", "--as", "bob", "circle", "2", "sick leave").exit_code == 0


PRIVILEGED = {
    "credit limit": (["credit", "limit", "bob", "-1000000", "1000000"], "manage_credit"),
    "currency create": (["currency", "create", "SEED", "seed token", "--cap", "10"], "manage_currency"),
    "currency mint": (["currency", "mint", "RIV", "carol", "5"], "mint:RIV"),
    "currency policy": (["currency", "policy", "RIV", "cap", "100000"], "manage_currency:RIV"),
    "loan approve": (["loan", "approve", "loan-1"], "approve_loan"),
    "loan write-off": (["loan", "write-off", "loan-2"], "write_off"),
    "pool create": (["pool", "create", "circle2", "1", "5"], "manage_pool"),
    "pool approve": (["pool", "approve", "claim-1"], "approve_claim"),
}


@pytest.mark.parametrize("op", sorted(PRIVILEGED))
@pytest.mark.parametrize("who", ["eve", "carol"])
def test_privileged_operations_are_refused_to_outsiders_and_plain_members(ws, who, op):
    _setup_for_refusals(ws)
    args, permission = PRIVILEGED[op]
    before = store_dump(ws)
    r = ccl(ws, *args, "--as", who, "--json")
    assert r.exit_code == 1, r.output
    message = out(r)["error"]["message"]
    if who == "eve":                                           # never admitted
        assert "not a member" in message
    else:                                                      # a member without the role
        assert f"lacks `{permission}`" in message
    assert store_dump(ws) == before
    # the Treasurer may (so the refusal was about who asked, not about the operation)
    r = ccl(ws, *args, "--as", "dana", "--json")
    assert r.exit_code == 0, r.output


def test_a_non_member_cannot_issue_credit_to_a_member(ws):
    before = store_dump(ws)
    r = ccl(ws, "credit", "issue", "--as", "eve", "bob", "100", "--json")
    assert r.exit_code == 1 and "not a member" in out(r)["error"]["message"]
    r = ccl(ws, "credit", "transfer", "--as", "eve", "bob", "1", "--json")
    assert r.exit_code == 1 and "not a member" in out(r)["error"]["message"]
    assert store_dump(ws) == before
    assert [balance(ws, m) for m in ("bob", "eve")] == [0, 0]


def test_hours_logged_for_a_member_stay_pending_and_reserve_nothing(ws):
    # bob says he worked ten hours for carol: her whole floor (−600 minutes), if it counted
    record = out(ccl(ws, "hours", "log", "carol", "600", "painted the fence", "--as", "bob", "--json"))["result"]
    pending = out(ccl(ws, "hours", "pending", "carol", "--json"))["pending"]
    assert [(c["id"], c["minutes"], c["status"]) for c in pending] == [(record, 600, "pending")]
    assert "painted the fence" in ccl(ws, "hours", "pending", "carol").stdout
    assert [balance(ws, m, "hours") for m in ("bob", "carol")] == [0, 0]
    # nothing of carol's floor is reserved: she can still spend all of it herself
    assert ccl(ws, "hours", "trade", "--as", "carol", "alice", "600").exit_code == 0
    assert balance(ws, "carol", "hours") == -600
    # only carol answers the claim; she declines it, and then it cannot be confirmed
    r = ccl(ws, "hours", "decline", record, "--as", "bob", "--json")
    assert r.exit_code == 1
    assert ccl(ws, "hours", "decline", record, "--as", "carol").exit_code == 0
    r = ccl(ws, "hours", "confirm", record, "--as", "carol", "--json")
    assert r.exit_code == 1 and "declined" in out(r)["error"]["message"]
    assert out(ccl(ws, "hours", "pending", "carol", "--json"))["pending"] == []
    assert [balance(ws, m, "hours") for m in ("alice", "bob", "carol")] == [600, 0, -600]


def test_hours_claims_expire_after_30_days(ws):
    day = 86_400
    t0 = json.loads(ccl(ws, "clock", "show", "--json").stdout)["time"]
    first = out(ccl(ws, "hours", "log", "alice", "60", "gardening", "--as", "bob", "--at", t0, "--json"))["result"]
    second = out(ccl(ws, "hours", "log", "alice", "30", "more gardening", "--as", "bob", "--at", t0, "--json"))["result"]
    assert ccl(ws, "hours", "confirm", first, "--as", "alice", "--at", t0 + 30 * day).exit_code == 0   # in time
    r = ccl(ws, "hours", "confirm", second, "--as", "alice", "--at", t0 + 30 * day + 1, "--json")
    assert r.exit_code == 1 and "expired" in out(r)["error"]["message"]
    assert [balance(ws, m, "hours") for m in ("alice", "bob")] == [-60, 60]
    assert ccl(ws, "clock", "advance", "31d").exit_code == 0
    assert out(ccl(ws, "hours", "pending", "alice", "--json"))["pending"] == []
