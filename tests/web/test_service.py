"""The big screen's aggregates (web/service.py) straight from the service, at a chosen instant: the
30-day trend counts each event on its 北京时间 reported day and on its closed day, each only inside
the window, in one read of the events."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from zhizhi.core.time import LOCAL_TZ
from zhizhi.event import service as events
from zhizhi.event.models import Event
from zhizhi.event.schemas import EventCreate
from zhizhi.web import service

SYS = events.system_actor("500118")
HOME = (105.898213, 29.352365)  # 中山路社区, a real village point of town 500118001000


def bj(month: int, day: int, h: int = 12, m: int = 0, s: int = 0, year: int = 2019) -> datetime:
    """An instant in 北京时间."""
    return datetime(year, month, day, h, m, s, tzinfo=LOCAL_TZ)


def event(session: Session, reported: datetime, closed: datetime | None = None, **facts: object) -> Event:
    data = EventCreate(category_code="0101", title="趋势测试", lon=HOME[0], lat=HOME[1], reported_at=reported)
    ev = events.create_event(session, SYS, data)
    ev.closed_at = closed
    for k, v in facts.items():
        setattr(ev, k, v)
    session.flush()
    return ev


def test_trend_counts_reported_and_closed_days_inside_the_window(session: Session) -> None:
    now = bj(3, 15, 12)  # the window is 14 February 00:00 … now, 北京时间
    event(session, bj(1, 20), closed=bj(3, 10, 10))  # reported before the window, closed in it
    event(session, bj(3, 14, 23, 59, 30), closed=bj(3, 15, 0, 0, 10))  # 15:59:30 / 16:00:10 UTC
    event(session, bj(3, 15, 0, 0, 0))  # 16:00 UTC on the 14th: the 15th in Beijing
    event(session, bj(2, 13, 23, 59), closed=bj(2, 14, 0, 0))  # reported a minute before the window
    event(session, bj(3, 12), is_drill=True)  # drills (演练) never count
    event(session, bj(3, 12), node="merged")  # nor merged duplicates
    event(session, bj(3, 15, 10), closed=bj(3, 15, 13))  # closed after the instant shown

    s = service.summary(session, SYS, now=now)
    days = s["trend"]["days"]
    assert (days[0], days[-1], len(days)) == ("2019-02-14", "2019-03-15", 30)
    reported = {d: n for d, n in zip(days, s["trend"]["reported"], strict=True) if n}
    closed = {d: n for d, n in zip(days, s["trend"]["closed"], strict=True) if n}
    assert reported == {"2019-03-14": 1, "2019-03-15": 2}
    assert closed == {"2019-02-14": 1, "2019-03-10": 1, "2019-03-15": 1}
    assert (s["today"]["reported"], s["today"]["closed"]) == (2, 1)

    past = service.summary(session, SYS, now=now, as_of=(now - timedelta(days=1)).date())
    assert past["replay"] is True and past["trend"]["days"][-1] == "2019-03-14"
    assert (past["trend"]["reported"][-1], past["trend"]["closed"][-1]) == (1, 0)
    assert sum(past["trend"]["closed"]) == 2  # 14 February and 10 March; 15 March is after the day


def test_trend_without_a_day_expression_counts_the_same(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database without a known day expression gets one filtered count per day and column."""
    now = bj(3, 15, 12)
    event(session, bj(1, 20), closed=bj(3, 10, 10))
    event(session, bj(3, 14, 23, 59, 30), closed=bj(3, 15, 0, 0, 10))
    event(session, bj(3, 15, 0, 0, 0))
    days = [now.date() - timedelta(days=29 - i) for i in range(30)]
    bounds = [service._day_start(d) for d in days] + [now]
    expected = service._trend(session, SYS, bounds)
    monkeypatch.setattr(service, "_local_day", lambda *_: None)
    assert service._trend(session, SYS, bounds) == expected
    assert (sum(expected[0]), sum(expected[1])) == (2, 2)
