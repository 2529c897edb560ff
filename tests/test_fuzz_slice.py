"""The CI slice of the fuzz driver (fuzz/, docs/fuzzing.md): fixed seeds of every generator, the
saved corpus, and the differential over generated programs at several gas limits. No internal
error, no divergence, no well-typed program the verifier refuses, no sampled run past the memory
bound — except the finds listed in KNOWN_OPEN."""

import re

import pytest

from fuzz import driver
from fuzz.gen_program import generate
from fuzz.minimize import ddmin, Budget, minimize_source
from fuzz.oracle import Config, check_source
from fuzz.slice import SLICE

# Finds of issue 12 that other work is fixing: (origin, signature, issue item), both regexes.
# TO BE EMPTIED by the lead once the typed verifier, evaluation order, gas/memory and cyclic-value
# work is merged: after that, every entry left here is a bug.
KNOWN_OPEN: list = [
]


def _known(origin: str, signature: str) -> bool:
    return any(re.match(o, origin) and re.fullmatch(s, signature) for o, s, _ in KNOWN_OPEN)


def _unknown(finds) -> list:
    return [f"{f.signature}  ({origin})\n{f.detail[-800:]}" for f, origin in finds
            if f.kind != "slow" and not _known(origin, f.signature)]


CFG = Config(slow_seconds=60.0, hard_seconds=60.0)     # no timing assertions: slow runs are not judged here


def _run(gen: str):
    finds = []
    for k in range(SLICE[gen]):
        kind, value, desc = driver.materialize(gen, k)
        o = driver.check_input(kind, value, CFG)
        finds += [(f, f"{gen} {k} ({desc})") for f in o.finds]
    return finds


@pytest.mark.parametrize("gen", ["random", "mutate", "bytecode", "program"])
def test_slice_of_generator(gen):
    unknown = _unknown(_run(gen))
    assert not unknown, "\n\n".join(unknown[:10])


def test_saved_corpus():
    files = driver.corpus_files()
    assert len(files) >= 10
    finds = []
    for p in files:
        kind, value = driver.load_corpus_file(p)
        # the corpus is small: measure memory on every run of it
        o = driver.check_input(kind, value, Config(CFG.gas_limits, 2, 60.0, 60.0, True))
        finds += [(f, f"corpus {p.relative_to(driver.ROOT)}") for f in o.finds]
    unknown = _unknown(finds)
    assert not unknown, "\n\n".join(unknown[:10])


def test_generated_programs_are_well_typed_and_deterministic():
    from ccl.diag import CclError
    from ccl.pipeline import build

    ok = 0
    for seed in range(150):
        text = generate(seed)
        assert text == generate(seed)
        try:
            build(text, "g.ccl")
            ok += 1
        except CclError:
            pass
    assert ok >= 140


def test_inputs_are_a_function_of_their_seed():
    for seed in (0, 1, 7, 19, 12345):
        gen, k = driver.generator_of(seed)
        a, b = driver.materialize(gen, k), driver.materialize(gen, k)
        assert a[0] == b[0] and a[2] == b[2]
        assert (a[1] == b[1]) if a[0] == "source" else (a[1].encode() == b[1].encode())
    # each generator's seeds are a bijection of the campaign seeds
    ks = [driver.generator_of(s) for s in range(200)]
    for gen in driver.GENERATORS:
        mine = sorted(k for g, k in ks if g == gen)
        assert mine == list(range(len(mine)))


def test_oracle_reports_an_escaping_exception(monkeypatch):
    import ccl.syntax.parse

    def broken(text, file):
        raise KeyError("boom")

    monkeypatch.setattr(ccl.syntax.parse, "parse", broken)
    o = check_source("fn run() -> Integer { 1 }")
    assert [f.kind for f in o.finds] == ["internal"]
    assert o.finds[0].signature.startswith("internal:parse:KeyError")


def test_oracle_reports_a_divergence(monkeypatch):
    import ccl.vm.run

    real = ccl.vm.run.execute

    def skewed(*args, **kw):
        r = real(*args, **kw)
        if kw.get("mode") == "fast":
            r.gas_used += 1
        return r

    monkeypatch.setattr(ccl.vm.run, "execute", skewed)
    o = check_source("fn run() -> Integer { 1 + 2 }")
    assert [f.kind for f in o.finds] == ["divergence"]
    assert o.finds[0].signature == "divergence:gas:None/None"


def test_ddmin_finds_the_two_needed_items():
    assert ddmin(list(range(40)), lambda xs: 3 in xs and 31 in xs, Budget(500)) == [3, 31]


def test_minimizer_keeps_the_find():
    text = "fn a() -> Integer { 1 }\nfn run() -> Integer {\n  let x = 5;\n  x / 0\n}\n"

    def divides_by_zero(t):
        from ccl.diag import CclError
        from ccl.pipeline import build
        from ccl.vm.run import execute

        try:
            r = execute(build(t, "m.ccl"), "run", [], gas_limit=1000)
        except CclError:
            return False
        return not r.ok and r.error.code == "R0301"

    small = minimize_source(text, divides_by_zero)
    assert divides_by_zero(small) and "fn a" not in small and len(small) < len(text)
