"""Benchmarks: each CCL program against the same algorithm in plain CPython, measured in the
same run, interleaved, medians and ratios printed. Nothing here asserts a time.

    python bench/run.py [--repeat N] [--quick]

In-process: execution only (the module is built and the fast path compiled once, as a
repeated `ccl run` finds them). Whole-process: `ccl run FILE` vs `python3 FILE.py`, both from
a fresh interpreter, with ccl's module cache warm. Parse: lines per second on a generated
contract. Targets (issue 2): loop and ledger within 3x of CPython, fib and tally within 5x,
parse at least 10,000 lines/s.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))

from ccl.pipeline import build  # noqa: E402
from ccl.syntax.parse import parse  # noqa: E402
from ccl.vm.run import execute  # noqa: E402

PROGRAMS = ("fib", "loop", "tally", "ledger")
TARGETS = {"fib": 5.0, "loop": 3.0, "tally": 5.0, "ledger": 3.0}
GAS = 10**12


def load_python(name):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", HERE / "programs" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.run


def timed(fn):
    t = time.perf_counter()
    value = fn()
    return time.perf_counter() - t, value


def in_process(name, repeat):
    source = (HERE / "programs" / f"{name}.ccl").read_text()
    verified = build(source, f"{name}.ccl")
    py = load_python(name)

    def ccl():
        r = execute(verified, "run", [], gas_limit=GAS)
        assert r.ok, r.error
        return r.value

    ccl()                                        # translate and compile the fast path once
    times_py, times_ccl = [], []
    for _ in range(repeat):                      # interleaved: both see the same machine state
        t, a = timed(py)
        times_py.append(t)
        t, b = timed(ccl)
        times_ccl.append(t)
        assert a == b, (name, a, b)
    return statistics.median(times_py), statistics.median(times_ccl)


def whole_process(name, repeat, env):
    ccl_cmd = [sys.executable, "-m", "ccl", "run", str(HERE / "programs" / f"{name}.ccl"), "--gas", str(GAS)]
    py_cmd = [sys.executable, str(HERE / "programs" / f"{name}.py")]
    subprocess.run(ccl_cmd, check=True, capture_output=True, env=env)     # warm the module cache
    times_py, times_ccl = [], []
    for _ in range(repeat):
        t, a = timed(lambda: subprocess.run(py_cmd, check=True, capture_output=True, text=True).stdout)
        times_py.append(t)
        t, b = timed(lambda: subprocess.run(ccl_cmd, check=True, capture_output=True, text=True, env=env).stdout)
        times_ccl.append(t)
        assert a.strip().lower() == b.strip().lower(), (name, a, b)
    return statistics.median(times_py), statistics.median(times_ccl)


def generated_contract(functions: int) -> str:
    parts = ["// generated for the parse benchmark", "struct Member { id: Did, hours: Integer, weight: Integer }"]
    for i in range(functions):
        parts.append(f"""
fn share_{i}(members: Array<Member>, pool: Integer) -> Array<Integer> {{
    let total = 0;
    for m in members {{
        total = total + m.hours * m.weight;
    }}
    let out: Array<Integer> = [];
    for m in members {{
        if total > 0 {{
            out.push(pool * m.hours * m.weight / total);
        }} else {{
            out.push(0);
        }}
    }}
    require(out.length() == members.length(), "one share per member");
    out
}}""")
    return "\n".join(parts) + "\n"


def parse_rate(repeat):
    text = generated_contract(1500)
    lines = text.count("\n")
    parse(text, "warm.ccl")
    times = [timed(lambda: parse(text, "big.ccl"))[0] for _ in range(repeat)]
    return lines, lines / statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="fewer repetitions, no whole-process runs")
    args = ap.parse_args()
    repeat = 3 if args.quick else args.repeat
    env = dict(os.environ, CCL_CACHE_DIR=tempfile.mkdtemp(prefix="ccl-bench-"))
    print(f"Python {sys.version.split()[0]} on {os.uname().machine}, {os.cpu_count()} cores; medians of {repeat}\n")
    print(f"{'program':<8} {'CPython':>9} {'ccl':>9} {'ratio':>6} {'target':>7}   "
          f"{'CPython':>9} {'ccl run':>9} {'ratio':>6}")
    print(f"{'':<8} {'in-process (execution only)':^34}   {'whole process':^26}")
    for name in PROGRAMS:
        py, cc = in_process(name, repeat)
        row = f"{name:<8} {py * 1000:>7.1f}ms {cc * 1000:>7.1f}ms {cc / py:>5.2f}x {TARGETS[name]:>5.1f}x "
        row += " ok" if cc / py <= TARGETS[name] else " MISSED"
        if not args.quick:
            wpy, wcc = whole_process(name, max(3, repeat // 2), env)
            row += f" {wpy * 1000:>7.1f}ms {wcc * 1000:>7.1f}ms {wcc / wpy:>5.2f}x"
        print(row)
    lines, rate = parse_rate(repeat)
    print(f"\nparse: {lines} lines at {rate:,.0f} lines/s (target 10,000) {'ok' if rate >= 10_000 else 'MISSED'}")


if __name__ == "__main__":
    main()
