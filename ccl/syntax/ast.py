"""The CCL abstract syntax tree: frozen attrs nodes, each with a span.

Imports only ccl.diag. Nodes are data; every pass over them (checker, compiler, printer) is a
set of functions elsewhere, dispatched on the node class.
"""

from __future__ import annotations

from typing import Optional

import attrs

from ccl.diag import Span

node = attrs.frozen(kw_only=True)


# ---------------------------------------------------------------- types

@node
class TypeName:
    name: str
    args: tuple = ()
    span: Span


# ---------------------------------------------------------------- expressions

@node
class IntLit:
    value: int
    span: Span


@node
class FloatLit:
    text: str
    span: Span


@node
class StrLit:
    value: str
    span: Span


@node
class BoolLit:
    value: bool
    span: Span


@node
class DidLit:
    value: str
    span: Span


@node
class Name:
    name: str
    span: Span


@node
class Path:
    parts: tuple[str, ...]
    span: Span


@node
class StateRef:
    name: str
    span: Span


@node
class ArrayLit:
    items: tuple
    span: Span


@node
class FieldInit:
    name: str
    value: object
    span: Span


@node
class StructLit:
    name: str
    fields: tuple[FieldInit, ...]
    span: Span


@node
class Binary:
    op: str
    left: object
    right: object
    span: Span


@node
class Unary:
    op: str
    operand: object
    span: Span


@node
class Call:
    callee: object          # Name, Path or GetField (a method call)
    args: tuple
    span: Span


@node
class GetField:
    obj: object
    name: str
    span: Span


@node
class Index:
    obj: object
    index: object
    span: Span


@node
class ArmReturn:
    value: object
    span: Span


@node
class Arm:
    pattern: object
    guard: object
    body: object            # an expression, a Block or an ArmReturn
    span: Span


@node
class Match:
    subject: object
    arms: tuple[Arm, ...]
    span: Span


@node
class TryCatch:
    expr: object
    handler: object
    span: Span


# ---------------------------------------------------------------- patterns

@node
class NamePattern:          # `_`, a binding, or a unit variant such as `None`
    name: str
    span: Span


@node
class VariantPattern:       # Some(p), Err(p), Enum::Variant(p, q), Enum::Variant
    parts: tuple[str, ...]
    args: tuple
    has_parens: bool
    span: Span


@node
class FieldPattern:
    name: str
    pattern: object
    span: Span


@node
class StructPattern:
    name: str
    fields: tuple[FieldPattern, ...]
    span: Span


@node
class LitPattern:
    value: object           # int, str or bool
    span: Span


# ---------------------------------------------------------------- statements

@node
class Block:
    stmts: tuple
    tail: object            # an expression without `;` ending the block, or None
    span: Span


@node
class Let:
    name: str
    mutable: bool
    type: Optional[TypeName]
    value: object
    span: Span


@node
class Assign:
    target: object          # Name, StateRef, GetField or Index
    op: str                 # "=", "+=", …
    value: object
    span: Span


@node
class If:
    cond: object
    then: Block
    orelse: object          # Block, If or None
    span: Span


@node
class While:
    cond: object
    body: Block
    span: Span


@node
class For:
    var: str
    iterable: object
    body: Block
    span: Span


@node
class Return:
    value: object
    span: Span


@node
class Break:
    span: Span


@node
class Continue:
    span: Span


@node
class Emit:
    name: str
    fields: tuple[FieldInit, ...]
    span: Span


@node
class Require:
    cond: object
    message: object
    span: Span


@node
class ExprStmt:
    expr: object
    semicolon: bool
    span: Span


# ---------------------------------------------------------------- declarations

@node
class Import:
    path: str
    alias: Optional[str]
    span: Span


@node
class Const:
    name: str
    type: TypeName
    value: object
    span: Span


@node
class Field:
    name: str
    type: TypeName
    span: Span


@node
class Struct:
    name: str
    type_params: tuple[str, ...]
    fields: tuple[Field, ...]
    span: Span


@node
class Variant:
    name: str
    types: tuple[TypeName, ...]
    span: Span


@node
class Enum:
    name: str
    type_params: tuple[str, ...]
    variants: tuple[Variant, ...]
    span: Span


@node
class Param:
    name: str
    type: TypeName
    span: Span


@node
class Fn:
    name: str
    type_params: tuple[str, ...]
    params: tuple[Param, ...]
    ret: Optional[TypeName]
    body: Block
    span: Span
    open: bool = False              # `open fn`: callable by non-members (contracts only)
    needs: Optional[str] = None     # `needs NAME`: the permission or role a caller must hold
    needs_span: Optional[Span] = None


@node
class Meta:
    key: str
    value: object
    span: Span


@node
class State:
    name: str
    type: TypeName
    init: object
    span: Span


@node
class Requirement:
    key: str
    value: object
    span: Span


@node
class Role:
    name: str
    extends: Optional[str]
    can: tuple[str, ...]
    requires: tuple[Requirement, ...]
    span: Span
    extends_span: Optional[Span] = None
    can_spans: tuple[Span, ...] = ()      # one per name in `can`


@node
class Threshold:
    kind: str               # majority | supermajority | consensus | unanimous
    numerator: int
    denominator: int
    span: Span


@node
class Proposal:
    name: str
    params: tuple[Param, ...]
    description: Optional[str]
    eligible: Optional[str]
    duration_s: Optional[int]
    quorum_pct: Optional[int]
    threshold: Optional[Threshold]
    execution: Optional[Block]
    span: Span
    can: Optional[tuple[str, ...]] = None  # `can: [...]`: what the execution may do (None: not given)
    can_spans: tuple[Span, ...] = ()
    eligible_span: Optional[Span] = None
    close_early: bool = False            # `close_early: true;`: voting ends once every eligible member voted


@node
class Class:
    name: str
    fields: tuple[Meta, ...]
    span: Span


@node
class Rule:
    name: str
    cond: object
    action: str             # allow | deny | charge
    amount: object
    span: Span


@node
class Init:
    body: Block
    span: Span


@node
class Contract:
    name: str
    meta: tuple[Meta, ...]
    items: tuple
    span: Span


@node
class Module:
    file: str
    items: tuple
    span: Span
    size: int = 0               # bytes of source, for the whole-program limit
