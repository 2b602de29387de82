"""Pure KPI formulas (核心绩效) and the ranking score (赛马比拼).

Formulas follow the 数字城管 indicator set (GB/T 30428.4 / CJ/T 292 lineage) as collected in
shared/domain/governance-features.md §7; 按期结案率 = 按期结案数 / (应结案数 − 缓办数) as in the 金华
rules. Every rate is a fraction 0–1 or None when its denominator is 0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from zhizhi.core.time import LOCAL_TZ

COUNT_FIELDS = (
    "reported",
    "registered",
    "registered_on_time",
    "dispatched",
    "dispatch_total",
    "return_total",
    "returned",
    "handled",
    "handled_on_time",
    "should_close",
    "deferred",
    "closed",
    "closed_on_time",
    "reworked",
    "rework_total",
    "overdue",
    "evaluated",
    "satisfied",
    "handle_hours_sum",
    "handle_hours_n",
)


def _ratio(a: float, b: float) -> float | None:
    return None if b <= 0 else a / b


def kpi_rates(c: dict[str, float]) -> dict[str, float | None]:
    """Rates from the counts of one unit (keys of :data:`COUNT_FIELDS`).

    Returns 按时立案率 ontime_register_rate, 准确派遣率 accurate_dispatch_rate (1 − 回退/派遣), 处置率
    handle_rate (处置/派遣), 按期处置率 ontime_handle_rate, 结案率 close_rate (结案/应结案), 按期结案率
    ontime_close_rate (按期结案/(应结案 − 缓办)), 返工率 rework_rate (返工事件/处置), 回退率 return_rate
    (回退事件/派遣事件), 满意率 satisfaction_rate (满意/评价), avg_handle_hours (派遣→处置, hours).
    """
    acc = _ratio(c["return_total"], c["dispatch_total"])
    return {
        "ontime_register_rate": _ratio(c["registered_on_time"], c["registered"]),
        "accurate_dispatch_rate": None if acc is None else max(0.0, 1 - acc),
        "handle_rate": _ratio(c["handled"], c["dispatched"]),
        "ontime_handle_rate": _ratio(c["handled_on_time"], c["handled"]),
        "close_rate": _ratio(c["closed"], c["should_close"]),
        "ontime_close_rate": _ratio(c["closed_on_time"], c["should_close"] - c["deferred"]),
        "rework_rate": _ratio(c["reworked"], c["handled"]),
        "return_rate": _ratio(c["returned"], c["dispatched"]),
        "satisfaction_rate": _ratio(c["satisfied"], c["evaluated"]),
        "avg_handle_hours": _ratio(c["handle_hours_sum"], c["handle_hours_n"]),
    }


@dataclass(frozen=True)
class ScoringRule:
    """A 赛马比拼 rule: ``weights`` per rate (points at rate 1.0), ``deductions`` per count."""

    weights: dict[str, float]
    deductions: dict[str, float]
    min_reported: int = 1

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = "ranking rule") -> ScoringRule:
        """Validate a rule read from YAML; raises ValueError naming ``source`` and the bad key."""
        rates = set(kpi_rates(dict.fromkeys(COUNT_FIELDS, 1.0)))
        w = d.get("weights") or {}
        ded = d.get("deductions") or {}
        for k, v in w.items():
            if k not in rates:
                raise ValueError(f'{source}: weights: unknown rate "{k}" (known: {", ".join(sorted(rates))})')
            if not isinstance(v, int | float) or v < 0:
                raise ValueError(f"{source}: weights.{k}: must be a number ≥ 0")
        for k, v in ded.items():
            if k not in COUNT_FIELDS:
                raise ValueError(f'{source}: deductions: unknown count "{k}"')
            if not isinstance(v, int | float) or v < 0:
                raise ValueError(f"{source}: deductions.{k}: must be a number ≥ 0")
        if not w:
            raise ValueError(f"{source}: weights: at least one weight is needed")
        return cls(
            {k: float(v) for k, v in w.items()},
            {k: float(v) for k, v in ded.items()},
            int(d.get("min_reported", 1)),
        )


def score(rates: dict[str, float | None], counts: dict[str, float], rule: ScoringRule) -> float | None:
    """Score of one unit: Σ weight × rate re-scaled over the rates that have a value, minus deductions.

    Returns None when no weighted rate has a value (nothing to judge)."""
    have = {k: w for k, w in rule.weights.items() if rates.get(k) is not None}
    if not have:
        return None
    total_w = sum(rule.weights.values())
    got_w = sum(have.values())
    s = sum(w * float(rates[k] or 0.0) for k, w in have.items()) * (total_w / got_w if got_w else 0.0)
    s -= sum(d * counts.get(k, 0.0) for k, d in rule.deductions.items())
    return round(s, 4)


def rank(rows: list[tuple[str, float | None]]) -> dict[str, int | None]:
    """Competition ranks (1, 2, 2, 4 …) by score descending; None score → None rank."""
    scored = sorted((s, code) for code, s in rows if s is not None)
    scored.sort(key=lambda x: -x[0])
    out: dict[str, int | None] = {code: None for code, _ in rows}
    prev, r = None, 0
    for i, (s, code) in enumerate(scored, start=1):
        if s != prev:
            r, prev = i, s
        out[code] = r
    return out


_PERIOD = re.compile(r"^(\d{4})(?:-(\d{2})|-Q([1-4]))?$")


def period_bounds(period: str) -> tuple[datetime, datetime]:
    """Parse ``YYYY``, ``YYYY-MM`` or ``YYYY-Qn`` into [start, end) aware datetimes in Asia/Shanghai.

    Raises ValueError with the accepted forms for anything else (e.g. month 13)."""
    m = _PERIOD.match(period.strip())
    if not m:
        raise ValueError(f'period "{period}" must be YYYY, YYYY-MM or YYYY-Qn (e.g. 2026-11, 2026-Q4)')
    y = int(m.group(1))
    if not 2000 <= y <= 2100:
        raise ValueError(f'period "{period}": year must be between 2000 and 2100')
    if m.group(2):
        mo = int(m.group(2))
        if not 1 <= mo <= 12:
            raise ValueError(f'period "{period}": month must be 01-12')
        start, end = date(y, mo, 1), date(y + (mo == 12), mo % 12 + 1, 1)
    elif m.group(3):
        q = int(m.group(3))
        start = date(y, 3 * q - 2, 1)
        end = date(y + (q == 4), (3 * q) % 12 + 1, 1)
    else:
        start, end = date(y, 1, 1), date(y + 1, 1, 1)
    return (datetime.combine(start, time(), LOCAL_TZ), datetime.combine(end, time(), LOCAL_TZ))
