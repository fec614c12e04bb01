"""What a check returns: statistics, a verdict per property, counterexamples."""

from __future__ import annotations

import resource
from dataclasses import dataclass, field
from typing import Any

from splitbrain.traces.format import Trace

OK = "ok"
VIOLATION = "violation"
INTERRUPTED = "interrupted"


@dataclass
class PropertyResult:
    """The verdict on one property: True holds, False violated, None undecided."""

    name: str
    kind: str
    holds: bool | None
    trace: Trace | None = None
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "holds": self.holds, "note": self.note}


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

    @property
    def states_per_second(self) -> float:
        return self.distinct_states / self.seconds if self.seconds > 0 else 0.0

    @property
    def collision_probability(self) -> float | None:
        """TLC's optimistic fingerprint-collision estimate, n*(g-n)/2^64."""
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
        data.update(self.extra)
        return data


def peak_memory_mb() -> float:
    """This process's peak resident memory so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
