"""Helpers of the user's own project, imported by peterson.py."""

PROCESSES = (0, 1)


def other(i: int) -> int:
    """The other process of the two."""
    return 1 - i
