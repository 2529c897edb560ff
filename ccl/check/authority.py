"""The authority stage: who may call what, checked before anything runs.

Owns the static rules of guards, roles and proposal kinds:

- `open fn` and `fn … needs NAME` belong to contracts only;
- every role named (`extends`, `eligible:`, a capitalised `needs`, the meta field `founder:`) is
  declared somewhere in the program, or is the built-in `founder`;
- every permission named (roles' `can:`, kinds' `can:`) is known: a host function's permission
  (the part before `:`), `vote`, a `needs` name, or a string literal given to
  `require_permission`, `has_permission` or `guard`. A lowercase `needs NAME` that names no role
  declares the permission NAME;
- the kind `Amendment` (the rules for amending the bylaws) takes no parameters, `execution` or
  `can:`;
- a kind's `execution` reaches (through the program's own functions) only host functions and
  guarded functions whose permission or role its `can:` lists.

Runs after the body stage, because it reads what each call resolved to (`Program.ref`). Fills
`ContractInfo.kind_param_types`. Imports leaves, ccl.syntax, ccl.hosttable and ccl.check.program.
"""

from __future__ import annotations

from typing import Optional

import attrs

from ccl.check.program import FnInfo, Program, resolve_type
from ccl.diag import did_you_mean, error
from ccl.hosttable import HOST_PERMISSIONS, HOST_TABLE, TREASURY, execution_needs
from ccl.syntax import ast as A

BUILTIN_ROLES = ("founder",)
BUILTIN_PERMISSIONS = ("vote",)
AMENDMENT = "Amendment"
# host rows whose string-literal argument names a permission: row name → argument position
PERMISSION_ARGS = {"require_permission": 0, "has_permission": 1, "guard": 0}
# host rows that stop the run unless the caller holds the literal they are given
DEMANDS = ("require_permission", "guard")


def stage_authority(program: Program) -> None:
    for fn in program.functions:
        check_guard_placement(fn)
    roles = known_roles(program)
    for fn in program.functions:
        check_needs(fn, roles)
    permissions = known_permissions(program, roles)
    for contract in program.contracts.values():
        for role in contract.roles:
            check_role(role, roles, permissions)
        check_founder(contract, roles)
        check_private(contract)
        for kind in contract.proposals:
            check_kind(program, contract, kind, roles, permissions)


# ---------------------------------------------------------------- known names


def known_roles(program: Program) -> set[str]:
    return {r.name for c in program.contracts.values() for r in c.roles} | set(BUILTIN_ROLES)


def known_permissions(program: Program, roles: set[str]) -> set[str]:
    names = set(HOST_PERMISSIONS)
    names |= set(BUILTIN_PERMISSIONS)
    for fn in program.functions:
        if isinstance(fn.node, A.Fn) and fn.node.needs and fn.node.needs not in roles:
            names.add(fn.node.needs)
        for call in calls_in(fn):
            literal = permission_literal(program, call)
            if literal is not None:
                names.add(literal)
    return names


def permission_literal(program: Program, call: A.Call) -> Optional[str]:
    """The string literal a `require_permission`/`has_permission`/`guard` call names, or None."""
    ref = program.ref.get(id(call))
    if not ref or ref[0] != "host":
        return None
    position = PERMISSION_ARGS.get(HOST_TABLE[ref[1]].name)
    if position is None or position >= len(call.args):
        return None
    arg = call.args[position]
    return arg.value if isinstance(arg, A.StrLit) else None


def calls_in(fn: FnInfo) -> list[A.Call]:
    """Every call in a function's body, in source order (an explicit stack: no recursion)."""
    if not isinstance(fn.node, A.Fn):
        return []
    out: list[A.Call] = []
    stack: list[attrs.AttrsInstance] = [fn.node.body]
    while stack:
        node = stack.pop()
        if isinstance(node, A.Call):
            out.append(node)
        kids: list[attrs.AttrsInstance] = []
        for field in attrs.fields(type(node)):
            value = getattr(node, field.name)
            for item in value if isinstance(value, tuple) else (value,):
                if attrs.has(type(item)) and not isinstance(item, A.TypeName) and hasattr(item, "span") \
                        and type(item).__module__ == A.__name__:
                    kids.append(item)
        stack.extend(reversed(kids))
    return out


# ---------------------------------------------------------------- functions

def check_guard_placement(fn: FnInfo) -> None:
    node = fn.node
    if not isinstance(node, A.Fn) or fn.contract is not None:
        return
    if node.open:
        raise error("E0221", f"`open fn {node.name}` is outside a contract", node.span,
                    "only a contract's functions are entry points members call; move it into a "
                    "`contract`, or drop `open`")
    if node.needs:
        raise error("E0221", f"`{node.name}` needs `{node.needs}` but is outside a contract",
                    node.needs_span or node.span,
                    "guards apply to a contract's functions; move it into a `contract`, or check with "
                    "`require_permission(\"…\")` in the body")


def check_needs(fn: FnInfo, roles: set[str]) -> None:
    node = fn.node
    if not isinstance(node, A.Fn) or not node.needs:
        return
    name = node.needs
    if name not in roles and name[:1].isupper():
        raise error("E0222", f"`{node.name}` needs the role `{name}`, which no bylaw declares",
                    node.needs_span or node.span,
                    did_you_mean(name, roles) or "declare it with `role " + name + " { … }`, or name a "
                    "permission (lowercase)")


# ---------------------------------------------------------------- roles

def check_role(role: A.Role, roles: set[str], permissions: set[str]) -> None:
    if role.extends is not None and role.extends not in roles:
        raise error("E0222", f"role `{role.name}` extends `{role.extends}`, which no bylaw declares",
                    role.extends_span or role.span, did_you_mean(role.extends, roles - {role.name}))
    for i, name in enumerate(role.can):
        if name.split(":")[0] not in permissions:
            span = role.can_spans[i] if i < len(role.can_spans) else role.span
            raise error("E0223", f"role `{role.name}` can `{name}`, which is not a known permission", span,
                        did_you_mean(name, permissions) or _declare_permission_hint(name))


def _declare_permission_hint(name: str) -> str:
    return (f"a permission exists when a function `needs {name}` or a call such as "
            f"`require_permission(\"{name}\")` uses it")


def check_founder(contract, roles: set[str]) -> None:
    value = contract.meta.get("founder")
    if value is None:
        return
    name = value.name if isinstance(value, A.Name) else value.value if isinstance(value, A.StrLit) else None
    if name is None:
        raise error("E0222", "`founder:` names one role", value.span, "write `founder: RoleName;`")
    if name not in roles:
        raise error("E0222", f"`founder:` names the role `{name}`, which no bylaw declares", value.span,
                    did_you_mean(name, roles) or f"declare it with `role {name} {{ … }}`")
    contract.founder = name


def check_private(contract) -> None:
    """`private: "apply.purpose = request_loan.purpose";` — each part names a `fn` of this
    contract, one of its String parameters, and a private input of the operations table whose
    rules the parameter takes (ccl.runtime.session seals it): a typo would leave a text in plain."""
    from ccl import types as ty
    from ccl.operations import parse_private

    value = contract.meta.get("private")
    if value is None:
        return
    if not isinstance(value, A.StrLit):
        raise error("E0226", "`private:` is one string of declarations", value.span,
                    'write `private: "apply.purpose = request_loan.purpose";`')
    try:
        parts = parse_private(value.value)
    except ValueError as e:
        raise error("E0226", f"`private:` {e}", value.span) from None
    for fn, param, _ in parts:
        info = contract.functions.get(fn)
        if info is None or info.node is None or fn.startswith("proposal::") or fn not in {
                f.name for f in contract.node.items if isinstance(f, A.Fn)}:
            raise error("E0226", f"`private:` names `{fn}`, which is no function of contract {contract.name}",
                        value.span, did_you_mean(fn, {f.name for f in contract.node.items if isinstance(f, A.Fn)})
                        or "name a `fn` of this contract (a proposal kind's parameters cannot be private)")
        types = dict(info.params)
        if param not in types:
            raise error("E0226", f"`private:` names `{fn}.{param}`, but `{fn}` has no parameter `{param}`",
                        value.span, did_you_mean(param, set(types)) or f"its parameters: {', '.join(types)}")
        if types[param] != ty.STR:
            raise error("E0226", f"`private:` names `{fn}.{param}`, which is not a String", value.span,
                        "only a text parameter is sealed")


# ---------------------------------------------------------------- proposal kinds

def check_kind(program: Program, contract, kind: A.Proposal, roles: set[str], permissions: set[str]) -> None:
    if kind.name == AMENDMENT:
        check_amendment(kind)
    if kind.eligible is not None and kind.eligible not in roles:
        raise error("E0222", f"kind `{kind.name}` is open to `{kind.eligible}`, which no bylaw declares",
                    kind.eligible_span or kind.span, did_you_mean(kind.eligible, roles))
    can = kind.can or ()
    for i, name in enumerate(can):
        if name.split(":")[0] not in permissions and name not in roles:
            span = kind.can_spans[i] if i < len(kind.can_spans) else kind.span
            raise error("E0223", f"kind `{kind.name}` can `{name}`, which is not a known permission", span,
                        did_you_mean(name, permissions | roles) or _declare_permission_hint(name))
    contract.kind_param_types[kind.name] = [resolve_type(program, p.type) for p in kind.params]
    execution = contract.functions.get(f"proposal::{kind.name}")
    if execution is not None:
        check_execution_reach(program, kind, execution)


def check_amendment(kind: A.Proposal) -> None:
    why = "`Amendment` sets how the bylaws are amended; what it adopts is the amended bylaws themselves"
    if kind.params:
        raise error("E0225", "the `Amendment` kind takes no parameters", kind.params[0].span, why)
    if kind.execution is not None:
        raise error("E0225", "the `Amendment` kind has no `execution`", kind.execution.span, why)
    if kind.can is not None:
        raise error("E0225", "the `Amendment` kind has no `can:`", kind.can_spans[0] if kind.can_spans
                    else kind.span, why)


@attrs.frozen
class Demand:
    """A permission or role that a call needs of whoever runs it."""

    callee: str                     # the host row or function called
    needs: tuple[str, ...]          # any one of these names will do


def demands_of(program: Program, call: A.Call) -> tuple[list[Demand], Optional[FnInfo]]:
    """What one call needs of whoever runs it, and the user function it enters (or None)."""
    ref = program.ref.get(id(call))
    if not ref:
        return [], None
    if ref[0] == "host":
        row = HOST_TABLE[ref[1]]
        out: list[Demand] = []
        needs = execution_needs(row)
        if needs:
            out.append(Demand(row.name, tuple(sorted(needs))))
        if row.name in DEMANDS:
            literal = permission_literal(program, call)
            if literal is not None:
                out.append(Demand(row.name, (literal,)))
        return out, None
    if ref[0] == "fn":
        fn = program.functions[ref[1]]
        fn_needs = fn.node.needs if isinstance(fn.node, A.Fn) else None
        return ([Demand(fn.qualname, (fn_needs,))] if fn_needs else []), fn
    return [], None


def check_execution_reach(program: Program, kind: A.Proposal, execution: FnInfo) -> None:
    """Breadth-first over the functions the execution can call; each demand is traced back to the
    call in the execution block that leads to it."""
    # a scoped `mint:RIV` lets the execution reach `mint_tokens` here; the symbol is checked at run time
    allowed = set(kind.can or ()) | {n.split(":")[0] for n in kind.can or () if ":" in n}
    seen = {execution.index}
    # function, the execution's call leading there, the path
    queue: list[tuple[FnInfo, Optional[A.Call], tuple[str, ...]]] = [(execution, None, ())]
    while queue:
        fn, origin, path = queue.pop(0)
        for call in calls_in(fn):
            start = origin or call
            demands, callee = demands_of(program, call)
            for demand in demands:
                what, needs = demand.callee, demand.needs
                if not set(needs) & allowed:
                    via = " → ".join((*path, what))
                    need = needs[0] if len(needs) == 1 else " or ".join(f"`{n}`" for n in needs).strip("`")
                    why = (" (it acts with the co-op's own identity and accounts)"
                           if needs == (TREASURY,) else "")
                    raise error("E0224", f"the execution of `{kind.name}` can call `{via}`, which needs "
                                f"`{need}`{why}, and the kind does not declare it", start.span,
                                f"add `{needs[0]}` to the kind's `can:`" if kind.can is not None
                                else f"declare it: `can: [{needs[0]}];`")
            if callee is not None and callee.index not in seen:
                seen.add(callee.index)
                queue.append((callee, start, (*path, callee.qualname)))
