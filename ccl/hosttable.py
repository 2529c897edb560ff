"""THE table of everything a contract can call that it did not define itself.

Data only (imports ccl.types). Each row is declared once: flat name, path, typed parameters,
return type, gas (base and per item), effect kind, the permission it needs, and a one-line
doc. The checker types calls from it; codegen emits `CALL_HOST index` with the row's index —
indices are append-only, so never reorder or delete rows (retire a row by keeping it); the VM
charges gas from it; vm/builtins.py binds each row to an implementation (a test asserts the two
name sets are equal); docs/reference/host.md is generated from it.
"""

from __future__ import annotations

import re

import attrs

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
         "The text stored under a content id by `dag_put` (a host error if there is none).", "bytes read"),
    _row("emit_event(event_type: String, data: String) -> Unit", "icn::dag::emit_event", (50, 1), "dag",
         "Record a cooperative event (type, actor, time, data) with this run's receipt.", "bytes recorded", who="anyone"),
    # mutual credit (ccl.ledger.engines)
    _row("issue_credit(from: Did, to: Did, amount: Integer) -> Bool", "icn::economics::mutual_credit::issue",
         (500, 0), "ledger", "Pay with new credit: `from` (the caller) goes −amount, `to` +amount.", who="caller is from"),
    _row("transfer_credit(from: Did, to: Did, amount: Integer) -> Bool", "icn::economics::mutual_credit::transfer",
         (500, 0), "ledger", "Move credit from the caller to `to`, within both members' limits.", who="caller is from"),
    _row("credit_balance(member: Did) -> Integer", "icn::economics::mutual_credit::balance", (100, 0), "read",
         "A member's mutual-credit balance."),
    _row("set_credit_limit(member: Did, floor: Integer, ceiling: Integer) -> Bool",
         "icn::economics::mutual_credit::set_limit", (300, 0), "ledger",
         "Set a member's credit floor (lowest balance) and ceiling (highest).", who="holds manage_credit"),
    # time bank
    _row("log_hours(member: Did, minutes: Integer, description: String) -> String",
         "icn::economics::time_bank::log_hours", (500, 0), "ledger",
         "The caller worked `minutes` for `member`; returns a record `member` confirms.", who="anyone"),
    _row("confirm_hours(record: String) -> Bool", "icn::economics::time_bank::confirm", (400, 0), "ledger",
         "Confirm a logged record (by the member who received the work): the hours move.", who="receiver of record"),
    _row("trade_hours(from: Did, to: Did, minutes: Integer) -> Bool", "icn::economics::time_bank::trade",
         (500, 0), "ledger", "Give `minutes` of the caller's hours to `to`.", who="caller is from"),
    _row("hour_balance(member: Did) -> Integer", "icn::economics::time_bank::balance", (100, 0), "read",
         "A member's time-bank balance in minutes."),
    _row("record_time_work(worker: Did, description: String, hours: Integer, verifier: Did) -> String",
         "icn::economics::time_bank::record_time_work", (500, 0), "ledger",
         "icn-core's name: the caller (`worker`) logs whole hours for `verifier` to confirm.", who="caller is worker"),
    # local currencies
    _row("create_currency(symbol: String, name: String, policy: Map<String, Integer>) -> Bool",
         "icn::economics::currency::create", (1000, 0), "ledger",
         "A new issued currency; policy keys: cap, transferable, demurrage_bps, period_days, floor, ceiling.", who="holds manage_currency"),
    _row("mint_tokens(symbol: String, to: Did, amount: Integer) -> Bool", "icn::economics::currency::mint",
         (500, 0), "ledger", "Create `amount` of an issued currency for `to` (within its cap).", who="holds mint:{symbol}"),
    _row("burn_tokens(symbol: String, from: Did, amount: Integer) -> Bool", "icn::economics::currency::burn",
         (500, 0), "ledger", "Destroy `amount` held by `from` (the caller, or with mint permission).", who="caller is from or holds mint:{symbol}"),
    _row("transfer_tokens(symbol: String, from: Did, to: Did, amount: Integer) -> Bool",
         "icn::economics::currency::transfer", (500, 0), "ledger", "Move tokens from the caller to `to`.", who="caller is from"),
    _row("token_balance(symbol: String, member: Did) -> Integer", "icn::economics::currency::balance", (100, 0),
         "read", "A member's balance of a currency."),
    _row("get_token_balance(symbol: String, member: Did) -> Integer", "icn::economics::currency::get_balance",
         (100, 0), "read", "icn-core's name for `token_balance`."),
    _row("set_policy(symbol: String, key: String, value: Integer) -> Bool", "icn::economics::currency::set_policy",
         (500, 0), "ledger", "Change a currency policy.", who="holds manage_currency:{symbol}"),
    _row("create_token_class(class_id: String, name: String, symbol: String, issuer: Did) -> Bool",
         "icn::economics::currency::create_token_class", (1000, 0), "ledger",
         "icn-core's name: a new issued currency `class_id` (who may mint it is a role's `can: [mint]`; "
         "`issuer` is recorded by icn-core, not a grant here).", who="holds manage_currency"),
    # loans
    _row("request_loan(borrower: Did, amount: Integer, purpose: String, term_days: Integer) -> String",
         "icn::economics::loans::request", (500, 0), "ledger", "The caller asks for a loan; returns its id.", who="caller is borrower"),
    _row("evaluate_loan(id: String) -> Integer", "icn::economics::loans::evaluate", (800, 0), "ledger",
         "A deterministic risk score 0–100, with its reasons recorded on the loan.", who="anyone"),
    _row("approve_loan(id: String) -> Bool", "icn::economics::loans::approve", (800, 0), "ledger",
         "Approve and disburse from the lending pool (never one's own loan).", who="holds approve_loan"),
    _row("repay_loan(id: String, amount: Integer) -> Bool", "icn::economics::loans::repay", (500, 0), "ledger",
         "Pay `amount` of a loan from the caller's funds.", who="anyone"),
    _row("loan_arrears(id: String) -> Integer", "icn::economics::loans::arrears", (200, 0), "read",
         "What is due on a loan by now and not yet paid."),
    _row("write_off_loan(id: String) -> Bool", "icn::economics::loans::write_off", (500, 0), "ledger",
         "Write off what is left of a loan.", who="holds write_off"),
    _row("deposit_to_lending(amount: Integer) -> Bool", "icn::economics::loans::deposit", (500, 0), "ledger",
         "Move the caller's funds into the lending pool.", who="anyone"),
    # risk pools
    _row("create_pool(name: String, contribution: Integer, member_cap: Integer) -> Bool",
         "icn::economics::pools::create", (800, 0), "ledger",
         "A risk-sharing circle with a regular contribution and a cap on each member's share.", who="holds manage_pool"),
    _row("join_pool(name: String, member: Did) -> Bool", "icn::economics::pools::join", (400, 0), "ledger",
         "The caller joins a pool (at most 50 members).", who="caller is member"),
    _row("contribute(name: String, amount: Integer) -> Bool", "icn::economics::pools::contribute", (500, 0),
         "ledger", "Pay into a pool, up to the member cap.", who="anyone"),
    _row("file_claim(name: String, amount: Integer, reason: String) -> String", "icn::economics::pools::claim",
         (500, 0), "ledger", "Ask the pool for a payout; returns the claim id.", who="anyone"),
    _row("approve_claim(id: String) -> Bool", "icn::economics::pools::approve_claim", (800, 0), "ledger",
         "Pay a claim from the pool (never one's own).", who="holds approve_claim"),
    # permissions
    _row("grant_permission(member: Did, permission: String) -> Bool", "icn::governance::grant", (300, 0), "ledger",
         "Retired: permissions come only from roles of the adopted bylaws (`grant_role`).", who="nobody"),
    _row("revoke_permission(member: Did, permission: String) -> Bool", "icn::governance::revoke", (300, 0),
         "ledger", "Retired: take a role back instead (`revoke_role`).", who="nobody"),
    _row("has_permission(member: Did, permission: String) -> Bool", "icn::governance::has_permission", (100, 0),
         "read", "Whether a member holds a permission through a role of the adopted bylaws."),
    # governance (ccl.governance)
    _row("require_permission(permission: String) -> Bool", "icn::governance::require_permission", (100, 0), "read",
         "Stop the run with a host error unless the caller holds the permission."),
    _row("is_member(member: Did) -> Bool", "icn::governance::is_member", (100, 0), "read",
         "Whether `member` is an active member."),
    _row("has_role(member: Did, role: String) -> Bool", "icn::governance::has_role", (100, 0), "read",
         "Whether `member` holds `role` (or a role that extends it)."),
    _row("add_member(member: Did) -> Bool", "icn::governance::add_member", (400, 0), "governance",
         "Admit a member (needs `manage_members`; founding admits the first).", who="holds manage_members"),
    _row("remove_member(member: Did) -> Bool", "icn::governance::remove_member", (400, 0), "governance",
         "A member leaves (their roles go with them).", who="caller is member or holds manage_members"),
    _row("set_member_attribute(member: Did, key: String, value: String) -> Bool",
         "icn::governance::set_member_attribute", (300, 0), "governance",
         "Record a fact about a member (a JSON value: 90, true, \"paid\") that roles' `requires:` check.", who="holds manage_members"),
    _row("grant_role(member: Did, role: String) -> Bool", "icn::governance::grant_role", (400, 0), "governance",
         "Give a member a role its `requires:` allow.", who="holds manage_roles"),
    _row("revoke_role(member: Did, role: String) -> Bool", "icn::governance::revoke_role", (400, 0),
         "governance", "Take a role back.", who="holds manage_roles"),
    _row("create_proposal(kind: String) -> String", "icn::governance::create_proposal", (800, 0), "governance",
         "Open a proposal of a declared kind without parameters (`Contract::Kind` or `Kind`); returns its id.", who="anyone"),
    _row("cast_vote(proposal: String, choice: String) -> Bool", "icn::governance::cast_vote", (500, 0),
         "governance", "The caller votes yes, no, abstain or block (the run's signed receipt is the ballot's signature).", who="anyone"),
    _row("cast_ballot(proposal: String, ballot: String) -> Bool", "icn::governance::cast_ballot", (800, 0),
         "governance", "Record a ballot signed by the caller's key (as `ccl proposal vote` makes).", who="anyone"),
    _row("proposal_status(proposal: String) -> String", "icn::governance::proposal_status", (200, 0), "read",
         "pending, active, defeated, succeeded, executed, cancelled or expired."),
    _row("delegate_vote(to: Did, scope: String) -> Bool", "icn::governance::delegate", (400, 0), "governance",
         "The caller's vote follows `to` (for proposal kind `scope`, or `*` for all) unless they vote themself.", who="anyone"),
    _row("revoke_delegation(scope: String) -> Bool", "icn::governance::revoke_delegation", (400, 0), "governance",
         "End the caller's delegation for `scope`.", who="anyone"),
    _row("cancel_proposal(proposal: String) -> Bool", "icn::governance::cancel", (400, 0), "governance",
         "The proposer withdraws a proposal nobody has voted on.", who="proposer of proposal"),
    _row("close_proposal(proposal: String) -> String", "icn::governance::close", (500, 0), "governance",
         "Record the final tally of a proposal whose voting has ended; returns its status.", who="anyone"),
    # worker and consumer co-ops (ccl.coop)
    _row("distribute_profits(cooperative_id: Did, total_profit: Integer, worker_contributions: Array<Contribution>)"
         " -> Array<Distribution>", "icn::coop::distribute_profits", (1000, 5), "coop",
         "Reserve and education fund first (co-op policy), then members by hours × weight, largest remainder; "
         "the parts sum to the total.", "contributions", who="holds manage_coop"),
    _row("split_pro_rata(total: Integer, weights: Array<Integer>) -> Array<Integer>", "icn::coop::split", (200, 2),
         "pure", "Integer shares of `total` in proportion to `weights`, largest remainder, summing exactly.",
         "weights"),
    _row("set_coop_policy(key: String, value: Integer) -> Bool", "icn::coop::set_policy", (300, 0), "coop",
         "reserve_bps, education_bps, pay_ratio_cap, capital_accounts (0/1), cash_bps.", who="holds manage_coop"),
    _row("log_work(member: Did, minutes: Integer, task: String) -> String", "icn::coop::log_work", (400, 0),
         "coop", "Record minutes worked on a task (one's own, or with `manage_coop`).", who="caller is member or holds manage_coop"),
    _row("work_contributions(start: Timestamp, end: Timestamp) -> Array<Contribution>",
         "icn::coop::work_contributions", (500, 2), "read",
         "The period's logged work as contributions (whole hours; weight from the member fact `weight`).",
         "records"),
    _row("record_purchase(member: Did, amount: Integer) -> Bool", "icn::coop::record_purchase", (300, 0), "coop",
         "Add a purchase to the member's total for this year (one's own, or with `record_purchases`).", who="caller is member or holds record_purchases"),
    _row("set_patronage_rule(period: String, cash_bps: Integer) -> Bool", "icn::coop::set_patronage_rule", (300, 0),
         "coop", "The cash share of a year's dividends, fixed before its first purchase.", who="holds manage_coop"),
    _row("calculate_patronage(period: String, pool: Integer) -> Array<Distribution>",
         "icn::coop::calculate_patronage", (1000, 5), "coop",
         "Dividends by purchases in `period`; the retained part goes to members' EQUITY accounts.",
         "members", who="holds manage_coop"),
    _row("member_purchases(member: Did, period: String) -> Integer", "icn::coop::member_purchases", (100, 0),
         "read", "A member's purchases in a period."),
    _row("member_price(member: Did, price: Integer) -> Integer", "icn::coop::member_price", (100, 0), "read",
         "A member benefit: the price less the co-op's `member_discount_bps` for active members."),
    _row("did_to_string(d: Did) -> String", "std::identity::did_to_string", (2, 0), "pure",
         "The text of a DID (to build keys and messages)."),
    # tests (`ccl test`)
    _row("assert_eq(actual: T, expected: T) -> Unit", "std::test::assert_eq", (5, 1), "pure",
         "Stop with an assertion failure showing expected and actual when they differ.", "items compared"),
    _row("assert_true(condition: Bool, message: String) -> Unit", "std::test::assert_true", (2, 0), "pure",
         "Stop with an assertion failure and the message when the condition is false."),
    # mutual aid (ccl.aid)
    _row("request_aid(requester: Did, category: String, quantity: Integer, urgency: Integer, location: String)"
         " -> String", "icn::aid::request", (400, 0), "aid",
         "Ask for `quantity` of `category` (urgency 0–10; location \"x,y\" in km or a place name).", who="caller is requester or holds coordinate_aid"),
    _row("offer_resource(provider: Did, category: String, quantity: Integer, location: String) -> String",
         "icn::aid::offer", (400, 0), "aid", "Offer `quantity` of `category`.", who="caller is provider or holds coordinate_aid"),
    _row("match_needs() -> Array<Match>", "icn::aid::match", (2000, 20), "aid",
         "Match open requests to open offers (deterministic; see the mutual-aid guide).", "matches", who="anyone"),
    _row("fulfil_match(id: String) -> Bool", "icn::aid::fulfil", (400, 0), "aid",
         "Confirm delivery (the requester, or a coordinator); may earn the provider time-bank minutes.", who="requester of id or holds coordinate_aid"),
    _row("set_aid_setting(key: String, value: Integer) -> Bool", "icn::aid::set_setting", (300, 0), "aid",
         "emergency (0/1), reputation_weight (0/1), hours_per_unit (minutes).", who="holds manage_aid"),
    # the time bank's answer to a claim (ccl.ledger.engines)
    _row("decline_hours(record: String) -> Bool", "icn::economics::time_bank::decline", (400, 0), "ledger",
         "Decline hours logged for you (by the member named as having received the work).",
         who="receiver of record"),
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
