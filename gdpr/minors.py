"""Minors (LIL 45, 51-II; GDPR 8(1)): consent under 15 needs a parent's too (R41); never refused for age (R43)."""

from __future__ import annotations

from datetime import date

from dateutil.relativedelta import relativedelta

from schemas.intake import Right

DIGITAL_AGE_OF_CONSENT = 15  # LIL 45 (France), R41
ADULTHOOD = 18


def age_on(birth_date: date, day: date) -> int:
    return relativedelta(day, birth_date).years


def consent_is_valid(birth_date: date | None, parental_consent: bool, day: date) -> bool:
    """A consent given under 15 without a holder of parental authority's is treated as invalid (R41, GS-19)."""
    if birth_date is None:
        return True
    return age_on(birth_date, day) >= DIGITAL_AGE_OF_CONSENT or parental_consent


def minor_on(birth_date: date | None, day: date) -> bool:
    """Data collected while the person was a minor are erased as a priority on request (LIL 51-II, R42)."""
    return birth_date is not None and age_on(birth_date, day) < ADULTHOOD


def erasure_priority(right: Right, minor_at_collection: bool) -> bool:
    """LIL 51-II, R42: data collected while the person was a minor are erased « dans les meilleurs délais ».
    The priority is the erasure's: the other rights keep their ordinary deadline, and no e-mail cites 51-II."""
    return minor_at_collection and right == Right.ERASURE
