"""Implementations of the host-table rows that are pure builtins (LANGUAGE.md §8).

`bind(state)` returns one callable per host-table row, bound to a run's state: gas and memory
counters live in `state.ns` (the same dict the fast path uses as its globals), so both VM paths
charge per-item gas identically. Builtins never see Python objects other than CCL values.
Imports leaves and ccl.hosttable.
"""

from __future__ import annotations

import hashlib
import math
import re

from ccl import limits
from ccl.hosttable import HOST_TABLE
from ccl.semantics import Trap, add, check, div, mul

# Option / Result / enum values are tuples (tag, *payload); None is (0,), Some(x) is (1, x).
NONE = (0,)


def _cid_of_text(data: str, charge) -> str:
    from ccl import canon

    encoded = canon.encode(data)
    charge(len(encoded) // 16)
    return canon.cid_text(encoded)


def _show(v) -> str:
    import json

    from ccl.vm.values import dynamic_to_json

    return json.dumps(dynamic_to_json(v), ensure_ascii=False)


def _size(v) -> int:
    if isinstance(v, (list, tuple)):
        return len(v) + sum(_size(x) for x in v)
    if isinstance(v, dict):
        return len(v) + sum(_size(x) for x in v.values())
    return len(v) if isinstance(v, str) else 1


def some(x):
    return (1, x)


_DID = re.compile(r"^did:[a-z0-9]+:[A-Za-z0-9._:%-]*[A-Za-z0-9._%-]$")


def bind(state, pure: dict | None = None) -> list:
    """One callable per host-table row: the pure builtins here, plus the effectful rows the
    runtime binds to engines (`state.host`); a row with neither refuses at run time."""
    impl = {**(pure if pure is not None else implementations(state)), **state.host}
    return [impl.get(row.name) or _unavailable(row.name) for row in HOST_TABLE]


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

    def string_out(s: str) -> str:
        if len(s) > limits.string_length_max:
            raise Trap("L0504", f"string of {len(s)} code points; the limit is {limits.string_length_max}")
        charge(len(s) // 16)
        memory(len(s))
        return s

    def push(a, x):
        if len(a) >= limits.array_length_max:
            raise Trap("L0503", f"array longer than {limits.array_length_max}")
        memory(1)
        a.append(x)
        return len(a)

    def pop(a):
        return (1, a.pop()) if a else NONE

    def contains(a, x):
        charge(len(a))
        return x in a

    def slice_(a, start, end):
        if not 0 <= start <= end <= len(a):
            raise Trap("R0302", f"slice {start}..{end} out of range for length {len(a)}")
        charge(end - start)
        memory(end - start)
        return a[start:end]

    def sum_(a):
        charge(len(a))
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
        return string_out(a + b)

    def substring(s, start, end):
        if not 0 <= start <= end <= len(s):
            raise Trap("R0302", f"substring {start}..{end} out of range for length {len(s)}")
        return string_out(s[start:end])

    def str_contains(s, part):
        charge(len(s) // 16)
        return part in s

    def split(s, sep):
        if not sep:
            raise Trap("R0306", "string_split needs a non-empty separator")
        charge(len(s) // 16)
        parts = s.split(sep)
        memory(len(parts))
        return parts

    def replace(s, old, new):
        if not old:
            raise Trap("R0306", "string_replace needs a non-empty pattern")
        return string_out(s.replace(old, new))

    def fmt(template, args):
        pieces = template.split("{}")
        if len(pieces) - 1 != len(args):
            raise Trap("R0306", f"string_format: {len(pieces) - 1} placeholders but {len(args)} arguments")
        out = [pieces[0]]
        for arg, piece in zip(args, pieces[1:]):
            out += (arg, piece)
        return string_out("".join(out))

    def abs_(x):
        return check(abs(x), "abs")

    def pow_(base, exp):
        if exp < 0:
            raise Trap("R0306", "pow needs a non-negative exponent")
        result = 1
        for _ in range(exp):
            charge(1)
            result = mul(result, base)
            if result in (0, 1) and base in (0, 1):
                break
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
        data = s.encode("utf-8")
        charge(len(data) // 16)
        return hashlib.sha256(data).hexdigest()

    def log(message):
        charge(len(message) // 16)
        state.log(message)
        return None

    def to_string(x):
        return string_out(str(x))

    def split_pro_rata(total, weights):
        from ccl import money

        charge(2 * len(weights))
        try:
            return money.split(total, list(weights))
        except ValueError as e:
            raise Trap("R0306", f"split_pro_rata: {e}") from None

    def assert_eq(actual, expected):
        charge(_size(actual) // 16)
        if actual != expected:
            raise Trap("R0308", f"expected {_show(expected)}, got {_show(actual)}")
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
        "string_contains": str_contains, "string_to_upper": lambda s: string_out(s.upper()),
        "string_to_lower": lambda s: string_out(s.lower()), "string_trim": lambda s: string_out(s.strip()),
        "string_split": split, "string_replace": replace, "string_format": fmt,
        "abs": abs_, "min": min, "max": max, "pow": pow_, "sqrt": sqrt, "percentage": percentage,
        "apply_percentage": apply_percentage, "hash": sha256, "hash_sha256": sha256,
        "now": lambda: state.now, "days": lambda n: mul(n, 86400), "hours": lambda n: mul(n, 3600),
        "add_duration": add, "caller": lambda: state.caller,
        "is_valid_did": lambda s: bool(_DID.match(s)), "log": log, "to_string": to_string,
        "is_some": lambda o: o[0] == 1, "is_none": lambda o: o[0] == 0,
        "unwrap_or": lambda o, d: o[1] if o[0] == 1 else d, "unwrap": unwrap,
        "host_get_caller": lambda: state.caller, "host_get_current_time": lambda: state.now,
        "calculate_cid": lambda data: _cid_of_text(data, charge),
        "split_pro_rata": split_pro_rata, "did_to_string": lambda d: d, "assert_eq": assert_eq, "assert_true": assert_true,
    }
