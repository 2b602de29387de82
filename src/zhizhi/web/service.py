"""Aggregates for the big screen (大屏, 一屏掌控): counts, rates, per-town figures, a 30-day trend and
today's points, always within the caller's data scope and never raw rows of personal data.

Every figure is read through :func:`zhizhi.event.service.scoped` (the caller's district, town, grid or
unit, with confidential categories hidden as in the event list) and leaves out drills (演练) and
merged duplicates, as the KPIs (:mod:`zhizhi.ops.service`) do. Days are 北京时间 calendar days.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from zhizhi.core import time as ztime
from zhizhi.core.access import Actor
from zhizhi.event import rules as event_rules
from zhizhi.event import service as events
from zhizhi.event.models import Event
from zhizhi.ops import service as ops
from zhizhi.org.models import OrgUnit

TREND_DAYS = 30
MAX_POINTS = 2000
RECENT = 12
OPEN = tuple(n.value for n in event_rules.OPEN_NODES)


def _day_start(d: date) -> datetime:
    """The UTC instant at which 北京时间 day ``d`` begins."""
    return datetime.combine(d, time(), ztime.LOCAL_TZ).astimezone(UTC)


def _base(actor: Actor, *columns: Any) -> Any:
    q = select(*columns).select_from(Event).where(Event.is_drill.is_(False), Event.node != "merged")
    return events.scoped(actor, q, own_reports=False)


def _n(cond: ColumnElement[bool]) -> ColumnElement[int]:
    return func.count().filter(cond)


def summary(session: Session, actor: Actor, now: datetime | None = None) -> dict[str, Any]:
    """Everything the big screen shows, for ``actor``'s scope, at ``now`` (aware; default: now).

    Returns a dict:

    - ``today``: ``reported`` and ``closed`` today, ``open`` (在办, any day), ``overdue`` (open events
      past their node's deadline now, 超期), ``urgent`` (open urgent events);
    - ``month``: ``period`` (YYYY-MM), ``reported``, ``close_rate`` (结案率) and ``ontime_close_rate``
      (按期结案率) as fractions 0-1 or None, from :func:`zhizhi.ops.service.kpis`;
    - ``towns``: ``{town_code: {"today": n, "month": n}}``;
    - ``ranking``: the 赛马比拼 rows of the towns for the month (:func:`zhizhi.ops.service.rankings`);
    - ``trend``: ``days`` (ISO dates, oldest first, :data:`TREND_DAYS` of them ending today),
      ``reported`` and ``closed`` per day;
    - ``points``: today's located events ``{id, lon, lat, node, colour, urgency}`` (at most
      :data:`MAX_POINTS`, newest first) and ``recent``: the latest reports with category and node.
    """
    now = now or ztime.utcnow()
    today = ztime.to_local(now).date()
    t0 = _day_start(today)
    period = f"{today.year}-{today.month:02d}"

    open_ = Event.node.in_(OPEN)
    row = session.execute(
        _base(
            actor,
            _n(Event.reported_at >= t0).label("reported"),
            _n(Event.closed_at >= t0).label("closed"),
            _n(open_).label("open"),
            _n(and_(open_, Event.overdue.is_(True))).label("overdue"),
            _n(and_(open_, Event.urgency == "urgent")).label("urgent"),
        )
    ).one()
    today_counts = dict(row._mapping)

    kp = ops.kpis(session, actor, period, by="town")
    ranked = ops.rankings(session, actor, period, kind="town")
    towns: dict[str, dict[str, int]] = {
        r["code"]: {"today": 0, "month": int(r["counts"]["reported"])} for r in kp["rows"]
    }
    for code, n in session.execute(
        _base(actor, Event.town_code, func.count())
        .where(Event.reported_at >= t0, Event.town_code.is_not(None))
        .group_by(Event.town_code)
    ):
        towns.setdefault(code, {"today": 0, "month": 0})["today"] = int(n)

    days = [today - timedelta(days=TREND_DAYS - 1 - i) for i in range(TREND_DAYS)]
    bounds = [_day_start(d) for d in days] + [_day_start(today + timedelta(days=1))]
    cols = []
    for i in range(TREND_DAYS):
        lo, hi = bounds[i], bounds[i + 1]
        cols.append(_n(and_(Event.reported_at >= lo, Event.reported_at < hi)))
        cols.append(_n(and_(Event.closed_at >= lo, Event.closed_at < hi)))
    first = bounds[0]
    trend_row = session.execute(
        _base(actor, *cols).where((Event.reported_at >= first) | (Event.closed_at >= first))
    ).one()

    points = [
        {"id": i, "lon": lon, "lat": lat, "node": node, "colour": colour, "urgency": urgency}
        for i, lon, lat, node, colour, urgency in session.execute(
            _base(actor, Event.id, Event.lon, Event.lat, Event.node, Event.colour, Event.urgency)
            .where(Event.reported_at >= t0, Event.lon.is_not(None))
            .order_by(Event.reported_at.desc(), Event.id.desc())
            .limit(MAX_POINTS)
        )
    ]
    cat = events.catalogue()
    recent = [
        {
            "id": i,
            "category_code": code,
            "category_name": cat.leaf(code).name if cat.has_leaf(code) else code,
            "town_code": town,
            "node": node,
            "colour": colour,
            "urgency": urgency,
            "reported_at": ztime.to_local(at).isoformat(timespec="minutes"),
        }
        for i, code, town, node, colour, urgency, at in session.execute(
            _base(
                actor,
                Event.id,
                Event.category_code,
                Event.town_code,
                Event.node,
                Event.colour,
                Event.urgency,
                Event.reported_at,
            )
            .order_by(Event.reported_at.desc(), Event.id.desc())
            .limit(RECENT)
        )
    ]
    district = session.scalar(
        select(OrgUnit.name).where(OrgUnit.level == "district", OrgUnit.district_code == actor.district_code)
    )
    return {
        "as_of": ztime.to_local(now).isoformat(timespec="seconds"),
        "district": {"code": actor.district_code, "name": district or ""},
        "today": {k: int(v or 0) for k, v in today_counts.items()},
        "month": {
            "period": period,
            "reported": int(kp["total"]["counts"]["reported"]),
            "close_rate": kp["total"]["rates"]["close_rate"],
            "ontime_close_rate": kp["total"]["rates"]["ontime_close_rate"],
        },
        "towns": towns,
        "ranking": [
            {"rank": r["rank"], "code": r["code"], "name": r["name"], "score": r["score"]}
            for r in ranked["rows"]
        ],
        "trend": {
            "days": [d.isoformat() for d in days],
            "reported": [int(trend_row[2 * i] or 0) for i in range(TREND_DAYS)],
            "closed": [int(trend_row[2 * i + 1] or 0) for i in range(TREND_DAYS)],
        },
        "points": points,
        "recent": recent,
    }
