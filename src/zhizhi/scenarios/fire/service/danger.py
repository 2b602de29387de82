"""Daily fire danger ratings (森林火险等级) per town and grid, from the nearest weather station.

A run reads a daily station weather file (``station.parse_daily_weather``), rates each station on
the day (Chinese HTZ level and the FWI System, ``station.rate_day``), continuing each station's dry
days and FWI codes from its stored rating of the day before its first row when there is one, and
gives every town and grid of the loaded districts the rating of its nearest station (straight-line
great-circle distance from the unit's centroid, WGS-84). The day's rows are replaced as a whole:
re-running a day gives the same rows, and the run record says how many it replaced.

Services flush; the caller (the CLI's session scope, or a request) commits.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import shapely
from shapely.geometry import mapping
from sqlalchemy import ColumnElement, and_, delete, func, insert, or_, select, true
from sqlalchemy.orm import Session

from zhizhi.core import time as ztime
from zhizhi.core.access import Actor, require, scope_of
from zhizhi.core.errors import FieldError, InvalidInput
from zhizhi.org.models import OrgUnit
from zhizhi.scenarios.fire import rules, windcheck
from zhizhi.scenarios.fire import station as st
from zhizhi.scenarios.fire.csvread import decode_text
from zhizhi.scenarios.fire.models import DangerRating, DangerRun, StationDay
from zhizhi.scenarios.fire.schemas import (
    DangerRatingRead,
    DangerRunSummary,
    FWIValues,
    StationRatingRead,
)
from zhizhi.scenarios.fire.weather import WIND_UNITS

UNIT_LEVELS = ("town", "grid")
FWI_NAMES = st.FWI_NAMES


@dataclass(frozen=True)
class _Unit:
    code: str
    level: str
    name: str
    district_code: str
    town_code: str | None
    lon: float
    lat: float


def _units(session: Session) -> list[_Unit]:
    """The towns and grids of the loaded districts with a point: the centroid of their geometry
    (planar, in degrees: a few km across, the difference to the geodesic centroid is metres), else
    their stored point."""
    rows = session.execute(
        select(
            OrgUnit.code,
            OrgUnit.level,
            OrgUnit.name,
            OrgUnit.district_code,
            OrgUnit.town_code,
            OrgUnit.lon,
            OrgUnit.lat,
            OrgUnit.geom,
        )
        .where(OrgUnit.level.in_(UNIT_LEVELS))
        .order_by(OrgUnit.code)
    ).all()
    with_geom = [i for i, r in enumerate(rows) if r.geom is not None]
    cx = np.full(len(rows), np.nan)
    cy = np.full(len(rows), np.nan)
    if with_geom:
        cen = shapely.centroid(shapely.from_wkb([rows[i].geom for i in with_geom]))
        cx[with_geom], cy[with_geom] = shapely.get_x(cen), shapely.get_y(cen)
    out = []
    for i, r in enumerate(rows):
        lon, lat = (cx[i], cy[i]) if not np.isnan(cx[i]) else (r.lon, r.lat)
        if lon is None or lat is None or np.isnan(lon) or np.isnan(lat):
            continue
        town = r.code if r.level == "town" else r.town_code
        out.append(_Unit(r.code, r.level, r.name, r.district_code, town, float(lon), float(lat)))
    return out


def _carry(session: Session, weather: st.DailyWeather) -> dict[str, st.Carry]:
    """Per station, its stored rating of the day before its first row, if any."""
    out: dict[str, st.Carry] = {}
    for s in weather.stations:
        before = s.dates[0] - timedelta(days=1)
        row = session.scalar(
            select(StationDay).where(StationDay.day == before, StationDay.station == s.station)
        )
        if row is not None:
            out[s.station] = st.Carry(before, row.dry_days, row.ffmc, row.dmc, row.dc)
    return out


DEFAULT_MAX_KM = 150.0
"""Towns and grids farther than this from every station (km, straight line) are left unrated by
default: a station that far away (another province's, a file's wrong coordinates) says nothing about
their weather. About three times the spacing of the national stations (国家级气象站) around Chongqing."""


def rate_danger(
    session: Session,
    actor: Actor,
    raw: bytes,
    name: str,
    day: date | None = None,
    *,
    wind_unit: str = "m/s",
    max_km: float | None = DEFAULT_MAX_KM,
    warn_km: float = windcheck.DEFAULT_MAX_STATION_KM,
    accept_implausible_wind: bool = False,
    clamp_rh: bool = False,
) -> DangerRunSummary:
    """Rate the fire danger of every town and grid of the loaded districts on ``day`` and store it.

    Parameters
    ----------
    raw, name : the daily station weather file's content and its file name (layout:
        :mod:`zhizhi.scenarios.fire.station`; UTF-8 with or without BOM, else GB18030).
    day : the day to rate (default: the last date of the file). Rows after it are not used.
    wind_unit : unit of ``wind_max`` and ``ws``: ``"m/s"`` (default) or ``"km/h"``.
    max_km : leave units farther than this from every station unrated (default
        :data:`DEFAULT_MAX_KM`, 150 km; None: no limit). When that leaves nothing to rate the run is
        refused and the day's stored ratings are kept.
    warn_km : warn about towns rated from a station farther than this (km, default 50).
    accept_implausible_wind : rate a file read as m/s whose median wind is above 15 m/s all the
        same (then a warning); without it such a file is refused (windcheck.implausible_medians).
    clamp_rh : take ``rh_min``/``rh`` values in (100, 101] % as 100 (sensor rounding); the summary's
        ``rh_clamped`` counts them. Without it such a file is refused (csvread.clamp_hint).

    Each station with a row for ``day`` is rated (HTZ level with its factor scores; FWI when the
    file has noon columns), its dry days and FWI codes continuing from its stored rating of the day
    before its first row if there is one (else counted from the first row / chained from the
    start-up codes 85 / 6 / 15). Each town and grid takes the rating of its nearest station by
    straight-line distance from its centroid (terrain and elevation are not considered; a tie goes
    to the station identifier first in sort order). The day's station rows and rating rows of the
    loaded districts are replaced; the run is recorded (``fire_danger_run``). The summary's
    ``warnings`` flag implausible input that is stored all the same (windcheck.py): wind above
    40 m/s (150 km/h), a file read as m/s whose median daily maximum wind is above 15 m/s (a km/h
    file?) only with ``accept_implausible_wind`` (else refused), towns rated from a station farther
    than ``warn_km``, and stations farther than ``max_km`` from every town and grid, so used for none
    (:func:`unused_station_warnings`; "station S is 1486 km from the nearest town or grid: not used").

    Returns :class:`DangerRunSummary`. Raises Forbidden without ``fire.manage``; InvalidInput for a
    bad file (naming file, line and column), a day no station has a row for, no loaded district,
    or a negative ``max_km`` or ``warn_km``, and for a file read as m/s whose median ``wind_max`` or
    ``ws`` is above 15 m/s (a km/h file?) unless ``accept_implausible_wind`` (nothing is stored);
    ValueError for an unknown ``wind_unit``.
    """
    require(actor, "fire.manage")
    if wind_unit not in WIND_UNITS:
        raise ValueError(f'wind unit must be one of {", ".join(WIND_UNITS)}, got "{wind_unit}"')
    for opt, v in (("max_km", max_km), ("warn_km", warn_km)):
        if v is not None and not v >= 0:
            raise InvalidInput(f"{opt} must be >= 0, got {v}", [FieldError(opt, "must be >= 0")])
    weather = st.parse_daily_weather(decode_text(raw, name), name, wind_unit=wind_unit, clamp_rh=clamp_rh)
    if not accept_implausible_wind and (found := implausible_wind(weather, wind_unit)):
        reason = windcheck.median_refusal(name, found)
        raise InvalidInput(reason, [FieldError(found[0].column, reason, column=found[0].column)])
    day = day or weather.last_date
    rated, skipped = st.rate_day(weather, day, _carry(session, weather))
    if not rated:
        span = f"{weather.first_date.isoformat()} to {weather.last_date.isoformat()}"
        reason = f"no station has a row for {day.isoformat()} (the file covers {span})"
        raise InvalidInput(f"{name}: {reason}", [FieldError("date", reason)])
    units = _units(session)
    if not units:
        raise InvalidInput("no district is loaded: run `zhizhi org load` first")
    idx, km = st.nearest_stations(
        [u.lon for u in units], [u.lat for u in units], [r.lon for r in rated], [r.lat for r in rated]
    )
    keep = np.ones(len(units), dtype=bool) if max_km is None else km <= max_km
    if not keep.any():
        # a run that rates nothing must not wipe the day's ratings already stored
        nearest = float(np.min(km)) if len(km) else float("nan")
        why = (
            f"no town or grid is within {max_km:g} km of a station (the nearest station is "
            f"{nearest:.0f} km from the nearest town or grid); nothing was rated and the ratings stored "
            f"for {day.isoformat()} are kept. Check the stations' lon/lat, or raise the limit (max_km; "
            f"--max-km of `zhizhi fire danger`) to rate from stations that far"
        )
        raise InvalidInput(f"{name}: {why}", [FieldError("max_km", why)])
    now = ztime.utcnow()
    districts = sorted({u.district_code for u in units})
    old_rows = delete(DangerRating).where(DangerRating.day == day, DangerRating.district_code.in_(districts))
    replaced = session.execute(old_rows).rowcount or 0  # type: ignore[attr-defined]
    session.execute(
        delete(StationDay).where(StationDay.day == day, StationDay.station.in_([r.station for r in rated]))
    )
    run = DangerRun(
        day=day,
        source_file=name[:300],
        sha256=hashlib.sha256(raw).hexdigest(),
        wind_unit=wind_unit,
        computed_at=now,
        computed_by=actor.name[:64],
        replaced=replaced,
        counts={},
    )
    session.add(run)
    session.flush()
    for r in rated:
        session.add(
            StationDay(
                run_id=run.id,
                day=day,
                station=r.station,
                lon=r.lon,
                lat=r.lat,
                line=r.line,
                tmax=r.tmax,
                rh_min=r.rh_min,
                rain=r.rain,
                wind_ms=r.wind_ms,
                wind_force=r.wind_force,
                dry_days=r.dry_days,
                dry_days_open=r.dry_days_open,
                green_cover=r.green_cover,
                snow_cover=r.snow_cover,
                htz=r.htz,
                level=r.level,
                scores=r.scores,
                fwi_start=r.fwi_start,
                **r.fwi,
            )
        )
    values: list[dict[str, Any]] = []
    for k in np.flatnonzero(keep).tolist():
        u, r = units[k], rated[int(idx[k])]
        values.append(
            {
                "run_id": run.id,
                "day": day,
                "unit_code": u.code,
                "unit_level": u.level,
                "unit_name": u.name[:100],
                "district_code": u.district_code,
                "town_code": u.town_code,
                "level": r.level,
                "htz": r.htz,
                "scores": r.scores,
                **r.fwi,
                "fwi_level": r.fwi_level,
                "effis_class": r.effis_class,
                "station": r.station,
                "distance_km": round(float(km[k]), 3),
                "computed_at": now,
                "source_file": name[:300],
            }
        )
    if values:
        session.execute(insert(DangerRating), values)
    session.flush()
    used = Counter((rated[int(idx[k])].station, units[k].level) for k in np.flatnonzero(keep).tolist())
    towns = sorted((v for v in values if v["unit_level"] == "town"), key=lambda v: v["unit_code"])
    summary = DangerRunSummary(
        run_id=run.id,
        date=day,
        file=name,
        wind_unit=wind_unit,
        computed_at=now,
        stations=[
            StationRatingRead(
                station=r.station,
                lon=r.lon,
                lat=r.lat,
                line=r.line,
                tmax=r.tmax,
                rh_min=r.rh_min,
                rain=r.rain,
                wind_ms=r.wind_ms,
                wind_force=r.wind_force,
                dry_days=r.dry_days,
                dry_days_open=r.dry_days_open,
                htz=r.htz,
                level=r.level,
                scores=r.scores,
                fwi=FWIValues(**r.fwi),
                fwi_start=r.fwi_start,
                towns=used[(r.station, "town")],
                grids=used[(r.station, "grid")],
            )
            for r in rated
        ],
        stations_skipped=skipped,
        towns=sum(1 for v in values if v["unit_level"] == "town"),
        grids=sum(1 for v in values if v["unit_level"] == "grid"),
        unrated=int((~keep).sum()),
        replaced=replaced,
        max_distance_km=round(float(km[keep].max()), 3) if keep.any() else 0.0,
        town_levels=dict(sorted(Counter(int(v["level"]) for v in towns).items())),
        town_ratings=[_read_values(v) for v in towns],
        warnings=wind_warnings(weather, wind_unit)
        + windcheck.far_station_warnings(
            [(v["unit_code"], v["unit_name"], v["station"], v["distance_km"]) for v in towns], warn_km
        )
        + unused_station_warnings(rated, units, max_km),
        rh_clamped=weather.rh_clamped,
    )
    run.counts = summary.model_dump(mode="json", include={"towns", "grids", "unrated", "stations_skipped"})
    run.counts["stations"] = [s.station for s in summary.stations]
    if weather.rh_clamped:
        run.counts["rh_clamped"] = weather.rh_clamped
    session.flush()
    return summary


def unused_station_warnings(
    rated: list[st.StationRating], units: list[_Unit], max_km: float | None
) -> list[str]:
    """One warning per rated station farther than ``max_km`` (km, straight line) from every town and
    grid of ``units``, so that no unit took its rating (a wrong lon/lat, another province's station):
    ``station S is 1486 km from the nearest town or grid: not used (beyond --max-km 150)``. None
    when ``max_km`` is None (no limit) or there is no unit."""
    if max_km is None or not units or not rated:
        return []
    _, km = st.nearest_stations(
        [r.lon for r in rated], [r.lat for r in rated], [u.lon for u in units], [u.lat for u in units]
    )
    return [
        f"station {r.station} is {float(d):.0f} km from the nearest town or grid: not used "
        f"(beyond --max-km {max_km:g}; check its lon/lat)"
        for r, d in zip(rated, km, strict=True)
        if float(d) > max_km
    ]


def latest_rated_day(session: Session, actor: Actor) -> date | None:
    """The latest day with a rating in ``actor``'s scope (see :func:`_in_scope`), or None when there
    is none: what the fire page and ``zhizhi fire ratings`` show without a date. Needs ``fire.read``
    (Forbidden)."""
    require(actor, "fire.read")
    day: date | None = session.scalar(select(func.max(DangerRating.day)).where(_in_scope(actor)))
    return day


def _wind_columns(weather: st.DailyWeather, wind_unit: str) -> list[tuple[str, list[float]]]:
    """(column name as written, values in the file's unit) of ``wind_max`` and, if present, ``ws``."""
    per_kmh = WIND_UNITS[wind_unit]  # the file's unit → km/h
    columns = [("wind_max", [float(v) * 3.6 / per_kmh for s in weather.stations for v in s.wind_ms])]
    if weather.has_noon:
        columns.append(("ws", [float(v) / per_kmh for s in weather.stations for v in s.ws]))
    return [(weather.columns.get(name, name), values) for name, values in columns]


def implausible_wind(weather: st.DailyWeather, wind_unit: str) -> list[windcheck.ImplausibleMedian]:
    """The wind columns of a daily weather file read as m/s whose median is above 15 m/s (a km/h
    file?; windcheck.implausible_medians); ``[]`` for a file read as km/h."""
    return windcheck.implausible_medians(_wind_columns(weather, wind_unit), wind_unit)


def wind_warnings(weather: st.DailyWeather, wind_unit: str) -> list[str]:
    """The wind warnings of a daily weather file (windcheck.wind_warnings) over every row of its
    ``wind_max`` column and, when present, its noon ``ws`` column, in the unit it was read in."""
    where = [f"line {line} (station {s.station})" for s in weather.stations for line in s.lines]
    other = "--wind-unit km/h" if wind_unit == "m/s" else "--wind-unit m/s"
    out: list[str] = []
    for shown, values in _wind_columns(weather, wind_unit):
        out += windcheck.wind_warnings(values, where, column=shown, unit=wind_unit, other_option=other)
    return out


# --- reading ------------------------------------------------------------------------------------------


def level_label(level: int) -> str:
    """The label of danger level 1-5 (一级…五级) in the shipped policy."""
    return rules.default_policy().level(level).label


def _read_values(v: dict[str, Any]) -> DangerRatingRead:
    lv = rules.default_policy().level(int(v["level"]))
    return DangerRatingRead(
        date=v["day"],
        unit_code=v["unit_code"],
        unit_level=v["unit_level"],
        unit_name=v["unit_name"],
        district_code=v["district_code"],
        town_code=v["town_code"],
        level=lv.level,
        label=lv.label,
        name=lv.name,
        colour_name=lv.colour_name,
        colour=lv.colour,
        htz=v["htz"],
        scores=v["scores"],
        fwi=FWIValues(**{k: v[k] for k in FWI_NAMES}),
        fwi_level=v["fwi_level"],
        effis_class=v["effis_class"],
        station=v["station"],
        distance_km=v["distance_km"],
        computed_at=v["computed_at"],
        source_file=v["source_file"],
    )


def rating_read(row: DangerRating) -> DangerRatingRead:
    """A stored rating as its read model (with the level's label, name and colour)."""
    v = {c.name: getattr(row, c.name) for c in DangerRating.__table__.columns}
    return _read_values(v)


def _in_scope(actor: Actor) -> ColumnElement[bool]:
    """The rating rows ``actor`` may see: a district role its district; a town role its town and
    the town's grids; a grid role its grid and its town's row; a department (unit scope) its
    district (the ratings are weather information for every unit of the district)."""
    sc = scope_of(actor)
    if sc.kind == "town":
        return DangerRating.town_code == sc.code
    if sc.kind == "grid":
        own_town = and_(DangerRating.unit_level == "town", DangerRating.unit_code == actor.town_code)
        return (
            or_(DangerRating.unit_code == sc.code, own_town)
            if actor.town_code
            else (DangerRating.unit_code == sc.code)
        )
    return DangerRating.district_code == (sc.code if sc.kind == "district" else actor.district_code)


def list_ratings(
    session: Session, actor: Actor, day: date, level: str | None = None
) -> list[DangerRatingRead]:
    """The ratings of ``day`` in ``actor``'s scope (see :func:`_in_scope`), towns then grids, by code;
    ``level`` ``"town"`` or ``"grid"`` keeps one kind. Needs ``fire.read`` (Forbidden)."""
    require(actor, "fire.read")
    if level is not None and level not in UNIT_LEVELS:
        raise InvalidInput(
            f'level must be town or grid, got "{level}"', [FieldError("level", "town or grid")]
        )
    q = select(DangerRating).where(
        DangerRating.day == day,
        _in_scope(actor),
        DangerRating.unit_level == level if level else true(),
    )
    rows = session.scalars(q.order_by(DangerRating.unit_level.desc(), DangerRating.unit_code)).all()
    return [rating_read(r) for r in rows]


def danger_geojson(session: Session, actor: Actor, day: date) -> dict[str, Any]:
    """The towns rated on ``day`` in ``actor``'s scope as a GeoJSON FeatureCollection (RFC 7946,
    WGS-84 lon/lat) of their polygons, with the level, its label, name and colour as properties (for
    the map). Town boundaries are zhizhi's generated approximations where no surveyed boundary
    exists (``generated`` property). Needs ``fire.read``."""
    require(actor, "fire.read")
    q = (
        select(DangerRating, OrgUnit.geom, OrgUnit.generated)
        .join(OrgUnit, OrgUnit.code == DangerRating.unit_code)
        .where(DangerRating.day == day, DangerRating.unit_level == "town", _in_scope(actor))
        .order_by(DangerRating.unit_code)
    )
    features = []
    for row, geom, generated in session.execute(q).all():
        if geom is None:
            continue
        r = rating_read(row)
        props = r.model_dump(mode="json", exclude={"fwi", "scores"})
        props.update({"fwi": r.fwi.fwi, "generated": bool(generated)})
        features.append(
            {
                "type": "Feature",
                "id": r.unit_code,
                "geometry": mapping(shapely.from_wkb(geom)),
                "properties": props,
            }
        )
    return {"type": "FeatureCollection", "date": day.isoformat(), "features": features}


def last_run(session: Session, day: date) -> DangerRun | None:
    """The latest run that rated ``day``, or None."""
    return session.scalar(
        select(DangerRun).where(DangerRun.day == day).order_by(DangerRun.id.desc()).limit(1)
    )
