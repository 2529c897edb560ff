"""Running a verified module: one entry call, with gas, limits, context and either VM path.

Owns `RunState` (gas and memory counters, contract state, events, the run context), the fast
path's per-CID code cache, and the translation of traps into located diagnostics. The run
context (`now`, `caller`) comes in as data: nothing here reads a clock or the environment.
Imports leaves, ccl.compile and the other ccl.vm modules.
"""

from __future__ import annotations

import itertools
import sys
import warnings
from typing import Callable, Optional

import attrs

from ccl import limits, types as ty
from ccl.compile.module import Module
from ccl.compile.verify import Verified
from ccl.diag import CODES, Diagnostic, Span, error
from ccl.semantics import FROM_SOURCE, Trap, div, equal, mod, written_copy
from ccl.vm import builtins as B
from ccl.vm import interp
from ccl.vm.translate import translate
from ccl.vm.values import ArgError, Json, Types, from_json, to_json

ANONYMOUS = "did:key:anonymous"
# What either engine turns into R0307 for a hand-built module (the same on both).
_MALFORMED = (TypeError, IndexError, KeyError, AttributeError, ValueError, OverflowError, MemoryError)

MISSING = object()          # a state value that must come from its contract's initializer


@attrs.define
class Event:
    name: str
    fields: dict


@attrs.define
class RunResult:
    ok: bool
    value: Json = None              # JSON form of the result
    raw: object = None              # the CCL value (ccl.vm.values: ints, strings, lists, tuples, …)
    gas_used: int = 0
    events: list[Event] = attrs.Factory(list)
    error: Optional[Diagnostic] = None      # set when not ok
    state: list = attrs.Factory(list)       # the contract state values after the run


class RunState:
    def __init__(self, module: Module, gas_limit: int, now: int, caller: str, log: Callable[[str], None],
                 host: Optional[Callable] = None):
        self.ns: dict = {"_g": gas_limit, "_m": 0}
        self.globals: list = [None] * len(module.states)
        self.now = now
        self.caller = caller
        self.events: list[Event] = []
        self.logs = 0
        self._log = log
        self.host = host(self) if host else {}     # effectful rows, bound by ccl.runtime
        impl = B.implementations(self)
        self.builtins = B.bind(self, impl)
        self.concat = impl["string_concat"]
        self.map_insert = impl["map_insert"]
        self.module = module

    def charge(self, n: int) -> None:
        if n:
            self.ns["_g"] -= n
            if self.ns["_g"] < 0:
                raise Trap("G0400", "out of gas")

    def equal(self, a, b) -> bool:
        """EQ and NE on both engines: by value, metered (ccl.semantics.equal)."""
        if type(a) is int:
            return a == b
        return equal(a, b, self.charge)

    def log(self, message: str) -> None:
        self.logs += 1
        if self.logs > limits.log_lines_per_run_max:
            raise Trap("L0506", f"more than {limits.log_lines_per_run_max} log lines")
        self._log(message)

    def emit(self, name: str, fields: list, values: list) -> None:
        if len(self.events) >= limits.events_per_run_max:
            raise Trap("L0506", f"more than {limits.events_per_run_max} events in one run")
        # a snapshot, paid for: later changes to a shared value do not change the event
        self.events.append(Event(name, dict(zip(fields, (written_copy(v, self.charge) for v in values)))))


def find_entry(module: Module, name: str, hidden: bool = False) -> int:
    """An entry point by name; `hidden` also finds non-entry functions by their exact name (a
    proposal's execution block, run by the governance engine)."""
    exact = [i for i, f in enumerate(module.functions) if (f.entry or hidden) and f.name == name]
    if exact:
        return exact[0]
    short = [i for i, f in enumerate(module.functions) if f.entry and f.name.rsplit("::", 1)[-1] == name]
    if len(short) == 1:
        return short[0]
    names = [f.name for f in module.functions if f.entry]
    from ccl.diag import did_you_mean

    if len(short) > 1:
        raise error("E0217", f"`{name}` is defined in several contracts", Span(module.source),
                    "name one: " + ", ".join(module.functions[i].name for i in short))
    raise error("E0217", f"no function `{name}` to run", Span(module.source),
                did_you_mean(name, names) or ("entry points: " + ", ".join(names) if names else
                                              "the file defines no functions"))


def convert_args(module: Module, index: int, args: list) -> list:
    f = module.functions[index]
    if not isinstance(args, list):
        raise error("U0702", "--args must be a JSON list of positional arguments", Span(module.source),
                    'for example: --args \'[1, "did:key:z6Mk…"]\'')
    if len(args) != len(f.params):
        sig = ", ".join(f"{n}: {ty.from_descriptor(t)}" for n, t in zip(f.param_names, f.params))
        raise error("E0218", f"`{f.name}` takes {len(f.params)} argument(s), given {len(args)}",
                    Span(module.source), f"signature: {f.name}({sig})")
    types = Types(module)
    out = []
    for name, desc, value in zip(f.param_names, f.params, args):
        try:
            out.append(from_json(ty.from_descriptor(desc), value, types, f"argument `{name}`"))
        except ArgError as e:
            raise error(e.code, e.message, Span(module.source),
                        e.hint or f"`{name}` is {ty.from_descriptor(desc)}") from None
    return out


def execute(verified: Verified, entry: str, args: list, *, gas_limit: int = limits.gas_default,
            now: int = 0, caller: str = ANONYMOUS, mode: str = "fast",
            log: Callable[[str], None] = lambda m: print(m, file=sys.stderr),
            state: Optional[list] = None, initialize: Optional[set] = None,
            host: Optional[Callable] = None, hidden: bool = False) -> RunResult:
    """Run `entry` with JSON `args`. Argument errors raise CclError before anything runs;
    everything that happens while running is reported in the RunResult.

    `state` gives the contract state values to start from (MISSING where a value must come from
    its initializer); `initialize` names the contracts whose initializers run first (all of them
    when `state` is None). `host(run_state)` returns the effectful host rows (ccl.runtime)."""
    module = verified.module
    index = find_entry(module, entry, hidden)
    values = convert_args(module, index, args)
    if not 0 < gas_limit <= limits.gas_max:
        raise error("U0700", f"gas limit must be between 1 and {limits.gas_max}", Span(module.source))
    st = RunState(module, gas_limit, now, caller, log, host)
    runner = _fast if mode == "fast" else _interp
    try:
        for contract, init_index in module.initializers:
            if state is None or contract in (initialize or ()):
                runner(verified, init_index, [], st)
        if state is not None:
            for i, v in enumerate(state):
                if v is not MISSING:
                    st.globals[i] = v
        raw = runner(verified, index, values, st)
        _write_out(st, index, raw)
    except interp.Located as located:
        if located.trap.code == "R0307" and verified.cid in FROM_SOURCE and located.__context__ is not None:
            raise located.__context__          # not a malformed module: a bug in ccl
        return _failed(verified, st, gas_limit, located)
    f = module.functions[index]
    value = to_json(ty.from_descriptor(f.ret), raw, Types(module))
    return RunResult(True, value, raw, gas_limit - st.ns["_g"], st.events, None, st.globals)


def _write_out(st: RunState, index: int, raw) -> None:
    """What the run hands back — its result and the contract state — is paid for as it will be
    written out (ccl.semantics.written_copy: per item reached, so a shared or self-containing value
    cannot make writing it slow or large). A failure here is reported at the entry function."""
    try:
        written_copy(raw, st.charge, copy=False)
        for v in st.globals:
            written_copy(v, st.charge, copy=False)
    except Trap as t:
        raise interp.Located(t, index, 0) from None


def _failed(verified, st, gas_limit, located: "interp.Located") -> RunResult:
    t = located.trap
    f = verified.module.functions[located.fn_index]
    positions = f.positions()
    line, col = positions[located.pc] if 0 <= located.pc < len(positions) else (0, 0)
    kind = CODES[t.code][0]
    hints = (t.hint,) if t.hint else ()
    if t.code == "G0400":
        hints = (f"the run stopped after {gas_limit} gas; raise the limit with --gas N",)
    d = Diagnostic(kind, t.code, t.message, Span(f.file or verified.module.source, line, col), hints)
    used = gas_limit if t.code == "G0400" else gas_limit - st.ns["_g"]
    return RunResult(False, None, None, used, [], d, st.globals)


def _interp(verified: Verified, index: int, args: list, st: RunState):
    return interp.run(verified, index, args, st)


# ---------------------------------------------------------------- the fast path

_CODE_CACHE: dict[str, tuple] = {}


class _FastTrap(Exception):
    def __init__(self, trap: Trap, position: int):
        self.trap = trap
        self.position = position


def compiled(verified: Verified):
    """(code object or None, positions, line_pcs) for a module, compiled once per CID."""
    cid = verified.cid
    hit = _CODE_CACHE.get(cid)
    if hit is None:
        source, positions, line_pcs = translate(verified)
        code = None                      # None: the reference interpreter runs the module
        if source is not None:
            try:
                with warnings.catch_warnings():          # crafted modules can make CPython warn
                    warnings.simplefilter("ignore")
                    code = compile(source, f"<ccl {cid}>", "exec", dont_inherit=True)
            except (SyntaxError, RecursionError, MemoryError, ValueError):
                code = None              # too deep for CPython's compiler after all
        hit = (code, positions, line_pcs, source)
        if len(_CODE_CACHE) > 64:
            _CODE_CACHE.clear()
        _CODE_CACHE[cid] = hit
    return hit


def _fast(verified: Verified, index: int, args: list, st: RunState):
    code, positions, line_pcs, _ = compiled(verified)
    if code is None:
        return interp.run(verified, index, args, st)
    ns = st.ns
    if "f0" not in ns:
        _prepare(ns, verified, st, positions)
        exec(code, ns)
    try:
        return ns[f"f{index}"](*args, 1)
    except _FastTrap as e:
        raise interp.Located(e.trap, *positions[e.position]) from None
    except Trap as t:
        raise interp.Located(t, *_where(t.__traceback__, line_pcs, verified)) from None
    except KeyError as e:
        if _raised_in_generated(e.__traceback__, verified):      # MGET's `m[k]`: a missing key
            fn_index, pc = _where(e.__traceback__, line_pcs, verified)
            raise interp.Located(interp.missing_key(e.args[0] if e.args else None), fn_index, pc) from None
        raise interp.Located(interp.malformed(e), *_where(e.__traceback__, line_pcs, verified)) from None
    except RecursionError as e:
        raise interp.Located(interp.depth_exceeded(), *_where(e.__traceback__, line_pcs, verified)) from None
    except _MALFORMED as e:
        raise interp.Located(interp.malformed(e), *_where(e.__traceback__, line_pcs, verified)) from None


def _raised_in_generated(tb, verified) -> bool:
    while tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame.f_code.co_filename == f"<ccl {verified.cid}>"


def _generated_frames(tb, verified):
    name = f"<ccl {verified.cid}>"
    frames = []
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == name:
            frames.append((tb.tb_lineno, tb.tb_frame.f_code, tb.tb_lasti))
        tb = tb.tb_next
    return frames


def _where(tb, line_pcs, verified) -> tuple[int, int]:
    """The instruction whose helper raised: from the innermost generated line, and on it the
    call whose column range is that of the Python instruction that raised."""
    frames = _generated_frames(tb, verified)
    if not frames:
        return 0, 0
    lineno, code, lasti = frames[-1]
    line = lineno - 1
    fn_index, _, spans = line_pcs[line]
    if spans:
        where = next(itertools.islice(code.co_positions(), lasti // 2, None), None)
        if where is not None and where[0] == lineno:
            for start, end, pc in spans:
                if (start, end) == (where[2], where[3]):
                    return fn_index, pc
        return fn_index, spans[0][2]
    for probe in range(line, -1, -1):
        fn_index, pcs, _ = line_pcs[probe]
        if pcs:
            return fn_index, pcs[0]
    return line_pcs[line][0], 0


def _prepare(ns: dict, verified: Verified, st: RunState, positions: list) -> None:
    module = verified.module

    def trap_at(code, message, hint=""):
        def raise_(position):
            raise _FastTrap(Trap(code, message, hint), position)
        return raise_

    from ccl.compile import opcodes as O
    from ccl.semantics import overflow

    symbols = {O.ADD: "+", O.SUB: "-", O.MUL: "*", O.NEG: "-"}

    def ovf(position):
        fn_index, pc = positions[position]
        op = module.functions[fn_index].code[2 * pc]
        raise _FastTrap(overflow(symbols[op]), position)

    def oob(i, a, position):
        raise _FastTrap(interp.out_of_range(i, len(a)), position)

    def oog(position):
        raise _FastTrap(Trap("G0400", "out of gas"), position)

    def depth(position):
        raise _FastTrap(interp.depth_exceeded(), position)

    def checked(op):
        def run(a, b, position):
            try:
                return op(a, b)
            except Trap as t:
                raise _FastTrap(t, position) from None
        return run

    def cat(a, b, position):
        try:
            return st.concat(a, b)
        except Trap as t:
            raise _FastTrap(t, position) from None

    def aget(a, i, position):
        if not 0 <= i < len(a):
            raise _FastTrap(interp.out_of_range(i, len(a)), position)
        return a[i]

    def mnew(m, position):
        if len(m) >= limits.map_size_max:
            raise _FastTrap(Trap("L0503", f"map larger than {limits.map_size_max}"), position)
        ns["_m"] += 1
        if ns["_m"] > limits.memory_units_max:
            raise _FastTrap(Trap("L0505", "memory limit exceeded"), position)

    def require(message, position):
        raise _FastTrap(Trap("R0303", f"requirement failed: {message}"), position)

    def trap(index, position):
        from ccl.compile.opcodes import TRAPS

        code, message = TRAPS[index]
        raise _FastTrap(Trap(code, message), position)

    equal_ = st.equal

    def eq(a, b, position):
        if type(a) is int:
            return a == b
        try:
            return equal_(a, b)
        except Trap as t:
            raise _FastTrap(t, position) from None

    def emit(k, values, position):
        name, fields = module.consts[k]
        try:
            st.emit(name, fields, values)
        except Trap as t:
            raise _FastTrap(t, position) from None

    ns.update({
        "__builtins__": {}, "_S": st.globals, "_K": module.consts, "_caller": st.caller, "_now": st.now,
        "_min": min, "_max": max, "_has": _has, "len": len, "_ovf": ovf, "_oob": oob, "_oog": oog, "_depth": depth,
        "_div": checked(div), "_mod": checked(mod), "_cat": cat, "_aget": aget, "_mnew": mnew,
        "_require": require, "_trap": trap, "_emit": emit, "_eq": eq,
    })
    for i, _ in module.host:
        ns[f"_h{i}"] = st.builtins[i]


def _has(m, k) -> bool:
    """map_contains_key on the fast path: a call, so the map is evaluated before the key as on
    the reference engine (an inline `k in m` would evaluate the key first)."""
    return k in m
