"""The front door for Python: a co-op's workspace, its members acting, every table operation.

    import ccl

    coop = ccl.found("my-coop", founder="ana", bylaws=["coop.ccl"], demo=True)
    ana = coop.member("ana")
    bo = coop.new_member("bo", by=ana)                 # a key made here, admitted by ana
    ana.credit_issue(to="bo", amount=10_000)           # 100.00 CREDIT, in cents
    coop.read("credit balance", member="bo")           # {"member": "did:key:…", "balance": 10000, …}

Every operation of the table (ccl.operations) with a command is a method of `Member` named as
its command is (`ccl credit issue` → `credit_issue`), taking its inputs by name in the machine
form (minor units, minutes, members as identity names or DIDs) and returning a `Done` record;
refusals raise `ccl.CclError` with the diagnostic, and nothing changes. `Coop.read` answers any
read of the table. The command line and the node run operations through the same
`ccl.api.actions.invocation`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Optional

import attrs

from ccl import limits
from ccl.api import actions
from ccl.api.workspace import DIR, Workspace, find, init
from ccl.diag import CclError, Diagnostic, Span
from ccl.identity import Identity
from ccl.ledger import EngineState, Ledger, Refused
from ccl.operations import BY_ENTRY, BY_NAME, Op


@attrs.frozen
class Done:
    """What a write did: its result (JSON form), gas, the receipt's CID and, for a proposal
    opened, its id."""
    result: Any
    gas_used: int
    receipt: Optional[str]
    proposal: Optional[str] = None


def _refused(r: Refused) -> CclError:
    return CclError(Diagnostic("host", "H0600", f"refused ({r.rule}): {r.message}", Span(),
                               (r.hint,) if r.hint else ()))


def open(path: str | Path = ".") -> "Coop":          # noqa: A001  (ccl.open, like io.open)
    """The workspace at `path` (its folder, or any folder below it, its .ccl, its state.db, or a
    postgresql:// URL)."""
    p = str(path)
    ws = find(Path(p), None) if not p.startswith(("postgresql://", "postgres://")) else None
    if ws is None:
        ws = find(Path.cwd(), p)
    if ws is None:
        raise CclError(Diagnostic("usage", "U0701", f"no ccl workspace at {p}", Span(p),
                                  ("found one with ccl.found(path, founder=NAME)",)))
    return Coop(ws)


def found(path: str | Path, *, founder: str, bylaws: list = (), demo: bool = False,  # type: ignore[assignment]
          now: Optional[int] = None) -> "Coop":
    """Create a workspace in `path` and found the co-op: its key, `founder` (an identity name —
    a key is made here — or a did:key DID) as first member, `bylaws` (files) adopted."""
    from ccl.api.files import build_file

    modules = [build_file(str(b)) for b in bylaws]
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    ws = Workspace(folder / DIR) if (folder / DIR / "state.db").exists() else init(folder)
    found_in(ws, founder, modules, demo, now)
    return Coop(ws)


def found_in(ws: Workspace, founder: str, modules: list, demo: bool, now: Optional[int] = None) -> dict:
    """Found the workspace `ws` (see `found`); the genesis facts."""
    from ccl.runtime import session

    if founder.startswith("did:"):
        from ccl.identity import public_from_did

        try:
            public_from_did(founder)
        except ValueError:
            raise CclError(Diagnostic("usage", "U0702", f"`{founder}` is not a did:key DID", Span(),
                                      ("give a name for a key made here, or a did:key:z6Mk… DID",))) from None
        founder_did = founder
    else:
        founder_did = (ws.keys.load(founder) if founder in ws.keys.names() else ws.keys.create(founder)).did
    now = int(time.time()) if now is None else now
    coop = ws.coop_key()
    try:
        genesis = session.found(ws.store, coop=coop, founder=founder_did, bylaws=modules, now=now, demo=demo)
    except Refused as r:
        raise CclError(Diagnostic("usage", "U0700", f"cannot found: {r.message}", Span(),
                                  (r.hint,) if r.hint else ())) from None
    ws.set_demo(demo, now)
    return {"genesis": genesis, "coop": coop.did, "founder": founder_did, "bylaws": [m.cid for m in modules],
            "demo": demo}


def operation(name: str) -> Op:
    op = BY_ENTRY.get(name) or BY_NAME.get(name)
    if op is None or op.command is None:
        raise CclError(Diagnostic("usage", "U0700", f"no operation `{name}`", Span(),
                                  ("the operations are listed in docs/reference/operations.md",)))
    return op


class Coop:
    """A co-op's workspace: its store, its members' keys, its reads, verify and replay."""

    def __init__(self, workspace: Workspace):
        self.workspace = workspace

    @property
    def store(self):
        return self.workspace.store

    def close(self) -> None:
        self.workspace.store.close()

    def now(self) -> int:
        t = self.workspace.demo_now()
        return int(time.time()) if t is None else t

    def reader(self, fn: Callable) -> Any:
        """`fn(ledger, tx)` against the store at the workspace's time; nothing it does is kept."""
        try:
            with self.store.reader() as tx:
                return fn(Ledger(EngineState(tx), self.now()), tx)
        except Refused as r:
            raise _refused(r) from None

    def did(self, who: str) -> str:
        """A member's DID from an identity name of this workspace (DIDs pass through)."""
        if who.startswith(("did:", "sys:")):
            return who
        return self.workspace.keys.load(who).did

    def member(self, who: str) -> "Member":
        """`who` acting: an identity name whose key is in this workspace (it signs the receipts)."""
        caller, signer = self.workspace.identity(who)
        if signer is None:
            raise CclError(Diagnostic("usage", "U0703", f"no key for `{who}` in this workspace", Span(),
                                      ("make one: coop.new_identity(NAME)",)))
        return Member(self, caller, signer)

    def new_identity(self, name: str) -> str:
        return self.workspace.keys.create(name).did

    def new_member(self, name: str, *, by: "Member") -> "Member":
        """Make a key called `name` and have `by` admit it."""
        self.new_identity(name)
        by.member_add(member=name)
        return self.member(name)

    def read(self, name: str, /, **values) -> dict:
        """A read of the operations table (`"credit balance"` or `credit_balance`) with its inputs."""
        op = operation(name)
        c = op.command
        assert c is not None
        if c.query is None:
            raise CclError(Diagnostic("usage", "U0700", f"`{c.cli}` changes state: call it on a member",
                                      Span(), (f"coop.member(NAME).{c.entry}(...)",)))
        args = _inputs(self, op, values)
        query = actions.resolve(c.query)
        return self.reader(lambda L, tx: query(L, *[args[i.name] for i in c.inputs]))

    def run(self, source: str, entry: str = "run", args: list = (), *, who: Optional[str] = None,  # type: ignore[assignment]
            gas: int = limits.gas_default, at: Optional[int] = None) -> Done:
        """Compile `source` (text, or a path ending in .ccl) and run `entry` in the workspace."""
        from ccl.api.files import build_file
        from ccl.pipeline import build

        verified = build_file(source) if source.endswith(".ccl") else build(source, "contract.ccl")
        caller, signer = self.member(who).identity if who is not None else self.workspace.identity(None)
        return execute(self, actions.Invocation(verified, entry, list(args)), caller, signer, at, gas)

    def verify(self) -> dict:
        """Every block's CID, every receipt's signature and chain, and the live state's root."""
        from ccl import dag as D
        from ccl.store import snapshot

        with snapshot(self.store) as tx:          # one consistent view; writers go on meanwhile
            problems = D.verify_all(tx)
            receipts = len(tx.receipts())
        if problems:
            p = problems[0]
            raise CclError(Diagnostic("integrity", p.code, f"block {p.cid}: {p.why}", Span(p.cid)))
        return {"ok": True, "receipts": receipts}

    def replay(self) -> list:
        """Re-run every receipt from genesis in a fresh store; the steps (each with `ok`)."""
        from ccl.runtime.session import replay

        return replay(self.store, live=True)

    def history(self, limit: int = 20) -> list[dict]:
        """The newest receipts first: seq, cid, time, caller, function, gas, result."""
        from ccl import dag as D

        rows = []
        with self.store.reader() as tx:
            receipts = tx.receipts()
            for seq in range(len(receipts), max(len(receipts) - limit, 0), -1):
                block = D.get(tx, receipts[seq - 1])
                p = block["payload"]
                if block.get("kind") == "genesis":
                    rows.append({"seq": seq, "cid": receipts[seq - 1], "time": p["time"], "function": "genesis"})
                    continue
                rows.append({"seq": seq, "cid": receipts[seq - 1], "time": p["time"], "caller": p["caller"],
                             "function": p["function"], "gas_used": p["gas_used"], "result": p["result"]})
        return rows


class Member:
    """A member acting in a co-op: every command of the operations table is a method."""

    def __init__(self, coop: Coop, did: str, signer: Identity):
        self.coop, self.did, self.signer = coop, did, signer

    @property
    def identity(self) -> tuple[str, Identity]:
        return self.did, self.signer

    def do(self, name: str, /, *, at: Optional[int] = None, **values) -> Done:
        """Carry out the write `name` (`"credit issue"` or `credit_issue`) with its inputs."""
        op = operation(name)
        c = op.command
        assert c is not None
        if c.query is not None:
            return self.coop.read(name, **values)      # type: ignore[return-value]
        if c.prepare:
            values = actions.resolve(c.prepare)(self.coop.reader, self.signer,
                                                **_raw(self.coop, c.cli_inputs or (), values),
                                                at=at if at is not None else self.coop.workspace.demo_now())
        inv = actions.invocation(op, _inputs(self.coop, op, values), self.coop.reader)
        return execute(self.coop, inv, self.did, self.signer, at)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_") or name not in BY_ENTRY:
            raise AttributeError(name)
        return lambda **values: self.do(name, **values)


def _raw(coop: Coop, inputs: tuple, values: dict) -> dict:
    out = {i.name: (coop.did(values[i.name]) if i.unit == "member" and values.get(i.name) else
                    values.get(i.name, i.default)) for i in inputs}
    unknown = set(values) - set(out)
    if unknown:
        raise CclError(Diagnostic("usage", "U0702", f"no input `{sorted(unknown)[0]}`", Span()))
    return out


def _inputs(coop: Coop, op: Op, values: dict) -> dict:
    c = op.command
    assert c is not None
    out = _raw(coop, c.inputs, values)
    for i in c.inputs:
        if i.kind == "arg" and out[i.name] is None:
            raise CclError(Diagnostic("usage", "U0702", f"`{c.entry}` needs `{i.name}`", Span()))
        if isinstance(out[i.name], tuple):
            out[i.name] = list(out[i.name])
    return out


def execute(coop: Coop, inv: actions.Invocation, caller: str, signer: Optional[Identity], at: Optional[int],
            gas: int = limits.gas_default) -> Done:
    """Run one invocation in the co-op as `caller` (its receipt signed by `signer`): the one way
    the API and the command line carry out an operation. Raises CclError; nothing changes then."""
    from ccl.runtime import session

    ws = coop.workspace
    now = at if at is not None else ws.demo_now()
    outcome = session.run(inv.verified, inv.entry, inv.args, store=ws.store, caller=caller, signer=signer, now=now,
                          gas_limit=gas, action=inv.action, attachments=inv.attachments, log=lambda m: None,
                          private=inv.private)
    if outcome.error is not None:
        raise CclError(outcome.error)
    r = outcome.run
    if not r.ok:
        assert r.error is not None
        raise CclError(r.error)
    return Done(r.value, r.gas_used, outcome.receipt, outcome.opened)
