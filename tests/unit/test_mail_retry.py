"""The retry rule of the mailer: capped exponential backoff within a budget, pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mail.retry import RetryPolicy

pytestmark = pytest.mark.unit


def test_the_backoff_doubles_from_the_first_pause_up_to_its_cap_within_the_budget():
    policy = RetryPolicy(first=timedelta(seconds=30), cap=timedelta(minutes=15), budget=timedelta(hours=48))
    t0 = datetime(2027, 1, 1, tzinfo=UTC)
    assert [policy.next_attempt(t0, n, t0) - t0 for n in (1, 2, 3, 6, 7, 100)] == [
        timedelta(seconds=30),
        timedelta(seconds=60),
        timedelta(seconds=120),
        timedelta(seconds=900),
        timedelta(seconds=900),
        timedelta(seconds=900),
    ]
    near_end = t0 + timedelta(hours=47, minutes=55)
    assert policy.next_attempt(t0, 200, near_end) == t0 + timedelta(hours=48)  # the last try at the budget's end
    assert policy.next_attempt(t0, 201, t0 + timedelta(hours=48)) is None
