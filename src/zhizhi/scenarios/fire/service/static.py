"""Static heat sources (固定热源): snooze zones, places detected on many days proposed as static,
proposals from 工业热源 verifications, and the decisions on them."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import shapely
from shapely.geometry import Point, Polygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhizhi.core import time as ztime
from zhizhi.core.access import Actor, require
from zhizhi.core.errors import Conflict, NotFound
from zhizhi.org import rules as org_rules
from zhizhi.scenarios.fire import hotspots as hs
from zhizhi.scenarios.fire.models import (
    Hotspot,
    HotspotCluster,
    StaticHeatSource,
)
from zhizhi.scenarios.fire.schemas import (
    HotspotConfig,
    HotspotOutcome,
    StaticSourceEntry,
)
from zhizhi.scenarios.fire.service.config import (
    KM_PER_DEG_LAT,
    hotspot_config,
    static_sources,
)


@dataclass
class _Zone:
    """A static heat source as a snooze zone: geometry, radius (m), end of snooze, its row id (None for
    the shipped list) and a label for the snooze reason."""

    geom: BaseGeometry
    radius_m: float
    until: datetime | None
    source_id: int | None
    label: str

    def covers(self, lon: float, lat: float, at: datetime) -> bool:
        if self.until is not None and at >= self.until:
            return False
        return org_rules.distance_m(self.geom, lon, lat) <= self.radius_m


def snooze_end(day: date) -> datetime:
    """The end of a snooze "until ``day``" (a Beijing date), inclusive: the start of the next Beijing
    day, as aware UTC (``2027-06-30`` → ``2027-06-30T16:00Z``). Used for ``--until``, the API's
    ``until`` and the list's ``snoozed_until``: detections on ``day`` itself are still snoozed."""
    return ztime.to_utc(datetime.combine(day + timedelta(days=1), datetime.min.time()))


def _zones(session: Session) -> list[_Zone]:
    out = []
    for e in static_sources():
        geom: BaseGeometry = Polygon(e.polygon) if e.polygon else Point(e.lon, e.lat)
        until = snooze_end(e.snoozed_until) if e.snoozed_until else None
        out.append(_Zone(geom, e.radius_m, until, None, f"固定热源名单: {e.name}"))
    for s in session.scalars(select(StaticHeatSource).where(StaticHeatSource.status == "active")):
        geom = shapely.from_wkb(s.geom) if s.geom else Point(s.lon, s.lat)
        out.append(_Zone(geom, s.radius_m, s.snoozed_until, s.id, f"固定热源 {s.id}: {s.name}"))
    return out


# --- persistent places -----------------------------------------------------------------------------


def _covered(session: Session, lon: float, lat: float, radius_m: float) -> bool:
    """Whether an existing static source (any status) already covers the place."""
    dlat = (radius_m / 1000 + 20) / KM_PER_DEG_LAT
    dlon = dlat / max(math.cos(math.radians(lat)), 1e-3)
    for s in session.scalars(
        select(StaticHeatSource).where(
            StaticHeatSource.lat.between(lat - dlat, lat + dlat),
            StaticHeatSource.lon.between(lon - dlon, lon + dlon),
        )
    ):
        geom = shapely.from_wkb(s.geom) if s.geom else Point(s.lon, s.lat)
        if org_rules.distance_m(geom, lon, lat) <= s.radius_m + radius_m:
            return True
    return False


def _round_up_50(metres: float) -> float:
    """A radius rounded to the metre, then up to a multiple of 50 m."""
    return math.ceil(round(metres) / 50) * 50.0


def _propose_persistent(session: Session, cfg: HotspotConfig, new: list[Hotspot], now: datetime) -> int:
    """Propose static sources where the stored real detections around the new ones fall on many
    distinct days (hotspots.static_candidates). Returns how many were proposed."""
    st = cfg.static
    real = [h for h in new if not h.drill]
    if not real:
        return 0
    pad = st.radius_km * 2 / KM_PER_DEG_LAT
    lon_pad = pad / max(math.cos(math.radians(max(abs(h.lat) for h in real))), 1e-3)
    since = max(h.acq_at for h in real) - timedelta(days=st.lookback_days)
    hist = session.scalars(
        select(Hotspot).where(
            Hotspot.drill.is_(False),
            Hotspot.acq_at >= since,
            Hotspot.lat.between(min(h.lat for h in real) - pad, max(h.lat for h in real) + pad),
            Hotspot.lon.between(min(h.lon for h in real) - lon_pad, max(h.lon for h in real) + lon_pad),
        )
    ).all()
    if len(hist) < st.min_days:
        return 0
    new_ids = {h.id for h in real}
    cands = hs.static_candidates(
        np.array([h.lon for h in hist]),
        np.array([h.lat for h in hist]),
        np.array([np.datetime64(h.acq_at.replace(tzinfo=None), "D") for h in hist]),
        radius_km=st.radius_km,
        min_days=st.min_days,
        min_span_days=st.min_span_days,
    )
    n = 0
    for cand in cands:
        if not any(hist[k].id in new_ids for k in cand.members):
            continue
        radius = max(_round_up_50(cand.radius_km * 1000), st.min_radius_m)
        if _covered(session, cand.lon, cand.lat, radius):
            continue
        session.add(
            StaticHeatSource(
                name=f"持续热点 {cand.lat:.4f}N {cand.lon:.4f}E",
                kind="other",
                district_code=hist[cand.members[0]].district_code,
                lon=cand.lon,
                lat=cand.lat,
                radius_m=radius,
                status="proposed",
                origin="persistence",
                distinct_days=cand.distinct_days,
                created_at=now,
                reason=f"{cand.first_day}至{cand.last_day}间 {cand.distinct_days} 个不同日期被探测到"
                f"（{len(cand.members)} 个热点，半径 {st.radius_km:g} km 内）",
            )
        )
        session.flush()
        n += 1
    return n


def _propose_from_cluster(
    session: Session, cl: HotspotCluster, o: HotspotOutcome, actor: Actor, note: str, now: datetime
) -> StaticHeatSource:
    members = session.scalars(select(Hotspot).where(Hotspot.cluster_id == cl.id)).all()
    reach = max(
        (
            float(hs.haversine_km(cl.lon, cl.lat, h.lon, h.lat)) + math.hypot(h.scan, h.track) / 2
            for h in members
        ),
        default=0.0,
    )
    radius = max(_round_up_50(reach * 1000), hotspot_config().static.min_radius_m)
    src = StaticHeatSource(
        name=f"{o.name}（热点簇 {cl.id}）",
        kind=o.static_kind,
        district_code=cl.district_code,
        lon=cl.lon,
        lat=cl.lat,
        radius_m=radius,
        status="proposed",
        origin="verification",
        cluster_id=cl.id,
        created_at=now,
        reason=f"核查结论 {o.name}（{actor.name}）{('：' + note) if note else ''}",
    )
    session.add(src)
    session.flush()
    return src


def decide_static_source(
    session: Session, actor: Actor, source_id: int, accept: bool, snoozed_until: datetime | None = None
) -> StaticHeatSource:
    """Accept (status active: its detections are snoozed until ``snoozed_until``, None = until retired)
    or reject a proposed static heat source. Needs ``fire.manage`` (the district center).
    Raises NotFound, Forbidden, Conflict (not a proposal)."""
    require(actor, "fire.manage")
    src = session.get(StaticHeatSource, source_id)
    if src is None or (
        src.district_code and actor.district_code and src.district_code != actor.district_code
    ):
        raise NotFound(f"static heat source {source_id} not found")
    if src.status != "proposed":
        raise Conflict(f"static heat source {source_id} is {src.status}, not proposed")
    src.status = "active" if accept else "rejected"
    src.snoozed_until = ztime.to_utc(snoozed_until) if snoozed_until else None
    src.decided_at, src.decided_by = ztime.utcnow(), actor.name
    session.flush()
    return src


def add_static_source(
    session: Session, actor: Actor, entry: StaticSourceEntry, district6: str | None = None
) -> StaticHeatSource:
    """Register a known static heat source by hand (status active at once). Needs
    ``fire.manage`` (the district center). Raises Forbidden."""
    require(actor, "fire.manage")
    geom: BaseGeometry = Polygon(entry.polygon) if entry.polygon else Point(entry.lon, entry.lat)
    c = geom.centroid
    until = snooze_end(entry.snoozed_until) if entry.snoozed_until else None
    now = ztime.utcnow()
    src = StaticHeatSource(
        name=entry.name,
        kind=entry.kind,
        district_code=district6 or actor.district_code or None,
        lon=c.x,
        lat=c.y,
        radius_m=entry.radius_m,
        geom=shapely.to_wkb(geom) if entry.polygon else None,
        status="active",
        origin="manual",
        reason=f"{entry.reason}（来源：{entry.source}）",
        snoozed_until=until,
        created_at=now,
        decided_at=now,
        decided_by=actor.name,
    )
    session.add(src)
    session.flush()
    return src
