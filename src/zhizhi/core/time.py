"""Time handling and the working-day calendar for event time limits (时限).

Conventions
-----------
* Storage is UTC: every datetime that leaves this module is timezone-aware UTC.
* People live in Asia/Shanghai (UTC+8, no daylight saving since 1991): working periods,
  working days and what a user types are local time. Convert at the edges with
  :func:`to_utc` and :func:`to_local`.
* A *naive* datetime given to :func:`to_utc` is read as Asia/Shanghai wall-clock time
  (a form field, a CSV cell). :func:`deadline` and :func:`elapsed` refuse naive values.

Clock types (计时类型)
----------------------
The four clock units of the 运城 数字城管 ``time_limit_rule`` table (see
shared/domain/governance-features.md §5 "Time limits found"), as :class:`ClockType`:

==================  =======  ===========================================================
``continuous``      hours    紧急(工作)时: every hour counts, nights/weekends/holidays too
``working_hours``   hours    工作时: only time inside the working periods of working days
``working_days``    days     工作日: ``amount x hours_per_day`` of the working-hours clock
``natural_days``    days     自然日: ``amount x 24 h``
==================  =======  ===========================================================

A working day is therefore a quantity of working time, not a calendar day: Monday 10:00
+ 3 working days = Thursday 10:00 in an ordinary week, and 0.5 working day = 3.75 working
hours with the default periods. The deadline of a working clock is the *earliest* instant
at which the elapsed working time reaches the amount, so a deadline that falls exactly on
the end of a period stays there (18:00 Friday, not 08:30 Monday).

Holidays (法定节假日) and make-up working days (调休)
-----------------------------------------------------
Working days come from the maintained ``chinesecalendar`` package
(``chinese_calendar.is_workday``), which transcribes the State Council's yearly holiday
notices. Version 1.11.0 (the one in the lock file) covers **2004 to 2026**; the range is
read from the library's data by :meth:`WorkCalendar.covered_years`. Outside it the
calendar falls back to Monday-Friday with no holidays; :meth:`WorkCalendar.is_covered`
tells when that happens. Upgrade the package each December when the next year's notice
is published.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar

__all__ = [
    "DEFAULT_CALENDAR",
    "LOCAL_TZ",
    "ClockType",
    "WorkCalendar",
    "deadline",
    "elapsed",
    "to_local",
    "to_utc",
    "utcnow",
]

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
"""The zone of every user, working period and working day (中国标准时间, UTC+8)."""

_US_PER_HOUR = 3_600_000_000
_US_PER_DAY = 24 * _US_PER_HOUR
_ONE_DAY = timedelta(days=1)

# Years for which chinesecalendar has the State Council notice, read from its own data.
_COVERED_YEARS = range(min(chinese_calendar.holidays).year, max(chinese_calendar.holidays).year + 1)


def _require_aware(dt: datetime, name: str) -> None:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {dt.isoformat()}")


def _time_us(t: time) -> int:
    """Microseconds from midnight to the wall-clock time ``t``."""
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond


def _local_to_utc(day: date, offset_us: int) -> datetime:
    """Aware UTC instant of local date ``day`` plus ``offset_us`` microseconds."""
    naive = datetime.combine(day, time()) + timedelta(microseconds=offset_us)
    return naive.replace(tzinfo=LOCAL_TZ).astimezone(UTC)


def utcnow() -> datetime:
    """Return the current instant as an aware UTC datetime."""
    return datetime.now(UTC)


def to_utc(dt: datetime) -> datetime:
    """Convert a datetime to aware UTC for storage.

    Parameters
    ----------
    dt : datetime
        Aware datetime in any zone, or naive datetime, which is taken as Asia/Shanghai
        local wall-clock time (北京时间), as typed by a user or read from a local file.

    Returns
    -------
    datetime
        The same instant, aware, in UTC.
    """
    if dt.tzinfo is None or dt.utcoffset() is None:
        dt = dt.replace(tzinfo=LOCAL_TZ)
    return dt.astimezone(UTC)


def to_local(dt: datetime) -> datetime:
    """Convert an aware datetime to Asia/Shanghai local time for display.

    Parameters
    ----------
    dt : datetime
        Aware datetime in any zone (normally UTC, as stored).

    Returns
    -------
    datetime
        The same instant, aware, in :data:`LOCAL_TZ`.

    Raises
    ------
    ValueError
        If ``dt`` is naive: it is ambiguous here (a naive value read back from SQLite is
        UTC, a naive value typed by a user is local), so the caller must say which.
    """
    _require_aware(dt, "dt")
    return dt.astimezone(LOCAL_TZ)


class ClockType(StrEnum):
    """Clock type of a time limit (计时类型), from the 运城 ``time_limit_rule`` units."""

    continuous = "continuous"
    """紧急时: wall-clock hours, nights, weekends and holidays included. Amount in hours."""
    working_hours = "working_hours"
    """工作时: hours inside the working periods of working days. Amount in hours."""
    working_days = "working_days"
    """工作日: working days of ``hours_per_day`` working hours each. Amount in days."""
    natural_days = "natural_days"
    """自然日: calendar days of 24 h. Amount in days."""

    @property
    def unit(self) -> str:
        """Unit of amounts on this clock: ``"hours"`` or ``"days"``."""
        return "hours" if self in (ClockType.continuous, ClockType.working_hours) else "days"


@lru_cache(maxsize=1 << 16)
def _is_workday(d: date) -> bool:
    # chinese_calendar re-derives its covered range on every call; hence the cache.
    if d.year in _COVERED_YEARS:
        return bool(chinese_calendar.is_workday(d))
    return d.weekday() < 5


@dataclass(frozen=True)
class WorkCalendar:
    """Working periods and working days (工作时间与工作日历), in Asia/Shanghai local time.

    Parameters
    ----------
    periods : tuple of (time, time)
        Working periods of one working day as naive local ``(start, end)`` times, sorted,
        non-overlapping (touching is allowed), each with ``start < end``. Default
        08:30-12:00 and 14:00-18:00 (7.5 h); the 运城 system's default was
        08:00-12:00 and 14:00-18:00. A period cannot run past midnight.

    Raises
    ------
    ValueError
        If there is no period, or a period is not a pair of naive times, is empty or
        reversed, or starts before the previous one ends; the message names the period.
    """

    periods: tuple[tuple[time, time], ...] = (
        (time(8, 30), time(12, 0)),
        (time(14, 0), time(18, 0)),
    )
    _bounds: tuple[tuple[int, int], ...] = field(init=False, repr=False, compare=False)
    _day_us: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        periods = tuple(tuple(p) if isinstance(p, tuple | list) else (p,) for p in self.periods)
        if not periods:
            raise ValueError("a work calendar needs at least one working period")
        bounds: list[tuple[int, int]] = []
        for i, period in enumerate(periods, start=1):
            if len(period) != 2 or not all(isinstance(t, time) and t.tzinfo is None for t in period):
                raise ValueError(f"working period {i} {period!r} is not a pair of naive times")
            start, end = period
            name = f"working period {i} ({start:%H:%M}-{end:%H:%M})"
            if start >= end:
                raise ValueError(f"{name} must start before it ends")
            if bounds and _time_us(start) < bounds[-1][1]:
                raise ValueError(f"{name} starts before the previous period ends")
            bounds.append((_time_us(start), _time_us(end)))
        object.__setattr__(self, "periods", periods)
        object.__setattr__(self, "_bounds", tuple(bounds))
        object.__setattr__(self, "_day_us", sum(end - start for start, end in bounds))

    @property
    def hours_per_day(self) -> float:
        """Working hours in one working day (7.5 with the default periods)."""
        return self._day_us / _US_PER_HOUR

    def is_workday(self, d: date) -> bool:
        """Whether ``d`` (a local calendar date) is a working day (工作日).

        Statutory holidays are rest days and make-up working days (调休) are working days,
        per ``chinese_calendar.is_workday``; outside :meth:`covered_years` Monday-Friday
        are working days. Results are cached.
        """
        return _is_workday(d)

    def covered_years(self) -> range:
        """Years for which the installed ``chinesecalendar`` knows holidays and 调休."""
        return _COVERED_YEARS

    def is_covered(self, d: date) -> bool:
        """Whether :meth:`is_workday` knows the real holidays for ``d``, not Mon-Fri."""
        return d.year in _COVERED_YEARS

    def _work_us(self, d: date, start_us: int, end_us: int) -> int:
        """Working microseconds on local date ``d`` between two offsets from midnight."""
        if not _is_workday(d):
            return 0
        return sum(max(0, min(end_us, p_end) - max(start_us, p_start)) for p_start, p_end in self._bounds)


DEFAULT_CALENDAR = WorkCalendar()
"""08:30-12:00 and 14:00-18:00 on chinesecalendar working days."""


def deadline(
    start: datetime,
    amount: float,
    clock: ClockType | str,
    cal: WorkCalendar = DEFAULT_CALENDAR,
) -> datetime:
    """Deadline (截止时间) of a time limit of ``amount`` units on ``clock`` from ``start``.

    Parameters
    ----------
    start : datetime
        Aware datetime when the clock starts (e.g. dispatch, 派遣).
    amount : float
        Time limit, >= 0, in hours (``continuous``, ``working_hours``) or days
        (``working_days``, ``natural_days``).
    clock : ClockType or str
        Clock type (计时类型); a string is read as a :class:`ClockType` value.
    cal : WorkCalendar
        Working periods and days, used by the two working clocks.

    Returns
    -------
    datetime
        Aware UTC. For the working clocks, the earliest instant at which the working time
        since ``start`` reaches ``amount``: a start outside working time counts from the
        next working period; a deadline on a period's end stays there; ``amount == 0``
        returns ``start``. Exact to the microsecond. Whole working days are skipped in one
        step, so the cost grows with the number of calendar days, not with the amount.

    Raises
    ------
    ValueError
        If ``start`` is naive, ``amount`` is negative or not finite, or ``clock`` is not a
        clock type.

    Notes
    -----
    Source: 运城 数字城管 ``time_limit_rule`` clock units (紧急时/工作时/工作日/自然日);
    working day = ``cal.hours_per_day`` working hours (module docstring).
    """
    _require_aware(start, "start")
    if not math.isfinite(amount) or amount < 0:
        raise ValueError(f"amount must be a finite number >= 0, got {amount!r}")
    clock = ClockType(clock)
    start = start.astimezone(UTC)
    if clock is ClockType.continuous:
        return start + timedelta(hours=amount)
    if clock is ClockType.natural_days:
        return start + timedelta(days=amount)

    unit_us = _US_PER_HOUR if clock is ClockType.working_hours else cal._day_us
    remaining = round(amount * unit_us)
    if remaining == 0:
        return start
    local = start.astimezone(LOCAL_TZ)
    day, offset = local.date(), _time_us(local.time())
    while True:
        if _is_workday(day):
            if offset == 0 and remaining > cal._day_us:
                remaining -= cal._day_us  # skip a whole working day
            else:
                for p_start, p_end in cal._bounds:
                    if offset >= p_end:
                        continue
                    begin = max(offset, p_start)
                    if remaining <= p_end - begin:
                        return _local_to_utc(day, begin + remaining)
                    remaining -= p_end - begin
        day, offset = day + _ONE_DAY, 0


def elapsed(
    start: datetime,
    end: datetime,
    clock: ClockType | str,
    cal: WorkCalendar = DEFAULT_CALENDAR,
) -> float:
    """Time used (已用时) on ``clock`` between ``start`` and ``end``; inverse of :func:`deadline`.

    Parameters
    ----------
    start, end : datetime
        Aware datetimes.
    clock : ClockType or str
        Clock type (计时类型).
    cal : WorkCalendar
        Working periods and days, used by the two working clocks.

    Returns
    -------
    float
        Time used, >= 0, in the clock's unit: hours (``continuous``, ``working_hours``)
        or days (``working_days``, ``natural_days``); 0.0 when ``end < start``.
        ``elapsed(s, deadline(s, x, c), c) == x`` to within 1e-9 for every ``x >= 0``
        (deadlines are exact to the microsecond).

    Raises
    ------
    ValueError
        If ``start`` or ``end`` is naive, or ``clock`` is not a clock type.
    """
    _require_aware(start, "start")
    _require_aware(end, "end")
    clock = ClockType(clock)
    if end <= start:
        return 0.0
    if clock is ClockType.continuous:
        return (end - start) / timedelta(hours=1)
    if clock is ClockType.natural_days:
        return (end - start) / timedelta(days=1)

    s, e = start.astimezone(LOCAL_TZ), end.astimezone(LOCAL_TZ)
    s_day, e_day = s.date(), e.date()
    if s_day == e_day:
        used = cal._work_us(s_day, _time_us(s.time()), _time_us(e.time()))
    else:
        used = cal._work_us(s_day, _time_us(s.time()), _US_PER_DAY)
        used += cal._work_us(e_day, 0, _time_us(e.time()))
        day = s_day + _ONE_DAY
        while day < e_day:
            used += cal._day_us if _is_workday(day) else 0
            day += _ONE_DAY
    unit_us = _US_PER_HOUR if clock is ClockType.working_hours else cal._day_us
    return used / unit_us
