"""Delta debugging (ddmin) over lines, then tokens, of a source; over instructions of a module.

The predicate is "the input still gives a find with the same signature"; the number of tests
is bounded so a minimization always ends quickly, and it is deterministic.
"""

from __future__ import annotations

from typing import Callable, Sequence

from fuzz.mutate import tokens


class Budget:
    def __init__(self, tests: int):
        self.left = tests


def ddmin(items: Sequence, still_fails: Callable[[list], bool], budget: Budget) -> list:
    items = list(items)
    n = 2
    while len(items) >= 2 and budget.left > 0:
        chunk = max(1, len(items) // n)
        reduced = False
        for start in range(0, len(items), chunk):
            if budget.left <= 0:
                break
            candidate = items[:start] + items[start + chunk:]
            budget.left -= 1
            if candidate and still_fails(candidate):
                items = candidate
                n = max(n - 1, 2)
                reduced = True
                break
        if not reduced:
            if chunk == 1:
                break
            n = min(len(items), n * 2)
    return items


def minimize_source(text: str, still_fails: Callable[[str], bool], tests: int = 1000) -> str:
    budget = Budget(tests)
    lines = text.splitlines(keepends=True)
    lines = ddmin(lines, lambda ls: still_fails("".join(ls)), budget)
    toks = tokens("".join(lines))
    toks = ddmin(toks, lambda ts: still_fails("".join(ts)), budget)
    out = "".join(toks)
    # cosmetic: collapse runs of blank space when that keeps the find
    squeezed = "\n".join(" ".join(line.split()) for line in out.splitlines() if line.strip()) + "\n"
    if budget.left > 0 and squeezed != out and still_fails(squeezed):
        out = squeezed
    return out


def minimize_module(module, still_fails: Callable[[object], bool], tests: int = 300):
    from fuzz.gen_bytecode import _fn, _module

    budget = Budget(tests)
    for fi in range(len(module.functions)):
        f = module.functions[fi]
        pairs = [f.code[i:i + 2] for i in range(0, len(f.code), 2)]

        def with_code(ps, fi=fi, f=f):
            code = tuple(x for p in ps for x in p)
            fns = list(module.functions)
            fns[fi] = _fn(f, code=code, lines=(1, 1, len(ps)))
            return _module(module, functions=tuple(fns))

        smaller = ddmin(pairs, lambda ps: still_fails(with_code(ps)), budget)
        if len(smaller) < len(pairs):
            module = with_code(smaller)
    return module
