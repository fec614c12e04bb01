"""Fingerprints: 64-bit hashes built from a state's parts, equal exactly when states are equal."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from enum import Enum, IntEnum
from typing import NamedTuple

import pytest

from splitbrain.checker.explore import check
from splitbrain.checker.fingerprint import Fingerprinter, fingerprint
from splitbrain.models import registry


class Node(NamedTuple):
    term: int
    log: tuple


class Color(Enum):
    RED = 1
    BLUE = 2


class Level(IntEnum):
    LOW = 1
    HIGH = 2


@dataclass(frozen=True)
class Vote:
    voter: str
    ballot: int


def test_equal_states_built_apart_have_equal_fingerprints():
    a = (("working", "prepared"), frozenset({("2b", 0, 1, "v1"), ("1a", 2)}), 2**70, None)
    b = (("work" + "ing", "prepared"), frozenset([("1a", 2), ("2b", 0, 1, "v" + "1")]), 2**70, None)
    assert a == b and a is not b
    assert fingerprint(a) == fingerprint(b)
    assert Fingerprinter().fingerprint(a) == fingerprint(b)


@pytest.mark.parametrize("x, y", [
    (-1, -2),                             # hash(-1) == hash(-2)
    (0, 2**61 - 1),                       # ints hash modulo 2**61 - 1
    (1, 2**61),
    (2**100, 2**100 + 2**61 - 1),
    ((-1,), (-2,)),                       # and so do tuples of them
    ((0, 5), (2**61 - 1, 5)),
    (frozenset({-1}), frozenset({-2})),
    (frozenset({0, 1}), frozenset({2**61 - 1, 2**61})),
    (Node(-1, ()), Node(-2, ())),
])
def test_values_pythons_hash_confuses_have_different_fingerprints(x, y):
    assert hash(x) == hash(y) and x != y  # the collision this test is about
    assert fingerprint(x) != fingerprint(y)


def test_frozenset_fingerprint_does_not_depend_on_iteration_order():
    # 0, 8 and 16 share a slot of an 8-slot table: insertion order decides iteration order
    a, b = frozenset([0, 8, 16, "x"]), frozenset(["x", 16, 8, 0])
    assert a == b and list(a) != list(b)
    assert fingerprint(a) == fingerprint(b)
    assert fingerprint((1, a)) == Fingerprinter().fingerprint((1, b))


def test_values_of_different_types_that_python_calls_different_differ():
    values = [0, 1, -1, "1", b"1", "", b"", None, (), [], frozenset(), {}, (1,), [1], frozenset({1}),
              {1: 1}, (0, 1), (1, 0), ("a", "b"), ("ab",), 0.5, Color.RED, Color.BLUE, Vote("a", 1), ((),), (None,)]
    for x, y in itertools.combinations(values, 2):
        if x != y:
            assert fingerprint(x) != fingerprint(y), (x, y)


def test_values_python_calls_equal_share_a_fingerprint_as_in_an_exact_search():
    # An exact search keeps one state for each of these pairs, so a fingerprint search must too.
    for x, y in [(True, 1), (False, 0), (2.0, 2), (-0.0, 0.0), (Level.HIGH, 2), (Node(1, ()), (1, ())),
                 (frozenset({1}), {1}), ((True, (1.0,)), (1, (1,)))]:
        assert x == y
        assert fingerprint(x) == fingerprint(y), (x, y)
    assert fingerprint(True) != fingerprint(2) and fingerprint(1.5) != fingerprint(1)


def test_fingerprints_are_equal_exactly_when_values_are_equal_on_a_pool():
    atoms = [0, 1, -1, -2, 2**61 - 1, 2**64, True, False, None, "a", "b", "", b"a", 1.5, 2.0,
             Color.RED, Level.LOW, Vote("a", 1), Vote("a", 2)]
    pool = list(atoms)
    pool += [(a, b) for a, b in itertools.product(atoms[:9], repeat=2)]
    pool += [frozenset(c) for c in itertools.combinations(atoms[:8], 2)]
    pool += [Node(a, (b,)) for a, b in itertools.product(atoms[:5], repeat=2)]
    pool += [(frozenset({a}), (b,)) for a, b in itertools.product(atoms[:6], repeat=2)]
    memo = Fingerprinter(memo_size=16)  # small: its tables are emptied many times on the way
    fps = [fingerprint(v) for v in pool]
    assert [memo.fingerprint(v) for v in pool] == fps
    for (x, fx), (y, fy) in itertools.combinations(zip(pool, fps), 2):
        assert (fx == fy) == (x == y), (x, y)


def test_unknown_types_are_a_type_error_naming_the_type():
    class Opaque:
        pass

    with pytest.raises(TypeError, match="Opaque"):
        fingerprint((1, frozenset({Opaque()})))
    with pytest.raises(TypeError, match="Opaque"):
        Fingerprinter().fingerprint((1, Opaque()))


def test_fingerprints_do_not_depend_on_the_process_or_pythonhashseed():
    code = (
        "import json\n"
        "from splitbrain.checker.fingerprint import fingerprint\n"
        "names = frozenset(f'n{i}' for i in range(40))\n"
        "state = ('leader', names, frozenset({('vote', 'n1', 3), ('vote', 'n2', 3)}), -7)\n"
        "print(json.dumps([list(names), fingerprint('n1'), fingerprint(names), fingerprint(state)]))\n"
    )
    runs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        runs.append(json.loads(out.stdout))
    (order1, *fps1), (order2, *fps2) = runs
    assert order1 != order2  # the processes really iterate the set differently
    assert fps1 == fps2
    names = frozenset(f"n{i}" for i in range(40))
    assert fps1 == [fingerprint("n1"), fingerprint(names), fingerprint(
        ("leader", names, frozenset({("vote", "n1", 3), ("vote", "n2", 3)}), -7))]


def test_a_fingerprint_is_a_pinned_64_bit_value():
    # Regression figure (this fingerprint function's output): fingerprints shared between processes and
    # machines must not change silently.
    fp = fingerprint((("working", "prepared"), frozenset({("1a", 2)}), True, None))
    assert 0 <= fp < 2**64
    assert fp == 18153716390706544684


@pytest.mark.parametrize("name", ["om", "demo-lease"])
def test_a_fingerprint_search_counts_what_the_exact_search_counts(name):
    # Actor models: NamedTuple worlds holding frozensets, timers and node states.
    exact = check(registry.build(name, {}), "bfs", stop_at_first=False)
    fp = check(registry.build(name, {}), "bfs", fingerprint=True, stop_at_first=False)
    assert (fp.distinct_states, fp.states_generated, fp.depth) == (
        exact.distinct_states, exact.states_generated, exact.depth)
    assert [(p.name, p.holds) for p in fp.properties] == [(p.name, p.holds) for p in exact.properties]


def test_twophase_with_fingerprints_counts_tlcs_figures():
    result = check(registry.build("twophase", {"rms": 3}), "bfs", fingerprint=True)
    assert result.fingerprint
    assert (result.distinct_states, result.states_generated, result.depth) == (288, 1146, 11)  # TLC, TwoPhase.tla
    assert result.collision_probability == pytest.approx(288 * (1146 - 288) / 2**64)
