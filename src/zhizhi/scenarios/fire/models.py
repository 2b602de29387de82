"""Fire scenario tables (森林防灭火): satellite hotspot imports, detections, clusters, alerts, static
heat sources, the daily fire danger ratings (runs, station days, town/grid ratings), fire resources,
fire records, hazards and patrols. Times are stored in UTC (core.db.UTCDateTime); coordinates are
WGS-84 degrees."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from zhizhi.core.db import Base, UTCDateTime

TS = UTCDateTime()


class HotspotImport(Base):
    """One import of a FIRMS file (导入批次): the file, when, and its counts (see
    schemas.HotspotImportSummary). Written in the same transaction as the detections."""

    __tablename__ = "fire_hotspot_import"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    filename: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    instrument: Mapped[str] = mapped_column(String(8))
    started_at: Mapped[datetime] = mapped_column(TS)
    finished_at: Mapped[datetime | None] = mapped_column(TS)
    drill: Mapped[bool] = mapped_column(Boolean, default=False)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Hotspot(Base):
    """One active-fire detection (卫星热点) kept for the loaded districts (within the buffer).

    ``key`` (hotspots.detection_key: platform, minute, lat/lon to 3 decimals) makes re-imports and
    NRT→standard replacements of the same detection one row. ``status``: ``clustered`` (joined a
    cluster) or ``snoozed`` (a static heat source or FIRMS type 2; ``snooze_reason`` says which).
    ``district_code`` is the loaded district containing it or, outside them, the nearest within the
    buffer (``distance_m`` > 0). Units: brightness/bright2 K, scan/track km, frp MW.
    """

    __tablename__ = "fire_hotspot"
    __table_args__ = (Index("ix_fire_hotspot_acq_lat", "acq_at", "lat"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("fire_hotspot_import.id"), index=True)
    cluster_id: Mapped[int | None] = mapped_column(ForeignKey("fire_hotspot_cluster.id"), index=True)
    static_source_id: Mapped[int | None] = mapped_column(ForeignKey("fire_static_source.id"))
    status: Mapped[str] = mapped_column(String(12))
    snooze_reason: Mapped[str | None] = mapped_column(String(200))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    acq_at: Mapped[datetime] = mapped_column(TS)
    instrument: Mapped[str] = mapped_column(String(8))
    satellite: Mapped[str] = mapped_column(String(16))
    version: Mapped[str] = mapped_column(String(16))
    nrt: Mapped[bool] = mapped_column(Boolean)
    confidence: Mapped[int] = mapped_column(Integer)
    confidence_class: Mapped[str] = mapped_column(String(8))
    confidence_raw: Mapped[str] = mapped_column(String(8))
    brightness: Mapped[float] = mapped_column(Float)
    bright2: Mapped[float] = mapped_column(Float)
    frp: Mapped[float] = mapped_column(Float)
    scan: Mapped[float] = mapped_column(Float)
    track: Mapped[float] = mapped_column(Float)
    daynight: Mapped[str] = mapped_column(String(1))
    fire_type: Mapped[int | None] = mapped_column(Integer)
    district_code: Mapped[str] = mapped_column(String(6))
    distance_m: Mapped[float] = mapped_column(Float, default=0.0)
    line: Mapped[int] = mapped_column(Integer)
    drill: Mapped[bool] = mapped_column(Boolean, default=False)


class HotspotCluster(Base):
    """Detections of one fire in space and time (热点簇, hotspots.cluster_labels) and its verification.

    ``event_id``: the 卫星热点核查 event opened for it in ``district_code`` (alerts to neighbouring
    districts are in :class:`HotspotAlert`). ``verify_due_at``: the verification deadline;
    ``outcome`` (a key of data/hotspots.yaml outcomes), ``verified_at``/``verified_by`` and
    ``verified_on_time`` record the 核查结论. lon/lat are the members' mean; first/last_seen the
    earliest and latest acquisition.
    """

    __tablename__ = "fire_hotspot_cluster"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    district_code: Mapped[str] = mapped_column(String(6), index=True)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    first_seen: Mapped[datetime] = mapped_column(TS)
    last_seen: Mapped[datetime] = mapped_column(TS, index=True)
    n_detections: Mapped[int] = mapped_column(Integer, default=0)
    max_frp: Mapped[float] = mapped_column(Float, default=0.0)
    max_confidence: Mapped[int] = mapped_column(Integer, default=0)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("event.id"), index=True)
    opened_at: Mapped[datetime] = mapped_column(TS)
    verify_due_at: Mapped[datetime] = mapped_column(TS)
    outcome: Mapped[str | None] = mapped_column(String(16))
    outcome_note: Mapped[str] = mapped_column(Text, default="")
    verified_at: Mapped[datetime | None] = mapped_column(TS)
    verified_by: Mapped[str | None] = mapped_column(String(64))
    verified_on_time: Mapped[bool | None] = mapped_column(Boolean)
    drill: Mapped[bool] = mapped_column(Boolean, default=False)


class HotspotAlert(Base):
    """An event opened for a cluster in one district: ``role`` primary (the district where it is) or
    neighbour (邻区通报: a loaded district within the buffer). One per cluster and district."""

    __tablename__ = "fire_hotspot_alert"
    __table_args__ = (UniqueConstraint("cluster_id", "district_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cluster_id: Mapped[int] = mapped_column(ForeignKey("fire_hotspot_cluster.id"), index=True)
    district_code: Mapped[str] = mapped_column(String(6))
    role: Mapped[str] = mapped_column(String(10))
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"), index=True)
    distance_m: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(TS)


class StaticHeatSource(Base):
    """A static heat source (固定热源: factory, kiln, power plant) whose detections are snoozed.

    A point (lon/lat) with ``radius_m``, or a polygon (``geom``, WGS-84 WKB) widened by ``radius_m``.
    ``status``: proposed (awaits a person), active (snoozes), rejected or retired (does not).
    ``origin``: verification (核查结论 工业热源), persistence (detected on many distinct days) or manual.
    ``snoozed_until``: detections acquired from then on alert again; None = until retired.
    """

    __tablename__ = "fire_static_source"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    district_code: Mapped[str | None] = mapped_column(String(6))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    radius_m: Mapped[float] = mapped_column(Float)
    geom: Mapped[bytes | None] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(10), index=True)
    origin: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str] = mapped_column(Text, default="")
    cluster_id: Mapped[int | None] = mapped_column(ForeignKey("fire_hotspot_cluster.id"))
    distinct_days: Mapped[int | None] = mapped_column(Integer)
    snoozed_until: Mapped[datetime | None] = mapped_column(TS)
    created_at: Mapped[datetime] = mapped_column(TS)
    decided_at: Mapped[datetime | None] = mapped_column(TS)
    decided_by: Mapped[str | None] = mapped_column(String(64))


# --- daily fire danger ratings (森林火险等级) ---------------------------------------------------------


class DangerRun(Base):
    """One run of the daily danger rating (火险评级批次): the day rated, the weather file (name and
    SHA-256), who and when, how many rows of that day it replaced, and its counts."""

    __tablename__ = "fire_danger_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    source_file: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    wind_unit: Mapped[str] = mapped_column(String(8))
    computed_at: Mapped[datetime] = mapped_column(TS)
    computed_by: Mapped[str] = mapped_column(String(64))
    replaced: Mapped[int] = mapped_column(Integer, default=0)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class StationDay(Base):
    """A weather station's rating on one day (气象站逐日火险): the day's inputs (wind m/s, Beaufort
    force), consecutive dry days, HTZ with its factor scores and level, and the FWI System codes.
    The next day's run continues the dry days and the FWI chain from this row (one per day and
    station; a re-run of the day replaces it)."""

    __tablename__ = "fire_station_day"
    __table_args__ = (UniqueConstraint("day", "station"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("fire_danger_run.id"), index=True)
    day: Mapped[date] = mapped_column(Date)
    station: Mapped[str] = mapped_column(String(40))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    line: Mapped[int] = mapped_column(Integer)
    tmax: Mapped[float] = mapped_column(Float)
    rh_min: Mapped[float] = mapped_column(Float)
    rain: Mapped[float] = mapped_column(Float)
    wind_ms: Mapped[float] = mapped_column(Float)
    wind_force: Mapped[int] = mapped_column(Integer)
    dry_days: Mapped[int] = mapped_column(Integer)
    dry_days_open: Mapped[bool] = mapped_column(Boolean)
    green_cover: Mapped[float] = mapped_column(Float)
    snow_cover: Mapped[float] = mapped_column(Float)
    htz: Mapped[float] = mapped_column(Float)
    level: Mapped[int] = mapped_column(Integer)
    scores: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    ffmc: Mapped[float | None] = mapped_column(Float)
    dmc: Mapped[float | None] = mapped_column(Float)
    dc: Mapped[float | None] = mapped_column(Float)
    isi: Mapped[float | None] = mapped_column(Float)
    bui: Mapped[float | None] = mapped_column(Float)
    fwi: Mapped[float | None] = mapped_column(Float)
    dsr: Mapped[float | None] = mapped_column(Float)
    fwi_start: Mapped[str | None] = mapped_column(String(24))


class DangerRating(Base):
    """The fire danger rating (森林火险等级) of one town or grid on one day, from its nearest station.

    ``level`` 1-5 is the Chinese HTZ level (rules.rate_htz); ``scores`` the factor scores by key
    (A … E, before their sign); the FWI components are the station's (None without noon data),
    ``fwi_level`` their 5-level scale and ``effis_class`` the EFFIS class. ``distance_km`` is the
    straight-line (great-circle) distance from the unit's centroid to the station. One row per
    (day, unit): a re-run of the day replaces the day's rows (``run_id`` says which run wrote it).
    """

    __tablename__ = "fire_danger_rating"
    __table_args__ = (
        UniqueConstraint("day", "unit_code"),
        Index("ix_fire_danger_rating_day_district", "day", "district_code"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("fire_danger_run.id"), index=True)
    day: Mapped[date] = mapped_column(Date)
    unit_code: Mapped[str] = mapped_column(String(40))
    unit_level: Mapped[str] = mapped_column(String(8))
    unit_name: Mapped[str] = mapped_column(String(100))
    district_code: Mapped[str] = mapped_column(String(6))
    town_code: Mapped[str | None] = mapped_column(String(12))
    level: Mapped[int] = mapped_column(Integer)
    htz: Mapped[float] = mapped_column(Float)
    scores: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    ffmc: Mapped[float | None] = mapped_column(Float)
    dmc: Mapped[float | None] = mapped_column(Float)
    dc: Mapped[float | None] = mapped_column(Float)
    isi: Mapped[float | None] = mapped_column(Float)
    bui: Mapped[float | None] = mapped_column(Float)
    fwi: Mapped[float | None] = mapped_column(Float)
    dsr: Mapped[float | None] = mapped_column(Float)
    fwi_level: Mapped[int | None] = mapped_column(Integer)
    effis_class: Mapped[int | None] = mapped_column(Integer)
    station: Mapped[str] = mapped_column(String(40))
    distance_km: Mapped[float] = mapped_column(Float)
    computed_at: Mapped[datetime] = mapped_column(TS)
    source_file: Mapped[str] = mapped_column(String(300))


# --- resources, response, fire records, hazards and patrols (issue 5, part 3) --------------------------


class FireResource(Base):
    """A fire resource (防火资源) on the map: one row per team, water source, lookout/camera, checkpoint,
    depot or drone dock (``kind``; resources.py). ``attrs`` holds the kind's own attributes, checked
    by the kind's model (e.g. a team's type, people and equipment). ``owner_unit_code``: the org unit it
    belongs to (a town center or a district department; required for teams: the unit the response
    dispatches). ``town_code``: the town its point falls in. ``code`` (编号) is unique in a district: a
    re-import of the code updates the row. ``contact_phone`` is shown masked."""

    __tablename__ = "fire_resource"
    __table_args__ = (
        UniqueConstraint("district_code", "code"),
        Index("ix_fire_resource_district_kind", "district_code", "kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    code: Mapped[str | None] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    district_code: Mapped[str] = mapped_column(String(6))
    town_code: Mapped[str | None] = mapped_column(String(12))
    owner_unit_code: Mapped[str | None] = mapped_column(String(40))
    contact_name: Mapped[str | None] = mapped_column(String(64))
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(300))
    note: Mapped[str] = mapped_column(Text, default="")
    attrs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    source: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(TS)
    updated_at: Mapped[datetime] = mapped_column(TS)
    updated_by: Mapped[str] = mapped_column(String(64))


class FireEventRecord(Base):
    """The record of a fire (火灾登记) on a 森林火情 (2206) or 卫星热点核查 (2207) event: damaged forest
    area (受害森林面积, ha), the total burnt area (过火总面积, ha, optional), deaths and serious injuries
    (重伤), the grade computed from them (grading.py) and the response level (the grade's default or
    one given). One per event; updating it recomputes the grade. The damage-rate KPI sums these."""

    __tablename__ = "fire_event_record"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"), unique=True)
    burnt_area_ha: Mapped[float] = mapped_column(Float)
    burnt_total_ha: Mapped[float | None] = mapped_column(Float)
    deaths: Mapped[int] = mapped_column(Integer, default=0)
    serious_injuries: Mapped[int] = mapped_column(Integer, default=0)
    grade: Mapped[str] = mapped_column(String(20))
    response_level: Mapped[int] = mapped_column(Integer)
    response_level_given: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str] = mapped_column(Text, default="")
    filled_at: Mapped[datetime] = mapped_column(TS)
    filled_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(TS)
    updated_by: Mapped[str] = mapped_column(String(64))


class FirePatrol(Base):
    """A ranger's patrol (护林员巡护记录): the ranger (a grid worker: staff id and name) and their grid,
    start and end, the track (WGS-84 LineString as WKB), its point count and length (km, great-circle).
    Hazards found on the patrol point to it (:class:`FireHazard.patrol_id`)."""

    __tablename__ = "fire_patrol"
    __table_args__ = (Index("ix_fire_patrol_district_started", "district_code", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ranger_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    ranger_name: Mapped[str] = mapped_column(String(64))
    district_code: Mapped[str] = mapped_column(String(6))
    town_code: Mapped[str | None] = mapped_column(String(12))
    grid_code: Mapped[str] = mapped_column(String(16), index=True)
    started_at: Mapped[datetime] = mapped_column(TS)
    ended_at: Mapped[datetime] = mapped_column(TS)
    track: Mapped[bytes] = mapped_column(LargeBinary)
    n_points: Mapped[int] = mapped_column(Integer)
    length_km: Mapped[float] = mapped_column(Float)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(TS)
    created_by: Mapped[str] = mapped_column(String(64))


class FireHazard(Base):
    """A fire hazard on the ledger (森林火灾隐患台账): kind (data/hazards.yaml), place (WGS-84 point and
    its town/grid), who found it and when, the rectification deadline (整改期限, a Beijing-time date),
    and its status ``open`` → ``rectifying`` → ``closed`` (销号) with who/when/evidence of each step
    (hazards.py). ``patrol_id``: the patrol it was found on, if any."""

    __tablename__ = "fire_hazard"
    __table_args__ = (Index("ix_fire_hazard_district_status", "district_code", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    description: Mapped[str] = mapped_column(Text, default="")
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(String(300))
    district_code: Mapped[str] = mapped_column(String(6))
    town_code: Mapped[str | None] = mapped_column(String(12), index=True)
    grid_code: Mapped[str | None] = mapped_column(String(16), index=True)
    found_by: Mapped[str] = mapped_column(String(64))
    found_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    found_at: Mapped[datetime] = mapped_column(TS)
    deadline: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12))
    patrol_id: Mapped[int | None] = mapped_column(ForeignKey("fire_patrol.id"), index=True)
    rectify_at: Mapped[datetime | None] = mapped_column(TS)
    rectify_by: Mapped[str | None] = mapped_column(String(64))
    rectify_note: Mapped[str] = mapped_column(Text, default="")
    closed_at: Mapped[datetime | None] = mapped_column(TS)
    closed_by: Mapped[str | None] = mapped_column(String(64))
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    evidence: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(TS)
