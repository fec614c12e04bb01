"""Partitioning schemes: owners, determinism, minimal disruption, range coverage,
checked exhaustively (the ``partitioner`` model) and with Hypothesis; and the
measurements beside their theory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from splitbrain.checker.cli import main
from splitbrain.checker.explore import check
from splitbrain.models import registry
from splitbrain.models.partitioning import (
    CompositePartitioner, DirectoryPartitioner, JumpPartitioner, ModuloPartitioner, Partitioner,
    RangePartitioner, RendezvousPartitioner, RingPartitioner, jump_hash, make, stable_hash,
)
from splitbrain.models.partitioning.measure import measure, table
from splitbrain.properties.partitioning import (
    all_queries, coverage_problem, determinism_problem, disruption_problem, moves, owner_problem,
    range_query_problem,
)
from splitbrain.traces.replay import replay

ROOT = Path(__file__).resolve().parent.parent
FAST = settings(max_examples=60, deadline=None, database=None, derandomize=True)


def checked(**params):
    model = registry.build("partitioner", params)
    return model, check(model, stop_at_first=False)


def verdicts(result):
    return {p.name: p.holds for p in result.properties}


# -- the hash functions ---------------------------------------------------------------


def test_jump_hash_matches_published_values():
    # Values of jumpConsistentHash(key, buckets) in ClickHouse's test suite
    # (and jump.hash(256, 1024) == 520 in the jump-consistent-hash package).
    cases = [((1, 1), 0), ((42, 57), 43), ((256, 1024), 520), ((3735883980, 1), 0),
             ((3735883980, 666), 361), ((16045690984833335023, 255), 237)]
    assert [jump_hash(*args) for args, _ in cases] == [want for _, want in cases]


def test_stable_hash_distinguishes_types_and_nesting():
    values = [1, "1", b"1", (1,), ((1,),), (1, 2), ((1, 2),), "", ()]
    assert len({stable_hash(v) for v in values}) == len(values)
    with pytest.raises(TypeError):
        stable_hash(1.5)


SNIPPET = """
import json
from splitbrain.models.partitioning import make
keys = [f"user:{i}" for i in range(200)]
out = {}
for scheme in ("modulo", "ring", "rendezvous", "jump", "directory"):
    p = make(scheme, ["a", "b", "c", "d"], shards=64)
    out[scheme] = [p.owner(k) for k in keys]
print(json.dumps(out))
"""


def test_ownership_is_the_same_in_processes_with_different_hash_seeds():
    runs = []
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=str(ROOT))
        proc = subprocess.run([sys.executable, "-c", SNIPPET], capture_output=True, text=True, env=env,
                              cwd=ROOT, check=True)
        runs.append(json.loads(proc.stdout))
    assert runs[0] == runs[1]
    here = {s: [make(s, ["a", "b", "c", "d"], shards=64).owner(f"user:{i}") for i in range(200)] for s in runs[0]}
    assert runs[0] == here
    assert len(set(here["ring"])) == 4  # every node owns something


# -- exhaustive checks of the partitioner model ---------------------------------------------


def test_modulo_breaks_minimal_disruption_with_a_one_step_trace(tmp_path):
    model, result = checked(scheme="modulo", keys=4)
    assert result.verdict == "violation"
    assert verdicts(result)["MinimalDisruption"] is False
    assert verdicts(result)["ExactlyOneOwner"] is True
    trace = result.prop("MinimalDisruption").trace
    assert trace.actions == [("join", "n2")]  # from {n0, n1}, one join suffices
    # The step names a key that moved between two old nodes.
    assert "MinimalDisruption violated: n2 joined, yet key 'k" in trace.steps[0]
    before, after = trace.states[0]["owners"], trace.states[1]["owners"]
    assert any(before[k] != after[k] and after[k] != "n2" for k in before)
    path = tmp_path / "modulo.json"
    trace.save(path)
    from splitbrain.traces.format import load

    assert replay(load(path)).reproduced


def test_modulo_with_replicas_breaks_minimal_disruption_too():
    _, result = checked(scheme="modulo", replicas=2, keys=6)
    assert verdicts(result)["MinimalDisruption"] is False
    assert verdicts(result)["ExactlyRDistinctOwners"] is True


@pytest.mark.parametrize("params", [
    {"scheme": "ring"}, {"scheme": "ring", "replicas": 3, "vnodes": 2},
    {"scheme": "rendezvous"}, {"scheme": "rendezvous", "replicas": 2},
    {"scheme": "jump", "nodes": 6},
])
def test_consistent_schemes_hold_every_property(params):
    _, result = checked(**params)
    assert result.verdict == "ok", [(p.name, p.holds) for p in result.properties]
    assert result.complete and result.distinct_states > 5
    assert all(p.holds for p in result.properties)


@pytest.mark.parametrize("params,names", [
    ({"scheme": "range", "keys": 5}, {"Coverage", "RangeQueryContiguous"}),
    ({"scheme": "directory", "keys": 6, "shards": 3}, set()),
    ({"scheme": "composite", "keys": 3}, {"Coverage", "RangeQueryContiguous"}),
])
def test_layout_schemes_hold_every_property(params, names):
    model, result = checked(**params)
    assert result.verdict == "ok", [(p.name, p.holds) for p in result.properties]
    assert names <= set(verdicts(result))
    assert all(p.holds for p in result.properties)
    # Explicit steps and membership changes are all enabled within three steps.
    level, kinds = model.init_states(), set()
    for _ in range(3):
        steps = [(a, t) for s in level for a, t in model.successors(s)]
        kinds |= {a[0] for a, _ in steps}
        level = list({t for _, t in steps})
    assert kinds >= {"join", "leave", "move"}
    assert ("split" in kinds and "merge" in kinds) == bool(names)


def test_jump_only_grows_and_shrinks_at_the_last_bucket():
    model = registry.build("partitioner", {"scheme": "jump", "nodes": 4, "start": 3})
    (state,) = model.init_states()
    assert [a for a, _ in model.successors(state)] == [("join", "n3"), ("leave", "n2")]
    with pytest.raises(ValueError, match="last bucket"):
        JumpPartitioner(["a", "b", "c"]).leave("a")


def test_bad_parameters_are_usage_errors():
    with pytest.raises(registry.UsageError, match="replicas must be 1"):
        registry.build("partitioner", {"scheme": "range", "replicas": "2"})
    with pytest.raises(registry.UsageError, match="start"):
        registry.build("partitioner", {"scheme": "ring", "start": "9"})


# -- the property predicates fail on broken layouts ------------------------------------------


def test_coverage_problem_names_gaps_overlaps_and_strays():
    assert coverage_problem([(0, 3, "a"), (3, 6, "b")], 6) is None
    assert "gap: keys [3, 4)" in coverage_problem([(0, 3, "a"), (4, 6, "b")], 6)
    assert "overlap: keys [2, 3)" in coverage_problem([(0, 3, "a"), (2, 6, "b")], 6)
    assert "gap: keys [5, 6)" in coverage_problem([(0, 5, "a")], 6)
    assert "outside" in coverage_problem([(0, 7, "a")], 6)
    assert "empty" in coverage_problem([(0, 0, "a"), (0, 6, "b")], 6)


def test_range_query_problem_catches_a_run_broken_by_an_overlap():
    good = RangePartitioner.even(12, ["a", "b", "c"])
    assert range_query_problem(good, all_queries(12)) is None
    # A range nested inside another: a query inside the outer one skips it.
    broken = RangePartitioner(12, [(0, 10, "a"), (2, 3, "b"), (3, 12, "c")])
    assert "query [4, 5) touches the non-contiguous ranges [0, 2]" == range_query_problem(broken, [(4, 5)])
    # query() answers from the range starts alone, so it misses range 0 here.
    assert "visits ranges [1], but its keys lie in ranges [0, 1]" in range_query_problem(broken, [(2, 3)])


def test_owner_problem_catches_missing_dead_and_repeated_owners():
    gap = RangePartitioner(6, [(0, 3, "a"), (4, 6, "b")])
    assert "key 3 has 0 owners" in owner_problem(gap, range(6))
    dead = RangePartitioner(6, [(0, 6, "a")], nodes=["b"])
    assert "not a live member" in owner_problem(dead, range(6))

    class Repeats(Partitioner):
        nodes, replicas = ("a", "b"), 2

        def owners(self, key):
            return ("a", "a")

        def join(self, node):
            return self

        def leave(self, node):
            return self

    assert "repeated owners" in owner_problem(Repeats(), [1])


def test_determinism_problem_catches_order_dependent_ownership():
    class FirstListed(Partitioner):
        def __init__(self, nodes):
            self.nodes = tuple(nodes)

        def owners(self, key):
            return (self.nodes[0],)

        def join(self, node):
            return FirstListed(self.nodes + (node,))

        def leave(self, node):
            return FirstListed(n for n in self.nodes if n != node)

    assert determinism_problem([lambda: FirstListed("ab"), lambda: FirstListed("ba")], [1])
    assert determinism_problem([lambda: make("ring", "ab"), lambda: make("ring", "ba")], range(50)) is None


def test_disruption_problem_on_explicit_steps():
    part = RangePartitioner.even(8, ["a", "b"])
    assert disruption_problem(part, part.split(1, 6, "a"), range(8)) is None
    assert disruption_problem(part, part.merge(0), range(8)) is None
    # Two ranges changing hands in one step is not one explicit move.
    swapped = part.move(0, "b").move(1, "a")
    assert "out of 2 partitions" in disruption_problem(part, swapped, range(8))


# -- Hypothesis over large key spaces -------------------------------------------------------

node_sets = st.lists(st.integers(0, 10_000), min_size=3, max_size=40, unique=True)
big_keys = st.lists(st.one_of(st.integers(0, 2**64), st.text(max_size=12)), min_size=20, max_size=60, unique=True)


@FAST
@given(scheme=st.sampled_from(["ring", "rendezvous", "jump"]), nodes=node_sets, keys=big_keys,
       replicas=st.integers(1, 3), newcomer=st.integers(10_001, 20_000), data=st.data())
def test_consistent_schemes_move_only_what_they_must(scheme, nodes, keys, replicas, newcomer, data):
    replicas = 1 if scheme == "jump" else min(replicas, len(nodes) - 1)  # a leave keeps enough nodes
    part = make(scheme, nodes, replicas=replicas, vnodes=8)
    assert owner_problem(part, keys) is None
    joined = part.join(newcomer)
    assert owner_problem(joined, keys) is None
    assert disruption_problem(part, joined, keys) is None
    for _, before, after in moves(part, joined, keys):
        assert newcomer in after
    leaver = part.nodes[-1] if scheme == "jump" else data.draw(st.sampled_from(part.nodes))
    left = part.leave(leaver)
    assert owner_problem(left, keys) is None
    assert disruption_problem(part, left, keys) is None
    for _, before, after in moves(part, left, keys):
        assert leaver in before


def test_modulo_moves_keys_between_old_nodes_at_every_size():
    keys = range(200)
    for n in range(3, 30):
        part = ModuloPartitioner(range(n))
        problem = disruption_problem(part, part.join(n), keys)
        assert problem is not None and f"{n} joined" in problem
        assert disruption_problem(part, part.leave(0), keys) is not None


@FAST
@given(nodes=node_sets, keys=big_keys, replicas=st.integers(2, 3))
def test_replicas_are_next_distinct_nodes_and_top_weights(nodes, keys, replicas):
    ring = RingPartitioner(nodes, vnodes=3, replicas=replicas)
    hrw = RendezvousPartitioner(nodes, replicas=replicas)
    single_ring = RingPartitioner(nodes, vnodes=3)
    single_hrw = RendezvousPartitioner(nodes)
    tokens = sorted((stable_hash(("vnode", n, i)), n) for n in ring.nodes for i in range(3))
    for key in keys:
        h = stable_hash(key)
        clockwise = [n for t, n in tokens if t >= h] + [n for t, n in tokens if t < h]
        assert ring.owners(key) == tuple(dict.fromkeys(clockwise))[:replicas]
        assert ring.owners(key)[0] == single_ring.owner(key)
        weights = hrw.weights(key)
        by_weight = sorted(range(len(weights)), key=lambda i: -weights[i])
        assert hrw.owners(key) == tuple(hrw.nodes[i] for i in by_weight[:replicas])
        assert hrw.owners(key)[0] == single_hrw.owner(key)


SPACE = 2**32
range_ops = st.lists(st.tuples(st.sampled_from(["split", "merge", "move", "join", "leave"]),
                               st.integers(0, 2**40), st.integers(0, 2**40)), max_size=25)


@FAST
@given(ops=range_ops, probes=st.lists(st.integers(0, SPACE - 1), min_size=10, max_size=30))
def test_range_layouts_stay_covering_and_contiguous(ops, probes):
    part = RangePartitioner.even(SPACE, [0, 1, 2])
    newcomer = 100
    queries = [(min(a, b), max(a, b) + 1) for a, b in zip(probes, probes[1:])]
    for kind, x, y in ops:
        before = part
        if kind == "split":
            i = x % len(part.parts)
            lo, hi, _ = part.parts[i]
            if hi - lo < 2:
                continue
            part = part.split(i, lo + 1 + y % (hi - lo - 1), part.nodes[y % len(part.nodes)])
        elif kind == "merge" and len(part.parts) > 1:
            part = part.merge(x % (len(part.parts) - 1))
        elif kind == "move":
            part = part.move(x % len(part.parts), part.nodes[y % len(part.nodes)])
        elif kind == "join":
            part, newcomer = part.join(newcomer), newcomer + 1
        elif kind == "leave" and len(part.nodes) > 1:
            part = part.leave(part.nodes[x % len(part.nodes)])
        assert coverage_problem(part.parts, SPACE) is None
        assert owner_problem(part, probes) is None
        assert range_query_problem(part, queries) is None
        assert disruption_problem(before, part, probes) is None


@FAST
@given(ops=st.lists(st.tuples(st.sampled_from(["move", "join", "leave"]), st.integers(0, 10**6)), max_size=20),
       keys=big_keys)
def test_directory_moves_and_rebalances_minimally(ops, keys):
    part = DirectoryPartitioner.round_robin(64, ["a", "b", "c"])
    newcomer = 0
    for kind, x in ops:
        before = part
        if kind == "move":
            part = part.move(x % 64, part.nodes[x % len(part.nodes)])
        elif kind == "join":
            part, newcomer = part.join(f"n{newcomer}"), newcomer + 1
            assert part.load()[f"n{newcomer - 1}"] == 64 // len(part.nodes)
        elif len(part.nodes) > 1:
            part = part.leave(part.nodes[x % len(part.nodes)])
        assert owner_problem(part, keys) is None
        assert disruption_problem(before, part, keys) is None


@FAST
@given(keys=st.lists(st.tuples(st.text(max_size=8), st.integers(0, 999)), min_size=20, max_size=60),
       newcomer=st.integers(100, 200), leaver=st.integers(0, 11))
def test_composite_keeps_a_prefix_in_one_group_and_moves_minimally(keys, newcomer, leaver):
    part = CompositePartitioner.even(1000, range(12), groups=3)
    assert owner_problem(part, keys) is None
    for prefix, _ in keys:
        g, run = part.query(prefix, 0, 1000)
        assert all(part.partition_of((prefix, s))[0] == g for s in (0, 500, 999))
        assert list(run) == list(range(len(part.groups[g].parts)))
    for after in (part.join(newcomer), part.leave(leaver)):
        assert owner_problem(after, keys) is None
        assert disruption_problem(part, after, keys) is None


# -- measurements ------------------------------------------------------------------------


def test_measured_moved_fractions_are_near_theory():
    rows = table(node_counts=(4, 16), key_count=5000, vnode_counts=(1, 256))
    assert len(rows) == 2 * 8
    for r in rows:
        if r.scheme in ("modulo", "rendezvous", "jump", "directory", "range") or r.vnodes == 256:
            assert abs(r.moved_join - r.theory_join) <= 0.25 * r.theory_join, r
            assert abs(r.moved_leave - r.theory_leave) <= 0.25 * r.theory_leave, r
        assert (r.stray_moves > 0) == (r.scheme == "modulo"), r
        assert r.max_over_mean >= 1.0 and r.lookup_us > 0
    ring = {r.vnodes: r for r in rows if r.scheme == "ring" and r.nodes == 16}
    assert ring[256].max_over_mean < ring[1].max_over_mean  # virtual nodes even out the load


def test_range_join_moves_half_of_one_range():
    row = measure("range", 8, 8000)
    assert (row.moved_join, row.moved_leave, row.max_over_mean) == (1 / 16, 1 / 8, 1.0)


def test_partition_command_prints_the_table(capsys):
    code = main(["partition", "--keys", "400", "--nodes", "4", "--vnodes", "1,16", "--scheme", "ring",
                 "--scheme", "modulo"])
    out = capsys.readouterr().out
    assert code == 0
    assert "moved on join" in out and "(theory)" in out
    lines = [ln.split() for ln in out.splitlines() if ln.startswith(("ring", "modulo"))]
    assert [(ln[0], ln[1]) for ln in lines] == [("ring", "1"), ("ring", "16"), ("modulo", "-")]
    assert lines[2][5] == "0.8000"  # modulo's theoretical join fraction n/(n+1) at n = 4


def test_partition_command_json_rows(capsys):
    code = main(["partition", "--keys", "300", "--nodes", "4", "--scheme", "jump", "--json"])
    rows = [json.loads(ln) for ln in capsys.readouterr().out.splitlines()]
    assert code == 0 and len(rows) == 1 and rows[0]["scheme"] == "jump" and rows[0]["stray_moves"] == 0


@pytest.mark.parametrize("argv,fragment", [
    (["--nodes", "1"], "at least 2"),
    (["--nodes", "4,x"], "comma-separated integers"),
    (["--scheme", "crc"], "unknown scheme 'crc'"),
    (["--keys", "10", "--nodes", "64"], "need at least"),
])
def test_partition_command_usage_errors(capsys, argv, fragment):
    code = main(["partition", *argv])
    err = capsys.readouterr().err
    assert code == 2 and fragment in err and len(err.strip().splitlines()) == 1


# -- the shard-migration protocol ------------------------------------------------------------


@pytest.mark.parametrize("bug,prop,steps", [
    ("cutover_before_catchup", "NoLostWrites", 5),
    ("no_epoch_fence", "SingleOwnerPerEpoch", 7),
])
def test_migration_bugs_are_found_with_the_default_faults(bug, prop, steps):
    model = registry.build("migration", {"bug": bug})
    assert model.faults.kinds() == {"crash", "restart", "partition"}
    result = check(model)
    assert result.verdict == "violation"
    trace = result.counterexample
    assert (trace.property, len(trace)) == (prop, steps)
    assert replay(trace).reproduced


def test_migration_bug_trace_shows_the_race():
    result = check(registry.build("migration", {"bug": "cutover_before_catchup"}))
    steps = result.counterexample.steps
    # The source accepts a write after taking its snapshot; the client gets the ack; the
    # coordinator cuts over on Copied (in either order: BFS may find either 5-step trace).
    assert steps.index("c -> a: Write(1) delivered; records accept(a, 1, 1)") > steps.index("m -> a: Copy(b) delivered")
    assert "a -> c: WriteOk(1) delivered; records ok(c, write, 1), invoke(c, write, 2)" in steps
    assert "b -> m: Copied() delivered" in steps


def test_migration_passes_with_the_default_faults():
    result = check(registry.build("migration"))
    assert result.verdict == "ok" and result.complete
    assert verdicts(result) == {"NoLostWrites": True, "SingleOwnerPerEpoch": True, "ReadLatest": True,
                                "Migrated": True}
    assert result.distinct_states > 10_000  # crashes and partitions were explored


def test_migration_passes_with_duplicated_and_lost_messages():
    result = check(registry.build("migration", {}, faults="dup=1,loss=1"))
    assert result.verdict == "ok", [(p.name, p.holds) for p in result.properties]


@pytest.mark.parametrize("bug,broken", [
    ("none", set()),
    ("cutover_before_catchup", {"NoLostWrites", "ReadLatest"}),
    ("no_epoch_fence", {"NoLostWrites", "SingleOwnerPerEpoch", "ReadLatest"}),
])
def test_migration_properties_each_bug_breaks(bug, broken):
    result = check(registry.build("migration", {"bug": bug}, faults="none"), stop_at_first=False)
    assert {name for name, holds in verdicts(result).items() if holds is False} == broken
    assert verdicts(result)["Migrated"] is True


def test_crash_stop_of_the_unreplicated_owner_loses_writes():
    result = check(registry.build("migration", {}, faults="crash=1"))
    assert result.counterexample.property == "NoLostWrites"
    assert result.counterexample.actions[-1] == ("crash", "a")


def test_migration_corpus_traces_replay():
    corpus = ROOT / "traces" / "corpus"
    from splitbrain.traces.format import load

    for name, prop in [("migration_cutover_before_catchup__NoLostWrites", "NoLostWrites"),
                       ("migration_no_epoch_fence__SingleOwnerPerEpoch", "SingleOwnerPerEpoch"),
                       ("partitioner_modulo_disruption", "MinimalDisruption")]:
        trace = load(corpus / f"{name}.json")
        assert trace.property == prop and replay(trace).reproduced
