"""The checker: an ordered table of named stages over the AST (after OPA's compiler).

`check(module, load=…)` runs them in order and returns the typed, resolved Program that codegen
consumes; the first error stops the run with one located diagnostic.
"""

from __future__ import annotations

from ccl.check.authority import stage_authority
from ccl.check.body import stage_bodies
from ccl.check.program import Loader, Program, stage_collect, stage_consts, stage_types
from ccl.syntax.ast import Module

STAGES = (
    ("collect", "gather declarations and imports; reject duplicates and import cycles"),
    ("types", "resolve every written type"),
    ("consts", "evaluate constants at compile time"),
    ("bodies", "resolve names, type every expression, check definite assignment and returns"),
    ("authority", "guards in contracts only; known roles and permissions; what each kind's execution reaches"),
)


def check(module: Module, load: Loader | None = None) -> Program:
    from ccl.syntax.parse import parse

    program = stage_collect(module, load, parse)
    stage_types(program)
    stage_consts(program)
    stage_bodies(program)
    stage_authority(program)
    return program
