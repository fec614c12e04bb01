"""splitbrain: a model checker and fault-injection test suite for distributed protocols.

The public API: write a :class:`Model` (or actors on :mod:`splitbrain.models.actors`),
state its properties with :func:`always`, :func:`sometimes`, :func:`eventually`,
:func:`leads_to` and :func:`always_eventually`, and explore it with :func:`check`.
The subpackages are ``splitbrain.models``, ``splitbrain.properties``,
``splitbrain.checker`` and ``splitbrain.traces``.
"""

from splitbrain.checker.explore import check
from splitbrain.checker.result import CheckResult, PropertyResult
from splitbrain.models.core import Model
from splitbrain.properties.kinds import (
    SF,
    WF,
    Property,
    after_faults,
    always,
    always_step,
    always_eventually,
    eventually,
    leads_to,
    sometimes,
)

__all__ = [
    "CheckResult",
    "Model",
    "Property",
    "PropertyResult",
    "SF",
    "WF",
    "after_faults",
    "always",
    "always_step",
    "always_eventually",
    "check",
    "eventually",
    "leads_to",
    "sometimes",
]
