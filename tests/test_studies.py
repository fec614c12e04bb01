"""Measured studies: backoff and jitter (AWS, 2015), a metastable retry storm, and ``splitbrain study``."""

from __future__ import annotations

import json
import random
import xml.etree.ElementTree as ET

import pytest

from splitbrain.checker.cli import main
from splitbrain.checker.study_cli import backoff_chart, nice_ticks, svg_chart
from splitbrain.models.service import studies
from splitbrain.models.service.studies import CAP_MS, StormConfig, backoff_sleep, backoff_study, contend, storm

SVG = "{http://www.w3.org/2000/svg}"


def test_backoff_sleeps_follow_the_published_formulas():
    rng = random.Random(0)
    for retry in range(12):
        ceiling = min(CAP_MS, 5 * 2 ** retry)
        assert backoff_sleep("none", retry, 5, rng) == 0
        assert backoff_sleep("exponential", retry, 5, rng) == ceiling
        assert ceiling / 2 <= backoff_sleep("equal", retry, 5, rng) <= ceiling
        assert 0 <= backoff_sleep("full", retry, 5, rng) <= ceiling
        assert 5 <= backoff_sleep("decorrelated", retry, 100, rng) <= 300
    assert backoff_sleep("exponential", 500, 5, rng) == CAP_MS
    assert backoff_sleep("decorrelated", 0, 10_000, rng) <= CAP_MS
    with pytest.raises(ValueError):
        backoff_sleep("linear", 0, 5, rng)


def test_one_client_never_conflicts_and_every_client_writes_once():
    calls, ms = contend("none", 1, random.Random(1))
    assert calls == 2 and 0 < ms < 40  # one read and one write, each about 10 ms
    # Every attempt is a read and a write, so the calls are even; at least one attempt per client.
    calls, _ = contend("full", 20, random.Random(2))
    assert calls % 2 == 0 and calls >= 40


def test_backoff_at_50_clients_shows_the_published_ordering():
    # The AWS study: no backoff is worst; full and equal jitter need far fewer
    # calls than plain exponential backoff, and finish sooner.
    rows = {r.policy: r for r in backoff_study(seed=0, repetitions=3, client_counts=(50,))}
    calls = {p: r.calls for p, r in rows.items()}
    assert calls["none"] > calls["exponential"] > max(calls["equal"], calls["full"], calls["decorrelated"])
    assert calls["full"] < 0.8 * calls["exponential"] and calls["equal"] < 0.8 * calls["exponential"]
    assert rows["exponential"].completion_ms > 2 * max(rows["full"].completion_ms, rows["equal"].completion_ms)


def test_the_same_seed_gives_the_same_figures():
    one = backoff_study(seed=4, repetitions=2, client_counts=(10,))
    assert one == backoff_study(seed=4, repetitions=2, client_counts=(10,))
    assert one != backoff_study(seed=5, repetitions=2, client_counts=(10,))


def test_after_the_spike_goodput_recovers_with_a_retry_budget_and_not_without():
    config = StormConfig()
    without, with_budget = storm(False, config, seed=0), storm(True, config, seed=0)
    before = [r for r in without if r.end <= config.spike_start]
    assert all(r.goodput == r.offered for r in before)  # normal load is served in full by both
    assert [r.offered for r in before] == [r.offered for r in with_budget[:len(before)]]  # same arrivals
    tail = [i for i, r in enumerate(without) if r.start >= config.ticks - 50]
    normal = config.normal_rate
    # Without a budget: the queue stays full of stale requests and almost nothing useful gets done.
    assert all(without[i].goodput < 0.1 * normal for i in tail)
    assert all(without[i].queue >= config.capacity - config.service_rate for i in tail)
    assert all(without[i].offered > config.service_rate for i in tail)  # retries keep it overloaded
    # With a budget: the queue drained and goodput is back to the arrivals.
    assert all(with_budget[i].goodput > 0.7 * normal for i in tail)
    assert all(with_budget[i].queue < config.service_rate for i in tail)


def test_a_short_spike_leaves_no_storm_behind():
    # The same system with a spike too short to fill the queue past the timeout: both recover.
    config = StormConfig(spike_end=32, ticks=120)
    for budget in (False, True):
        tail = [r for r in storm(budget, config, seed=1) if r.start >= 80]
        assert all(r.goodput > 0.7 * config.normal_rate for r in tail)


def test_nice_ticks_cover_the_range_with_round_steps():
    # (150 - 10) / 5 = 28: the next round step is 50; 7.3 / 5 = 1.46: the next is 2.
    assert nice_ticks(10, 150) == [0, 50, 100, 150]
    assert nice_ticks(0, 7.3) == [0, 2, 4, 6, 8]


def test_the_svg_is_well_formed_with_one_polyline_per_series():
    series = {"a & b": [(0, 1), (1, 3)], "c": [(0, 2), (1, 0), (2, 5)], "d": [(2, 2)]}
    root = ET.fromstring(svg_chart("t<1>", "x", "y", series))
    lines = root.findall(f"{SVG}polyline")
    assert len(lines) == 3
    assert [len(p.get("points").split()) for p in lines] == [2, 3, 1]
    assert [t.text for t in root.iter(f"{SVG}text") if t.text in series] == list(series)  # the legend
    rows = backoff_study(seed=0, repetitions=1, client_counts=(10, 20))
    chart = ET.fromstring(backoff_chart(rows))
    assert len(chart.findall(f"{SVG}polyline")) == len(studies.POLICIES)


def test_study_metastable_cli_prints_json_and_writes_the_plot(tmp_path, capsys):
    plot = tmp_path / "storm.svg"
    assert main(["study", "metastable", "--json", "--plot", str(plot), "--seed", "3"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["study"] == "metastable" and set(data["rows"]) == {"no budget", "retry budget"}
    assert {"start", "end", "offered", "goodput", "queue"} <= set(data["rows"]["no budget"][0])
    root = ET.parse(plot).getroot()
    assert len(root.findall(f"{SVG}polyline")) == 4  # goodput and load, both variants
    assert main(["study", "metastable"]) == 0
    out = capsys.readouterr().out
    assert "no budget" in out and "retry budget" in out and "queue" in out


@pytest.mark.parametrize("args, words", [
    (["study", "nosuch"], "unknown study"),
    (["study", "metastable", "--plot", "chart.png"], "only .svg"),
    (["study", "metastable", "--seed", "-1"], "--seed"),
])
def test_study_usage_errors_are_one_line_exit_2(tmp_path, monkeypatch, capsys, args, words):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and words in err
    assert list(tmp_path.iterdir()) == []  # nothing written
