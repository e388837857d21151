"""Deadline rules of LEGAL §2 (R8, R9, R10, R12): vectors, edge cases, holidays, properties."""

from datetime import UTC, date, datetime, time, timedelta, timezone

import holidays
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gdpr.deadlines import (
    PARIS,
    Deadline,
    HolidayCalendar,
    add_months_clamped,
    add_working_days,
    compute_deadline,
    receipt_day,
    roll_forward,
    subtract_working_days,
    suspended_days,
    suspension_applies,
)

pytestmark = pytest.mark.unit

NATIONAL = HolidayCalendar()
ALSACE = HolidayCalendar("57")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def d(text: str) -> date:
    return date.fromisoformat(text)


# --- LEGAL §2.5 test vectors and golden scenarios (R8, R10) -------------------------------


@pytest.mark.parametrize(
    "vector, received_at, receipt, raw_d1, d1",
    [
        ("V1", utc(2027, 3, 5, 10), "2027-03-05", "2027-04-05", "2027-04-05"),
        ("V2", utc(2026, 8, 31, 8), "2026-08-31", "2026-09-30", "2026-09-30"),
        ("V4", utc(2028, 1, 31, 9), "2028-01-31", "2028-02-29", "2028-02-29"),
        ("V6", utc(2027, 4, 8, 9), "2027-04-08", "2027-05-08", "2027-05-10"),
        ("V9", utc(2026, 11, 25, 9), "2026-11-25", "2026-12-25", "2026-12-28"),
        ("V10", utc(2026, 12, 25, 9), "2026-12-25", "2027-01-25", "2027-01-25"),
    ],
)
def test_legal_vectors(vector, received_at, receipt, raw_d1, d1):
    deadline = compute_deadline(received_at)
    assert (deadline.receipt_day, deadline.raw_d1, deadline.d1) == (d(receipt), d(raw_d1), d(d1))


def test_v1_d3_saturday_rolls_to_monday():
    # §2.3 (b): raw D1 5 Apr + 2 months = Sat 5 Jun 2027 -> Mon 7 Jun.
    deadline = compute_deadline(utc(2027, 3, 5, 10))
    assert (deadline.raw_d3, deadline.d3) == (d("2027-06-05"), d("2027-06-07"))


def test_v4_d3_skips_weekend_and_may_day():
    # 29 Apr 2028 (Sat) -> Sun 30 Apr -> Mon 1 May (holiday) -> Tue 2 May.
    deadline = compute_deadline(utc(2028, 1, 31, 9))
    assert (deadline.raw_d3, deadline.d3) == (d("2028-04-29"), d("2028-05-02"))


def test_d3_is_computed_from_raw_d1_not_rolled_d1():
    # §2.3 reading (b): 31 Jan -> 28 Feb -> 28 Apr, even though D1 rolled to Mon 1 Mar.
    deadline = compute_deadline(utc(2027, 1, 31, 9))
    assert deadline.d1 == d("2027-03-01")
    assert (deadline.raw_d3, deadline.d3) == (d("2027-04-28"), d("2027-04-28"))


def test_gs01_access_from_known_sender():
    deadline = compute_deadline(utc(2027, 3, 5, 10))
    assert deadline.receipt_day == d("2027-03-05")
    assert deadline.d1 == d("2027-04-05")
    assert deadline.d1_instant == datetime(2027, 4, 5, 21, 59, 59, 999000, tzinfo=UTC)


def test_gs15_general_mailbox_counts_from_arrival():
    # Arrival at contact@ on 8 Apr 2027; 8 May is Saturday and a holiday -> Mon 10 May.
    assert compute_deadline(utc(2027, 4, 8, 9)).d1 == d("2027-05-10")


# --- Time zone: the Paris date decides (R2, §2.1(1)) --------------------------------------


@pytest.mark.parametrize(
    "received_at, receipt, d1",
    [
        # Summer time (UTC+2): 22:30Z is already 1 April 00:30 in Paris; 1 May Sat holiday.
        (utc(2027, 3, 31, 22, 30), "2027-04-01", "2027-05-03"),
        (utc(2027, 3, 31, 21, 30), "2027-03-31", "2027-04-30"),
        # Winter time (UTC+1): 23:30Z on 31 Jan is 1 Feb in Paris.
        (utc(2027, 1, 31, 23, 30), "2027-02-01", "2027-03-01"),
        (utc(2027, 1, 31, 22, 59, 59), "2027-01-31", "2027-03-01"),
        # DST starts Sun 28 Mar 2027 at 02:00: 23:30Z on 27 Mar is 00:30 CET on 28 Mar.
        (utc(2027, 3, 27, 23, 30), "2027-03-28", "2027-04-28"),
        (utc(2027, 3, 28, 21, 30), "2027-03-28", "2027-04-28"),  # 23:30 CEST
        (utc(2027, 3, 28, 22, 0), "2027-03-29", "2027-04-29"),  # 00:00 CEST, Easter Monday
        # DST ends Sun 31 Oct 2027 at 03:00: 22:30Z on 30 Oct is 00:30 CEST on 31 Oct.
        (utc(2027, 10, 30, 22, 30), "2027-10-31", "2027-11-30"),
        (utc(2027, 10, 31, 22, 59), "2027-10-31", "2027-11-30"),  # 23:59 CET
        (utc(2027, 10, 31, 23, 0), "2027-11-01", "2027-12-01"),
    ],
)
def test_receipt_day_is_paris_date(received_at, receipt, d1):
    deadline = compute_deadline(received_at)
    assert (deadline.receipt_day, deadline.d1) == (d(receipt), d(d1))


def test_receipt_day_accepts_any_aware_zone():
    new_york = datetime(2027, 1, 31, 18, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert receipt_day(new_york) == d("2027-02-01")  # 23:30Z = 00:30 Paris


@pytest.mark.parametrize("call", [receipt_day, compute_deadline])
def test_naive_datetime_is_rejected(call):
    with pytest.raises(ValueError, match="timezone-aware"):
        call(datetime(2027, 3, 5, 10))


def test_deadline_instants_are_end_of_paris_day():
    deadline = compute_deadline(utc(2026, 11, 25, 9))  # V9: D1 28 Dec, winter time
    assert deadline.d1_instant.tzinfo == PARIS
    assert deadline.d1_instant == utc(2026, 12, 28, 22, 59, 59) + timedelta(microseconds=999000)
    summer = compute_deadline(utc(2027, 3, 5, 10))  # V1: D3 7 Jun, summer time
    assert summer.d3_instant == utc(2027, 6, 7, 21, 59, 59) + timedelta(microseconds=999000)


# --- Month ends, year change, leap years, holidays (R1182 Art. 3(2)(c), 3(4)) --------------


@pytest.mark.parametrize(
    "receipt, raw_d1, d1",
    [
        ("2027-01-29", "2027-02-28", "2027-03-01"),  # 28 Feb 2027 is a Sunday
        ("2027-01-30", "2027-02-28", "2027-03-01"),
        ("2028-01-29", "2028-02-29", "2028-02-29"),  # leap year
        ("2028-01-30", "2028-02-29", "2028-02-29"),
        ("2028-02-29", "2028-03-29", "2028-03-29"),
        ("2026-03-31", "2026-04-30", "2026-04-30"),
        ("2026-05-31", "2026-06-30", "2026-06-30"),
        ("2026-10-31", "2026-11-30", "2026-11-30"),
        ("2026-12-15", "2027-01-15", "2027-01-15"),  # Dec -> Jan
        ("2027-12-31", "2028-01-31", "2028-01-31"),
        ("2027-12-01", "2028-01-01", "2028-01-03"),  # 1 Jan 2028 Sat and holiday
        ("2027-04-17", "2027-05-17", "2027-05-18"),  # Whit Monday 2027
        ("2027-04-06", "2027-05-06", "2027-05-07"),  # Ascension 2027
        ("2026-07-14", "2026-08-14", "2026-08-14"),  # receipt on 14 July: start not moved
    ],
)
def test_month_ends_and_holidays(receipt, raw_d1, d1):
    received_at = datetime.combine(d(receipt), time(12), PARIS)
    deadline = compute_deadline(received_at)
    assert (deadline.raw_d1, deadline.d1) == (d(raw_d1), d(d1))


@pytest.mark.parametrize(
    "day, months, expected",
    [
        ("2027-01-31", 1, "2027-02-28"),
        ("2028-01-31", 1, "2028-02-29"),
        ("2027-08-31", 1, "2027-09-30"),
        ("2027-11-30", 2, "2028-01-30"),
        ("2027-12-31", 2, "2028-02-29"),
        ("2027-03-31", -1, "2027-02-28"),
        ("2027-05-15", 0, "2027-05-15"),
        ("2027-05-15", 12, "2028-05-15"),
    ],
)
def test_add_months_clamped(day, months, expected):
    assert add_months_clamped(d(day), months) == d(expected)


def test_roll_forward_on_working_day_is_identity():
    assert roll_forward(d("2027-04-05"), NATIONAL) == d("2027-04-05")


def test_working_day_arithmetic_skips_weekends_and_holidays():
    # Thu 6 May 2027 Ascension, Sat 8 May Victory Day.
    assert add_working_days(d("2027-05-05"), 3, NATIONAL) == d("2027-05-11")
    assert subtract_working_days(d("2027-05-11"), 3, NATIONAL) == d("2027-05-05")
    assert add_working_days(d("2027-05-08"), 0, NATIONAL) == d("2027-05-08")
    with pytest.raises(ValueError):
        add_working_days(d("2027-05-05"), -1, NATIONAL)


# --- R9: internal service level and alerts --------------------------------------------------


def test_internal_target_is_raw_d1_minus_five_working_days():
    # V1: raw D1 Mon 5 Apr 2027; Easter Monday 29 Mar is skipped -> Fri 26 Mar.
    assert compute_deadline(utc(2027, 3, 5, 10)).internal_target == d("2027-03-26")


def test_internal_target_uses_raw_d1_not_rolled_d1():
    # V9: raw D1 Fri 25 Dec 2026 -> 24, 23, 22, 21, 18 Dec.
    assert compute_deadline(utc(2026, 11, 25, 9)).internal_target == d("2026-12-18")


# --- R12: suspension (§2.4) -----------------------------------------------------------------


def test_gs02_suspension_shifts_the_whole_timeline():
    # Received Mon 1 Mar 2027, challenge sent 2 Mar, answered 10 Mar: 8 days suspended.
    received_at = utc(2027, 3, 1, 8)
    challenge, answer = d("2027-03-02"), d("2027-03-10")
    assert suspension_applies(receipt_day(received_at), challenge, NATIONAL)
    k = suspended_days(challenge, answer)
    assert k == 8
    deadline = compute_deadline(received_at, suspended_days=k)
    assert (deadline.raw_d1, deadline.d1) == (d("2027-04-09"), d("2027-04-09"))
    # raw D3' = add_months_clamped(1 Apr, 2) + 8 = 9 Jun 2027 (Wed).
    assert (deadline.raw_d3, deadline.d3) == (d("2027-06-09"), d("2027-06-09"))
    assert deadline.suspended_days == 8


def test_suspension_then_roll_forward():
    # V1 with 1 day: raw D1' Tue 6 Apr; with 5 days: Sat 10 Apr -> Mon 12 Apr.
    assert compute_deadline(utc(2027, 3, 5, 10), suspended_days=1).d1 == d("2027-04-06")
    assert compute_deadline(utc(2027, 3, 5, 10), suspended_days=5).d1 == d("2027-04-12")


def test_suspended_d3_adds_days_after_the_month_clamp():
    # §2.4: raw D3' = add_months_clamped(raw D1, 2) + k. 30 Nov 2026 -> raw D1 30 Dec;
    # + 2 months = 28 Feb 2027 (clamped); + 1 day = Mon 1 Mar. Shifting first would give
    # add_months_clamped(31 Dec, 2) = 28 Feb (Sun).
    deadline = compute_deadline(utc(2026, 11, 30, 9), suspended_days=1)
    assert (deadline.raw_d1, deadline.raw_d3, deadline.d3) == (
        d("2026-12-31"),
        d("2027-03-01"),
        d("2027-03-01"),
    )


@pytest.mark.parametrize(
    "receipt, requested_on, applies",
    [
        ("2027-03-05", "2027-03-05", True),  # same day
        ("2027-03-05", "2027-03-10", True),  # Fri -> Mon 8, Tue 9, Wed 10
        ("2027-03-05", "2027-03-11", False),
        ("2027-05-05", "2027-05-11", True),  # Ascension 6 May and Sat 8 May skipped
        ("2027-05-05", "2027-05-12", False),
        ("2027-05-08", "2027-05-12", True),  # receipt on Sat holiday: Mon 10, Tue 11, Wed 12
        ("2027-05-08", "2027-05-13", False),
    ],
)
def test_suspension_applies_within_three_working_days(receipt, requested_on, applies):
    assert suspension_applies(d(receipt), d(requested_on), NATIONAL) is applies


def test_suspension_inputs_in_wrong_order_fail():
    with pytest.raises(ValueError):
        suspension_applies(d("2027-03-05"), d("2027-03-04"), NATIONAL)
    with pytest.raises(ValueError):
        suspended_days(d("2027-03-10"), d("2027-03-02"))
    with pytest.raises(ValueError):
        compute_deadline(utc(2027, 3, 5, 10), suspended_days=-1)


# --- §2.2 holidays --------------------------------------------------------------------------

HOLIDAYS_2026_2028 = {  # LEGAL §2.2 table, with its weekdays
    2026: [
        "01-01 Thu",
        "04-06 Mon",
        "05-01 Fri",
        "05-08 Fri",
        "05-14 Thu",
        "05-25 Mon",
        "07-14 Tue",
        "08-15 Sat",
        "11-01 Sun",
        "11-11 Wed",
        "12-25 Fri",
    ],
    2027: [
        "01-01 Fri",
        "03-29 Mon",
        "05-01 Sat",
        "05-08 Sat",
        "05-06 Thu",
        "05-17 Mon",
        "07-14 Wed",
        "08-15 Sun",
        "11-01 Mon",
        "11-11 Thu",
        "12-25 Sat",
    ],
    2028: [
        "01-01 Sat",
        "04-17 Mon",
        "05-01 Mon",
        "05-08 Mon",
        "05-25 Thu",
        "06-05 Mon",
        "07-14 Fri",
        "08-15 Tue",
        "11-01 Wed",
        "11-11 Sat",
        "12-25 Mon",
    ],
}


def _all_days(year: int) -> list[date]:
    first, next_first = date(year, 1, 1), date(year + 1, 1, 1)
    return [first + timedelta(days=i) for i in range((next_first - first).days)]


@pytest.mark.parametrize("year", sorted(HOLIDAYS_2026_2028))
def test_national_holidays_are_exactly_the_11_of_l3133_1(year):
    expected = set()
    for entry in HOLIDAYS_2026_2028[year]:
        month_day, weekday = entry.split()
        day = d(f"{year}-{month_day}")
        assert day.strftime("%a") == weekday, entry
        expected.add(day)
    assert len(expected) == 11
    assert {day for day in _all_days(year) if NATIONAL.is_holiday(day)} == expected


def test_holiday_names_are_french_whatever_the_locale():
    assert NATIONAL.holiday_name(d("2027-05-17")) == "Lundi de Pentecôte"
    assert NATIONAL.holiday_name(d("2026-12-25")) == "Noël"
    assert NATIONAL.holiday_name(d("2026-12-26")) is None


def test_whit_monday_added_back_where_the_package_omits_it():
    # `holidays` drops Whit Monday in 2005-2007 (journée de solidarité); L3133-1 still lists it.
    assert date(2005, 5, 16) not in holidays.France(years=2005)
    assert NATIONAL.is_holiday(date(2005, 5, 16))
    assert not NATIONAL.is_working_day(date(2005, 5, 16))


def test_working_day_excludes_weekends_and_holidays():
    assert NATIONAL.is_working_day(d("2027-04-05"))
    assert not NATIONAL.is_working_day(d("2027-04-03"))  # Saturday
    assert not NATIONAL.is_working_day(d("2027-04-04"))  # Sunday
    assert not NATIONAL.is_working_day(d("2027-03-29"))  # Easter Monday


@pytest.mark.parametrize("subdivision", ["57", "6AE", "Moselle", "Alsace"])
def test_alsace_moselle_adds_good_friday_and_26_december(subdivision):
    calendar = HolidayCalendar(subdivision)
    national_2027 = {day for day in _all_days(2027) if NATIONAL.is_holiday(day)}
    local_2027 = {day for day in _all_days(2027) if calendar.is_holiday(day)}
    assert local_2027 - national_2027 == {d("2027-03-26"), d("2027-12-26")}
    assert national_2027 <= local_2027
    assert not NATIONAL.is_holiday(d("2027-03-26"))


def test_alsace_moselle_changes_the_deadline():
    # raw D1 Fri 26 Mar 2027 = Good Friday; in Alsace-Moselle -> Mon 29 (Easter Mon) -> Tue 30.
    received_at = utc(2027, 2, 26, 9)
    assert compute_deadline(received_at).d1 == d("2027-03-26")
    assert compute_deadline(received_at, ALSACE).d1 == d("2027-03-30")
    # raw D1 Tue 26 Dec 2028 -> Wed 27 Dec in Alsace-Moselle.
    assert compute_deadline(utc(2028, 11, 26, 9)).d1 == d("2028-12-26")
    assert compute_deadline(utc(2028, 11, 26, 9), ALSACE).d1 == d("2028-12-27")


def test_overseas_keeps_only_abolition_of_slavery_day():
    # `holidays` also lists Mi-Carême, Good Friday and Victor Schoelcher Day for Guadeloupe.
    guadeloupe = HolidayCalendar("971")
    assert guadeloupe.is_holiday(d("2027-05-27"))
    assert not guadeloupe.is_holiday(d("2027-03-04"))  # Mi-Carême
    assert not guadeloupe.is_holiday(d("2027-03-26"))  # Good Friday
    assert not guadeloupe.is_holiday(d("2027-07-21"))  # Victor Schoelcher


@pytest.mark.parametrize("subdivision", ["67", "Zone A", "NC"])
def test_unsupported_subdivision_fails_loudly(subdivision):
    with pytest.raises(ValueError, match="not supported"):
        HolidayCalendar(subdivision)


# --- Properties over 2020-2040 --------------------------------------------------------------

received_ats = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2040, 12, 31), timezones=st.just(UTC))
calendars = st.sampled_from([NATIONAL, ALSACE])


@given(received_ats, calendars)
def test_deadline_properties(received_at, calendar):
    deadline: Deadline = compute_deadline(received_at, calendar)
    assert calendar.is_working_day(deadline.d1)
    assert deadline.raw_d1 <= deadline.d1 <= deadline.raw_d1 + timedelta(days=7)
    assert deadline.raw_d1 > deadline.receipt_day
    assert deadline.d3 >= deadline.d1
    assert calendar.is_working_day(deadline.d3)
    assert deadline.internal_target < deadline.raw_d1
    assert calendar.is_working_day(deadline.internal_target)
    assert deadline.receipt_day == received_at.astimezone(PARIS).date()


@given(received_ats, st.integers(min_value=0, max_value=90))
def test_suspension_never_brings_deadlines_earlier(received_at, k):
    plain = compute_deadline(received_at)
    suspended = compute_deadline(received_at, suspended_days=k)
    assert suspended.d1 >= plain.d1
    assert suspended.d3 >= plain.d3
    assert suspended.raw_d1 == plain.raw_d1 + timedelta(days=k)


@given(st.dates(min_value=date(2020, 1, 1), max_value=date(2040, 12, 31)), calendars)
def test_roll_forward_is_idempotent(day, calendar):
    once = roll_forward(day, calendar)
    assert roll_forward(once, calendar) == once
    assert once >= day
