"""What a check returns: statistics, a verdict per property, counterexamples."""

from __future__ import annotations

import resource
from dataclasses import dataclass, field
from typing import Any

from splitbrain.properties.kinds import ALWAYS, ALWAYS_STEP, LIVENESS_KINDS, SAFETY_KINDS, SOMETIMES
from splitbrain.traces.format import Trace

OK = "ok"
VIOLATION = "violation"
UNDECIDED = "undecided"  # no violation, but something was not decided (a bound, liveness, a witness)
INTERRUPTED = "interrupted"

DEADLOCK = "Deadlock"


@dataclass
class PropertyResult:
    """The verdict on one property: True holds, False violated, None undecided.

    ``sampled``: a safety property that a sampled search did not find violated
    (``holds`` None: sampling proves nothing, but it is not left undecided by
    the search either; the note names the sample).
    """

    name: str
    kind: str
    holds: bool | None
    trace: Trace | None = None
    note: str = ""
    sampled: bool = False

    @property
    def undecided(self) -> bool:
        """Neither decided nor a sampled safety property without a violation."""
        return self.holds is None and not self.sampled

    @property
    def status(self) -> str:
        """"holds", "violated", "not reached" (a witness), "no violation found" (sampled) or "undecided"."""
        if self.holds is True:
            return "holds" if self.kind != SOMETIMES else "reached"
        if self.holds is False:
            return "not reached" if self.kind == SOMETIMES else "violated"
        return "no violation found" if self.sampled else "undecided"

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "holds": self.holds, "status": self.status, "note": self.note}


@dataclass
class ActionCoverage:
    """One action class: steps taken (successors generated within the boundary), and the new states among them."""

    name: str
    taken: int = 0
    new_states: int = 0


@dataclass
class PropertyCoverage:
    """On how many states (steps, for ``always_step``) a property was judged; a witness: reached or not."""

    name: str
    kind: str
    judged: int
    reached: bool | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "kind": self.kind, "judged": self.judged}
        if self.kind == SOMETIMES:
            data["reached"] = self.reached
        return data


@dataclass
class Coverage:
    """What a search exercised, as TLC reports it: per action class and per property.

    ``declared`` lists the classes the model says it can take (None: not
    declared); a declared class never taken shows in ``never_taken``.
    """

    actions: list[ActionCoverage] = field(default_factory=list)
    properties: list[PropertyCoverage] = field(default_factory=list)
    declared: list[str] | None = None

    @staticmethod
    def judged_counts(props: list[Any], judged_at: dict[str, int], states: int, steps: int,
                      live_states: int) -> dict[str, int]:
        """On how many states (steps, for ``always_step``) each property was judged.

        A property that stopped being judged (violated, or a witness reached)
        counts up to then (``judged_at``); a liveness property counts the
        states of the graph it was judged on (0: not judged).
        """
        totals = {ALWAYS_STEP: steps, **{k: live_states for k in LIVENESS_KINDS}}
        return {p.name: judged_at.get(p.name, totals.get(p.kind, states)) for p in props}

    @classmethod
    def build(cls, model: Any, taken: dict[Any, int], new: dict[Any, int], judged: dict[str, int],
              reached: dict[str, bool]) -> "Coverage":
        """Coverage from counts keyed by action class (or by any key the model's ``action_class`` maps).

        ``taken`` and ``new`` may be keyed by raw class keys (e.g. an action's
        first element); ``str`` of the key is the class name.
        """
        declared = model.action_classes()
        rows: dict[str, ActionCoverage] = {c: ActionCoverage(c) for c in declared or ()}
        for key, n in taken.items():
            row = rows.setdefault(str(key), ActionCoverage(str(key)))
            row.taken += n
            row.new_states += new.get(key, 0)
        props = [PropertyCoverage(p.name, p.kind, judged.get(p.name, 0),
                                  reached.get(p.name, False) if p.kind == SOMETIMES else None)
                 for p in model.properties()]
        return cls(list(rows.values()), props, list(declared) if declared is not None else None)

    @property
    def never_taken(self) -> list[str]:
        """The declared action classes that were never taken."""
        declared = set(self.declared or ())
        return [a.name for a in self.actions if a.name in declared and a.taken == 0]

    @property
    def unreached(self) -> list[str]:
        """The ``sometimes`` witnesses that were never reached."""
        return [p.name for p in self.properties if p.kind == SOMETIMES and not p.reached]

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "actions": [{"class": a.name, "taken": a.taken, "new_states": a.new_states} for a in self.actions],
            "properties": [p.to_json() for p in self.properties],
        }
        if self.declared is not None:
            data["never_taken"] = self.never_taken
        return data


@dataclass
class CheckResult:
    """Statistics (counted as TLC counts them) and verdicts of one run.

    ``distinct_states``: reachable states, each counted once (one per symmetry
    class under symmetry reduction). ``states_generated``: initial states plus
    one successor per enabled action instance. ``depth``: states on the longest
    shortest path from an initial state, the initial state counting as 1 (for
    DFS: the deepest stack reached).
    """

    model: str
    params: dict[str, Any]
    engine: str
    verdict: str = OK
    distinct_states: int = 0
    states_generated: int = 0
    depth: int = 0
    seconds: float = 0.0
    peak_memory_mb: float = 0.0
    properties: list[PropertyResult] = field(default_factory=list)
    counterexample: Trace | None = None
    fingerprint: bool = False
    symmetry: bool = False
    max_depth: int | None = None
    complete: bool = True
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    coverage: Coverage | None = None

    @property
    def states_per_second(self) -> float:
        return self.distinct_states / self.seconds if self.seconds > 0 else 0.0

    @property
    def collision_probability(self) -> float | None:
        """TLC's optimistic fingerprint-collision estimate, n*(g-n)/2^64.

        It treats a fingerprint of ``splitbrain.checker.fingerprint`` as a
        random function of the state (as TLC does for its own, which are
        likewise built from the fingerprints of a value's parts).
        """
        if not self.fingerprint:
            return None
        n, g = self.distinct_states, self.states_generated
        return n * max(g - n, 0) / 2.0**64

    def prop(self, name: str) -> PropertyResult:
        """The result for the property called ``name``."""
        for p in self.properties:
            if p.name == name:
                return p
        raise KeyError(name)

    @property
    def violated(self) -> list[PropertyResult]:
        return [p for p in self.properties if p.holds is False]

    @property
    def undecided(self) -> list[PropertyResult]:
        """The properties the run left undecided (not counting sampled safety properties)."""
        return [p for p in self.properties if p.undecided]

    def __str__(self) -> str:
        """A short report: model, figures, each property's status, and the counterexample as numbered steps."""
        params = ", ".join(f"{k}={v}" for k, v in self.params.items())
        lines = [f"{self.model} ({params}), engine {self.engine}: {self.verdict}",
                 f"  {self.distinct_states:,} distinct states, {self.states_generated:,} generated, depth {self.depth}"]
        lines += [f"  {p.kind} {p.name}: {p.status}" + (f" ({p.note})" if p.note else "") for p in self.properties]
        if self.counterexample is not None:
            lines.append(str(self.counterexample))
        return "\n".join(lines)

    def strict_failures(self) -> list[str]:
        """Why a strict run fails although nothing was violated: classes never taken, witnesses unreached."""
        reasons = []
        if self.coverage is not None:
            for name in self.coverage.never_taken:
                reasons.append(f"action class {name!r} was never taken")
        for p in self.properties:
            if p.kind == SOMETIMES and p.holds is None:
                reasons.append(f"witness {p.name} was not reached")
        return reasons

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "model": self.model,
            "params": self.params,
            "engine": self.engine,
            "verdict": self.verdict,
            "distinct_states": self.distinct_states,
            "states_generated": self.states_generated,
            "depth": self.depth,
            "seconds": round(self.seconds, 3),
            "states_per_second": round(self.states_per_second, 1),
            "peak_memory_mb": round(self.peak_memory_mb, 1),
            "complete": self.complete,
            "symmetry": self.symmetry,
            "fingerprint": self.fingerprint,
            "properties": [p.to_json() for p in self.properties],
            "trace": None,
        }
        if self.fingerprint:
            data["collision_probability"] = self.collision_probability
        if self.max_depth is not None:
            data["max_depth"] = self.max_depth
        if self.notes:
            data["notes"] = list(self.notes)
        if self.coverage is not None:
            data["coverage"] = self.coverage.to_json()
        data.update(self.extra)
        return data


def fill_verdicts(
    result: CheckResult,
    props: list[Any],
    *,
    violated: dict[str, Trace],
    reached: dict[str, Trace],
    liveness: dict[str, PropertyResult],
    ended_early: bool,
    interrupted: bool,
    scope: str,
    sampled: bool,
) -> None:
    """Verdicts of every property, the counterexample and the overall verdict, for every engine.

    ``violated`` / ``reached``: the traces of the safety properties (and
    ``Deadlock``) found violated and the witnesses found. ``ended_early``:
    the search stopped before it was done (a violation, or Ctrl-C).
    ``scope`` says what was searched when the search was not complete
    ("within max depth 10", "in 1,000 random walks of up to 100 steps"); a
    complete exhaustive search decides every safety property and witness.
    ``sampled``: the search was a sample, which decides nothing by not
    finding a violation. The verdict: "violation" if any property is
    violated, else "undecided" if any is undecided, else "ok"
    ("interrupted" after Ctrl-C).
    """
    decided = result.complete and not sampled
    live_note = ("a sampled search cannot judge liveness (use check)" if sampled
                 else "liveness needs the complete state graph")
    for p in props:
        if p.kind in SAFETY_KINDS:
            if p.name in violated:
                result.properties.append(PropertyResult(p.name, p.kind, False, violated[p.name]))
            elif ended_early:
                result.properties.append(PropertyResult(p.name, p.kind, None, note="search ended before it was decided"))
            elif decided:
                result.properties.append(PropertyResult(p.name, p.kind, True))
            else:
                result.properties.append(PropertyResult(p.name, p.kind, None, note=f"no violation {scope}",
                                                        sampled=sampled))
        elif p.kind == SOMETIMES:
            if p.name in reached:
                result.properties.append(PropertyResult(p.name, p.kind, True, reached[p.name]))
            elif ended_early:
                result.properties.append(PropertyResult(p.name, p.kind, None, note="search ended before it was reached"))
            elif decided:
                result.properties.append(PropertyResult(p.name, p.kind, False, note="never reached"))
            else:
                result.properties.append(PropertyResult(p.name, p.kind, None, note=f"not reached {scope}"))
        else:
            result.properties.append(liveness.get(p.name) or PropertyResult(p.name, p.kind, None, note=live_note))
    if DEADLOCK in violated:
        result.properties.append(PropertyResult(DEADLOCK, ALWAYS, False, violated[DEADLOCK],
                                                note="a state with no enabled action"))
    failed = [p for p in result.properties if p.holds is False]
    with_trace = [p for p in failed if p.trace is not None]
    result.counterexample = min(with_trace, key=lambda p: len(p.trace)).trace if with_trace else None
    if interrupted:
        result.verdict = INTERRUPTED
    elif failed:
        result.verdict = VIOLATION
    elif result.undecided:
        result.verdict = UNDECIDED
    else:
        result.verdict = OK


def peak_memory_mb() -> float:
    """This process's peak resident memory so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
