"""Governance through the command line, in demo co-ops founded with `ccl init --founder … --demo`:
the roadmap's loan scenario, the decision-style templates of contracts/, delegation, leaving,
refusals at open, what an execution may do, amendments end to end, and replay of a governed
history."""

import json
import re
import shutil
from pathlib import Path

import pytest

from helpers import found

CONTRACTS = Path(__file__).parent.parent / "contracts"
DAY = 86_400


def out(r):
    return json.loads(r.stdout.strip().splitlines()[-1])


def did_of(ccl, name):
    return ccl("id", "show", name).stdout.strip()


def receipts(ccl):
    return out(ccl("dag", "verify", "--json"))["receipts"]


def history_is_sound(ccl):
    r = ccl("dag", "verify")
    assert r.exit_code == 0, r.output
    r = ccl("dag", "replay", "--json")
    assert r.exit_code == 0, r.output                     # every receipt's state root reproduced
    return out(r)["replayed"]


UNION = """
contract CreditUnion {
    founder: Steward;
    role Member { can: [vote]; }
    role Steward extends Member { can: [manage_members, manage_roles]; }
    proposal LoanApproval(loan: String) {
        description: "Approve a member loan";
        eligible: Member;
        duration: 3 days;
        quorum: 50%;
        threshold: majority;
        can: [approve_loan];
        execution: { approve_loan(loan); }
    }
}"""


def test_loan_approved_by_a_passed_proposal(tmp_path):
    """The roadmap: a 50.00 CREDIT loan for equipment, two members approve, the proposal executes
    and the loan is approved and disbursed."""
    (tmp_path / "union.ccl").write_text(UNION)
    ccl = found(tmp_path, "alice", ("bob", "carol"), ("union.ccl",), {"bob": "Member", "carol": "Member"})
    ccl("id", "new", "dan")
    assert ccl("member", "add", "dan", "--as", "bob").exit_code == 1        # a Member cannot admit
    assert ccl("role", "grant", "carol", "Steward", "--as", "bob").exit_code == 1
    assert ccl("loan", "deposit", "80", "--as", "alice").exit_code == 0
    loan = out(ccl("loan", "request", "50.00", "equipment", 180, "--as", "carol", "--json"))["result"]
    # without the vote, neither bob nor the founder may approve it
    assert ccl("loan", "approve", loan, "--as", "bob").exit_code == 1
    assert ccl("loan", "approve", loan, "--as", "alice").exit_code == 1
    pid = out(ccl("proposal", "open", "LoanApproval", "--args", json.dumps([loan]), "--as", "alice", "--json"))[
        "proposal"]
    assert ccl("proposal", "vote", pid, "yes", "--as", "alice").exit_code == 0
    assert ccl("proposal", "vote", pid, "yes", "--as", "bob", "--reason", "good").exit_code == 0
    assert ccl("proposal", "vote", pid, "no", "--as", "bob").exit_code == 1            # once
    assert ccl("proposal", "execute", pid, "--as", "bob").exit_code == 1               # still open
    assert ccl("clock", "advance", "3d").exit_code == 0
    r = ccl("proposal", "execute", pid, "--as", "bob", "--json")
    assert r.exit_code == 0, r.output
    receipt = out(r)["receipt"]
    assert out(ccl("credit", "balance", "carol", "--json"))["balance"] == 5000        # minor units: 50.00
    shown = json.loads(ccl("dag", "show", receipt, "--json").stdout)["payload"]
    assert shown["proposal"] == pid and len(shown["ballots"]) == 2                 # effects trace to the votes
    coop = out(ccl("bylaws", "show", "--json"))["coop"]["coop"]
    assert shown["caller"] == coop and shown["triggered_by"] == did_of(ccl, "bob")    # as the co-op, for bob
    assert ccl("proposal", "execute", pid, "--as", "bob").exit_code == 1               # once
    history_is_sound(ccl)


def template(tmp_path, contract, role, names=("bob", "carol", "dan"), bystanders=("erin",)):
    """A demo co-op with a template as its bylaws: alice founds it (the template's `founder:`
    role, which admits and grants and extends `role`, so she votes too), `names` hold `role`,
    and `bystanders` are members holding no role."""
    shutil.copy(CONTRACTS / contract, tmp_path)
    return found(tmp_path, "alice", names + bystanders, (contract,), {n: role for n in names})


@pytest.mark.parametrize("contract, role, kind, args, votes, passes, check", [
    ("majority_assembly.ccl", "Member", "SetDues", [15000], {"bob": "yes", "carol": "yes", "dan": "no"}, True,
     ("Assembly", "current_dues", 15000)),
    ("majority_assembly.ccl", "Member", "SetDues", [15000], {"bob": "yes"}, False,
     ("Assembly", "current_dues", 12000)),
    ("consensus_circle.ccl", "Circle", "AddPlots", [3], {"bob": "yes", "carol": "abstain", "dan": "yes"}, True,
     ("Circle", "plot_count", 15)),
    ("consensus_circle.ccl", "Circle", "AddPlots", [3], {"bob": "yes", "carol": "yes", "dan": "block"}, False,
     ("Circle", "plot_count", 12)),
    ("sociocratic_consent.ccl", "CircleMember", "SetTerm", [180],               # quorum 100%: all four take part
     {"alice": "yes", "bob": "yes", "carol": "abstain", "dan": "yes"}, True, ("Sociocracy", "term", 180)),
    ("sociocratic_consent.ccl", "CircleMember", "SetTerm", [180], {"bob": "yes", "carol": "yes"}, False,
     ("Sociocracy", "term", 365)),
])
def test_decision_style_templates(tmp_path, contract, role, kind, args, votes, passes, check):
    ccl = template(tmp_path, contract, role)
    pid = out(ccl("proposal", "open", kind, "--args", json.dumps(args), "--as", "bob", "--json"))["proposal"]
    for who, choice in votes.items():
        assert ccl("proposal", "vote", pid, choice, "--as", who).exit_code == 0
    assert ccl("proposal", "vote", pid, "yes", "--as", "erin").exit_code == 1         # not in the eligible role
    founding = {"majority_assembly.ccl": "Secretary", "consensus_circle.ccl": "Convenor",
                "sociocratic_consent.ccl": "Steward"}[contract]
    members = {m["did"]: m for m in out(ccl("member", "list", "--json"))["members"]}
    assert members[did_of(ccl, "alice")]["roles"] == [founding]                     # the template's `founder:`
    assert out(ccl("proposal", "show", pid, "--json"))["tally"]["eligible"] == 4     # alice's role extends `role`
    ccl("clock", "advance", "10d")
    r = ccl("proposal", "execute", pid, "--as", "alice")                               # any member triggers
    assert (r.exit_code == 0) is passes, r.output
    name, fn, expected = check
    assert out(ccl("call", name, fn, "--json", "--as", "bob"))["result"] == expected


def test_liquid_delegation_template(tmp_path):
    names = ("alice", "bob", "carol", "dan", "erin", "fay")
    shutil.copy(CONTRACTS / "liquid_delegation.ccl", tmp_path)
    ccl = found(tmp_path, "zed", names, ("liquid_delegation.ccl",), {n: "Member" for n in names})
    for who in ("bob", "carol", "dan"):
        assert ccl("delegate", "alice", "--scope", "Budget", "--as", who).exit_code == 0
    assert ccl("delegate", "fay", "--as", "erin").exit_code == 0
    pid = out(ccl("proposal", "open", "Liquid::Budget", "--args", "[90000]", "--as", "alice", "--json"))["proposal"]
    ccl("proposal", "vote", pid, "yes", "--as", "alice")
    ccl("proposal", "vote", pid, "no", "--as", "dan")      # dan overrides his delegate
    ccl("proposal", "vote", pid, "no", "--as", "fay")      # and carries erin
    tally = out(ccl("proposal", "tally", pid, "--json"))["tally"]
    assert tally["eligible"] == 7                          # the founder zed's Secretary role extends Member
    members = {m["did"]: m for m in out(ccl("member", "list", "--json"))["members"]}
    assert members[did_of(ccl, "zed")]["roles"] == ["Secretary"]
    assert tally["counts"]["yes"] == 3 and tally["counts"]["no"] == 3              # alice+bob+carol vs dan+fay+erin
    did = {n: did_of(ccl, n) for n in names}
    assert tally["via"] == {did["bob"]: did["alice"], did["carol"]: did["alice"], did["erin"]: did["fay"]}
    ccl("clock", "advance", "11d")
    r = ccl("proposal", "execute", pid, "--as", "alice")
    assert r.exit_code == 1                                                        # 3 of 6 is not above 2/3
    show = ccl("proposal", "show", pid)
    assert "defeated" in show.stdout and "voted through" in show.stdout


def test_role_requires_checked_against_member_facts(tmp_path):
    (tmp_path / "elders.ccl").write_text("""
contract Elders {
    role Member { can: [vote]; }
    role Elder extends Member { can: [approve_loan]; requires: [tenure_years: 5, dues_paid: true]; }
}""")
    ccl = found(tmp_path, "ana", ("bo",), ("elders.ccl",))
    r = ccl("role", "grant", "bo", "Elder", "--as", "ana", "--json")
    assert r.exit_code == 1 and "role_requires" in out(r)["error"]["message"]
    ccl("member", "set", "bo", "tenure_years", "7", "--as", "ana")
    ccl("member", "set", "bo", "dues_paid", "true", "--as", "ana")
    assert ccl("role", "grant", "bo", "Elder", "--as", "ana").exit_code == 0
    r = ccl("role", "grant", "ana", "Elder", "--as", "ana", "--json")
    assert r.exit_code == 1 and "self_grant" in out(r)["error"]["message"]           # nobody grants themself
    r = ccl("role", "grant", "bo", "Eldr", "--as", "ana")
    assert r.exit_code == 1 and "Elder" in r.output                                 # did you mean
    members = {m["did"]: m for m in out(ccl("member", "list", "--json"))["members"]}
    assert members[did_of(ccl, "bo")]["roles"] == ["Elder"]
    assert members[did_of(ccl, "ana")]["roles"] == ["founder"]


# ---------------------------------------------------------------- the authority model's rules

ASSEMBLY = """
contract Assembly {
    founder: Steward;
    role Member { can: [vote]; }
    role Steward extends Member { can: [manage_members, manage_roles]; }
    state dues: Integer = 12000;
    proposal SetDues(amount: Integer) {
        eligible: Member;
        duration: 3 days;
        quorum: 50%;
        threshold: majority;
        execution: { dues = amount; }
    }
    fn current_dues() -> Integer { dues }
}"""


def assembly(tmp_path, members=("bob", "carol", "dan")):
    (tmp_path / "assembly.ccl").write_text(ASSEMBLY)
    return found(tmp_path, "alice", members, ("assembly.ccl",), {n: "Member" for n in members})


def test_leaving_takes_roles_delegations_and_ballots_on_open_proposals(tmp_path):
    ccl = assembly(tmp_path)
    did = {n: did_of(ccl, n) for n in ("alice", "bob", "carol", "dan")}
    early = out(ccl("proposal", "open", "SetDues", "--args", "[100]", "--as", "alice", "--json"))["proposal"]
    assert ccl("proposal", "vote", early, "yes", "--as", "bob").exit_code == 0
    ccl("clock", "advance", "4d")                                       # `early` is over
    assert ccl("delegate", "carol", "--as", "bob").exit_code == 0      # bob → carol
    assert ccl("delegate", "bob", "--as", "dan").exit_code == 0        # dan → bob
    pid = out(ccl("proposal", "open", "SetDues", "--args", "[200]", "--as", "alice", "--json"))["proposal"]
    ccl("proposal", "vote", pid, "no", "--as", "bob")
    ccl("proposal", "vote", pid, "yes", "--as", "alice")
    t = out(ccl("proposal", "tally", pid, "--json"))["tally"]
    assert t["eligible"] == 4 and t["counts"]["no"] == 2 and t["via"] == {did["dan"]: did["bob"]}
    r = ccl("member", "remove", "bob", "--as", "bob")                   # bob leaves
    assert r.exit_code == 0, r.output
    members = {m["did"]: m for m in out(ccl("member", "list", "--json"))["members"]}
    assert members[did["bob"]]["roles"] == [] and not members[did["bob"]]["active"]
    shown = out(ccl("proposal", "show", pid, "--json"))
    assert did["bob"] not in shown["proposal"]["eligible"]
    t = shown["tally"]
    assert t["eligible"] == 3 and t["participation"] == 1 and t["via"] == {}       # only members count
    assert t["counts"] == {"yes": 1, "no": 0, "abstain": 0, "block": 0}
    # carol's delegation from bob is gone: her vote counts once
    ccl("proposal", "vote", pid, "yes", "--as", "carol")
    assert out(ccl("proposal", "tally", pid, "--json"))["tally"]["participation"] == 2
    # the finished proposal keeps bob's ballot; bob can act no more
    finished = out(ccl("proposal", "show", early, "--json"))
    assert did["bob"] in finished["proposal"]["eligible"] and finished["tally"]["participation"] == 1
    assert ccl("proposal", "vote", pid, "yes", "--as", "bob").exit_code == 1
    assert ccl("delegate", "carol", "--as", "bob").exit_code == 1
    assert ccl("proposal", "open", "SetDues", "--args", "[1]", "--as", "bob").exit_code == 1
    history_is_sound(ccl)


def test_a_kind_no_adopted_module_declares_is_refused(tmp_path):
    ccl = assembly(tmp_path)
    before = receipts(ccl)
    r = ccl("proposal", "open", "LoanApproval", "--args", '["loan-1"]', "--as", "alice")
    assert r.exit_code == 1 and "proposal_kind" in r.output and "SetDues" in r.output
    r = ccl("proposal", "open", "SetDuse", "--args", "[1]", "--as", "alice")
    assert r.exit_code == 1 and "SetDues" in r.output                             # did you mean
    r = ccl("proposal", "open", "Other::SetDues", "--args", "[1]", "--as", "alice")
    assert r.exit_code == 1
    r = ccl("proposal", "open", "assembly.ccl", "SetDues", "--as", "alice")       # no file any more
    assert r.exit_code == 2
    assert receipts(ccl) == before and out(ccl("proposal", "list", "--json"))["proposals"] == []


def test_a_non_adopted_module_registers_nothing(tmp_path):
    """A module that is not adopted declaring a kind does not make the kind exist."""
    ccl = assembly(tmp_path)
    (tmp_path / "side.ccl").write_text("""
contract Side {
    role Member2 { can: [vote]; }
    proposal Spend(amount: Integer) { eligible: Member2; duration: 1 days; quorum: 0%; threshold: majority;
                                       execution: { } }
    fn hello() -> Integer { 1 }
}""")
    r = ccl("run", "side.ccl", "--fn", "hello", "--as", "bob", "--json")
    assert r.exit_code == 0 and out(r)["result"] == 1
    assert ccl("proposal", "open", "Spend", "--args", "[1]", "--as", "bob").exit_code == 1
    assert ccl("role", "grant", "bob", "Member2", "--as", "alice").exit_code == 1
    (tmp_path / "fake.ccl").write_text("contract Assembly { state dues: Integer = 0; fn zero() -> Integer { dues } }")
    r = ccl("run", "fake.ccl", "--fn", "zero", "--as", "bob")
    assert r.exit_code != 0 and "U0707" in r.output                               # an adopted contract's name


def test_args_of_the_wrong_type_are_refused_at_open(tmp_path):
    ccl = assembly(tmp_path)
    before = receipts(ccl)
    r = ccl("proposal", "open", "SetDues", "--args", '["lots"]', "--as", "alice")
    assert r.exit_code == 1 and "proposal_args" in r.output and "Integer" in r.output
    r = ccl("proposal", "open", "SetDues", "--args", "[1, 2]", "--as", "alice")
    assert r.exit_code == 1 and "proposal_args" in r.output
    r = ccl("proposal", "open", "SetDues", "--args", "[]", "--as", "alice")
    assert r.exit_code == 1 and "proposal_args" in r.output
    assert receipts(ccl) == before
    assert ccl("proposal", "open", "SetDues", "--args", "[15000]", "--as", "alice").exit_code == 0


def test_unknown_eligible_role_fails_check_with_a_did_you_mean(tmp_path):
    (tmp_path / "family.ccl").write_text("""
contract Family {
    role Parent { can: [vote]; }
    proposal Outing(place: String) {
        eligible: Parnet;
        duration: 1 days;
        quorum: 0%;
        threshold: majority;
        execution: { }
    }
}""")
    from click.testing import CliRunner

    from ccl.cli.main import cli

    r = CliRunner().invoke(cli, ["check", str(tmp_path / "family.ccl")])
    assert r.exit_code == 3, r.output
    assert "E0222" in r.output and "Parnet" in r.output and "did you mean `Parent`?" in r.output


COOP_ACTS = """
contract Desk {
    founder: Steward;
    role Member { can: [vote]; }
    role Steward extends Member { can: [manage_members, manage_roles]; }
    state checked: Integer = 0;
    proposal Check(coop: Did) {
        eligible: Member; duration: 1 days; quorum: 0%; threshold: majority;
        execution: { require(caller() == coop, "the execution does not act as the co-op"); checked = checked + 1; }
    }
    proposal Pay(from: Did, to: Did, amount: Integer) {
        eligible: Member; duration: 1 days; quorum: 0%; threshold: majority;
        can: [treasury];
        execution: { transfer_credit(from, to, amount); }
    }
    fn times() -> Integer { checked }
}"""


def test_an_execution_acts_as_the_coop_with_only_its_kinds_can(tmp_path):
    (tmp_path / "desk.ccl").write_text(COOP_ACTS)
    ccl = found(tmp_path, "alice", ("bob",), ("desk.ccl",), {"bob": "Member"})
    coop = out(ccl("bylaws", "show", "--json"))["coop"]["coop"]
    bob, alice = did_of(ccl, "bob"), did_of(ccl, "alice")
    check = out(ccl("proposal", "open", "Check", "--args", json.dumps([coop]), "--as", "bob", "--json"))["proposal"]
    # bob may move his own credit himself; a vote does not give the co-op his key
    pay = out(ccl("proposal", "open", "Pay", "--args", json.dumps([bob, alice, 10]), "--as", "bob", "--json"))[
        "proposal"]
    for pid in (check, pay):
        assert ccl("proposal", "vote", pid, "yes", "--as", "bob").exit_code == 0
    ccl("clock", "advance", "1d")
    r = ccl("proposal", "execute", check, "--as", "bob")
    assert r.exit_code == 0, r.output                               # caller() is the co-op's DID
    assert out(ccl("call", "Desk", "times", "--as", "bob", "--json"))["result"] == 1
    before = receipts(ccl)
    r = ccl("proposal", "execute", pay, "--as", "bob")
    assert r.exit_code == 1 and "transfer_credit" in r.output     # the co-op is not `from`, even with treasury
    assert receipts(ccl) == before
    assert out(ccl("credit", "balance", "alice", "--json"))["balance"] == 0
    assert out(ccl("credit", "balance", "bob", "--json"))["balance"] == 0
    # and statically: an execution reaching beyond its kind's `can:` does not compile
    (tmp_path / "greedy.ccl").write_text(COOP_ACTS.replace("contract Desk", "contract Greedy").replace(
        "transfer_credit(from, to, amount);", "add_member(to);"))
    r = ccl("check", "greedy.ccl")
    assert r.exit_code == 3 and "E0224" in r.output and "manage_members" in r.output
    (tmp_path / "unbacked.ccl").write_text(COOP_ACTS.replace("contract Desk", "contract Unbacked").replace(
        "can: [treasury];", "can: [];"))
    r = ccl("check", "unbacked.ccl")
    assert r.exit_code == 3 and "E0224" in r.output and "treasury" in r.output


TREASURY = """
contract Fund {
    founder: Steward;
    role Member { can: [vote]; }
    role Steward extends Member { can: [manage_members, manage_roles]; }
    proposal Grant(to: Did, n: Integer) {
        eligible: Member; duration: 1 days; quorum: 0%; threshold: majority;
        can: [];
        execution: { transfer_credit(caller(), to, n); }
    }
}"""


def test_paying_from_the_coops_account_needs_treasury(tmp_path):
    """`transfer_credit(caller(), …)` in an execution is the co-op acting with its own account:
    with `can: []` it does not compile (E0224 naming `treasury`); with `can: [treasury]` it
    checks, and a passed vote pays from the co-op's account."""
    from click.testing import CliRunner

    from ccl.cli.main import cli

    (tmp_path / "fund.ccl").write_text(TREASURY)
    r = CliRunner().invoke(cli, ["check", str(tmp_path / "fund.ccl")])
    assert r.exit_code == 3, r.output
    assert "E0224" in r.output and "treasury" in r.output and "transfer_credit" in r.output
    (tmp_path / "fund.ccl").write_text(TREASURY.replace("can: [];", "can: [treasury];"))
    r = CliRunner().invoke(cli, ["check", str(tmp_path / "fund.ccl")])
    assert r.exit_code == 0, r.output
    ccl = found(tmp_path, "alice", ("bob",), ("fund.ccl",), {"bob": "Member"})
    coop = out(ccl("bylaws", "show", "--json"))["coop"]["coop"]
    bob = did_of(ccl, "bob")
    pid = out(ccl("proposal", "open", "Grant", "--args", json.dumps([bob, 25]), "--as", "bob", "--json"))["proposal"]
    assert ccl("proposal", "vote", pid, "yes", "--as", "bob").exit_code == 0
    assert ccl("proposal", "vote", pid, "yes", "--as", "alice").exit_code == 0
    assert ccl("proposal", "execute", pid, "--as", "bob").exit_code == 1             # voting still open
    ccl("clock", "advance", "1d")
    r = ccl("proposal", "execute", pid, "--as", "bob", "--json")
    assert r.exit_code == 0, r.output
    assert out(ccl("credit", "balance", "bob", "--json"))["balance"] == 25
    assert out(ccl("credit", "balance", coop, "--json"))["balance"] == -25           # from the co-op's account
    assert out(ccl("credit", "balance", "alice", "--json"))["balance"] == 0
    shown = json.loads(ccl("dag", "show", out(r)["receipt"], "--json").stdout)["payload"]
    assert shown["caller"] == coop and shown["triggered_by"] == bob
    history_is_sound(ccl)


# ---------------------------------------------------------------- amendments end to end

HALL = """
contract Hall {
    founder: Steward;
    role Member { can: [vote]; }
    role Steward extends Member { can: [manage_members, manage_roles]; }
    role Treasurer extends Member { can: []; }

    state dues: Integer = 120;
    state motto: String = "together";

    proposal SetDues(amount: Integer) {
        description: "Set the annual dues";
        eligible: Member;
        duration: 3 days;
        quorum: 50%;
        threshold: majority;
        execution: { dues = amount; }
    }

    fn current_dues() -> Integer { dues }
    fn current_motto() -> String { motto }
}
"""

# v2: adds a state field, drops the Treasurer role
V2 = (HALL.replace("    role Treasurer extends Member { can: []; }\n", "")
      .replace('state motto: String = "together";', 'state motto: String = "together";\n    state fund: Integer = 500;')
      .replace("fn current_motto", "fn current_fund() -> Integer { fund }\n    fn current_motto"))
V2_TESTS = """import "../hall.ccl";

fn test_fund_starts_at_500() { assert_eq(Hall::current_fund(), 500); }
fn test_dues_are_kept() { assert_eq(Hall::current_dues(), 150); }
"""
# v3: retypes motto, with a migration function
V3 = (V2.replace('state motto: String = "together";', 'state motto: Array<String> = ["together"];')
      .replace("fn current_motto() -> String { motto }",
               'fn current_motto() -> Array<String> { motto }\n'
               '    fn migrate_motto(old: String) -> Array<String> { [old, "since 2026"] }'))
# v4: drops motto without a migration function
V4 = "\n".join(line for line in V2.splitlines() if "motto" not in line)
# v5: a pinned test that fails against the migrated state
V5_TESTS = 'import "../hall.ccl";\n\nfn test_dues() { assert_eq(Hall::current_dues(), 999); }\n'


def test_amendments_end_to_end(tmp_path):
    (tmp_path / "hall.ccl").write_text(HALL)
    ccl = found(tmp_path, "alice", ("bob", "carol", "dan"), ("hall.ccl",),
                {"bob": "Member", "carol": "Member", "dan": "Treasurer"})
    did = {n: did_of(ccl, n) for n in ("alice", "bob", "carol", "dan")}
    first = out(ccl("bylaws", "show", "--json"))["modules"]
    assert [m["contracts"] for m in first] == [["Hall"]] and first[0]["via"] == "genesis"
    pid = out(ccl("proposal", "open", "SetDues", "--args", "[150]", "--as", "alice", "--json"))["proposal"]
    for n in ("alice", "bob", "carol"):
        ccl("proposal", "vote", pid, "yes", "--as", n)
    ccl("clock", "advance", "3d")
    assert ccl("proposal", "execute", pid, "--as", "bob").exit_code == 0
    assert out(ccl("call", "Hall", "current_dues", "--as", "bob", "--json"))["result"] == 150

    # v2: what it changes, then the proposal with its dry-run
    (tmp_path / "v2" / "tests").mkdir(parents=True)
    (tmp_path / "v2" / "hall.ccl").write_text(V2)
    (tmp_path / "v2" / "tests" / "hall_test.ccl").write_text(V2_TESTS)
    r = ccl("bylaws", "diff", "v2/hall.ccl")
    assert r.exit_code == 0 and "+ state field fund" in r.stdout and "- role Treasurer" in r.stdout
    assert "+ function current_fund" in r.stdout
    r = ccl("adopt", "v2/hall.ccl", "--as", "alice", "--json")
    assert r.exit_code == 0, r.output
    amendment = out(r)["proposal"]
    assert amendment.startswith("proposal-") and out(r)["receipt"]
    show = ccl("proposal", "show", amendment)
    assert show.exit_code == 0
    assert "+ state field fund" in show.stdout and "- role Treasurer" in show.stdout
    assert "dry-run: passed — 2 test(s)" in show.stdout and "supermajority" in show.stdout
    assert "active" in show.stdout
    # a proposal opened under the old version, still open at the switch
    old = out(ccl("proposal", "open", "SetDues", "--args", "[175]", "--as", "carol", "--json"))["proposal"]
    for n in ("alice", "bob", "carol"):
        assert ccl("proposal", "vote", amendment, "yes", "--as", n).exit_code == 0
    ccl("proposal", "vote", old, "yes", "--as", "bob")
    ccl("proposal", "vote", old, "yes", "--as", "dan")             # dan holds Treasurer, which extends Member
    assert ccl("proposal", "execute", amendment, "--as", "alice").exit_code == 1    # voting still open
    ccl("clock", "advance", "7d")
    r = ccl("proposal", "execute", amendment, "--as", "alice", "--json")
    assert r.exit_code == 0, r.output
    shown = json.loads(ccl("dag", "show", out(r)["receipt"], "--json").stdout)["payload"]
    assert shown["amendment"]["op"] == "replace" and shown["triggered_by"] == did["alice"]
    assert out(ccl("call", "Hall", "current_fund", "--as", "bob", "--json"))["result"] == 500
    assert out(ccl("call", "Hall", "current_dues", "--as", "bob", "--json"))["result"] == 150   # state kept
    # the Treasurer role went with the old version, and from dan
    members = {m["did"]: m for m in out(ccl("member", "list", "--json"))["members"]}
    assert members[did["dan"]]["roles"] == [] and members[did["dan"]]["active"]
    assert "Treasurer" not in {r["role"] for r in out(ccl("role", "list", "--json"))["roles"]}
    assert ccl("role", "grant", "dan", "Treasurer", "--as", "alice").exit_code == 1
    # the old-version proposal finishes under the version it was opened with
    r = ccl("proposal", "execute", old, "--as", "carol")
    assert r.exit_code == 0, r.output
    assert out(ccl("call", "Hall", "current_dues", "--as", "bob", "--json"))["result"] == 175
    assert out(ccl("call", "Hall", "current_fund", "--as", "bob", "--json"))["result"] == 500   # v2's field kept
    shown = out(ccl("bylaws", "show", "--json"))
    v2_cid = shown["modules"][0]["cid"]
    assert [m["via"] for m in shown["modules"]] == [amendment]
    assert "Treasurer" not in shown["modules"][0]["roles"]
    text = ccl("bylaws", "show").stdout
    assert v2_cid in text and "amendments: supermajority 2/3, quorum 50%, 7 days" in text
    history = out(ccl("bylaws", "history", "--json"))["history"]
    assert history[0]["op"] == "adopt" and history[0]["via"] == "genesis"
    assert history[-1]["op"] == "replace" and history[-1]["cid"] == v2_cid and history[-1]["via"] == amendment
    assert history[-1]["old"] == first[0]["cid"]
    from ccl.cli.render import short_cid

    assert short_cid(v2_cid) in ccl("bylaws", "history").stdout                      # the table shortens CIDs

    # v3: a retyped field, migrated by migrate_motto
    (tmp_path / "v3").mkdir()
    (tmp_path / "v3" / "hall.ccl").write_text(V3)
    assert "~ state field motto" in ccl("bylaws", "diff", "v3/hall.ccl").stdout
    r = ccl("adopt", "v3/hall.ccl", "--as", "bob")
    assert r.exit_code == 0, r.output
    said = re.fullmatch(r"bob opened the amendment (proposal-\d+) · receipt bafy…\w+", r.stdout.strip())
    assert said, r.stdout                                          # it says the proposal id
    retype = said.group(1)
    assert "migrated Hall.motto" in ccl("proposal", "show", retype).stdout
    assert out(ccl("call", "Hall", "current_motto", "--as", "bob", "--json"))["result"] == "together"  # not yet
    for n in ("alice", "bob", "carol"):
        ccl("proposal", "vote", retype, "yes", "--as", n)
    ccl("clock", "advance", "7d")
    assert ccl("proposal", "execute", retype, "--as", "carol").exit_code == 0
    assert out(ccl("call", "Hall", "current_motto", "--as", "bob", "--json"))["result"] == ["together", "since 2026"]
    assert out(ccl("call", "Hall", "current_dues", "--as", "bob", "--json"))["result"] == 175

    # refused before they open, changing nothing: a dropped field without a migration, a failing test
    before = (receipts(ccl), out(ccl("proposal", "list", "--json"))["proposals"], ccl("bylaws", "show").stdout)
    (tmp_path / "v4").mkdir()
    (tmp_path / "v4" / "hall.ccl").write_text(V4)
    r = ccl("adopt", "v4/hall.ccl", "--as", "alice")
    assert r.exit_code == 1 and "migration" in r.output and "migrate_motto" in r.output
    (tmp_path / "v5" / "tests").mkdir(parents=True)
    (tmp_path / "v5" / "hall.ccl").write_text(V3.replace("state fund: Integer = 500;", "state fund: Integer = 600;"))
    (tmp_path / "v5" / "tests" / "hall_test.ccl").write_text(V5_TESTS)
    r = ccl("adopt", "v5/hall.ccl", "--as", "alice")
    assert r.exit_code == 1 and "dry_run" in r.output and "test_dues" in r.output, r.output
    after = (receipts(ccl), out(ccl("proposal", "list", "--json"))["proposals"], ccl("bylaws", "show").stdout)
    assert after == before

    # the whole history — genesis, two switches, an old-version execution — replays to the same roots
    assert history_is_sound(ccl) == receipts(ccl)


def test_an_amendment_voted_down_changes_nothing(tmp_path):
    (tmp_path / "hall.ccl").write_text(HALL)
    ccl = found(tmp_path, "alice", ("bob", "carol"), ("hall.ccl",), {"bob": "Member", "carol": "Member"})
    (tmp_path / "v2").mkdir()
    (tmp_path / "v2" / "hall.ccl").write_text(V2)
    before = ccl("bylaws", "show", "--json").stdout
    r = ccl("adopt", "v2/hall.ccl", "--as", "alice", "--json")     # (v2 has no tests of its own)
    assert r.exit_code == 0, r.output
    pid = out(r)["proposal"]
    for who, choice in (("alice", "yes"), ("bob", "yes"), ("carol", "no")):       # 2 of 3 is not above 2/3
        assert ccl("proposal", "vote", pid, choice, "--as", who).exit_code == 0
    ccl("clock", "advance", "7d")
    assert ccl("proposal", "execute", pid, "--as", "alice").exit_code == 1
    assert ccl("bylaws", "show", "--json").stdout == before
    history_is_sound(ccl)


def test_retiring_bylaws_by_amendment(tmp_path):
    (tmp_path / "hall.ccl").write_text(HALL)
    ccl = found(tmp_path, "alice", ("bob",), ("hall.ccl",), {"bob": "Member"})
    pid = out(ccl("bylaws", "retire", "Hall", "--as", "bob", "--json"))["proposal"]
    assert "- role Member" in ccl("proposal", "show", pid).stdout
    for n in ("alice", "bob"):
        ccl("proposal", "vote", pid, "yes", "--as", n)
    ccl("clock", "advance", "7d")
    assert ccl("proposal", "execute", pid, "--as", "bob").exit_code == 0
    assert out(ccl("bylaws", "show", "--json"))["modules"] == []
    assert ccl("proposal", "open", "SetDues", "--args", "[1]", "--as", "bob").exit_code == 1
    assert out(ccl("bylaws", "history", "--json"))["history"][-1]["op"] == "retire"
    history_is_sound(ccl)


def test_a_real_workspace_refuses_at(tmp_path):
    import os

    from click.testing import CliRunner

    from ccl.cli.main import cli

    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        run = CliRunner().invoke
        assert run(cli, ["init", "--founder", "ana"]).exit_code == 0
        assert run(cli, ["id", "new", "bo"]).exit_code == 0
        r = run(cli, ["member", "add", "bo", "--as", "ana", "--at", "10"])
        assert r.exit_code == 2 and "U0705" in r.output
        assert run(cli, ["clock", "advance", "7d"]).exit_code == 2
        assert run(cli, ["member", "add", "bo", "--as", "ana"]).exit_code == 0
    finally:
        os.chdir(old)


def test_the_guides_amendment_example_runs(tmp_path):
    """docs/governance.md's "Amending the bylaws" commands, after its walkthrough, as written."""
    import shlex

    from test_docs import run_console, shown

    text = (Path(__file__).parent.parent / "docs" / "governance.md").read_text()
    bylaw = re.search(r"with `credit_union.ccl`:\n\n```ccl\n(.*?)```", text, re.S).group(1)
    (tmp_path / "credit_union.ccl").write_text(bylaw)
    (tmp_path / "credit_union_v2.ccl").write_text(bylaw.replace(
        "    role Member", "    state reserve: Integer = 0;\n    fn current_reserve() -> Integer { reserve }\n\n"
        "    role Member"))
    run_console(re.search(r"```console\n(.*?)```", text, re.S).group(1), tmp_path)
    block = re.search(r"### Amending the bylaws.*?```sh\n(.*?)```", text, re.S).group(1)
    session = "\n".join("$ " + shlex.join(shlex.split(line, comments=True)) for line in block.splitlines())
    outputs = run_console(session, tmp_path)
    assert "+ state field reserve" in outputs["$ ccl bylaws diff credit_union_v2.ccl"]
    assert shown(outputs["$ ccl adopt credit_union_v2.ccl --as ana"]) == \
        "ana opened the amendment proposal-2 · receipt bafy…"
    assert "dry-run: passed" in outputs["$ ccl proposal show proposal-2"]
    assert "by proposal-2" in outputs["$ ccl bylaws show"]
    assert "replace" in outputs["$ ccl bylaws history"]


CLUB = """
contract Club {
    founder: Member;
    role Member { can: [vote, manage_members, manage_roles]; }
    state dues: Integer = 10;
    proposal SetDues(amount: Integer) {
        description: "dues";
        eligible: Member;
        duration: 7 days;
        quorum: 50%;
        threshold: majority;
        close_early: true;
        execution: { dues = amount; }
    }
    proposal Slow(amount: Integer) {
        description: "dues, the slow way";
        eligible: Member;
        duration: 7 days;
        quorum: 50%;
        threshold: majority;
        execution: { dues = amount; }
    }
    fn current() -> Integer { dues }
}
"""


def test_a_kind_may_close_early_once_every_eligible_member_voted(tmp_path):
    (tmp_path / "club.ccl").write_text(CLUB)
    ccl = found(tmp_path, founder="ana", members=("bo",), bylaws=["club.ccl"], roles={"bo": "Member"})
    for kind in ("SetDues", "Slow"):
        assert ccl("proposal", "open", kind, "--args", "[25]", "--as", "bo").exit_code == 0
    assert ccl("proposal", "vote", "proposal-1", "yes", "--as", "ana").exit_code == 0
    r = ccl("proposal", "execute", "proposal-1", "--as", "bo")
    assert r.exit_code == 1 and "active" in r.output                 # bo has not voted yet
    for pid in ("proposal-1", "proposal-2"):
        assert ccl("proposal", "vote", pid, "yes", "--as", "bo").exit_code == 0
    assert ccl("proposal", "execute", "proposal-1", "--as", "bo").exit_code == 0     # everyone voted: closed
    r = ccl("proposal", "execute", "proposal-2", "--as", "bo")
    assert r.exit_code == 1 and "active" in r.output                 # a kind without close_early runs its week
    assert ccl("call", "Club", "current", "--as", "bo").stdout.strip() == "25"
    history_is_sound(ccl)


def test_proposals_through_a_node(tmp_path, monkeypatch):
    """`ccl --node URL proposal open|vote|tally` reads its words as in a workspace (`--args` is
    JSON) and signs the ballot before sending it; a second ballot is the node's refusal."""
    from click.testing import CliRunner

    from ccl.cli.main import cli
    from helpers import node_and_member, running_node

    node_and_member(tmp_path, monkeypatch, "assembly.ccl", ASSEMBLY)
    server, member = tmp_path / "node", tmp_path / "member"
    with running_node(server) as url:
        monkeypatch.chdir(member)

        def remote(*a):
            return CliRunner().invoke(cli, ["--node", url, *a], catch_exceptions=False)
        r = remote("proposal", "open", "SetDues", "--args", "[150]", "--as", "ana", "--json")
        assert r.exit_code == 0, r.output
        pid = out(r)["proposal"]
        r = remote("proposal", "vote", pid, "yes", "--as", "ana")
        assert r.exit_code == 0 and r.stdout.startswith(f"ana voted on {pid} · receipt bafy…"), r.output
        r = remote("proposal", "vote", pid, "no", "--as", "ana")
        assert r.exit_code == 1 and "second_ballot" in r.output
        assert out(remote("proposal", "tally", pid, "--as", "ana", "--json"))["tally"]["counts"]["yes"] == 1
