"""Every bylaw template in contracts/ and every stdlib module checks."""

from pathlib import Path

import pytest

from ccl.api.files import Loader, read_source
from ccl.pipeline import compile_source

ROOT = Path(__file__).parent.parent


@pytest.mark.parametrize("path", sorted([*(ROOT / "contracts").glob("*.ccl"), *(ROOT / "stdlib").glob("*.ccl")]),
                         ids=lambda p: p.name)
def test_template_checks(path):
    compile_source(read_source(str(path)), str(path), Loader())
