"""Governance through the command line: the roadmap's loan scenario, the decision-style templates
of contracts/, and replay of a governed history."""

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from ccl.cli.main import cli

CONTRACTS = Path(__file__).parent.parent / "contracts"
DAY = 86_400


def ccl(ws, *args):
    old = os.getcwd()
    os.chdir(ws)
    try:
        return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    finally:
        os.chdir(old)


def out(r):
    return json.loads(r.stdout.strip().splitlines()[-1])


def setup(ws, contract, role, names=("alice", "bob", "carol"), founder_role=None):
    ccl(ws, "init")
    for n in names:
        ccl(ws, "id", "new", n)
    assert ccl(ws, "member", "add", "--as", names[0], names[0], "--at", 0).exit_code == 0
    assert ccl(ws, "grant", "--as", names[0], names[0], "admin", "--at", 0).exit_code == 0
    for n in names[1:]:
        assert ccl(ws, "member", "add", "--as", names[0], n, "--at", 0).exit_code == 0
    shutil.copy(CONTRACTS / contract, ws)
    r = ccl(ws, "adopt", contract, "--as", names[0], "--at", 0)
    assert r.exit_code == 0, r.output
    for n in names:
        assert ccl(ws, "role", "grant", "--as", names[0], n, role, "--at", 0).exit_code == 0


def test_loan_approved_by_a_passed_proposal(tmp_path):
    """The roadmap: a 5,000 loan for equipment, two members approve, the proposal executes and
    the loan is approved and disbursed."""
    (tmp_path / "union.ccl").write_text("""
contract CreditUnion {
    role Member { can: [vote]; }
    proposal LoanApproval(loan: String) {
        description: "Approve a member loan";
        eligible: Member;
        duration: 3 days;
        quorum: 50%;
        threshold: majority;
        can: [approve_loan];
        execution: { approve_loan(loan); }
    }
}""")
    ccl(tmp_path, "init")
    for n in ("alice", "bob", "carol"):
        ccl(tmp_path, "id", "new", n)
    assert ccl(tmp_path, "member", "add", "--as", "alice", "alice", "--at", 0).exit_code == 0   # the founder
    assert ccl(tmp_path, "member", "add", "--as", "alice", "bob", "--at", 0).exit_code == 1     # not yet allowed
    ccl(tmp_path, "grant", "--as", "alice", "alice", "admin", "--at", 0)
    for n in ("bob", "carol"):
        assert ccl(tmp_path, "member", "add", "--as", "alice", n, "--at", 0).exit_code == 0
    ccl(tmp_path, "adopt", "union.ccl", "--as", "alice", "--at", 0)
    for n in ("alice", "bob", "carol"):
        ccl(tmp_path, "role", "grant", "--as", "alice", n, "Member", "--at", 0)
    ccl(tmp_path, "loan", "deposit", "--as", "alice", 8000, "--at", 0)
    loan = out(ccl(tmp_path, "loan", "request", "--as", "carol", 5000, "equipment", 180, "--at", 0, "--json"))["result"]
    # without the vote, bob may not approve it
    assert ccl(tmp_path, "loan", "approve", "--as", "bob", loan, "--at", 0).exit_code == 1
    pid = out(ccl(tmp_path, "proposal", "open", "union.ccl", "LoanApproval", "--args", json.dumps([loan]),
                  "--as", "alice", "--at", 10, "--json"))["proposal"]
    assert ccl(tmp_path, "proposal", "vote", pid, "yes", "--as", "alice", "--at", 100).exit_code == 0
    assert ccl(tmp_path, "proposal", "vote", pid, "yes", "--as", "bob", "--at", 100, "--reason", "good").exit_code == 0
    assert ccl(tmp_path, "proposal", "execute", pid, "--as", "bob", "--at", 200).exit_code == 1     # still open
    r = ccl(tmp_path, "proposal", "execute", pid, "--as", "bob", "--at", 4 * DAY, "--json")
    assert r.exit_code == 0, r.output
    receipt = out(r)["receipt"]
    assert out(ccl(tmp_path, "credit", "balance", "carol", "--json"))["balance"] == 5000
    shown = json.loads(ccl(tmp_path, "dag", "show", receipt, "--json").stdout)["payload"]
    assert shown["proposal"] == pid and len(shown["ballots"]) == 2                 # effects trace to the votes
    assert ccl(tmp_path, "proposal", "execute", pid, "--as", "bob", "--at", 4 * DAY).exit_code == 1   # once
    assert ccl(tmp_path, "dag", "verify").exit_code == 0
    assert ccl(tmp_path, "dag", "replay").exit_code == 0                          # reproduces every outcome


@pytest.mark.parametrize("contract, role, kind, args, votes, passes, check", [
    ("majority_assembly.ccl", "Member", "SetDues", [15000], {"alice": "yes", "bob": "yes", "carol": "no"}, True,
     ("current_dues", 15000)),
    ("majority_assembly.ccl", "Member", "SetDues", [15000], {"alice": "yes"}, False, ("current_dues", 12000)),
    ("consensus_circle.ccl", "Circle", "AddPlots", [3], {"alice": "yes", "bob": "abstain", "carol": "yes"}, True,
     ("plot_count", 15)),
    ("consensus_circle.ccl", "Circle", "AddPlots", [3], {"alice": "yes", "bob": "yes", "carol": "block"}, False,
     ("plot_count", 12)),
    ("sociocratic_consent.ccl", "CircleMember", "SetTerm", [180], {"alice": "yes", "bob": "abstain", "carol": "yes"},
     True, ("term", 180)),
    ("sociocratic_consent.ccl", "CircleMember", "SetTerm", [180], {"alice": "yes", "bob": "yes"}, False,
     ("term", 365)),
])
def test_decision_style_templates(tmp_path, contract, role, kind, args, votes, passes, check):
    setup(tmp_path, contract, role)
    pid = out(ccl(tmp_path, "proposal", "open", contract, kind, "--args", json.dumps(args), "--as", "alice",
                  "--at", 10, "--json"))["proposal"]
    for who, choice in votes.items():
        assert ccl(tmp_path, "proposal", "vote", pid, choice, "--as", who, "--at", 20).exit_code == 0
    r = ccl(tmp_path, "proposal", "execute", pid, "--as", "alice", "--at", 30 * DAY // 3)
    assert (r.exit_code == 0) is passes, r.output
    fn, expected = check
    assert out(ccl(tmp_path, "run", contract, "--fn", fn, "--json", "--as", "alice"))["result"] == expected


def test_liquid_delegation_template(tmp_path):
    names = ("alice", "bob", "carol", "dan", "erin", "fay")
    setup(tmp_path, "liquid_delegation.ccl", "Member", names)
    for who in ("bob", "carol", "dan"):
        assert ccl(tmp_path, "delegate", "alice", "--scope", "Budget", "--as", who, "--at", 5).exit_code == 0
    assert ccl(tmp_path, "delegate", "fay", "--as", "erin", "--at", 5).exit_code == 0
    pid = out(ccl(tmp_path, "proposal", "open", "liquid_delegation.ccl", "Budget", "--args", "[90000]",
                  "--as", "alice", "--at", 10, "--json"))["proposal"]
    ccl(tmp_path, "proposal", "vote", pid, "yes", "--as", "alice", "--at", 20)
    ccl(tmp_path, "proposal", "vote", pid, "no", "--as", "dan", "--at", 20)      # dan overrides his delegate
    ccl(tmp_path, "proposal", "vote", pid, "no", "--as", "fay", "--at", 20)      # and carries erin
    tally = out(ccl(tmp_path, "proposal", "tally", pid, "--json"))
    assert tally["counts"]["yes"] == 3 and tally["counts"]["no"] == 3              # alice+bob+carol vs dan+fay+erin
    did = {n: ccl(tmp_path, "id", "show", n).stdout.strip() for n in names}
    assert tally["via"] == {did["bob"]: did["alice"], did["carol"]: did["alice"], did["erin"]: did["fay"]}
    r = ccl(tmp_path, "proposal", "execute", pid, "--as", "alice", "--at", 11 * DAY)
    assert r.exit_code == 1                                                        # 3 of 6 is not above 2/3
    show = ccl(tmp_path, "proposal", "show", pid, "--at", 11 * DAY)
    assert "defeated" in show.stdout and "voted through" in show.stdout


def test_role_requires_checked_against_member_facts(tmp_path):
    (tmp_path / "elders.ccl").write_text("""
contract Elders {
    role Member { can: [vote]; }
    role Elder extends Member { can: [approve_loan]; requires: [tenure_years: 5, dues_paid: true]; }
}""")
    ccl(tmp_path, "init")
    ccl(tmp_path, "id", "new", "ana")
    ccl(tmp_path, "member", "add", "--as", "ana", "ana")
    ccl(tmp_path, "grant", "--as", "ana", "ana", "admin")
    ccl(tmp_path, "adopt", "elders.ccl", "--as", "ana")
    r = ccl(tmp_path, "role", "grant", "--as", "ana", "ana", "Elder", "--json")
    assert r.exit_code == 1 and "role_requires" in out(r)["error"]["message"]
    ccl(tmp_path, "member", "set", "--as", "ana", "ana", "tenure_years", "7")
    ccl(tmp_path, "member", "set", "--as", "ana", "ana", "dues_paid", "true")
    assert ccl(tmp_path, "role", "grant", "--as", "ana", "ana", "Elder").exit_code == 0
    members = out(ccl(tmp_path, "member", "list", "--json"))["members"]
    assert members[0]["roles"] == ["Elder"]
