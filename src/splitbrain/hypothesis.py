"""Splitbrain models in your own Hypothesis tests.

``state_machine(model)`` returns a :class:`hypothesis.stateful.RuleBasedStateMachine`
class with a rule per action class and the model's properties as invariants
(see :mod:`splitbrain.checker.hypothesis`)::

    from splitbrain.hypothesis import state_machine
    from splitbrain.models import registry

    TestPaxos = state_machine(registry.build("paxos")).TestCase

``profile(name)`` gives the settings of the "ci", "dev" and "thorough"
profiles, registered with Hypothesis as ``splitbrain-ci``, ``splitbrain-dev``
and ``splitbrain-thorough`` (``settings.load_profile("splitbrain-ci")``).
"""

from splitbrain.checker.hypothesis import PropertyViolated, profile, state_machine

__all__ = ["PropertyViolated", "profile", "state_machine"]
