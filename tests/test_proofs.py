"""Z3 proofs for every cluster size: the shipped proofs pass, each Paxos
conjunct is shown necessary by a counterexample to induction (CTI), a wrong
Paxos fails with a small CTI, the Byzantine 2f-of-3f+1 counterexample is
found, the framework reports failures in protocol terms, and ``splitbrain
prove`` has the documented exit codes.
"""

from __future__ import annotations

import json

import pytest
import z3

from splitbrain.checker.cli import main
from splitbrain.checker.induction import ENABLED, FAILED, GOAL, INIT, PROVED, STEP, UNKNOWN, check_claim, prove
from splitbrain.properties import proofs
from splitbrain.properties.proofs import quorum
from splitbrain.properties.proofs.language import Protocol, insert


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# -- the shipped proofs pass ---------------------------------------------------


@pytest.mark.parametrize("name", ["quorum", "raft", "twophase"])  # paxos: the next test
def test_shipped_proof_passes(name):
    report = prove(proofs.build(name), timeout=60)
    assert report.verdict == PROVED, [(c.label, c.verdict, c.reason) for c in report.checks if c.verdict != PROVED]
    assert report.checks and all(c.verdict == PROVED for c in report.checks)


def test_paxos_proof_covers_every_obligation():
    """Init and every action against every conjunct, the goal, and each action's vacuity check."""
    proof = proofs.build("paxos")
    report = prove(proof, timeout=60)
    conjuncts, actions = proof.conjunct_names(), proof.action_names()
    assert actions == ["Phase1a", "Phase1b", "Phase2a", "Phase2b"]
    assert len(conjuncts) == 8
    for c in conjuncts:
        assert report.find(INIT, c).verdict == PROVED
        for a in actions:
            assert report.find(STEP, c, a).verdict == PROVED
    assert report.find(GOAL, "Agreement").verdict == PROVED
    for a in actions:
        assert report.find(ENABLED, None, a).verdict == PROVED
    assert len(report.checks) == len(conjuncts) * (1 + len(actions)) + 1 + len(actions)


# -- each Paxos conjunct: needed (a CTI) or redundant ------------------------------

# The first check that fails without each conjunct: (kind, action, conjunct).
# No conjunct of the Paxos invariant is redundant: dropping any one of them
# gives a counterexample to induction (or to Inv => Agreement).
PAXOS_DROPS = {
    "VotesBelowMaxBal": (STEP, "Phase1b", "OneBReportsVote"),
    "OneBPromise": (STEP, "Phase2a", "ProposalSafe"),
    "OneBReportsVote": (STEP, "Phase2a", "ProposalSafe"),
    "OneBReportsHighest": (STEP, "Phase2a", "ProposalSafe"),
    "OneValuePerBallot": (STEP, "Phase2a", "ProposalSafe"),
    "VoteHasProposal": (STEP, "Phase2a", "ProposalSafe"),
    "ProposalsAtRealBallots": (GOAL, None, "Agreement"),
    "ProposalSafe": (GOAL, None, "Agreement"),
}


def test_the_drop_table_names_every_paxos_conjunct():
    assert sorted(PAXOS_DROPS) == sorted(proofs.build("paxos").conjunct_names())


@pytest.mark.parametrize("dropped", sorted(PAXOS_DROPS))
def test_dropping_a_paxos_conjunct_gives_a_cti(dropped):
    """Every conjunct is necessary: without it the first failing check is the expected one, with a CTI."""
    report = prove(proofs.build("paxos"), drop=dropped, timeout=60, minimise=False, stop_at_first=True)
    assert report.verdict == FAILED
    first = report.failures()[0]
    assert (first.kind, first.action, first.conjunct) == PAXOS_DROPS[dropped]
    assert first.counterexample is not None
    assert first.counterexample.sizes["acceptor"] >= 1


def test_dropping_a_redundant_conjunct_still_proves():
    """Raft's VotesForCandidates is true but not needed for election safety: dropping it still proves."""
    report = prove(proofs.build("raft"), drop="VotesForCandidates", timeout=60)
    assert report.verdict == PROVED and report.dropped == "VotesForCandidates"
    assert "VotesForCandidates" not in {c.conjunct for c in report.checks}


@pytest.mark.parametrize("dropped", ["OneVotePerTerm", "LeaderHasQuorum"])
def test_raft_needs_one_vote_per_term_and_quorums(dropped):
    report = prove(proofs.build("raft"), drop=dropped, timeout=60)
    first = report.failures()[0]
    assert (first.kind, first.conjunct) == (GOAL, "ElectionSafety")
    assert first.counterexample.sizes["server"] == 2  # two leaders need two servers


# -- the deliberately wrong Paxos -------------------------------------------------


def test_wrong_paxos_fails_with_a_minimal_cti():
    """Phase 2a ignoring reported votes: one acceptor, two values, ballots -1 < 0 < 1."""
    report = prove(proofs.build("paxos", {"bug": "ignore_highest_vote"}), timeout=60)
    assert report.verdict == FAILED
    assert [(c.action, c.conjunct) for c in report.failures()] == [("Phase2a", "ProposalSafe")]
    cex = report.failures()[0].counterexample
    # By hand, the smallest CTI: a vote in ballot 0 reported in ballot 1 (ballots -1 < 0 < 1, -1 the
    # bottom of "no vote"), a second value to propose instead (two values), and one acceptor whose
    # singleton quorum reported it; none of these can be smaller.
    assert cex.sizes == {"acceptor": 1, "value": 2, "ballot": 3, "quorum": 1}
    sections = dict(cex.sections)
    assert sections["universe"] == ["acceptors: a1", "values: v1, v2", "ballots: -1 < 0 < 1", "quorum Q1 = {a1}"]
    pre = sections["pre-state (satisfies Inv)"]
    assert any(line.startswith("msg 2b(acc=a1, bal=0, val=") for line in pre)  # a1 voted in ballot 0...
    assert any(line.startswith("msg 1b(acc=a1, bal=1, mbal=0, mval=") for line in pre)  # ...and reported it
    assert len(sections["action"]) == 1 and sections["action"][0].startswith("Phase2a(b=1, v=")
    changes = sections["post-state changes"]
    assert len(changes) == 1 and changes[0].startswith("+ msg 2a(bal=1, val=")  # ...yet another value is proposed
    assert "Phase2a breaks ProposalSafe" in cex.text()


# -- quorum theorems ------------------------------------------------------------------


def test_byzantine_2f_counterexample_is_found():
    """Quorums of 2f out of 3f+1 can share no correct node: smallest case f=1, two disjoint pairs of 4."""
    report = prove(proofs.build("quorum"))
    check = report.find("claim", "TwoFQuorumsMissCorrect")
    assert check.verdict == PROVED
    lines = dict(check.counterexample.sections)["sets"]
    assert lines[0] == "f = 1, n = 4"
    sets = {}
    for line in lines[1:]:
        name, _, members = line.partition(" = ")
        sets[name] = {m for m in members.strip("{}").split(", ") if m}
    assert len(sets["nodes"]) == 4 and len(sets["Q1"]) == len(sets["Q2"]) == 2 and len(sets["faulty"]) <= 1
    assert not (sets["Q1"] & sets["Q2"]) - sets["faulty"]  # no correct node in common
    assert sets["Q1 & Q2"] == sets["Q1"] & sets["Q2"]
    assert report.find("claim", "TwoFCounterexampleEveryF").verdict == PROVED


def test_correct_overlap_fails_for_2f_quorums_and_holds_for_2f_plus_1():
    assert check_claim(quorum.correct_overlap("x", lambda f: 2 * f + 1, ""), 10, True).verdict == PROVED
    bad = check_claim(quorum.correct_overlap("x", lambda f: 2 * f, ""), 10, True)
    assert bad.verdict == FAILED and bad.counterexample is not None


# -- the framework on a toy protocol ------------------------------------------------


def lock_protocol(everyone_holds_initially: bool = False, dead_action: bool = False) -> Protocol:
    """A lock server: Acquire when free, Release when held; mutual exclusion."""
    p = Protocol("lock", "a lock server")
    N = p.sort("node", prefix="n")
    p.relation("locked")
    p.relation("holds", N)
    x = N.var("x")
    p.init(lambda s: z3.And(z3.Not(s.locked), z3.ForAll([x], s.holds(x) == everyone_holds_initially)))
    p.action("Acquire", {"n": N},
             lambda s, t, n: z3.And(z3.Not(s.locked), t.locked, insert(s, t, "holds", n)),
             modifies=["locked", "holds"])
    p.action("Release", {"n": N},
             lambda s, t, n: z3.And(s.holds(n), z3.Not(t.locked),
                                    z3.ForAll([x], t.holds(x) == z3.And(s.holds(x), x != n))),
             modifies=["locked", "holds"])
    if dead_action:
        p.action("Never", {}, lambda s, t: z3.BoolVal(False), modifies=[])
    p.conjunct("HolderLocked", {"n": N}, lambda s, n: z3.Implies(s.holds(n), s.locked))
    p.conjunct("OneHolder", {"a": N, "b": N}, lambda s, a, b: z3.Implies(z3.And(s.holds(a), s.holds(b)), a == b))
    p.goal("MutualExclusion", {"a": N, "b": N}, lambda s, a, b: z3.Implies(z3.And(s.holds(a), s.holds(b)), a == b))
    return p


def test_framework_proves_the_lock():
    assert prove(lock_protocol(), timeout=30).verdict == PROVED


def test_framework_cti_names_action_conjunct_and_parameters():
    """Without HolderLocked, a node may hold the lock while it is free, and another acquires it."""
    report = prove(lock_protocol(), drop="HolderLocked", timeout=30)
    first = report.failures()[0]
    assert (first.kind, first.action, first.conjunct) == (STEP, "Acquire", "OneHolder")
    cex = first.counterexample
    assert cex.sizes == {"node": 2}  # a holder and a second node that acquires: the fewest that break OneHolder
    sections = dict(cex.sections)
    pre = sections["pre-state (satisfies Inv)"]
    assert pre[0] == "locked = false" and len(pre) == 2 and pre[1] in ("holds(n1)", "holds(n2)")
    holder = pre[1][len("holds("):-1]
    other = "n2" if holder == "n1" else "n1"
    assert sections["action"] == [f"Acquire(n={other})"]
    assert sections["post-state changes"] == ["- locked = false", "+ locked = true", f"+ holds({other})"]
    assert sections["OneHolder' fails for"][0] in ("a=n1, b=n2", "a=n2, b=n1")


def test_framework_reports_initiation_failures():
    report = prove(lock_protocol(everyone_holds_initially=True), timeout=30)
    check = report.find(INIT, "OneHolder")
    assert check.verdict == FAILED
    assert check.counterexample.title == "an initial state violates OneHolder"
    assert check.counterexample.sizes == {"node": 2}  # everyone holds: OneHolder fails once there are two nodes


def test_framework_flags_a_never_enabled_action():
    report = prove(lock_protocol(dead_action=True), timeout=30)
    check = report.find(ENABLED, None, "Never")
    assert check.verdict == FAILED and "vacuous" in check.reason
    assert report.find(ENABLED, None, "Acquire").verdict == PROVED


def test_framework_gives_unknown_when_out_of_time():
    report = prove(proofs.build("raft"), timeout=0.0001)
    assert report.verdict == UNKNOWN
    assert any(c.verdict == UNKNOWN and c.reason for c in report.checks)


# -- the command line ------------------------------------------------------------------


def test_cli_proves_and_prints_each_conjunct_and_action(capsys):
    code, out, err = run_cli(capsys, "prove", "raft")
    assert code == 0
    for name in ("OneVotePerTerm", "LeaderHasQuorum", "VotesForCandidates", "Init", "Timeout", "GrantVote",
                 "BecomeLeader", "ElectionSafety", "enabled in Inv"):
        assert name in out
    assert out.rstrip().splitlines()[-1].startswith("PROVED")


def test_cli_drop_shows_the_cti_and_exits_1(capsys):
    code, out, err = run_cli(capsys, "prove", "raft", "--drop", "OneVotePerTerm")
    assert code == 1
    assert "a state satisfies Inv but violates ElectionSafety" in out
    assert out.rstrip().splitlines()[-1].startswith("NEEDED: without OneVotePerTerm")


def test_cli_drop_says_redundant(capsys):
    code, out, err = run_cli(capsys, "prove", "raft", "--drop", "VotesForCandidates")
    assert code == 0
    assert out.rstrip().splitlines()[-1].startswith("REDUNDANT: without VotesForCandidates")


def test_cli_json(capsys):
    code, out, err = run_cli(capsys, "prove", "twophase", "--json")
    data = json.loads(out)
    assert code == 0 and data["exit_code"] == 0 and data["verdict"] == "proved"
    assert data["proof"] == "twophase" and data["summary"].startswith("PROVED")
    assert {c["kind"] for c in data["checks"]} == {"init", "step", "goal", "enabled"}


def test_cli_failed_proof_exits_1_with_json_cti(capsys):
    code, out, err = run_cli(capsys, "prove", "raft", "--drop", "LeaderHasQuorum", "--json")
    data = json.loads(out)
    assert code == 1 and data["verdict"] == "failed"
    cex = next(c["counterexample"] for c in data["checks"] if c["verdict"] == "failed")
    assert cex["title"] == "a state satisfies Inv but violates ElectionSafety"


def test_cli_unknown_exits_3(capsys):
    code, out, err = run_cli(capsys, "prove", "raft", "--timeout", "0.0001")
    assert code == 3
    assert out.rstrip().splitlines()[-1].startswith("UNKNOWN")


@pytest.mark.parametrize("argv,fragment", [
    (["prove", "nosuch"], "unknown proof 'nosuch' (known: paxos, quorum, raft, twophase)"),
    (["prove", "paxos", "--drop", "Nope"], "proof paxos has no conjunct 'Nope' (conjuncts: VotesBelowMaxBal,"),
    (["prove", "quorum", "--drop", "X"], "(conjuncts: none)"),
    (["prove", "paxos", "-p", "bug=nonsense"], "expected one of none, ignore_highest_vote"),
    (["prove", "paxos", "-p", "colour=red"], "has no parameter 'colour'"),
    (["prove", "paxos", "--timeout", "-1"], "--timeout must be positive"),
])
def test_cli_usage_errors_are_one_line_and_exit_2(capsys, argv, fragment):
    code, out, err = run_cli(capsys, *argv)
    assert code == 2
    assert fragment in err and len(err.strip().splitlines()) == 1


def test_cli_help_documents_the_exit_codes(capsys):
    code, out, err = run_cli(capsys, "prove", "--help")
    assert code == 0
    assert "0  proved" in out and "1  a check failed" in out and "3  unknown" in out


# The commands of README.md's "Proofs for every cluster size", as written there, and their exit codes.
README_PROVE = [
    (["prove", "quorum"], 0, "PROVED: every claim holds"),
    (["prove", "paxos"], 0, "PROVED: Init => Inv, every action preserves Inv, and Inv => Agreement"),
    (["prove", "paxos", "--drop", "OneBReportsHighest"], 1,
     "NEEDED: without OneBReportsHighest, Inv /\\ Phase2a => ProposalSafe' fails"),
    (["prove", "raft"], 0, "PROVED: Init => Inv, every action preserves Inv, and Inv => ElectionSafety"),
    (["prove", "twophase"], 0, "PROVED: Init => Inv, every action preserves Inv, and Inv => "),
]


@pytest.mark.parametrize("argv,code,verdict", README_PROVE, ids=[" ".join(a[1:]) for a, _, _ in README_PROVE])
def test_readme_prove_commands(capsys, argv, code, verdict):
    got, out, err = run_cli(capsys, *argv)
    assert got == code
    assert out.rstrip().splitlines()[-1].startswith(verdict)
    if code == 1:
        assert "Phase2a breaks ProposalSafe: a counterexample to induction" in out
