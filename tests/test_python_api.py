"""The Python front door (`import ccl`): docs/python.md's examples run as written, in order, from
an empty folder; the API refuses outsiders and plain members with the store unchanged."""

import os
import re
from pathlib import Path

import pytest

import ccl

DOC = Path(__file__).parent.parent / "docs" / "python.md"


def test_the_guide_runs_as_written(tmp_path, monkeypatch):
    text = DOC.read_text()
    monkeypatch.chdir(tmp_path)
    for name, source in re.findall(r"With `([\w.]+\.ccl)`:\n\n```ccl\n(.*?)```", text, re.S):
        (tmp_path / name).write_text(source)
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 3
    for i, code in enumerate(blocks):
        exec(compile(code, f"python.md block {i + 1}", "exec"), {})


def _dump(folder: Path) -> bytes:
    import sqlite3

    con = sqlite3.connect(folder / ".ccl" / "state.db")
    try:
        return repr([con.execute(f"select * from {t} order by 1").fetchall()
                     for (t,) in con.execute("select name from sqlite_master where type='table' order by 1")]).encode()
    finally:
        con.close()


@pytest.fixture
def coop(tmp_path):
    (tmp_path / "c.ccl").write_text("contract C {\n    founder: Steward;\n"
                                    "    role Steward { can: [manage_members, manage_roles, manage_credit]; }\n}\n")
    c = ccl.found(tmp_path / "w", founder="ana", bylaws=[str(tmp_path / "c.ccl")], demo=True)
    c.new_member("bo", by=c.member("ana"))
    c.new_identity("eve")                               # a key, never admitted
    return c


@pytest.mark.parametrize("who", ["bo", "eve"])
def test_outsiders_and_plain_members_are_refused_and_nothing_changes(coop, who):
    before = _dump(coop.workspace.root.parent)
    m = coop.member(who)
    for name, values in (("credit_limit", {"member": who, "floor": -10**9, "ceiling": 10**9}),
                         ("member_add", {"member": "eve"}), ("role_grant", {"member": who, "role": "Steward"}),
                         ("currency_create", {"symbol": "X", "name": "x"})):
        with pytest.raises(ccl.CclError) as e:
            m.do(name, **values)
        assert e.value.diagnostic.kind == "host", (name, e.value.diagnostic)
    if who == "eve":
        with pytest.raises(ccl.CclError):
            m.credit_issue(to="bo", amount=1)
    assert _dump(coop.workspace.root.parent) == before


def test_bad_inputs_are_usage_errors(coop):
    ana = coop.member("ana")
    with pytest.raises(ccl.CclError) as e:
        ana.credit_issue(to="bo")
    assert e.value.diagnostic.code == "U0702"
    with pytest.raises(ccl.CclError) as e:
        ana.credit_issue(to="bo", amount=1, memo="x")
    assert e.value.diagnostic.code == "U0702"
    with pytest.raises(ccl.CclError) as e:
        ana.do("no such thing")
    assert e.value.diagnostic.code == "U0700"
    with pytest.raises(AttributeError):
        ana.no_such_operation
    with pytest.raises(ccl.CclError) as e:
        ccl.open(os.devnull + "-nothing-here")
    assert e.value.diagnostic.code == "U0701"


def test_every_command_of_the_table_is_reachable_from_python():
    from ccl.api.coop import Member
    from ccl.operations import COMMANDS

    for op in COMMANDS:
        assert op.command is not None
        assert callable(getattr(Member.__new__(Member), op.command.entry))


def test_one_members_key_never_runs_as_another(coop):
    """Found by review: Member(coop, ana's DID, bo's key) ran with ana's permissions and wrote a
    receipt whose signature failed `verify` for ever after."""
    from ccl.api.coop import Member

    before = _dump(coop.workspace.root.parent)
    forged = Member(coop, coop.did("ana"), coop.member("bo").signer)
    with pytest.raises(ccl.CclError) as e:
        forged.credit_issue(to="bo", amount=5)
    assert e.value.diagnostic.code == "U0703"
    assert _dump(coop.workspace.root.parent) == before
    assert coop.verify()["ok"]


def test_an_identity_name_is_never_a_path(coop):
    """Found by review: `--as ../coop/coop` loaded the co-op's own private key."""
    with pytest.raises(ccl.CclError) as e:
        coop.member("../coop/coop")
    assert e.value.diagnostic.code in ("U0700", "U0703")
    with pytest.raises(ccl.CclError):
        coop.workspace.keys.load("../coop/coop")
