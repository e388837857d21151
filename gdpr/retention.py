"""Retention end dates: each rule's clocks read from a person's records, and what is due as of a date (R44)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from gdpr.register import Clock, Duration, RetentionRule, Scalar

Records = Mapping[str, list[dict]]  # one system's export: category -> rows
_UNKNOWN = object()  # a clock that applies but cannot be dated from the records: never guess

ACCOUNTING_YEARS = Duration(years=10)  # Code de commerce L123-22, §5 row 6
CALENDAR_YEAR_END = "12-31"  # financial year of the reference CRM; a register clock may name another


class Initiator(StrEnum):
    PERSON = "person"  # the contact came from the person: restarts a prospect's clock (§5 row 5)
    COMPANY = "company"  # the contact came from us: never restarts it


class ContactKind(StrEnum):
    """Contacts a CRM records; who initiated each decides whether it restarts the 3-year clock (CNIL-COM)."""

    EMAIL_RECEIVED = "email_received"
    FORM_SUBMITTED = "form_submitted"
    CALL_RECEIVED = "call_received"
    LINK_CLICKED = "link_clicked"
    POSITIVE_ANSWER = "positive_answer"  # an explicit yes recorded during one of our calls
    KEEP_INFORMED = "keep_informed"  # the person's yes to our one re-contact before their end (privacy center)
    EMAIL_SENT = "email_sent"
    EMAIL_OPENED = "email_opened"  # an open is not a contact from the person (§5 row 5)
    CALL_MADE = "call_made"


INITIATOR = {
    ContactKind.EMAIL_RECEIVED: Initiator.PERSON,
    ContactKind.FORM_SUBMITTED: Initiator.PERSON,
    ContactKind.CALL_RECEIVED: Initiator.PERSON,
    ContactKind.LINK_CLICKED: Initiator.PERSON,
    ContactKind.POSITIVE_ANSWER: Initiator.PERSON,
    ContactKind.KEEP_INFORMED: Initiator.PERSON,  # an explicit positive answer, given by the person (§5 row 5)
    ContactKind.EMAIL_SENT: Initiator.COMPANY,
    ContactKind.EMAIL_OPENED: Initiator.COMPANY,
    ContactKind.CALL_MADE: Initiator.COMPANY,
}


def financial_year_close(day: date, year_end: str = CALENDAR_YEAR_END) -> date:
    """The first close of the financial year (MM-DD) on or after `day`."""
    month, dom = (int(part) for part in year_end.split("-"))
    close = date(day.year, month, dom)
    return close if close >= day else date(day.year + 1, month, dom)


def accounting_end(issued_on: date, year_end: str = CALENDAR_YEAR_END) -> date:
    """Invoices and accounting documents: 10 years from the close of their financial year (L123-22)."""
    return ACCOUNTING_YEARS.after(financial_year_close(issued_on, year_end))


def retention_end(rule: RetentionRule, records: Records, category: str) -> date | None:
    """The end of `category`'s data under `rule`: the latest end among the clocks that apply (the data stay
    while one purpose needs them); None when a clock applies but the records cannot date it (no guessing)."""
    ends = []
    for clock in rule.clocks:
        end = _clock_end(clock, records, category)
        if end is _UNKNOWN:
            return None
        if end is not None:
            ends.append(end)
    return max(ends, default=None)


def is_due(rule: RetentionRule, records: Records, category: str, as_of: date) -> bool:
    """Kept through its end date, due the day after; never due when the end cannot be dated."""
    end = retention_end(rule, records, category)
    return end is not None and past_end(end, as_of)


def past_end(end: date, as_of: date) -> bool:
    """R44: data are kept through their end date ("jusqu'au <date>" in the access answer) and due the day after.
    The one boundary every scan applies, built-in, declarative, webhook or SDK (handlers.verbs.due_of)."""
    return as_of > end


def first_due_day(end: date) -> date:
    """The first day a scan reports data ending on `end`: the day after it."""
    return end + timedelta(days=1)


def _clock_end(clock: Clock, records: Records, own: str) -> Any:
    """A date; None if the clock does not apply (condition false, no such rows); else _UNKNOWN."""
    applies = _condition(clock.when, records, own)
    if applies is not True:
        return None if applies is False else _UNKNOWN
    rows = [
        (ref, row)
        for ref in clock.start
        for row in _rows(records, own, ref.field)
        if all(row.get(k) == v for k, v in ref.where.items())
    ]
    days = [day for ref, row in rows if (day := as_day(row.get(ref.field.rpartition(".")[2])))]
    if not days:
        return _UNKNOWN if rows else None
    start = max(days)
    if clock.from_financial_year_end:
        start = financial_year_close(start, clock.from_financial_year_end)
    return clock.duration.after(start)


def _condition(when: Mapping[str, Scalar], records: Records, own: str) -> bool | None:
    """False if a field has another value; None if a field is absent from the records."""
    results = {_holds(records, own, ref, expected) for ref, expected in when.items()}
    return False if False in results else None if None in results else True


def _holds(records: Records, own: str, ref: str, expected: Scalar) -> bool | None:
    name = ref.rpartition(".")[2]
    values = [row[name] for row in _rows(records, own, ref) if row.get(name) is not None]
    return expected in values if values else None


def _rows(records: Records, own: str, ref: str) -> list[dict]:
    return list(records.get(ref.rpartition(".")[0] or own) or ())


def as_day(value: Any) -> date | None:
    """ISO date or date-time strings, as the systems export them; the calendar date is kept."""
    if isinstance(value, date):
        return value.date() if isinstance(value, datetime) else value
    try:
        return date.fromisoformat(value[:10]) if isinstance(value, str) else None
    except ValueError:
        return None
