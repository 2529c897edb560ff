"""python -m fuzz {slice,campaign,repro,show,corpus-add} … — see docs/fuzzing.md."""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

from fuzz import driver
from fuzz.oracle import GAS_LIMITS, Config


def _cfg(a) -> Config:
    gas = tuple(int(x) for x in a.gas.split(",")) if a.gas else GAS_LIMITS
    return Config(gas_limits=gas, slow_seconds=a.slow, hard_seconds=a.hard)


def cmd_slice(a) -> int:
    from fuzz.slice import run_slice

    t0 = time.perf_counter()
    finds = run_slice(a.seeds, _cfg(a), findings=pathlib.Path(a.findings) if a.findings else None)
    for f, origin in finds:
        print(f"{f.kind:<10} {f.signature}   ({origin})")
    print(f"{len(finds)} find(s) in {time.perf_counter() - t0:.1f}s")
    return 1 if any(f.kind in ("internal", "divergence", "verify") for f, _ in finds) else 0


def cmd_campaign(a) -> int:
    state = driver.campaign(a.inputs, a.workers, pathlib.Path(a.state),
                            pathlib.Path(a.findings) if a.findings else None, chunk=a.chunk, cfg=_cfg(a))
    s = driver.summary(state)
    return 1 if s["internal"] or s["divergences"] or s["memory"] else 0


def _load(path: str):
    p = pathlib.Path(path)
    if p.is_dir():
        p = next((p / n for n in ("repro.ccl", "repro.cclb") if (p / n).exists()), p)
    return driver.load_corpus_file(p)


def cmd_repro(a) -> int:
    kind, value = _load(a.file)
    cfg = _cfg(a)
    cfg.measure_memory = a.memory
    o = driver.check_input(kind, value, cfg)
    print(f"deepest stage: {o.stage}, runs: {o.runs}")
    for f in o.finds:
        print(f"{f.kind}: {f.signature}\n{f.detail}\n")
    if not o.finds:
        print("no finds")
    return 1 if o.finds else 0


def cmd_show(a) -> int:
    gen, k = (a.generator, a.seed) if a.generator != "seed" else driver.generator_of(a.seed)
    kind, value, desc = driver.materialize(gen, k)
    print(f"// {desc}", file=sys.stderr)
    if kind == "source":
        sys.stdout.write(value)
    else:
        sys.stdout.write(driver.listing(value))
    if a.write:
        from ccl.compile.module import write_file

        p = pathlib.Path(a.write)
        p.write_bytes(write_file(value) if kind == "module" else value.encode("utf-8"))
    return 0


def cmd_minimize(a) -> int:
    kind, value = _load(a.file)
    cfg = _cfg(a)
    o = driver.check_input(kind, value, cfg)
    if not o.finds:
        print("no finds to keep while minimizing")
        return 1
    target = o.finds[0]
    findings = pathlib.Path(a.findings)
    where = driver.save_find(target, kind, value, f"minimize {a.file}", cfg, findings)
    print(f"{target.signature} → {where or 'already saved under ' + str(findings)}")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m fuzz", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)

    def common(sp):
        sp.add_argument("--gas", default="", help="comma-separated gas limits (default 50,500,5000,100000)")
        sp.add_argument("--slow", type=float, default=2.0, help="a run longer than this (s) is a find")
        sp.add_argument("--hard", type=float, default=10.0, help="stop a run after this many seconds")

    sp = sub.add_parser("slice", help="the bounded slice CI runs")
    sp.add_argument("--seeds", type=int, default=None, help="seeds per generator (default: the CI slice)")
    sp.add_argument("--findings", default="", help="save finds (minimized) under this folder")
    common(sp)
    sp.set_defaults(fn=cmd_slice)

    sp = sub.add_parser("campaign", help="a resumable campaign")
    sp.add_argument("--inputs", type=int, default=1_000_000)
    sp.add_argument("--workers", type=int, default=2)
    sp.add_argument("--state", default=".fuzz/state.json")
    sp.add_argument("--findings", default=str(driver.FINDINGS))
    sp.add_argument("--chunk", type=int, default=500)
    common(sp)
    sp.set_defaults(fn=cmd_campaign)

    sp = sub.add_parser("repro", help="check one file (.ccl, .cclb, or a findings folder)")
    sp.add_argument("file")
    sp.add_argument("--memory", action="store_true", help="also measure peak memory")
    common(sp)
    sp.set_defaults(fn=cmd_repro)

    sp = sub.add_parser("show", help="print the input of a seed")
    sp.add_argument("generator", choices=("seed",) + driver.GENERATORS,
                    help="`seed` for a campaign seed, or a generator and its own seed")
    sp.add_argument("seed", type=int)
    sp.add_argument("--write", default="", help="also write it to this file")
    sp.set_defaults(fn=cmd_show)

    sp = sub.add_parser("minimize", help="minimize a file's first find into a findings folder")
    sp.add_argument("file")
    sp.add_argument("--findings", default=str(driver.FINDINGS))
    common(sp)
    sp.set_defaults(fn=cmd_minimize)

    a = p.parse_args(argv)
    return a.fn(a)


if __name__ == "__main__":
    sys.exit(main())
