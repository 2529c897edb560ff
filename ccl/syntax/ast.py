"""The CCL abstract syntax tree: frozen attrs nodes, each with a span.

Imports only ccl.diag. Nodes are data; every pass over them (checker, compiler, printer) is a
set of functions elsewhere, dispatched on the node class.
"""

from __future__ import annotations

from typing import Optional, Union

import attrs

from ccl.diag import Span

# Every node class is `@attrs.frozen(kw_only=True)`, written out on each (mypy's attrs plugin
# sees the decorator only where it is spelled so). The unions `Expr`, `Stmt`, `Pattern`, `Item`
# and `ContractItem` at the end name what a field may hold.


# ---------------------------------------------------------------- types

@attrs.frozen(kw_only=True)
class TypeName:
    name: str
    args: tuple[TypeName, ...] = ()
    span: Span


# ---------------------------------------------------------------- expressions

@attrs.frozen(kw_only=True)
class IntLit:
    value: int
    span: Span


@attrs.frozen(kw_only=True)
class FloatLit:
    text: str
    span: Span


@attrs.frozen(kw_only=True)
class StrLit:
    value: str
    span: Span


@attrs.frozen(kw_only=True)
class BoolLit:
    value: bool
    span: Span


@attrs.frozen(kw_only=True)
class DidLit:
    value: str
    span: Span


@attrs.frozen(kw_only=True)
class Name:
    name: str
    span: Span


@attrs.frozen(kw_only=True)
class Path:
    parts: tuple[str, ...]
    span: Span


@attrs.frozen(kw_only=True)
class StateRef:
    name: str
    span: Span


@attrs.frozen(kw_only=True)
class ArrayLit:
    items: tuple[Expr, ...]
    span: Span


@attrs.frozen(kw_only=True)
class FieldInit:
    name: str
    value: Expr
    span: Span


@attrs.frozen(kw_only=True)
class StructLit:
    name: str
    fields: tuple[FieldInit, ...]
    span: Span


@attrs.frozen(kw_only=True)
class Binary:
    op: str
    left: Expr
    right: Expr
    span: Span


@attrs.frozen(kw_only=True)
class Unary:
    op: str
    operand: Expr
    span: Span


@attrs.frozen(kw_only=True)
class Call:
    callee: Expr            # Name, Path or GetField (a method call)
    args: tuple[Expr, ...]
    span: Span


@attrs.frozen(kw_only=True)
class GetField:
    obj: Expr
    name: str
    span: Span


@attrs.frozen(kw_only=True)
class Index:
    obj: Expr
    index: Expr
    span: Span


@attrs.frozen(kw_only=True)
class ArmReturn:
    value: Optional[Expr]
    span: Span


@attrs.frozen(kw_only=True)
class Arm:
    pattern: Pattern
    guard: Optional[Expr]
    body: Union[Expr, Block, ArmReturn]
    span: Span


@attrs.frozen(kw_only=True)
class Match:
    subject: Expr
    arms: tuple[Arm, ...]
    span: Span


@attrs.frozen(kw_only=True)
class TryCatch:
    expr: Expr
    handler: Optional[Expr]
    span: Span


# ---------------------------------------------------------------- patterns

@attrs.frozen(kw_only=True)
class NamePattern:          # `_`, a binding, or a unit variant such as `None`
    name: str
    span: Span


@attrs.frozen(kw_only=True)
class VariantPattern:       # Some(p), Err(p), Enum::Variant(p, q), Enum::Variant
    parts: tuple[str, ...]
    args: tuple[Pattern, ...]
    has_parens: bool
    span: Span


@attrs.frozen(kw_only=True)
class FieldPattern:
    name: str
    pattern: Pattern
    span: Span


@attrs.frozen(kw_only=True)
class StructPattern:
    name: str
    fields: tuple[FieldPattern, ...]
    span: Span


@attrs.frozen(kw_only=True)
class LitPattern:
    value: Union[int, str, bool]
    span: Span


# ---------------------------------------------------------------- statements

@attrs.frozen(kw_only=True)
class Block:
    stmts: tuple[Stmt, ...]
    tail: Optional[Expr]    # an expression without `;` ending the block
    span: Span


@attrs.frozen(kw_only=True)
class Let:
    name: str
    mutable: bool
    type: Optional[TypeName]
    value: Expr
    span: Span


@attrs.frozen(kw_only=True)
class Assign:
    target: Expr            # Name, StateRef, GetField or Index (the checker refuses others)
    op: str                 # "=", "+=", …
    value: Expr
    span: Span


@attrs.frozen(kw_only=True)
class If:
    cond: Expr
    then: Block
    orelse: Union[Block, If, None]
    span: Span


@attrs.frozen(kw_only=True)
class While:
    cond: Expr
    body: Block
    span: Span


@attrs.frozen(kw_only=True)
class For:
    var: str
    iterable: Expr
    body: Block
    span: Span


@attrs.frozen(kw_only=True)
class Return:
    value: Optional[Expr]
    span: Span


@attrs.frozen(kw_only=True)
class Break:
    span: Span


@attrs.frozen(kw_only=True)
class Continue:
    span: Span


@attrs.frozen(kw_only=True)
class Emit:
    name: str
    fields: tuple[FieldInit, ...]
    span: Span


@attrs.frozen(kw_only=True)
class Require:
    cond: Expr
    message: Optional[Expr]
    span: Span


@attrs.frozen(kw_only=True)
class ExprStmt:
    expr: Expr
    semicolon: bool
    span: Span


# ---------------------------------------------------------------- declarations

@attrs.frozen(kw_only=True)
class Import:
    path: str
    alias: Optional[str]
    span: Span


@attrs.frozen(kw_only=True)
class Const:
    name: str
    type: TypeName
    value: Expr
    span: Span


@attrs.frozen(kw_only=True)
class Field:
    name: str
    type: TypeName
    span: Span


@attrs.frozen(kw_only=True)
class Struct:
    name: str
    type_params: tuple[str, ...]
    fields: tuple[Field, ...]
    span: Span


@attrs.frozen(kw_only=True)
class Variant:
    name: str
    types: tuple[TypeName, ...]
    span: Span


@attrs.frozen(kw_only=True)
class Enum:
    name: str
    type_params: tuple[str, ...]
    variants: tuple[Variant, ...]
    span: Span


@attrs.frozen(kw_only=True)
class Param:
    name: str
    type: TypeName
    span: Span


@attrs.frozen(kw_only=True)
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


@attrs.frozen(kw_only=True)
class Meta:
    key: str
    value: Expr
    span: Span


@attrs.frozen(kw_only=True)
class State:
    name: str
    type: TypeName
    init: Optional[Expr]
    span: Span


@attrs.frozen(kw_only=True)
class Requirement:
    key: str
    value: Expr
    span: Span


@attrs.frozen(kw_only=True)
class Role:
    name: str
    extends: Optional[str]
    can: tuple[str, ...]
    requires: tuple[Requirement, ...]
    span: Span
    extends_span: Optional[Span] = None
    can_spans: tuple[Span, ...] = ()      # one per name in `can`


@attrs.frozen(kw_only=True)
class Threshold:
    kind: str               # majority | supermajority | consensus | unanimous
    numerator: int
    denominator: int
    span: Span


@attrs.frozen(kw_only=True)
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


@attrs.frozen(kw_only=True)
class Class:
    name: str
    fields: tuple[Meta, ...]
    span: Span


@attrs.frozen(kw_only=True)
class Rule:
    name: str
    cond: Expr
    action: str             # allow | deny | charge
    amount: Optional[Expr]
    span: Span


@attrs.frozen(kw_only=True)
class Init:
    body: Block
    span: Span


@attrs.frozen(kw_only=True)
class Contract:
    name: str
    meta: tuple[Meta, ...]
    items: tuple[ContractItem, ...]
    span: Span


@attrs.frozen(kw_only=True)
class Module:
    file: str
    items: tuple[Item, ...]
    span: Span
    size: int = 0               # bytes of source, for the whole-program limit


# ---------------------------------------------------------------- what a field may hold

Expr = Union[IntLit, FloatLit, StrLit, BoolLit, DidLit, Name, Path, StateRef, ArrayLit, StructLit,
             Binary, Unary, Call, GetField, Index, Match, TryCatch]
Pattern = Union[NamePattern, VariantPattern, StructPattern, LitPattern]
Stmt = Union[Let, Assign, If, While, For, Return, Break, Continue, Emit, Require, ExprStmt]
Item = Union[Import, Const, Struct, Enum, Fn, Contract, Class, Rule]
ContractItem = Union[Meta, Role, Proposal, State, Init, Fn, Struct, Enum, Const, Class, Rule]
