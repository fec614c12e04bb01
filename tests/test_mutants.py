"""Every built-in safety property can fail: a registered mutant (bug flag) breaks it.

For each model, ``ModelSpec.breaks`` declares which properties each bug flag
violates at the flag's own default bounds. This file checks that every safety
property (``always`` and ``always_step``) has such a mutant, that each
declared (flag, property) pair has a shortest BFS counterexample in
traces/corpus/<model>_<flag>__<Property>.json recorded with exactly the
flag's default parameters, that replaying it violates exactly that property,
and, where the check is cheap, that the correct model passes at those bounds.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from splitbrain.checker.cli import main
from splitbrain.checker.commands import property_table
from splitbrain.checker.explore import check
from splitbrain.models import registry
from splitbrain.properties.kinds import ALWAYS_STEP, SAFETY_KINDS
from splitbrain.traces.format import load, to_jsonable
from splitbrain.traces.replay import execute, replay

CORPUS = Path(__file__).resolve().parents[1] / "traces" / "corpus"
SPECS = registry.specs()

PAIRS = [(name, flag, prop) for name, spec in SPECS.items()
         for flag, props in spec.breaks.items() for prop in props]

# Flags whose bounds the correct model checks in well under 3 s (the others are
# checked at their bounds by the models' own test files, or in `splitbrain bench`).
CHEAP = {
    ("twophase", "commit_on_first_prepared"), ("bcastbyz", "forged_echo"),
    ("om", "trust_commander"), ("om", "majority_without_direct"),
    ("sm", "no_relay"), ("sm", "unchecked_signatures"),
    ("partitioner", "seed_tokens_kept"), ("partitioner", "tokens_by_position"),
    ("demo-register", "send_to_ackers"), ("demo-register", "relay_without_dedup"),
    ("demo-register", "volatile_log"), ("demo-lease", "volatile_lease"),
    ("crdt", "lww_merge"), ("crdt", "add_merge"), ("dynamo", "clock_skew"),
    ("bcastbyz", "independent_faulty"), ("chain", "read_from_head"),
    ("primary_backup", "no_fencing"), ("primary_backup", "read_without_confirm"),
}
# The other flags' bounds are checked elsewhere: paxos's defaults with TLC's counts
# (test_paxos_bugs.py), pbft's (test_byzantine.py), migration's (test_partitioning.py), the
# service models' (test_service_*.py), chain's ack_at_head shares read_from_head's bounds;
# paxoscommit's and Raft's larger bounds are bench entries (paxoscommit, raft-pass-*).


def corpus_file(name: str, flag: str, prop: str) -> Path:
    return CORPUS / f"{name.replace('-', '_')}_{flag}__{prop}.json"


def flag_params(name: str, flag: str) -> dict:
    """The parameters a model records when built with ``bug=flag`` and every other default."""
    return to_jsonable(registry.build(name, {"bug": flag}).params())


def build_with(name: str, params: dict):
    """The model built from recorded parameters (faults and network as the actor layer takes them)."""
    params = dict(params)
    declared = {p.name for p in registry.get(name).params}
    extra = {k: params.pop(k) for k in ("faults", "network") if k in params and k not in declared}
    return registry.build(name, params, **extra)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_safety_property_has_a_mutant(name):
    table = property_table(SPECS[name])
    uncovered = {p["name"] for p in table if p["kind"] in SAFETY_KINDS and not p["broken_by"]}
    assert not uncovered, f"{name}: no mutant breaks {sorted(uncovered)}"


@pytest.mark.parametrize("name", sorted(SPECS))
def test_breaks_names_real_flags_and_properties(name):
    spec = SPECS[name]
    known = {p["name"] for p in property_table(spec)}
    for flag, props in spec.breaks.items():
        assert flag in spec.bugs, f"{name}: breaks names unknown flag {flag}"
        assert props and set(props) <= known, f"{name} {flag}: unknown properties {set(props) - known}"


@pytest.mark.parametrize("name, flag, prop", PAIRS, ids=[f"{n}-{f}-{p}" for n, f, p in PAIRS])
def test_declared_pair_has_a_replayable_corpus_trace_at_the_flag_bounds(name, flag, prop):
    path = corpus_file(name, flag, prop)
    assert path.exists(), f"no corpus trace {path.name}"
    trace = load(path)
    assert (trace.model, trace.property) == (name, prop)
    assert trace.params == flag_params(name, flag), "the trace is not at the flag's default bounds"
    model = build_with(name, trace.params)
    kinds = {p.name: p for p in model.properties()}
    assert kinds[prop].kind in SAFETY_KINDS and trace.kind == kinds[prop].kind
    if trace.kind == ALWAYS_STEP:  # the last step breaks the step invariant
        states = execute(model, trace.init, trace.actions)
        assert trace.actions and not kinds[prop].condition(states[-2], trace.actions[-1], states[-1])
    else:
        report = replay(trace, model)
        assert report.reproduced, report.message


@pytest.mark.parametrize("name, flag", sorted(CHEAP))
def test_correct_model_passes_at_the_flag_bounds(name, flag):
    params = flag_params(name, flag)
    params["bug"] = "none"
    model = build_with(name, params)
    symmetry = SPECS[name].symmetry and getattr(model, "has_symmetry", False)
    r = check(model, symmetry=symmetry, check_deadlock=False)
    assert r.complete
    broken = [p.name for p in r.properties if p.kind in SAFETY_KINDS and p.holds is False]
    assert broken == [], f"the correct {name} fails at {flag}'s bounds: {broken}"


def test_cheap_list_names_real_flags():
    assert all(flag in SPECS[name].bugs for name, flag in CHEAP)


def test_list_json_gives_each_property_its_kind_and_mutants(capsys):
    assert main(["list", "--json"]) == 0
    models = {m["name"]: m for m in json.loads(capsys.readouterr().out)}
    paxos = {p["name"]: p for p in models["paxos"]["properties"]}
    assert paxos["Consistency"] == {"name": "Consistency", "kind": "always",
                                    "broken_by": ["ignore_highest_vote", "minority_quorum", "vote_below_promise"]}
    assert paxos["ValueChosen"]["broken_by"] == []
    # a property only a flag's defaults bring in: Unforg, under bcastbyz bug=forged_echo (init=nobcast)
    assert {"name": "Unforg", "kind": "always", "broken_by": ["forged_echo"]} in models["bcastbyz"]["properties"]


def test_list_text_shows_broken_by(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert any("TCConsistent" in line and "broken by commit_on_first_prepared" in line for line in out.splitlines())
