"""The oracles: what must hold for every input, whatever it is.

1. No Python exception other than `ccl.diag.CclError` escapes any stage (parse, check, compile,
   verify, run, JSON conversion of the result and the events), and no CclError is X9999.
2. A program that passes `ccl check` compiles and verifies.
3. A verified module gives the same outcome on both engines (ok, result, gas used, events,
   error code, message, line and column) at every gas limit tried.
4. One run takes at most `slow_seconds` (a run still going after `hard_seconds` is stopped).
5. A sampled run's peak Python allocation (tracemalloc) is at most `ccl.limits.memory_bound`.

`check_source` and `check_module` return the finds (a list of `Find`) and the deepest stage the
input reached; neither raises, except KeyboardInterrupt.
"""

from __future__ import annotations

import json
import signal
import sys
import time
import tracemalloc
import traceback
from dataclasses import dataclass, field

from ccl import limits
from ccl import types as ty
from ccl.diag import CclError

GAS_LIMITS = (50, 500, 5000, 100_000)
ENGINES = ("fast", "reference")
MODE = {"fast": "fast", "reference": "interp"}


@dataclass
class Find:
    kind: str            # internal | divergence | verify | slow | memory
    stage: str
    signature: str       # what makes two finds "the same" (deduplication, minimization)
    detail: str

    def as_json(self) -> dict:
        return {"kind": self.kind, "stage": self.stage, "signature": self.signature, "detail": self.detail}


@dataclass
class Outcome:
    stage: str = "start"             # deepest stage reached: parse check compile verify run
    finds: list = field(default_factory=list)
    runs: int = 0


@dataclass
class Config:
    gas_limits: tuple = GAS_LIMITS
    entries: int = 2                 # entry points run per module
    slow_seconds: float = 2.0
    hard_seconds: float = 10.0
    measure_memory: bool = False


class Timeout(BaseException):
    """Raised by the alarm: BaseException so that no `except Exception` in ccl swallows it."""


def _alarm(signum, frame):
    raise Timeout()


def _ccl_frame(tb) -> str:
    """file:function of the innermost frame inside ccl/ — where an internal error arose."""
    where = "?"
    for fs in traceback.extract_tb(tb):
        path = fs.filename.replace("\\", "/")
        if "/ccl/" in path:
            where = f"{path.rsplit('/ccl/', 1)[1]}:{fs.name}"
        elif path.startswith("<ccl "):
            where = "generated-code"
    return where


def internal(stage: str, e: BaseException) -> Find:
    detail = "".join(traceback.format_exception(type(e), e, e.__traceback__)[-12:])
    return Find("internal", stage, f"internal:{stage}:{type(e).__name__}:{_ccl_frame(e.__traceback__)}",
                detail[-4000:])


def _x9999(stage: str, e: CclError) -> Find | None:
    d = e.diagnostic
    if d.code == "X9999" or d.kind == "internal":
        return Find("internal", stage, f"internal:{stage}:X9999:{d.message[:60]}", d.message[:2000])
    return None


class _Guard:
    """Run one stage: CclError is an answer; any other exception is a find."""

    def __init__(self, out: Outcome, stage: str):
        self.out, self.stage = out, stage
        self.failed = False          # a CclError (an ordinary refusal)
        self.crashed = False

    def __enter__(self):
        self.out.stage = self.stage
        return self

    def __exit__(self, et, e, tb):
        if e is None:
            return False
        if isinstance(e, (KeyboardInterrupt, Timeout)):
            return False
        if isinstance(e, CclError):
            self.failed = True
            f = _x9999(self.stage, e)
            if f:
                self.out.finds.append(f)
                self.crashed = True
            return True
        self.out.finds.append(internal(self.stage, e))
        self.crashed = True
        return True


# ---------------------------------------------------------------- sources

def check_source(text: str, cfg: Config = Config(), file: str = "fuzz.ccl") -> Outcome:
    from ccl.check import check
    from ccl.compile.codegen import compile_program
    from ccl.pipeline import deep_recursion
    from ccl.syntax.parse import parse

    out = Outcome()
    with deep_recursion():
        with _Guard(out, "parse") as g:
            tree = parse(text, file)
        if g.failed or g.crashed:
            return out
        with _Guard(out, "check") as g:
            program = check(tree, None)
        if g.failed or g.crashed:
            return out
        with _Guard(out, "compile") as g:
            module = compile_program(program, file)
        if g.crashed:
            return out
        if g.failed:
            out.finds.append(Find("verify", "compile", "check-ok-compile-fails", "passes check, compile refuses"))
            return out
    return _dedupe(_verify_and_run(module, cfg, out, from_source=True))


def _dedupe(out: Outcome) -> Outcome:
    seen, finds = set(), []
    for f in out.finds:
        if f.signature not in seen:
            seen.add(f.signature)
            finds.append(f)
    out.finds = finds
    return out


# ---------------------------------------------------------------- modules

def check_module(module, cfg: Config = Config()) -> Outcome:
    """A module as an attacker would hand it over: through the .cclb file format."""
    from ccl.compile.module import read_file, write_file

    out = Outcome()
    try:
        data = write_file(module)
    except (ValueError, TypeError, OverflowError):
        out.stage = "unencodable"        # the generator made something no file can hold
        return out
    with _Guard(out, "decode") as g:
        module = read_file(data, "fuzz.cclb")
    if g.failed or g.crashed:
        return out
    return _dedupe(_verify_and_run(module, cfg, out, from_source=False))


def _verify_and_run(module, cfg: Config, out: Outcome, from_source: bool) -> Outcome:
    from ccl.compile.verify import verify

    with _Guard(out, "verify") as g:
        verified = verify(module, "fuzz.cclb")
    if g.crashed:
        return out
    if g.failed:
        if from_source:
            out.finds.append(Find("verify", "verify", "check-ok-verify-fails",
                                  "passes check, the verifier refuses its module"))
        return out
    out.stage = "run"
    entries = [i for i, f in enumerate(module.functions) if f.entry][: cfg.entries]
    for index in entries:
        args = _args_for(module, index)
        if args is None:
            continue
        for gas in cfg.gas_limits:
            results = {}
            for engine in ENGINES:
                results[engine] = _run_one(verified, index, args, gas, engine, cfg, out)
            a, b = results["fast"], results["reference"]
            if a is None or b is None:
                continue
            if a != b:
                diff = [k for k in a if a[k] != b[k]]
                codes = f"{a['code']}/{b['code']}"
                out.finds.append(Find("divergence", "run", f"divergence:{'+'.join(diff)}:{codes}",
                                      json.dumps({"entry": module.functions[index].name, "gas": gas,
                                                  "fast": a, "reference": b}, default=str)[:4000]))
                return out             # one divergence per input is enough
    return out


def _args_for(module, index: int):
    f = module.functions[index]
    out = []
    for desc in f.params:
        try:
            t = ty.from_descriptor(desc)
        except (ValueError, TypeError):
            return None
        v = _sample(t)
        if v is _NO:
            return None
        out.append(v)
    return out


_NO = object()


def _sample(t):
    n = t.name
    if n in ("Integer", "Mana", "Timestamp", "Duration"):
        return 3
    if n in ("Bool", "Boolean"):
        return True
    if n == "String":
        return "ab"
    if n == "Did":
        return "did:key:z6MkhaXgBZDvot"
    if n == "Array":
        return []
    if n == "Map":
        return {}
    if n == "Option":
        return None
    return _NO


def _run_one(verified, index, args, gas, engine, cfg: Config, out: Outcome):
    """One run, as a comparable dict, or None when it could not be judged."""
    from ccl.vm.run import execute
    from ccl.vm.values import dynamic_to_json

    name = verified.module.functions[index].name
    out.runs += 1
    measuring = cfg.measure_memory
    old = signal.signal(signal.SIGALRM, _alarm) if cfg.hard_seconds else None
    if old is not None:
        signal.setitimer(signal.ITIMER_REAL, cfg.hard_seconds)
    stage = f"run:{engine}"
    peak = 0
    t0 = time.perf_counter()
    try:
        if measuring:
            tracemalloc.start()
            tracemalloc.reset_peak()
        try:
            r = execute(verified, name, args, gas_limit=gas, mode=MODE[engine], log=_quiet, hidden=True)
        finally:
            if measuring:
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
    except Timeout:
        out.finds.append(Find("slow", stage, f"slow:hard:{engine}",
                              f"still running after {cfg.hard_seconds}s at gas {gas}"))
        return None
    except KeyboardInterrupt:
        raise
    except CclError as e:
        f = _x9999(stage, e)
        if f:
            out.finds.append(f)
        return None
    except BaseException as e:                        # noqa: B902 — every escape is a find
        out.finds.append(internal(stage, e))
        return None
    finally:
        if old is not None:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
    elapsed = time.perf_counter() - t0
    if elapsed > cfg.slow_seconds:
        out.finds.append(Find("slow", stage, f"slow:{engine}", f"{elapsed:.1f}s at gas {gas}"))
    if measuring and peak > limits.memory_bound(gas):
        out.finds.append(Find("memory", stage, f"memory:{engine}",
                              f"peak {peak} bytes > bound {limits.memory_bound(gas)} at gas {gas}"))
    # what a user sees: the result and the events as JSON
    try:
        value = json.dumps(r.value, ensure_ascii=False, sort_keys=True)
        events = [[e.name, json.dumps(dynamic_to_json(e.fields), ensure_ascii=False, sort_keys=True)]
                  for e in r.events]
    except KeyboardInterrupt:
        raise
    except BaseException as e:
        out.finds.append(internal(f"json:{engine}", e))
        return None
    d = r.error
    return {"ok": r.ok, "value": value, "gas": r.gas_used, "events": events,
            "code": d.code if d else None, "message": d.message if d else None,
            "line": d.span.line if d else None, "col": d.span.col if d else None}


def _quiet(message: str) -> None:
    pass


def describe(outcome: Outcome) -> str:
    return "; ".join(f.signature for f in outcome.finds) or "no finds"


if __name__ == "__main__":                       # python -m fuzz.oracle FILE
    print(describe(check_source(open(sys.argv[1], encoding="utf-8").read())))
