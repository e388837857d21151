"""R51 on the pipeline's own records: when a closed case is purged, and when the clock must look at a case."""

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gdpr.commands import CasePolicy, PurgeCaseRecord
from gdpr.lifecycle import Status, decide
from gdpr.reminders import EVERY_TICK, PURGE, next_look, purge_at, purge_due
from schemas.intake import Right
from schemas.tasks import KeepGround, LegalHold
from tests.unit.test_rights_lifecycle import T0, carry, confirm, discovered, sent

pytestmark = pytest.mark.unit

DEFAULT = CasePolicy()  # DSR_CASE_RETENTION_DAYS unset: 1826 days
HOLD = LegalHold(
    hold_id="dispute-1", categories=["*"], ground=KeepGround.LEGAL_CLAIMS, owner="legal", review_on=date(2028, 1, 1)
)


def closed_quietly(policy: CasePolicy = DEFAULT):
    """An access request answered "no data" at T0, with what closure asks for (the key's destruction) done."""
    state = discovered(Right.ACCESS, T0, holders=())
    state, _ = carry(confirm(state, T0), T0)
    state = sent(state, "outcome_no_data", T0)
    state, _ = carry(state, T0)
    return state


def held(state):
    """A hold the DPO put while the case was open (R46) and still active once it closed."""
    return state.model_copy(update={"holds": (HOLD,)})


def purges(state, now, policy=DEFAULT) -> bool:
    return any(isinstance(c, PurgeCaseRecord) for c in decide(state, now, policy))


def test_the_default_keeps_a_closed_case_five_years_then_purges_it():
    # R51: 5 years after closure, the civil limitation period: 1826 days, a leap day included.
    state = closed_quietly()
    assert state.status == Status.CLOSED and state.closed_at == T0
    assert purge_at(state, DEFAULT) == T0 + timedelta(days=1826)
    assert not purges(state, T0 + timedelta(days=1825, hours=23, minutes=59))
    assert purges(state, T0 + timedelta(days=1826))


def test_the_retention_setting_moves_the_purge_date():
    policy = CasePolicy(case_retention=timedelta(days=90))
    state = closed_quietly(policy)
    assert not purge_due(state, T0 + timedelta(days=89), policy)
    assert purge_due(state, T0 + timedelta(days=90), policy) and purges(state, T0 + timedelta(days=90), policy)


def test_an_open_case_is_never_purged_however_old():
    state = discovered(Right.ACCESS, T0, holders=())
    assert purge_at(state, DEFAULT) is None
    assert not purges(state, T0 + timedelta(days=4000))


def test_a_legal_hold_keeps_the_record_until_released():
    # R46: the case record is the proof of what is held and why; it stays while the hold does.
    state = held(closed_quietly())
    assert purge_at(state, DEFAULT) is None and not purges(state, T0 + timedelta(days=4000))
    released = state.model_copy(update={"released_holds": frozenset({"dispute-1"})})
    assert purge_at(released, DEFAULT) == T0 + timedelta(days=1826)


def test_a_purged_case_is_not_purged_twice():
    state = closed_quietly()
    state, commands = carry(state, T0 + timedelta(days=1826))
    assert [c.command_id for c in commands] == [PURGE]
    assert not purges(state, T0 + timedelta(days=3000)) and next_look(state, DEFAULT) is None


def test_the_clock_looks_at_open_cases_at_every_tick_and_at_quiet_closed_ones_on_their_purge_date():
    assert next_look(discovered(Right.ACCESS, T0, holders=()), DEFAULT) == EVERY_TICK
    closing = sent(carry(confirm(discovered(Right.ACCESS, T0, holders=()), T0), T0)[0], "outcome_no_data", T0)
    assert next_look(closing, DEFAULT) == EVERY_TICK  # closed, its key not yet destroyed: work is pending
    assert next_look(closed_quietly(), DEFAULT) == T0 + timedelta(days=1826)
    assert next_look(held(closed_quietly()), DEFAULT) is None  # nothing until the hold is released (an event)


STATES = {
    "open": lambda: discovered(Right.ACCESS, T0, holders=()),
    "answered": lambda: carry(confirm(discovered(Right.ERASURE, T0), T0), T0)[0],
    "closing": lambda: sent(carry(confirm(discovered(Right.ACCESS, T0, holders=()), T0), T0)[0], "outcome_no_data", T0),
    "closed": closed_quietly,
    "held": lambda: held(closed_quietly()),
}


@settings(max_examples=200, deadline=None)
@given(name=st.sampled_from(sorted(STATES)), minutes=st.integers(min_value=0, max_value=60 * 24 * 4000))
def test_the_clock_never_misses_work_by_skipping_a_case_until_its_next_look(name, minutes):
    # Whatever `decide` would ask at `now`, the agenda has the case due by then: skipping is never losing.
    state = STATES[name]()
    now = T0 + timedelta(minutes=minutes)
    look = next_look(state, DEFAULT)
    if decide(state, now, DEFAULT):
        assert look is not None and look <= now
