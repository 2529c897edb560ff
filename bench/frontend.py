"""Front-end benchmark: parse + check + compile of generated sources, linear or not.

    python bench/frontend.py [--quick] [--repeat N]

For each size (1k, 10k, 50k, 200k lines; --quick stops at 50k) and each shape (a contract of
small functions with loops and ifs, and many one-line functions), it prints lines/s, µs per
line, CPU seconds for parse, check and compile, and the peak memory Python allocated
(tracemalloc, measured in a separate pass so it does not slow the timing). A baseline is
measured in the same run on the same text: Lark's own tokenizer, alone (`ratio` is the front
end's time over it). Sources past `limits.source_bytes_max` go through
`ccl.syntax.parse.parse_unbounded`, the parser without its size precheck. Nothing here asserts
a time; the size limit in ccl/limits.py is set from these figures (docs/language.md §Limits).
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent))

from ccl import limits  # noqa: E402
sys.path.insert(0, str(Path(__file__).parent))
from run import generated_contract  # noqa: E402  (bench/run.py)
from ccl.check import check  # noqa: E402
from ccl.compile.codegen import compile_program  # noqa: E402
from ccl.pipeline import deep_recursion  # noqa: E402
from ccl.syntax.parse import _lark, parse, parse_unbounded  # noqa: E402

SIZES = (1_000, 10_000, 50_000, 200_000)


def contract_shape(lines: int) -> str:
    """Functions of 17 lines each (the parse benchmark's contract): a struct walk, two loops, an
    if, a require."""
    return generated_contract(max(lines // 17, 1))


def small_functions(lines: int) -> str:
    """One small function per line (the issue's 30,000-function case)."""
    return "\n".join(f"fn f{i}(x: Integer) -> Integer {{ if x > {i} {{ x - {i} }} else {{ x + {i} }} }}"
                     for i in range(lines)) + "\n"


SHAPES = {"contract": contract_shape, "small fns": small_functions}


def cpu() -> float:
    t = os.times()
    return t.user + t.system


def front_end(text: str) -> tuple[float, float, float]:
    """CPU seconds of parse, check and compile."""
    within = len(text.encode()) <= limits.source_bytes_max
    with deep_recursion():
        t0 = cpu()
        ast = (parse if within else parse_unbounded)(text, "bench.ccl")
        t1 = cpu()
        program = check(ast)
        t2 = cpu()
        compile_program(program, "bench.ccl")
        t3 = cpu()
    return t1 - t0, t2 - t1, t3 - t2


def tokenize(text: str) -> float:
    t0 = cpu()
    for _ in _lark().lex(text):
        pass
    return cpu() - t0


def peak_memory(text: str) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        front_end(text)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="stop at 50k lines")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--no-memory", action="store_true")
    opts = ap.parse_args()
    _lark()
    print(f"source limit: {limits.source_bytes_max:,} bytes")
    print(f"{'shape':10} {'lines':>8} {'KiB':>7} {'parse':>7} {'check':>7} {'compile':>7} {'total':>7} "
          f"{'lines/s':>9} {'µs/line':>8} {'lex':>6} {'ratio':>6} {'peak MiB':>9}")
    for shape, make in SHAPES.items():
        for n in SIZES[:3] if opts.quick else SIZES:
            text = make(n)
            lines = text.count("\n")
            runs = [front_end(text) for _ in range(opts.repeat)]
            p, c, k = (statistics.median(r[i] for r in runs) for i in range(3))
            total = p + c + k
            lex = statistics.median(tokenize(text) for _ in range(opts.repeat))
            peak = "" if opts.no_memory else f"{peak_memory(text) / 2**20:9.1f}"
            over = "" if len(text.encode()) <= limits.source_bytes_max else "  (past the limit)"
            print(f"{shape:10} {lines:8,} {len(text.encode()) / 1024:7.0f} {p:7.2f} {c:7.2f} {k:7.2f} {total:7.2f} "
                  f"{lines / total:9,.0f} {total / lines * 1e6:8.1f} {lex:6.2f} {total / max(lex, 1e-9):6.1f} "
                  f"{peak}{over}", flush=True)


if __name__ == "__main__":
    main()
