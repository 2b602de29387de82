"""Fire KPIs of a period (森林防灭火考核指标): the rows of the period, drills left out, through the pure
functions of kpis.py.

* hotspots verified on time: hotspot clusters opened in the period (``HotspotCluster.opened_at``) that
  are not drills and whose event is in the actor's scope;
* fires out within 24 h: 森林火情 events (2206) reported in the period, not drills, not merged
  duplicates, not rejected (不予受理: no fire), not opened for a historical cluster (历史热点: an
  archive detection; verifying one as 真实火情 opens no event now, :func:`_historical_fire`
  leaves out those opened before that rule);
* damage rate: the damaged forest area (受害森林面积) of the period's fire records (``fire_event_record``
  of the 2206/2207 events reported in the period, not drills, merged or rejected) over the district's
  forest area (data/kpis.yaml or given). Every counted 2206 fire must have its record, else the rate
  is not computed and the reason names the fires without one. ``burnt_area_ha`` given by the caller
  overrides the records (e.g. for a period before records were kept). The shipped forest area is the
  district's, so for an actor whose scope is a town, grid or unit the rate is not computed (the
  reason says so) unless ``forest_area_ha`` is given.

A period is ``YYYY``, ``YYYY-MM`` or ``YYYY-Qn`` (:func:`fire_kpis`) or a span of days
(:func:`fire_kpis_between`, ``GET /api/v1/fire/kpis?from=&to=``); rows are limited to the actor's scope.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import String, and_, cast, exists, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from zhizhi.core import time as ztime
from zhizhi.core.access import Actor, require, scope_of
from zhizhi.core.errors import FieldError, InvalidInput
from zhizhi.event.models import Event
from zhizhi.event.rules import Node
from zhizhi.ops import rules as ops_rules
from zhizhi.scenarios.fire import kpis as rules
from zhizhi.scenarios.fire.models import FireEventRecord, HotspotCluster

FIRE_CATEGORY = "2206"  # 森林火情 (event/data/categories.yaml)
RECORD_CATEGORIES = ("2206", "2207")  # fire records live on 森林火情 and 卫星热点核查 events
MAX_DAYS = 3660  # the longest span of days fire_kpis_between takes (ten years)


def _historical_fire() -> ColumnElement[bool]:
    """A 2206 event opened for a historical cluster (real, no event of its own) verified as 真实火情
    (external id ``hotspot-<cluster id>-fire``, service/verification.py): an old detection, not a
    fire of the period."""
    ext = literal("hotspot-") + cast(HotspotCluster.id, String) + literal("-fire")
    return exists().where(
        and_(
            HotspotCluster.event_id.is_(None),
            HotspotCluster.drill.is_(False),
            Event.external_id == ext,
        )
    )


def _scope(actor: Actor) -> ColumnElement[bool]:
    sc = scope_of(actor)
    col = {
        "district": Event.district_code,
        "town": Event.town_code,
        "grid": Event.grid_code,
        "unit": Event.unit_code,
    }[sc.kind]
    return col == sc.code


def fire_kpis(
    session: Session,
    actor: Actor,
    period: str,
    *,
    burnt_area_ha: float | None = None,
    forest_area_ha: float | None = None,
    as_of: datetime | None = None,
    policy: rules.KpiPolicy | None = None,
) -> dict[str, Any]:
    """The fire KPIs of ``period`` (YYYY, YYYY-MM or YYYY-Qn, Beijing time, as ops KPIs) in the
    actor's scope; drill events and clusters never count.

    ``burnt_area_ha``: the period's damaged forest area (ha), overriding the sum of the fire records;
    ``forest_area_ha`` overrides data/kpis.yaml for the actor's district. ``as_of`` (aware, default
    now) tells pending items from late ones. Needs ``fire.read``.

    Returns ``{"period", "from", "to", "district_code", "hotspots_verified_on_time": {...},
    "fires_out_within_24h": {...}, "damage_rate": {...}}`` (see kpis.Share.as_dict, kpis.damage).
    Raises InvalidInput for a malformed period or a negative area.
    """
    require(actor, "fire.read")
    try:
        start, end = ops_rules.period_bounds(period)
    except ValueError as e:
        raise InvalidInput(str(e), [FieldError("period", str(e))]) from None
    return _kpis(session, actor, period, start, end, burnt_area_ha, forest_area_ha, as_of, policy)


def fire_kpis_between(
    session: Session,
    actor: Actor,
    first: date,
    last: date,
    *,
    burnt_area_ha: float | None = None,
    forest_area_ha: float | None = None,
    as_of: datetime | None = None,
    policy: rules.KpiPolicy | None = None,
) -> dict[str, Any]:
    """The fire KPIs of the days ``first`` to ``last``, both included (Beijing time), as
    :func:`fire_kpis` gives them for a period; ``period`` reads ``"<first>..<last>"``. Needs
    ``fire.read``. Raises InvalidInput when ``last`` is before ``first`` or the span is longer than
    :data:`MAX_DAYS`."""
    require(actor, "fire.read")
    if last < first:
        why = f"to {last.isoformat()} is before from {first.isoformat()}"
        raise InvalidInput(why, [FieldError("to", why)])
    if (last - first).days + 1 > MAX_DAYS:
        why = f"from {first.isoformat()} to {last.isoformat()} is more than {MAX_DAYS} days"
        raise InvalidInput(why, [FieldError("to", why)])
    start = datetime.combine(first, time(), ztime.LOCAL_TZ)
    end = datetime.combine(last + timedelta(days=1), time(), ztime.LOCAL_TZ)
    label = f"{first.isoformat()}..{last.isoformat()}"
    return _kpis(session, actor, label, start, end, burnt_area_ha, forest_area_ha, as_of, policy)


def _kpis(
    session: Session,
    actor: Actor,
    period: str,
    start: datetime,
    end: datetime,
    burnt_area_ha: float | None,
    forest_area_ha: float | None,
    as_of: datetime | None,
    policy: rules.KpiPolicy | None,
) -> dict[str, Any]:
    """The KPIs of [start, end) (aware) labelled ``period``: see :func:`fire_kpis`."""
    pol = policy or rules.default_kpi_policy()
    now = as_of or ztime.utcnow()
    scope = _scope(actor)
    clusters = session.execute(
        select(HotspotCluster.verify_due_at, HotspotCluster.verified_at)
        .join(Event, Event.id == HotspotCluster.event_id)
        .where(
            HotspotCluster.drill.is_(False),
            Event.is_drill.is_(False),
            HotspotCluster.opened_at >= start,
            HotspotCluster.opened_at < end,
            scope,
        )
    ).all()
    fires = session.execute(
        select(Event.reported_at, Event.closed_at, Event.id).where(
            Event.category_code == FIRE_CATEGORY,
            Event.is_drill.is_(False),
            Event.node.notin_([Node.MERGED.value, Node.REJECTED.value]),
            Event.reported_at >= start,
            Event.reported_at < end,
            scope,
            ~_historical_fire(),
        )
    ).all()
    t = pol.targets
    hot = rules.hotspots_verified_on_time(
        [(due, ver) for due, ver in clusters], now, target_min=t.hotspots_on_time_share_min
    )
    out = rules.fires_out_within(
        [(rep, clo) for rep, clo, _ in fires], now, hours=t.fire_out_hours, target_min=t.fires_out_share_min
    )
    d6 = actor.district_code
    district_wide = scope_of(actor).kind == "district"
    forest = forest_area_ha if forest_area_ha is not None else pol.forest_area_ha.get(d6)
    if forest_area_ha is None and not district_wide:
        forest = None  # the shipped forest area is the district's: not the denominator of a town's fires
    for name, v in (("burnt_area_ha", burnt_area_ha), ("forest_area_ha", forest_area_ha)):
        if v is not None and not v >= 0:
            raise InvalidInput(f"{name} must be >= 0 ha, got {v}", [FieldError(name, "negative")])
    if forest is not None and forest <= 0:
        raise InvalidInput("forest_area_ha must be > 0 ha", [FieldError("forest_area_ha", "not > 0")])
    burnt, n_records, why_burnt = burnt_area_ha, 0, ""
    if burnt_area_ha is None:
        burnt, n_records, why_burnt = _recorded_burnt_area(session, start, end, scope, [i for *_, i in fires])
    dmg = rules.damage(
        burnt,
        forest,
        t.damage_rate_permille_max,
        why_missing={
            "burnt": why_burnt,
            "forest": f"forest area of district {d6} not known (fire/data/kpis.yaml forest_area_ha; "
            "pass --forest-area-ha)"
            if district_wide
            else f"the forest area is known per district only (fire/data/kpis.yaml): the damage rate of "
            f"a {scope_of(actor).kind} scope is not computed",
        },
    )
    dmg["burnt_area_source"] = "given" if burnt_area_ha is not None else "records"
    dmg["records"] = n_records
    return {
        "period": period,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "district_code": d6,
        "as_of": now.astimezone(ztime.LOCAL_TZ).isoformat(),
        "hotspots_verified_on_time": hot.as_dict(),
        "fires_out_within_24h": {**out.as_dict(), "hours": t.fire_out_hours},
        "fires": len(fires),
        "damage_rate": dmg,
    }


def _recorded_burnt_area(
    session: Session, start: datetime, end: datetime, scope: ColumnElement[bool], fire_ids: list[int]
) -> tuple[float | None, int, str]:
    """(sum of the damaged forest area of the period's fire records, how many records, why None):
    the records of 2206/2207 events reported in [start, end), not drills, merged or rejected, in scope.
    None (with the reason) when a counted 2206 fire has no record: a missing record is not 0 ha."""
    rows = session.execute(
        select(FireEventRecord.event_id, FireEventRecord.burnt_area_ha)
        .join(Event, Event.id == FireEventRecord.event_id)
        .where(
            Event.category_code.in_(RECORD_CATEGORIES),
            Event.is_drill.is_(False),
            Event.node.notin_([Node.MERGED.value, Node.REJECTED.value]),
            Event.reported_at >= start,
            Event.reported_at < end,
            scope,
        )
    ).all()
    have = {eid for eid, _ in rows}
    missing = sorted(i for i in fire_ids if i not in have)
    if missing:
        shown = ", ".join(str(i) for i in missing[:10]) + (" …" if len(missing) > 10 else "")
        why = (
            f"{len(missing)} of {len(fire_ids)} fires (森林火情 2206) of the period have no fire record "
            f"(受害森林面积): events {shown} (record: PUT /api/v1/fire/events/{{id}}/record, or pass "
            "--burnt-area-ha)"
        )
        return None, len(rows), why
    return float(sum(ha for _, ha in rows)), len(rows), ""
