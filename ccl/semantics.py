"""Integer and string semantics of CCL that every layer must agree on (LANGUAGE.md §5).

Leaf module (imports ccl.limits). The constant folder, the reference interpreter and the
builtins call these functions; the fast path inlines the same rules and a differential test
holds them equal. Python's `//` and `%` floor; CCL truncates toward zero, so never use them raw.
"""

from __future__ import annotations

from ccl.limits import int_max, int_min, message_length_max, value_depth_max


# CIDs of modules this process compiled from source (ccl.pipeline.build): a Python error while
# running one is a bug in ccl and surfaces as one (X9999); the catch-alls that turn such errors
# into R0307 "malformed module" are for hand-built bytecode only (ccl.vm.run).
FROM_SOURCE: set[str] = set()


def clip(text: str, limit: int = message_length_max) -> str:
    """`text` cut to `limit` code points (an ellipsis and the length cut marks the cut)."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more)"


class Trap(Exception):
    """A runtime failure of the contract (not of ccl): carries a diagnostic code and message.
    Messages are bounded: a value shown in one (a `require` text, a map key) never makes it long."""

    def __init__(self, code: str, message: str, hint: str = ""):
        message, hint = clip(message), clip(hint)
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint


def overflow(op: str) -> Trap:
    return Trap("R0300", f"integer overflow in `{op}`", "values are signed 64-bit integers")


def check(v: int, op: str) -> int:
    if int_min <= v <= int_max:
        return v
    raise overflow(op)


def add(a: int, b: int) -> int:
    return check(a + b, "+")


def sub(a: int, b: int) -> int:
    return check(a - b, "-")


def mul(a: int, b: int) -> int:
    return check(a * b, "*")


def div(a: int, b: int) -> int:
    """Truncating division: -7 / 2 == -3. Division by zero and MIN / -1 trap."""
    if b == 0:
        raise Trap("R0301", "division by zero")
    q = abs(a) // abs(b)
    if (a < 0) != (b < 0):
        q = -q
    return check(q, "/")


def mod(a: int, b: int) -> int:
    """Remainder with the sign of the dividend: -7 % 3 == -1, 7 % -3 == 1."""
    if b == 0:
        raise Trap("R0301", "remainder by zero")
    r = abs(a) % abs(b)
    return -r if a < 0 else r


def neg(a: int) -> int:
    return check(-a, "-")


COMPARISONS = frozenset(("==", "!=", "<", "<=", ">", ">="))

INT_BINARY = {
    "+": add, "-": sub, "*": mul, "/": div, "%": mod,
    "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}


# ---------------------------------------------------------------- values, metered

def too_deep() -> Trap:
    return Trap("L0508", f"a value nested more than {value_depth_max} deep",
                "a value that contains itself (`n.kids.push(n)`) is infinitely deep; build a new value instead")


def string_cost(s: str) -> int:
    """Gas for scanning, comparing or writing out a string: one per 16 code points."""
    return len(s) >> 4


def equal(a, b, charge, depth: int = 0) -> bool:
    """CCL's `==` (EQ, NE, `array_contains`, `assert_eq`): by value, in a fixed order, stopping at
    the first difference. `charge(n)` is called before each step: one gas per element, field, entry
    or payload compared, and `string_cost` for two strings of the same length (whatever their
    identity, so both engines charge alike). Values nested deeper than the limit trap (L0508)."""
    ta = type(a)
    if ta is int or ta is bool or a is None:
        return a == b
    if ta is str:
        if len(a) == len(b):
            charge(string_cost(a))
            return a == b
        return False
    if depth >= value_depth_max:
        raise too_deep()
    if ta is list or ta is tuple:
        if len(a) != len(b):
            return False
        for x, y in zip(a, b):
            charge(1)
            if not equal(x, y, charge, depth + 1):
                return False
        return True
    if ta is dict:
        if len(a) != len(b):
            return False
        for k, x in a.items():
            charge(1)
            if k not in b or not equal(x, b[k], charge, depth + 1):
                return False
        return True
    return a == b


WRITTEN_CONTAINER = 2


def written_copy(v, charge, depth: int = 0, copy: bool = True):
    """A copy of `v` as it will be written out (a result, an event, the state), charged before it
    is made: one gas per element, field, entry or payload, two more per array, map, struct or
    variant (a new object each, when written), plus `string_cost` per string. Shared
    parts are copied (and paid for) each time they are reached, as they are written each time, so
    the copy is a tree and never larger than its gas. Traps (L0508) past the depth limit."""
    t = type(v)
    if t is str:
        charge(string_cost(v))
        return v
    if t is list or t is tuple:
        if depth >= value_depth_max:
            raise too_deep()
        charge(len(v) + WRITTEN_CONTAINER)
        if not copy:
            for x in v:
                if type(x) is not int:
                    written_copy(x, charge, depth + 1, False)
            return v
        items = [written_copy(x, charge, depth + 1) for x in v]
        return items if t is list else tuple(items)
    if t is dict:
        if depth >= value_depth_max:
            raise too_deep()
        charge(len(v) + WRITTEN_CONTAINER)
        if not copy:
            for k, x in v.items():
                written_copy(k, charge, depth + 1, False)
                written_copy(x, charge, depth + 1, False)
            return v
        return {written_copy(k, charge, depth + 1): written_copy(x, charge, depth + 1) for k, x in v.items()}
    return v
