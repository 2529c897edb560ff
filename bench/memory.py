"""Peak memory per gas: each builtin (and the instructions and write-outs that allocate) with its
worst input, at several gas limits, on both engines.

    .venv/bin/python bench/memory.py [--gas 10000,100000,1000000] [--engine fast,interp]

Each program allocates as fast as gas allows and keeps everything alive, until it runs out of gas
or meets a limit. The peak is tracemalloc's peak during `execute`, above what was allocated before
it (the module is translated first: translation depends on the module's size, not on gas). It
prints each program's worst bytes per gas unit and checks the bound of ccl.limits.memory_bound;
tests/test_resources.py runs a small slice of the same table.
"""

from __future__ import annotations

import argparse
import sys
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ccl import limits  # noqa: E402
from ccl.pipeline import build  # noqa: E402
from ccl.vm.run import compiled, execute  # noqa: E402

# A wide string: 4 bytes a code point in CPython.
_WIDE = 'let w = "\U0001F600\U0001F600\U0001F600\U0001F600"; let i = 0; while i < 14 { w = w + w; i = i + 1; }'
_KEEP_S = "let keep: Array<String> = [];"

# name → source whose `run()` allocates until it stops. Every builtin with a per-item column is
# here, with the input that makes it allocate most per gas unit.
PROGRAMS: dict[str, str] = {
    "string_concat": f"fn run() -> Integer {{ {_KEEP_S} {_WIDE} while true {{ keep.push(w + \"\U0001F600\"); }} 0 }}",
    "string_concat_small": f"fn run() -> Integer {{ {_KEEP_S} while true {{ keep.push(\"\U0001F600\" + \"\U0001F600\"); }} 0 }}",
    "string_substring": f"fn run() -> Integer {{ {_KEEP_S} {_WIDE} while true {{ keep.push(w.substring(0, w.length())); }} 0 }}",
    "string_to_upper": f"fn run() -> Integer {{ {_KEEP_S} let s = \"\u00df\"; let i = 0; while i < 15 {{ s = s + s; i = i + 1; }} "
                       "while true { keep.push(s.to_upper()); } 0 }",
    "string_to_lower": f"fn run() -> Integer {{ {_KEEP_S} {_WIDE} while true {{ keep.push(w.to_lower()); }} 0 }}",
    "string_trim": f"fn run() -> Integer {{ {_KEEP_S} {_WIDE} w = \" \" + w + \"x \"; while true {{ keep.push(w.trim()); }} 0 }}",
    "string_split": "fn run() -> Integer { let keep: Array<Array<String>> = []; let s = \"\u0101\u0101,\"; let i = 0; "
                    "while i < 15 { s = s + s; i = i + 1; } while true { keep.push(s.split(\",\")); } 0 }",
    "string_replace": f"fn run() -> Integer {{ {_KEEP_S} {_WIDE} while true {{ keep.push(w.replace(\"\U0001F600\", \"\U0001F600\U0001F600\")); }} 0 }}",
    "string_format": f"fn run() -> Integer {{ {_KEEP_S} {_WIDE} while true {{ keep.push(string_format(\"{{}}{{}}\", [w, w])); }} 0 }}",
    "to_string": f"fn run() -> Integer {{ {_KEEP_S} let i = 1000000000000; while true {{ keep.push(to_string(i)); i = i + 1; }} 0 }}",
    "hash": f"fn run() -> Integer {{ {_KEEP_S} let i = 0; while true {{ keep.push(hash(to_string(i))); i = i + 1; }} 0 }}",
    "calculate_cid": f"fn run() -> Integer {{ {_KEEP_S} let i = 0; while true {{ keep.push(calculate_cid(to_string(i))); i = i + 1; }} 0 }}",
    "array_slice": "fn run() -> Integer { let keep: Array<Array<Integer>> = []; let a: Array<Integer> = []; "
                   "let i = 0; while i < 2000 { a.push(i); i = i + 1; } while true { keep.push(a.slice(0, a.len())); } 0 }",
    "array_push": "fn run() -> Integer { let keep: Array<Integer> = []; let i = 1000000; while true { keep.push(i); i = i + 1; } 0 }",
    "mkarray": "fn run() -> Integer { let keep: Array<Array<Integer>> = []; let i = 1000000; "
               "while true { keep.push([i]); i = i + 1; } 0 }",
    "map_insert": "fn run() -> Integer { let m: Map<Integer, Integer> = map_new(); let i = 1000000; "
                  "while true { m[i] = i; i = i + 1; } 0 }",
    "string_map_keys": "fn run() -> Integer { let m: Map<String, Integer> = map_new(); let i = 1000000; "
                       "while true { m.insert(to_string(i), i); i = i + 1; } 0 }",
    "split_pro_rata": "fn run() -> Integer { let keep: Array<Array<Integer>> = []; let w: Array<Integer> = []; "
                      "let i = 0; while i < 500 { w.push(i + 1000); i = i + 1; } "
                      "while true { keep.push(split_pro_rata(1000000000, w)); } 0 }",
    "result_shared": "struct N { kids: Array<N> }\nfn run() -> N { let n = N { kids: [] }; let i = 0; "
                     "while i < 30 { n = N { kids: [n, n] }; i = i + 1; } n }",
    "result_wide": "fn run() -> Array<String> { let w = \"\U0001F600\U0001F600\U0001F600\U0001F600\"; let i = 0; "
                   "while i < 16 { w = w + w; i = i + 1; } let out: Array<String> = []; "
                   "while out.len() < 100000 { out.push(w); } out }",
    "event_shared": "struct N { kids: Array<N> }\nfn run() -> Integer { let n = N { kids: [] }; "
                    "let i = 0; while i < 30 { n = N { kids: [n, n] }; i = i + 1; } emit E { n: n }; 0 }",
    "result_structs": "struct P { a: Integer, b: Integer }\nfn run() -> Array<P> { let out: Array<P> = []; "
                      "let i = 1000000; while out.len() < 5000 { out.push(P { a: i, b: i }); i = i + 1; } out }",
    "assert_eq": "struct N { kids: Array<N> }\nfn run() -> Integer { let a = N { kids: [] }; let b = N { kids: [] }; "
                 "let i = 0; while i < 30 { a = N { kids: [a, a] }; b = N { kids: [b, b] }; i = i + 1; } "
                 "assert_eq(a, b); 0 }",
    "equality": "struct N { kids: Array<N> }\nfn run() -> Bool { let a = N { kids: [] }; let b = N { kids: [] }; "
                "let i = 0; while i < 30 { a = N { kids: [a, a] }; b = N { kids: [b, b] }; i = i + 1; } a == b }",
}


def measure(source: str, gas: int, engine: str) -> tuple[int, str]:
    """(peak bytes above the baseline, how the run ended)."""
    verified = build(source, "memory.ccl")
    compiled(verified)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        r = execute(verified, "run", [], gas_limit=gas, mode=engine, log=lambda m: None)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    return peak, "ok" if r.ok else r.error.code


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gas", default="10000,100000,1000000")
    ap.add_argument("--engine", default="fast,interp")
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    gases = [int(g) for g in a.gas.split(",")]
    engines = a.engine.split(",")
    worst_all = 0.0
    over = []
    print(f"{'program':22} {'worst B/gas':>12}  (peak bytes at each gas limit, engine; how it ended)")
    for name, source in PROGRAMS.items():
        if a.only and name not in a.only.split(","):
            continue
        worst = 0.0
        cells = []
        for gas in gases:
            for engine in engines:
                peak, end = measure(source, gas, engine)
                worst = max(worst, peak / gas)
                cells.append(f"{gas}/{engine}: {peak} {end}")
                if peak > limits.memory_bound(gas):
                    over.append((name, gas, engine, peak))
        worst_all = max(worst_all, worst)
        print(f"{name:22} {worst:12.1f}  " + "; ".join(cells), flush=True)
    print(f"worst bytes per gas: {worst_all:.1f}; bound: {limits.memory_base_bytes} + "
          f"{limits.memory_bytes_per_gas} × gas")
    for name, gas, engine, peak in over:
        print(f"OVER THE BOUND: {name} at {gas} gas on {engine}: {peak} > {limits.memory_bound(gas)}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
