"""icn-core's corpus: every file its own grammar accepts must parse (LANGUAGE.md).

The corpus is another project's code and is not committed here. Point CCL_ICN_CORPUS at a
checkout of icn-core (or a folder of its .ccl files) to run this test.
"""

import os
from pathlib import Path

import pytest

from ccl.diag import CclError
from ccl.pipeline import deep_recursion
from ccl.syntax.parse import parse

CORPUS = os.environ.get("CCL_ICN_CORPUS")

# Files that use constructs outside icn-core's own grammar (docs/compatibility.md).
NOT_ACCEPTED = {
    "contracts/default_federation.ccl", "examples/ccl_templates/capacity_aware_mana.ccl",
    "examples/ccl_templates/mutual_credit_system.ccl", "examples/enhanced_governance.ccl",
    "examples/token_governance.ccl", "icn-ccl/ccl-lib/assembly_governance.ccl", "tests/grammar_test.ccl",
}


@pytest.mark.skipif(not CORPUS, reason="set CCL_ICN_CORPUS to a copy of icn-core's .ccl files")
def test_icn_core_corpus_parses():
    root = Path(CORPUS)
    files = sorted(root.rglob("*.ccl"))
    assert len(files) >= 90, f"expected icn-core's 95 .ccl files under {root}"
    failed = []
    for path in files:
        rel = path.relative_to(root).as_posix()
        try:
            with deep_recursion():
                parse(path.read_text(), rel)
            ok = True
        except CclError:
            ok = False
        if ok == (rel in NOT_ACCEPTED):
            failed.append((rel, ok))
    assert not failed, failed
