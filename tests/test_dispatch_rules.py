"""The rules of following a department's report and of sending again, without the database
(their plumbing — callbacks, polling, the worker — is tested in test_callbacks and test_flow)."""

import random

import pytest

from applications.models import SubTaskStatus as S
from applications.services import _steps_towards, retry_delay

#: (the part's status, what the department reports) → the transitions the part goes through.
#: A report says where the case is now: the part catches up, in order, and never goes back.
FOLLOWING = [
    (S.READY, "received", ["dispatch"]),
    (S.READY, "accepted", ["dispatch", "accept"]),
    (S.READY, "approved", ["dispatch", "accept", "approve"]),
    (S.READY, "rejected", ["dispatch", "reject"]),
    (S.DISPATCHED, "received", []),
    (S.DISPATCHED, "accepted", ["accept"]),
    (S.DISPATCHED, "approved", ["accept", "approve"]),
    (S.DISPATCHED, "rejected", ["reject"]),
    (S.ACCEPTED, "received", []),
    (S.ACCEPTED, "accepted", []),
    (S.ACCEPTED, "approved", ["approve"]),
    (S.ACCEPTED, "rejected", ["reject"]),
    (S.SUPPLEMENT_REQUESTED, "accepted", []),
    (S.SUPPLEMENT_REQUESTED, "approved", ["resume", "approve"]),
    (S.SUPPLEMENT_REQUESTED, "rejected", ["reject"]),
    # Not at the department, or finished: a report changes nothing.
    (S.WAITING, "approved", []),
    (S.FAILED, "approved", []),
    (S.APPROVED, "rejected", []),
    (S.REJECTED, "approved", []),
    (S.CANCELLED, "accepted", []),
]


@pytest.mark.parametrize(("status", "reported", "steps"), FOLLOWING)
def test_a_report_moves_the_part_forward_to_where_the_case_is(status, reported, steps):
    assert _steps_towards(status, reported) == steps


@pytest.fixture
def back_off(settings):
    settings.DISPATCH_RETRY_BASE_SECONDS = 2.0
    settings.DISPATCH_RETRY_MAX_SECONDS = 60.0
    random.seed(8)


@pytest.mark.parametrize(("attempt", "ceiling"), [(1, 2.0), (2, 4.0), (3, 8.0), (5, 32.0)])
def test_each_failed_attempt_doubles_the_wait_with_jitter_in_its_upper_half(
    back_off, attempt, ceiling
):
    waits = [retry_delay(attempt) for _ in range(200)]
    assert all(ceiling / 2 <= wait <= ceiling for wait in waits)
    # Spread over the whole half, so that parts failing together do not retry together.
    assert min(waits) < ceiling * 0.55 and max(waits) > ceiling * 0.95


def test_the_wait_never_exceeds_the_longest(back_off):
    waits = [retry_delay(attempt) for attempt in (6, 7, 30) for _ in range(100)]
    assert all(30.0 <= wait <= 60.0 for wait in waits)
