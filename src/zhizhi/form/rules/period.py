"""Report periods (报告期): a month, quarter or year as local dates (Asia/Shanghai)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

PERIOD_KINDS = {"month": "月报", "quarter": "季报", "year": "年报"}
"""Period types (报表周期) a form may declare, with their zh-CN names."""

_FORMS = {
    "month": (re.compile(r"(\d{4})-(\d{1,2})"), "YYYY-MM (e.g. 2026-11)"),
    "quarter": (re.compile(r"(\d{4})-?[Qq]([1-4])"), "YYYY-Qn (e.g. 2026-Q4)"),
    "year": (re.compile(r"(\d{4})"), "YYYY (e.g. 2026)"),
}
_QUARTER_ZH = "一二三四"


@dataclass(frozen=True)
class Period:
    """One report period: ``kind`` (month|quarter|year), its first and last day (both included, local
    dates), the canonical text (``2026-11``, ``2026-Q4``, ``2026``) and the zh-CN label printed on the
    form (``2026年11月``, ``2026年第四季度``, ``2026年``)."""

    kind: str
    start: date
    end: date
    text: str
    label: str

    @property
    def before_start(self) -> date:
        """The day before the period (期初: the state a flow column compares against)."""
        return self.start - timedelta(days=1)


def parse_period(text: object, kind: str) -> Period:
    """Parse ``text`` as a period of ``kind`` (month|quarter|year).

    text: ``YYYY-MM`` for a monthly form, ``YYYY-Qn`` (or ``YYYYQn``) for a quarterly one, ``YYYY`` for
    a yearly one; years 2000-2100. Returns the :class:`Period` with first and last day (local dates).
    Raises ValueError saying which form the period must take, e.g. a month 13 or a quarter given to a
    monthly form. Source: the 报告期 convention of 统计报表制度 (forms.md §0): calendar months,
    quarters and years; the 人社 21st-to-20th month and the 卫健 25th-to-25th month are not modelled.
    """
    if kind not in _FORMS:
        raise ValueError(f'period type "{kind}" is not one of {", ".join(PERIOD_KINDS)}')
    pattern, shape = _FORMS[kind]
    s = str(text).strip() if isinstance(text, str | int) and not isinstance(text, bool) else ""
    m = pattern.fullmatch(s)
    if m is None:
        raise ValueError(f'period "{str(text)[:20]}": this form is a {PERIOD_KINDS[kind]}; give {shape}')
    year = int(m.group(1))
    if not 2000 <= year <= 2100:
        raise ValueError(f'period "{s}": the year must be between 2000 and 2100')
    if kind == "month":
        month = int(m.group(2))
        if not 1 <= month <= 12:
            raise ValueError(f'period "{s}": the month must be 01-12')
        start, label, canon = date(year, month, 1), f"{year}年{month}月", f"{year}-{month:02d}"
        end = date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)
    elif kind == "quarter":
        q = int(m.group(2))
        start = date(year, 3 * q - 2, 1)
        end = date(year + (q == 4), (3 * q) % 12 + 1, 1) - timedelta(days=1)
        label, canon = f"{year}年第{_QUARTER_ZH[q - 1]}季度", f"{year}-Q{q}"
    else:
        start, end, label, canon = date(year, 1, 1), date(year, 12, 31), f"{year}年", str(year)
    return Period(kind, start, end, canon, label)


def default_as_of(period: Period, today: date) -> date:
    """The statistical date (统计时点) of a form when none is given: the last day of the period (期末),
    or ``today`` while the period is still running."""
    return min(period.end, today)


def check_started(period: Period, today: date, name: str = "period") -> None:
    """Refuse a period that has not started by ``today`` (local date, Beijing time): a form counts
    what the registers hold, and they hold nothing of days still to come. ``name`` is how the caller
    calls the value (``period`` over HTTP, ``--period`` on the command line).

    Raises ValueError naming ``name``, the period, its first day and today, e.g. ``period 2026-12 has
    not started yet (it starts on 2026-12-01; today is 2026-11-30, Beijing time): ...``."""
    if period.start > today:
        raise ValueError(
            f"{name} {period.text} has not started yet (it starts on {period.start}; today is {today}, "
            "Beijing time): a form is filled for the current period or a past one"
        )


def check_not_future(day: date, today: date, name: str = "as_of") -> None:
    """Refuse a statistical date (统计时点) after ``today`` (local date, Beijing time): the registers
    cannot be counted as of a day that has not come. ``name`` is how the caller calls the value
    (``as_of`` over HTTP, ``--as-of`` on the command line). Raises ValueError naming it."""
    if day > today:
        raise ValueError(
            f"{name} {day} is in the future (today is {today}, Beijing time): "
            "a form is counted as of today or an earlier day"
        )
