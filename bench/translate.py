"""Translation speed: instructions per second of the fast path's translator (verified bytecode →
Python source → code object) on hand-built modules of 1k to 100k instructions, and the ratio
against the reference interpreter's run of the same module, measured in the same run. Nothing
here asserts a time.

    python bench/translate.py [--sizes 1000,10000,100000] [--shapes chain,branches,short]

Shapes: `chain` is one expression `1 + 1 + … + 1` (the symbolic stack's worst case before the
fix: each step copied the whole expression); `branches` is a run of IF/ELSE blocks storing a
local; `short` nests `true && (true && …)`. Each size is measured once: translate only, then
CPython's compile() of the source (reported apart), then one reference-interpreter run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ccl import limits  # noqa: E402
from ccl.compile import opcodes as O  # noqa: E402
from ccl.compile.module import Function, Module  # noqa: E402
from ccl.compile.verify import verify  # noqa: E402
from ccl.vm.run import execute  # noqa: E402
from ccl.vm.translate import translate  # noqa: E402


def module(n: int, shape: str) -> Module:
    ret = "Integer"
    if shape == "chain":
        code = [(O.CONST, 0)]
        while len(code) < n - 1:
            code += [(O.CONST, 0), (O.ADD, 0)]
    elif shape == "branches":
        code = [(O.CONST, 0)]
        while len(code) < n - 8:
            code += [(O.CONST, 1), (O.IF, 0), (O.CONST, 0), (O.STORE, 0), (O.ELSE, 0), (O.CONST, 0),
                     (O.STORE, 0), (O.END, 0)]
    elif shape == "short":
        code, depth = [(O.CONST, 1)], 0
        while len(code) + depth + 3 < n:
            code += [(O.SC_AND, 0), (O.CONST, 1)]
            depth += 1
        code += [(O.SC_END, 0)] * depth
        ret = "Bool"
    else:
        raise SystemExit(f"unknown shape {shape}")
    code.append((O.RET, 0))
    flat = tuple(x for pair in code for x in pair)
    fn = Function("run", (), ret, 1, flat, (1, 1, len(code)), True, (), ("x",), "bench.ccl")
    return Module("bench.ccl", (1, True), (fn,), (), (), (), (), ())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,3000,10000,30000,100000")
    ap.add_argument("--shapes", default="chain,branches,short")
    a = ap.parse_args()
    # the runner sends modules over limits.translate_instructions_max to the interpreter; this
    # bench measures the translator itself, so it lifts that limit
    limits.translate_instructions_max = 10**9
    print(f"{'shape':9} {'instructions':>12} {'verify s':>9} {'translate s':>12} {'instr/s':>10} "
          f"{'compile s':>10} {'interp run s':>13} {'translate/run':>14}")
    for shape in a.shapes.split(","):
        for n in (int(x) for x in a.sizes.split(",")):
            m = module(n, shape)
            size = len(m.functions[0].code) // 2
            t0 = time.perf_counter()
            v = verify(m)
            t1 = time.perf_counter()
            source, _, _ = translate(v)
            t2 = time.perf_counter()
            try:
                if source is None:
                    raise SyntaxError("nested too deeply")
                compile(source, "<bench>", "exec", dont_inherit=True)
                compiled = f"{time.perf_counter() - t2:10.3f}"
            except (SyntaxError, RecursionError, MemoryError):
                compiled = f"{'(interp)':>10}"      # too deep for CPython: the interpreter runs it
            t3 = time.perf_counter()
            r = execute(v, "run", [], gas_limit=10**12, mode="interp", log=lambda m: None)
            t4 = time.perf_counter()
            assert r.ok, r.error
            run = max(t4 - t3, 1e-9)
            print(f"{shape:9} {size:12d} {t1 - t0:9.3f} {t2 - t1:12.3f} {size / max(t2 - t1, 1e-9):10.0f} "
                  f"{compiled} {run:13.3f} {(t2 - t1) / run:14.1f}")


if __name__ == "__main__":
    main()
