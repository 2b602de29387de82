"""Aggregates for the big screen (大屏, 一屏掌控): counts, rates, per-town figures, a 30-day trend and
today's points, always within the caller's data scope and never raw rows of personal data.

Every figure is read through :func:`zhizhi.event.service.scoped` (the caller's district, town, grid or
unit, with confidential categories hidden as in the event list) and leaves out drills (演练) and
merged duplicates, as the KPIs (:mod:`zhizhi.ops.service`) do. Days are 北京时间 calendar days.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Date, and_, case, cast, func, or_, select
from sqlalchemy.orm import Session

from zhizhi.core import time as ztime
from zhizhi.core.access import Actor
from zhizhi.event import service as events
from zhizhi.event.models import Event
from zhizhi.ops import service as ops
from zhizhi.org.models import OrgUnit
from zhizhi.web import history

TREND_DAYS = 30
MAX_POINTS = 2000
RECENT = 12
OPEN = tuple(sorted(history.OPEN))


def _day_start(d: date) -> datetime:
    """The UTC instant at which 北京时间 day ``d`` begins."""
    return datetime.combine(d, time(), ztime.LOCAL_TZ).astimezone(UTC)


def _base(actor: Actor, *columns: Any) -> Any:
    q = select(*columns).select_from(Event).where(Event.is_drill.is_(False), Event.node != "merged")
    return events.scoped(actor, q, own_reports=False, own_tasks=False)  # a unit's own area only


def _n(cond: ColumnElement[bool]) -> ColumnElement[int]:
    return func.count().filter(cond)


def _category_name(cat: Any, code: str) -> str:
    return str(cat.leaf(code).name) if cat.has_leaf(code) else code


def _known(row: Any) -> history.Known:
    return history.Known(row.id, row.node, row.node_entered_at, row.node_limit, row.reported_at)


KNOWN = (Event.id, Event.node, Event.node_entered_at, Event.node_limit, Event.reported_at)


def _open_counts(session: Session, actor: Actor, end: datetime, past: bool) -> dict[str, int]:
    """在办 (open), 超期 (overdue) and open urgent events now, or at ``end`` for a past day (rebuilt
    from the timelines, :mod:`zhizhi.web.history`)."""
    if not past:
        row = session.execute(
            _base(
                actor,
                func.count().label("open"),
                _n(Event.overdue.is_(True)).label("overdue"),
                _n(Event.urgency == "urgent").label("urgent"),
            ).where(Event.node.in_(OPEN))  # the node index: only open rows are read
        ).one()
        return {k: int(v or 0) for k, v in row._mapping.items()}
    rows = session.execute(
        _base(actor, *KNOWN, Event.urgency).where(
            Event.reported_at < end, (Event.closed_at.is_(None)) | (Event.closed_at >= end)
        )
    ).all()
    states = history.states_at(session, (_known(r) for r in rows), end)
    urgent = {r.id for r in rows if r.urgency == "urgent"}
    live = [i for i, st in states.items() if st.open]
    return {
        "open": len(live),
        "overdue": sum(states[i].overdue for i in live),
        "urgent": sum(i in urgent for i in live),
    }


def _local_day(session: Session, col: Any) -> Any:
    """SQL for the 北京时间 calendar day of timestamp column ``col`` (YYYY-MM-DD), or None on a
    database without a known expression. Asia/Shanghai is UTC+8 all year (no daylight saving since
    1991), so SQLite's stored UTC text shifted by 8 hours gives the local day."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        return func.date(col, "+8 hours")
    if dialect == "postgresql":
        return cast(func.timezone(str(ztime.LOCAL_TZ), col), Date)
    return None


def _trend(session: Session, actor: Actor, bounds: list[datetime]) -> tuple[list[int], list[int]]:
    """Events reported and events closed (结案) per 北京时间 day ``[bounds[i], bounds[i+1])``, as two
    lists of ``len(bounds) - 1`` counts, within ``actor``'s scope.

    One read of the events: each row reported or closed in the window is keyed by its reported day
    and its closed day (None when outside), grouped by the pair (a few hundred groups) and summed
    here. Before, one GROUP BY per column read the table twice: the closed one always in full (no
    index on ``closed_at``), the reported one through ``ix_event_reported_at`` with a row lookup per
    event, dearer than a scan when the window holds a third of the table (100,000 events over 90
    days, docs/benchmarks.md §12). On a database without a day expression: one filtered count per
    day and column."""
    days = len(bounds) - 1
    lo, hi = bounds[0], bounds[-1]
    rep_in = and_(Event.reported_at >= lo, Event.reported_at < hi)
    closed_in = and_(Event.closed_at >= lo, Event.closed_at < hi)
    rep_day = _local_day(session, Event.reported_at)
    closed_day = _local_day(session, Event.closed_at)
    if rep_day is None or closed_day is None:
        cols = [
            _n(and_(col >= bounds[i], col < bounds[i + 1]))
            for col in (Event.reported_at, Event.closed_at)
            for i in range(days)
        ]
        row = session.execute(_base(actor, *cols).where(or_(rep_in, closed_in))).one()
        values = [int(v or 0) for v in row]
        return values[:days], values[days:]
    inner = (
        _base(
            actor,
            case((rep_in, rep_day)).label("rep_day"),
            case((closed_in, closed_day)).label("closed_day"),
        )
        .where(or_(rep_in, closed_in))
        .subquery()
    )
    pairs = select(inner.c.rep_day, inner.c.closed_day, func.count()).group_by(
        inner.c.rep_day, inner.c.closed_day
    )
    reported: dict[str, int] = {}
    closed: dict[str, int] = {}
    for r_day, c_day, n in session.execute(pairs):
        for per, d in ((reported, r_day), (closed, c_day)):
            if d is not None:
                per[str(d)[:10]] = per.get(str(d)[:10], 0) + int(n)
    keys = [ztime.to_local(b).date().isoformat() for b in bounds[:-1]]
    return [reported.get(k, 0) for k in keys], [closed.get(k, 0) for k in keys]


def day_and_period(now: datetime, as_of: date | None) -> tuple[date, bool, str]:
    """The 北京时间 day shown (``as_of`` when it is before today, else today), whether it is a past
    day (a replay), and its month ``YYYY-MM``."""
    today = ztime.to_local(now).date()
    past = as_of is not None and as_of < today
    day = as_of if past and as_of is not None else today
    return day, past, f"{day.year}-{day.month:02d}"


def month_figures(session: Session, actor: Actor, period: str) -> dict[str, Any]:
    """The month's part of the screen, for ``actor``'s scope: ``period``, ``reported``, ``close_rate``
    (结案率) and ``ontime_close_rate`` (按期结案率) of the events reported in month ``period``
    (YYYY-MM) with their outcomes as known now (:func:`zhizhi.ops.service.kpis`), the same per town
    (``towns``: ``{code: {"month", "close_rate", "ontime_close_rate"}}``) and the towns' 赛马比拼
    ``ranking`` (:func:`zhizhi.ops.service.rankings`). ``counts`` holds the numbers behind the two
    rates (ops.rules.kpi_rates): 结案率 = ``closed`` ÷ ``should_close`` (应结案: registered, not
    rejected), 按期结案率 = ``closed_on_time`` ÷ (``should_close`` − ``deferred`` 缓办/挂账)."""
    kp = ops.kpis(session, actor, period, by="town")
    ranked = ops.rankings(session, actor, period, kind="town", kp=kp)  # the same KPIs, not read twice
    return {
        "period": period,
        "reported": int(kp["total"]["counts"]["reported"]),
        "counts": {
            k: int(kp["total"]["counts"][k]) for k in ("closed", "should_close", "deferred", "closed_on_time")
        },
        "close_rate": kp["total"]["rates"]["close_rate"],
        "ontime_close_rate": kp["total"]["rates"]["ontime_close_rate"],
        "towns": {
            r["code"]: {
                "month": int(r["counts"]["reported"]),
                "close_rate": r["rates"]["close_rate"],
                "ontime_close_rate": r["rates"]["ontime_close_rate"],
            }
            for r in kp["rows"]
        },
        "ranking": [
            {"rank": r["rank"], "code": r["code"], "name": r["name"], "score": r["score"]}
            for r in ranked["rows"]
        ],
    }


def summary(
    session: Session,
    actor: Actor,
    now: datetime | None = None,
    as_of: date | None = None,
    month: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything the big screen shows, for ``actor``'s scope, at ``now`` (aware; default: now), or
    for the past 北京时间 day ``as_of`` as it stood at that day's end (a day at or after today's date
    means now).

    Returns a dict:

    - ``as_of`` (the instant shown, ISO in 北京时间), ``day`` (YYYY-MM-DD) and ``replay`` (True for a
      past day: the figures do not follow live changes);
    - ``today``: ``reported`` and ``closed`` that day, ``open`` (在办, reported any day), ``overdue``
      (open events past their node's deadline, 超期), ``urgent`` (open urgent events);
    - ``month``: ``period`` (YYYY-MM), ``reported``, ``close_rate`` (结案率) and ``ontime_close_rate``
      (按期结案率) as fractions 0-1 or None, from :func:`zhizhi.ops.service.kpis` (events reported
      that month, with their outcomes as known now);
    - ``towns``: ``{town_code: {"today": n, "month": n, "close_rate": r, "ontime_close_rate": r}}``;
    - ``ranking``: the 赛马比拼 rows of the towns for the month (:func:`zhizhi.ops.service.rankings`);
    - ``trend``: ``days`` (ISO dates, oldest first, :data:`TREND_DAYS` of them ending that day),
      ``reported`` and ``closed`` per day;
    - ``points``: that day's located events ``{id, lon, lat, node, colour, urgency}`` (at most
      :data:`MAX_POINTS`, newest first) and ``recent``: the latest reports with category and node
      (node and colour as they were at the instant shown);
    - ``unlocated``: that day's events without coordinates (reported by area code: no point on the
      map): ``count`` and ``items`` (the latest :data:`RECENT`, as ``recent``).

    ``month``: the month's part already computed (:func:`month_figures` of the same scope and month;
    the API shares it for up to a minute), else it is computed here.
    """
    now = now or ztime.utcnow()
    today, past, period = day_and_period(now, as_of)
    t0 = _day_start(today)
    end = _day_start(today + timedelta(days=1)) if past else now
    if month is None or month["period"] != period:
        month = month_figures(session, actor, period)
    towns: dict[str, dict[str, Any]] = {code: {"today": 0, **m} for code, m in month["towns"].items()}
    for code, n in session.execute(
        _base(actor, Event.town_code, func.count())
        .where(Event.reported_at >= t0, Event.reported_at < end, Event.town_code.is_not(None))
        .group_by(Event.town_code)
    ):
        towns.setdefault(code, {"today": 0, "month": 0, "close_rate": None, "ontime_close_rate": None})
        towns[code]["today"] = int(n)

    days = [today - timedelta(days=TREND_DAYS - 1 - i) for i in range(TREND_DAYS)]
    bounds = [_day_start(d) for d in days] + [end]
    reported, closed = _trend(session, actor, bounds)
    today_counts = {"reported": reported[-1], "closed": closed[-1], **_open_counts(session, actor, end, past)}

    point_rows = session.execute(
        _base(actor, *KNOWN, Event.lon, Event.lat, Event.colour, Event.urgency)
        .where(Event.reported_at >= t0, Event.reported_at < end, Event.lon.is_not(None))
        .order_by(Event.reported_at.desc(), Event.id.desc())
        .limit(MAX_POINTS)
    ).all()
    listed = (*KNOWN, Event.category_code, Event.town_code, Event.colour, Event.urgency)
    recent_rows = session.execute(
        _base(actor, *listed)
        .where(Event.reported_at < end)
        .order_by(Event.reported_at.desc(), Event.id.desc())
        .limit(RECENT)
    ).all()
    no_point = (Event.reported_at >= t0, Event.reported_at < end, Event.lon.is_(None))
    newest = (Event.reported_at.desc(), Event.id.desc())
    unlocated_q = _base(actor, *listed).where(*no_point).order_by(*newest).limit(RECENT)
    unlocated_rows = session.execute(unlocated_q).all()
    unlocated_n = (
        session.scalar(_base(actor, func.count()).where(*no_point)) if len(unlocated_rows) == RECENT else None
    )
    rows = (*point_rows, *recent_rows, *unlocated_rows)
    now_state = {r.id: history.StateAt(r.node, r.colour, False) for r in rows}
    state = history.states_at(session, {r.id: _known(r) for r in rows}.values(), end) if past else now_state
    points = [
        {
            "id": r.id,
            "lon": r.lon,
            "lat": r.lat,
            "node": state[r.id].node,
            "colour": state[r.id].colour,
            "urgency": r.urgency,
        }
        for r in point_rows
    ]
    cat = events.catalogue()

    def item(r: Any) -> dict[str, Any]:
        return {
            "id": r.id,
            "category_code": r.category_code,
            "category_name": _category_name(cat, r.category_code),
            "town_code": r.town_code,
            "node": state[r.id].node,
            "colour": state[r.id].colour,
            "urgency": r.urgency,
            "reported_at": ztime.to_local(r.reported_at).isoformat(timespec="minutes"),
        }

    recent = [item(r) for r in recent_rows]
    district = session.scalar(
        select(OrgUnit.name).where(OrgUnit.level == "district", OrgUnit.district_code == actor.district_code)
    )
    shown = end - timedelta(seconds=1) if past else now
    return {
        "as_of": ztime.to_local(shown).isoformat(timespec="seconds"),
        "day": today.isoformat(),
        "replay": past,
        "district": {"code": actor.district_code, "name": district or ""},
        "today": today_counts,
        "month": {k: month[k] for k in ("period", "reported", "counts", "close_rate", "ontime_close_rate")},
        "towns": towns,
        "ranking": month["ranking"],
        "trend": {"days": [d.isoformat() for d in days], "reported": reported, "closed": closed},
        "points": points,
        "recent": recent,
        "unlocated": {
            "count": len(unlocated_rows) if unlocated_n is None else int(unlocated_n),
            "items": [item(r) for r in unlocated_rows],
        },
    }
