"""From an operation and its inputs to the run that carries it out — for every edge alike.

A command of the operations table (ccl.operations) that changes state is one run: a call of its
function in the shipped bylaw `std/operations.ccl`, or — for the governance actions — a run whose
governance step opens or executes a proposal. `invocation(op, values, read)` says which run, so
the CLI, the node and the Python API run the same thing; each edge then runs it as its member
(the CLI signs the receipt with the member's key, the node with its own and records the
member's signed request). `read(fn)` runs `fn(ledger, tx)` against the store without keeping
anything.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Callable, Optional

import attrs

from ccl import governance as G
from ccl.compile.verify import Verified
from ccl.diag import Span, error
from ccl.ledger import Refused
from ccl.operations import Op

Read = Callable[[Callable], Any]
_MODULES: dict[str, Verified] = {}


@attrs.frozen
class Invocation:
    """One run: call `entry` of `verified` with `args`; `action` is the governance step."""
    verified: Verified
    entry: str
    args: list
    action: Optional[dict] = None
    attachments: Optional[dict] = None
    label: str = ""
    private: Optional[dict] = None          # commitment → (subject, readers, salt, text) (ccl.private)


def shipped(name: str) -> Verified:
    """A shipped bylaw (`std/NAME.ccl`), compiled once per process (and cached on disk)."""
    if name not in _MODULES:
        from ccl.api.files import build_file, stdlib_dir

        _MODULES[name] = build_file(str(stdlib_dir() / f"{name}.ccl"))
    return _MODULES[name]


def operations_module() -> Verified:
    return shipped("operations")


def resolve(ref: str) -> Callable:
    module, name = ref.split(":")
    return getattr(importlib.import_module(module), name)


def check_inputs(op: Op, values: dict) -> None:
    """Refuses (L0509) an input longer than its limit (ccl.operations.Input.limit) — for the
    command line, the node and the Python API alike, before anything runs or is stored."""
    c = op.command
    assert c is not None
    for i in c.inputs:
        why = i.too_long(values.get(i.name))
        if why is not None:
            raise error("L0509", why, Span(),
                        f"shorten `{i.name}` to at most {i.limit} characters")


def invocation(op: Op, values: dict, read: Read) -> Invocation:
    c = op.command
    assert c is not None and (op.sig is not None or c.action is not None), op.name
    check_inputs(op, values)
    if c.action is not None:
        return resolve(c.action)(read, **values)
    values, private = seal(op, values, read)
    return Invocation(operations_module(), c.entry, [values[i.name] for i in c.inputs], label=f"ccl {c.cli}",
                      private=private or None)


def seal(op: Op, values: dict, read: Read) -> tuple[dict, dict]:
    """The inputs with each private one (ccl.private) replaced by its commitment, and the texts
    to keep beside the history: commitment → (subject, readers, salt, text)."""
    from ccl import private as P

    c = op.command
    assert c is not None
    out, private = dict(values), {}
    for i in c.inputs:
        value = values.get(i.name)
        if not i.private or not isinstance(value, str):
            continue
        if i.plain and read(lambda L, tx: resolve(i.plain)(L, value, values)):
            continue
        commitment, (readers, salt, text) = P.seal(value, i.private)
        private[commitment] = (values[i.subject] if i.subject else None, readers, salt, text)
        out[i.name] = commitment
    return out, private


def _noop(action: dict, label: str, attachments: Optional[dict] = None) -> Invocation:
    return Invocation(operations_module(), "noop", [], action, attachments, label)


# ---------------------------------------------------------------- the governance actions

def open_proposal(read: Read, kind: str, args=(), method: str = "binary", options=None, delay_s: int = 0,
                  timelock_s: int = 0, allow_changes: bool = False) -> Invocation:
    if kind.endswith(".ccl"):
        raise error("U0700", "proposals are opened from the adopted bylaws, not from a file", Span(kind),
                    "drop the file: `ccl proposal open KIND --args …` (`ccl bylaws show` lists the kinds)")
    action = {"op": "open_proposal", "kind": kind, "args": list(args or []), "method": method,
              "options": list(options) if options is not None else None, "delay_s": delay_s,
              "timelock_s": timelock_s, "allow_changes": allow_changes}
    return _noop(action, kind)


def execute_proposal(read: Read, proposal: str) -> Invocation:
    from ccl.runtime.session import load_module

    def load(L, tx):
        p = G.proposal(L, proposal)
        if p["execution"] is None:
            raise Refused("execution", f"`{proposal}` has nothing to execute")
        if p["execution"] == "builtin:amendment":
            return p, None
        return p, load_module(tx, p["module"])
    p, verified = read(load)
    action = {"op": "execute", "proposal": proposal}
    if verified is None:
        return _noop(action, proposal)
    return Invocation(verified, p["execution"], p["args"], action, label=proposal)


def _amendment(op: str, module_cid: str, attachments: list, tests: list, label: str) -> Invocation:
    action = {"op": "open_proposal", "kind": "Amendment", "args": [op, module_cid], "method": "binary",
              "options": None, "delay_s": 0, "timelock_s": 0, "allow_changes": False,
              "tests": [t.cid for t in tests]}
    return _noop(action, label, {v.cid: v for v in [*attachments, *tests]})


def tests_for(path: str, tests=()) -> list[str]:
    """The test files pinned with an amendment: those named, else tests/STEM_test.ccl beside it."""
    if tests:
        return list(tests)
    p = Path(path)
    found = p.parent / "tests" / f"{p.stem}_test.ccl"
    return [str(found)] if found.exists() else []


def adopt(read: Read, file: str, tests=()) -> Invocation:
    from ccl.api.files import build_file
    from ccl.runtime.session import contracts_of

    verified = build_file(file)
    test_modules = [build_file(t) for t in tests_for(file, tests)]
    current = read(lambda L, tx: G.adopted(L))
    op = "replace" if any(c in current for c in contracts_of(verified)) else "adopt"
    return _amendment(op, verified.cid, [verified], test_modules, "Amendment")


def retire(read: Read, contract: str) -> Invocation:
    def find(L, tx):
        adopted = G.adopted(L)
        if contract not in adopted:
            raise Refused("adopted", f"the constitution has no contract `{contract}`")
        return adopted[contract]
    return _amendment("retire", read(find), [], [], "Amendment")


def sign_vote(read: Optional[Read], signer, proposal: str, choice: str, reason: str = "",
              at: Optional[int] = None) -> dict:
    """`ccl proposal vote`: the member's ballot, signed with their key before the run. Without a
    store to read (`read` None: through a node, which does not show ballots) it is the member's
    first ballot on the proposal; the node refuses a changed one (its seq)."""
    import json
    import time

    if signer is None:
        raise error("U0703", "a ballot must be signed: name your identity with --as", Span())
    value: Any = choice
    if choice.startswith(("[", "{")):
        try:
            value = json.loads(choice)
        except json.JSONDecodeError:
            pass
    previous = None if read is None else read(lambda L, tx: G.proposal(L, proposal)["ballots"].get(signer.did))
    seq = 0 if previous is None else previous["seq"] + 1
    signed_at = at if at is not None else int(time.time())
    return {"proposal": proposal,
            "ballot": G.sign_ballot(G.ballot_payload(proposal, signer.did, value, reason, seq, signed_at), signer)}


def diff_view(L, file: str) -> dict:
    """`ccl bylaws diff FILE`: what adopting FILE would change."""
    from ccl.api.files import build_file
    from ccl.runtime import amend
    from ccl.runtime.session import contracts_of, load_module

    verified = build_file(file)
    adopted = G.adopted(L)
    olds = sorted({adopted[c] for c in contracts_of(verified) if c in adopted})
    old = load_module(L.s.tx, olds[0]) if len(olds) == 1 else None
    return {"replaces": old.cid if old else None, "module": verified.cid, "diff": amend.diff(old, verified)}
