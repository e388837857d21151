"""When the reference systems on PostgreSQL prune erased rows: the ScrubPolicy's count, period and close."""

from __future__ import annotations

import time

import pytest

from handlers.reference.db import ScrubPolicy
from handlers.reference.postgres import TIMER_TRIES, Pruning

pytestmark = pytest.mark.unit


class Vacuums:
    """Stands in for the VACUUM: counts the runs, and fails while told to."""

    def __init__(self) -> None:
        self.runs, self.failing = 0, False

    def __call__(self) -> None:
        if self.failing:
            raise ConnectionError("server gone")
        self.runs += 1


def test_the_nth_erasure_prunes_and_the_close_prunes_the_rest():
    vacuums = Vacuums()
    pruning = Pruning(ScrubPolicy(erasures=3, seconds=3600), vacuums, "crm")
    for _ in range(5):
        pruning.erased()
    assert vacuums.runs == 1  # after the third, not after each
    pruning.close()
    assert vacuums.runs == 2  # the fourth and fifth
    pruning.close()
    assert vacuums.runs == 2  # nothing left to prune


def test_a_failed_vacuum_leaves_its_erasures_due():
    vacuums = Vacuums()
    pruning = Pruning(ScrubPolicy(erasures=2, seconds=3600), vacuums, "crm")
    pruning.erased()
    vacuums.failing = True
    with pytest.raises(ConnectionError):
        pruning.erased()  # the erasure's caller hears of it
    vacuums.failing = False
    pruning.close()
    assert vacuums.runs == 1  # the two erasures pruned at close, not forgotten


def test_the_period_prunes_when_no_more_erasures_come():
    vacuums = Vacuums()
    pruning = Pruning(ScrubPolicy(erasures=1000, seconds=0.05), vacuums, "crm")
    pruning.erased()
    deadline = time.monotonic() + 5
    while not vacuums.runs and time.monotonic() < deadline:
        time.sleep(0.01)
    assert vacuums.runs == 1
    pruning.close()
    assert vacuums.runs == 1


def test_the_timer_stops_after_its_tries_and_an_erasure_gives_them_back():
    # A server gone for good (or a system never closed in a process whose database stopped): the timer does not
    # retry for ever; the next erasure starts it again, the erasures still counted.
    vacuums = Vacuums()
    vacuums.failing = True
    pruning = Pruning(ScrubPolicy(erasures=1000, seconds=0.02), vacuums, "crm")
    pruning.erased()
    deadline = time.monotonic() + 5
    while pruning._timer is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert pruning._timer is None and pruning._failures == TIMER_TRIES  # stopped
    vacuums.failing = False
    pruning.erased()
    deadline = time.monotonic() + 5
    while not vacuums.runs and time.monotonic() < deadline:
        time.sleep(0.01)
    assert vacuums.runs == 1
    pruning.close()
