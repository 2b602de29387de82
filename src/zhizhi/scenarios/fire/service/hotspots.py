"""Satellite hotspot import (卫星热点导入): read NASA FIRMS files, keep what concerns the loaded
districts, snooze static heat sources, cluster detections of one fire, open one 卫星热点核查 event
(category 2207) per new cluster and update it with later detections.

Services flush; the caller (the CLI's session scope, or a request) commits, so one import is one
transaction.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhizhi.core import time as ztime
from zhizhi.core.errors import InvalidInput
from zhizhi.event import service as events
from zhizhi.org import rules as org_rules
from zhizhi.org import service as org
from zhizhi.scenarios.fire import hotspots as hs
from zhizhi.scenarios.fire.models import (
    Hotspot,
    HotspotAlert,
    HotspotCluster,
    HotspotImport,
)
from zhizhi.scenarios.fire.schemas import (
    HotspotConfig,
    HotspotEventRef,
    HotspotImportSummary,
)
from zhizhi.scenarios.fire.service.alerts import event_open, live_event_id, open_event, update_text
from zhizhi.scenarios.fire.service.config import (
    KM_PER_DEG_LAT,
    QUERY_CHUNK,
    hotspot_config,
)
from zhizhi.scenarios.fire.service.static import _propose_persistent, _zones

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


# --- import ---------------------------------------------------------------------------------------------


def import_file(
    session: Session, path: Path, *, skip_bad_rows: bool = False, drill: bool = False
) -> HotspotImportSummary:
    """Import the NASA FIRMS file at ``path``: :func:`import_bytes` on its content, named by its file
    name in messages and by ``path`` in the summary. Raises OSError if it cannot be read."""
    raw = Path(path).read_bytes()
    return import_bytes(
        session, raw, Path(path).name, skip_bad_rows=skip_bad_rows, drill=drill, shown_as=str(path)
    )


def import_bytes(
    session: Session,
    raw: bytes,
    name: str,
    *,
    skip_bad_rows: bool = False,
    drill: bool = False,
    shown_as: str | None = None,
) -> HotspotImportSummary:
    """Import one NASA FIRMS active-fire CSV (MODIS C6.1 or VIIRS 375 m; NRT or standard; static,
    Area-API or archive layout) and alert the loaded districts.

    Steps: parse (hotspots.parse_firms; any bad row refuses the file unless ``skip_bad_rows``) ->
    keep detections within the loaded districts plus ``area.buffer_km`` -> drop FIRMS ``type`` 1
    (volcano) and 3 (offshore) -> of the duplicate rows of one satellite pass (overlapping scans,
    hotspots.same_pass_best) keep the highest confidence, then FRP, then the first row -> skip
    detections already stored (hotspots.detection_key; an NRT row
    is upgraded in place by its standard row) -> snooze static heat sources (the shipped list, the
    accepted ones in the database, and FIRMS ``type`` 2) -> cluster with each other and with the
    open clusters (hotspots.cluster_labels) -> open one 卫星热点核查 event (2207) per new cluster in its
    district, routed to the town and grid where its first detection falls, plus a neighbour alert
    event in each other loaded district within the buffer; add a note (备注, event.service.add_note)
    with the new detections to the open events of a cluster that grew -> propose static sources at
    places detected on many distinct days. Re-importing a file changes nothing but the run record.
    ``drill`` marks detections, clusters and events as an exercise (演练), never mixed with real ones,
    and opens no neighbour alert (a drill exercises its own district's loop, not its neighbours').

    ``raw`` is the file's content and ``name`` its file name (used in messages and stored with the
    run); ``shown_as`` is what the summary's ``file`` says (default ``name``).

    Returns the counts (schemas.HotspotImportSummary). Raises InvalidInput for an unreadable or
    invalid file (naming file, line, column and reason) or when no district is loaded.
    """
    cfg = hotspot_config()
    now = ztime.utcnow()
    ff = hs.parse_bytes(raw, name)  # (not UTF-8: InvalidInput naming the line and byte offset)
    if not skip_bad_rows:
        ff.raise_if_bad()
    districts = _loaded_districts(session)
    if not districts:
        raise InvalidInput("no district is loaded: run `zhizhi org load` first")
    det = ff.detections
    pl = place(districts, det.lon, det.lat, cfg.area.buffer_km)
    imp = HotspotImport(
        filename=name[:300],
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
    kept = _same_pass_kept(det, [i for i in keys if int(det.fire_type[i]) not in (1, 3)], keys)
    for i in (int(i) for i in inside):
        if int(det.fire_type[i]) in (1, 3):
            c["dropped_type"] += 1
        elif not kept[i]:
            c["duplicates"] += 1  # a worse row of the same pass and pixel: the best one is kept
            c["same_pass"] += 1
        elif keys[i] in stored:
            c["duplicates"] += 1
            old = stored[keys[i]]
            if old.nrt and not bool(det.nrt[i]):
                _upgrade(old, det, i)
                c["upgraded"] += 1
        else:
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
        file=shown_as or name,
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
        same_pass=c["same_pass"],
        upgraded=c["upgraded"],
        snoozed=c["snoozed"],
        new=c["new"],
        clusters=c["clusters_new"] + c["clusters_updated"],
        clusters_new=c["clusters_new"],
        clusters_updated=c["clusters_updated"],
        clusters_historical=c["clusters_historical"],
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


def _same_pass_kept(det: hs.Detections, idx: list[int], keys: dict[int, str]) -> dict[int, bool]:
    """Per detection position in ``idx``: whether it is kept, i.e. the best of its duplicates in one
    satellite pass (hotspots.same_pass_best: same platform and minute within a third of a pixel, or
    the same detection key; highest confidence, then FRP, then the first row)."""
    if not idx:
        return {}
    a = np.asarray(idx, dtype=np.int64)
    best = hs.same_pass_best(
        det.platform[a],
        det.acq[a],
        det.lon[a],
        det.lat[a],
        det.scan[a],
        det.track[a],
        det.confidence[a],
        det.frp[a],
        np.array([keys[i] for i in idx]),
    )
    return {i: int(b) == k for k, (i, b) in enumerate(zip(idx, best.tolist(), strict=True))}


def _stored(session: Session, keys: list[str]) -> dict[str, Hotspot]:
    out: dict[str, Hotspot] = {}
    for k in range(0, len(keys), QUERY_CHUNK):
        for h in session.scalars(select(Hotspot).where(Hotspot.key.in_(keys[k : k + QUERY_CHUNK]))):
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
            open_cluster[cl.id] = keeps and event_open(session, cl.district_code, cl.event_id)
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
        newest = max(h.acq_at for h in fresh)
        historical = not drill and now - newest > timedelta(hours=cfg.verification.live_max_age_h)
        if not old and historical:
            c["clusters_historical"] += 1  # an archive detection: no live verification task
            continue
        if not old:
            refs.append(open_event(session, cfg, cl, fresh[0], "primary", cl.district_code, 0.0, now, drill))
            c["events_opened"] += 1
        else:
            for a in have.values():
                live = live_event_id(session, a.district_code, a.event_id)
                if live is not None:
                    # a note (备注), not a 催办: new detections are information, not a reminder to
                    # the handling unit, and must not count as one; after 真实火情 on the 森林火情 event
                    events.add_note(
                        session,
                        events.system_actor(a.district_code),
                        live,
                        update_text(cl, fresh),
                        {"kind": "hotspot_update", "cluster_id": cl.id, "detections": len(fresh)},
                    )
                    c["events_updated"] += 1
        for d6, (dm, h) in sorted(wanted.items()):
            # a drill exercises its own district's loop: it never alerts a neighbouring district
            if d6 not in have and not drill:
                refs.append(open_event(session, cfg, cl, h, "neighbour", d6, dm, now, drill))
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
