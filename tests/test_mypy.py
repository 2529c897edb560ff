"""mypy (not strict, configured in pyproject.toml's [tool.mypy]) runs clean over ccl/."""

import re
from pathlib import Path

from mypy import api

from ccl.compile import opcodes as O

ROOT = Path(__file__).parent.parent

EXCLUDED: tuple[str, ...] = ()          # every file of ccl/ counts

_ERROR = re.compile(r"^(?P<path>[^:\n]+):\d+(?::\d+)?: error: ", re.M)
_SUMMARY = re.compile(r"^(?:Success: no issues found in (?P<clean>\d+) source files?|Found \d+ errors? in \d+ "
                      r"files? \(checked (?P<checked>\d+) source files?\))$", re.M)


def test_mypy_is_clean_over_ccl(request, monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)                     # [tool.mypy] files = ["ccl"], relative to here
    # warm after the first run (mypy keys it by content); without pytest's cache, a fresh folder
    cache = request.config.cache.mkdir("mypy") if getattr(request.config, "cache", None) else tmp_path
    stdout, stderr, status = api.run(["--config-file", str(ROOT / "pyproject.toml"), "--cache-dir", str(cache)])
    assert status in (0, 1), f"mypy did not run (exit {status}):\n{stderr}{stdout}"
    summary = _SUMMARY.search(stdout)
    assert summary is not None, f"no mypy summary in its output:\n{stdout}"
    assert int(summary["clean"] or summary["checked"]) > 40         # it read the package, not an empty list
    errors = [m.group(0) + stdout[m.end():].split("\n", 1)[0] for m in _ERROR.finditer(stdout)
              if not m["path"].replace("\\", "/").startswith(EXCLUDED)]
    assert errors == [], f"{len(errors)} mypy error(s):\n" + "\n".join(errors)


def test_opcode_constants_are_declared():
    """opcodes.py sets O.ADD, … from its table and declares them for mypy: the two lists agree."""
    declared = {name for name, kind in O.__annotations__.items() if kind == "int" and name.isupper()}
    assert declared == {op.name for op in O.OPS}
    assert all(getattr(O, op.name) == op.code for op in O.OPS)
