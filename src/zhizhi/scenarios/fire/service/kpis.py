"""Fire KPIs of a period (森林防灭火考核指标): the rows of the period, drills left out, through the pure
functions of kpis.py.

* hotspots verified on time: hotspot clusters opened in the period (``HotspotCluster.opened_at``) that
  are not drills and whose event is in the actor's scope;
* fires out within 24 h: 森林火情 events (2206) reported in the period, not drills, not merged
  duplicates, not rejected (不予受理: no fire);
* damage rate: the burnt area of the period over the district's forest area (data/kpis.yaml or given).

Burnt area: no field records it yet (see docs/domains/fire.md, "Warnings, drills and KPIs"); the
caller gives the period's burnt forest area (``burnt_area_ha``) until one does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from zhizhi.core import time as ztime
from zhizhi.core.access import Actor, require, scope_of
from zhizhi.core.errors import FieldError, InvalidInput
from zhizhi.event.models import Event
from zhizhi.event.rules import Node
from zhizhi.ops import rules as ops_rules
from zhizhi.scenarios.fire import kpis as rules
from zhizhi.scenarios.fire.models import HotspotCluster

FIRE_CATEGORY = "2206"  # 森林火情 (event/data/categories.yaml)


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

    ``burnt_area_ha``: the period's burnt forest area (ha), since no field records it per fire yet;
    ``forest_area_ha`` overrides data/kpis.yaml for the actor's district. ``as_of`` (aware, default
    now) tells pending items from late ones. Needs ``fire.read``.

    Returns ``{"period", "from", "to", "district_code", "hotspots_verified_on_time": {...},
    "fires_out_within_24h": {...}, "damage_rate": {...}}`` (see kpis.Share.as_dict, kpis.damage).
    Raises InvalidInput for a malformed period or a negative area.
    """
    require(actor, "fire.read")
    pol = policy or rules.default_kpi_policy()
    try:
        start, end = ops_rules.period_bounds(period)
    except ValueError as e:
        raise InvalidInput(str(e), [FieldError("period", str(e))]) from None
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
        select(Event.reported_at, Event.closed_at).where(
            Event.category_code == FIRE_CATEGORY,
            Event.is_drill.is_(False),
            Event.node.notin_([Node.MERGED.value, Node.REJECTED.value]),
            Event.reported_at >= start,
            Event.reported_at < end,
            scope,
        )
    ).all()
    t = pol.targets
    hot = rules.hotspots_verified_on_time(
        [(due, ver) for due, ver in clusters], now, target_min=t.hotspots_on_time_share_min
    )
    out = rules.fires_out_within(
        [(rep, clo) for rep, clo in fires], now, hours=t.fire_out_hours, target_min=t.fires_out_share_min
    )
    d6 = actor.district_code
    forest = forest_area_ha if forest_area_ha is not None else pol.forest_area_ha.get(d6)
    for name, v in (("burnt_area_ha", burnt_area_ha), ("forest_area_ha", forest_area_ha)):
        if v is not None and not v >= 0:
            raise InvalidInput(f"{name} must be >= 0 ha, got {v}", [FieldError(name, "negative")])
    if forest is not None and forest <= 0:
        raise InvalidInput("forest_area_ha must be > 0 ha", [FieldError("forest_area_ha", "not > 0")])
    dmg = rules.damage(
        burnt_area_ha,
        forest,
        t.damage_rate_permille_max,
        why_missing={
            "burnt": "burnt area not given (no field records it per fire yet: pass --burnt-area-ha)",
            "forest": f"forest area of district {d6} not known (fire/data/kpis.yaml forest_area_ha; "
            "pass --forest-area-ha)",
        },
    )
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
