"""Rating one day (逐日评级) from a station's series: the Chinese HTZ level and, with noon data, the
Canadian FWI System chained from carried codes; and the nearest station of each point."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from zhizhi.core.errors import FieldError, InvalidInput
from zhizhi.scenarios.fire import indices, rules
from zhizhi.scenarios.fire.hotspots import haversine_km
from zhizhi.scenarios.fire.station.read import FWI_NAMES, DailyWeather, StationSeries


@dataclass(frozen=True)
class Carry:
    """What a station carries into the file from a stored earlier rating: the day before its first
    row (``day``), the consecutive dry days counted to then, and the FWI codes of that day (None
    when that day had no FWI)."""

    day: date
    dry_days: int
    ffmc: float | None = None
    dmc: float | None = None
    dc: float | None = None


@dataclass
class StationRating:
    """A station's rating for one day: the day's inputs (``wind_ms`` m/s, ``wind_force`` Beaufort),
    consecutive dry days, the HTZ factor scores (before their sign), HTZ and its level 1-5, and the
    FWI System components (None without noon data), their 5-level scale and EFFIS class.

    ``dry_days_open``: True when every day from the first row was dry and nothing was carried in, so
    the true count may be larger (the file starts inside the dry spell). ``fwi_start`` says where
    the FWI chain started: ``"startup"`` (85 / 6 / 15) or ``"stored YYYY-MM-DD"``."""

    station: str
    lon: float
    lat: float
    day: date
    line: int
    tmax: float
    rh_min: float
    rain: float
    wind_ms: float
    wind_force: int
    dry_days: int
    dry_days_open: bool
    green_cover: float
    snow_cover: float
    scores: dict[str, float]
    htz: float
    level: int
    fwi: dict[str, float | None]
    fwi_start: str | None
    fwi_level: int | None
    effis_class: int | None


def _opt(v: float) -> float | None:
    return None if math.isnan(v) else float(v)


def rate_station(
    s: StationSeries,
    day: date,
    carry: Carry | None = None,
    *,
    has_noon: bool = True,
    lat_adjust: bool = True,
    policy: rules.DangerPolicy | None = None,
    source: str = "<input>",
) -> StationRating:
    """Rate station ``s`` on ``day`` (which must be one of its dates) from its days up to ``day``.

    Consecutive dry days (连续无降水日数, :func:`rules.consecutive_dry_days`) count from the first
    row, continuing ``carry.dry_days`` when the stored rating of the day before the first row is
    given. The Chinese HTZ (:func:`rules.rate_htz`) rates the day. With noon data the FWI System
    (:func:`indices.fwi_series`) is chained over the rows from ``carry``'s codes, else from the
    start-up codes 85 / 6 / 15, at the station's latitude (day-length bands, ``lat_adjust``).

    Raises ValueError if ``day`` is not a date of the station; InvalidInput naming ``source``, the
    line and the value if the policy refuses an input (its factor ranges).
    """
    pol = policy or rules.default_policy()
    if day not in s.dates:
        raise ValueError(f'station "{s.station}" has no row for {day.isoformat()}')
    i = s.dates.index(day)
    upto = slice(0, i + 1)
    before = carry.dry_days if carry is not None else 0
    dry = int(rules.consecutive_dry_days(s.rain[upto], before=before, policy=pol)[-1])
    try:
        r = rules.rate_htz(
            s.tmax[i],
            s.rh_min[i],
            s.rain[i],
            dry,
            wind_ms=s.wind_ms[i],
            green_cover=s.green_cover[i],
            snow_cover=s.snow_cover[i],
            policy=pol,
        )
    except ValueError as e:
        reason = f'station "{s.station}" on {day.isoformat()}: {e}'
        raise InvalidInput(
            f"{source}: line {s.lines[i]}: {reason}", [FieldError("row", reason, line=s.lines[i])]
        ) from None
    fwi: dict[str, float | None] = dict.fromkeys(FWI_NAMES)
    start: str | None = None
    if has_noon:
        stored = carry is not None and None not in (carry.ffmc, carry.dmc, carry.dc)
        codes: dict[str, Any] = (
            {"ffmc0": carry.ffmc, "dmc0": carry.dmc, "dc0": carry.dc} if stored and carry is not None else {}
        )
        res = indices.fwi_series(
            s.temp[upto],
            s.rh[upto],
            s.ws[upto],
            s.prec[upto],
            np.array([d.month for d in s.dates[upto]]),
            s.lat,
            lat_adjust=lat_adjust,
            **codes,
        )
        fwi = {k: _opt(float(v[-1])) for k, v in res.as_dict().items()}
        start = f"stored {carry.day.isoformat()}" if stored and carry is not None else "startup"
    f = fwi["fwi"]
    return StationRating(
        station=s.station,
        lon=s.lon,
        lat=s.lat,
        day=day,
        line=s.lines[i],
        tmax=float(s.tmax[i]),
        rh_min=float(s.rh_min[i]),
        rain=float(s.rain[i]),
        wind_ms=float(s.wind_ms[i]),
        wind_force=int(rules.beaufort_force(s.wind_ms[i], pol)),
        dry_days=dry,
        dry_days_open=carry is None and dry == i + 1,
        green_cover=float(s.green_cover[i]),
        snow_cover=float(s.snow_cover[i]),
        scores={k: float(v) for k, v in r.scores.items()},
        htz=float(r.htz),
        level=int(r.level),
        fwi=fwi,
        fwi_start=start,
        fwi_level=None if f is None else int(rules.fwi_level(f, pol)),
        effis_class=None if f is None else int(rules.effis_class(f, pol)),
    )


def rate_day(
    weather: DailyWeather,
    day: date,
    carry: Mapping[str, Carry] | None = None,
    *,
    lat_adjust: bool = True,
    policy: rules.DangerPolicy | None = None,
) -> tuple[list[StationRating], list[str]]:
    """Rate every station of ``weather`` that has a row for ``day`` (:func:`rate_station`; rows after
    ``day`` are not used). ``carry``: per station, what a stored earlier rating carries in.

    Returns the ratings (in station order) and the identifiers of the stations without a row for
    ``day`` (not rated)."""
    rated, skipped = [], []
    for s in weather.stations:
        if day in s.dates:
            c = (carry or {}).get(s.station)
            rated.append(
                rate_station(
                    s,
                    day,
                    c,
                    has_noon=weather.has_noon,
                    lat_adjust=lat_adjust,
                    policy=policy,
                    source=weather.source,
                )
            )
        else:
            skipped.append(s.station)
    return rated, skipped


def nearest_stations(
    lon: ArrayLike, lat: ArrayLike, st_lon: ArrayLike, st_lat: ArrayLike, *, block: int = 4096
) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    """The nearest station (最近站点) of each point, by straight-line (great-circle) distance.

    lon, lat : (m,) WGS-84 degrees of the points (e.g. town or grid centroids).
    st_lon, st_lat : (k,) WGS-84 degrees of the stations, k >= 1.

    Returns the index of the nearest station (m,) — the first one on a tie — and the distance to it,
    km (m,), on the sphere of mean radius 6371.0088 km (:func:`hotspots.haversine_km`; within 0.5 %
    of the WGS-84 geodesic). Terrain, elevation and roads are not considered. Raises ValueError
    without stations.
    """
    x, y = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    sx, sy = np.asarray(st_lon, dtype=np.float64), np.asarray(st_lat, dtype=np.float64)
    if sx.size == 0:
        raise ValueError("no station to choose from")
    idx = np.empty(x.shape[0], dtype=np.intp)
    km = np.empty(x.shape[0], dtype=np.float64)
    for a in range(0, x.shape[0], block):
        d = haversine_km(x[a : a + block, None], y[a : a + block, None], sx[None, :], sy[None, :])
        j = np.argmin(d, axis=1)
        idx[a : a + block] = j
        km[a : a + block] = d[np.arange(d.shape[0]), j]
    return idx, km
