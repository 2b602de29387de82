"""Satellite hotspot use cases (卫星热点): import NASA FIRMS files, keep what concerns the loaded
districts, snooze static heat sources, cluster detections of one fire, open one 卫星热点核查 event
(category 2207) per new cluster and update it with later detections, record verification outcomes.

Policy is data: ``data/hotspots.yaml`` (buffer, clustering, verification deadline, persistence rule,
outcomes) and ``data/static_sources.yaml`` (known static heat sources). Services flush; the caller
(the CLI's session scope, or a request) commits, so one import is one transaction.
"""

from __future__ import annotations

import hashlib
import io
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
import shapely
import yaml
from pydantic import ValidationError
from shapely.geometry import Point, Polygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhizhi.core import time as ztime
from zhizhi.core.access import Actor, has_permission
from zhizhi.core.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from zhizhi.event import rules as event_rules
from zhizhi.event import service as events
from zhizhi.event.schemas import EventCreate, TransitionIn
from zhizhi.org import rules as org_rules
from zhizhi.org import service as org
from zhizhi.scenarios.fire import hotspots as hs
from zhizhi.scenarios.fire.models import (
    Hotspot,
    HotspotAlert,
    HotspotCluster,
    HotspotImport,
    StaticHeatSource,
)
from zhizhi.scenarios.fire.schemas import (
    ClusterRead,
    HotspotConfig,
    HotspotEventRef,
    HotspotImportSummary,
    HotspotOutcome,
    StaticSourceEntry,
    StaticSourceList,
)

DATA = resources.files("zhizhi.scenarios.fire") / "data"
CATEGORY = "2207"  # 卫星热点核查 (event/data/categories.yaml)
KM_PER_DEG_LAT = 110.574  # WGS-84 at the equator, the smallest: a safe bound for boxes
_CHUNK = 500


# --- policy ------------------------------------------------------------------------------------------


def _yaml(path: Any, label: str) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise ValueError(f"{label}: not valid YAML: {e}") from None


def load_hotspot_config(path: Path | None = None) -> HotspotConfig:
    """Read and check the hotspot policy (default: the shipped ``data/hotspots.yaml``).
    Raises ValueError naming the file and the field."""
    src, label = (path, str(path)) if path else (DATA / "hotspots.yaml", "fire/data/hotspots.yaml")
    try:
        return HotspotConfig.model_validate(_yaml(src, label))
    except ValidationError as e:
        raise ValueError(f"{label}: {_first_error(e)}") from None


def load_static_sources(path: Path | None = None) -> list[StaticSourceEntry]:
    """Read and check a static heat source list (default: the shipped ``data/static_sources.yaml``).
    Raises ValueError naming the file and the entry."""
    src, label = (
        (path, str(path)) if path else (DATA / "static_sources.yaml", "fire/data/static_sources.yaml")
    )
    try:
        return StaticSourceList.model_validate(_yaml(src, label)).sources
    except ValidationError as e:
        raise ValueError(f"{label}: {_first_error(e)}") from None


def _first_error(e: ValidationError) -> str:
    err = e.errors()[0]
    return f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"


@lru_cache
def hotspot_config() -> HotspotConfig:
    """The shipped hotspot policy (read and checked once)."""
    return load_hotspot_config()


@lru_cache
def static_sources() -> tuple[StaticSourceEntry, ...]:
    """The shipped list of known static heat sources (read and checked once)."""
    return tuple(load_static_sources())


# --- where detections fall ----------------------------------------------------------------------------


@dataclass
class _Placement:
    """Per detection: kept (within the buffer of a loaded district), its district (containing, else the
    nearest within the buffer), the distance to it (m, 0 inside) and the other loaded districts within
    the buffer ({code: metres})."""

    keep: np.ndarray
    district: list[str | None]
    distance_m: np.ndarray
    near: list[dict[str, float]]


def _loaded_districts(session: Session) -> dict[str, BaseGeometry]:
    loc = org.locator(session)
    return {loc.parent[code][0]: geom for code, geom in loc.district_geoms.items()}


def place(
    districts: dict[str, BaseGeometry], lon: np.ndarray, lat: np.ndarray, buffer_km: float
) -> _Placement:
    """Which loaded districts each point (WGS-84 degrees) concerns: those containing it or within
    ``buffer_km`` of it, by the metric distance of org.rules.distance_m. A box test first, then an
    STRtree query in degrees (a safe bound), then metres for the few candidates."""
    n = len(lon)
    keep = np.zeros(n, dtype=bool)
    dist = np.full(n, np.inf)
    district: list[str | None] = [None] * n
    near: list[dict[str, float]] = [{} for _ in range(n)]
    if not districts or n == 0:
        return _Placement(keep, district, dist, near)
    codes = list(districts)
    geoms = [districts[c] for c in codes]
    x0, y0, x1, y1 = shapely.total_bounds(geoms)
    dlat = buffer_km / KM_PER_DEG_LAT + 1e-6
    dlon = dlat / max(math.cos(math.radians(min(89.0, max(abs(y0), abs(y1)) + dlat))), 1e-3)
    cand = np.flatnonzero((lon >= x0 - dlon) & (lon <= x1 + dlon) & (lat >= y0 - dlat) & (lat <= y1 + dlat))
    if len(cand) == 0:
        return _Placement(keep, district, dist, near)
    tree = shapely.STRtree(geoms)
    pi, gi = tree.query(shapely.points(lon[cand], lat[cand]), predicate="dwithin", distance=max(dlat, dlon))
    found: dict[int, dict[str, float]] = defaultdict(dict)
    for p, g in zip(pi.tolist(), gi.tolist(), strict=True):
        k = int(cand[p])
        d = org_rules.distance_m(geoms[g], float(lon[k]), float(lat[k]))
        if d <= buffer_km * 1000:
            found[k][codes[g]] = d
    for k, by_code in found.items():
        best = min(by_code, key=lambda c: (by_code[c], c))
        keep[k], district[k], dist[k] = True, best, by_code[best]
        near[k] = {c: d for c, d in by_code.items() if c != best}
    return _Placement(keep, district, dist, near)


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


def _zones(session: Session) -> list[_Zone]:
    out = []
    for e in static_sources():
        geom: BaseGeometry = Polygon(e.polygon) if e.polygon else Point(e.lon, e.lat)
        until = (
            ztime.to_utc(datetime.combine(e.snoozed_until, datetime.min.time())) if e.snoozed_until else None
        )
        out.append(_Zone(geom, e.radius_m, until, None, f"固定热源名单: {e.name}"))
    for s in session.scalars(select(StaticHeatSource).where(StaticHeatSource.status == "active")):
        geom = shapely.from_wkb(s.geom) if s.geom else Point(s.lon, s.lat)
        out.append(_Zone(geom, s.radius_m, s.snoozed_until, s.id, f"固定热源 {s.id}: {s.name}"))
    return out


# --- import ---------------------------------------------------------------------------------------------


def import_file(
    session: Session, path: Path, *, skip_bad_rows: bool = False, drill: bool = False
) -> HotspotImportSummary:
    """Import one NASA FIRMS active-fire CSV (MODIS C6.1 or VIIRS 375 m; NRT or standard; static,
    Area-API or archive layout) and alert the loaded districts.

    Steps: parse (hotspots.parse_firms; any bad row refuses the file unless ``skip_bad_rows``) ->
    keep detections within the loaded districts plus ``area.buffer_km`` -> drop FIRMS ``type`` 1
    (volcano) and 3 (offshore) -> skip detections already stored (hotspots.detection_key; an NRT row
    is upgraded in place by its standard row) -> snooze static heat sources (the shipped list, the
    accepted ones in the database, and FIRMS ``type`` 2) -> cluster with each other and with the
    open clusters (hotspots.cluster_labels) -> open one 卫星热点核查 event (2207) per new cluster in its
    district, routed to the town and grid where its first detection falls, plus a neighbour alert
    event in each other loaded district within the buffer; add a 催办 step with the new detections
    to the open events of a cluster that grew -> propose static sources at places detected on many
    distinct days. Re-importing a file changes nothing but the run record. ``drill`` marks
    detections, clusters and events as an exercise (演练), never mixed with real ones.

    Returns the counts (schemas.HotspotImportSummary). Raises InvalidInput for an unreadable or
    invalid file (naming file, line, column and reason) or when no district is loaded.
    """
    cfg = hotspot_config()
    now = ztime.utcnow()
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InvalidInput(f"{Path(path).name}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    ff = hs.parse_firms(io.StringIO(text, newline=""), Path(path).name)
    if not skip_bad_rows:
        ff.raise_if_bad()
    districts = _loaded_districts(session)
    if not districts:
        raise InvalidInput("no district is loaded: run `zhizhi org load` first")
    det = ff.detections
    pl = place(districts, det.lon, det.lat, cfg.area.buffer_km)
    imp = HotspotImport(
        filename=Path(path).name[:300],
        sha256=hashlib.sha256(raw).hexdigest(),
        instrument=ff.instrument,
        started_at=now,
        drill=drill,
        counts={},
    )
    session.add(imp)
    session.flush()
    c: dict[str, int] = defaultdict(int)
    inside = np.flatnonzero(pl.keep)
    c["in_area"] = len(inside)
    fresh: list[int] = []
    keys = {int(i): det.key(int(i)) for i in inside}
    stored = _stored(session, list(keys.values()))
    seen: set[str] = set()
    for i in (int(i) for i in inside):
        if int(det.fire_type[i]) in (1, 3):
            c["dropped_type"] += 1
        elif keys[i] in stored or keys[i] in seen:
            c["duplicates"] += 1
            old = stored.get(keys[i])
            if old is not None and old.nrt and not bool(det.nrt[i]):
                _upgrade(old, det, i)
                c["upgraded"] += 1
        else:
            seen.add(keys[i])
            fresh.append(i)
    zones = _zones(session) if fresh else []
    rows: dict[int, Hotspot] = {}
    for i in fresh:
        h = _row(det, i, keys[i], imp.id, pl.district[i] or "", float(pl.distance_m[i]), drill)
        if int(det.fire_type[i]) == 2:
            h.status, h.snooze_reason = "snoozed", "FIRMS type 2: 其他固定地表热源"
        else:
            z = next((z for z in zones if z.covers(h.lon, h.lat, h.acq_at)), None)
            if z is not None:
                h.status, h.snooze_reason, h.static_source_id = "snoozed", z.label[:200], z.source_id
        c["snoozed" if h.status == "snoozed" else "new"] += 1
        session.add(h)
        rows[i] = h
    session.flush()
    alerting = [i for i in fresh if rows[i].status != "snoozed"]
    refs: list[HotspotEventRef] = []
    if alerting:
        refs = _cluster_and_alert(session, cfg, det, alerting, rows, pl, drill, now, c)
    c["static_proposed"] = _propose_persistent(session, cfg, [rows[i] for i in fresh], now) if fresh else 0
    summary = HotspotImportSummary(
        file=str(path),
        import_id=imp.id,
        instrument=ff.instrument,
        drill=drill,
        rows_read=ff.rows_read,
        parsed=len(det),
        bad_rows=ff.bad_rows,
        out_of_area=len(det) - c["in_area"],
        in_area=c["in_area"],
        dropped_type=c["dropped_type"],
        duplicates=c["duplicates"],
        upgraded=c["upgraded"],
        snoozed=c["snoozed"],
        new=c["new"],
        clusters=c["clusters_new"] + c["clusters_updated"],
        clusters_new=c["clusters_new"],
        clusters_updated=c["clusters_updated"],
        events_opened=c["events_opened"],
        events_updated=c["events_updated"],
        neighbour_alerts=c["neighbour_alerts"],
        static_proposed=c["static_proposed"],
        events=refs,
        errors=[str(e) for e in ff.errors],
    )
    imp.counts = summary.model_dump(exclude={"events", "errors", "file"})
    imp.finished_at = ztime.utcnow()
    session.flush()
    return summary


def _stored(session: Session, keys: list[str]) -> dict[str, Hotspot]:
    out: dict[str, Hotspot] = {}
    for k in range(0, len(keys), _CHUNK):
        for h in session.scalars(select(Hotspot).where(Hotspot.key.in_(keys[k : k + _CHUNK]))):
            out[h.key] = h
    return out


def _upgrade(old: Hotspot, det: hs.Detections, i: int) -> None:
    """A standard ("archive") row replaces the values of the NRT row it supersedes."""
    old.version, old.nrt = str(det.version[i]), False
    old.confidence, old.confidence_class = int(det.confidence[i]), str(det.confidence_class[i])
    old.confidence_raw = str(det.confidence_raw[i])[:8]
    old.brightness, old.bright2, old.frp = float(det.brightness[i]), float(det.bright2[i]), float(det.frp[i])
    old.scan, old.track = float(det.scan[i]), float(det.track[i])
    old.fire_type = int(det.fire_type[i]) if det.fire_type[i] >= 0 else None


def _row(det: hs.Detections, i: int, key: str, import_id: int, d6: str, dist: float, drill: bool) -> Hotspot:
    return Hotspot(
        key=key,
        import_id=import_id,
        status="clustered",
        lon=float(det.lon[i]),
        lat=float(det.lat[i]),
        acq_at=det.acq_at(i),
        instrument=det.instrument,
        satellite=str(det.platform[i])[:16],
        version=str(det.version[i])[:16],
        nrt=bool(det.nrt[i]),
        confidence=int(det.confidence[i]),
        confidence_class=str(det.confidence_class[i]),
        confidence_raw=str(det.confidence_raw[i])[:8],
        brightness=float(det.brightness[i]),
        bright2=float(det.bright2[i]),
        frp=float(det.frp[i]),
        scan=float(det.scan[i]),
        track=float(det.track[i]),
        daynight=str(det.daynight[i]),
        fire_type=int(det.fire_type[i]) if det.fire_type[i] >= 0 else None,
        district_code=d6,
        distance_m=dist,
        line=int(det.line[i]),
        drill=drill,
    )


def _event_open(session: Session, district6: str, event_id: int | None) -> bool:
    if event_id is None:
        return False
    ev = events.get_event(session, events.system_actor(district6), event_id)
    return event_rules.Node(ev.node) in event_rules.OPEN_NODES


def _cluster_and_alert(
    session: Session,
    cfg: HotspotConfig,
    det: hs.Detections,
    alerting: list[int],
    rows: dict[int, Hotspot],
    pl: _Placement,
    drill: bool,
    now: datetime,
    c: dict[str, int],
) -> list[HotspotEventRef]:
    """Cluster the new detections with each other and with the members of open clusters, then open or
    update events. Returns the events opened."""
    new = [rows[i] for i in alerting]
    window = timedelta(hours=cfg.clustering.window_h)
    reach_deg = (cfg.clustering.gap_km + hs.MAX_PIXEL_KM) / KM_PER_DEG_LAT
    lat_pad = reach_deg
    lon_pad = reach_deg / max(
        math.cos(math.radians(min(89.0, max(abs(h.lat) for h in new) + reach_deg))), 1e-3
    )
    q = (
        select(Hotspot, HotspotCluster)
        .join(HotspotCluster, Hotspot.cluster_id == HotspotCluster.id)
        .where(
            Hotspot.status == "clustered",
            HotspotCluster.drill.is_(drill),
            Hotspot.acq_at.between(min(h.acq_at for h in new) - window, max(h.acq_at for h in new) + window),
            Hotspot.lat.between(min(h.lat for h in new) - lat_pad, max(h.lat for h in new) + lat_pad),
            Hotspot.lon.between(min(h.lon for h in new) - lon_pad, max(h.lon for h in new) + lon_pad),
        )
    )
    open_cluster: dict[int, bool] = {}
    members: list[tuple[Hotspot, HotspotCluster]] = []
    for h, cl in session.execute(q).all():
        if cl.id not in open_cluster:
            keeps = cl.outcome is None or cfg.outcome(cl.outcome).keeps_cluster_open
            open_cluster[cl.id] = keeps and _event_open(session, cl.district_code, cl.event_id)
        if open_cluster[cl.id]:
            members.append((h, cl))
    allp = new + [h for h, _ in members]
    labels = hs.cluster_labels(
        np.array([h.lon for h in allp]),
        np.array([h.lat for h in allp]),
        np.array([np.datetime64(h.acq_at.replace(tzinfo=None), "m") for h in allp]),
        hs.pixel_diagonal_km([h.scan for h in allp], [h.track for h in allp]),
        gap_km=cfg.clustering.gap_km,
        window_h=cfg.clustering.window_h,
    )
    comps: dict[int, list[int]] = defaultdict(list)
    for k, lab in enumerate(labels.tolist()):
        comps[lab].append(k)
    near_of = {id(rows[i]): (pl.near[i], float(pl.distance_m[i])) for i in alerting}
    refs: list[HotspotEventRef] = []
    for ks in comps.values():
        fresh = [allp[k] for k in ks if k < len(new)]
        if not fresh:
            continue
        old = sorted(
            {members[k - len(new)][1] for k in ks if k >= len(new)}, key=lambda cl: (cl.first_seen, cl.id)
        )
        fresh.sort(key=lambda h: (h.acq_at, -h.confidence, -h.frp, h.id))
        if old:
            cl = old[0]
            c["clusters_updated"] += 1
        else:
            trig = fresh[0]
            due = now + timedelta(hours=cfg.verification.deadline_h)
            cl = HotspotCluster(
                district_code=trig.district_code,
                lon=trig.lon,
                lat=trig.lat,
                first_seen=trig.acq_at,
                last_seen=trig.acq_at,
                n_detections=0,
                opened_at=now,
                verify_due_at=due,
                drill=drill,
                outcome_note="",
            )
            session.add(cl)
            session.flush()
            c["clusters_new"] += 1
        for h in fresh:
            h.cluster_id = cl.id
        session.flush()
        _refresh(session, cl)
        wanted: dict[str, tuple[float, Hotspot]] = {}
        for h in fresh:
            near, _ = near_of[id(h)]
            for d6, dm in near.items():
                if d6 != cl.district_code and (d6 not in wanted or dm < wanted[d6][0]):
                    wanted[d6] = (dm, h)
        have = {
            a.district_code: a
            for a in session.scalars(select(HotspotAlert).where(HotspotAlert.cluster_id == cl.id))
        }
        if not old:
            refs.append(_open(session, cfg, cl, fresh[0], "primary", cl.district_code, 0.0, now, drill))
            c["events_opened"] += 1
        else:
            for a in have.values():
                if _event_open(session, a.district_code, a.event_id):
                    events.transition(
                        session,
                        events.system_actor(a.district_code),
                        a.event_id,
                        TransitionIn(action="remind", comment=_update_text(cl, fresh)),
                    )
                    c["events_updated"] += 1
        for d6, (dm, h) in sorted(wanted.items()):
            if d6 not in have:
                refs.append(_open(session, cfg, cl, h, "neighbour", d6, dm, now, drill))
                c["events_opened"] += 1
                c["neighbour_alerts"] += 1
    return refs


def _refresh(session: Session, cl: HotspotCluster) -> None:
    """Recompute a cluster's centre, time span and maxima from its members."""
    n, lon, lat, first, last, frp, conf = session.execute(
        select(
            func.count(),
            func.avg(Hotspot.lon),
            func.avg(Hotspot.lat),
            func.min(Hotspot.acq_at),
            func.max(Hotspot.acq_at),
            func.max(Hotspot.frp),
            func.max(Hotspot.confidence),
        ).where(Hotspot.cluster_id == cl.id)
    ).one()
    cl.n_detections, cl.lon, cl.lat, cl.max_frp, cl.max_confidence = n, float(lon), float(lat), frp, conf
    cl.first_seen, cl.last_seen = _aware(first), _aware(last)


def _aware(dt: datetime) -> datetime:
    """Aggregates of a UTC column come back aware (UTCDateTime) or, on some drivers, naive UTC."""
    return dt.astimezone(UTC) if dt.tzinfo else dt.replace(tzinfo=UTC)


Role = Literal["primary", "neighbour"]


def _open(
    session: Session,
    cfg: HotspotConfig,
    cl: HotspotCluster,
    h: Hotspot,
    role: Role,
    d6: str,
    dist_m: float,
    now: datetime,
    drill: bool,
) -> HotspotEventRef:
    """Open the 卫星热点核查 event of cluster ``cl`` in district ``d6`` at detection ``h``."""
    title = f"卫星热点核查：{hs.beijing(h.acq_at)} {h.satellite}/{h.instrument}"
    text = _event_text(session, cfg, cl, h)
    if role == "neighbour":
        where = _district_name(session, h.district_code) if h.distance_m == 0 else "已加载辖区以外"
        title = "邻区" + title
        text = f"邻区通报：热点位于{where}，距本区边界约 {dist_m / 1000:.1f} km，请关注并协同核查。\n" + text
    data = EventCreate(
        source="satellite",
        category_code=CATEGORY,
        title=title[:200],
        description=text,
        lon=h.lon,
        lat=h.lat,
        external_id=f"hotspot-{cl.id}-{d6}",
        is_drill=drill,
    )
    ev = events.create_event(
        session,
        events.system_actor(d6),
        data,
        propose_merges=False,
        file_in=d6 if role == "neighbour" else None,
    )
    if role == "primary":
        cl.event_id = ev.id
    session.add(
        HotspotAlert(
            cluster_id=cl.id, district_code=d6, role=role, event_id=ev.id, distance_m=dist_m, created_at=now
        )
    )
    session.flush()
    return HotspotEventRef(
        event_id=ev.id,
        cluster_id=cl.id,
        role=role,
        district_code=d6,
        town_code=ev.town_code,
        grid_code=ev.grid_code,
    )


def _district_name(session: Session, d6: str) -> str:
    try:
        return org.get_unit(session, f"{d6}000000").name
    except NotFound:
        return d6


def _describe(h: Hotspot) -> str:
    """One detection in Chinese: satellite, Beijing time, place, confidence, FRP, pixel, day/night."""
    kind = "近实时" if h.nrt else "标准"
    ns, ew = ("北纬", "南纬")[h.lat < 0], ("东经", "西经")[h.lon < 0]
    return (
        f"{h.satellite}/{h.instrument}（{h.version} {kind}产品），过境时间 北京时间 {hs.beijing(h.acq_at)}"
        f"（UTC {h.acq_at:%H:%M}），位置 {ns} {abs(h.lat):.5f}°、{ew} {abs(h.lon):.5f}°"
        f"（WGS-84 像元中心，像元约 {h.scan:.2f} × {h.track:.2f} km），"
        f"置信度 {h.confidence}%（{hs.CLASS_LABEL_ZH.get(h.confidence_class, h.confidence_class)}），"
        f"火辐射功率 FRP {h.frp:.1f} MW，{hs.DAYNIGHT_ZH.get(h.daynight, h.daynight)}"
    )


def _event_text(session: Session, cfg: HotspotConfig, cl: HotspotCluster, h: Hotspot) -> str:
    names = " / ".join(o.name for o in cfg.outcomes)
    return (
        f"NASA FIRMS 卫星热点：{_describe(h)}。\n"
        f"热点簇 {cl.id} 现有 {cl.n_detections} 个热点，最高置信度 {cl.max_confidence}%，"
        f"最大 FRP {cl.max_frp:.1f} MW。\n"
        f"请于 北京时间 {hs.beijing(cl.verify_due_at)} 前（{cfg.verification.deadline_h:g} 小时内）到场核查，"
        f"并反馈热点性质：{names}。"
    )


def _update_text(cl: HotspotCluster, fresh: list[Hotspot]) -> str:
    lines = [
        f"热点簇 {cl.id} 新增卫星热点 {len(fresh)} 个（累计 {cl.n_detections} 个，"
        f"最近 北京时间 {hs.beijing(cl.last_seen)}）："
    ]
    lines += [f"- {_describe(h)}" for h in fresh[:10]]
    if len(fresh) > 10:
        lines.append(f"- …另有 {len(fresh) - 10} 个")
    return "\n".join(lines)


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


# --- verification and static sources ---------------------------------------------------------------------


def get_cluster(session: Session, cluster_id: int) -> HotspotCluster:
    """The cluster ``cluster_id``; raises NotFound."""
    cl = session.get(HotspotCluster, cluster_id)
    if cl is None:
        raise NotFound(f"hotspot cluster {cluster_id} not found")
    return cl


def record_outcome(
    session: Session, actor: Actor, cluster_id: int, outcome: str, note: str = ""
) -> HotspotCluster:
    """Record the verification outcome (核查结论) of a cluster: one of ``data/hotspots.yaml`` outcomes,
    by key or Chinese name (真实火情 / 农事用火 / 工业热源 / 其他热源 / 误报).

    Sets verified_at/by and whether the verification deadline was met (``verified_on_time``). An
    outcome with ``proposes_static`` (工业热源) proposes a static heat source covering the cluster.
    The actor must see the cluster's event (its data scope) and may handle or verify events.
    Raises NotFound (no such cluster, or out of scope), Forbidden (role), InvalidInput (unknown outcome),
    Conflict (an outcome is already recorded).
    """
    cfg = hotspot_config()
    cl = get_cluster(session, cluster_id)
    if cl.event_id is not None:
        events.get_event(session, actor, cl.event_id)  # NotFound outside the actor's scope
    if not (has_permission(actor, "event.handle") or has_permission(actor, "event.verify_pass")):
        raise Forbidden(f'role "{actor.role}" may not record a hotspot verification outcome')
    try:
        o: HotspotOutcome = cfg.outcome(outcome)
    except ValueError as e:
        raise InvalidInput(str(e), [FieldError("outcome", str(e))]) from None
    if cl.outcome is not None:
        raise Conflict(
            f"cluster {cl.id} already has the outcome {cfg.outcome(cl.outcome).name} "
            f"(recorded by {cl.verified_by} at 北京时间 {hs.beijing(cl.verified_at or cl.opened_at)})"
        )
    now = ztime.utcnow()
    cl.outcome, cl.outcome_note = o.key, note
    cl.verified_at, cl.verified_by = now, actor.name
    cl.verified_on_time = now <= cl.verify_due_at
    if o.proposes_static:
        _propose_from_cluster(session, cl, o, actor, note, now)
    session.flush()
    return cl


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
        kind="other",
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
    or reject a proposed static heat source. District center only (``event.any_unit``).
    Raises NotFound, Forbidden, Conflict (not a proposal)."""
    if not has_permission(actor, "event.any_unit"):
        raise Forbidden(f'role "{actor.role}" may not decide on static heat sources')
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
    """Register a known static heat source by hand (status active at once). District center only."""
    if not has_permission(actor, "event.any_unit"):
        raise Forbidden(f'role "{actor.role}" may not register static heat sources')
    geom: BaseGeometry = Polygon(entry.polygon) if entry.polygon else Point(entry.lon, entry.lat)
    c = geom.centroid
    until = (
        ztime.to_utc(datetime.combine(entry.snoozed_until, datetime.min.time()))
        if entry.snoozed_until
        else None
    )
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


def cluster_read(cl: HotspotCluster) -> ClusterRead:
    """The cluster as its read model."""
    return ClusterRead.model_validate(cl)
