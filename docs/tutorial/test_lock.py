"""The lock service, gated in pytest (docs/tutorial.md, step 7)."""

from pathlib import Path

LOCK = f"{Path(__file__).with_name('lock.py')}:LockService"


def test_mutual_exclusion_with_lost_and_duplicated_messages(splitbrain_check):
    splitbrain_check(LOCK, clients=3, faults="dup=1,loss=1")


def test_a_client_that_takes_stale_grants_is_caught(splitbrain_check):
    splitbrain_check(LOCK, bug="stale_grant", faults="dup=1", expect_violation="MutualExclusion")
