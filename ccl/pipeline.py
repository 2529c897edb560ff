"""Source text → verified module, in memory (no files, no cache: see ccl.api.files for those).

The one place that strings the stages together, so the CLI, the tests and later the HTTP API
compile the same way. Imports the language stages only.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager

from ccl.check import check
from ccl.check.program import Loader
from ccl.compile.codegen import compile_program
from ccl.compile.module import Module
from ccl.compile.verify import Verified, verify
from ccl.diag import printable_name  # noqa: F401  (also used by the CLI)
from ccl.syntax.parse import parse

# The checker and codegen recurse over the AST, whose depth the parser bounds
# (limits.expression_depth_max); each level costs a few Python frames.
RECURSION_LIMIT = 12_000


@contextmanager
def deep_recursion():
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, RECURSION_LIMIT))
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


def compile_source(text: str, file: str = "<input>", load: Loader | None = None) -> Module:
    file = printable_name(file)
    with deep_recursion():
        program = check(parse(text, file), load)
        # The module records the file's name, not its path: the same source compiled in
        # another folder has the same content id.
        return compile_program(program, file.replace("\\", "/").rsplit("/", 1)[-1])


def build(text: str, file: str = "<input>", load: Loader | None = None) -> Verified:
    from ccl.semantics import FROM_SOURCE

    verified = verify(compile_source(text, file, load), file)
    FROM_SOURCE.add(verified.cid)          # a Python error running it is a bug in ccl (ccl.vm.run)
    return verified

