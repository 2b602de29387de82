"""The acquisition date and time columns of a FIRMS file (``acq_date``, ``acq_time``, UTC): their
parsers, the reasons a value is refused, and the rows acquired in the future. Pure: no database.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
from numpy.typing import NDArray

from zhizhi.core.errors import FieldError

FUTURE_TOLERANCE = timedelta(minutes=10)
"""How far after "now" an acquisition time may lie and still be read (clock skew between the
platform and the FIRMS servers); a later one is refused: a satellite cannot see what has not
happened, and such a row would open a live verification event (核查事件) for a fire that does not
exist yet."""
FUTURE_COLUMN = "acq_date/acq_time"
"""The column named for a row acquired in the future (the two columns together say when)."""

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^\d{1,4}$")


def parse_date(v: str) -> np.datetime64 | None:
    """``acq_date`` ``YYYY-MM-DD`` as ``datetime64[D]``; None when it is not a real date so written."""
    if not _DATE.match(v):
        return None
    try:
        return np.datetime64(date.fromisoformat(v), "D")
    except ValueError:
        return None


def date_problem(v: str) -> str:
    """Why :func:`parse_date` refused ``v``."""
    if not _DATE.match(v):
        return f'acq_date "{v}" is not a date YYYY-MM-DD'
    return f'acq_date "{v}" is not a real calendar date'


def parse_hhmm(v: str) -> int | None:
    """``acq_time`` HHMM (1 to 4 digits, zero padding optional) as minutes after midnight; None when
    it is not such a time (hour 00-23, minute 00-59)."""
    if not _TIME.match(v):
        return None
    hh, mm = divmod(int(v), 100)
    return hh * 60 + mm if hh <= 23 and mm <= 59 else None


def time_problem(v: str) -> str:
    """Why :func:`parse_hhmm` refused ``v``."""
    if not _TIME.match(v):
        return f'acq_time "{v}" is not HHMM (1 to 4 digits, UTC)'
    hh, mm = divmod(int(v), 100)
    if hh > 23:
        return f'acq_time "{v}": hour {hh} is not 00-23'
    return f'acq_time "{v}": minute {mm} is not 00-59'


def future_errors(
    day_u: NDArray[np.datetime64],
    day_i: NDArray[np.intp],
    minute_u: NDArray[Any],
    minute_i: NDArray[np.intp],
    checked: NDArray[np.bool_],
    lines: NDArray[np.int64],
    now: datetime | None = None,
) -> tuple[NDArray[np.bool_], list[FieldError]]:
    """The rows acquired later than ``now`` + :data:`FUTURE_TOLERANCE`, and one error for each.

    day_u: the distinct ``acq_date`` values (``datetime64[D]``, NaT for refused ones) and day_i each
    row's index among them; minute_u / minute_i the same for ``acq_time`` (minutes after midnight, -1
    for refused ones); checked: (n,) rows still to check (rows already refused are not reported
    twice); lines: (n,) their 1-based lines. now: an aware datetime (default: the current time).
    Returns ((n,) mask of the future rows, their errors: line, column ``acq_date/acq_time``, the
    value ``YYYY-MM-DD HHMM`` and the reason, naming "now" in UTC).
    """
    n = len(day_i)
    mask = np.zeros(n, dtype=bool)
    at = (now or datetime.now(UTC)).astimezone(UTC)
    limit = at + FUTURE_TOLERANCE
    limit_m = np.datetime64(limit.replace(tzinfo=None), "m")
    known = day_u[~np.isnat(day_u)]
    if not n or not known.size or known.max() < limit_m.astype("datetime64[D]"):
        return mask, []  # every date before the limit's day: nothing to look at row by row
    minutes = np.maximum(np.asarray(minute_u, dtype=np.int64), 0)
    acq = day_u.astype("datetime64[m]")[day_i] + minutes.astype("timedelta64[m]")[minute_i]
    mask = (acq > limit_m) & checked & (np.asarray(minute_u)[minute_i] >= 0)
    errors = []
    for i in np.flatnonzero(mask).tolist():
        when = acq[i].astype(datetime)
        value = f"{when:%Y-%m-%d %H%M}"
        reason = (
            f"acquired {when:%Y-%m-%d %H:%M} UTC, in the future: later than now "
            f"({at:%Y-%m-%d %H:%M} UTC) plus {FUTURE_TOLERANCE.total_seconds() / 60:g} min for clock "
            "skew (a wrong acq_date or acq_time?)"
        )
        errors.append(FieldError("acq_date", reason, int(lines[i]), FUTURE_COLUMN, value))
    return mask, errors
