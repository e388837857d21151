"""Legal deadlines of GDPR Art. 12(3) in Europe/Paris days: D1, D3, suspension (LEGAL §2)."""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from dateutil.easter import easter  # a dependency of `holidays`; LEGAL §2.2 used it too

PARIS = ZoneInfo("Europe/Paris")
END_OF_DAY = time(23, 59, 59, 999000)  # R8: 23:59:59.999 Europe/Paris

_ONE_DAY = timedelta(days=1)
_LANGUAGE = "fr"  # pinned: with language=None `holidays` guesses from the LANG/LC_* environment

# Local holidays LEGAL §2.2 allows per establishment, by their French name in `holidays`.
# Anything else the package lists for a subdivision (Mi-Carême, Victor Schoelcher...) is dropped.
_ALSACE_MOSELLE = frozenset({"Vendredi saint", "Saint-Étienne"})  # CT L3134-13
_OVERSEAS = frozenset({"Abolition de l'esclavage"})  # loi n° 83-550
_LOCAL_ALLOWED: Mapping[str, frozenset[str]] = {
    "57": _ALSACE_MOSELLE,
    "6AE": _ALSACE_MOSELLE,
    **dict.fromkeys(("971", "972", "973", "974", "976"), _OVERSEAS),
}


def _l3133_1(year: int) -> dict[date, str]:
    """The 11 national holidays of Code du travail L3133-1 (LEGAL §2.2), with fallback names."""
    e = easter(year)
    days = [
        (date(year, 1, 1), "Jour de l'an"),
        (e + timedelta(days=1), "Lundi de Pâques"),
        (date(year, 5, 1), "Fête du Travail"),
        (date(year, 5, 8), "Fête de la Victoire"),
        (e + timedelta(days=39), "Ascension"),
        (e + timedelta(days=50), "Lundi de Pentecôte"),  # counts even as journée de solidarité
        (date(year, 7, 14), "Fête nationale"),
        (date(year, 8, 15), "Assomption"),
        (date(year, 11, 1), "Toussaint"),
        (date(year, 11, 11), "Armistice"),
        (date(year, 12, 25), "Noël"),
    ]
    table: dict[date, str] = {}
    for day, name in days:  # Ascension can fall on 1 or 8 May
        table[day] = f"{table[day]}; {name}" if day in table else name
    return table


@lru_cache(maxsize=512)
def _holidays_of(subdivision: str | None, year: int) -> Mapping[date, str]:
    """National L3133-1 list (package names where it agrees) plus allowed local holidays."""
    legal = _l3133_1(year)
    national = holidays.France(years=year, language=_LANGUAGE)
    # `holidays` omits Whit Monday in 2005-2007: filter to L3133-1, add what is missing.
    table = {day: national.get(day, name) for day, name in legal.items()}
    if subdivision is not None:
        local = holidays.France(subdiv=subdivision, years=year, language=_LANGUAGE)
        allowed = _LOCAL_ALLOWED[subdivision]
        for day, name in local.items():
            if day not in table and name in allowed:
                table[day] = name
    return table


def _canonical_subdivision(subdivision: str | None) -> str | None:
    if subdivision is None:
        return None
    code = holidays.France.subdivisions_aliases.get(subdivision, subdivision)
    if code not in _LOCAL_ALLOWED:
        raise ValueError(
            f"subdivision {subdivision!r} is not supported: LEGAL §2.2 defines local holidays "
            f"only for {sorted(_LOCAL_ALLOWED)}; use None for the national list"
        )
    return code


@dataclass(frozen=True)
class HolidayCalendar:
    """French public holidays (R1182 Art. 2(1), LEGAL §2.2): national, or with a subdivision."""

    subdivision: str | None = None

    def __post_init__(self) -> None:  # "Moselle" -> "57"; unsupported codes fail here
        object.__setattr__(self, "subdivision", _canonical_subdivision(self.subdivision))

    def holiday_name(self, day: date) -> str | None:
        return _holidays_of(self.subdivision, day.year).get(day)

    def is_holiday(self, day: date) -> bool:
        return self.holiday_name(day) is not None

    def is_working_day(self, day: date) -> bool:
        # R1182 Art. 2(2): any day other than a public holiday, Sunday or Saturday.
        return day.weekday() < 5 and not self.is_holiday(day)


NATIONAL = HolidayCalendar()


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (e.g. UTC), got naive {moment}")


def receipt_day(received_at: datetime) -> date:
    """Europe/Paris date of the instant the request arrived (R2, LEGAL §2.1(1))."""
    _require_aware(received_at, "received_at")
    return received_at.astimezone(PARIS).date()


def end_of_day(day: date) -> datetime:
    """23:59:59.999 Europe/Paris on `day` (R8, LEGAL §2.1(6))."""
    return datetime.combine(day, END_OF_DAY, tzinfo=PARIS)


def add_months_clamped(day: date, months: int) -> date:
    """Same day number `months` later, clamped to the month's end (R1182 Art. 3(2)(c))."""
    year, month0 = divmod(day.month - 1 + months, 12)
    year += day.year
    return date(year, month0 + 1, min(day.day, monthrange(year, month0 + 1)[1]))


def roll_forward(day: date, calendar: HolidayCalendar) -> date:
    """Next working day on or after `day` (R1182 Art. 3(4))."""
    while not calendar.is_working_day(day):
        day += _ONE_DAY
    return day


def _step_working_days(day: date, n: int, calendar: HolidayCalendar, step: timedelta) -> date:
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    while n:
        day += step
        n -= calendar.is_working_day(day)
    return day


def add_working_days(day: date, n: int, calendar: HolidayCalendar) -> date:
    """The n-th working day after `day` (`day` itself not counted)."""
    return _step_working_days(day, n, calendar, _ONE_DAY)


def subtract_working_days(day: date, n: int, calendar: HolidayCalendar) -> date:
    """The n-th working day before `day` (`day` itself not counted)."""
    return _step_working_days(day, n, calendar, -_ONE_DAY)


@dataclass(frozen=True)
class Deadline:
    """Deadlines of one request; raw_* are before roll-forward, both include any suspension."""

    received_at: datetime
    receipt_day: date
    raw_d1: date
    d1: date
    raw_d3: date
    d3: date
    suspended_days: int
    internal_target: date

    @property
    def d1_instant(self) -> datetime:
        return end_of_day(self.d1)

    @property
    def d3_instant(self) -> datetime:
        return end_of_day(self.d3)


def compute_deadline(
    received_at: datetime,
    calendar: HolidayCalendar | None = None,
    suspended_days: int = 0,
) -> Deadline:
    """D1 (R8, §2.1), D3 by reading (b) (R10, §2.3), shifted by a suspension (R12, §2.4)."""
    if suspended_days < 0:
        raise ValueError(f"suspended_days must be >= 0, got {suspended_days}")
    calendar = NATIONAL if calendar is None else calendar
    day = receipt_day(received_at)
    unsuspended_d1 = add_months_clamped(day, 1)
    shift = timedelta(days=suspended_days)
    raw_d1 = unsuspended_d1 + shift  # §2.4: the whole timeline shifts, no restart
    raw_d3 = add_months_clamped(unsuspended_d1, 2) + shift  # §2.3 (b)
    return Deadline(
        received_at=received_at,
        receipt_day=day,
        raw_d1=raw_d1,
        d1=roll_forward(raw_d1, calendar),
        raw_d3=raw_d3,
        d3=roll_forward(raw_d3, calendar),
        suspended_days=suspended_days,
        internal_target=subtract_working_days(raw_d1, 5, calendar),  # R9 DESIGN
    )


def suspension_applies(receipt_day: date, information_requested_on: date, calendar: HolidayCalendar) -> bool:
    """R12, §2.4 DESIGN: only if the request for information left within 3 working days."""
    if information_requested_on < receipt_day:
        raise ValueError(f"information requested on {information_requested_on} before receipt day {receipt_day}")
    return information_requested_on <= add_working_days(receipt_day, 3, calendar)


def suspended_days(requested_on: date, received_on: date) -> int:
    """Calendar days from sending the request for information to receiving it (§2.4)."""
    if received_on < requested_on:
        raise ValueError(f"information received on {received_on} before it was requested on {requested_on}")
    return (received_on - requested_on).days
