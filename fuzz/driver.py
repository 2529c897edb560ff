"""Inputs by seed, the per-input check, saving finds, the corpus and the resumable campaign."""

from __future__ import annotations

import json
import os
import pathlib
import re
import sys
import time
from collections import Counter

from fuzz import gen_bytecode, mutate
from fuzz.gen_program import generate
from fuzz.oracle import Config, Outcome, check_module, check_source

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"
FINDINGS = ROOT / ".fuzz" / "findings"

GENERATORS = ("random", "mutate", "bytecode", "program")
# One campaign block of 20 seeds: cheap inputs dominate, expensive ones are a steady share.
MIX = ("random",) * 9 + ("mutate",) * 6 + ("bytecode",) * 3 + ("program",) * 2


def generator_of(seed: int) -> tuple[str, int]:
    """The generator of a campaign seed, and that generator's own seed (a bijection per generator)."""
    block, pos = divmod(seed, len(MIX))
    gen = MIX[pos]
    return gen, block * MIX.count(gen) + MIX[:pos].count(gen)


def materialize(gen: str, k: int):
    """("source", text, description) or ("module", Module, description)."""
    if gen == "program":
        return "source", generate(k), f"program:{k}"
    if gen == "mutate":
        desc, text = mutate.mutation(k)
        return "source", text, desc
    if gen == "random":
        desc, text = mutate.random_input(k)
        return "source", text, f"random:{desc}"
    if gen == "bytecode":
        desc, m = gen_bytecode.bytecode(k)
        return "module", m, f"bytecode:{desc}"
    raise ValueError(f"unknown generator {gen!r}")


def check_input(kind: str, value, cfg: Config) -> Outcome:
    return check_source(value, cfg) if kind == "source" else check_module(value, cfg)


def measure_this(seed: int) -> bool:
    return (seed * 2654435761) % 61 == 0


# ---------------------------------------------------------------- finds on disk

def _slug(signature: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.+-]+", "_", signature)[:120]


def save_find(find, kind: str, value, origin: str, cfg: Config, findings: pathlib.Path,
              minimize: bool = True) -> pathlib.Path | None:
    """Write a find once per signature: the original input, a minimized reproducer, find.json."""
    from ccl.compile.module import write_file

    from fuzz.minimize import minimize_module, minimize_source

    where = findings / _slug(find.signature)
    try:
        where.mkdir(parents=True)
    except FileExistsError:
        return None
    quick = Config(cfg.gas_limits, cfg.entries, cfg.slow_seconds, cfg.hard_seconds,
                   find.kind == "memory")

    def same(candidate) -> bool:
        o = check_input(kind, candidate, quick)
        return any(f.signature == find.signature for f in o.finds)

    small = value
    if minimize and find.kind not in ("slow",):
        try:
            small = minimize_source(value, same) if kind == "source" else minimize_module(value, same)
        except RecursionError:
            small = value
    if kind == "source":
        (where / "original.ccl").write_text(value, encoding="utf-8")
        (where / "repro.ccl").write_text(small, encoding="utf-8")
    else:
        (where / "original.cclb").write_bytes(write_file(value))
        (where / "repro.cclb").write_bytes(write_file(small))
        (where / "repro.txt").write_text(listing(small), encoding="utf-8")
    (where / "find.json").write_text(json.dumps({**find.as_json(), "origin": origin}, indent=2), encoding="utf-8")
    return where


def listing(m) -> str:
    """A plain listing of a module (works on modules the verifier refuses, unlike disasm)."""
    from ccl.compile import opcodes as O

    out = [f"consts {list(m.consts)!r}", f"structs {list(m.structs)!r}", f"enums {list(m.enums)!r}",
           f"states {list(m.states)!r}"]
    for i, f in enumerate(m.functions):
        out.append(f"fn #{i} {f.name}{'' if not f.entry else ' (entry)'} params {list(f.params)!r} "
                   f"ret {f.ret!r} nlocals {f.nlocals}")
        for pc in range(0, len(f.code) - 1, 2):
            op, arg = f.code[pc], f.code[pc + 1]
            name = O.OPS[op].name if 0 <= op < len(O.OPS) else f"?{op}"
            out.append(f"  {pc // 2:4} {name} {arg}")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- corpus

def corpus_files() -> list[pathlib.Path]:
    return sorted(p for p in CORPUS.rglob("*") if p.suffix in (".ccl", ".cclb"))


def load_corpus_file(p: pathlib.Path):
    if p.suffix == ".cclb":
        from ccl.compile.module import read_file

        return "module", read_file(p.read_bytes(), p.name)
    return "source", p.read_text(encoding="utf-8")


# ---------------------------------------------------------------- a chunk of seeds (one worker task)

def run_chunk(args) -> dict:
    start, stop, findings, cfg_json = args
    cfg = Config(**cfg_json)
    counts = Counter()
    stages = Counter()
    finds: dict[str, dict] = {}
    runs = 0
    t0 = time.perf_counter()
    for seed in range(start, stop):
        gen, k = generator_of(seed)
        counts[gen] += 1
        kind, value, desc = materialize(gen, k)
        c = Config(cfg.gas_limits, cfg.entries, cfg.slow_seconds, cfg.hard_seconds, measure_this(seed))
        o = check_input(kind, value, c)
        runs += o.runs
        stages[f"{gen}:{o.stage}"] += 1
        for f in o.finds:
            entry = finds.setdefault(f.signature, {"kind": f.kind, "count": 0, "first": [seed, desc]})
            entry["count"] += 1
            if entry["count"] == 1 and findings:
                save_find(f, kind, value, f"seed {seed} ({desc})", c, pathlib.Path(findings))
    return {"start": start, "stop": stop, "counts": dict(counts), "stages": dict(stages), "finds": finds,
            "runs": runs, "seconds": time.perf_counter() - t0}


def _merge(state: dict, r: dict) -> None:
    state["next_seed"] = r["stop"]
    state["inputs"] += r["stop"] - r["start"]
    state["runs"] += r["runs"]
    state["cpu_seconds"] += r["seconds"]
    for k, v in r["counts"].items():
        state["per_generator"][k] = state["per_generator"].get(k, 0) + v
    for k, v in r["stages"].items():
        state["stages"][k] = state["stages"].get(k, 0) + v
    for sig, e in r["finds"].items():
        cur = state["finds"].setdefault(sig, {"kind": e["kind"], "count": 0, "first": e["first"]})
        cur["count"] += e["count"]


def summary(state: dict) -> dict:
    by_kind = Counter()
    for e in state["finds"].values():
        by_kind[e["kind"]] += e["count"]
    return {"internal": by_kind["internal"], "divergences": by_kind["divergence"],
            "memory": by_kind["memory"], "slow": by_kind["slow"], "check-ok-not-verified": by_kind["verify"],
            "distinct": len(state["finds"])}


def campaign(inputs: int, workers: int, state_path: pathlib.Path, findings: pathlib.Path | None,
             chunk: int = 500, cfg: Config = Config(), out=sys.stdout) -> dict:
    import multiprocessing

    state_path.parent.mkdir(parents=True, exist_ok=True)
    if state_path.exists():
        state = json.loads(state_path.read_text())
    else:
        state = {"next_seed": 0, "inputs": 0, "runs": 0, "cpu_seconds": 0.0, "wall_seconds": 0.0,
                 "per_generator": {}, "stages": {}, "finds": {}}
    start = state["next_seed"]
    if start >= inputs:
        print(f"already done: {state['inputs']} inputs", file=out)
        return state
    cfg_json = {"gas_limits": list(cfg.gas_limits), "entries": cfg.entries, "slow_seconds": cfg.slow_seconds,
                "hard_seconds": cfg.hard_seconds, "measure_memory": False}
    tasks = [(s, min(s + chunk, inputs), str(findings) if findings else "", cfg_json)
             for s in range(start, inputs, chunk)]
    print(f"campaign: seeds {start}..{inputs} on {workers} worker(s), state {state_path}", file=out)
    t0 = time.perf_counter()
    wall0 = state["wall_seconds"]
    last = 0.0
    ctx = multiprocessing.get_context("fork" if hasattr(os, "fork") else "spawn")
    with ctx.Pool(workers) as pool:
        for r in pool.imap(run_chunk, tasks):
            _merge(state, r)
            state["wall_seconds"] = wall0 + time.perf_counter() - t0
            tmp = state_path.with_suffix(".tmp")
            tmp.write_text(json.dumps(state, indent=1, sort_keys=True))
            os.replace(tmp, state_path)
            now = time.perf_counter() - t0
            if now - last > 10 or state["next_seed"] >= inputs:
                last = now
                done = state["next_seed"] - start
                print(f"{state['next_seed']:>9} seeds  {done / now:7.0f}/s  " + json.dumps(summary(state)),
                      file=out, flush=True)
    print_report(state, out)
    return state


def print_report(state: dict, out=sys.stdout) -> None:
    wall = state["wall_seconds"] or 1
    print(f"inputs {state['inputs']}  runs {state['runs']}  wall {wall:.0f}s  rate {state['inputs'] / wall:.0f}/s",
          file=out)
    print("per generator: " + json.dumps(state["per_generator"], sort_keys=True), file=out)
    print("deepest stage: " + json.dumps(state["stages"], sort_keys=True), file=out)
    print("finds: " + json.dumps(summary(state)), file=out)
    for sig, e in sorted(state["finds"].items(), key=lambda kv: -kv[1]["count"]):
        print(f"  {e['count']:>7}  {sig}   first: seed {e['first'][0]} ({e['first'][1]})", file=out)
