"""The one place that decides who may do what: host rows, guards and entry points.

Every effectful host row declares in the host table who may call it (`HostFn.who`), as
alternatives joined by ` or `:

- `anyone` — any member (membership is always required, see below)
- `caller is PARAM` — the caller is the argument PARAM (one's own funds, one's own request)
- `holds PERM` — the caller holds PERM through a role of the adopted bylaws; `{param}` in PERM
  is replaced by that argument (`holds mint:{symbol}`); holding `mint` covers `mint:RIV`
- `receiver of PARAM` / `proposer of PARAM` / `requester of PARAM` / `payee of PARAM` — the
  caller is the member the record PARAM names (the hours record's receiver, the proposal's
  proposer, the aid match's requester, the ledger entry's payee)
- `nobody` — a retired operation

Before any of that, the caller must be an active member — unless the adopted bylaws open the
operation to non-members (`open_operations: "request_aid, offer_resource";` in a contract's
metadata), or the caller is the co-op itself acting in a proposal's execution. In an execution
the principal is the co-op: `caller is P` holds when P is the co-op's DID, and `holds PERM` holds
exactly when the proposal kind's `can:` lists PERM (or its base before `:`), so a vote can do
what its kind declares and nothing more. Engines keep asserting their own invariants as a
second line. Imports leaves, ccl.hosttable and the engines.
"""

from __future__ import annotations

import re
from typing import Optional

import attrs

from ccl import aid as AID
from ccl import governance as G
from ccl.hosttable import HOST_TABLE, TREASURY, execution_needs
from ccl.ledger import Ledger, Refused
from ccl.ledger import engines as E

WHO = {row.name: row for row in HOST_TABLE if row.who}
_ATOM = re.compile(r"^(anyone|nobody|caller is (\w+)|holds ([\w:{}]+)|(receiver|proposer|requester|payee) of (\w+))$")


@attrs.define
class Principal:
    """Who a run acts as: the caller, or the co-op during a proposal's execution (`ccl test`'s
    `as_member` changes the caller mid-run, so this is not frozen)."""
    caller: str
    coop: Optional[str] = None              # the co-op's DID
    can: Optional[frozenset] = None         # in an execution: what its kind declares
    open_ops: frozenset = frozenset()       # operations the adopted bylaws open to non-members

    @property
    def executing(self) -> bool:
        return self.can is not None


def parse(who: str) -> list[re.Match]:
    atoms = []
    for part in who.split(" or "):
        atom = _ATOM.match(part.strip())
        if atom is None:
            raise ValueError(f"malformed authority `{who}`")
        atoms.append(atom)
    return atoms


# parsed once; a test asserts every effectful row parses and names only its own parameters
_PARSED = {name: parse(row.who) for name, row in WHO.items()}


def holds(L: Optional[Ledger], p: Principal, permission: str) -> bool:
    """Whether `p` holds `permission` (`mint` covers `mint:RIV`): in an execution, through the
    kind's `can:`; otherwise through the caller's roles."""
    if p.can is not None:
        return G.covers(p.can, permission)
    assert L is not None
    return G.has_permission(L, p.caller, permission)


def check_member(L: Ledger, p: Principal, operation: str) -> None:
    if p.executing and p.caller == p.coop:
        return
    if operation in p.open_ops:
        return
    if not G.is_member(L, p.caller):
        raise Refused("member", f"{p.caller} is not a member of this co-op, so cannot {operation}",
                      "a member with `manage_members` admits members: ccl member add NAME")


def authorize(L: Ledger, p: Principal, name: str, args: tuple) -> None:
    """Refuse (raise Refused) unless `p` may call host row `name` with `args`."""
    row = WHO.get(name)
    if row is None:
        return                                   # pure, context and read rows
    check_member(L, p, name)
    params = [n for n, _ in row.params]
    value = dict(zip(params, args))
    if p.executing:
        _authorize_execution(L, row, p, value)
        return
    _decide(L, p, name, _PARSED[name], value)


def authorize_read(L: Ledger, p: Principal, name: str, who: str, values: dict, outsiders: bool = False) -> None:
    """A read of the operations table over the node: members only (`anyone` is any member, as
    for writes) — unless the read is one non-members make too (`outsiders`: its `visible`
    filter keeps only their own records) — and then the read's own rule (`caller is member or
    holds manage_credit`)."""
    if outsiders and not G.is_member(L, p.caller):
        return
    check_member(L, p, f"read {name}")
    if who != "anyone":
        _decide(L, p, name, parse(who), values)


def may_read(L: Ledger, p: Principal, subject: str, readers: str) -> bool:
    """Whether `p` may read a private text (ccl.private) about `subject` that holders of the
    permission `readers` may read too."""
    return p.caller == subject or (bool(readers) and G.is_member(L, p.caller) and holds(L, p, readers))


def visible(L: Ledger, tx, p: Principal, op, answer: dict) -> dict:
    """A read's answer as `p` may see it: the read's own filter (its command's `visible`, e.g.
    other members' facts only for `manage_members`), then each private text `p` may read in
    place of its commitment."""
    from ccl import private as P

    c = op.command
    if c is not None and c.visible:
        module, _, fn = c.visible.partition(":")
        import importlib

        answer = getattr(importlib.import_module(module), fn)(L, p.caller, G.is_member(L, p.caller), answer)
    return P.reveal(answer, tx, lambda subject, readers: may_read(L, p, subject, readers))


def _decide(L: Ledger, p: Principal, name: str, atoms: list, value: dict) -> None:
    """The caller's way through one of `atoms` (the alternatives of a `who`), or Refused."""
    reasons = []
    for atom in atoms:
        text = atom.group(0)
        if text == "anyone":
            return
        if text == "nobody":
            raise Refused("retired", f"`{name}` is retired: permissions come only from the roles of the adopted "
                          "bylaws", "give the member a role whose `can:` lists it: ccl role grant MEMBER ROLE")
        if atom.group(2):
            if value[atom.group(2)] == p.caller:
                return
            reasons.append(f"the caller is not `{atom.group(2)}`")
        elif atom.group(3):
            perm = _permission(atom, value)
            if holds(L, p, perm):
                return
            reasons.append(f"{'this proposal kind does not declare' if p.executing else 'the caller lacks'} "
                           f"`{perm}`")
        else:
            owner = _owner(L, atom.group(4), value[atom.group(5)])
            if owner == p.caller:
                return
            reasons.append(f"only {owner} may" if owner else f"there is no such {atom.group(4)} record")
    hint = ("add it to the proposal kind's `can:`" if p.executing else
            "permissions come from roles of the adopted bylaws: `ccl role list` shows who holds what")
    raise Refused("permission", f"{p.caller} may not {name}: " + "; ".join(reasons), hint)


def _permission(atom: re.Match, value: dict) -> str:
    """The permission a `holds PERM` alternative names, its `{param}`s replaced by the arguments."""
    return re.sub(r"\{(\w+)\}", lambda m: str(value[m.group(1)]), atom.group(3))


def _authorize_execution(L: Ledger, row, p: Principal, value: dict) -> None:
    """In a proposal's execution the co-op acts, with exactly what the kind's `can:` lists: a
    `holds P` alternative needs P there; any other alternative (the co-op acting as itself, with
    its own accounts) needs `treasury` — and then only for the co-op itself: `caller is P` holds
    when P is the co-op's DID, so a vote never acts for a member. DAG records need nothing."""
    if row.effect == "dag":
        return
    for atom in _PARSED[row.name]:
        if atom.group(3):
            perm = _permission(atom, value)
            if holds(None, p, perm):
                return
        elif p.can is None or TREASURY not in p.can or atom.group(0) == "nobody":
            continue
        elif atom.group(0) == "anyone":
            return
        elif atom.group(2) and value[atom.group(2)] == p.coop:      # the co-op acting for itself only
            return
        elif atom.group(4) and _owner(L, atom.group(4), value[atom.group(5)]) == p.coop:
            return
    needs = sorted(execution_needs(row)) or ["(nothing: it is retired)"]
    raise Refused("permission", f"this proposal kind's `can:` does not let its execution call `{row.name}`, "
                  f"which needs {' or '.join(f'`{n}`' for n in needs)}",
                  "the kind must declare it: `can: [...]` (`treasury` lets the co-op act with its own accounts)")


def guard(L: Ledger, p: Principal, need: str) -> None:
    """A `needs NAME` function's prologue: the caller holds the role or permission NAME."""
    if p.can is not None:
        if need in p.can:
            return
        raise Refused("permission", f"this proposal kind does not declare `{need}`",
                      "add it to the proposal kind's `can:`")
    check_member(L, p, f"call a function that needs `{need}`")   # roles are members' alone
    if G.has_role(L, p.caller, need) or G.has_permission(L, p.caller, need):
        return
    raise Refused("permission", f"{p.caller} does not hold `{need}`",
                  "permissions come from roles of the adopted bylaws: `ccl role list` shows who holds what")


# `receiver of P` / `proposer of P` / `requester of P`: the member the record P names, asked of
# the engine that keeps the record
OWNERS = {"receiver": E.hours_receiver, "proposer": G.proposer, "requester": AID.requester, "payee": E.entry_payee}


def _owner(L: Ledger, kind: str, record) -> Optional[str]:
    return OWNERS[kind](L, record)
