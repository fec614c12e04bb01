"""The C fingerprint agrees with the Python one; the compact seen-set and the disk frontier keep every figure."""

from __future__ import annotations

import pickle
import random
from dataclasses import dataclass
from enum import Enum, IntEnum
from typing import NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from splitbrain.checker import explore, fingerprint as fpmod, fpstore
from splitbrain.checker.explore import check
from splitbrain.checker.fpstore import FingerprintStore, Frontier
from splitbrain.models import registry

core = fpmod._fpcore


class Pair(NamedTuple):
    a: object
    b: object


class Colour(Enum):
    RED = 1


class Level(IntEnum):
    LOW = 3


@dataclass(frozen=True)
class Cell:
    x: object
    y: object


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=-2**70, max_value=2**70),
    st.floats(allow_nan=False), st.text(max_size=5), st.binary(max_size=4),
    st.sampled_from([Colour.RED, Level.LOW, 2.0, -0.0, float("inf"), "\ud800"]),
)
hashables = st.recursive(scalars, lambda inner: st.one_of(
    st.tuples(inner, inner), st.lists(inner, max_size=3).map(tuple), st.frozensets(inner, max_size=4),
    st.builds(Pair, inner, inner), st.builds(Cell, inner, inner)), max_leaves=12)
values = st.recursive(hashables, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(hashables, inner, max_size=3), st.sets(hashables, max_size=3),
    st.builds(lambda v: bytearray(b"ab"), inner)), max_leaves=12)


def test_the_c_fingerprint_is_built_here():
    # CI has a compiler (gcc): without the C part a fingerprint search is several times slower.
    assert core is not None and fpmod.fingerprint is core.fingerprint
    assert explore.Fingerprinter().fingerprint is core.fingerprint


@pytest.mark.filterwarnings("ignore:Generating overly large repr")  # the strategy's own repr, not a value's
@settings(max_examples=300, deadline=None)
@given(values)
def test_the_c_fingerprint_is_the_python_fingerprint(x):
    pure = _pure_fingerprint(x)
    assert core.fingerprint(x) == pure
    assert core.fingerprint(x) == pure  # again, now that its parts are remembered


@pytest.mark.filterwarnings("ignore:Generating overly large repr")  # the strategy's own repr, not a value's
@settings(max_examples=300, deadline=None)
@given(hashables, hashables)
def test_fingerprints_are_equal_exactly_when_generated_values_are_equal(x, y):
    assert (core.fingerprint(x) == core.fingerprint(y)) == (x == y)
    copy = pickle.loads(pickle.dumps(x))  # equal, built apart
    assert core.fingerprint(copy) == core.fingerprint(x)


def _pure_fingerprint(x):
    """The pure-Python fingerprint, with every nested call also in Python."""
    saved = fpmod.fingerprint
    fpmod.fingerprint = fpmod.py_fingerprint
    try:
        return fpmod.py_fingerprint(x)
    finally:
        fpmod.fingerprint = saved


def test_without_the_c_part_a_search_counts_the_same_with_the_python_fingerprint(monkeypatch):
    model = registry.build("twophase", {"rms": 3})
    with_c = check(model, "bfs", fingerprint=True)
    monkeypatch.setattr(fpmod, "fingerprint", fpmod.py_fingerprint)
    assert explore.Fingerprinter().fingerprint is not core.fingerprint  # the memo over the Python function
    without = check(model, "bfs", fingerprint=True)
    assert (without.distinct_states, without.states_generated, without.depth) == (288, 1146, 11)  # TLC, TwoPhase.tla
    assert (with_c.distinct_states, with_c.states_generated, with_c.depth) == (288, 1146, 11)


def test_a_remembered_part_holding_a_list_is_fingerprinted_afresh_when_the_list_changes():
    items = [1]
    part = (items, "x")
    state = (part, 0)
    before = core.fingerprint(state)
    items.append(2)
    assert core.fingerprint(state) != before
    assert core.fingerprint(state) == _pure_fingerprint(state)


def test_fpset_agrees_with_a_python_set():
    rng = random.Random(7)
    fps = [rng.getrandbits(64) for _ in range(5000)] + [0, 1, 2**64 - 1]
    fps += fps[:100]  # repeats
    table, plain = fpstore.FPSet(16), set()
    for fp in fps:
        assert table.add(fp) == (fp not in plain)
        plain.add(fp)
    assert len(table) == len(plain)
    assert all(fp in table for fp in plain)
    assert sum(rng.getrandbits(64) in table for _ in range(1000)) == 0
    assert table.nbytes <= 22 * len(plain)  # at most three quarters full after growing: 8 bytes a slot


def test_the_store_rebuilds_each_states_chain_from_its_links(monkeypatch):
    monkeypatch.setattr(fpstore, "BUFFERED", 3)  # most links on disk, the last few in memory
    monkeypatch.setattr(fpstore, "SCAN", 2)
    store = FingerprintStore()
    try:
        store[10] = (None, 0)
        store[11] = (None, 1)
        for child, parent in [(20, 10), (21, 11), (30, 20), (31, 21), (40, 30), (41, 31)]:
            store[child] = (parent, ("step",))
        store[20] = (11, ("again",))  # met again: the first link stays
        assert len(store) == 8 and 40 in store and 99 not in store
        assert store.chain(40) == (0, [10, 20, 30, 40])
        assert store.chain(41) == (1, [11, 21, 31, 41])
    finally:
        store.close()


def test_a_frontier_past_its_limit_gives_back_every_state_in_order():
    frontier = Frontier(4, int_keys=True)
    for i in range(11):
        frontier.append(("s", i), i * 7)
    assert frontier.spilled == 2 and len(frontier) == 11
    assert list(frontier) == [(("s", i), i * 7) for i in range(11)]


@pytest.mark.parametrize("name, params", [("paxos", {"acceptors": 2, "values": 2, "max_ballot": 1}),
                                          ("raft", {"max_term": 1}), ("twophase", {"rms": 4})])
def test_a_fingerprint_search_with_its_frontier_on_disk_counts_what_the_exact_search_counts(
        monkeypatch, name, params):
    exact = check(registry.build(name, params), "bfs")
    monkeypatch.setattr(explore, "FRONTIER_IN_MEMORY", 20)
    fp = check(registry.build(name, params), "bfs", fingerprint=True)
    assert (fp.distinct_states, fp.states_generated, fp.depth, fp.verdict) == (
        exact.distinct_states, exact.states_generated, exact.depth, exact.verdict)
    assert any("frontier states written to disk" in n for n in fp.notes)
    taken = lambda r: {a.name: a.taken for a in r.coverage.actions}  # noqa: E731
    assert taken(fp) == taken(exact)
    # Which action first reaches a state can differ: a state read back from disk holds frozensets
    # rebuilt by pickle, whose iteration order (and so the order of the successors of a model that
    # enumerates straight from a set, as paxos does) may differ from the original's. The new states
    # still add up.
    assert sum(a.new_states for a in fp.coverage.actions) == sum(a.new_states for a in exact.coverage.actions)


def test_a_fingerprint_counterexample_is_the_exact_searchs_shortest_one():
    # The trace is rebuilt from the links on disk and a forward re-execution.
    model = lambda: registry.build("paxos", {"bug": "ignore_highest_vote"})  # noqa: E731
    exact = check(model(), "bfs")
    fp = check(model(), "bfs", fingerprint=True)
    assert fp.verdict == exact.verdict == "violation"
    assert len(fp.counterexample.actions) == len(exact.counterexample.actions)
    assert fp.counterexample.property == exact.counterexample.property


def test_the_independent_twophase_count_gives_tlcs_figures():
    # tests/brute_twophase.py is the independent source of the twophase-9-fp bench entry's figures.
    from tests.brute_twophase import count

    assert count(3) == (288, 1146, 11)  # TLC, TwoPhase.tla, RM = 3
    assert count(6)[0] == 50816  # TwoPhase.tla's comment, RM = 6
