"""Event-based indicators: the 安全生产隐患排查治理 form (yj-hazard-monthly) counted from events of the
安全隐患 categories in the month, by town, with exact numbers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from zhizhi.core.time import LOCAL_TZ
from zhizhi.event import service as events
from zhizhi.event.models import Event
from zhizhi.event.schemas import EventCreate
from zhizhi.form import service

from .conftest import OTHER_TOWN, SYSTEM, TOWN

SYS = events.system_actor("500118")


def hazard(session: Session, town: str, cat: str, day: int, month: int = 11, *, urgency: str = "normal",
           closed_day: int | None = None, parked: bool = False, drill: bool = False) -> Event:  # fmt: skip
    """A GENERATED hazard event reported on ``day`` (09:00 Beijing time); closed or parked as given
    (facts set directly: this tests the counting, not the loop)."""
    ev = events.create_event(session, SYS, EventCreate(
        category_code=cat, title="隐患(生成)", town_code=town, urgency=urgency,  # type: ignore[arg-type]
        reported_at=datetime(2026, month, day, 9, tzinfo=LOCAL_TZ), is_drill=drill,
    ), propose_merges=False)  # fmt: skip
    if closed_day is not None:
        ev.closed_at = datetime(
            2026, month if closed_day >= day else month + 1, closed_day, 17, tzinfo=LOCAL_TZ
        )
        ev.node = "closed"
    ev.parked = parked
    session.flush()
    return ev


def test_hazard_form_counts_events_of_the_month_by_town(session: Session) -> None:
    hazard(session, TOWN, "2201", 3, closed_day=10)  # 一般, fixed in the month
    hazard(session, TOWN, "2202", 12)  # 一般 (消防), open
    hazard(session, TOWN, "2204", 20, urgency="high", closed_day=2)  # 一般, fixed only in December
    hazard(session, TOWN, "2201", 5, urgency="urgent", closed_day=25)  # 重大, fixed
    hazard(session, TOWN, "2201", 6, urgency="urgent", parked=True)  # 重大, parked: 列入治理计划
    hazard(session, TOWN, "2201", 7, urgency="urgent")  # 重大, open, not parked
    hazard(session, TOWN, "2203", 8)  # 房屋安全隐患: not in this form
    hazard(session, TOWN, "2201", 9, drill=True)  # a drill never counts
    hazard(session, TOWN, "2201", 28, month=10)  # October
    hazard(session, OTHER_TOWN, "2201", 4, closed_day=6)
    r = service.compute(session, SYSTEM, "yj-hazard-monthly", "500118", "2026-11")
    row = next(x for x in r.rows if x.code == TOWN)
    got = {c.key: row.values[c.no - 1] for c in r.form.columns}
    assert (got["general_found"], got["general_fixed"], got["general_rate"]) == (3, 1, 33.3)
    assert (got["major_found"], got["major_fixed"], got["major_rate"], got["major_planned"]) == (
        3,
        1,
        33.3,
        1,
    )
    assert got["inspected_units"] is None  # manual
    total = r.rows[0]
    assert total.total and total.values[2] == 4 and total.values[4] == 50.0  # 合计: 4 一般, 2 fixed
    assert r.failures == []
    other = next(x for x in r.rows if x.code == OTHER_TOWN)
    assert other.values[2:5] == [1, 1, 100.0]
    empty = next(x for x in r.rows if not x.total and x.code not in (TOWN, OTHER_TOWN))
    assert empty.values[2:5] == [0, 0, None]  # no hazard: the rate is blank, not 0 % or 100 %
