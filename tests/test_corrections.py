"""Issue 15, corrections: a transfer made by mistake is answered by a correcting entry, never an
edit — the amount back from the payee, linked both ways and shown beside the original in the
history. The payee consents by making it; a holder of `correct_entries` approves it; nobody else
may, and a refusal changes nothing."""

import json

from helpers import found, store_dump

BYLAWS = """
contract Coop {
    founder: Steward;
    role Steward { can: [manage_members, manage_roles, correct_entries]; }
    fn noop() -> Bool { true }
}"""


def _coop(tmp_path):
    (tmp_path / "coop.ccl").write_text(BYLAWS)
    ccl = found(tmp_path, founder="ana", members=("bo", "cy"), bylaws=["coop.ccl"])
    assert ccl("credit", "transfer", "bo", "5", "--as", "cy").exit_code == 0      # cy meant to pay ana
    history = json.loads(ccl("credit", "history", "cy", "--json", "--as", "cy").output)
    (entry,) = [row["entry"] for row in history["history"] if row["kind"] == "transfer"]
    return ccl, entry


def _balance(ccl, who):
    return json.loads(ccl("credit", "balance", who, "--json", "--as", who).output)["balance"]


def test_the_payee_corrects_a_mistaken_transfer_and_both_histories_show_the_link(tmp_path):
    ccl, entry = _coop(tmp_path)
    assert (_balance(ccl, "bo"), _balance(ccl, "cy")) == (500, -500)
    r = ccl("credit", "correct", entry, "meant for ana", "--as", "bo", "--json")
    assert r.exit_code == 0, r.output
    back = json.loads(r.output)["result"]
    assert (_balance(ccl, "bo"), _balance(ccl, "cy")) == (0, 0)
    rows = json.loads(ccl("credit", "history", "cy", "--json", "--as", "cy").output)["history"]
    original = next(row for row in rows if row["entry"] == entry)
    reversal = next(row for row in rows if row["entry"] == back)
    assert original["corrected_by"] == back and reversal["corrects"] == entry
    assert reversal["kind"] == "correction" and "meant for ana" in reversal["memo"]
    again = ccl("credit", "correct", entry, "twice", "--as", "bo")          # once only
    assert again.exit_code != 0 and "already corrected" in again.output
    assert ccl("dag", "verify").exit_code == 0 and ccl("dag", "replay").exit_code == 0


def test_a_steward_approves_a_correction_the_payee_did_not_make(tmp_path):
    ccl, entry = _coop(tmp_path)
    r = ccl("credit", "correct", entry, "a steward's decision", "--as", "ana")   # holds correct_entries
    assert r.exit_code == 0, r.output
    assert (_balance(ccl, "bo"), _balance(ccl, "cy")) == (0, 0)


def test_the_payer_and_an_outsider_cannot_correct_and_nothing_changes(tmp_path):
    ccl, entry = _coop(tmp_path)
    before = store_dump(tmp_path)
    for who in ("cy", "dee"):                    # the payer wants it back; dee was never admitted
        if who == "dee":
            assert ccl("id", "new", "dee").exit_code == 0
            before = store_dump(tmp_path)
        r = ccl("credit", "correct", entry, "give it back", "--as", who)
        assert r.exit_code != 0 and ("may not" in r.output or "not a member" in r.output), r.output
        assert store_dump(tmp_path) == before
    r = ccl("credit", "correct", "transfer-999999", "no such", "--as", "ana")
    assert r.exit_code != 0 and "no transfer" in r.output
    assert store_dump(tmp_path) == before


def test_a_confirmed_hours_record_is_corrected_the_same_way(tmp_path):
    ccl, _ = _coop(tmp_path)
    record = json.loads(ccl("hours", "log", "cy", "60", "garden", "--as", "bo", "--json").output)["result"]
    assert ccl("hours", "confirm", record, "--as", "cy").exit_code == 0
    hours = lambda who: json.loads(ccl("hours", "balance", who, "--json", "--as", who).output)["balance"]  # noqa: E731
    assert (hours("bo"), hours("cy")) == (60, -60)
    assert ccl("credit", "correct", record, "logged twice", "--as", "cy").exit_code != 0   # cy paid: not theirs
    r = ccl("credit", "correct", record, "logged twice", "--as", "bo", "--json")         # bo received the hours
    assert r.exit_code == 0, r.output
    assert (hours("bo"), hours("cy")) == (0, 0)
    rows = json.loads(ccl("hours", "history", "bo", "--json", "--as", "bo").output)["history"]
    assert any(row.get("corrected_by") == json.loads(r.output)["result"] for row in rows)
