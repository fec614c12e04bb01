"""The service layer: the control loops that keep a service up (issue 18).

Load balancing, health checks, circuit breakers, retries and service
discovery, each an actor model with its safety and liveness properties and
the classic bugs as flags.
"""
