"""Fault injection: the --faults language, partition shapes, each fault being necessary for a
violation, symmetry, and replay of fault traces."""

from __future__ import annotations

import json

import networkx as nx
import pytest

from splitbrain.checker.cli import main
from splitbrain.checker.explore import check
from splitbrain.models import registry
from splitbrain.models.examples.lease import Lease
from splitbrain.models.examples.register import Register
from splitbrain.models.faults import FaultConfig, bridges, halves, isolate, partition_options, rings
from splitbrain.models.registry import UsageError
from splitbrain.traces.format import load
from splitbrain.traces.replay import model_for, replay


# -- the --faults language -------------------------------------------------------------

def test_the_brief_example_parses_and_round_trips():
    text = "partition=1,crash=1,restart,loss,dup,clock-skew=2,clock-jump=1,byzantine=1"
    cfg = FaultConfig.parse(text)
    assert (cfg.partition, cfg.crash, cfg.restart, cfg.loss, cfg.dup) == (1, 1, True, None, None)
    assert (cfg.clock_skew, cfg.clock_jump, cfg.clock_jumps, cfg.byzantine) == (2, 1, 1, 1)
    assert FaultConfig.parse(cfg.spec()) == cfg
    assert cfg.kinds() == {"partition", "crash", "restart", "loss", "dup", "clock-skew", "clock-jump", "byzantine"}


@pytest.mark.parametrize("text", ["none", "", "shapes=isolate+ring,partition=2,partition-drop",
                                  "one-way=3,reorder=1,clock-jump=2,clock-jumps=3,byzantine=2,byzantine-msgs=4"])
def test_specs_round_trip(text):
    cfg = FaultConfig.parse(text)
    assert FaultConfig.parse(cfg.spec()) == cfg


def test_bare_budgets_mean_no_limit_and_bare_sizes_mean_one():
    cfg = FaultConfig.parse("crash,loss,clock-skew,byzantine")
    assert cfg.crash is None and cfg.loss is None
    assert cfg.clock_skew == 1 and cfg.byzantine == 1


@pytest.mark.parametrize("text,fragment", [
    ("flood=1", "unknown fault 'flood'"),
    ("crash=x", "fault crash='x': expected a non-negative integer"),
    ("crash=-1", "expected a non-negative integer"),
    ("restart=2", "fault restart takes no value"),
    ("restart", "restart needs crash"),
    ("partition-drop", "partition-drop needs partition or one-way"),
    ("crash=1,crash=2", "fault crash given twice"),
    ("shapes=blob,partition", "unknown partition shape 'blob'"),
    ("clock-jumps", "fault clock-jumps needs a value"),
    ("loss,,dup", "empty item"),
])
def test_bad_fault_strings_raise_one_line(text, fragment):
    with pytest.raises(UsageError) as err:
        FaultConfig.parse(text)
    assert fragment in str(err.value) and "\n" not in str(err.value)


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("argv,fragment", [
    (["check", "demo-register", "--faults", "flood"], "unknown fault 'flood'"),
    (["check", "demo-register", "--faults", "crash=lots"], "fault crash='lots'"),
    (["check", "demo-register", "--faults", "clock-skew=2"], "does not support fault clock-skew"),
    (["check", "demo-register", "--network", "carrier-pigeon"], "invalid choice"),
    (["check", "demo-register", "--network", "unordered", "--faults", "reorder"], "reorder applies to a fifo network"),
    (["check", "demo-lease", "--faults", "dup"], "needs max_in_flight"),
    (["check", "twophase", "--faults", "loss"], "model twophase does not support faults"),
    (["check", "twophase", "--network", "fifo"], "model twophase does not support faults"),
])
def test_cli_fault_mistakes_exit_2_with_one_line(capsys, argv, fragment):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert fragment in err
    assert len(err.strip().splitlines()) == 1


def test_list_shows_the_faults_a_model_supports(capsys):
    code, out, err = run(capsys, "list", "--json")
    assert code == 0
    faults = {m["name"]: m["faults"] for m in json.loads(out)}
    assert "reorder" in faults["demo-register"] and "clock-skew" not in faults["demo-register"]
    assert {"clock-skew", "clock-jump", "byzantine", "restart"} <= set(faults["demo-lease"])


# -- partition shapes -----------------------------------------------------------------

N3, N4, N5 = ("a", "b", "c"), ("a", "b", "c", "d"), ("a", "b", "c", "d", "e")


def test_shape_counts():
    assert len(isolate(N5)) == 5
    assert len(halves(N5)) == 10          # every 2-node minority
    assert len(halves(N4)) == 3           # the 2|2 splits
    assert len(bridges(N3)) == 3          # each node bridging the other two
    assert len(rings(N3)) == 0 and len(rings(N4)) == 3 and len(rings(N5)) == 12


def test_partition_groups_are_cliques_and_cuts_are_the_missing_links():
    opts = dict(partition_options(N3, ("bridge",)))
    groups = (("a", "b"), ("b", "c"))      # b bridges a and c
    assert opts[groups] == frozenset({("a", "c"), ("c", "a")})
    options = partition_options(N5, ("isolate", "halves"))
    assert (("a",), ("b", "c", "d", "e")) in dict(options)
    assert (("a", "b"), ("c", "d", "e")) in dict(options)
    assert len(options) == 5 + 10
    rings5 = partition_options(N5, ("ring",))
    assert all(len(groups) == 5 and all(len(g) == 2 for g in groups) for groups, _ in rings5)


def test_duplicate_cuts_are_offered_once():
    # With three nodes a majority/minority split is an isolation.
    assert len(partition_options(N3, ("isolate", "halves"))) == 3


def test_user_topology():
    star = nx.Graph([("c", "r1"), ("c", "r2")])          # r1 and r2 cannot talk
    assert partition_options(("c", "r1", "r2"), (), [star]) == [
        ((("c", "r1"), ("c", "r2")), frozenset({("r1", "r2"), ("r2", "r1")}))]
    with pytest.raises(ValueError, match="unknown nodes"):
        partition_options(("c", "r1"), (), [nx.Graph([("c", "zz")])])
    with pytest.raises(ValueError, match="undirected"):
        partition_options(("c", "r1"), (), [nx.DiGraph([("c", "r1")])])


# -- each fault is necessary for some violation ---------------------------------------

# (fault kind, model factory, its arguments, --faults, the property the fault breaks)
NECESSARY = [
    ("loss", Register, {}, "loss", "Convergence"),
    ("duplication", Register, {}, "dup=1", "AtMostOnce"),
    ("reordering", Register, {}, "reorder=1", "Convergence"),
    ("partition", Register, {}, "partition=1,partition-drop", "Convergence"),
    ("one-way link loss", Register, {}, "one-way=1,partition-drop", "Convergence"),
    ("crash-stop", Register, {}, "crash=1", "Durability"),
    ("crash-recovery, volatile field", Lease, {"bug": "volatile_lease", "max_time": 3}, "crash=1,restart",
     "MutualExclusion"),
    ("clock skew", Lease, {}, "clock-skew=2", "MutualExclusion"),
    ("clock jump", Lease, {}, "clock-jump=2", "MutualExclusion"),
    ("Byzantine node", Lease, {}, "byzantine=1", "MutualExclusion"),
]


def _violated(result):
    return {p.name for p in result.properties if p.holds is False}


@pytest.mark.parametrize("kind,factory,kwargs,faults,prop", NECESSARY, ids=[n[0] for n in NECESSARY])
def test_each_fault_is_necessary_for_a_violation(kind, factory, kwargs, faults, prop):
    with_fault = check(factory(faults=faults, **kwargs))
    assert with_fault.verdict == "violation"
    assert _violated(with_fault) == {prop}
    without = check(factory(faults="none", **kwargs), stop_at_first=False)
    assert without.verdict == "ok", _violated(without)
    assert without.prop(prop).holds is True


def test_crash_recovery_needs_both_the_restart_and_the_volatile_field():
    assert check(Lease(bug="volatile_lease", max_time=3, faults="crash=1")).verdict == "ok"   # crash-stop
    assert check(Lease(max_time=3, faults="crash=1,restart")).verdict == "ok"                 # durable table


def test_weaker_faults_do_not_break_the_lease():
    assert check(Lease(faults="clock-skew=1")).verdict == "ok"
    assert check(Lease(faults="clock-jump=1")).verdict == "ok"


def test_partitions_that_hold_messages_only_delay_them():
    # An asynchronous model delays messages anyway: only lossy partitions break the register.
    assert check(Register(faults="partition=1")).verdict == "ok"
    assert check(Register(faults="one-way=1")).verdict == "ok"


def test_crash_stop_durability_holds_with_enough_acks_or_with_restart():
    assert check(Register(acks=2, faults="crash=1")).verdict == "ok"
    assert check(Register(faults="crash=1,restart")).verdict == "ok"


def test_network_semantics_are_a_setting():
    unordered = check(Register(network="unordered"))
    assert _violated(unordered) == {"Convergence"}          # writes overtake each other
    duplicating = check(Register(network="duplicating"))
    assert _violated(duplicating) == {"AtMostOnce"}         # a write is delivered twice


# -- symmetry --------------------------------------------------------------------------

# Distinct states without and with symmetry, measured (full searches):
SYMMETRY = [
    (Register, {}, None, 31, 18),
    (Register, {}, "loss", 145, 77),
    (Register, {}, "dup=1", 313, 162),
    (Register, {}, "crash=1,restart", 155, 85),
    (Lease, {}, None, 644, 325),
    (Lease, {}, "byzantine=1", 794, 420),
    (Lease, {"max_time": 3}, "clock-jump=1", 2064, 1038),
    (Lease, {}, "clock-skew=1", 3831, 1923),
]


@pytest.mark.parametrize("factory,kwargs,faults,full,reduced", SYMMETRY)
def test_symmetry_gives_the_same_verdicts_with_fewer_states(factory, kwargs, faults, full, reduced):
    plain = check(factory(faults=faults, **kwargs), stop_at_first=False)
    sym = check(factory(faults=faults, **kwargs), stop_at_first=False, symmetry=True)
    assert [(p.name, p.holds) for p in plain.properties] == [(p.name, p.holds) for p in sym.properties]
    assert (plain.distinct_states, sym.distinct_states) == (full, reduced)


def test_symmetric_counterexamples_replay():
    result = check(Register(faults="crash=1"), symmetry=True)
    assert result.verdict == "violation"
    assert replay(result.counterexample, Register(faults="crash=1")).reproduced


# -- traces of faults replay ------------------------------------------------------------

@pytest.mark.parametrize("kind,factory,kwargs,faults,prop", NECESSARY, ids=[n[0] for n in NECESSARY])
def test_fault_traces_round_trip_through_json_and_replay(tmp_path, kind, factory, kwargs, faults, prop):
    name = {Register: "demo-register", Lease: "demo-lease"}[factory]
    model = registry.build(name, kwargs, faults=faults)
    result = check(model)
    trace = result.counterexample
    assert trace.property == prop and trace.params["faults"] == FaultConfig.parse(faults).spec()
    loaded = load(trace.save(tmp_path / "t.json"))
    assert loaded.actions == trace.actions
    rebuilt = model_for(loaded)
    assert rebuilt.faults == model.faults and rebuilt.network.kind == model.network.kind
    report = replay(loaded)
    assert report.reproduced, report.message


def test_cli_check_then_replay_a_fault_trace(capsys, tmp_path):
    out_file = tmp_path / "lease.json"
    code, out, err = run(capsys, "check", "demo-lease", "--faults", "clock-skew=2", "--symmetry",
                         "--trace-out", str(out_file), "-q")
    assert code == 1 and "MutualExclusion" in out
    data = json.loads(out_file.read_text())
    assert data["params"]["faults"] == "clock-skew=2" and data["params"]["network"] == "unordered"
    assert any(a[0] == "tick" and len(a) == 2 for a in data["actions"])   # one clock at a time
    code, out, err = run(capsys, "replay", str(out_file), "-q")
    assert code == 0 and "reproduced" in out


def test_cli_network_flag_reaches_the_model(capsys, tmp_path):
    out_file = tmp_path / "reg.json"
    code, out, err = run(capsys, "check", "demo-register", "--network", "unordered", "--json",
                         "--trace-out", str(out_file))
    assert code == 1
    assert json.loads(out)["params"]["network"] == "unordered"
    assert main(["replay", str(out_file), "-q"]) == 0
