"""THE table of everything a contract can call that it did not define itself.

Data only (imports ccl.types and ccl.operations). Each row is declared once: flat name, path,
typed parameters, return type, gas (base and per item), effect kind, the permission it needs, and
a one-line doc — the language's own rows here, every engine operation's in ccl.operations (the
operations table, which also declares its engine function, command and route); this table fixes
their order. The checker types calls from it; codegen emits `CALL_HOST index` with the row's index —
indices are append-only, so never reorder or delete rows (retire a row by keeping it); the VM
charges gas from it; vm/builtins.py binds each row to an implementation (a test asserts the two
name sets are equal); docs/reference/host.md is generated from it.
"""

from __future__ import annotations

import re

import attrs

from ccl.operations import host_op
from ccl.types import T, parse_signature_type


@attrs.frozen
class HostFn:
    name: str
    path: str
    params: tuple[tuple[str, T], ...]
    ret: T
    gas_base: int
    gas_per_item: int
    effect: str                # pure | context | debug | read | ledger | governance | coop | aid | dag
    permission: str | None     # the permission the row needs when `who` is only `holds P` (docs, checker)
    doc: str
    per_item: str = ""         # what the per-item gas counts
    who: str = ""              # who may call it (effectful rows): see ccl.runtime.authority


# Structs every program knows (the roadmap's signatures use them); a program may declare them
# again only with the same fields.
PRELUDE_STRUCTS: dict[str, tuple[tuple[str, str], ...]] = {
    "Contribution": (("member", "Did"), ("hours", "Integer"), ("weight", "Integer")),
    "Distribution": (("member", "Did"), ("amount", "Integer")),
    "Match": (("id", "String"), ("request", "String"), ("offer", "String"), ("quantity", "Integer"),
              ("distance", "Integer")),
}


def _row(sig: str, path: str, gas: tuple[int, int], effect: str, doc: str, per_item: str = "",
         who: str = "") -> HostFn:
    name, rest = sig.split("(", 1)
    params_text, ret_text = rest.rsplit(")", 1)
    params = []
    depth = 0
    current = ""
    for ch in params_text:
        if ch == "<":
            depth += 1
        elif ch == ">":
            depth -= 1
        if ch == "," and depth == 0:
            params.append(current)
            current = ""
        else:
            current += ch
    if current.strip():
        params.append(current)
    typed = tuple((p.split(":")[0].strip(), _prelude(parse_signature_type(p.split(":", 1)[1].strip())))
                  for p in params)
    ret = _prelude(parse_signature_type(ret_text.replace("->", "").strip() or "Unit"))
    permission = None
    if who.startswith("holds ") and " or " not in who:
        permission = re.sub(r"\{(\w+)\}", lambda m: m.group(1).upper(), who.removeprefix("holds "))
    return HostFn(name.strip(), path, typed, ret, gas[0], gas[1], effect, permission, doc, per_item, who)


def _op(name: str) -> HostFn:
    """The row of an engine operation, from its one declaration in ccl.operations."""
    op = host_op(name)
    assert op.sig is not None                  # (for mypy: host_op refuses an operation without a row)
    return _row(op.sig, op.path, op.gas, op.effect, op.doc, op.per_item, op.who)


def _prelude(t: T) -> T:
    if t.name in PRELUDE_STRUCTS and not t.args:
        return T(t.name, (), "struct")
    return T(t.name, tuple(_prelude(a) for a in t.args), t.kind) if t.args else t


# Append only. The position of a row is its CALL_HOST index in every compiled module.
HOST_TABLE: tuple[HostFn, ...] = (
    # arrays
    _row("array_len(a: Array<T>) -> Integer", "std::array::len", (2, 0), "pure", "Number of elements."),
    _row("array_length(a: Array<T>) -> Integer", "std::array::length", (2, 0), "pure", "Number of elements."),
    _row("array_push(a: Array<T>, x: T) -> Integer", "std::array::push", (4, 0), "pure",
         "Append `x` (mutates the array); returns the new length."),
    _row("array_pop(a: Array<T>) -> Option<T>", "std::array::pop", (4, 0), "pure",
         "Remove and return the last element, or `None` when empty."),
    _row("array_contains(a: Array<T>, x: T) -> Bool", "std::array::contains", (2, 1), "pure",
         "Whether some element equals `x`.", "elements compared"),
    _row("array_slice(a: Array<T>, start: Integer, end: Integer) -> Array<T>", "std::array::slice", (4, 1),
         "pure", "A new array of the elements from `start` up to (not including) `end`.", "elements copied"),
    _row("sum(a: Array<Integer>) -> Integer", "std::array::sum", (2, 1), "pure",
         "Sum of the elements (traps on overflow).", "elements added"),
    # maps
    _row("map_new() -> Map<K, V>", "std::map::new", (4, 0), "pure", "An empty map; its types come from context."),
    _row("map_insert(m: Map<K, V>, key: K, value: V) -> Map<K, V>", "std::map::insert", (6, 0), "pure",
         "Insert or replace `key` (mutates the map); returns the map."),
    _row("map_get(m: Map<K, V>, key: K) -> Option<V>", "std::map::get", (3, 0), "pure",
         "The value under `key`, or `None`."),
    _row("map_contains_key(m: Map<K, V>, key: K) -> Bool", "std::map::contains_key", (3, 0), "pure",
         "Whether `key` is present."),
    _row("map_remove(m: Map<K, V>, key: K) -> Option<V>", "std::map::remove", (4, 0), "pure",
         "Remove `key` (mutates the map); returns its value, or `None`."),
    _row("map_size(m: Map<K, V>) -> Integer", "std::map::size", (2, 0), "pure", "Number of entries."),
    # strings
    _row("string_length(s: String) -> Integer", "std::string::length", (2, 0), "pure",
         "Length in Unicode code points."),
    _row("string_concat(a: String, b: String) -> String", "std::string::concat", (3, 1), "pure",
         "`a` followed by `b`.", "code points produced"),
    _row("string_substring(s: String, start: Integer, end: Integer) -> String", "std::string::substring", (3, 1),
         "pure", "Code points from `start` up to (not including) `end`.", "code points produced"),
    _row("string_contains(s: String, part: String) -> Bool", "std::string::contains", (3, 1), "pure",
         "Whether `part` occurs in `s`.", "code points searched"),
    _row("string_to_upper(s: String) -> String", "std::string::to_upper", (3, 1), "pure",
         "Upper-case form.", "code points produced"),
    _row("string_to_lower(s: String) -> String", "std::string::to_lower", (3, 1), "pure",
         "Lower-case form.", "code points produced"),
    _row("string_trim(s: String) -> String", "std::string::trim", (3, 1), "pure",
         "Without leading and trailing white space.", "code points produced"),
    _row("string_split(s: String, sep: String) -> Array<String>", "std::string::split", (4, 1), "pure",
         "Pieces of `s` between occurrences of `sep` (a non-empty separator).", "code points scanned"),
    _row("string_replace(s: String, from: String, to: String) -> String", "std::string::replace", (4, 1),
         "pure", "Every occurrence of `from` replaced by `to`.", "code points produced"),
    _row("string_format(template: String, args: Array<String>) -> String", "std::string::format", (4, 1),
         "pure", "Each `{}` in `template` replaced by the next argument.", "code points produced"),
    # math
    _row("abs(x: Integer) -> Integer", "std::math::abs", (1, 0), "pure", "Absolute value (traps on MIN)."),
    _row("min(a: Integer, b: Integer) -> Integer", "std::math::min", (1, 0), "pure", "The smaller."),
    _row("max(a: Integer, b: Integer) -> Integer", "std::math::max", (1, 0), "pure", "The larger."),
    _row("pow(base: Integer, exp: Integer) -> Integer", "std::math::pow", (2, 1), "pure",
         "`base` to the power `exp` (exp ≥ 0; traps on overflow).", "multiplications"),
    _row("sqrt(x: Integer) -> Integer", "std::math::sqrt", (4, 0), "pure",
         "Integer square root, rounded down (x ≥ 0)."),
    _row("percentage(value: Integer, total: Integer) -> Integer", "std::math::percentage", (2, 0), "pure",
         "`value` as a share of `total` in basis points (10000 = 100%), rounded toward zero."),
    _row("apply_percentage(value: Integer, bps: Integer) -> Integer", "std::math::apply_percentage", (2, 0),
         "pure", "`value × bps / 10000`, rounded toward zero."),
    # crypto
    _row("hash(s: String) -> String", "std::crypto::hash", (20, 1), "pure",
         "SHA-256 of the UTF-8 text, as 64 hex digits.", "bytes hashed"),
    _row("hash_sha256(s: String) -> String", "std::crypto::sha256", (20, 1), "pure",
         "SHA-256 of the UTF-8 text, as 64 hex digits.", "bytes hashed"),
    # time (from the run context)
    _row("now() -> Timestamp", "std::time::now", (2, 0), "context",
         "The run's time in seconds since 1970 (recorded in the run context)."),
    _row("days(n: Integer) -> Duration", "std::time::days", (1, 0), "pure", "`n` days in seconds."),
    _row("hours(n: Integer) -> Duration", "std::time::hours", (1, 0), "pure", "`n` hours in seconds."),
    _row("add_duration(t: Timestamp, d: Duration) -> Timestamp", "std::time::add_duration", (1, 0), "pure",
         "`t + d` (traps on overflow)."),
    # identity
    _row("caller() -> Did", "std::identity::caller", (2, 0), "context", "The DID that started this run."),
    _row("is_valid_did(s: String) -> Bool", "std::identity::is_valid_did", (4, 1), "pure",
         "Whether `s` has DID syntax (`did:method:id`).", "code points checked"),
    # debug
    _row("log(message: String) -> Unit", "std::debug::log", (5, 1), "debug",
         "Print to standard error; never part of a receipt.", "code points printed"),
    # conversions and Option helpers (ours)
    _row("to_string(x: Integer) -> String", "std::string::from_integer", (3, 1), "pure",
         "Decimal text of an Integer.", "digits produced"),
    _row("is_some(o: Option<T>) -> Bool", "std::option::is_some", (1, 0), "pure", "Whether `o` holds a value."),
    _row("is_none(o: Option<T>) -> Bool", "std::option::is_none", (1, 0), "pure", "Whether `o` is `None`."),
    _row("unwrap_or(o: Option<T>, default: T) -> T", "std::option::unwrap_or", (1, 0), "pure",
         "The value in `o`, or `default`."),
    _row("unwrap(o: Option<T>) -> T", "std::option::unwrap", (1, 0), "pure",
         "The value in `o`; a runtime error when it is `None`."),
    # icn-core's names for the run context
    _row("host_get_caller() -> Did", "icn::host::get_caller", (2, 0), "context", "Same as `caller()`."),
    _row("host_get_current_time() -> Timestamp", "icn::host::get_current_time", (2, 0), "context",
         "Same as `now()`."),
    # the DAG (bound by ccl.runtime.host)
    _row("calculate_cid(data: String) -> String", "icn::dag::calculate_cid", (20, 1), "pure",
         "The content id the text would have as a DAG block.", "bytes hashed"),
    _row("dag_put(data: String) -> String", "icn::dag::put", (100, 1), "dag",
         "Store the text as a DAG block; returns its content id.", "bytes stored", who="anyone"),
    _row("dag_get(cid: String) -> String", "icn::dag::get", (50, 1), "dag",
         "The text stored under a content id by `dag_put` (a host error if there is none).", "bytes read",
         who="anyone"),
    _row("emit_event(event_type: String, data: String) -> Unit", "icn::dag::emit_event", (50, 1), "dag",
         "Record a cooperative event (type, actor, time, data) with this run's receipt.", "bytes recorded", who="anyone"),
    # mutual credit (ccl.ledger.engines)
    _op("issue_credit"),
    _op("transfer_credit"),
    _op("credit_balance"),
    _op("set_credit_limit"),
    # time bank
    _op("log_hours"),
    _op("confirm_hours"),
    _op("trade_hours"),
    _op("hour_balance"),
    _op("record_time_work"),
    # local currencies
    _op("create_currency"),
    _op("mint_tokens"),
    _op("burn_tokens"),
    _op("transfer_tokens"),
    _op("token_balance"),
    _op("get_token_balance"),
    _op("set_policy"),
    _op("create_token_class"),
    # loans
    _op("request_loan"),
    _op("evaluate_loan"),
    _op("approve_loan"),
    _op("repay_loan"),
    _op("loan_arrears"),
    _op("write_off_loan"),
    _op("deposit_to_lending"),
    # risk pools
    _op("create_pool"),
    _op("join_pool"),
    _op("contribute"),
    _op("file_claim"),
    _op("approve_claim"),
    # permissions
    _op("grant_permission"),
    _op("revoke_permission"),
    _op("has_permission"),
    # governance (ccl.governance)
    _row("require_permission(permission: String) -> Bool", "icn::governance::require_permission", (100, 0), "read",
         "Stop the run with a host error unless the caller holds the permission."),
    _op("is_member"),
    _op("has_role"),
    _op("add_member"),
    _op("remove_member"),
    _op("set_member_attribute"),
    _op("grant_role"),
    _op("revoke_role"),
    _op("create_proposal"),
    _op("cast_vote"),
    _op("cast_ballot"),
    _op("proposal_status"),
    _op("delegate_vote"),
    _op("revoke_delegation"),
    _op("cancel_proposal"),
    _op("close_proposal"),
    # worker and consumer co-ops (ccl.coop)
    _op("distribute_profits"),
    _row("split_pro_rata(total: Integer, weights: Array<Integer>) -> Array<Integer>", "icn::coop::split", (200, 2),
         "pure", "Integer shares of `total` in proportion to `weights`, largest remainder, summing exactly.",
         "weights"),
    _op("set_coop_policy"),
    _op("log_work"),
    _op("work_contributions"),
    _op("record_purchase"),
    _op("set_patronage_rule"),
    _op("calculate_patronage"),
    _op("member_purchases"),
    _op("member_price"),
    _row("did_to_string(d: Did) -> String", "std::identity::did_to_string", (2, 0), "pure",
         "The text of a DID (to build keys and messages)."),
    # tests (`ccl test`)
    _row("assert_eq(actual: T, expected: T) -> Unit", "std::test::assert_eq", (5, 1), "pure",
         "Stop with an assertion failure showing expected and actual when they differ.", "items compared"),
    _row("assert_true(condition: Bool, message: String) -> Unit", "std::test::assert_true", (2, 0), "pure",
         "Stop with an assertion failure and the message when the condition is false."),
    # mutual aid (ccl.aid)
    _op("request_aid"),
    _op("offer_resource"),
    _op("match_needs"),
    _op("fulfil_match"),
    _op("set_aid_setting"),
    # the time bank's answer to a claim (ccl.ledger.engines)
    _op("decline_hours"),
    # tests only (`ccl test`): act as another member, move the clock, expect the rest to fail
    _row("as_member(member: Did) -> Unit", "std::test::as_member", (2, 0), "test",
         "From here on in this test, calls are made by `member` (only in `ccl test`)."),
    _row("at(time: Timestamp) -> Unit", "std::test::at", (2, 0), "test",
         "From here on in this test, `now()` is `time` (never earlier than it was; only in `ccl test`)."),
    _row("expect_fail(kind: String, message: String) -> Unit", "std::test::expect_fail", (2, 0), "test",
         "The test passes only if the rest of it fails with a diagnostic of category `kind` (host, runtime, gas, "
         "limit) whose message contains `message` (only in `ccl test`)."),
    # guards (`fn f() needs NAME`): the prologue codegen emits
    _row("guard(need: String) -> Bool", "icn::governance::guard", (100, 0), "read",
         "Stop the run with a host error unless the caller holds the permission or role `need` (the prologue of a "
         "`needs` function)."),
    _row("admit(member: Did, role: String) -> Unit", "std::test::admit", (2, 0), "test",
         "Set up a test's co-op: make `member` a member holding `role` (\"\" for none), as founding would "
         "(only in `ccl test`)."),
    # a member's display name (ccl.governance, issue 13)
    _op("set_display_name"),
    # a member's request that their private texts be erased (ccl.governance, issue 15)
    _op("erase_private"),
    # a correcting entry for a transfer made by mistake (ccl.ledger.engines, issue 15)
    _op("correct_transfer"),
)

HOST_INDEX: dict[str, int] = {row.name: i for i, row in enumerate(HOST_TABLE)}
# A proposal's execution acts as the co-op: a kind's `can:` may list `treasury` to let it act with
# the co-op's own identity and accounts (rows whose `who` is `anyone` or `caller is …`).
TREASURY = "treasury"
# every permission some row's `who` names (`holds mint:{symbol}` names `mint`): the built-in ones
HOST_PERMISSIONS: frozenset = frozenset({TREASURY, *(m.split(":")[0] for row in HOST_TABLE
                                                     for m in re.findall(r"holds ([\w:{}]+)", row.who))})


def execution_needs(row: HostFn) -> frozenset:
    """What a proposal kind's `can:` must list (one of) for its execution to call `row`: the
    permissions its `holds` alternatives name, and `treasury` when another alternative would let
    the co-op act as itself. Reads and DAG records need nothing."""
    if not row.who or row.effect == "dag":
        return frozenset()
    parts = [p.strip() for p in row.who.split(" or ")]
    names = {p.removeprefix("holds ").split(":")[0] for p in parts if p.startswith("holds ")}
    if any(not p.startswith("holds ") for p in parts):
        names.add(TREASURY)
    return frozenset(names)
HOST_BY_PATH: dict[str, int] = {row.path: i for i, row in enumerate(HOST_TABLE)}

# Method syntax: (receiver constructor, method) → row name. The receiver is the first argument.
METHODS: dict[tuple[str, str], str] = {
    ("Array", "length"): "array_length",
    ("Array", "len"): "array_len",
    ("Array", "push"): "array_push",
    ("Array", "pop"): "array_pop",
    ("Array", "contains"): "array_contains",
    ("Array", "slice"): "array_slice",
    ("Map", "get"): "map_get",
    ("Map", "insert"): "map_insert",
    ("Map", "contains_key"): "map_contains_key",
    ("Map", "remove"): "map_remove",
    ("Map", "size"): "map_size",
    ("Map", "len"): "map_size",
    ("String", "length"): "string_length",
    ("String", "len"): "string_length",
    ("String", "contains"): "string_contains",
    ("String", "to_lower"): "string_to_lower",
    ("String", "to_upper"): "string_to_upper",
    ("String", "trim"): "string_trim",
    ("String", "split"): "string_split",
    ("String", "replace"): "string_replace",
    ("String", "substring"): "string_substring",
    ("Option", "is_some"): "is_some",
    ("Option", "is_none"): "is_none",
    ("Option", "unwrap_or"): "unwrap_or",
    ("Option", "unwrap"): "unwrap",
    ("Integer", "to_string"): "to_string",
    ("Did", "to_string"): "did_to_string",
}
