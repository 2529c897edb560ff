"""Golden files: input and expected output side by side (tests/golden/<stage>/).

- parse/NAME.ccl → NAME.ast   the AST dump
- disasm/NAME.ccl → NAME.dis  the disassembly (content id included)
- run/NAME.ccl → NAME.out     `result` and `gas` of `run` (or the error), same on both VM paths
- errors/NAME.ccl             chunked cases separated by `---`; each case marks the line its
                              diagnostic must point to with `### CODE` (and optionally a
                              "regex" the message must match), after starlark-go's tests.

`pytest --update-goldens` rewrites expected files (refused in CI).
"""

import json
import re
from pathlib import Path

import pytest

from ccl.compile.disasm import disassemble
from ccl.diag import CclError
from ccl.pipeline import build, deep_recursion
from ccl.syntax.dump import dump
from ccl.syntax.parse import parse
from helpers import run_both

GOLDEN = Path(__file__).parent / "golden"


def cases(stage):
    return sorted(p for p in (GOLDEN / stage).glob("*.ccl"))


def check_golden(path: Path, actual: str, update: bool):
    if update:
        path.write_text(actual)
        return
    assert path.exists(), f"missing golden {path.name}: run pytest --update-goldens and review it"
    assert actual == path.read_text(), f"{path.name} differs"


@pytest.mark.parametrize("src", cases("parse"), ids=lambda p: p.stem)
def test_parse_golden(src, update_goldens):
    with deep_recursion():
        tree = parse(src.read_text(), src.name)
    check_golden(src.with_suffix(".ast"), dump(tree), update_goldens)


@pytest.mark.parametrize("src", cases("disasm"), ids=lambda p: p.stem)
def test_disasm_golden(src, update_goldens):
    check_golden(src.with_suffix(".dis"), disassemble(build(src.read_text(), src.name)), update_goldens)


@pytest.mark.parametrize("src", cases("run"), ids=lambda p: p.stem)
def test_run_golden(src, update_goldens):
    r = run_both(src.read_text())
    if r.ok:
        text = f"result: {json.dumps(r.value, ensure_ascii=False)}\ngas: {r.gas_used}\n"
        for e in r.events:
            text += f"event: {e.name} {json.dumps(e.fields, ensure_ascii=False, default=str)}\n"
    else:
        e = r.error
        text = f"error: {e.code} {e.kind} at {e.span.line}:{e.span.col}: {e.message}\ngas: {r.gas_used}\n"
    check_golden(src.with_suffix(".out"), text, update_goldens)


def _chunks(path: Path):
    text = path.read_text()
    line = 1
    for chunk in re.split(r"^---\n", text, flags=re.M):
        yield line, chunk
        line += chunk.count("\n") + 1


def error_cases():
    for path in cases("errors"):
        for start, chunk in _chunks(path):
            yield pytest.param(path, start, chunk, id=f"{path.stem}:{start}")


@pytest.mark.parametrize("path, start, chunk", list(error_cases()))
def test_error_golden(path, start, chunk):
    marks = [(i + 1, m) for i, l in enumerate(chunk.splitlines())
             if (m := re.search(r'### (\w+)(?: "(.*)")?', l))]
    assert len(marks) == 1, f"{path.name}:{start}: each case needs exactly one ### marker"
    line, m = marks[0]
    with pytest.raises(CclError) as e:
        build(chunk, path.name)
    d = e.value.diagnostic
    where = f"{path.name}:{start + line - 1}"
    assert d.code == m.group(1), f"{where}: expected {m.group(1)}, got {d.code}: {d.message}"
    assert d.span.line == line, f"{where}: diagnostic points to line {start + d.span.line - 1}: {d.message}"
    if m.group(2):
        assert re.search(m.group(2), d.message), f"{where}: message {d.message!r}"
