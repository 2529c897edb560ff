"""The attack suite: what the audit found, each as a test, and a matrix of actors × operations.

Each numbered test is one finding of the audit ("The bylaws govern"): it failed on the main of
that day and passes now. The matrix runs every state-changing CLI command as the founder, a
treasurer (a member with the economic permissions), a plain member, a member who left and an
outsider, each in a fresh copy of one demo co-op: allowed cells must succeed; refused cells must
end in one categorized diagnostic with the store unchanged — compared as a logical dump of every
table plus the state root, after a WAL checkpoint. Then every effectful host row, every proposal
kind of every template and every HTTP route are tried by the actors they must refuse.
"""

import json
import re
import shutil
import sqlite3
from pathlib import Path

import pytest

from ccl.cli.main import cli
from ccl.identity import Identity
from helpers import cli_in, found

ROOT = Path(__file__).parent.parent

BYLAWS = """
contract Coop {
    founder: Steward;
    role Member { can: [vote]; }
    role Steward extends Member { can: [manage_members, manage_roles]; }
    role Treasurer extends Member {
        can: [manage_credit, manage_currency, mint, approve_loan, write_off, manage_pool, approve_claim,
            manage_coop, manage_aid, record_purchases, coordinate_aid];
    }

    state reserve: Integer = 1000;
    state owner_only: Integer = 7;

    proposal LoanApproval(loan: String) {
        description: "Approve a member loan from the lending pool";
        eligible: Member;
        duration: 3 days;
        quorum: 50%;
        threshold: majority;
        can: [approve_loan];
        execution: { approve_loan(loan); }
    }

    fn pay_out(amount: Integer) -> Integer needs manage_credit {
        reserve = reserve - amount;
        reserve
    }
    fn reserve_now() -> Integer { reserve }
    open fn hello() -> String { "hello, neighbour" }
}
"""

# a module that is not adopted but declares the adopted contract's name, to overwrite its state
HOSTILE_STATE = """
contract Coop {
    state owner_only: Integer = 0;
    fn take() -> Integer { owner_only = 999; owner_only }
}
"""

# a module that declares a role of the adopted bylaws' name with more permissions, then uses them
HOSTILE_ROLE = """
contract Other {
    role Member { can: [manage_credit, manage_roles]; }
    fn raise_limit(who: Did) -> Bool { set_credit_limit(who, -1000000, 1000000) }
}
"""

ACTORS = ("ana", "tess", "mo", "lee", "out")        # founder, treasurer, member, left, outsider
T0 = 1_800_000_000


invoke = cli_in


def dump(cwd) -> tuple:
    """Every row of every table, and the state root, after a WAL checkpoint — but the spent
    nonces (ccl.store.side): a refused request spends its nonce, so that it is never resent."""
    from ccl.runtime.session import state_root
    from ccl.store.sqlite import SqliteStore

    db = Path(cwd) / ".ccl" / "state.db"
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA wal_checkpoint(FULL)")
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        rows = tuple((t, tuple(conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2"))) for t in tables
                     if t not in ("nonces", "nonce_horizon"))
    finally:
        conn.close()
    store = SqliteStore(str(db))
    with store.reader() as tx:
        root = state_root(tx) if tx.head() else None
    store.close()
    return rows, root


def json_of(r) -> dict:
    return json.loads(r.stdout.strip().splitlines()[-1])


class Coop:
    """The demo co-op every cell starts from (built once, copied per cell)."""

    def __init__(self, folder: Path):
        self.dir = folder
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "coop.ccl").write_text(BYLAWS)
        (folder / "hostile_state.ccl").write_text(HOSTILE_STATE)
        (folder / "hostile_role.ccl").write_text(HOSTILE_ROLE)
        (folder / "helper.ccl").write_text('fn run() { admit(caller(), "Treasurer"); }')
        self.ok("init", "--founder", "ana", "--bylaws", "coop.ccl", "--demo")
        for name in ("tess", "mo", "lee", "out"):
            self.ok("id", "new", name)
        self.did = {n: json_of(self.ok("id", "show", n, "--json"))["did"] for n in ACTORS}
        for name in ("tess", "mo", "lee"):
            self.ok("member", "add", name, "--as", "ana")
        for name, role in (("tess", "Treasurer"), ("mo", "Member"), ("lee", "Treasurer")):
            self.ok("role", "grant", name, role, "--as", "ana")
        self.ok("currency", "create", "RIV", "River", "--as", "tess")
        self.ok("currency", "mint", "RIV", "mo", "50", "--as", "tess")
        self.ok("loan", "deposit", "80", "--as", "tess")
        self.loan = json_of(self.ok("loan", "request", "5", "tools", "90", "--as", "mo", "--json"))["result"]
        self.active = json_of(self.ok("loan", "request", "3", "bike", "90", "--as", "mo", "--json"))["result"]
        self.ok("loan", "approve", self.active, "--as", "tess")
        self.ok("pool", "create", "care", "0.10", "10", "--as", "tess")
        self.ok("pool", "join", "care", "--as", "mo")
        self.ok("pool", "contribute", "care", "1", "--as", "mo")
        self.claim = json_of(self.ok("pool", "claim", "care", "0.20", "dentist", "--as", "mo", "--json"))["result"]
        self.record = json_of(self.ok("hours", "log", "tess", "60", "garden", "--as", "mo", "--json"))["result"]
        self.ok("work", "log", "mo", "120", "bread", "--as", "mo")
        self.ok("purchase", "mo", "2.50", "--as", "mo")
        from ccl.coop import period_of

        self.period = period_of(json_of(self.ok("clock", "show", "--json"))["time"])
        self.ok("aid", "offer", "soup", "4", "--location", "0,0", "--as", "tess")
        self.ok("aid", "request", "soup", "2", "--location", "1,1", "--as", "mo")
        matches = json_of(self.ok("aid", "match", "--as", "ana", "--json"))["result"]
        self.match = matches[0]["id"]
        self.proposal = json_of(self.ok("proposal", "open", "LoanApproval", "--args", json.dumps([self.loan]),
                                        "--as", "ana", "--json"))["proposal"]
        self.mine = json_of(self.ok("proposal", "open", "LoanApproval", "--args", json.dumps([self.loan]),
                                    "--as", "mo", "--json"))["proposal"]
        self.ok("delegate", "tess", "--as", "mo")
        self.ok("call", "Coop", "pay_out", "--args", "[1]", "--as", "tess")     # the contract's state exists
        self.ok("member", "remove", "lee", "--as", "ana")
        self.ok("credit", "transfer", "tess", "0.02", "--as", "mo")                  # one to correct
        rows = json_of(self.ok("credit", "history", "mo", "--json", "--as", "mo"))["history"]
        self.entry = [row["entry"] for row in rows if row["kind"] == "transfer"][-1]
        self.newcomer = Identity.from_seed("newcomer", bytes([42]) * 32).did

    def ok(self, *args):
        r = invoke(self.dir, *args)
        assert r.exit_code == 0, (args, r.output)
        return r


@pytest.fixture(scope="module")
def coop(tmp_path_factory):
    return Coop(tmp_path_factory.mktemp("coop") / "coop")


def cell(coop: Coop, tmp_path: Path, argv: list, actor: str):
    """Run one command as `actor` in a fresh copy of the co-op: (result, dump before, dump after)."""
    folder = tmp_path / f"cell-{actor}"
    shutil.copytree(coop.dir, folder)
    before = dump(folder)
    at = argv.index("--") if "--" in argv else len(argv)          # options go before a `--`
    r = invoke(folder, *argv[:at], "--as", actor, *argv[at:])
    return r, before, dump(folder)


def operations(c: Coop) -> list:
    """(name, argv, actors allowed). Every state-changing command, with arguments that are valid
    for the actors allowed; anyone else must be refused with nothing changed."""
    d = c.did
    members = {"ana", "tess", "mo"}
    return [
        ("credit issue", ["credit", "issue", "mo", "0.10"], members - {"mo"}),
        ("credit transfer", ["credit", "transfer", "ana", "0.01"], members - {"ana"}),
        ("credit limit", ["credit", "limit", "mo", "--", "-5", "5"], {"tess"}),
        ("credit correct", ["credit", "correct", c.entry, "sent by mistake"], {"tess"}),     # the payee
        ("hours log", ["hours", "log", "tess", "30", "help"], members - {"tess"}),
        ("hours confirm", ["hours", "confirm", c.record], {"tess"}),
        ("hours decline", ["hours", "decline", c.record], {"tess"}),
        ("hours trade", ["hours", "trade", "ana", "1"], members - {"ana"}),
        ("currency create", ["currency", "create", "OAK", "Oak"], {"tess"}),
        ("currency mint", ["currency", "mint", "RIV", "mo", "5"], {"tess"}),
        ("currency burn", ["currency", "burn", "RIV", "1"], {"mo"}),
        ("currency transfer", ["currency", "transfer", "RIV", "ana", "1"], {"mo"}),
        ("currency policy", ["currency", "policy", "RIV", "cap", "100000"], {"tess"}),
        ("loan deposit", ["loan", "deposit", "0.10"], members),
        ("loan request", ["loan", "request", "1", "tools", "30"], members),
        ("loan evaluate", ["loan", "evaluate", c.loan], members),
        ("loan approve", ["loan", "approve", c.loan], {"tess"}),
        ("loan repay", ["loan", "repay", c.active, "0.01"], members),
        ("loan write-off", ["loan", "write-off", c.active], {"tess"}),
        ("pool create", ["pool", "create", "roof", "0.10", "1"], {"tess"}),
        ("pool join", ["pool", "join", "care"], {"ana", "tess"}),
        ("pool contribute", ["pool", "contribute", "care", "0.10"], {"mo"}),
        ("pool claim", ["pool", "claim", "care", "0.05", "glasses"], {"mo"}),
        ("pool approve", ["pool", "approve", c.claim], {"tess"}),
        ("member add", ["member", "add", c.newcomer], {"ana"}),
        ("member remove", ["member", "remove", "mo"], {"ana", "mo"}),
        ("member set", ["member", "set", "mo", "tenure", "5"], {"ana"}),
        ("member name", ["member", "name", "mo", "Mo the baker"], {"ana", "mo"}),
        ("member erase", ["member", "erase", "mo"], {"ana", "mo"}),
        ("role grant", ["role", "grant", "mo", "Treasurer"], {"ana"}),
        ("role revoke", ["role", "revoke", "tess", "Treasurer"], {"ana"}),
        ("proposal open", ["proposal", "open", "LoanApproval", "--args", json.dumps([c.loan])], members),
        ("proposal vote", ["proposal", "vote", c.proposal, "yes"], members),
        ("proposal cancel", ["proposal", "cancel", c.mine], {"mo"}),
        ("proposal execute", ["proposal", "execute", c.proposal], set()),        # voting is still open
        ("proposal close", ["proposal", "close", c.proposal], set()),
        ("delegate", ["delegate", "tess"], {"ana", "mo"}),            # mo's delegation is replaced
        ("undelegate", ["undelegate"], {"mo"}),
        ("work log", ["work", "log", "mo", "30", "bread"], {"mo", "tess"}),
        ("purchase", ["purchase", "mo", "1"], {"mo", "tess"}),
        ("patronage rule", ["patronage", "rule", "2027", "5000"], {"tess"}),
        ("patronage calculate", ["patronage", "calculate", c.period, "1"], {"tess"}),
        ("coop policy", ["coop", "policy", "reserve_bps", "1000"], {"tess"}),
        ("coop distribute", ["coop", "distribute", d["ana"], "1"], {"tess"}),
        ("aid request", ["aid", "request", "bread", "1"], members),
        ("aid offer", ["aid", "offer", "bread", "1"], members),
        ("aid match", ["aid", "match"], members),
        ("aid fulfil", ["aid", "fulfil", c.match], {"mo", "tess"}),
        ("aid setting", ["aid", "setting", "emergency", "1"], {"tess"}),
        ("call guarded", ["call", "Coop", "pay_out", "--args", "[1]"], {"tess"}),
        ("call member fn", ["call", "Coop", "reserve_now"], members),
        ("call open fn", ["call", "Coop", "hello"], set(ACTORS)),
        ("run hostile state", ["run", "hostile_state.ccl", "--fn", "take"], set()),
        ("run hostile role", ["run", "hostile_role.ccl", "--fn", "raise_limit", "--args", json.dumps([d["mo"]])],
         {"tess"}),
        ("adopt", ["adopt", "coop.ccl"], set()),                          # the same version: already adopted
        ("bylaws retire", ["bylaws", "retire", "Coop"], members),        # opens an Amendment to vote on
        ("run test helper", ["run", "helper.ccl"], set()),                # admit() exists only in `ccl test`
        ("grant (retired)", ["grant", "mo", "manage_credit"], set()),
        ("revoke (retired)", ["revoke", "tess", "manage_credit"], set()),
    ]


OPERATION_NAMES = [op[0] for op in operations(type("C", (), {"did": {a: "did:key:x" for a in ACTORS}, "record": "r",
                                                                "loan": "l", "active": "a", "claim": "c",
                                                                "proposal": "p", "mine": "m", "match": "x", "period": "2026",
                                                                "newcomer": "n", "entry": "e"})())]


@pytest.mark.parametrize("name", OPERATION_NAMES)
def test_matrix(coop, tmp_path, name):
    """One operation as every actor: allowed cells succeed, refused cells change nothing."""
    _, argv, allowed = next(op for op in operations(coop) if op[0] == name)
    for actor in ACTORS:
        r, before, after = cell(coop, tmp_path, argv, actor)
        if actor in allowed:
            assert r.exit_code == 0, (name, actor, r.output)
            continue
        assert r.exit_code in (1, 2), (name, actor, r.exit_code, r.output)
        assert re.search(r"\b[A-Z]\d{4}\b", r.output), (name, actor, r.output)      # one categorized diagnostic
        assert "Traceback" not in r.output and "X9999" not in r.output
        assert after == before, (name, actor, "the store changed")


def test_matrix_covers_every_state_changing_command():
    """A new state-changing command must get a row in the matrix."""
    import click

    reads = {"aid list", "bylaws diff", "bylaws history", "bylaws show", "check", "clock show", "compile",
             "coop analytics", "credit balance", "credit history", "currency balance", "currency show", "dag export", "dag log",
             "dag replay", "dag show", "dag verify", "disasm", "fmt", "highlight", "hours balance", "hours history",
             "hours pending", "id list", "id show", "loan list", "loan show", "member list", "patronage notices",
             "proposal list", "proposal show", "proposal tally", "role list", "test", "work list", "serve",
             "store migrate", "new", "init", "id new", "clock advance",
             # the workspace's own files, copied or replaced whole (whoever can read state.db has it all;
             # docs/stewards.md): no member's authority is involved, and they have tests of their own
             "store backup", "store restore", "dag import"}
    # run and call are covered as "run hostile …", "run test helper" and "call …"
    covered = {n.split(" (")[0] for n in OPERATION_NAMES} | {"run", "call"}
    names = []

    def walk(cmd, prefix):
        if isinstance(cmd, click.Group):
            for n, c in cmd.commands.items():
                walk(c, prefix + [n])
        else:
            names.append(" ".join(prefix))
    walk(cli, [])
    missing = [n for n in names if n not in reads and n not in covered and not any(c.startswith(n) for c in covered)]
    assert not missing, missing


# ---------------------------------------------------------------- the audit's findings, one by one

def test_1_running_a_file_with_a_role_of_the_same_name_registers_nothing(coop, tmp_path):
    """Finding 1: `role Member { can: [admin]; }` in any file made every Member an admin."""
    folder = tmp_path / "w"
    shutil.copytree(coop.dir, folder)
    (folder / "evil.ccl").write_text("contract Evil { role Member { can: [manage_credit, manage_roles]; }\n"
                                     "fn hi() -> Integer { 1 } }\n")
    roles = invoke(folder, "role", "list", "--json").stdout
    before = dump(folder)
    assert invoke(folder, "run", "evil.ccl", "--fn", "hi", "--as", "mo").exit_code == 0      # it runs…
    assert dump(folder) == before and invoke(folder, "role", "list", "--json").stdout == roles   # …registers nothing
    r = invoke(folder, "proposal", "open", "evil.ccl", "--as", "mo")
    assert r.exit_code == 2 and "not from a file" in r.output
    r = invoke(folder, "credit", "limit", "mo", "--as", "mo", "--", "-9000", "9000")          # still no power
    assert r.exit_code == 1 and "lacks `manage_credit`" in r.output
    assert dump(folder) == before


def test_2_a_member_cannot_bring_his_own_proposal_rules(coop, tmp_path):
    """Finding 2: a member's own kind (quorum 0%, 1 second) opened from his file passed alone."""
    folder = tmp_path / "w"
    shutil.copytree(coop.dir, folder)
    (folder / "mine.ccl").write_text(
        "contract Mine { role Member { can: [vote]; }\n proposal Grab { description: \"x\"; eligible: Member; "
        "duration: 1 seconds; quorum: 0%; threshold: majority; can: [manage_roles]; "
        "execution: { grant_role(caller(), \"Steward\"); } } }\n")
    before = dump(folder)
    r = invoke(folder, "proposal", "open", "Grab", "--as", "mo")
    assert r.exit_code == 1 and "proposal_kind" in r.output
    r = invoke(folder, "proposal", "open", "Mine::Grab", "--as", "mo")
    assert r.exit_code == 1
    assert dump(folder) == before
    # the adopted rules hold: one yes of three eligible after one day neither meets quorum nor ends the vote
    assert invoke(folder, "proposal", "vote", coop.proposal, "yes", "--as", "mo").exit_code == 0
    assert invoke(folder, "clock", "advance", "1d").exit_code == 0
    r = invoke(folder, "proposal", "execute", coop.proposal, "--as", "mo")
    assert r.exit_code == 1 and "active" in r.output
    assert invoke(folder, "clock", "advance", "3d").exit_code == 0
    r = invoke(folder, "proposal", "execute", coop.proposal, "--as", "mo")
    assert r.exit_code == 1 and "defeated" in r.output                # 1 of 3 < 50% quorum


def test_3_another_module_cannot_overwrite_an_adopted_contracts_state(coop, tmp_path):
    """Finding 3: `contract Treasury { state owner_only … }` elsewhere overwrote the real one."""
    folder = tmp_path / "w"
    shutil.copytree(coop.dir, folder)
    before = dump(folder)
    r = invoke(folder, "run", "hostile_state.ccl", "--fn", "take", "--as", "ana", "--json")
    assert r.exit_code == 2 and json_of(r)["error"]["code"] == "U0707"
    assert "ccl call Coop" in json_of(r)["error"]["hint"]
    assert dump(folder) == before
    # a module that is not adopted keeps its own state under its CID, apart from everyone's
    (folder / "mine.ccl").write_text("contract Notes { state n: Integer = 0; fn add() -> Integer { n = n + 1; n } }")
    assert invoke(folder, "run", "mine.ccl", "--fn", "add", "--as", "mo").stdout.strip() == "1"
    from ccl.pipeline import build

    cid = build((folder / "mine.ccl").read_text(), "mine.ccl").cid
    conn = sqlite3.connect(folder / ".ccl" / "state.db")
    keys = [r[0] for r in conn.execute("SELECT contract FROM contract_state")]
    conn.close()
    assert f"{cid}/Notes" in keys and "Notes" not in keys


def test_4_guarded_functions_refuse_outsiders_and_members_without_the_permission(coop, tmp_path):
    """Finding 4: `can:` protected nothing; a non-member closed a work order paid from the reserve."""
    for actor, code in (("out", "not a member"), ("lee", "not a member"), ("mo", "does not hold `manage_credit`")):
        r, before, after = cell(coop, tmp_path / actor, ["call", "Coop", "pay_out", "--args", "[600]"], actor)
        assert r.exit_code == 1 and code in r.output, r.output
        assert after == before


def test_4_housing_template_refuses_a_non_member(tmp_path):
    """The housing co-op from its template: a non-member cannot move in, report or close."""
    r = invoke(tmp_path, "new", "housing_coop", "home", "--founder", "ana", "--demo")
    assert r.exit_code == 0, r.output
    home = tmp_path / "home"
    assert invoke(home, "id", "new", "stranger").exit_code == 0
    before = dump(home)
    stranger = json_of(invoke(home, "id", "show", "stranger", "--json"))["did"]
    for fn, args in (("move_in", [1, stranger]), ("report", [1, "leak", True]), ("close", [0, 100])):
        r = invoke(home, "call", "Housing", fn, "--args", json.dumps(args), "--as", "stranger")
        assert r.exit_code == 1 and "not a member" in r.output, (fn, r.output)
    assert dump(home) == before


def test_5_non_members_do_not_transact(coop, tmp_path):
    """Finding 5: a fresh key issued 100,000 of credit, logged hours for a member, requested loans,
    wrote to the DAG."""
    (coop.dir / "put.ccl").write_text('fn run() -> String { dag_put("graffiti") }')
    for argv in (["credit", "issue", "mo", "1000"], ["hours", "log", "mo", "600", "nothing"],
                 ["loan", "request", "10", "x", "30"], ["run", "put.ccl"]):
        r, before, after = cell(coop, tmp_path / argv[0], argv, "out")
        assert r.exit_code == 1 and "not a member" in r.output, (argv, r.output)
        assert after == before


def test_5_hours_logged_for_a_member_stay_pending_and_reserve_nothing(coop, tmp_path):
    folder = tmp_path / "w"
    shutil.copytree(coop.dir, folder)
    record = json_of(invoke(folder, "hours", "log", "mo", "600", "big job", "--as", "tess", "--json"))["result"]
    pending = json_of(invoke(folder, "hours", "pending", "mo", "--json"))["pending"]
    assert [p["id"] for p in pending] == [record]
    assert json_of(invoke(folder, "hours", "balance", "mo", "--json"))["balance"] == 0
    assert invoke(folder, "hours", "trade", "ana", "600", "--as", "mo").exit_code == 0    # her floor is hers
    assert invoke(folder, "hours", "decline", record, "--as", "mo").exit_code == 0
    r = invoke(folder, "hours", "confirm", record, "--as", "mo")
    assert r.exit_code == 1 and "declined" in r.output
    late = json_of(invoke(folder, "hours", "log", "ana", "60", "old", "--as", "tess", "--json"))["result"]
    assert invoke(folder, "clock", "advance", "31d").exit_code == 0
    r = invoke(folder, "hours", "confirm", late, "--as", "ana")
    assert r.exit_code == 1 and "expired" in r.output


def test_6_proposal_arguments_and_roles_are_checked_before_any_vote(coop, tmp_path):
    """Finding 6: `--args '["lots"]'` for an Integer passed its vote; `eligible: Parnet` checked."""
    folder = tmp_path / "w"
    shutil.copytree(coop.dir, folder)
    before = dump(folder)
    r = invoke(folder, "proposal", "open", "LoanApproval", "--args", "[5]", "--as", "mo", "--json")
    assert r.exit_code == 1 and "proposal_args" in json_of(r)["error"]["message"]
    r = invoke(folder, "proposal", "open", "LoanApproval", "--args", "[]", "--as", "mo")
    assert r.exit_code == 1
    assert dump(folder) == before
    (folder / "typo.ccl").write_text("contract T { role Parent { can: [vote]; }\n proposal P { description: \"x\"; "
                                     "eligible: Parnet; duration: 1 days; quorum: 50%; threshold: majority; } }\n")
    r = invoke(folder, "check", "typo.ccl", "--json")
    assert r.exit_code == 3 and "Parent" in r.stdout


def test_7_granting_never_founds_and_an_unfounded_workspace_serves_nothing(tmp_path):
    """Finding 7: the currencies page's `grant … mint:RIV` founded the workspace; a node served
    right after `ccl init` belonged to whoever called it first."""
    assert invoke(tmp_path, "init").exit_code == 0
    assert invoke(tmp_path, "id", "new", "ana").exit_code == 0
    before = dump(tmp_path)
    r = invoke(tmp_path, "grant", "--as", "ana", "ana", "mint:RIV")
    assert r.exit_code == 2 and "retired" in r.output
    for argv in (["member", "add", "ana", "--as", "ana"], ["credit", "issue", "ana", "5", "--as", "ana"]):
        r = invoke(tmp_path, *argv)
        assert r.exit_code == 2 and "U0704" in r.output and "ccl init --founder" in r.output
    r = invoke(tmp_path, "serve", "--port", "1")
    assert r.exit_code == 2 and "serves only a founded co-op" in r.output
    assert dump(tmp_path) == before


def test_8_an_edited_balance_fails_verify_and_replay(coop, tmp_path):
    """Finding 8: editing a balance directly in state.db passed `dag verify` and `dag replay`."""
    from ccl import canon

    folder = tmp_path / "w"
    shutil.copytree(coop.dir, folder)
    assert invoke(folder, "dag", "verify").exit_code == 0
    conn = sqlite3.connect(folder / ".ccl" / "state.db")
    key, value = conn.execute("SELECT key, value FROM kv WHERE namespace = 'ledger.account' AND key LIKE 'RIV%'"
                              ).fetchone()
    account = canon.decode(value)
    conn.execute("UPDATE kv SET value = ? WHERE namespace = 'ledger.account' AND key = ?",
                 (canon.encode({**account, "balance": account["balance"] + 1000}), key))
    conn.commit()
    conn.close()
    for argv in (["dag", "verify"], ["dag", "replay"]):
        r = invoke(folder, *argv)
        assert r.exit_code == 4 and "ledger.account" in r.output, r.output


# ---------------------------------------------------------------- beyond the list

def test_real_workspaces_refuse_time_travel(tmp_path):
    assert invoke(tmp_path, "init", "--founder", "ana").exit_code == 0
    before = dump(tmp_path)
    r = invoke(tmp_path, "credit", "issue", "ana", "5", "--as", "ana", "--at", "0")
    assert r.exit_code == 2 and "U0705" in r.output
    r = invoke(tmp_path, "clock", "advance", "7d")
    assert r.exit_code == 2 and "U0705" in r.output
    assert dump(tmp_path) == before


def test_nobody_grants_themself_a_role(coop, tmp_path):
    r, before, after = cell(coop, tmp_path, ["role", "grant", "ana", "Treasurer"], "ana")
    assert r.exit_code == 1 and "self_grant" in r.output and after == before


def test_the_coop_key_cannot_act_directly(coop, tmp_path):
    """The co-op's principal acts only through proposal executions."""
    from ccl.identity import Keystore
    from ccl.runtime import session
    from ccl.api.workspace import Workspace
    from ccl.pipeline import build

    folder = tmp_path / "w"
    shutil.copytree(coop.dir, folder)
    ws = Workspace(folder / ".ccl")
    key = Keystore(folder / ".ccl" / "coop").load("coop")
    before = dump(folder)
    v = build(f'fn run() -> Bool {{ transfer_credit(caller(), {coop.did["mo"]}, 1) }}', "x.ccl")
    r = session.run(v, "run", [], store=ws.store, caller=key.did, signer=key, now=T0 + 10**6)
    assert not r.run.ok and "coop_principal" in r.run.error.message
    ws.store.close()
    assert dump(folder) == before


def test_an_execution_acts_as_the_coop_with_only_its_kinds_can(tmp_path):
    """A kind that may approve loans cannot also mint money or grant roles, at run time too."""
    bylaw = BYLAWS.replace("execution: { approve_loan(loan); }",
                           'execution: { approve_loan(loan); require_permission(loan); }')
    (tmp_path / "coop.ccl").write_text(bylaw)
    found(tmp_path, founder="ana", members=("tess", "mo"), bylaws=["coop.ccl"],
          roles={"tess": "Treasurer", "mo": "Member"})
    ccl = invoke
    assert ccl(tmp_path, "loan", "deposit", "8", "--as", "tess").exit_code == 0
    loan = json_of(ccl(tmp_path, "loan", "request", "1", "x", "30", "--as", "mo", "--json"))["result"]
    pid = json_of(ccl(tmp_path, "proposal", "open", "LoanApproval", "--args", json.dumps([loan]), "--as", "mo",
                      "--json"))["proposal"]
    for who in ("ana", "tess", "mo"):
        assert ccl(tmp_path, "proposal", "vote", pid, "yes", "--as", who).exit_code == 0
    assert ccl(tmp_path, "clock", "advance", "4d").exit_code == 0
    before = dump(tmp_path)
    r = ccl(tmp_path, "proposal", "execute", pid, "--as", "out" if False else "mo")
    # the loan id is not a permission the kind declares: the dynamic check refuses, and nothing changes
    assert r.exit_code == 1 and "lacks" in r.output, r.output
    assert dump(tmp_path) == before


def test_every_effectful_host_row_refuses_outsiders_and_members_without_its_authority():
    """Each row's `who`, evaluated by the one enforcement point: an outsider is refused; a plain
    member is refused unless the row is open to any member; the row's own principal passes."""
    from ccl import governance as G
    from ccl.hosttable import HOST_TABLE
    from ccl.ledger import EngineState, Ledger, Refused
    from ccl.runtime import authority as AUTH
    from ccl.store.sqlite import SqliteStore

    store = SqliteStore.memory()
    member, outsider = "did:key:zMember", "did:key:zOutsider"
    with store.transaction() as tx:
        L = Ledger(EngineState(tx), 0)
        G.found(L, "did:key:zCoop", "did:key:zFounder", [], demo=True)
        G.add_member(L, "did:key:zFounder", member)              # a plain member: no role at all
        rows = [r for r in HOST_TABLE if r.who]
        assert len(rows) >= 50
        for row in rows:
            args = tuple(member if t.name == "Did" else "x" if t.name == "String" else 1 for _, t in row.params)
            with pytest.raises(Refused, match="not a member"):
                AUTH.authorize(L, AUTH.Principal(outsider, "did:key:zCoop"), row.name, args)
            p = AUTH.Principal(member, "did:key:zCoop")
            atoms = AUTH.parse(row.who)
            names = [a.group(2) for a in atoms if a.group(2)]
            if row.who == "anyone" or names:
                AUTH.authorize(L, p, row.name, args)        # the member is every Did argument here
            else:
                with pytest.raises(Refused):
                    AUTH.authorize(L, p, row.name, tuple(outsider if a == member else a for a in args))
            for n in names:
                assert n in [q for q, _ in row.params], (row.name, n)
    store.close()


def test_every_template_kind_refuses_outsiders_and_left_members(tmp_path):
    """Every proposal kind of every template: an outsider and a member who left cannot open it."""
    from ccl.pipeline import build

    for template in sorted((ROOT / "contracts").glob("*.ccl")):
        verified = build(template.read_text(), template.name)
        kinds = [k["name"] for _, m in verified.module.contracts for k in m.get("proposals", [])
                 if k["name"] != "Amendment"]
        if not kinds:
            continue
        folder = tmp_path / template.stem
        r = invoke(tmp_path, "new", template.stem, folder, "--founder", "ana", "--demo")
        assert r.exit_code == 0, r.output
        for name in ("lee", "out"):
            invoke(folder, "id", "new", name)
        assert invoke(folder, "member", "add", "lee", "--as", "ana").exit_code == 0, template
        assert invoke(folder, "member", "remove", "lee", "--as", "ana").exit_code == 0
        before = dump(folder)
        for kind in kinds:
            params = next(k for _, m in verified.module.contracts for k in m["proposals"] if k["name"] == kind)
            args = [1 if t == "Integer" else "x" for _, t in params["params"]]
            for actor in ("lee", "out"):
                r = invoke(folder, "proposal", "open", kind, "--args", json.dumps(args), "--as", actor)
                assert r.exit_code == 1 and "not a member" in r.output, (template.name, kind, actor, r.output)
        assert dump(folder) == before


def _sample_values(op, c: Coop) -> dict:
    """Values for the inputs of `op` (an operation of ccl.operations with a route) that a member
    allowed to use it could send in the co-op `c`: its arguments, and options where the operation
    needs one. Over HTTP amounts are minor units and members DIDs."""
    common = {"to": c.did["ana"], "member": c.did["mo"], "coop": c.did["ana"], "amount": 1, "floor": -5,
              "ceiling": 5, "minutes": 5, "total": 100, "pool": 100, "contribution": 10, "member_cap": 100,
              "description": "help", "task": "bread", "reason": "glasses", "purpose": "tools", "category": "bread",
              "quantity": 1, "record": c.record, "symbol": "RIV", "name": "care", "role": "Treasurer",
              "kind": "LoanApproval", "args": [c.loan], "period": c.period, "cash_bps": 5000, "term_days": 30,
              "proposal": c.proposal, "ballot": "yes", "key": "tenure", "value": "5", "id": c.loan,
              "entry": c.entry}
    per_op = {"currency create": {"symbol": "OAK", "name": "Oak"}, "currency policy": {"key": "cap", "value": 100000},
              "member add": {"member": c.newcomer}, "role revoke": {"member": c.did["tess"]},
              "loan repay": {"id": c.active}, "loan write-off": {"id": c.active}, "pool create": {"name": "roof"},
              "pool approve": {"id": c.claim}, "aid fulfil": {"id": c.match}, "proposal cancel": {"proposal": c.mine},
              "coop policy": {"key": "reserve_bps", "value": 1000}, "aid setting": {"key": "emergency", "value": 1},
              "patronage rule": {"period": "2027"}}
    cmd = op.command
    given = {**common, **per_op.get(cmd.cli, {})}
    values = {}
    for i in cmd.inputs:
        if i.kind == "arg":
            assert i.name in given, f"`ccl {cmd.cli}`: give its input `{i.name}` a sample value here"
            values[i.name] = given[i.name]
        elif i.name in per_op.get(cmd.cli, {}):
            values[i.name] = given[i.name]
    return values


def _route_request(op, values: dict) -> tuple:
    """(method, path, body) of `op`'s route for `values`, as ccl.client sends them."""
    from urllib.parse import quote

    from ccl.node.ops import PREFIX, path_inputs

    method, path = op.command.route
    in_path = path_inputs(path)
    for n in in_path:
        path = path.replace("{" + n + "}", quote(str(values[n]), safe=":@"))
    body = {k: v for k, v in values.items() if k not in in_path} if method != "GET" else None
    return method, PREFIX + path, body


class _Node:
    """A node over a fresh copy of the co-op (TestClient), and signed requests to it."""

    def __init__(self, coop: Coop, folder: Path):
        from fastapi.testclient import TestClient

        from ccl.api.workspace import Workspace
        from ccl.node.app import create_app

        shutil.copytree(coop.dir, folder)
        self.folder = folder
        self.ws = Workspace(folder / ".ccl")
        self.now = lambda: self.ws.demo_now() + 10
        self.app = create_app(self.ws, Identity.from_seed("node", bytes([78]) * 32), clock=self.now)
        self.client = TestClient(self.app)

    def send(self, who: Identity, method: str, path: str, body=None):
        from ccl.identity import sign_request

        data = b"" if body is None else json.dumps(body).encode()
        headers = {**({"content-type": "application/json"} if body is not None else {}),
                   **sign_request(who, method, path, data, self.now(), coop=self.ws_coop())}
        return self.client.request(method, path, content=data, headers=headers)

    def ws_coop(self) -> str:
        return self.client.get("/api/v1/health").json()["coop"]

    def close(self):
        self.client.close()
        self.ws.store.close()


def _routed():
    from ccl.operations import COMMANDS

    return [op for op in COMMANDS if op.command.route is not None]


def test_every_http_route_refuses_an_outsider(coop, tmp_path):
    """Every state-changing (POST) route of the node, signed by a key that was never admitted:
    each operation's route with a body of its own inputs (valid for a member), and the routes
    that run contracts."""
    from ccl.node.ops import PREFIX

    node = _Node(coop, tmp_path / "w")
    outsider = Identity.from_seed("stranger", bytes([77]) * 32)
    before = dump(node.folder)
    table = {PREFIX + op.command.route[1]: op for op in _routed() if op.command.route[0] == "POST"}
    others = {f"{PREFIX}/contracts": {"source": "fn run() -> Integer { 1 }", "name": "x.ccl"},
              f"{PREFIX}/contracts/{{cid}}/call": {"function": "hello", "args": []}}
    served = {p for p, item in node.app.openapi()["paths"].items() if "post" in item}
    assert served == set(table) | set(others)                       # every POST route is tried below
    assert len(table) >= 40
    requests = [_route_request(op, _sample_values(op, coop)) for op in table.values()]
    requests += [("POST", p.replace("{cid}", "bafyreigbtj4x7ip5legnfznufuopl4sg4knzc2cof6duas4b3q2fy6swua"), b)
                 for p, b in others.items()]
    for method, path, body in requests:
        r = node.send(outsider, method, path, body)
        assert 400 <= r.status_code < 500, (path, r.status_code, r.text)
        assert r.headers["content-type"].startswith("application/problem+json") and "X9999" not in r.text, path
        assert r.status_code not in (401, 422), (path, r.text)       # refused for who asked, not for its shape
    node.close()
    assert dump(node.folder) == before


def test_every_command_route_refuses_an_outsider_and_privileged_ones_a_plain_member(coop, tmp_path):
    """Every route of the operations table, signed by a key that was never admitted, is refused
    as `not a member`; every route whose operation needs a permission (`who` is `holds …`) is
    refused to a plain member for lacking it, and answered for a member holding it (so the
    refusal was about who asked) — each refusal with the store byte-identical. Reads open to
    anyone (`who` is `anyone`) are the only routes an outsider may use."""
    node = _Node(coop, tmp_path / "w")
    outsider = Identity.from_seed("stranger", bytes([77]) * 32)
    mo = node.ws.keys.load("mo")                                 # a member whose role can only vote
    open_reads = [op.command.cli for op in _routed() if op.command.route[0] == "GET" and op.permission == "anyone"]
    privileged = [op for op in _routed() if op.permission.startswith("holds ")]
    assert len(privileged) >= 15 and "credit limit" not in open_reads
    before = dump(node.folder)
    for op in _routed():
        if op.command.cli in open_reads:
            continue
        method, path, body = _route_request(op, _sample_values(op, coop))
        r = node.send(outsider, method, path, body)
        assert r.status_code == 403 and r.json()["kind"] == "host", (op.command.cli, r.status_code, r.text)
        assert "not a member" in r.json()["detail"], (op.command.cli, r.text)
        if op in privileged:
            r = node.send(mo, method, path, body)
            assert r.status_code == 403 and r.json()["kind"] == "host", (op.command.cli, r.text)
            assert "lacks `" in r.json()["detail"], (op.command.cli, r.text)
        assert dump(node.folder) == before, (op.command.cli, "the store changed")
    node.close()
    for op in privileged:                                        # … and the holder of the permission may
        holder = "ana" if op.permission in ("holds manage_members", "holds manage_roles") else "tess"
        allowed = _Node(coop, tmp_path / op.command.entry)
        method, path, body = _route_request(op, _sample_values(op, coop))
        r = allowed.send(allowed.ws.keys.load(holder), method, path, body)
        assert r.status_code == 200 and r.json()["ok"] and r.json()["receipt"], (op.command.cli, holder, r.text)
        allowed.close()


# ---------------------------------------------------------------- found by our own adversarial review

def _vote_all(folder, pid, choice, voters=("ana", "tess", "mo")):
    for who in voters:
        assert invoke(folder, "proposal", "vote", pid, choice, "--as", who).exit_code == 0


def test_an_option_vote_cannot_decide_a_proposal_that_executes(coop, tmp_path):
    """Opened with `--method approval`, a proposal passed whatever the options said, even a
    unanimous "reject", and executed; over HTTP the same retired the bylaws."""
    folder = tmp_path / "w"
    shutil.copytree(coop.dir, folder)
    before = dump(folder)
    for kind, args in (("LoanApproval", [coop.loan]), ("Amendment", ["retire", coop.did["ana"]])):
        r = invoke(folder, "proposal", "open", kind, "--args", json.dumps(args), "--method", "approval",
                   "--options", "reject,accept", "--as", "mo")
        assert r.exit_code == 1 and "decided yes or no" in r.output, r.output
    r = invoke(folder, "proposal", "open", "LoanApproval", "--args", json.dumps([coop.loan]), "--method", "ranked",
               "--options", "a,a", "--as", "mo")
    assert r.exit_code == 1
    assert dump(folder) == before


def test_a_kind_without_treasury_cannot_spend_the_coops_money(tmp_path):
    """`can: []` read as powerless, yet `transfer_credit(caller(), …)` moved the co-op's credit."""
    spend = BYLAWS.replace("    fn pay_out(", '''    proposal Gift(to: Did) {
        description: "a gift from the co-op";
        eligible: Member;
        duration: 1 days;
        quorum: 50%;
        threshold: majority;
        can: [];
        execution: { transfer_credit(caller(), to, 400); }
    }

    fn pay_out(''')
    (tmp_path / "coop.ccl").write_text(spend)
    r = invoke(tmp_path, "check", "coop.ccl")
    assert r.exit_code == 3 and "E0224" in r.output and "treasury" in r.output, r.output
    (tmp_path / "coop.ccl").write_text(spend.replace("can: [];\n        execution: { transfer_credit",
                                                     "can: [treasury];\n        execution: { transfer_credit"))
    assert invoke(tmp_path, "check", "coop.ccl").exit_code == 0


def test_migrations_cannot_move_money(tmp_path):
    """A `migrate_FIELD` ran as the co-op with no checks and left no trace in the receipt."""
    (tmp_path / "coop.ccl").write_text(BYLAWS)
    assert invoke(tmp_path, "init", "--founder", "ana", "--bylaws", "coop.ccl", "--demo").exit_code == 0
    invoke(tmp_path, "id", "new", "mo")
    assert invoke(tmp_path, "member", "add", "mo", "--as", "ana").exit_code == 0
    assert invoke(tmp_path, "role", "grant", "mo", "Treasurer", "--as", "ana").exit_code == 0
    assert invoke(tmp_path, "call", "Coop", "pay_out", "--args", "[1]", "--as", "mo").exit_code == 0   # state kept
    mo = json_of(invoke(tmp_path, "id", "show", "mo", "--json"))["did"]
    v2 = BYLAWS.replace("state owner_only: Integer = 7;", "state owner_only: String = \"seven\";").replace(
        "    fn reserve_now()", f"    fn migrate_owner_only(old: Integer) -> String {{\n"
        f"        transfer_credit(caller(), {mo}, 5000);\n        \"seven\"\n    }}\n    fn reserve_now()")
    (tmp_path / "v2.ccl").write_text(v2)
    before = dump(tmp_path)
    r = invoke(tmp_path, "adopt", "v2.ccl", "--as", "ana")
    assert r.exit_code == 1 and "migrate_owner_only failed" in r.output and "transfer_credit" in r.output, r.output
    assert dump(tmp_path) == before


def test_replacing_the_bylaws_keeps_the_roles_it_declares_again(tmp_path):
    """A wording-only replacement took every role from every member, founder included."""
    (tmp_path / "coop.ccl").write_text(BYLAWS)
    found(tmp_path, founder="ana", members=("tess", "mo"), bylaws=["coop.ccl"],
          roles={"tess": "Treasurer", "mo": "Member"})
    (tmp_path / "v2.ccl").write_text(BYLAWS.replace("Approve a member loan", "Approve a loan"))
    pid = json_of(invoke(tmp_path, "adopt", "v2.ccl", "--as", "mo", "--json"))["proposal"]
    _vote_all(tmp_path, pid, "yes")
    assert invoke(tmp_path, "clock", "advance", "8d").exit_code == 0
    assert invoke(tmp_path, "proposal", "execute", pid, "--as", "mo").exit_code == 0
    roles = {m["did"]: m["roles"] for m in json_of(invoke(tmp_path, "member", "list", "--json"))["members"]}
    assert sorted(map(tuple, roles.values())) == [("Member",), ("Steward",), ("Treasurer",)]
    assert invoke(tmp_path, "dag", "replay").exit_code == 0


def test_an_outsider_calling_an_open_function_leaves_no_receipt(coop, tmp_path):
    """Through the node, each fresh nonce on an `open fn` wrote a receipt: outsiders filled the DAG."""
    import time

    from fastapi.testclient import TestClient

    from ccl.api.workspace import Workspace
    from ccl.node.app import create_app
    from helpers import sign_for

    folder = tmp_path / "w"
    shutil.copytree(coop.dir, folder)
    ws = Workspace(folder / ".ccl")
    client = TestClient(create_app(ws, Identity.from_seed("node", bytes([78]) * 32), clock=lambda: ws.demo_now() + 10))
    with ws.store.reader() as tx:
        from ccl import governance as G
        from ccl.ledger import EngineState, Ledger

        cid = G.adopted(Ledger(EngineState(tx), 0))["Coop"]
    before = dump(folder)
    stranger = Identity.from_seed("stranger", bytes([79]) * 32)
    for i in range(3):
        path = f"/api/v1/contracts/{cid}/call"
        data = json.dumps({"function": "hello", "args": []}).encode()
        r = client.post(path, content=data, headers={"content-type": "application/json",
                                                     **sign_for(client, stranger, "POST", path, data,
                                                                int(time.time()))})
        assert r.status_code == 200 and r.json()["result"] == "hello, neighbour" and not r.json()["receipt"]
    client.close()
    ws.store.close()
    assert dump(folder) == before


def test_an_execution_runs_with_the_arguments_voted_on(tmp_path):
    """Members voted on one loan; the library could execute the kind with another."""
    from ccl.api.workspace import Workspace
    from ccl.runtime import session

    (tmp_path / "coop.ccl").write_text(BYLAWS)
    assert invoke(tmp_path, "init", "--founder", "ana", "--bylaws", "coop.ccl", "--demo").exit_code == 0
    pid = json_of(invoke(tmp_path, "proposal", "open", "LoanApproval", "--args", '["loan-1"]', "--as", "ana",
                         "--json"))["proposal"]
    assert invoke(tmp_path, "proposal", "vote", pid, "yes", "--as", "ana").exit_code == 0
    assert invoke(tmp_path, "clock", "advance", "4d").exit_code == 0
    ws = Workspace(tmp_path / ".ccl")
    with ws.store.reader() as tx:
        from ccl import governance as G
        from ccl.ledger import EngineState, Ledger

        p = G.proposal(Ledger(EngineState(tx), 0), pid)
        verified = session.load_module(tx, p["module"])
    ana = ws.keys.load("ana")
    before = dump(tmp_path)
    r = session.run(verified, p["execution"], ["loan-2"], store=ws.store, caller=ana.did, signer=ana,
                    now=ws.demo_now(), action={"op": "execute", "proposal": pid})
    assert not r.run.ok and "arguments voted on" in r.run.error.message
    ws.store.close()
    assert dump(tmp_path) == before


def test_delays_and_timelocks_are_bounded(coop, tmp_path):
    r, before, after = cell(coop, tmp_path, ["proposal", "open", "LoanApproval", "--args", json.dumps([coop.loan]),
                                             "--delay", str(10**12)], "mo")
    assert r.exit_code == 1 and "proposal_timing" in r.output and after == before


def test_bylaws_without_a_contract_found_nothing(tmp_path):
    (tmp_path / "plain.ccl").write_text("fn run() -> Integer { 1 }")
    r = invoke(tmp_path, "init", "--founder", "ana", "--bylaws", "plain.ccl")
    assert r.exit_code == 2 and "declares no contract" in r.output


def test_a_scoped_permission_mints_one_currency_only(tmp_path):
    """`can: [mint:RIV]` lets a role mint RIV and nothing else (a role could only hold all of `mint`)."""
    (tmp_path / "bank.ccl").write_text("""
contract Bank {
    founder: Steward;
    role Steward { can: [manage_members, manage_roles, manage_currency]; }
    role RiverMinter { can: [mint:RIV]; }
}
""")
    ccl = found(tmp_path, founder="ana", members=("mo",), bylaws=["bank.ccl"], roles={"mo": "RiverMinter"})
    for symbol in ("RIV", "OAK"):
        assert ccl("currency", "create", symbol, symbol, "--as", "ana").exit_code == 0
    assert ccl("currency", "mint", "RIV", "ana", "5", "--as", "mo").exit_code == 0
    before = dump(tmp_path)
    r = ccl("currency", "mint", "OAK", "ana", "5", "--as", "mo")
    assert r.exit_code == 1 and "mint:OAK" in r.output and dump(tmp_path) == before


def test_treasury_lets_an_execution_act_for_the_coop_only():
    """`treasury` satisfied every `caller is P`, so a kind with only `treasury` could expel a member."""
    from ccl import governance as G
    from ccl.ledger import EngineState, Ledger, Refused
    from ccl.runtime import authority as AUTH
    from ccl.store.sqlite import SqliteStore

    store = SqliteStore.memory()
    coop, member = "did:key:zCoop", "did:key:zMember"
    with store.transaction() as tx:
        L = Ledger(EngineState(tx), 0)
        G.found(L, coop, member, [], demo=True)
        p = AUTH.Principal(coop, coop, frozenset({"treasury"}))
        for name, args in (("remove_member", (member,)), ("transfer_credit", (member, coop, 5)),
                           ("request_loan", (member, 5, "x", 30)), ("join_pool", ("p", member))):
            with pytest.raises(Refused, match="does not let its execution"):
                AUTH.authorize(L, p, name, args)
        AUTH.authorize(L, p, "transfer_credit", (coop, member, 5))              # its own account: allowed
    store.close()


# ---------------------------------------------------------------- found by the second adversarial review

def test_migrations_and_init_blocks_of_adopted_bylaws_are_not_entry_points(tmp_path):
    """Any member called `migrate_credits` with an argument of his choosing, or `init` to reset."""
    bylaw = BYLAWS.replace("    fn reserve_now()", "    fn migrate_old(old: Integer) -> Unit { reserve = old; }\n"
                           "    init { reserve = 1000; }\n    fn reserve_now()")
    (tmp_path / "coop.ccl").write_text(bylaw)
    ccl = found(tmp_path, founder="ana", members=("mo",), bylaws=["coop.ccl"], roles={"mo": "Member"})
    before = dump(tmp_path)
    for fn, args in (("migrate_old", "[1000000]"), ("init", "[]")):
        r = ccl("call", "Coop", fn, "--args", args, "--as", "mo")
        assert r.exit_code == 1 and "not_an_entry" in r.output, r.output
    assert dump(tmp_path) == before


def test_a_finished_vote_keeps_its_result_when_delegations_change(tmp_path):
    """Delegating after the deadline turned a defeated proposal into a passed one."""
    (tmp_path / "coop.ccl").write_text(BYLAWS)
    ccl = found(tmp_path, founder="ana", members=("tess", "mo"), bylaws=["coop.ccl"],
                roles={"tess": "Treasurer", "mo": "Member"})
    assert ccl("loan", "deposit", "8", "--as", "tess").exit_code == 0
    loan = json_of(ccl("loan", "request", "1", "x", "30", "--as", "mo", "--json"))["result"]
    pid = json_of(ccl("proposal", "open", "LoanApproval", "--args", json.dumps([loan]), "--as", "ana",
                      "--json"))["proposal"]
    assert ccl("proposal", "vote", pid, "yes", "--as", "ana").exit_code == 0          # 1 of 3: below quorum
    assert ccl("clock", "advance", "4d").exit_code == 0
    assert json_of(ccl("proposal", "show", pid, "--json"))["status"] == "defeated"
    for who in ("tess", "mo"):
        assert ccl("delegate", "ana", "--as", who).exit_code == 0
    assert json_of(ccl("proposal", "show", pid, "--json"))["status"] == "defeated"
    assert ccl("proposal", "execute", pid, "--as", "mo").exit_code == 1
    assert ccl("dag", "replay").exit_code == 0


def test_a_vote_with_nobody_eligible_never_passes():
    """A unanimous vote passed once the only eligible member (who voted no) was removed."""
    from ccl import governance as G

    p = {"eligible": [], "ballots": {}, "quorum_pct": 100, "method": "binary", "kind": "K",
         "threshold": ["unanimous", 1, 1]}
    L = type("L", (), {"s": type("S", (), {"get": lambda *a: None})()})()
    assert G.tally(L, p)["passed"] is False
    assert G.tally(L, {**p, "quorum_pct": 0, "threshold": ["majority", 1, 2]})["passed"] is False


def test_the_engines_own_units_cannot_be_created_or_reruled(coop, tmp_path):
    """`manage_coop` minted CAPITAL, which became transferable when someone had created CAPITAL."""
    for argv in (["currency", "create", "CAPITAL", "Capital"], ["currency", "create", "CREDIT", "Credit"],
                 ["currency", "create", "EQUITY", "Equity"]):
        r, before, after = cell(coop, tmp_path / argv[2], argv, "tess")
        assert r.exit_code == 1 and "currency_reserved" in r.output and after == before, r.output


def test_an_amendments_tests_must_test_the_proposed_version(tmp_path):
    """Pinned tests that imported the old, working version showed a broken replacement as passing."""
    (tmp_path / "coop.ccl").write_text(BYLAWS)
    ccl = found(tmp_path, founder="ana", members=("mo",), bylaws=["coop.ccl"], roles={"mo": "Member"})
    (tmp_path / "v2").mkdir()
    (tmp_path / "v2" / "coop.ccl").write_text(BYLAWS.replace("fn reserve_now() -> Integer { reserve }",
                                                             "fn reserve_now() -> Integer { reserve / 0 }"))
    (tmp_path / "v2" / "old_test.ccl").write_text('import "../coop.ccl";\n\nfn test_reserve() {\n'
                                                  '    assert_eq(Coop::reserve_now(), 1000);\n}\n')
    before = dump(tmp_path)
    r = ccl("adopt", "v2/coop.ccl", "--tests", "v2/old_test.ccl", "--as", "mo")
    assert r.exit_code == 1 and "does not test the proposed version" in r.output, r.output
    assert dump(tmp_path) == before


def test_an_amendment_is_recorded_in_one_spelling(tmp_path):
    """Opened as `::Amendment` through the library, it could never be replayed."""
    from ccl.api.workspace import Workspace
    from ccl.api.files import build_file, stdlib_dir
    from ccl.pipeline import build
    from ccl.runtime import session

    (tmp_path / "coop.ccl").write_text(BYLAWS)
    found(tmp_path, founder="ana", members=(), bylaws=["coop.ccl"])
    ws = Workspace(tmp_path / ".ccl")
    ana = ws.keys.load("ana")
    v2 = build(BYLAWS.replace("Approve a member loan", "Approve a loan"), "v2.ccl")
    noop = build_file(str(stdlib_dir() / "operations.ccl"))
    r = session.run(noop, "noop", [], store=ws.store, caller=ana.did, signer=ana, now=ws.demo_now(),
                    action={"op": "open_proposal", "kind": "::Amendment", "args": ["replace", v2.cid],
                            "method": "binary"}, attachments={v2.cid: v2})
    assert r.run.ok and r.receipt
    ws.store.close()
    assert invoke(tmp_path, "dag", "replay").exit_code == 0


def test_privileged_http_routes_refuse_a_plain_member(coop, tmp_path):
    """The node's routes for privileged operations, signed by a member without the role."""
    import time

    from fastapi.testclient import TestClient

    from ccl.api.workspace import Workspace
    from ccl.node.app import create_app
    from helpers import sign_for

    folder = tmp_path / "w"
    shutil.copytree(coop.dir, folder)
    ws = Workspace(folder / ".ccl")
    mo = ws.keys.load("mo")
    client = TestClient(create_app(ws, Identity.from_seed("node", bytes([78]) * 32), clock=lambda: ws.demo_now() + 10))
    before = dump(folder)
    routes = [("/api/v1/credit/limit", {"member": coop.did["mo"], "floor": -9000, "ceiling": 9000}),
              ("/api/v1/currencies", {"symbol": "OAK", "name": "Oak"}),
              ("/api/v1/currencies/RIV/mint", {"to": coop.did["mo"], "amount": 5}),
              ("/api/v1/currencies/RIV/policy", {"key": "cap", "value": 5}),
              (f"/api/v1/loans/{coop.loan}/approve", {}),
              ("/api/v1/members", {"member": coop.newcomer}),
              (f"/api/v1/members/{coop.did['mo']}/roles", {"role": "Treasurer"})]
    for path, body in routes:
        data = json.dumps(body).encode()
        r = client.post(path, content=data, headers={"content-type": "application/json",
                                                     **sign_for(client, mo, "POST", path, data, int(time.time()))})
        assert r.status_code == 403 and r.json()["kind"] == "host", (path, r.text)
    client.close()
    ws.store.close()
    assert dump(folder) == before
