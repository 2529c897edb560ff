"""Function guards (`needs`), open functions, proposal kinds' `can:`, the `Amendment` kind and
known roles and permissions: parse, check (codes, spans, hints), codegen prologue, metadata."""

import pytest

from ccl.compile.disasm import disassemble
from ccl.diag import CclError
from ccl.hosttable import HOST_INDEX, HOST_TABLE
from ccl.pipeline import build
from ccl.syntax.fmt import format_source
from ccl.syntax.parse import parse
from ccl.syntax import ast as A
from helpers import value

HOUSING = """
contract Housing {
    founder: Steward;
    role Resident { can: [request_repair]; }
    role Steward extends Resident { can: [assign_repairs, manage_roles]; }

    proposal Hire(order: Integer, cost: Integer) {
        eligible: Resident;
        duration: 7 days;
        quorum: 50%;
        threshold: majority;
        can: [assign_repairs, approve_loan];
        execution: { close(order, cost); }
    }
    proposal Amendment { eligible: Resident; duration: 7 days; quorum: 50%; threshold: supermajority(2/3); }

    state orders: Integer = 0;

    fn report() -> Integer needs request_repair { orders = orders + 1; orders }
    fn close(order: Integer, cost: Integer) -> Integer needs assign_repairs { order + cost }
    fn audit() -> Integer needs Steward { orders }
    open fn apply(name: String) -> Bool { name != "" }
    fn plain() -> Integer { 1 }
}
"""


def code_of(source: str) -> CclError:
    with pytest.raises(CclError) as e:
        build(source, "g.ccl")
    return e.value.diagnostic


def metadata(source: str) -> dict:
    return dict(build(source, "g.ccl").module.contracts)


# ---------------------------------------------------------------- parse

def test_parse_open_needs_and_kind_can():
    contract = parse(HOUSING).items[0]
    fns = {i.name: i for i in contract.items if isinstance(i, A.Fn)}
    assert fns["close"].needs == "assign_repairs" and not fns["close"].open
    assert fns["audit"].needs == "Steward"
    assert fns["apply"].open and fns["apply"].needs is None
    assert fns["plain"].needs is None and not fns["plain"].open
    hire = next(i for i in contract.items if isinstance(i, A.Proposal) and i.name == "Hire")
    assert hire.can == ("assign_repairs", "approve_loan")
    amend = next(i for i in contract.items if isinstance(i, A.Proposal) and i.name == "Amendment")
    assert amend.can is None


@pytest.mark.parametrize("source", [
    "fn needs(open: Integer) -> Integer { let needs = open; needs }\nfn run() -> Integer { needs(4) }",
    "struct S { open: Bool, needs: Integer }\nfn run() -> Integer { let s = S { open: true, needs: 4 }; s.needs }",
    "fn open() -> Integer { 4 }\nfn run() -> Integer { let open = open(); open }",
    "contract C { open: \"yes\"; needs: 2; fn open(needs: Integer) -> Integer { needs } fn run() -> Integer { open(4) } }",
    "contract C { open fn needs() -> Integer needs open { 4 } fn run() -> Integer { 4 } }",
])
def test_needs_and_open_stay_ordinary_names_elsewhere(source):
    build(source, "g.ccl")
    if "needs open" not in source:
        assert value(source) == 4


def test_fmt_keeps_the_new_syntax():
    ugly = "contract C {\nrole R{can:[x];}\nopen   fn a( )->Bool{true}\nfn b()->Integer   needs   x{1}\n}\n"
    once = format_source(ugly)
    assert "open fn a() -> Bool { true }" in once and "fn b() -> Integer needs x { 1 }" in once
    assert format_source(once) == once
    assert format_source(HOUSING) == format_source(format_source(HOUSING))


# ---------------------------------------------------------------- check errors

def test_open_and_needs_outside_a_contract():
    d = code_of("open fn apply() -> Bool { true }")
    assert d.code == "E0221" and d.kind == "type" and d.span.line == 1 and "contract" in d.hints[0]
    d = code_of("fn f() needs vote { }")
    assert d.code == "E0221" and d.span.col == 14


@pytest.mark.parametrize("source, code, message, hint", [
    ("contract C { role A extends Bse { } role Base { } }", "E0222", "extends `Bse`", "did you mean `Base`?"),
    ("contract C { role Member { } proposal P { eligible: Membr; } }", "E0222", "`Membr`", "did you mean `Member`?"),
    ("contract C { role Steward { } fn f() needs Stewrd { } }", "E0222", "role `Stewrd`", "did you mean `Steward`?"),
    ("contract C { founder: Stewad; role Steward { } }", "E0222", "founder", "did you mean `Steward`?"),
    ("contract C { role M { can: [aprove_loan]; } }", "E0223", "`aprove_loan`", "did you mean `approve_loan`?"),
    ("contract C { role M { can: [request_repairs]; } fn r() needs request_repair { } }", "E0223",
     "`request_repairs`", "did you mean `request_repair`?"),
    ("contract C { role M { can: [admin]; } }", "E0223", "`admin`", "needs admin"),
    ("contract C { proposal P { can: [manage_rolez]; } }", "E0223", "`manage_rolez`", "did you mean `manage_roles`?"),
])
def test_unknown_roles_and_permissions(source, code, message, hint):
    d = code_of(source)
    assert d.code == code and d.kind == "type"
    assert message in d.message
    assert hint in " ".join(d.hints)


def test_unknown_name_points_at_the_name():
    d = code_of("contract C {\n    role M { can: [vote, borow]; }\n}")
    assert (d.span.line, d.span.col) == (2, 26)


def test_permissions_become_known_by_use():
    build("""
contract C {
    role M { can: [vote, manage_roles, mint, manage_currency, a, b, c, d]; }
    fn f() needs a { }
    fn g(m: Did) -> Bool { require_permission("b") && has_permission(m, "c") && guard("d") }
}""", "g.ccl")


def test_founder_role_is_built_in():
    build("contract C { role Elder extends founder { } fn f() needs founder { } }", "g.ccl")


@pytest.mark.parametrize("body, message", [
    ("proposal Amendment(x: Integer) { }", "no parameters"),
    ("proposal Amendment { execution: { } }", "no `execution`"),
    ("proposal Amendment { can: [vote]; }", "no `can:`"),
])
def test_amendment_kind_rules(body, message):
    d = code_of("contract C { role Member { } " + body + " }")
    assert d.code == "E0225" and message in d.message


# ---------------------------------------------------------------- what an execution reaches

def kind(can: str, execution: str, extra: str = "") -> str:
    return f"""contract C {{
    role Member {{ can: [vote]; }}
    proposal K(id: String) {{
        eligible: Member;
        {can}
        execution: {{ {execution} }}
    }}
    fn helper(id: String) -> Bool {{ deeper(id) }}
    fn deeper(id: String) -> Bool {{ approve_loan(id) }}
    fn guarded() needs fix_roof {{ }}
    fn by_role() needs Member {{ }}
    {extra}
}}"""


@pytest.mark.parametrize("can, execution, need, line", [
    ("", "approve_loan(id);", "approve_loan", 6),
    ("can: [vote];", "helper(id);", "approve_loan", 6),
    ("can: [approve_loan];", "guarded();", "fix_roof", 6),
    ("can: [approve_loan];", "by_role();", "Member", 6),
    ("can: [];", "require_permission(\"write_off\");", "write_off", 6),
    ("can: [];", "guard(\"manage_pool\");", "manage_pool", 6),
    ("can: [manage_currency];", "mint_tokens(\"BREAD\", did:key:z6Mkx, 5);", "mint", 6),
])
def test_execution_reaching_beyond_its_kind_is_refused(can, execution, need, line):
    d = code_of(kind(can, execution))
    assert d.code == "E0224" and d.kind == "type" and f"`{need}`" in d.message
    assert d.span.line == line
    assert f"add `{need}` to the kind's `can:`" in d.hints[0] or f"can: [{need}]" in d.hints[0]


def test_transitive_path_is_named():
    d = code_of(kind("can: [vote];", "helper(id);"))
    assert "C::helper → C::deeper → approve_loan" in d.message


def test_execution_within_its_kind_passes():
    build(kind("can: [approve_loan, fix_roof, Member, write_off, mint, manage_currency];",
               "helper(id); guarded(); by_role(); require_permission(\"write_off\"); "
               "set_policy(\"BREAD\", \"cap\", 1); mint_tokens(\"BREAD\", did:key:z6Mkx, 5);"), "g.ccl")


def test_recursion_in_the_call_graph_terminates():
    build(kind("can: [approve_loan];", "loop_a(id);",
               "fn loop_a(id: String) -> Bool { loop_b(id) } fn loop_b(id: String) -> Bool { loop_a(id) && helper(id) }"),
          "g.ccl")


# ---------------------------------------------------------------- codegen and metadata

def test_guard_row_keeps_its_index():
    """Host rows are append-only: the guard's CALL_HOST index is fixed once modules use it."""
    from ccl.hosttable import HOST_INDEX

    row = HOST_TABLE[HOST_INDEX["guard"]]
    assert HOST_INDEX["guard"] == 120 and row.path == "icn::governance::guard"
    assert (row.gas_base, row.gas_per_item, row.effect, row.permission) == (100, 0, "read", None)
    assert [n for n, _ in row.params] == ["need"] and str(row.ret) == "Bool"


def test_guarded_functions_start_with_the_guard_prologue():
    text = disassemble(build(HOUSING, "g.ccl"))
    guard = HOST_INDEX["guard"]
    blocks = {b.split("(", 1)[0].split()[-1]: b for b in text.split("\n\n")[1:]}
    for fn, need in (("Housing::close", "assign_repairs"), ("Housing::report", "request_repair"),
                     ("Housing::audit", "Steward")):
        lines = blocks[fn].splitlines()[2:5]
        assert "CONST" in lines[0] and repr(need) in lines[0]
        assert f"CALL_HOST {guard}  ; guard" in lines[1]
        assert lines[2].rstrip().endswith("POP")
    for fn in ("Housing::apply", "Housing::plain", "Housing::proposal::Hire"):
        assert "guard" not in blocks[fn]


def test_metadata_shape():
    meta = metadata(HOUSING)["Housing"]
    assert meta["functions"] == {
        "report": {"needs": "request_repair", "open": False},
        "close": {"needs": "assign_repairs", "open": False},
        "audit": {"needs": "Steward", "open": False},
        "apply": {"needs": None, "open": True},
        "plain": {"needs": None, "open": False},
    }
    hire, amendment = meta["proposals"]
    assert hire["can"] == ["approve_loan", "assign_repairs"]
    assert hire["param_types"] == ["Integer", "Integer"]
    assert hire["params"] == [["order", "Integer"], ["cost", "Integer"]]
    assert hire["execution"] == "Housing::proposal::Hire"
    assert amendment["can"] == [] and amendment["param_types"] == [] and amendment["execution"] is None
    assert amendment["threshold"] == ["supermajority", 2, 3]
    assert meta["meta"] == {"founder": "Steward"}
    assert [r["name"] for r in meta["roles"]] == ["Resident", "Steward"]


def test_param_types_of_a_kind_without_execution():
    meta = metadata("contract C { proposal P(a: Array<String>, b: Option<Did>) { } }")["C"]
    from ccl import types as ty

    assert [ty.from_descriptor(d) for d in meta["proposals"][0]["param_types"]] == [
        ty.array(ty.STR), ty.option(ty.DID)]
    d = code_of("contract C { proposal P(a: Strin) { } }")
    assert d.code == "E0201"


def test_unguarded_functions_still_run():
    src = HOUSING.rstrip().rstrip("}") + "    fn run() -> Bool { apply(\"Ana\") && plain() == 1 }\n}\n"
    assert value(src) is True
