"""Integer and string semantics of CCL that every layer must agree on (LANGUAGE.md §5).

Leaf module (imports ccl.limits). The constant folder, the reference interpreter and the
builtins call these functions; the fast path inlines the same rules and a differential test
holds them equal. Python's `//` and `%` floor; CCL truncates toward zero, so never use them raw.
"""

from __future__ import annotations

from ccl.limits import int_max, int_min


class Trap(Exception):
    """A runtime failure of the contract (not of ccl): carries a diagnostic code and message."""

    def __init__(self, code: str, message: str, hint: str = ""):
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
