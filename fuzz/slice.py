"""The bounded slice CI runs: fixed seeds of every generator, the saved corpus, and the
differential over generated programs at several gas limits."""

from __future__ import annotations

import pathlib

from fuzz import driver
from fuzz.oracle import Config

# seeds per generator in the CI slice (about a minute on one core, most of it in `program`)
SLICE = {"random": 600, "mutate": 500, "bytecode": 300, "program": 350}


def slice_inputs(per_generator: int | None = None):
    """(origin, kind, value) of every input of the slice, in a fixed order."""
    for gen in driver.GENERATORS:
        n = per_generator if per_generator is not None else SLICE[gen]
        for k in range(n):
            kind, value, desc = driver.materialize(gen, k)
            yield f"{gen} {k} ({desc})", kind, value
    for p in driver.corpus_files():
        kind, value = driver.load_corpus_file(p)
        yield f"corpus {p.relative_to(driver.ROOT)}", kind, value


def run_slice(per_generator: int | None = None, cfg: Config = Config(),
              findings: pathlib.Path | None = None) -> list:
    """[(Find, origin)] of every find of the slice."""
    out = []
    for origin, kind, value in slice_inputs(per_generator):
        o = driver.check_input(kind, value, cfg)
        for f in o.finds:
            out.append((f, origin))
            if findings:
                driver.save_find(f, kind, value, origin, cfg, findings)
    return out
