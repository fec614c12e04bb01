"""``splitbrain txncheck``: Elle-style inference of dependencies, one minimal history per
anomaly with its classification written by hand, the consistency-model lattice, and a
brute-force serializability check against the cycle verdict."""

from __future__ import annotations

import itertools
import json
import random

import pytest

from splitbrain.checker.cli import main
from splitbrain.properties.consistency.edn import Keyword
from splitbrain.properties.consistency.history import FAIL, INFO, INVOKE, OK
from splitbrain.properties.consistency.transactions import (
    CONSISTENCY_MODELS,
    CYCLE_ANOMALIES,
    PROHIBITED,
    WEAKER,
    build_history,
    check_all_models,
    check_transactions,
    classify,
)
from splitbrain.properties.consistency.txngen import list_append_events, to_edn

A, R, W = Keyword("append"), Keyword("r"), Keyword("w")


def invoked(ops):
    """The invocation of a transaction: its reads not yet known."""
    return tuple((f, k, None if f == R else v) for f, k, v in ops)


def concurrent(*txns):
    """All transactions invoked, then all completed: no real-time order, one process each.

    A transaction is a tuple of micro-operations, or (status, ops) for fail / info.
    """
    specs = [t if isinstance(t[0], str) and t[0] in (FAIL, INFO) else (OK, t) for t in txns]
    events = [(p, INVOKE, invoked(ops), None) for p, (_, ops) in enumerate(specs)]
    events += [(p, status, ops, None) for p, (status, ops) in enumerate(specs)]
    return build_history(events)


def one_after_another(*txns, same_process=False):
    """Each transaction completes before the next is invoked."""
    events = []
    for p, ops in enumerate(txns):
        process = 0 if same_process else p
        events += [(process, INVOKE, invoked(ops), None), (process, OK, ops, None)]
    return build_history(events)


def verdicts(history):
    return {m: v.ok for m, v in check_all_models(history).items()}


def allowed_by(history):
    return {m for m, ok in verdicts(history).items() if ok}


ALL = set(CONSISTENCY_MODELS)
SI_AND_BELOW = {"read-uncommitted", "read-committed", "snapshot-isolation"}
# with no process or real-time order between the transactions, the strong variants of SI accept the same
SI_FAMILY = SI_AND_BELOW | {"strong-session-snapshot-isolation", "strong-snapshot-isolation"}

# --- one minimal history per anomaly ------------------------------------------------------------------
# Each: the history, the anomaly expected (by hand), the models that must still accept it.

MINIMAL = {
    # T0 and T1 both append to x and y; a reader sees x in the order T0, T1 and y in the order T1, T0
    "G0": (concurrent(((A, "x", 1), (A, "y", 1)), ((A, "x", 2), (A, "y", 2)),
                      ((R, "x", (1, 2)), (R, "y", (2, 1)))), set()),
    # T1 reads the append of T0, which failed
    "G1a": (concurrent((FAIL, ((A, "x", 1),)), ((R, "x", (1,)),)), {"read-uncommitted"}),
    # T1 reads x after T0's first append but before its second
    "G1b": (concurrent(((A, "x", 1), (A, "x", 2)), ((R, "x", (1,)),)), {"read-uncommitted"}),
    # each reads the other's append: wr both ways
    "G1c": (concurrent(((A, "x", 1), (R, "y", (1,))), ((A, "y", 1), (R, "x", (1,)))), {"read-uncommitted"}),
    # read skew: T0 sees T1's append to y but not its append to x (rw T0->T1, wr T1->T0)
    "G-single": (concurrent(((R, "x", ()), (R, "y", (1,))), ((A, "x", 1), (A, "y", 1))),
                 {"read-uncommitted", "read-committed"}),
    # T0 -rw(x)-> T1 -wr(y)-> T2 -rw(z)-> T3 -wr(w)-> T0: two rw edges, not adjacent
    "G-nonadjacent": (concurrent(((R, "x", ()), (R, "w", (1,))), ((A, "x", 1), (A, "y", 1)),
                                 ((R, "y", (1,)), (R, "z", ())), ((A, "z", 1), (A, "w", 1))),
                      {"read-uncommitted", "read-committed"}),
    # write skew: each reads the key the other appends to (rw both ways, adjacent)
    "G2-item": (concurrent(((R, "x", ()), (A, "y", 1)), ((R, "y", ()), (A, "x", 1))), SI_FAMILY),
    # T0 appends and then does not see its own append
    "internal": (concurrent(((A, "x", 1), (R, "x", ())),), set()),
    # two reads disagree on the order of x
    "incompatible-order": (concurrent(((A, "x", 1),), ((A, "x", 2),), ((R, "x", (1, 2)),), ((R, "x", (2, 1)),)),
                           set()),
    "duplicate-elements": (concurrent(((A, "x", 1),), ((R, "x", (1, 1)),)), set()),
    "garbage-read": (concurrent(((R, "x", (9,)),)), set()),
    # T1 is invoked after T0 completed yet does not see its append: a stale read
    "G-single-realtime": (one_after_another(((A, "x", 1),), ((R, "x", ()),)),
                          ALL - {"strong-snapshot-isolation", "strict-serializable"}),
    # the same stale read within one client process
    "G-single-process": (one_after_another(((A, "x", 1),), ((R, "x", ()),), same_process=True),
                         ALL - {"strong-session-snapshot-isolation", "strong-snapshot-isolation",
                                "strong-session-serializable", "strict-serializable"}),
    # T1 appends after T0 completed, but a later read puts T1's element first (ww T1->T0, realtime T0->T1)
    "G0-realtime": (one_after_another(((A, "x", 1),), ((A, "x", 2),), ((R, "x", (2, 1)),)),
                    ALL - {"strong-snapshot-isolation", "strict-serializable"}),
    # T0 reads an append of T1, which was invoked only after T0 completed
    "G1c-realtime": (one_after_another(((R, "x", (1,)),), ((A, "x", 1),)),
                     ALL - {"strong-snapshot-isolation", "strict-serializable"}),
}


@pytest.mark.parametrize("anomaly", list(MINIMAL))
def test_minimal_history_per_anomaly(anomaly):
    history, still_allowed = MINIMAL[anomaly]
    results = check_all_models(history)
    found = set(results["strict-serializable"].anomalies)
    assert anomaly in found, found
    assert {m for m, v in results.items() if v.ok} == still_allowed
    assert results["strict-serializable"].details["unfinished_searches"] == ""  # absent kinds do not occur
    for model, verdict in results.items():  # every model that prohibits the anomaly rejects the history
        if anomaly in PROHIBITED[model]:
            assert not verdict.ok and anomaly in verdict.prohibited_found


def test_only_the_planted_cycle_is_found():
    assert set(check_transactions(MINIMAL["G2-item"][0], "serializable").anomalies) == {"G2-item"}
    assert set(check_transactions(MINIMAL["G-single"][0], "serializable").anomalies) == {"G-single"}
    assert set(check_transactions(MINIMAL["G-nonadjacent"][0], "serializable").anomalies) == {"G-nonadjacent"}


def test_rw_register_inference():
    # write skew over registers: each reads nil (the initial version) of the key the other writes
    skew = concurrent(((R, "x", None), (W, "y", 1)), ((R, "y", None), (W, "x", 1)))
    assert skew.workload == "rw-register"
    assert allowed_by(skew) == SI_FAMILY
    assert set(check_transactions(skew, "serializable").anomalies) == {"G2-item"}
    # read skew: T0 reads x before T1 wrote it (nil precedes every version) and y after
    read_skew = concurrent(((R, "x", None), (R, "y", 1)), ((W, "x", 1), (W, "y", 1)))
    assert "G-single" in check_transactions(read_skew, "serializable").anomalies
    # circular information flow, aborted and intermediate reads, and a txn not seeing its own write
    assert "G1c" in check_transactions(concurrent(((W, "x", 1), (R, "y", 1)), ((W, "y", 1), (R, "x", 1))),
                                       "read-committed").anomalies
    assert "G1a" in check_transactions(concurrent((FAIL, ((W, "x", 1),)), ((R, "x", 1),)), "read-committed").anomalies
    assert "G1b" in check_transactions(concurrent(((W, "x", 1), (W, "x", 2)), ((R, "x", 1),)),
                                       "read-committed").anomalies
    assert "internal" in check_transactions(concurrent(((W, "x", 1), (R, "x", 2)),), "read-uncommitted").anomalies
    # and a history that is fine
    assert allowed_by(one_after_another(((W, "x", 1),), ((R, "x", 1), (W, "x", 2)), ((R, "x", 2),))) == ALL


def test_classify_cycles_by_hand():
    cases = {
        ("ww", "ww"): "G0",
        ("ww", "wr"): "G1c",
        ("wr", "rw"): "G-single",
        ("rw", "wr", "rw", "wr"): "G-nonadjacent",
        ("rw", "rw"): "G2-item",
        ("rw", "ww", "rw"): "G2-item",  # the last and the first rw are adjacent around the cycle
        ("ww", "process"): "G0-process",
        ("wr", "realtime"): "G1c-realtime",
        ("rw", "process", "realtime"): "G-single-realtime",
        ("rw", "process", "rw", "process"): "G-nonadjacent-process",
        ("rw", "rw", "realtime"): "G2-item-realtime",
    }
    for labels, name in cases.items():
        assert classify(labels) == name, labels


def test_indeterminate_writes_count_only_when_observed():
    # T0's outcome is unknown, but T1 read its append: it committed, and T1 depends on it
    seen = concurrent((INFO, ((A, "x", 1),)), ((R, "x", (1,)),))
    assert allowed_by(seen) == ALL
    # an indeterminate append that nobody read: the empty read is no anomaly
    unseen = one_after_another(((R, "x", ()),))
    assert allowed_by(unseen) == ALL


# --- the lattice -----------------------------------------------------------------------------------


def test_the_lattice_by_hand():
    assert WEAKER["read-committed"] == ["read-uncommitted"]
    assert set(WEAKER["strict-serializable"]) == ALL - {"strict-serializable"}
    assert "repeatable-read" not in WEAKER["snapshot-isolation"]  # SI allows write skew (G2-item)
    assert "snapshot-isolation" in WEAKER["serializable"]


def _random_histories(count, seed):
    rng = random.Random(seed)
    for i in range(count):
        yield build_history(list_append_events(rng.randint(4, 40), seed=seed * 1000 + i, processes=rng.randint(2, 5),
                                               active_keys=rng.randint(1, 3), stale_reads=rng.choice((0.0, 0.2, 0.5))))


def test_valid_under_a_model_means_valid_under_every_weaker_one():
    checked = violations = 0
    for history in _random_histories(60, seed=7):
        ok = verdicts(history)
        for model, weaker_models in WEAKER.items():
            if ok[model]:
                assert all(ok[w] for w in weaker_models), (model, ok)
                checked += 1
        violations += not ok["strict-serializable"]
    assert checked and violations  # the generated histories include both kinds


def test_generated_histories_without_stale_reads_are_strict_serializable():
    for i in range(10):
        history = build_history(list_append_events(200, seed=i))
        assert check_transactions(history, "strict-serializable").ok


# --- brute force: try every serial order --------------------------------------------------------------


def _serializable_by_brute_force(txns):
    """Is there an order of the committed transactions whose replay gives every read?"""
    committed = [ops for status, ops in txns if status == OK]
    for order in itertools.permutations(committed):
        lists: dict = {}
        if all(_replay(ops, lists) for ops in order):
            return True
    return False


def _replay(ops, lists):
    for f, k, v in ops:
        if f == A:
            lists.setdefault(k, []).append(v)
        elif tuple(lists.get(k, ())) != v:
            return False
    return True


def _random_small_history(rng):
    """2 to 5 transactions over 2 keys; reads from a serial run, some replaced by a stale prefix."""
    n = rng.randint(2, 5)
    counter = itertools.count(1)
    txns = []
    lists: dict = {}
    for _ in range(n):
        ops = []
        for _ in range(rng.randint(1, 3)):
            k = rng.choice("xy")
            if rng.random() < 0.5:
                v = next(counter)
                lists.setdefault(k, []).append(v)
                ops.append((A, k, v))
            else:
                current = lists.get(k, [])
                cut = rng.randint(0, len(current)) if rng.random() < 0.35 else len(current)
                ops.append((R, k, tuple(current[:cut])))
        txns.append((FAIL if rng.random() < 0.1 else OK, tuple(ops)))
    rng.shuffle(txns)
    return txns


def test_brute_force_serializability_agrees_with_the_cycle_verdict():
    rng = random.Random(2024)
    agree = {True: 0, False: 0}
    for _ in range(300):
        txns = _random_small_history(rng)
        history = concurrent(*[(s, ops) if s == FAIL else ops for s, ops in txns])
        expected = _serializable_by_brute_force(txns)
        assert check_transactions(history, "serializable").ok == expected, txns
        agree[expected] += 1
    assert agree[True] > 30 and agree[False] > 30  # both verdicts are exercised


# --- the command line -------------------------------------------------------------------------------


def _write(tmp_path, name, history_events):
    path = tmp_path / name
    path.write_text(to_edn(history_events))
    return path


WRITE_SKEW_EDN = """\
;; pretty-printed, with a nemesis event
[{:process 0, :type :invoke, :f :txn, :value [[:r :x nil] [:append :y 1]]}
 {:process 1,
  :type :invoke,
  :f :txn,
  :value [[:r :y nil] [:append :x 1]]}
 {:process :nemesis, :type :info, :f :start-partition, :value nil}
 {:process 0, :type :ok, :f :txn, :value [[:r :x []] [:append :y 1]]}
 {:process 1, :type :ok, :f :txn, :value [[:r :y []] [:append :x 1]]}]
"""


def test_txncheck_exit_codes_and_explanation(tmp_path, capsys):
    path = tmp_path / "skew.edn"
    path.write_text(WRITE_SKEW_EDN)
    assert main(["txncheck", str(path), "--consistency", "snapshot-isolation"]) == 0
    out = capsys.readouterr().out
    assert "snapshot-isolation (list-append, 2 transactions, 1 nemesis events not checked" in out
    assert "allowed by snapshot-isolation: G2-item" in out
    assert main(["txncheck", str(path), "--consistency", "serializable"]) == 1
    out = capsys.readouterr().out
    assert "NOT serializable" in out and "G2-item: a cycle with 2 read-write anti-dependencies" in out
    assert "T0 (process 0, line 2): [[:r :x []] [:append :y 1]]" in out
    assert "rw: T0 read key :x empty, and T1 appended 1, the next version" in out
    assert "rw: T1 read key :y empty, and T0 appended 1, the next version" in out


def test_txncheck_json(tmp_path, capsys):
    path = tmp_path / "skew.edn"
    path.write_text(WRITE_SKEW_EDN)
    assert main(["txncheck", str(path), "--json"]) == 1
    row = json.loads(capsys.readouterr().out)
    assert (row["workload"], row["transactions"], row["satisfied"], row["prohibited"]) == (
        "list-append", 2, False, ["G2-item"])
    assert row["anomalies"]["G2-item"]["transactions"] == [0, 1]


def test_txncheck_on_a_generated_history(tmp_path, capsys):
    path = _write(tmp_path, "gen.edn", list_append_events(300, seed=5))
    assert main(["txncheck", str(path), "--consistency", "strict-serializable"]) == 0
    stale = _write(tmp_path, "stale.edn", list_append_events(300, seed=5, stale_reads=0.3))
    assert main(["txncheck", str(stale), "--consistency", "strict-serializable"]) == 1
    assert "NOT strict-serializable" in capsys.readouterr().out


MALFORMED = [
    ("a.edn", "[{:process 0, :type :invoke, :f :txn, :value [[:r :x nil]}]", 1, "malformed EDN at column"),
    ("b.edn", "{:process 0, :type :invoke, :f :read, :value nil}", 1, "expected :f :txn"),
    ("c.edn", "{:process 0, :type :invoke, :f :txn, :value [[:delete :x 1]]}", 1, "expected a micro-operation"),
    ("d.edn", "{:process 0, :type :invoke, :f :txn, :value [[:append :x 1]]}\n"
              "{:process 0, :type :invoke, :f :txn, :value [[:append :x 2]]}", 2, "while another is outstanding"),
    ("e.edn", "{:process 0, :type :ok, :f :txn, :value [[:append :x 1]]}", 1, "did not invoke"),
    ("f.edn", "{:process 0, :type :invoke, :f :txn, :value [[:append :x 1]]}\n"
              "{:process 0, :type :ok, :f :txn, :value [[:append :x 1]]}\n"
              "{:process 1, :type :invoke, :f :txn, :value [[:append :x 1]]}\n"
              "{:process 1, :type :ok, :f :txn, :value [[:append :x 1]]}", 3, "appended to key :x twice"),
    ("g.edn", "{:process 0, :type :begin, :f :txn, :value []}", 1, ":type must be :invoke"),
]


@pytest.mark.parametrize("name,text,line,message", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_txncheck_malformed_is_one_line_exit_2(tmp_path, capsys, name, text, line, message):
    path = tmp_path / name
    path.write_text(text)
    assert main(["txncheck", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"splitbrain: error: {path}:{line}: ") and message in err


def test_every_cycle_anomaly_has_a_prohibiting_model():
    for name in CYCLE_ANOMALIES:
        assert any(name in PROHIBITED[m] for m in CONSISTENCY_MODELS), name


def test_a_search_out_of_budget_still_decides_and_shows_a_cycle():
    """With no budget for the shortest-cycle search, the verdict (decided on the strongly
    connected components) is the same and some prohibited cycle is still shown."""
    history = build_history(list_append_events(120, seed=5, stale_reads=0.3))
    full_verdicts, bare_verdicts = check_all_models(history), check_all_models(history, budget=0)
    assert not bare_verdicts["serializable"].ok
    assert bare_verdicts["serializable"].details["unfinished_searches"]  # said, not hidden
    for model in CONSISTENCY_MODELS:
        full, bare = full_verdicts[model], bare_verdicts[model]
        assert bare.ok == full.ok
        cycles = [bare.anomalies[n] for n in bare.prohibited_found if n in CYCLE_ANOMALIES]
        assert bool(cycles) == any(n in CYCLE_ANOMALIES for n in full.prohibited_found)
        assert all(c.name in PROHIBITED[model] and len(c.edges) == len(c.txns) >= 2 for c in cycles)


def test_prohibited_names_match_the_cycle_families():
    """A model prohibits a cycle name exactly when every cycle of that name lies in the family of
    dependency cycles it rules out (the exact test behind its verdict)."""
    from splitbrain.properties.consistency.transactions import _FAMILIES

    needs = {"G0": {"ww"}, "G1c": {"ww", "wr"}}
    for model, (kinds, nonadjacent) in _FAMILIES.items():
        for name in CYCLE_ANOMALIES:
            base = name.split("-process")[0].split("-realtime")[0]
            edges = set(needs.get(base, {"ww", "wr", "rw"}))
            edges |= {"process"} if name.endswith("-process") else set()
            edges |= {"process", "realtime"} if name.endswith("-realtime") else set()
            in_family = edges <= kinds and not (nonadjacent and base == "G2-item")
            assert (name in PROHIBITED[model]) == in_family, (model, name)


def test_a_closed_walk_is_reported_as_its_simple_cycle():
    """A search may close a walk that passes a node twice; what is reported is a simple cycle
    of the walk with the name searched for (here the walk 1-2-3-2-4-1 holds the cycles 2-3 and 1-2-4)."""
    from splitbrain.properties.consistency.transactions import _simple_cycle

    walk, labels = [1, 2, 3, 2, 4], ["ww", "rw", "wr", "ww", "ww"]
    assert _simple_cycle(walk, labels, lambda name: name == "G-single") == [(2, ""), (3, "rw"), (2, "wr")]
    assert _simple_cycle(walk, labels, lambda name: name == "G0") == [(1, ""), (2, "ww"), (4, "ww"), (1, "ww")]
    assert _simple_cycle(walk, labels, lambda name: name == "G2-item") is None
