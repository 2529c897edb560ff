"""THE table of everything a contract can call that it did not define itself.

Data only (imports ccl.types). Each row is declared once: flat name, path, typed parameters,
return type, gas (base and per item), effect kind, the permission it needs, and a one-line
doc. The checker types calls from it; codegen emits `CALL_HOST index` with the row's index —
indices are append-only, so never reorder or delete rows (retire a row by keeping it); the VM
charges gas from it; vm/builtins.py binds each row to an implementation (a test asserts the two
name sets are equal); docs/reference/host.md is generated from it.
"""

from __future__ import annotations

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
    effect: str                # pure | context | debug (later issues: read | ledger | governance | dag)
    permission: str | None
    doc: str
    per_item: str = ""         # what the per-item gas counts


def _row(sig: str, path: str, gas: tuple[int, int], effect: str, doc: str, per_item: str = "",
         permission: str | None = None) -> HostFn:
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
    typed = tuple((p.split(":")[0].strip(), parse_signature_type(p.split(":", 1)[1].strip())) for p in params)
    ret = parse_signature_type(ret_text.replace("->", "").strip() or "Unit")
    return HostFn(name.strip(), path, typed, ret, gas[0], gas[1], effect, permission, doc, per_item)


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
         "Store the text as a DAG block; returns its content id.", "bytes stored"),
    _row("dag_get(cid: String) -> String", "icn::dag::get", (50, 1), "dag",
         "The text stored under a content id by `dag_put` (a host error if there is none).", "bytes read"),
    _row("emit_event(event_type: String, data: String) -> Unit", "icn::dag::emit_event", (50, 1), "dag",
         "Record a cooperative event (type, actor, time, data) with this run's receipt.", "bytes recorded"),
)

HOST_INDEX: dict[str, int] = {row.name: i for i, row in enumerate(HOST_TABLE)}
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
}
