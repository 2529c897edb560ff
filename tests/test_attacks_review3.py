"""Review 3 of issue 14's declared private parameters (`private: "fn.param = op.input"` in a
contract's metadata, sealed by ccl.runtime.session._seal_declared): failing tests are finds,
passing ones are attacks that were refused."""

import sqlite3

import pytest

from ccl import private as P
from ccl.pipeline import build
from ccl.runtime import session
from helpers import found as found_cli
from test_node import ANA, founded
from test_trust import history_text


def _history(folder) -> bytes:
    return history_text(folder)


def _private_rows(folder):
    db = sqlite3.connect(folder / ".ccl" / "state.db")
    try:
        return db.execute("SELECT * FROM private").fetchall()
    finally:
        db.close()


def _module(private_meta: str, param_type: str = "String", fn: str = "ask", param: str = "purpose") -> str:
    return (f'contract T {{ private: {private_meta}; state last: {param_type} = {"[]" if "Array" in param_type else chr(34) * 2}; '
            f'fn {fn}({param}: {param_type}) -> Bool {{ last = {param}; true }} }}')


def _run(ws, source, args, entry="ask"):
    return session.run(build(source, "t.ccl"), entry, args, store=ws.store, caller=ANA.did, signer=ANA,
                       log=lambda m: None)


# ------------------------------------------------------------------ finds (fail today)

def test_a_typo_on_the_left_of_a_declaration_leaves_the_text_in_plain(tmp_path):
    """Severity: HIGH. `private: "ask.porpose = request_loan.purpose"` (a typo in the PARAMETER,
    or `aply.purpose` in the FUNCTION) is accepted: declared_private checks only that the right
    side names a private input, and that the left side is non-empty — never that FUNCTION is a
    function of the contract and PARAMETER one of its parameters. The run then seals nothing and
    the purpose enters the receipt in plain, although the docstring and docs promise "a typo never
    leaves a text in plain" (U0711). Fix: in declared_private, refuse (U0711) a left side that
    names no function of that contract (`verified.module.functions`, short name under the
    contract's `Contract::` prefix) with that parameter in `param_names`."""
    ws = founded(tmp_path)
    for meta in ('"ask.porpose = request_loan.purpose"', '"aks.purpose = request_loan.purpose"'):
        try:
            r = _run(ws, _module(meta), ["rent arrears " + meta[1:4]])
        except Exception as e:            # a U0711 refusal is the fix
            assert getattr(e, "diagnostic").code in ("U0711", "E0226")   # refused (E0226: when compiled)
            continue
        assert r.run.ok, r.run.error
        assert b"rent arrears" not in _history(tmp_path), f"{meta}: the text entered the history in plain"


def test_a_declaration_written_as_a_list_is_dropped_silently_and_the_text_is_plain(tmp_path):
    """Severity: MEDIUM. `private: ["ask.purpose = request_loan.purpose"];` compiles, but the
    metadata reader drops a list value (the contract's meta has no `private` at all), so neither
    sealing nor U0711 happens: the purpose lands in plain. Fix: have the compiler refuse a
    non-string `private:` metadata value (or declared_private accept a list of strings); at least
    never drop a metadata key silently."""
    ws = founded(tmp_path)
    try:
        r = _run(ws, _module('["ask.purpose = request_loan.purpose"]'), ["rent arrears"])
    except Exception as e:
        assert getattr(e, "diagnostic").code in ("U0711", "E0226")   # refused (E0226: when compiled)
        return
    assert r.run.ok, r.run.error
    assert b"rent arrears" not in _history(tmp_path)


def test_a_declared_private_array_parameter_is_kept_in_plain(tmp_path):
    """Severity: MEDIUM. A parameter of type Array<String> declared private
    (`ask.purposes = request_loan.purpose`) is accepted, but _seal_declared seals only an
    argument that `isinstance(value, str)`: the list of texts goes into the receipt's args in
    plain. Fix: seal each text inside arrays/maps (recursively), or refuse (U0711) a declaration
    whose parameter's type is not String."""
    ws = founded(tmp_path)
    source = _module('"ask.purposes = request_loan.purpose"', "Array<String>", param="purposes")
    try:
        r = _run(ws, source, [["rent arrears", "a funeral"]])
    except Exception as e:
        assert getattr(e, "diagnostic").code in ("U0711", "E0226")   # refused (E0226: when compiled)
        return
    assert r.run.ok, r.run.error
    assert b"rent arrears" not in _history(tmp_path) and b"a funeral" not in _history(tmp_path)


PROPOSING = """
contract Fund {
    founder: Steward;
    private: "Grant.purpose = request_loan.purpose";
    role Steward { can: [manage_members, manage_roles, approve_loan, vote]; }
    state last: String = "";
    proposal Grant(purpose: String) {
        description: "A grant for a purpose";
        eligible: Steward;
        duration: 1 days;
        quorum: 1%;
        threshold: majority;
        can: [];
        execution: { last = purpose; }
    }
}
"""


def test_a_proposal_kinds_declared_private_parameter_enters_the_history_in_plain(tmp_path):
    """Severity: MEDIUM. A proposal kind is a contract's own parameterised entry
    (`Fund::proposal::Grant`, short name `Grant`), and `private: "Grant.purpose =
    request_loan.purpose"` is accepted — but an open_proposal action stores its args (checked
    by _check_args) in plain in the proposal and its receipt, and the execution is looked up
    with find_entry(..., hidden=False), so _seal_declared returns the args untouched. The
    declared-private purpose is in the history in plain. Fix: seal declared parameters of a
    proposal kind in the open_proposal action (store the commitment in p["args"]; execution
    then compares commitments), or refuse a declaration naming a proposal kind (U0711)."""
    from ccl.diag import CclError

    with pytest.raises(CclError) as refused:           # fixed: refused when compiled (E0226)
        build(PROPOSING, "fund.ccl")
    assert refused.value.diagnostic.code == "E0226" and "proposal kind" in " ".join(refused.value.diagnostic.hints)


TWO_CONTRACTS = """
contract A { private: "apply.purpose = request_loan.purpose"; state n: String = "";
             fn apply(purpose: String) -> Bool { n = purpose; true } }
contract B {
    state last: String = "";
    fn apply(purpose: String) -> Bool { require(purpose == "rent", "only rent"); last = purpose; true }
}
"""


def test_one_contracts_declaration_seals_another_contracts_function_of_the_same_name(tmp_path):
    """Severity: LOW. declared_private keys its answer by (function short name, parameter) over
    every contract of the module, dropping the contract: contract A's `apply.purpose` also seals
    contract B's `apply(purpose)`, which never declared it, so B's rule computing on its own
    plain parameter (`require(purpose == "rent")`) sees a commitment and refuses every call.
    Fix: key by (contract, function, parameter) and compare with the entry's `Contract::`
    prefix in _seal_declared."""
    ws = founded(tmp_path)
    r = _run(ws, TWO_CONTRACTS, ["rent"], entry="B::apply")
    assert r.run.ok, r.run.error                        # B declared nothing: its rule sees its text
    assert _private_rows(tmp_path) == []
    r = _run(ws, TWO_CONTRACTS, ["rent arrears"], entry="A::apply")
    assert r.run.ok, r.run.error                        # A's own declaration seals A's parameter
    assert b"rent arrears" not in _history(tmp_path) and len(_private_rows(tmp_path)) == 1


BAD_BYLAWS = ('contract T { founder: S; role S { can: [manage_members, manage_roles]; } '
              'private: "ask.purpose = request_loan.porpose"; state n: Integer = 0; '
              'fn ask(purpose: String) -> Bool { n = 1; true } fn other() -> Bool { n = 2; true } }')


def test_a_bad_declaration_is_accepted_at_founding_then_bricks_every_function_of_the_bylaws(tmp_path):
    """Severity: MEDIUM (availability). U0711 is raised only inside session.run, so bylaws with a
    typo in `private:` are founded (or adopted by amendment) without complaint, and afterwards
    every call of every function of the module — `other()`, which declares nothing — raises
    U0711: the co-op's contract is unusable until another amendment passes. (Through the node
    the call is a 400 U0711 and the nonce is spent, so no traceback.) Fix: run
    declared_private in verify()/build (a compile-time U0711, so `ccl check`, founding and
    amendment tests refuse it), or at least raise only for the entry's own declarations."""
    try:
        ws = founded(tmp_path, [BAD_BYLAWS])
    except Exception as e:                # refusing the bylaws at founding is the fix
        assert getattr(e, "diagnostic").code in ("U0711", "E0226")   # refused (E0226: when compiled)
        return
    r = session.run(build(BAD_BYLAWS, "club.ccl"), "other", [], store=ws.store, caller=ANA.did, signer=ANA,
                    log=lambda m: None)
    assert r.run.ok, r.run.error


def test_a_declared_parameter_skips_its_inputs_length_limit_and_fills_the_side_table(tmp_path):
    """Severity: LOW (storage). request_loan.purpose may hold at most 2,000 code points at the
    edge (Input.limit / too_long), but _seal_declared seals a declared parameter of any length up
    to the language's string ceiling and writes it to the `private` side table — outside the
    history, so outside the node's history quota too (tx.written counts blocks). Fix: in
    _seal_declared, refuse a value for which `i.too_long(value)` is not None, as the edge does."""
    from ccl.operations import OPS

    limit = next(i for op in OPS if op.name == "request_loan" for i in op.command.inputs if i.name == "purpose").limit
    from ccl.diag import CclError

    ws = founded(tmp_path)
    with pytest.raises(CclError) as refused:            # fixed: the input's limit, as at the edge
        _run(ws, _module('"ask.purpose = request_loan.purpose"'), ["x" * (limit * 20)])
    assert refused.value.diagnostic.code == "L0509"
    assert _private_rows(tmp_path) == [], "a private text 20 times its input's limit was kept"


# ------------------------------------------------------------------ refused attacks (pass)

def test_the_template_through_the_cli_keeps_the_purpose_out_of_every_history_file_and_replays(tmp_path):
    """`ccl call CreditUnionLoans apply` in-process (CliRunner): the purpose is in no block, kv
    row, or other file of the workspace but the private side table; `dag verify` and `dag
    replay` pass; the borrower reads it, another plain member does not."""
    from pathlib import Path

    (tmp_path / "loans.ccl").write_text((Path(__file__).resolve().parent.parent / "contracts" /
                                         "credit_union_loans.ccl").read_text())
    ccl = found_cli(tmp_path, founder="alice", members=("bob", "carol"), bylaws=["loans.ccl"],
                    roles={"bob": "Member", "carol": "Member"})
    r = ccl("call", "CreditUnionLoans", "apply", "--args", '[500, "rent arrears", 30]', "--as", "bob", "--json")
    assert r.exit_code == 0, r.output
    assert "rent arrears" not in r.output or '"purpose"' in r.output
    assert b"rent arrears" not in _history(tmp_path)
    for f in (tmp_path / ".ccl").rglob("*"):
        if f.is_file() and not f.name.startswith("state.db"):
            assert b"rent arrears" not in f.read_bytes(), f
    assert ccl("dag", "verify").exit_code == 0
    assert ccl("dag", "replay").exit_code == 0
    rows = _private_rows(tmp_path)
    assert len(rows) == 1 and rows[0][4] == "rent arrears"
    carol = ccl("loan", "list", "--as", "carol", "--json")
    if carol.exit_code == 0:
        assert "rent arrears" not in carol.output



@pytest.mark.parametrize("meta", ["5", "true", '"ask = request_loan"', '"ask.purpose = request_loan.purpose = x"',
                                  '"ask.purpose = "', '"= request_loan.purpose"', '"ask.purpose = règle.purpose"',
                                  '"' + "x" * 100_000 + '"'])
def test_odd_declarations_are_refused_with_u0711_not_a_traceback(tmp_path, meta):
    ws = founded(tmp_path)
    with pytest.raises(Exception) as refused:
        _run(ws, _module(meta), ["rent arrears"])
    # (a 100,000-character metadata text is refused by the compiler's string limit, L0500)
    assert getattr(refused.value, "diagnostic").code in ("U0711", "E0226", "L0500")
    assert b"rent arrears" not in _history(tmp_path)


def test_empty_parts_and_separators_are_ignored_and_the_valid_part_still_seals(tmp_path):
    ws = founded(tmp_path)
    r = _run(ws, _module('" , ; ask.purpose = request_loan.purpose ;, "'), ["rent arrears"])
    assert r.run.ok, r.run.error
    assert b"rent arrears" not in _history(tmp_path)
    (commitment, subject, readers, salt, text), = _private_rows(tmp_path)
    assert (subject, readers, text) == (ANA.did, "approve_loan", "rent arrears") and P.matches(commitment, salt, text)


def test_another_members_commitment_passed_as_the_parameter_gets_no_new_row_naming_the_caller(tmp_path):
    """A member passes a commitment sealed for someone else: it is not resealed, and no private
    row is written that would make the caller its subject (the original row keeps its subject)."""
    ws = founded(tmp_path)
    salt, text = "00" * 16, "cy's secret purpose"
    theirs = P.commitment(salt, text)
    with ws.store.transaction() as tx:
        tx.private_put(theirs, "did:key:cy", "approve_loan", salt, text)
    r = _run(ws, _module('"ask.purpose = request_loan.purpose"'), [theirs])
    assert r.run.ok, r.run.error
    rows = _private_rows(tmp_path)
    assert rows == [(theirs, "did:key:cy", "approve_loan", salt, text)]


def test_a_commitment_looking_plain_value_is_not_sealed_but_holds_no_text_of_the_caller(tmp_path):
    ws = founded(tmp_path)
    fake = P.PREFIX + "a" * 52
    assert P.is_commitment(fake)
    r = _run(ws, _module('"ask.purpose = request_loan.purpose"'), [fake])
    assert r.run.ok and _private_rows(tmp_path) == []


def test_a_sealed_declared_parameter_replays_and_verifies(tmp_path):
    ws = founded(tmp_path)
    for text in ("rent arrears", "a funeral"):
        assert _run(ws, _module('"ask.purpose = request_loan.purpose"'), [text]).run.ok
    steps = session.replay(ws.store)
    assert steps and all(s.ok for s in steps), steps
    from ccl import dag

    with ws.store.reader() as tx:
        assert dag.verify_all(tx) == []
    assert b"rent arrears" not in _history(tmp_path)


def test_the_value_returned_or_in_an_error_is_the_commitment_not_the_text(tmp_path):
    ws = founded(tmp_path)
    source = ('contract T { private: "ask.purpose = request_loan.purpose"; state last: String = ""; '
              'fn ask(purpose: String) -> String { last = purpose; emit Asked { p: purpose }; purpose } }')
    r = _run(ws, source, ["rent arrears"])
    assert r.run.ok, r.run.error
    assert P.is_commitment(r.run.value)
    assert b"rent arrears" not in _history(tmp_path)
    failing = ('contract T { private: "ask.purpose = request_loan.purpose"; state last: String = ""; '
               'fn ask(purpose: String) -> String { last = purpose; require(false, purpose); purpose } }')
    r = _run(ws, failing, ["rent arrears"])
    assert not r.run.ok and "rent arrears" not in str(r.run.error)
