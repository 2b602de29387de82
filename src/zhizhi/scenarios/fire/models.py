"""Fire scenario tables (森林防灭火): satellite hotspot imports, detections, clusters, alerts and static
heat sources. Times are stored in UTC (core.db.UTCDateTime); coordinates are WGS-84 degrees."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
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
