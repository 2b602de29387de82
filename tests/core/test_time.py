"""Tests for zhizhi.core.time: UTC/local conversion, working calendar, time-limit clocks.

Holiday facts are those of chinesecalendar 1.11.0, which transcribes the State Council's
2026 holiday notice: 元旦 Jan 1-3 (Sunday Jan 4 worked);
春节 Feb 15-23 (Saturdays Feb 14 and Feb 28 worked); 中秋 Sep 25-27 (Sunday Sep 20
worked); 国庆 Oct 1-7 (Saturday Oct 10 worked).
"""

import random
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

import pytest

from zhizhi.core.time import (
    DEFAULT_CALENDAR,
    LOCAL_TZ,
    ClockType,
    WorkCalendar,
    deadline,
    elapsed,
    to_local,
    to_utc,
    utcnow,
)

WH, WD = ClockType.working_hours, ClockType.working_days


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """Aware UTC instant of an Asia/Shanghai wall-clock time: local(2026, 3, 9, 10)."""
    return datetime(year, month, day, hour, minute, second, tzinfo=LOCAL_TZ).astimezone(UTC)


# --- conversions ---------------------------------------------------------------------


def test_utcnow_is_aware_utc() -> None:
    now = utcnow()
    assert now.tzinfo is UTC
    assert abs(now - datetime.now(UTC)) < timedelta(seconds=5)


def test_to_utc_reads_naive_as_shanghai_local() -> None:
    assert to_utc(datetime(2026, 3, 9, 8, 0)) == datetime(2026, 3, 9, 0, 0, tzinfo=UTC)
    assert to_utc(datetime(2026, 1, 1, 3, 0)) == datetime(2025, 12, 31, 19, 0, tzinfo=UTC)
    assert to_utc(datetime(2026, 3, 9, 8, 0)).tzinfo is UTC


def test_to_utc_converts_aware() -> None:
    tokyo = timezone(timedelta(hours=9))
    assert to_utc(datetime(2026, 3, 9, 9, 0, tzinfo=tokyo)) == datetime(2026, 3, 9, 0, 0, tzinfo=UTC)


def test_to_local() -> None:
    out = to_local(datetime(2026, 3, 8, 16, 30, tzinfo=UTC))
    assert out.tzinfo is LOCAL_TZ
    assert (out.date(), out.time()) == (date(2026, 3, 9), time(0, 30))
    assert out.utcoffset() == timedelta(hours=8)


def test_to_local_refuses_naive() -> None:
    with pytest.raises(ValueError, match="naive"):
        to_local(datetime(2026, 3, 9, 8, 0))


# --- clock types ---------------------------------------------------------------------


def test_clock_type_values_and_units() -> None:
    assert [c.value for c in ClockType] == ["continuous", "working_hours", "working_days", "natural_days"]
    assert ClockType("working_days") is WD
    assert [c.unit for c in ClockType] == ["hours", "hours", "days", "days"]


# --- work calendar -------------------------------------------------------------------


def test_default_calendar() -> None:
    assert DEFAULT_CALENDAR.periods == ((time(8, 30), time(12, 0)), (time(14, 0), time(18, 0)))
    assert DEFAULT_CALENDAR.hours_per_day == 7.5
    assert WorkCalendar() == DEFAULT_CALENDAR
    assert hash(WorkCalendar()) == hash(DEFAULT_CALENDAR)


def test_custom_calendar_yuncheng_default() -> None:
    cal = WorkCalendar(((time(8), time(12)), (time(14), time(18))))
    assert cal.hours_per_day == 8.0
    # Friday 17:00 + 2 working hours -> Monday 09:00 with the 08:00 start.
    assert deadline(local(2026, 3, 6, 17), 2, WH, cal) == local(2026, 3, 9, 9)


def test_touching_periods_are_allowed() -> None:
    cal = WorkCalendar(((time(9), time(12)), (time(12), time(13, 30))))
    assert cal.hours_per_day == 4.5


@pytest.mark.parametrize(
    ("periods", "message"),
    [
        ((), "at least one working period"),
        (((time(14), time(12)),), r"working period 1 \(14:00-12:00\) must start before it ends"),
        (((time(9), time(9)),), r"working period 1 \(09:00-09:00\) must start before it ends"),
        (
            ((time(14), time(18)), (time(8, 30), time(12))),
            r"working period 2 \(08:30-12:00\) starts before the previous period ends",
        ),
        (
            ((time(8), time(12)), (time(11), time(18))),
            r"working period 2 \(11:00-18:00\) starts before the previous period ends",
        ),
        (((time(8), time(12), time(13)),), "working period 1 .* not a pair of naive times"),
        (((time(8), "12:00"),), "working period 1 .* not a pair of naive times"),
        (((time(8, tzinfo=UTC), time(12, tzinfo=UTC)),), "working period 1 .* not a pair of naive"),
    ],
)
def test_calendar_validation(periods: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WorkCalendar(periods)


def test_covered_years_come_from_chinesecalendar() -> None:
    years = DEFAULT_CALENDAR.covered_years()
    assert years.start == 2004 and years.step == 1
    assert 2026 in years
    assert DEFAULT_CALENDAR.is_covered(date(2026, 12, 31))
    assert not DEFAULT_CALENDAR.is_covered(date(2003, 12, 31))
    assert not DEFAULT_CALENDAR.is_covered(date(2100, 1, 1))


@pytest.mark.parametrize(
    ("day", "workday"),
    [
        (date(2026, 1, 1), False),  # 元旦, Thursday
        (date(2026, 1, 2), False),  # 元旦 bridge, Friday
        (date(2026, 1, 4), True),  # Sunday worked for 元旦 (调休)
        (date(2026, 2, 14), True),  # Saturday worked for 春节
        (date(2026, 2, 16), False),  # 除夕, Monday
        (date(2026, 2, 23), False),  # last day of 春节, Monday
        (date(2026, 2, 24), True),  # back to work, Tuesday
        (date(2026, 2, 28), True),  # Saturday worked for 春节
        (date(2026, 3, 7), False),  # ordinary Saturday
        (date(2026, 3, 9), True),  # ordinary Monday
        (date(2026, 9, 20), True),  # Sunday worked for 中秋
        (date(2026, 9, 25), False),  # 中秋, Friday
        (date(2026, 10, 1), False),  # 国庆
        (date(2026, 10, 7), False),  # last day of 国庆, Wednesday
        (date(2026, 10, 8), True),  # Thursday after 国庆
        (date(2026, 10, 10), True),  # Saturday worked for 国庆
        (date(2026, 10, 11), False),  # ordinary Sunday
    ],
)
def test_is_workday_2026(day: date, workday: bool) -> None:
    assert DEFAULT_CALENDAR.is_workday(day) is workday


def test_is_workday_falls_back_to_monday_to_friday_outside_covered_years() -> None:
    assert DEFAULT_CALENDAR.is_workday(date(2100, 1, 1))  # Friday; 元旦 unknown to the data
    assert not DEFAULT_CALENDAR.is_workday(date(2100, 1, 2))  # Saturday
    assert DEFAULT_CALENDAR.is_workday(date(1999, 10, 1))  # Friday; real 国庆 not in the data
    assert not DEFAULT_CALENDAR.is_workday(date(1999, 10, 3))  # Sunday


# --- deadline: working hours ---------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        (local(2026, 3, 6, 17), 2, local(2026, 3, 9, 9, 30)),  # Friday 17:00 -> Monday 09:30
        (local(2026, 3, 9, 11), 2, local(2026, 3, 9, 15)),  # lunch gap skipped
        (local(2026, 3, 9, 12, 30), 1, local(2026, 3, 9, 15)),  # counts from 14:00
        (local(2026, 3, 9, 7, 0), 1, local(2026, 3, 9, 9, 30)),  # counts from 08:30
        (local(2026, 3, 9, 11), 1, local(2026, 3, 9, 12)),  # ends on 12:00, not 14:00
        (local(2026, 3, 9, 17), 1, local(2026, 3, 9, 18)),  # ends on 18:00, not next 08:30
        (local(2026, 3, 9, 8, 30), 7.5, local(2026, 3, 9, 18)),  # one full day
        (local(2026, 3, 6, 19), 0.25, local(2026, 3, 9, 8, 45)),  # Friday evening
        (local(2026, 3, 7, 10), 1, local(2026, 3, 9, 9, 30)),  # Saturday
        (local(2026, 3, 9, 10, 0, 30), 1.5, local(2026, 3, 9, 11, 30, 30)),  # seconds kept
        (local(2026, 9, 30, 17), 2, local(2026, 10, 8, 9, 30)),  # over 国庆 Oct 1-7
        (local(2026, 9, 19, 10), 1, local(2026, 9, 20, 9, 30)),  # make-up Sunday counts
        (local(2026, 9, 24, 17), 2, local(2026, 9, 28, 9, 30)),  # over 中秋 Sep 25-27
        (local(2026, 2, 13, 17), 2, local(2026, 2, 14, 9, 30)),  # make-up Saturday before 春节
        (local(2026, 2, 14, 17), 2, local(2026, 2, 24, 9, 30)),  # over 春节 Feb 15-23
        (local(2025, 12, 31, 17), 2, local(2026, 1, 4, 9, 30)),  # over 元旦 to make-up Sunday
    ],
)
def test_deadline_working_hours(start: datetime, hours: float, expected: datetime) -> None:
    out = deadline(start, hours, WH)
    assert out == expected
    assert out.tzinfo is UTC


def test_deadline_zero_amount_is_start_even_outside_working_time() -> None:
    saturday_night = local(2026, 3, 7, 23)
    assert deadline(saturday_night, 0, WH) == saturday_night
    assert deadline(saturday_night, 0, WD) == saturday_night


def test_deadline_accepts_any_aware_zone_and_returns_utc() -> None:
    start = datetime(2026, 3, 6, 17, tzinfo=LOCAL_TZ)
    out = deadline(start, 2, "working_hours")
    assert out == datetime(2026, 3, 9, 1, 30, tzinfo=UTC)
    assert out.tzinfo is UTC


# --- deadline: working days ----------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (local(2026, 3, 9, 10), 3, local(2026, 3, 12, 10)),  # Monday 10:00 -> Thursday 10:00
        (local(2026, 3, 9, 8, 30), 0.5, local(2026, 3, 9, 14, 15)),  # 3.75 h, lunch skipped
        (local(2026, 3, 6, 10), 1, local(2026, 3, 9, 10)),  # Friday -> Monday
        (local(2026, 3, 9, 8, 30), 1, local(2026, 3, 9, 18)),  # stays on 18:00
        # 20 working days over 中秋 and 国庆, with make-up Saturday Oct 10:
        # Sep 21-24, 28-30, Oct 8-10, 12-16, 19-23 = 20 days, ending on Friday 18:00.
        (local(2026, 9, 21, 8, 30), 20, local(2026, 10, 23, 18)),
        (local(2026, 9, 21, 10), 20, local(2026, 10, 26, 10)),
        # 13 working days (a 12345 suggestion/complaint limit) from Friday Feb 13 over 春节.
        (local(2026, 2, 13, 9), 13, local(2026, 3, 10, 9)),
        (local(2100, 1, 1, 10), 1, local(2100, 1, 4, 10)),  # fallback year: Friday -> Monday
    ],
)
def test_deadline_working_days(start: datetime, days: float, expected: datetime) -> None:
    assert deadline(start, days, WD) == expected


def test_working_days_follow_the_calendar_hours_per_day() -> None:
    cal = WorkCalendar(((time(8), time(12)), (time(14), time(18))))
    assert deadline(local(2026, 3, 9, 8), 0.5, WD, cal) == local(2026, 3, 9, 12)
    assert deadline(local(2026, 3, 9, 10), 3, WD, cal) == local(2026, 3, 12, 10)


# --- deadline: continuous and natural days -------------------------------------------


def test_deadline_continuous_counts_nights_and_holidays() -> None:
    assert deadline(local(2026, 3, 6, 23), 2.5, ClockType.continuous) == local(2026, 3, 7, 1, 30)
    assert deadline(local(2026, 9, 30, 17), 24, "continuous") == local(2026, 10, 1, 17)


def test_deadline_natural_days() -> None:
    assert deadline(local(2026, 9, 30, 10), 3, ClockType.natural_days) == local(2026, 10, 3, 10)
    assert deadline(local(2026, 9, 30, 10), 1.5, ClockType.natural_days) == local(2026, 10, 1, 22)


# --- elapsed -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "clock", "expected"),
    [
        (local(2026, 3, 6, 17), local(2026, 3, 9, 9, 30), WH, 2.0),
        (local(2026, 3, 9, 12, 30), local(2026, 3, 9, 15), WH, 1.0),
        (local(2026, 3, 9, 12, 15), local(2026, 3, 9, 13, 45), WH, 0.0),  # all in lunch
        (local(2026, 3, 9, 8), local(2026, 3, 9, 20), WH, 7.5),
        (local(2026, 9, 30, 17), local(2026, 10, 8, 9, 30), WH, 2.0),
        (local(2026, 3, 9, 10), local(2026, 3, 12, 10), WD, 3.0),
        (local(2026, 3, 9, 8, 30), local(2026, 3, 9, 14, 15), WD, 0.5),
        (local(2026, 9, 21, 8, 30), local(2026, 10, 23, 18), WD, 20.0),
        (local(2026, 3, 6, 23), local(2026, 3, 7, 1, 30), ClockType.continuous, 2.5),
        (local(2026, 9, 30, 10), local(2026, 10, 1, 22), ClockType.natural_days, 1.5),
    ],
)
def test_elapsed(start: datetime, end: datetime, clock: ClockType, expected: float) -> None:
    assert elapsed(start, end, clock) == expected


@pytest.mark.parametrize("clock", list(ClockType))
def test_elapsed_is_zero_when_end_before_start(clock: ClockType) -> None:
    assert elapsed(local(2026, 3, 9, 15), local(2026, 3, 9, 10), clock) == 0.0


@pytest.mark.parametrize("clock", list(ClockType))
def test_round_trip_property(clock: ClockType) -> None:
    """elapsed(s, deadline(s, x, c), c) == x for random starts in 2025-2027 (2027: fallback)."""
    rng = random.Random(20260101 + list(ClockType).index(clock))
    lo = local(2025, 1, 1)
    span_us = int((local(2028, 1, 1) - lo) / timedelta(microseconds=1))
    max_amount = 300.0 if clock.unit == "hours" else 40.0
    cal = DEFAULT_CALENDAR
    for _ in range(300):
        start = lo + timedelta(microseconds=rng.randrange(span_us))
        amount = rng.choice([rng.uniform(0, max_amount), float(rng.randrange(0, int(max_amount)))])
        end = deadline(start, amount, clock)
        assert end >= start
        assert abs(elapsed(start, end, clock) - amount) < 1e-6, (start, amount)
        if clock in (WH, WD) and amount > 0:
            # A working deadline always falls inside (or on the edge of) a working period.
            end_local = to_local(end)
            assert cal.is_workday(end_local.date())
            assert any(a < end_local.time() <= b for a, b in cal.periods), (start, amount, end_local)


# --- errors --------------------------------------------------------------------------


def test_deadline_errors() -> None:
    with pytest.raises(ValueError, match="start must be timezone-aware"):
        deadline(datetime(2026, 3, 9, 10), 1, WH)
    with pytest.raises(ValueError, match="amount must be a finite number >= 0"):
        deadline(local(2026, 3, 9, 10), -1, WH)
    with pytest.raises(ValueError, match="amount must be a finite number >= 0"):
        deadline(local(2026, 3, 9, 10), float("nan"), ClockType.continuous)
    with pytest.raises(ValueError, match="amount must be a finite number >= 0"):
        deadline(local(2026, 3, 9, 10), float("inf"), WD)
    with pytest.raises(ValueError, match="is not a valid ClockType"):
        deadline(local(2026, 3, 9, 10), 1, "fortnights")


def test_elapsed_errors() -> None:
    with pytest.raises(ValueError, match="start must be timezone-aware"):
        elapsed(datetime(2026, 3, 9, 10), local(2026, 3, 9, 11), WH)
    with pytest.raises(ValueError, match="end must be timezone-aware"):
        elapsed(local(2026, 3, 9, 10), datetime(2026, 3, 9, 11), WH)
    with pytest.raises(ValueError, match="is not a valid ClockType"):
        elapsed(local(2026, 3, 9, 10), local(2026, 3, 9, 11), "weeks")
