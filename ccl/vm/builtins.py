"""Implementations of the host-table rows that are pure builtins (LANGUAGE.md §8).

`bind(state)` returns one callable per host-table row, bound to a run's state: gas and memory
counters live in `state.ns` (the same dict the fast path uses as its globals), so both VM paths
charge per-item gas identically. Builtins never see Python objects other than CCL values.
Imports leaves and ccl.hosttable.
"""

from __future__ import annotations

import hashlib
import json
import math
import re

from ccl import limits
from ccl.hosttable import HOST_TABLE
from ccl.semantics import Trap, add, check, div, equal, mul

# Option / Result / enum values are tuples (tag, *payload); None is (0,), Some(x) is (1, x).
NONE = (0,)


def _cid_of_text(data: str, per) -> str:
    from ccl import canon

    encoded = canon.encode(data)
    per(len(encoded))
    return canon.cid_text(encoded)


SHOWN_MAX = 200          # code points of a value shown in an assertion message


def show(v, limit: int = SHOWN_MAX) -> str:
    """A value as JSON-like text, cut after `limit` code points: the work is bounded by `limit`
    however large (or deep, or shared) the value is."""
    out: list[str] = []
    budget = [limit]

    def put(text: str) -> None:
        if budget[0] <= 0:
            raise StopIteration
        out.append(text[:budget[0]])
        budget[0] -= len(text)

    def walk(x, depth: int) -> None:
        if x is None:
            put("null")
        elif x is True or x is False:
            put("true" if x else "false")
        elif type(x) is int:
            put(str(x))
        elif type(x) is str:
            put(json.dumps(x[:budget[0]], ensure_ascii=False) if len(x) <= budget[0] else
                json.dumps(x[:budget[0]], ensure_ascii=False)[:-1])
        elif depth >= limits.value_depth_max:
            put("…")
        elif type(x) is dict:
            put("{")
            for i, (k, y) in enumerate(x.items()):
                put(", " if i else "")
                walk(str(k), depth + 1)
                put(": ")
                walk(y, depth + 1)
            put("}")
        else:
            put("[")
            for i, y in enumerate(x):
                put(", " if i else "")
                walk(y, depth + 1)
            put("]")

    try:
        walk(v, 0)
    except StopIteration:
        return "".join(out) + "…"
    return "".join(out)


def some(x):
    return (1, x)


_DID = re.compile(r"^did:[a-z0-9]+:[A-Za-z0-9._:%-]*[A-Za-z0-9._%-]$")


def bind(state, pure: dict | None = None) -> list:
    """One callable per host-table row: the pure builtins here, plus the effectful rows the
    runtime binds to engines (`state.host`); a row with neither refuses at run time."""
    impl = {**(pure if pure is not None else implementations(state)), **state.host}
    return [impl.get(row.name) or _unavailable(row.name) for row in HOST_TABLE]


def per_item_charger(charge):
    """`per(row, n)`: charge the row's per-item gas for `n` items (before the work is done)."""
    rates = {row.name: row.gas_per_item for row in HOST_TABLE}

    def per(name: str, n: int) -> None:
        charge(rates[name] * n)
    return per


def _unavailable(name: str):
    def refuse(*args):
        raise Trap("H0600", f"`{name}` is not available here", "it needs a workspace engine")
    return refuse


def implementations(state) -> dict:
    ns = state.ns

    def charge(n: int) -> None:
        if n:
            ns["_g"] -= n
            if ns["_g"] < 0:
                raise Trap("G0400", "out of gas")

    def memory(n: int) -> None:
        ns["_m"] += n
        if ns["_m"] > limits.memory_units_max:
            raise Trap("L0505", f"the run allocated more than {limits.memory_units_max} memory units")

    per = per_item_charger(charge)

    def eq(a, b) -> bool:
        return equal(a, b, charge)

    def produce(row: str, n: int) -> None:
        """Before making a string of `n` code points: its limit, its gas, its memory."""
        if n > limits.string_length_max:
            raise Trap("L0504", f"string of {n} code points; the limit is {limits.string_length_max}")
        per(row, n)
        memory(n)

    def push(a, x):
        if len(a) >= limits.array_length_max:
            raise Trap("L0503", f"array longer than {limits.array_length_max}")
        memory(1)
        a.append(x)
        return len(a)

    def pop(a):
        return (1, a.pop()) if a else NONE

    def contains(a, x):
        per("array_contains", len(a))
        return any(eq(y, x) for y in a)

    def slice_(a, start, end):
        if not 0 <= start <= end <= len(a):
            raise Trap("R0302", f"slice {start}..{end} out of range for length {len(a)}")
        per("array_slice", end - start)
        memory(end - start)
        return a[start:end]

    def sum_(a):
        per("sum", len(a))
        total = 0
        for x in a:
            total = add(total, x)
        return total

    def map_insert(m, k, v):
        if k not in m:
            if len(m) >= limits.map_size_max:
                raise Trap("L0503", f"map larger than {limits.map_size_max}")
            memory(1)
        m[k] = v
        return m

    def map_get(m, k):
        return (1, m[k]) if k in m else NONE

    def map_remove(m, k):
        return (1, m.pop(k)) if k in m else NONE

    def concat(a, b):
        produce("string_concat", len(a) + len(b))
        return a + b

    def substring(s, start, end):
        if not 0 <= start <= end <= len(s):
            raise Trap("R0302", f"substring {start}..{end} out of range for length {len(s)}")
        produce("string_substring", end - start)
        return s[start:end]

    def str_contains(s, part):
        per("string_contains", len(s))
        return part in s

    def case(row: str, s: str, convert) -> str:
        produce(row, len(s))          # most text keeps its length; the rest is paid after
        out = convert(s)
        if len(out) != len(s):
            produce(row, len(out) - len(s))
        return out

    def trim(s):
        out = s.strip()               # never longer than `s`, which was paid for
        produce("string_trim", len(out))
        return out

    def split(s, sep):
        if not sep:
            raise Trap("R0306", "string_split needs a non-empty separator")
        per("string_split", len(s))
        memory(s.count(sep) + 1)
        return s.split(sep)

    def replace(s, old, new):
        if not old:
            raise Trap("R0306", "string_replace needs a non-empty pattern")
        produce("string_replace", len(s) + s.count(old) * (len(new) - len(old)))
        return s.replace(old, new)

    def fmt(template, args):
        holes = template.count("{}")
        if holes != len(args):
            raise Trap("R0306", f"string_format: {holes} placeholders but {len(args)} arguments")
        produce("string_format", len(template) - 2 * holes + sum(len(a) for a in args))
        pieces = template.split("{}")
        out = [pieces[0]]
        for arg, piece in zip(args, pieces[1:]):
            out += (arg, piece)
        return "".join(out)

    def abs_(x):
        return check(abs(x), "abs")

    def pow_(base, exp):
        if exp < 0:
            raise Trap("R0306", "pow needs a non-negative exponent")
        if base in (-1, 0, 1) and exp > 0:     # the result is known after one multiplication
            per("pow", 1)
            return base if base != -1 or exp % 2 else 1
        result = 1
        for _ in range(exp):
            per("pow", 1)
            result = mul(result, base)
        return result

    def sqrt(x):
        if x < 0:
            raise Trap("R0306", "sqrt of a negative number")
        return math.isqrt(x)

    def percentage(value, total):
        return div(mul(value, 10000), total)

    def apply_percentage(value, bps):
        return div(mul(value, bps), 10000)

    def sha256(s):
        per("hash", len(s))                   # at least one byte per code point, before encoding
        data = s.encode("utf-8")
        per("hash", len(data) - len(s))
        return hashlib.sha256(data).hexdigest()

    def is_valid_did(s):
        per("is_valid_did", len(s))
        return bool(_DID.match(s))

    def log(message):
        per("log", len(message))
        state.log(message)
        return None

    def to_string(x):
        text = str(x)
        produce("to_string", len(text))
        return text

    def split_pro_rata(total, weights):
        from ccl import money

        per("split_pro_rata", len(weights))
        try:
            return money.split(total, list(weights))
        except ValueError as e:
            raise Trap("R0306", f"split_pro_rata: {e}") from None

    def assert_eq(actual, expected):
        if not equal(actual, expected, lambda n: per("assert_eq", n)):
            raise Trap("R0308", f"expected {show(expected)}, got {show(actual)}")
        return None

    def assert_true(condition, message):
        if not condition:
            raise Trap("R0308", f"assertion failed: {message}")
        return None

    def unwrap(o):
        if o[0] == 0:
            raise Trap("R0306", "unwrap of None")
        return o[1]

    return {
        "array_len": len, "array_length": len, "array_push": push, "array_pop": pop,
        "array_contains": contains, "array_slice": slice_, "sum": sum_,
        "map_new": dict, "map_insert": map_insert, "map_get": map_get,
        "map_contains_key": lambda m, k: k in m, "map_remove": map_remove, "map_size": len,
        "string_length": len, "string_concat": concat, "string_substring": substring,
        "string_contains": str_contains, "string_to_upper": lambda s: case("string_to_upper", s, str.upper),
        "string_to_lower": lambda s: case("string_to_lower", s, str.lower), "string_trim": trim,
        "string_split": split, "string_replace": replace, "string_format": fmt,
        "abs": abs_, "min": min, "max": max, "pow": pow_, "sqrt": sqrt, "percentage": percentage,
        "apply_percentage": apply_percentage, "hash": sha256, "hash_sha256": sha256,
        "now": lambda: state.now, "days": lambda n: mul(n, 86400), "hours": lambda n: mul(n, 3600),
        "add_duration": add, "caller": lambda: state.caller,
        "is_valid_did": is_valid_did, "log": log, "to_string": to_string,
        "is_some": lambda o: o[0] == 1, "is_none": lambda o: o[0] == 0,
        "unwrap_or": lambda o, d: o[1] if o[0] == 1 else d, "unwrap": unwrap,
        "host_get_caller": lambda: state.caller, "host_get_current_time": lambda: state.now,
        "calculate_cid": lambda data: _cid_of_text(data, lambda n: per("calculate_cid", n)),
        "split_pro_rata": split_pro_rata, "did_to_string": lambda d: d, "assert_eq": assert_eq, "assert_true": assert_true,
    }
