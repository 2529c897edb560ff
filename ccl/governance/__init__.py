"""The governance engine: members, roles, proposals, ballots, voting methods, delegation.

Bylaws declare roles and kinds of proposal (LANGUAGE.md §2); this engine keeps who is a member,
who holds which role, which proposals are open, the signed ballots cast on them, and decides —
exactly, in integers — whether a proposal passed. Everything is key-value rows of the run's
transaction (namespaces `gov.*`), so a governed history replays like any other.

Lifecycle: pending (before the voting delay) → active → defeated | succeeded → executed, plus
cancelled (by the proposer, before any ballot) and expired (succeeded but not executed within the
execution window). Pass rules: quorum — eligible members taking part (directly or through a
delegate) × 100 ≥ quorum% × eligible members; majority — yes strictly above half of yes + no;
supermajority(n/d) — yes × d > (yes + no) × n; consensus — no `block` and at least one yes
(abstain is a stand-aside); unanimous — every eligible member says yes. Proposals with options are
decided by ranked choice (instant runoff), approval, quadratic or score voting.

Owns the store namespaces `gov.*` (NAMESPACES): other modules reach them through the functions
here. Imports leaves, ccl.identity and ccl.ledger (for EngineState and Refused).
"""

from __future__ import annotations

import base64
from typing import AbstractSet, Any, Optional

from ccl import canon, identity
from ccl.ledger import Ledger, Refused
from ccl.private import is_commitment

NAMESPACES = ("gov",)                  # the store namespaces this engine owns

CHOICES = ("yes", "no", "abstain", "block")
METHODS = ("binary", "ranked", "approval", "quadratic", "score")
EXECUTION_WINDOW_S = 14 * 86_400
MAX_WAIT_S = 366 * 86_400              # the longest delay before voting opens, or timelock after
QUADRATIC_CREDITS = 100
SCORE_MAX = 5


# ---------------------------------------------------------------- the co-op and its constitution

FOUNDER_ROLE: dict[str, object] = {"contract": "", "module": None, "can": ["manage_members", "manage_roles"],
                                   "extends": None, "requires": {}}
AMENDMENT = "::Amendment"
AMENDMENT_DEFAULTS = {"name": "Amendment", "description": "Adopt, replace or retire bylaws", "eligible": None,
                      "duration_s": 7 * 86_400, "quorum_pct": 50, "threshold": ["supermajority", 2, 3],
                      "params": [["op", "String"], ["module", "String"]], "param_types": ["String", "String"],
                      "can": [], "execution": "builtin:amendment", "contract": "", "module": None}


def coop(L: Ledger) -> Optional[dict]:
    """The genesis facts (co-op DID, founder, demo, time), or None in an unfounded workspace."""
    return L.s.get("gov.coop", "genesis")


def found(L: Ledger, coop_did: str, founder: str, bylaws: list[tuple[str, list]], demo: bool,
          history: int = 0) -> None:
    """Founding: the co-op's identity, the founder as first member, the founding bylaws adopted.
    `bylaws`: (module CID, the module's contracts metadata) for each module."""
    if coop(L) is not None:
        raise Refused("founded", "this workspace is already founded")
    if not founder.startswith("did:"):
        raise Refused("member_did", f"`{founder}` is not a DID")
    L.s.put("gov.coop", "genesis", {"coop": coop_did, "founder": founder, "demo": demo, "time": L.now,
                                    "history": history})
    L.s.put("gov.kinds", AMENDMENT, AMENDMENT_DEFAULTS)
    L.s.put("gov.members", founder, {"did": founder, "joined": L.now, "active": True, "attributes": {}})
    named = []
    for cid, contracts in bylaws:
        if not contracts:
            raise Refused("bylaws", f"module {cid} declares no contract, so it cannot be bylaws")
        adopt_module(L, cid, contracts, "genesis")
        named += [m.get("meta", {}).get("founder") for _, m in contracts if m.get("meta", {}).get("founder")]
    if not named:
        L.s.put("gov.role_defs", "founder", FOUNDER_ROLE)
        named = ["founder"]
    L.s.put("gov.roles", founder, sorted(set(named)))


def adopted(L: Ledger) -> dict[str, str]:
    """contract name → CID of the adopted module that declares it."""
    return {name: cid for name, cid in L.s.scan("gov.contracts")}


def pin_contract(L: Ledger, contract: str, cid: str) -> None:
    """Let module `cid` stand for `contract` (the amendment dry-run's copy of the store, where
    the pinned test module stands in for the version proposed)."""
    L.s.put("gov.contracts", contract, cid)


def constitution(L: Ledger) -> list[dict]:
    return sorted((m for _, m in L.s.scan("gov.constitution")), key=lambda m: m["seq"])


def adopted_module(L: Ledger, cid: str) -> Optional[dict]:
    """The constitution's entry for module `cid` (contracts, open operations, how it came), or None."""
    return L.s.get("gov.constitution", cid)


def history(L: Ledger) -> list[dict]:
    """Every change to the constitution, oldest first."""
    return [h for _, h in L.s.scan("gov.history")]


def kinds(L: Ledger) -> dict[str, dict]:
    """Proposal kinds of the constitution: `Contract::Kind` (and `::Amendment`) → its rules."""
    return dict(L.s.scan("gov.kinds"))


def role_defs(L: Ledger) -> dict[str, dict]:
    """Roles of the constitution: name → {contract, module, can, extends, requires}."""
    return dict(L.s.scan("gov.role_defs"))


def adopt_module(L: Ledger, cid: str, contracts: list, via: str, replaces: Optional[str] = None) -> None:
    """Add a module to the constitution (or put it in place of `replaces`): its contracts, roles
    and proposal kinds. Names already declared by another adopted module are refused."""
    if adopted_module(L, cid) is not None and replaces != cid:
        raise Refused("adopted", f"module {cid} is already adopted")
    if replaces is not None:
        retire_module(L, replaces, via, keep={r["name"] for _, m in contracts for r in m.get("roles", [])})
    names = adopted(L)
    roles = {r: d for r, d in role_defs(L).items() if d.get("module")}
    declared = {k for k, d in kinds(L).items() if d.get("module")}
    for contract, meta in contracts:
        if contract in names:
            raise Refused("contract_unique", f"contract `{contract}` is already declared by adopted module "
                          f"{names[contract]}", "replace that module by amendment instead")
        for role in meta.get("roles", []):
            if role["name"] in roles or role["name"] == "founder":
                raise Refused("role_unique", f"role `{role['name']}` is already declared by the adopted bylaws")
            roles[role["name"]] = role
        for kind in meta.get("proposals", []):
            key = AMENDMENT if kind["name"] == "Amendment" else f"{contract}::{kind['name']}"
            if key in declared:
                raise Refused("kind_unique", f"proposal kind `{kind['name']}` is already declared by the adopted bylaws")
            declared.add(key)
    seq = L.s.next_seq("constitution")
    for contract, meta in contracts:
        L.s.put("gov.contracts", contract, cid)
        for role in meta.get("roles", []):
            L.s.put("gov.role_defs", role["name"], {"contract": contract, "module": cid, "can": role["can"],
                                                    "extends": role.get("extends"),
                                                    "requires": role.get("requires", {})})
        for kind in meta.get("proposals", []):
            if kind["name"] == "Amendment":
                L.s.put("gov.kinds", AMENDMENT, {**AMENDMENT_DEFAULTS, **{k: kind[k] for k in (
                    "description", "eligible", "duration_s", "quorum_pct", "threshold", "close_early") if kind.get(k)},
                    "module": cid})
            else:
                L.s.put("gov.kinds", f"{contract}::{kind['name']}", {**kind, "contract": contract, "module": cid})
    L.s.put("gov.constitution", cid, {"cid": cid, "seq": seq, "contracts": [c for c, _ in contracts],
                                      "open_operations": sorted({o.strip() for _, m in contracts for o in str(
                                          m.get("meta", {}).get("open_operations", "")).split(",") if o.strip()}),
                                      "adopted": L.now, "via": via, "replaces": replaces})
    L.s.put("gov.history", f"{seq:08d}", {"op": "replace" if replaces else "adopt", "cid": cid, "old": replaces,
                                          "time": L.now, "via": via, "contracts": [c for c, _ in contracts]})


def retire_module(L: Ledger, cid: str, via: str, keep: AbstractSet[str] = frozenset()) -> None:
    """Take a module out of the constitution: its contracts, roles and kinds go; members lose the
    roles it declared, except those a replacement declares again (`keep`); proposals already open
    finish under the version they were opened with."""
    entry = L.s.require("gov.constitution", cid, "adopted", f"module {cid} is not adopted")
    for contract in entry["contracts"]:
        L.s.put("gov.contracts", contract, None)
    gone = {r for r, d in role_defs(L).items() if d.get("module") == cid}
    for r in sorted(gone):
        L.s.put("gov.role_defs", r, None)
    for k, d in kinds(L).items():
        if d.get("module") == cid:
            L.s.put("gov.kinds", k, AMENDMENT_DEFAULTS if k == AMENDMENT else None)
    lost = gone - set(keep)
    for did, held in L.s.scan("gov.roles"):
        if any(r in lost for r in held):
            L.s.put("gov.roles", did, [r for r in held if r not in lost])
    L.s.put("gov.constitution", cid, None)
    seq = L.s.next_seq("constitution")
    L.s.put("gov.history", f"{seq:08d}", {"op": "retire", "cid": cid, "old": None, "time": L.now, "via": via,
                                          "contracts": entry["contracts"]})


def open_operations(L: Ledger) -> frozenset:
    return frozenset(o for m in constitution(L) for o in m.get("open_operations", []))


# ---------------------------------------------------------------- members and roles

def members(L: Ledger) -> list[tuple[str, dict]]:
    return L.s.scan("gov.members")


def member_record(L: Ledger, did: str) -> Optional[dict]:
    """A member's row — {did, joined, active, attributes, left?} — also of one who left; or None."""
    return L.s.get("gov.members", did)


def is_member(L: Ledger, did: str) -> bool:
    m = member_record(L, did)
    return m is not None and m.get("active", True)


def active_member(L: Ledger, did: str) -> dict:
    """An active member's row, or refused."""
    m = member_record(L, did)
    if m is None or not m.get("active", True):
        raise Refused("member_exists", f"{did} is not a member")
    return m


def attributes(L: Ledger, did: str) -> dict:
    """What the co-op records about a member (`ccl member set`); empty for a non-member."""
    return (member_record(L, did) or {}).get("attributes", {})


def add_member(L: Ledger, actor: str, did: str, attributes: Optional[dict] = None) -> bool:
    """Admit a member (who may do it is the host table's `add_member` row)."""
    if not isinstance(did, str) or not did.startswith("did:"):
        raise Refused("member_did", f"`{did}` is not a DID")
    if is_member(L, did):
        raise Refused("member_unique", f"{did} is already a member")
    previous = member_record(L, did) or {}
    L.s.put("gov.members", did, {"did": did, "joined": L.now, "active": True,
                                 "attributes": attributes or previous.get("attributes", {})})
    return True


def set_attribute(L: Ledger, actor: str, did: str, key: str, value_json: str) -> bool:
    import json

    member = L.s.require("gov.members", did, "member_exists", f"{did} is not a member")
    try:
        value = json.loads(value_json)
    except json.JSONDecodeError:
        value = value_json                      # plain text
    if not isinstance(value, (bool, int, str)) or isinstance(value, float):
        raise Refused("attribute_value", "an attribute is a whole number, true/false or text")
    L.s.put("gov.members", did, {**member, "attributes": {**member.get("attributes", {}), key: value}})
    return True


def erase_private(L: Ledger, actor: str, did: str) -> bool:
    """A member's request that their personal data be erased: the plain text of every private
    input about them (facts, loan purposes, aid addresses: the store's `private` side table) is
    deleted; the commitments stay, so the history still verifies and replays, and reads show
    them in place of the texts. The member's record notes when (in the state root). The member
    may ask while a member; holders of `manage_members` also for a former member."""
    m = L.s.get("gov.members", did)
    if m is None:
        raise Refused("member_exists", f"{did} was never a member of this co-op", "ccl member list")
    L.s.tx.private_erase(did)                # (beside the history: replay finds nothing to delete)
    L.s.put("gov.members", did, {**m, "erased": L.now})
    return True


def remove_member(L: Ledger, actor: str, did: str) -> bool:
    """A member leaves (or is removed): at once they lose their roles, their delegations both
    ways, and their ballots on proposals still open; tallies count only members."""
    m = active_member(L, did)
    freeze_ended(L)
    L.s.put("gov.members", did, {**m, "active": False, "left": L.now})
    L.s.put("gov.roles", did, [])
    for key, d in L.s.scan("gov.delegations"):
        if "revoked" not in d and did in (d["from"], d["to"]):
            L.s.put("gov.delegations", key, {**d, "revoked": L.now})
    for pid, p in L.s.scan("gov.proposals"):
        if did in p["eligible"] and status(L, p) in ("pending", "active"):
            ballots = {k: v for k, v in p["ballots"].items() if k != did}
            L.s.put("gov.proposals", pid, {**p, "ballots": ballots, "eligible": [e for e in p["eligible"] if e != did]})
    return True


def roles_of(L: Ledger, did: str) -> list[str]:
    return L.s.get("gov.roles", did) or []


def _chain(L: Ledger, role: str) -> list[dict]:
    """A role's definition and those it extends (at most 16 deep, so a cycle ends)."""
    out = []
    name = role
    for _ in range(16):
        definition = L.s.get("gov.role_defs", name)
        if definition is None:
            break
        out.append({**definition, "name": name})
        if not definition.get("extends"):
            break
        name = definition["extends"]
    return out


def _held(L: Ledger, did: str) -> list[dict]:
    """The definitions of every role an active member holds, and of the roles those extend."""
    if not is_member(L, did):
        return []
    return [d for held in roles_of(L, did) for d in _chain(L, held)]


def has_role(L: Ledger, did: str, role: str) -> bool:
    """Holding a role that extends `role` counts as holding `role` (active members only)."""
    return any(d["name"] == role for d in _held(L, did))


def permissions_of(L: Ledger, did: str) -> set[str]:
    return {p for d in _held(L, did) for p in d.get("can", [])}


def covers(held, permission: str) -> bool:
    """Whether the permissions `held` include `permission`: `mint` covers `mint:RIV`."""
    return permission in held or permission.split(":")[0] in held


def has_permission(L: Ledger, did: str, permission: str) -> bool:
    """Held through a role of the adopted bylaws (`mint` covers `mint:RIV`). There is no
    all-powerful permission and no grant beside the roles."""
    return covers(permissions_of(L, did), permission)


ENGINE_FACTS = ("reputation", "weight")      # member facts the engines compute on (aid matching, work weights)


def rule_fact(L: Ledger, value: str, values: dict) -> bool:
    """A member fact is kept in plain text when a rule computes on it — a role of the adopted
    bylaws `requires:` its key, or an engine reads it (ENGINE_FACTS); any other fact is a
    private input (ccl.private), which only the member and holders of `manage_members` read."""
    key = values.get("key")
    return key in ENGINE_FACTS or any(key in (d.get("requires") or {}) for d in role_defs(L).values())


def grant_role(L: Ledger, actor: str, did: str, role: str) -> bool:
    definition = L.s.get("gov.role_defs", role)
    if definition is None or role == "founder":
        names = sorted(r for r in role_defs(L) if r != "founder")
        from ccl.diag import did_you_mean

        raise Refused("role_exists", f"the adopted bylaws declare no role `{role}`",
                      did_you_mean(role, names) or ("roles: " + ", ".join(names) if names else
                                                    "adopt bylaws that declare roles"))
    if actor == did:
        raise Refused("self_grant", "nobody grants a role to themself", "another member with `manage_roles` can")
    facts = active_member(L, did).get("attributes", {})
    for key, wanted in sorted(definition.get("requires", {}).items()):
        have = facts.get(key)
        ok = (have is not None and have >= wanted) if isinstance(wanted, int) and not isinstance(wanted, bool) \
            else have == wanted if wanted is not None else have is not None
        if not ok and is_commitment(have):
            raise Refused("role_requires", f"`{role}` requires {key}: {wanted!r}, and {did}'s {key} was recorded "
                          "as a private fact, which no rule reads",
                          f"record it again now that a role requires it: ccl member set MEMBER {key} VALUE")
        if not ok:
            raise Refused("role_requires", f"`{role}` requires {key}: {wanted!r}; {did} has {have!r}")
    held = roles_of(L, did)
    if role not in held:
        L.s.put("gov.roles", did, sorted([*held, role]))
    return True


def revoke_role(L: Ledger, actor: str, did: str, role: str) -> bool:
    held = roles_of(L, did)
    if role not in held:
        raise Refused("role_held", f"{did} does not hold `{role}`")
    L.s.put("gov.roles", did, [r for r in held if r != role])
    return True


# ---------------------------------------------------------------- proposals

def kind_spec(L: Ledger, name: str) -> tuple[str, dict]:
    """(key, spec) of an adopted proposal kind named `Contract::Kind` or `Kind` (or `Amendment`)."""
    if name in ("Amendment", AMENDMENT):
        return AMENDMENT, L.s.get("gov.kinds", AMENDMENT)
    declared = {k: d for k, d in kinds(L).items() if k != AMENDMENT}
    if "::" in name and name in declared:
        return name, declared[name]
    found = [k for k in declared if k.split("::")[-1] == name]
    if len(found) == 1:
        return found[0], declared[found[0]]
    from ccl.diag import did_you_mean

    names = sorted({k.split("::")[-1] for k in declared} | {"Amendment"})
    raise Refused("proposal_kind", f"the adopted bylaws declare no single proposal kind `{name}`",
                  "name it as Contract::Kind" if found else
                  (did_you_mean(name, names) or "kinds: " + ", ".join(names)))


def open_proposal(L: Ledger, actor: str, kind_name: str, args: list, *, method: str = "binary",
                  options: Optional[list] = None, delay_s: int = 0, timelock_s: int = 0,
                  allow_changes: bool = False, extra: Optional[dict] = None) -> str:
    """Open a proposal of an adopted kind (arguments already type-checked by the runtime)."""
    key, spec = kind_spec(L, kind_name)
    contract, kind = key.split("::")
    if not is_member(L, actor):
        raise Refused("member", f"{actor} is not a member, so cannot open proposals")
    check_opening(spec, kind, method, options, delay_s, timelock_s)
    if len(args) != len(spec.get("params", [])):
        raise Refused("proposal_args", f"`{kind}` takes {len(spec.get('params', []))} argument(s), given {len(args)}")
    eligible_role = spec.get("eligible")
    eligible = sorted(d for d, m in members(L) if m.get("active", True)
                      and (eligible_role is None or has_role(L, d, eligible_role)))
    if not eligible:
        raise Refused("eligible", f"no member holds the eligible role `{eligible_role}`")
    duration = spec.get("duration_s") or 7 * 86_400
    start = L.now + max(delay_s, 0)
    proposal_id = f"proposal-{L.s.next_seq('proposal')}"
    threshold = spec.get("threshold") or ["majority", 1, 2]
    L.s.put("gov.proposals", proposal_id, {
        "id": proposal_id, "contract": contract, "kind": kind, "module": spec["module"], "args": args,
        "description": spec.get("description"), "proposer": actor, "created": L.now, "start": start,
        "end": start + duration, "timelock_s": timelock_s, "quorum_pct": spec.get("quorum_pct") or 0,
        "threshold": threshold, "eligible_role": eligible_role, "eligible": eligible, "method": method,
        "options": options or [], "allow_changes": allow_changes, "ballots": {}, "cancelled": False,
        "executed": None, "execution": spec.get("execution"), "can": spec.get("can", []),
        "close_early": bool(spec.get("close_early")), **(extra or {})})
    return proposal_id


def check_opening(spec: dict, kind: str, method: str, options, delay_s: int, timelock_s: int) -> None:
    """The parts of opening a proposal that depend only on the kind and the request."""
    if method not in METHODS:
        raise Refused("method", f"`{method}` is not a voting method", "methods: " + ", ".join(METHODS))
    if (method == "binary") != (not options):
        raise Refused("options", "ranked, approval, quadratic and score votes need options; yes/no votes take none")
    if method != "binary" and spec.get("execution"):
        raise Refused("method", f"`{kind}` executes when it passes, so it is decided yes or no by its threshold",
                      "votes over options are for kinds without an execution (polls, choices to record)")
    if options and (len(set(options)) != len(options) or any(not isinstance(o, str) or not o.strip()
                                                               for o in options)):
        raise Refused("options", "options are distinct, non-empty names")
    if not (0 <= delay_s <= MAX_WAIT_S and 0 <= timelock_s <= MAX_WAIT_S):
        raise Refused("proposal_timing", f"a delay or timelock runs from 0 to {MAX_WAIT_S // 86_400} days")


def open_from_spec(L: Ledger, actor: str, spec: dict) -> str:
    """Open a proposal from the parameters a receipt records (so replay can do it again)."""
    return open_proposal(L, actor, spec["kind"], spec["args"], method=spec["method"],
                         options=spec["options"], delay_s=spec["delay_s"], timelock_s=spec["timelock_s"],
                         allow_changes=spec["allow_changes"], extra=spec.get("extra"))


def proposal(L: Ledger, proposal_id: str) -> dict:
    return L.s.require("gov.proposals", proposal_id, "proposal_exists", f"there is no proposal `{proposal_id}`")


def proposals(L: Ledger) -> list[dict]:
    """Every proposal, in id order."""
    return [p for _, p in L.s.scan("gov.proposals")]


def proposer(L: Ledger, proposal_id) -> Optional[str]:
    """Who opened the proposal, or None when there is none."""
    p = L.s.get("gov.proposals", proposal_id) if isinstance(proposal_id, str) else None
    return p["proposer"] if p else None


def voting_end(p: dict) -> int:
    """When voting ends: the kind's duration, or — for a kind that may `close_early` — the moment
    the last eligible member voted, if every one of them has."""
    ballots = p["ballots"]
    if p.get("close_early") and p["eligible"] and all(e in ballots for e in p["eligible"]):
        return min(p["end"], max(b["time"] for b in ballots.values()))
    return p["end"]


def status(L: Ledger, p: dict) -> str:
    if p["cancelled"]:
        return "cancelled"
    if p["executed"] is not None:
        return "executed"
    if L.now < p["start"]:
        return "pending"
    end = voting_end(p)
    if L.now < end:
        return "active"
    if not tally(L, p)["passed"]:
        return "defeated"
    if L.now > end + p["timelock_s"] + EXECUTION_WINDOW_S:
        return "expired"
    return "succeeded"


def cancel(L: Ledger, actor: str, proposal_id: str) -> bool:
    p = proposal(L, proposal_id)
    if actor != p["proposer"]:
        raise Refused("proposer", "only the proposer can cancel a proposal")
    if p["ballots"]:
        raise Refused("cancel_before_votes", "a proposal with ballots cannot be cancelled")
    if status(L, p) not in ("pending", "active"):
        raise Refused("proposal_status", f"`{proposal_id}` is {status(L, p)}")
    L.s.put("gov.proposals", proposal_id, {**p, "cancelled": True})
    return True


def close_proposal(L: Ledger, proposal_id: str) -> str:
    """Record the final tally of a proposal whose voting has ended; returns its status."""
    p = proposal(L, proposal_id)
    state = status(L, p)
    if state in ("pending", "active"):
        raise Refused("voting_open", f"`{proposal_id}` is still {state}")
    if "final" not in p:
        L.s.put("gov.proposals", proposal_id, {**p, "final": tally(L, p), "closed": L.now})
    return state


# ---------------------------------------------------------------- ballots

def ballot_payload(proposal_id: str, voter: str, choice, reason: str, seq: int, time: int) -> dict:
    return {"proposal": proposal_id, "voter": voter, "choice": choice, "reason": reason, "seq": seq, "time": time}


def sign_ballot(payload: dict, voter: "identity.Identity") -> str:
    """A signed ballot as text (base64 of its DAG-CBOR block), ready for cast_ballot."""
    block = {"kind": "ballot", "payload": payload, "signer": voter.did,
             "signature": voter.sign(canon.encode(payload))}
    return base64.b64encode(canon.encode(block)).decode("ascii")


def cast_ballot(L: Ledger, tx, actor: str, proposal_id: str, ballot_text: str) -> str:
    """Verify and record a signed ballot; returns its CID."""
    try:
        data = base64.b64decode(ballot_text, validate=True)
    except (ValueError, TypeError):
        raise Refused("ballot_format", "the ballot is not a signed ccl ballot (not base64 text)") from None
    try:
        block = canon.decode(data)                    # strict DAG-CBOR: no `undefined`, no foreign tags
    except ValueError as e:
        raise Refused("ballot_format", f"the ballot is not a signed ccl ballot (not strict DAG-CBOR: {e})") from None
    if not isinstance(block, dict) or block.get("kind") != "ballot":
        raise Refused("ballot_format", "the ballot is not a signed ccl ballot")
    payload, signer, signature = block.get("payload"), block.get("signer"), block.get("signature")
    if not isinstance(payload, dict) or not isinstance(signer, str) or not isinstance(signature, bytes):
        raise Refused("ballot_format", "the ballot is not a signed ccl ballot")
    if not isinstance(payload.get("reason", ""), str):
        raise Refused("ballot_format", "a ballot's reason must be text")
    if not identity.verify(signer, canon.encode(payload), signature):
        raise Refused("ballot_signature", "the ballot's signature does not verify: it is forged or altered")
    if payload.get("voter") != signer or signer != actor:
        raise Refused("ballot_voter", "a member casts only their own ballot")
    if payload.get("proposal") != proposal_id:
        raise Refused("ballot_replay", "this ballot was cast on another proposal")
    return _record(L, tx, actor, proposal_id, payload, data)


def _record(L: Ledger, tx, actor: str, proposal_id: str, payload: dict, data: bytes) -> str:
    p = proposal(L, proposal_id)
    state = status(L, p)
    if state != "active":
        raise Refused("voting_closed" if state != "pending" else "voting_not_open",
                      f"`{proposal_id}` is {state}: ballots are taken only while it is active")
    if not is_member(L, actor) or actor not in p["eligible"]:
        raise Refused("eligible", f"{actor} is not among the eligible members (role `{p['eligible_role']}`)")
    previous = p["ballots"].get(actor)
    expected_seq = 0 if previous is None else previous["seq"] + 1
    if previous is not None and not p["allow_changes"]:
        raise Refused("second_ballot", f"{actor} has already voted on `{proposal_id}`")
    if payload.get("seq") != expected_seq:
        raise Refused("ballot_replay", "this ballot is stale (replayed): sign a new one")
    _check_choice(p, payload.get("choice"))
    cid = canon.cid_text(data)
    tx.put_block(cid, data)
    L.s.put("gov.proposals", proposal_id, {**p, "ballots": {**p["ballots"], actor: {
        "cid": cid, "choice": payload["choice"], "reason": payload.get("reason", ""), "seq": payload["seq"],
        "time": L.now}}})
    return cid


def cast_unsigned(L: Ledger, tx, actor: str, proposal_id: str, choice: str) -> str:
    """A ballot cast from inside a contract: the run's signed receipt authenticates it."""
    p = proposal(L, proposal_id)
    previous = p["ballots"].get(actor)
    seq = 0 if previous is None else previous["seq"] + 1
    block: dict[str, Any] = {"kind": "ballot", "payload": ballot_payload(proposal_id, actor, choice, "", seq, L.now),
                             "signer": actor, "signature": None}
    data = canon.encode(block)
    return _record(L, tx, actor, proposal_id, block["payload"], data)


def _check_choice(p: dict, choice) -> None:
    method, options = p["method"], p["options"]
    if method == "binary":
        if choice not in CHOICES:
            raise Refused("ballot_choice", f"vote one of {', '.join(CHOICES)}, not {choice!r}")
    elif method in ("ranked", "approval"):
        if not isinstance(choice, list) or not choice or len(set(choice)) != len(choice) \
                or any(c not in options for c in choice):
            raise Refused("ballot_choice", f"list distinct options from {options}")
    else:
        if not isinstance(choice, dict) or any(k not in options or type(v) is not int or v < 0
                                               for k, v in choice.items()):
            raise Refused("ballot_choice", f"give whole non-negative numbers to options from {options}")
        if method == "quadratic" and sum(v * v for v in choice.values()) > QUADRATIC_CREDITS:
            raise Refused("ballot_credits", f"quadratic votes cost their square; you have {QUADRATIC_CREDITS} credits")
        if method == "score" and any(v > SCORE_MAX for v in choice.values()):
            raise Refused("ballot_choice", f"scores run from 0 to {SCORE_MAX}")


# ---------------------------------------------------------------- delegation

def delegate(L: Ledger, actor: str, to: str, scope: str = "*") -> bool:
    freeze_ended(L)
    if not is_member(L, actor) or not is_member(L, to):
        raise Refused("member", "delegation is between members")
    if to == actor:
        raise Refused("delegate_self", "delegate to someone else")
    L.s.put("gov.delegations", f"{actor}|{scope}", {"from": actor, "to": to, "scope": scope, "since": L.now})
    # (a later delegation for the same scope replaces the earlier one, revoked or not)
    return True


def undelegate(L: Ledger, actor: str, scope: str = "*") -> bool:
    freeze_ended(L)
    current = L.s.get("gov.delegations", f"{actor}|{scope}")
    if current is None or "revoked" in current:
        raise Refused("delegation_exists", "there is no delegation to revoke")
    L.s.put("gov.delegations", f"{actor}|{scope}", {**current, "revoked": L.now})
    return True


def _delegate_of(L: Ledger, member: str, kind: str) -> Optional[str]:
    for scope in (kind, "*"):
        d = L.s.get("gov.delegations", f"{member}|{scope}")
        if d is not None and "revoked" not in d:
            return d["to"]
    return None


def effective_votes(L: Ledger, p: dict) -> dict[str, tuple[str, object]]:
    """member → (who cast the ballot that counts for them, its choice). A direct ballot wins;
    otherwise the delegation chain is followed to the first member who voted; cycles count for
    nobody. Each eligible member appears at most once."""
    out = {}
    ballots = p["ballots"]
    for member in p["eligible"]:
        if member in ballots:
            out[member] = (member, ballots[member]["choice"])
            continue
        seen = {member}
        current = _delegate_of(L, member, p["kind"])
        while current is not None and current not in seen:
            if current in ballots:
                out[member] = (current, ballots[current]["choice"])
                break
            seen.add(current)
            current = _delegate_of(L, current, p["kind"])
    return out


# ---------------------------------------------------------------- tallies

def freeze_ended(L: Ledger) -> None:
    """Before delegations change (or a member leaves), fix the final tally of every proposal
    whose voting has ended: a finished vote's result never moves afterwards."""
    for pid, p in L.s.scan("gov.proposals"):
        if "final" not in p and not p["cancelled"] and p["executed"] is None and L.now >= voting_end(p):
            L.s.put("gov.proposals", pid, {**p, "final": tally(L, p)})


def tally(L: Ledger, p: dict) -> dict:
    if "final" in p:
        return p["final"]                 # voting ended before delegations last changed
    votes = effective_votes(L, p)
    eligible = len(p["eligible"])
    participation = len(votes)
    quorum_met = eligible > 0 and participation * 100 >= p["quorum_pct"] * eligible
    result = {"eligible": eligible, "participation": participation, "quorum_pct": p["quorum_pct"],
              "quorum_met": quorum_met, "via": {m: by for m, (by, _) in sorted(votes.items()) if by != m}}
    choices = [c for _, (_, c) in sorted(votes.items())]
    if p["method"] == "binary":
        counts = {c: choices.count(c) for c in CHOICES}
        yes, no = counts["yes"], counts["no"]
        kind, num, den = p["threshold"]
        if kind == "majority":
            support = yes * 2 > yes + no
        elif kind == "supermajority":
            support = yes * den > (yes + no) * num
        elif kind == "consensus":
            support = counts["block"] == 0 and yes > 0
        else:
            support = eligible > 0 and yes == eligible
        result.update(counts=counts, support=support, passed=quorum_met and support, winner=None)
        return result
    winner, rounds = decide_options(p["method"], p["options"], choices)
    result.update(counts=None, rounds=rounds, winner=winner, support=winner is not None,
                  passed=quorum_met and winner is not None)
    return result


def decide_options(method: str, options: list, ballots: list) -> tuple[Optional[str], list]:
    """The winning option and the counting rounds. Ties go to the option listed first
    (ranked choice eliminates, on a tie for fewest, the option listed last)."""
    if not ballots:
        return None, []
    if method == "ranked":
        return instant_runoff(options, ballots)
    totals = {o: 0 for o in options}
    for b in ballots:
        if method == "approval":
            for o in b:
                totals[o] += 1
        else:
            for o, v in b.items():
                totals[o] += v
    best = max(options, key=lambda o: (totals[o], -options.index(o)))
    return (best if totals[best] > 0 else None), [totals]


def instant_runoff(options: list, ballots: list) -> tuple[Optional[str], list]:
    remaining = list(options)
    rounds = []
    while remaining:
        counts = {o: 0 for o in remaining}
        active = 0
        for ranking in ballots:
            top = next((o for o in ranking if o in counts), None)
            if top is not None:
                counts[top] += 1
                active += 1
        rounds.append(dict(counts))
        if not active:
            return None, rounds
        leader = max(remaining, key=lambda o: (counts[o], -remaining.index(o)))
        if counts[leader] * 2 > active or len(remaining) == 1:
            return leader, rounds
        loser = min(remaining, key=lambda o: (counts[o], -remaining.index(o)))
        remaining.remove(loser)
    return None, rounds


# ---------------------------------------------------------------- execution

def begin_execution(L: Ledger, actor: str, proposal_id: str) -> dict:
    """Check that a proposal may execute now and mark it executed (inside the run's transaction:
    if the execution fails, this mark rolls back with everything else)."""
    if not is_member(L, actor):
        raise Refused("member", f"{actor} is not a member, so cannot execute proposals")
    p = proposal(L, proposal_id)
    state = status(L, p)
    if state != "succeeded":
        raise Refused("proposal_status", f"`{proposal_id}` is {state}; only a succeeded proposal executes")
    if L.now < voting_end(p) + p["timelock_s"]:
        raise Refused("timelock", f"`{proposal_id}` is under a timelock until {voting_end(p) + p['timelock_s']}")
    if p["execution"] is None:
        raise Refused("execution", f"`{p['kind']}` has no execution block")
    L.s.put("gov.proposals", proposal_id, {**p, "executed": L.now, "executed_by": actor})
    return p


# ---------------------------------------------------------------- host rows with their own shape (ccl.operations)

def retired(L: Ledger, actor: str, *args) -> bool:
    """grant_permission / revoke_permission: refused by their `who` (nobody) before this runs."""
    return False


def create_proposal(L: Ledger, actor: str, kind: str) -> str:
    return open_proposal(L, actor, kind, [])


def cast_vote(L: Ledger, actor: str, proposal_id: str, choice: str) -> bool:
    cast_unsigned(L, L.s.tx, actor, proposal_id, choice)
    return True


def cast_ballot_op(L: Ledger, actor: str, proposal_id: str, ballot: str) -> bool:
    cast_ballot(L, L.s.tx, actor, proposal_id, ballot)
    return True


def proposal_status(L: Ledger, proposal_id: str) -> str:
    return status(L, proposal(L, proposal_id))


# ---------------------------------------------------------------- reads (the operations table's queries)

def kind_label(p: dict) -> str:
    return f"{p['contract']}::{p['kind']}" if p["contract"] else p["kind"]


def member_list(L: Ledger) -> dict:
    return {"members": [{**m, "did": d, "roles": roles_of(L, d)} for d, m in members(L)]}


def members_visible(L: Ledger, reader: str, member: bool, answer: dict) -> dict:
    """`member list` as `reader` sees it: a member's facts only for that member and for holders
    of `manage_members`."""
    all_facts = member and has_permission(L, reader, "manage_members")
    return {**answer, "members": [m if all_facts or m["did"] == reader else
                                  {k: v for k, v in m.items() if k != "attributes"} for m in answer["members"]]}


def role_list(L: Ledger) -> dict:
    holders: dict[str, list] = {}
    for did, _ in members(L):
        for r in roles_of(L, did):
            holders.setdefault(r, []).append(did)
    return {"roles": [{"role": name, **d, "holders": holders.get(name, [])} for name, d in role_defs(L).items()]}


def proposal_list(L: Ledger) -> dict:
    rows = []
    for p in proposals(L):
        t = tally(L, p)
        rows.append({"id": p["id"], "kind": kind_label(p), "status": status(L, p), "tally": t, "ends": p["end"],
                     "proposer": p["proposer"], "voted": f"{t['participation']}/{t['eligible']}"})
    return {"proposals": rows}


def proposal_view(L: Ledger, proposal_id: str, at: Optional[int] = None) -> dict:
    if at is not None:
        L.now = at
    p = proposal(L, proposal_id)
    return {"proposal": {k: v for k, v in p.items() if k != "ballots"}, "status": status(L, p),
            "tally": tally(L, p), "now": L.now, "seconds_left": max(p["end"] - L.now, 0)}


def tally_view(L: Ledger, proposal_id: str) -> dict:
    return {"tally": tally(L, proposal(L, proposal_id))}


def bylaws_view(L: Ledger) -> dict:
    ks, roles = kinds(L), role_defs(L)
    modules = [{**m, "roles": sorted(r for r, d in roles.items() if d.get("module") == m["cid"]),
                "kinds": sorted(k for k, d in ks.items() if d.get("module") == m["cid"])} for m in constitution(L)]
    return {"coop": coop(L), "modules": modules, "amendment": ks.get(AMENDMENT)}


def bylaws_history(L: Ledger) -> dict:
    return {"history": history(L)}


# ---------------------------------------------------------------- display names

def set_display_name(L: Ledger, actor: str, member: str, name: str) -> bool:
    """`member` is called `name` from now on (who may set it — the member, or whoever holds
    `manage_members` — is the host table's `who`). The name follows ccl.governance.names: 1–40
    characters of one script, and nothing that looks like another member's display name. It is
    kept on the member's row; the rows of members who never chose one stay as they were."""
    from ccl.governance.names import check_display_name, skeleton

    row = L.s.get("gov.members", member) if isinstance(member, str) else None
    if row is None or not row.get("active", True):
        raise Refused("member_exists", f"{member} is not a member")
    name = check_display_name(name)
    wanted = skeleton(name)
    for did, other in display_names(L).items():
        if did != member and skeleton(other) == wanted:
            raise Refused("display_name_unique", f"`{name}` looks like `{other}`, another member's display name",
                          "choose a name nobody could mistake for theirs")
    L.s.put("gov.members", member, {**row, "display_name": name})
    return True


def display_name(L: Ledger, did: str) -> Optional[str]:
    """The display name `did` chose, or None."""
    row = L.s.get("gov.members", did) if isinstance(did, str) else None
    return row.get("display_name") if row else None


def display_names(L: Ledger) -> dict[str, str]:
    """DID → display name, for every member (present or past) who chose one, in DID order."""
    return {did: row["display_name"] for did, row in members(L) if row.get("display_name")}
