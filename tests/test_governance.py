"""The governance engine: voting rules, methods, refusals, lifecycle, delegation — on the engine
directly, plus hypothesis recounts."""

import pytest
from hypothesis import given, settings, strategies as st

from ccl import canon
from ccl import governance as G
from ccl.identity import Identity
from ccl.ledger import EngineState, Ledger, Refused
from ccl.runtime import authority as AUTH
from ccl.store.sqlite import SqliteStore

DAY = 86_400


class World:
    """An in-memory co-op founded with G.found: members m0…m{n-1}, m0 the founder holding the
    bylaws' Steward role (which can manage members and roles, and extends Member), everyone
    else granted Member by m0. Two kinds: `Motion`, which executes and so is decided yes/no by
    its threshold, and `Poll`, which has no execution and so may be a vote over options."""

    def __init__(self, n=5, threshold=("majority", 1, 2), quorum=50, eligible="Member", duration=3 * DAY):
        self.store = SqliteStore.memory()
        self.cm = self.store.transaction()
        self.tx = self.cm.__enter__()
        self.L = Ledger(EngineState(self.tx), 0)
        self.ids = [Identity.from_seed(f"m{i}", bytes([i + 1]) * 32) for i in range(n)]
        self.dids = [i.did for i in self.ids]
        self.coop = Identity.from_seed("coop", b"\xc0" * 32).did
        meta = {"meta": {"founder": "Steward"},
                "roles": [{"name": "Member", "can": ["vote"], "extends": None, "requires": {}},
                          {"name": "Steward", "can": ["manage_members", "manage_roles"], "extends": "Member",
                           "requires": {}},
                          {"name": "Elder", "can": [], "extends": "Member", "requires": {"tenure": 5}}],
                "proposals": [{"name": "Motion", "description": "d", "eligible": eligible, "duration_s": duration,
                               "quorum_pct": quorum, "threshold": list(threshold), "params": [],
                               "execution": "Coop::proposal::Motion"},
                              {"name": "Poll", "description": "a choice to record", "eligible": eligible,
                               "duration_s": duration, "quorum_pct": quorum, "threshold": list(threshold),
                               "params": [], "execution": None}]}
        self.module = canon.cid_of({"bylaws": "Coop"})
        G.found(self.L, self.coop, self.dids[0], [(self.module, [("Coop", meta)])], demo=True)
        assert G.roles_of(self.L, self.dids[0]) == ["Steward"]
        for d in self.dids[1:]:
            G.add_member(self.L, self.dids[0], d)
            G.grant_role(self.L, self.dids[0], d, "Member")

    def open(self, kind="Coop::Motion", **kw):
        return G.open_proposal(self.L, self.dids[0], kind, [], **kw)

    def poll(self, **kw):
        return self.open("Coop::Poll", **kw)

    def vote(self, pid, i, choice, seq=0, actor=None, signer=None, proposal=None):
        payload = G.ballot_payload(proposal or pid, self.dids[i], choice, "", seq, self.L.now)
        ballot = G.sign_ballot(payload, signer or self.ids[i])
        return G.cast_ballot(self.L, self.tx, actor or self.dids[i], pid, ballot)

    def at(self, t):
        self.L.now = t
        return self

    def result(self, pid):
        return G.tally(self.L, G.proposal(self.L, pid))

    def close(self):
        self.cm.__exit__(None, None, None)
        self.store.close()


@pytest.fixture
def world():
    w = World()
    yield w
    w.close()


@pytest.mark.parametrize("threshold, votes, passed", [
    (("majority", 1, 2), ["yes", "yes", "no"], True),
    (("majority", 1, 2), ["yes", "no"], False),                       # a tie is not a majority
    (("majority", 1, 2), ["yes", "abstain", "abstain"], True),       # abstentions do not count against
    (("supermajority", 2, 3), ["yes", "yes", "no"], False),          # exactly 2/3 is not above it
    (("supermajority", 2, 3), ["yes", "yes", "yes", "no"], True),
    (("consensus", 1, 1), ["yes", "yes", "abstain"], True),          # stand-asides allowed
    (("consensus", 1, 1), ["yes", "yes", "block"], False),
    (("unanimous", 1, 1), ["yes"] * 5, True),
    (("unanimous", 1, 1), ["yes"] * 4, False),
])
def test_pass_rules(threshold, votes, passed):
    w = World(threshold=threshold, quorum=0)
    pid = w.open()
    for i, v in enumerate(votes):
        w.vote(pid, i, v)
    assert w.result(pid)["passed"] is passed
    assert G.status(w.L.__class__(w.L.s, 4 * DAY), G.proposal(w.L, pid)) == ("succeeded" if passed else "defeated")
    w.close()


def test_quorum_is_participation_of_eligible_members(world):
    pid = world.open()                       # quorum 50% of 5 → 3 needed (2.5 rounded up)
    world.vote(pid, 0, "yes")
    world.vote(pid, 1, "yes")
    assert not world.result(pid)["quorum_met"]
    world.vote(pid, 2, "abstain")
    assert world.result(pid)["quorum_met"] and world.result(pid)["passed"]


@pytest.mark.parametrize("method, options, ballots, winner", [
    ("ranked", ["a", "b", "c"], [["a", "b"], ["b", "a"], ["c", "b"], ["b"], ["a", "c"]], "b"),
    ("ranked", ["a", "b", "c"], [["a"], ["a"], ["b"], ["c", "b"], ["c", "a"]], "a"),
    ("approval", ["x", "y"], [["x", "y"], ["y"], ["x"]], "x"),                 # tie → listed first
    ("quadratic", ["x", "y"], [{"x": 10}, {"y": 6, "x": 2}, {"y": 7}], "y"),
    ("score", ["x", "y", "z"], [{"x": 5, "y": 3}, {"y": 5, "z": 1}, {"x": 1, "y": 4}], "y"),
])
def test_option_methods(method, options, ballots, winner):
    w = World(quorum=0)
    pid = w.poll(method=method, options=options)        # option votes are for kinds without an execution
    for i, b in enumerate(ballots):
        w.vote(pid, i, b)
    assert w.result(pid)["winner"] == winner
    w.close()


def test_quadratic_credits_are_enforced(world):
    pid = world.poll(method="quadratic", options=["x", "y"])
    with pytest.raises(Refused, match="credits"):
        world.vote(pid, 0, {"x": 10, "y": 1})


@pytest.mark.parametrize("method", ["ranked", "approval", "quadratic", "score"])
def test_an_executing_kind_is_decided_by_its_threshold_not_by_options(world, method):
    before = canon.encode(world.L.s.scan("gov.proposals"))
    with pytest.raises(Refused) as e:
        world.open(method=method, options=["a", "b"])             # Motion has an execution
    assert e.value.rule == "method" and "threshold" in e.value.message
    assert canon.encode(world.L.s.scan("gov.proposals")) == before
    assert G.proposal(world.L, world.poll(method=method, options=["a", "b"]))["method"] == method   # a Poll may


@pytest.mark.parametrize("options", [["a", "a"], ["a", "b", "a"], [], ["a", ""], ["a", "  "]])
def test_duplicate_or_empty_options_are_refused(world, options):
    before = canon.encode(world.L.s.scan("gov.proposals"))
    with pytest.raises(Refused) as e:
        world.poll(method="approval", options=options)
    assert e.value.rule == "options"
    assert canon.encode(world.L.s.scan("gov.proposals")) == before


def test_a_yes_no_vote_takes_no_options(world):
    with pytest.raises(Refused) as e:
        world.poll(options=["a", "b"])
    assert e.value.rule == "options"


@pytest.mark.parametrize("case", ["non_member", "not_eligible", "second", "after_close", "before_open", "forged",
                                  "replayed_elsewhere", "for_another", "stale"])
def test_refused_ballots_change_nothing(case):
    w = World(eligible="Elder" if case == "not_eligible" else "Member")
    if case == "not_eligible":
        w.L.s.put("gov.members", w.dids[1], {**w.L.s.get("gov.members", w.dids[1]), "attributes": {"tenure": 9}})
        G.grant_role(w.L, w.dids[0], w.dids[1], "Elder")
    pid = w.open(delay_s=DAY if case == "before_open" else 0)
    other = w.open()
    w.at(DAY + 1 if case == "before_open" else 0)
    if case in ("second", "stale"):
        w.vote(pid, 0, "yes")
    before = canon.encode(G.proposal(w.L, pid))
    outsider = Identity.from_seed("x", b"\x99" * 32)
    with pytest.raises(Refused) as e:
        if case == "non_member":
            payload = G.ballot_payload(pid, outsider.did, "yes", "", 0, 0)
            G.cast_ballot(w.L, w.tx, outsider.did, pid, G.sign_ballot(payload, outsider))
        elif case == "not_eligible":
            w.vote(pid, 2, "yes")
        elif case == "second":
            w.vote(pid, 0, "no", seq=1)
        elif case == "after_close":
            w.at(4 * DAY).vote(pid, 0, "yes")
        elif case == "before_open":
            w.at(10).vote(pid, 0, "yes")
        elif case == "forged":
            w.vote(pid, 0, "yes", signer=w.ids[1])
        elif case == "replayed_elsewhere":
            w.vote(pid, 0, "yes", proposal=other)
        elif case == "for_another":
            w.vote(pid, 1, "yes", actor=w.dids[0])
        elif case == "stale":
            G.proposal(w.L, pid)
            w.L.s.put("gov.proposals", pid, {**G.proposal(w.L, pid), "allow_changes": True})
            before = canon.encode(G.proposal(w.L, pid))
            w.vote(pid, 0, "no", seq=0)                  # a replay of the first ballot's sequence
    assert e.value.rule
    assert canon.encode(G.proposal(w.L, pid)) == before
    w.close()


def test_changing_a_vote_when_allowed(world):
    pid = world.open(allow_changes=True)
    world.vote(pid, 0, "no")
    world.vote(pid, 0, "yes", seq=1)
    assert world.result(pid)["counts"]["yes"] == 1 and world.result(pid)["counts"]["no"] == 0


def test_lifecycle_cancel_expire_timelock(world):
    pid = world.open()
    assert G.cancel(world.L, world.dids[0], pid)
    assert G.status(world.L, G.proposal(world.L, pid)) == "cancelled"
    pid = world.open(timelock_s=DAY)
    world.vote(pid, 0, "yes")
    with pytest.raises(Refused):
        G.cancel(world.L, world.dids[0], pid)                 # ballots were cast
    for i in (1, 2):
        world.vote(pid, i, "yes")
    with pytest.raises(Refused, match="timelock"):
        G.begin_execution(world.at(3 * DAY + 10).L, world.dids[1], pid)
    assert G.status(world.at(30 * DAY).L, G.proposal(world.L, pid)) == "expired"
    G.begin_execution(world.at(4 * DAY + 10).L, world.dids[1], pid)
    assert G.status(world.L, G.proposal(world.L, pid)) == "executed"
    with pytest.raises(Refused):
        G.begin_execution(world.L, world.dids[1], pid)        # once only


def test_delegation_transitive_override_cycles_and_revocation(world):
    d = world.dids
    G.delegate(world.L, d[1], d[2])
    G.delegate(world.L, d[2], d[3])
    G.delegate(world.L, d[4], d[0])
    G.delegate(world.L, d[0], d[4])                              # a cycle: counts for nobody
    pid = world.open()
    world.vote(pid, 3, "yes")
    t = world.result(pid)
    assert t["participation"] == 3 and t["via"] == {d[1]: d[3], d[2]: d[3]}
    world.vote(pid, 2, "no")                                     # a direct vote overrides
    t = world.result(pid)
    assert t["via"] == {d[1]: d[2]} and t["counts"]["no"] == 2 and t["counts"]["yes"] == 1
    G.undelegate(world.L, d[1])
    assert world.result(pid)["participation"] == 2


def test_role_requires_is_checked(world):
    with pytest.raises(Refused, match="tenure"):
        G.grant_role(world.L, world.dids[0], world.dids[1], "Elder")


def test_only_permitted_members_admit(world):
    """Who may admit is the host row's `who` (holds manage_members), evaluated by authority.py;
    the Steward holds it through the bylaws' role, a plain Member does not."""
    newcomer = "did:key:z6MkNewcomer"
    with pytest.raises(Refused, match="manage_members"):
        AUTH.authorize(world.L, AUTH.Principal(world.dids[1], world.coop), "add_member", (newcomer,))
    AUTH.authorize(world.L, AUTH.Principal(world.dids[0], world.coop), "add_member", (newcomer,))
    assert G.add_member(world.L, world.dids[0], newcomer)


# ---------------------------------------------------------------- hypothesis: recount and delegation

@settings(max_examples=120, deadline=None)
@given(st.lists(st.sampled_from(["yes", "no", "abstain", "block", None]), min_size=6, max_size=6),
       st.lists(st.integers(-1, 5), min_size=6, max_size=6),
       st.sampled_from([("majority", 1, 2), ("supermajority", 2, 3), ("consensus", 1, 1), ("unanimous", 1, 1)]),
       st.integers(0, 100))
def test_tally_equals_a_brute_force_recount(choices, delegations, threshold, quorum):
    w = World(n=6, threshold=threshold, quorum=quorum)
    for i, target in enumerate(delegations):
        if target >= 0 and target != i:
            G.delegate(w.L, w.dids[i], w.dids[target])
    pid = w.open()
    for i, c in enumerate(choices):
        if c is not None:
            w.vote(pid, i, c)
    t = w.result(pid)

    def follow(i):                       # brute force: walk the delegation graph by index
        seen = set()
        while i not in seen:
            if choices[i] is not None:
                return choices[i]
            seen.add(i)
            j = delegations[i]
            if j < 0 or j == i:
                return None
            i = j
        return None
    counted = [follow(i) for i in range(6)]
    votes = [c for c in counted if c is not None]
    yes, no, block = votes.count("yes"), votes.count("no"), votes.count("block")
    support = {"majority": yes * 2 > yes + no, "supermajority": yes * 3 > (yes + no) * 2,
               "consensus": block == 0 and yes > 0, "unanimous": yes == 6}[threshold[0]]
    quorum_met = len(votes) * 100 >= quorum * 6
    assert t["participation"] == len(votes) <= 6                 # nobody counted twice
    assert t["passed"] == (quorum_met and support)
    w.close()


# ---------------------------------------------------------------- the authority model on the engine

def test_founding_gives_the_founder_only_the_bylaws_founder_role(world):
    m0 = world.dids[0]
    assert G.coop(world.L)["founder"] == m0 and G.coop(world.L)["coop"] == world.coop
    assert G.permissions_of(world.L, m0) == {"manage_members", "manage_roles", "vote"}
    assert not G.has_permission(world.L, m0, "admin")                  # no all-powerful permission
    assert not G.has_permission(world.L, m0, "approve_loan")
    with pytest.raises(Refused) as e:
        G.found(world.L, world.coop, m0, [], demo=True)                # founded once
    assert e.value.rule == "founded"


def test_without_a_founder_role_the_builtin_one_manages_members_and_roles_only():
    store = SqliteStore.memory()
    with store.transaction() as tx:
        L = Ledger(EngineState(tx), 0)
        ana = Identity.from_seed("ana", b"\x01" * 32).did
        G.found(L, Identity.from_seed("coop", b"\xc0" * 32).did, ana, [], demo=True)
        assert G.roles_of(L, ana) == ["founder"]
        assert G.permissions_of(L, ana) == {"manage_members", "manage_roles"}
        with pytest.raises(Refused) as e:
            G.grant_role(L, ana, ana, "founder")                      # not a grantable role
        assert e.value.rule == "role_exists"
    store.close()


def test_nobody_grants_a_role_to_themself(world):
    with pytest.raises(Refused) as e:
        G.grant_role(world.L, world.dids[0], world.dids[0], "Member")
    assert e.value.rule == "self_grant"


def test_unknown_role_is_refused_with_a_did_you_mean(world):
    with pytest.raises(Refused) as e:
        G.grant_role(world.L, world.dids[0], world.dids[1], "Membr")
    assert e.value.rule == "role_exists" and "Member" in e.value.hint


def test_a_kind_no_adopted_module_declares_is_refused(world):
    before = canon.encode(world.L.s.scan("gov.proposals"))
    with pytest.raises(Refused) as e:
        G.open_proposal(world.L, world.dids[0], "LoanApproval", [])
    assert e.value.rule == "proposal_kind"
    with pytest.raises(Refused) as e:
        G.open_proposal(world.L, world.dids[0], "Motoin", [])
    assert e.value.rule == "proposal_kind" and "Motion" in e.value.hint      # did you mean
    with pytest.raises(Refused) as e:
        G.open_proposal(world.L, world.dids[0], "Other::Motion", [])
    assert e.value.rule == "proposal_kind"
    assert canon.encode(world.L.s.scan("gov.proposals")) == before


def test_non_members_open_and_execute_nothing(world):
    outsider = Identity.from_seed("x", b"\x99" * 32).did
    with pytest.raises(Refused) as e:
        G.open_proposal(world.L, outsider, "Coop::Motion", [])
    assert e.value.rule == "member"
    pid = world.open()
    for i in range(3):
        world.vote(pid, i, "yes")
    with pytest.raises(Refused) as e:
        G.begin_execution(world.at(4 * DAY).L, outsider, pid)
    assert e.value.rule == "member"


def test_leaving_takes_roles_delegations_both_ways_and_open_ballots(world):
    d = world.dids
    closed = world.open()
    world.vote(closed, 1, "yes")
    world.at(DAY)
    G.delegate(world.L, d[1], d[2])                  # bob → carol (bob's own delegation)
    G.delegate(world.L, d[3], d[1])                  # dan → bob (a delegation to bob)
    pid = world.open()
    world.vote(pid, 1, "no")
    world.vote(pid, 4, "yes")
    t = world.result(pid)
    assert t["eligible"] == 5 and t["participation"] == 3 and t["counts"]["no"] == 2   # bob carries dan
    world.at(5 * DAY)                                # `closed` has ended: its ballots are history
    pid2 = world.open()
    world.vote(pid2, 1, "no")
    world.vote(pid2, 2, "yes")
    G.remove_member(world.L, d[0], d[1])
    assert not G.is_member(world.L, d[1])
    assert G.roles_of(world.L, d[1]) == [] and not G.has_role(world.L, d[1], "Member")
    assert all("revoked" in x for _, x in world.L.s.scan("gov.delegations") if d[1] in (x["from"], x["to"]))
    p2 = G.proposal(world.L, pid2)
    assert d[1] not in p2["eligible"] and d[1] not in p2["ballots"]
    t = world.result(pid2)
    assert t["eligible"] == 4 and t["counts"] == {"yes": 1, "no": 0, "abstain": 0, "block": 0}
    assert d[3] not in t["via"]                      # dan's delegation to bob went with bob
    assert d[1] in G.proposal(world.L, closed)["ballots"]        # a finished vote keeps its ballots
    # the earlier proposal `pid` had ended too (3 days): it keeps bob as it was counted
    assert G.status(world.L, G.proposal(world.L, pid)) in ("defeated", "succeeded")
    # bob can no longer vote, delegate, or open
    with pytest.raises(Refused):
        world.vote(pid2, 1, "yes", seq=0)
    with pytest.raises(Refused):
        G.delegate(world.L, d[1], d[2])
    with pytest.raises(Refused):
        G.open_proposal(world.L, d[1], "Coop::Motion", [])
    with pytest.raises(Refused):
        G.remove_member(world.L, d[0], d[1])         # once


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["yes", "no", "abstain", None]), min_size=6, max_size=6),
       st.lists(st.integers(-1, 5), min_size=6, max_size=6),
       st.sets(st.integers(1, 5), max_size=3))
def test_tallies_count_only_members(choices, delegations, leaving):
    """Whoever leaves while a proposal is open stops counting, directly or through a delegation;
    the tally equals a recount on the members who stayed."""
    w = World(n=6, quorum=0)
    for i, target in enumerate(delegations):
        if target >= 0 and target != i:
            G.delegate(w.L, w.dids[i], w.dids[target])
    pid = w.open()
    for i, c in enumerate(choices):
        if c is not None:
            w.vote(pid, i, c)
    for i in sorted(leaving):
        G.remove_member(w.L, w.dids[0], w.dids[i])
    t = w.result(pid)
    stay = [i for i in range(6) if i not in leaving]

    def follow(i):
        seen = set()
        while i not in seen and i not in leaving:
            if choices[i] is not None:
                return choices[i]
            seen.add(i)
            j = delegations[i]
            if j < 0 or j == i:
                return None
            i = j
        return None
    votes = [c for c in (follow(i) for i in stay) if c is not None]
    assert t["eligible"] == len(stay)
    assert t["participation"] == len(votes)
    assert t["counts"]["yes"] == votes.count("yes") and t["counts"]["no"] == votes.count("no")
    assert set(t["via"]) <= {w.dids[i] for i in stay} and not set(t["via"].values()) & {w.dids[i] for i in leaving}
    w.close()


def test_an_execution_holds_exactly_what_its_kind_declares(world):
    coop = world.coop
    executing = AUTH.Principal(coop, coop, frozenset({"approve_loan"}))
    AUTH.authorize(world.L, executing, "approve_loan", ("loan-1",))      # declared: allowed
    with pytest.raises(Refused) as e:
        AUTH.authorize(world.L, executing, "add_member", ("did:key:z6MkX",))
    assert e.value.rule == "permission"
    assert "`add_member`" in e.value.message and "`manage_members`" in e.value.message
    # acting with the co-op's own accounts (`caller is from`) needs `treasury` in `can:`
    with pytest.raises(Refused) as e:
        AUTH.authorize(world.L, executing, "transfer_credit", (coop, world.dids[1], 5))
    assert e.value.rule == "permission" and "`treasury`" in e.value.message
    AUTH.authorize(world.L, AUTH.Principal(coop, coop, frozenset({"treasury"})), "transfer_credit",
                   (coop, world.dids[1], 5))
    # the member who triggers it cannot do either on their own
    with pytest.raises(Refused):
        AUTH.authorize(world.L, AUTH.Principal(world.dids[1], coop), "approve_loan", ("loan-1",))
    AUTH.guard(world.L, executing, "approve_loan")
    with pytest.raises(Refused):
        AUTH.guard(world.L, executing, "Steward")
