"""KPI formulas, scoring and periods (no database)."""

from datetime import datetime

import pytest

from zhizhi.core.time import LOCAL_TZ
from zhizhi.ops import rules


def counts(**kw: float) -> dict[str, float]:
    c = dict.fromkeys(rules.COUNT_FIELDS, 0.0)
    c.update(kw)
    return c


def test_rates_follow_the_published_formulas() -> None:
    # 天门 2016-12 monthly report: 应结案 972, 结案 911 (93.72 %); 按期结案 737 → 737/972 = 75.82 %
    c = counts(
        should_close=972,
        closed=911,
        closed_on_time=737,
        dispatch_total=100,
        return_total=4,
        dispatched=100,
        handled=90,
        reworked=9,
        returned=4,
        satisfied=8,
        evaluated=10,
    )
    r = rules.kpi_rates(c)
    assert round(r["close_rate"] * 100, 2) == 93.72
    assert round(r["ontime_close_rate"] * 100, 2) == 75.82
    assert r["accurate_dispatch_rate"] == pytest.approx(0.96)
    assert r["rework_rate"] == pytest.approx(0.1)
    assert r["handle_rate"] == pytest.approx(0.9)
    assert r["satisfaction_rate"] == pytest.approx(0.8)
    assert r["avg_handle_hours"] is None


def test_deferred_cases_leave_the_denominator() -> None:
    r = rules.kpi_rates(counts(should_close=10, deferred=2, closed_on_time=6))
    assert r["ontime_close_rate"] == pytest.approx(0.75)


def test_score_rescales_missing_rates_and_deducts() -> None:
    rule = rules.ScoringRule({"ontime_close_rate": 50, "satisfaction_rate": 50}, {"rework_total": 0.2})
    assert (
        rules.score({"ontime_close_rate": 0.8, "satisfaction_rate": None}, {"rework_total": 3}, rule) == 79.4
    )
    assert rules.score({"ontime_close_rate": None, "satisfaction_rate": None}, {}, rule) is None


def test_rank_ties_share_a_place() -> None:
    assert rules.rank([("a", 90.0), ("b", 95.0), ("c", 90.0), ("d", None)]) == {
        "b": 1,
        "a": 2,
        "c": 2,
        "d": None,
    }


def test_rule_validation_names_the_key() -> None:
    with pytest.raises(ValueError, match='unknown rate "speed"'):
        rules.ScoringRule.from_dict({"weights": {"speed": 1}}, "r.yaml")
    with pytest.raises(ValueError, match="deductions.rework_total: must be a number ≥ 0"):
        rules.ScoringRule.from_dict(
            {"weights": {"close_rate": 1}, "deductions": {"rework_total": -1}}, "r.yaml"
        )


@pytest.mark.parametrize(
    ("p", "start", "end"),
    [
        ("2026-11", datetime(2026, 11, 1), datetime(2026, 12, 1)),
        ("2026-12", datetime(2026, 12, 1), datetime(2027, 1, 1)),
        ("2026-Q4", datetime(2026, 10, 1), datetime(2027, 1, 1)),
        ("2026-Q1", datetime(2026, 1, 1), datetime(2026, 4, 1)),
        ("2019", datetime(2019, 1, 1), datetime(2020, 1, 1)),
    ],
)
def test_periods(p: str, start: datetime, end: datetime) -> None:
    assert rules.period_bounds(p) == (start.replace(tzinfo=LOCAL_TZ), end.replace(tzinfo=LOCAL_TZ))


@pytest.mark.parametrize("bad", ["2026-13", "26-11", "2026-Q5", "november"])
def test_bad_periods(bad: str) -> None:
    with pytest.raises(ValueError, match="YYYY|month"):
        rules.period_bounds(bad)
