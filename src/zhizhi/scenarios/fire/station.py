"""Daily station weather for the fire danger rating (气象站逐日资料): reading, checking, rating a day.

Pure functions over plain values and numpy arrays; no database. The service
(``service/danger.py``) stores the ratings and assigns towns and grids to their nearest station.

File layout (CSV; column names in any letter case and order; extra columns ignored)::

    station,lon,lat,date,tmax,rh_min,rain,wind_max[,temp,rh,ws[,prec]][,green_cover][,snow_cover]

* ``station`` (or ``id``): the station identifier (气象站号), text; ``lon``/``lat`` (or ``long``,
  ``longitude``/``latitude``): its position, WGS-84 degrees, the same on every row of the station;
* ``date``: ``YYYY-MM-DD`` (or ``YYYY/MM/DD``), the station's dates consecutive, one row a day;
* the inputs of the Chinese method (森林火险气象等级): ``tmax`` daily maximum air temperature, °C;
  ``rh_min`` daily minimum relative humidity, %; ``rain`` the day's rain, mm; ``wind_max`` daily
  maximum 10 m wind speed (m/s, or km/h with ``wind_unit="km/h"``);
* optional, for the Canadian FWI: the noon observations ``temp`` °C, ``rh`` %, ``ws`` (same wind
  unit) — all three or none — and ``prec``, the 24 h rain to noon, mm (without it the day's
  ``rain`` stands in). An empty noon cell is allowed: the FWI of that station is then missing
  (NaN) from that day on, as the codes are daily bookkeeping;
* optional phenology: ``green_cover`` and ``snow_cover``, % of the area (物候订正 E; 0 without them).

Refused, naming the file, the line and the column: an empty file, a missing or repeated column,
a wrong number of fields, an empty or non-numeric value, an invalid date, values outside their
physical range (rh outside 0-100, negative rain or wind, temperature outside -90…60 °C, wind above
400 km/h, rain above 2000 mm, lon/lat outside ±180/±90, cover outside 0-100 %), a station whose
position changes, a duplicate date or a gap in a station's dates.
"""

from __future__ import annotations

import csv
import difflib
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from zhizhi.core.errors import FieldError, InvalidInput
from zhizhi.scenarios.fire import indices, rules
from zhizhi.scenarios.fire.hotspots import haversine_km
from zhizhi.scenarios.fire.weather import WIND_UNITS

REQUIRED = ("station", "lon", "lat", "date", "tmax", "rh_min", "rain", "wind_max")
NOON = ("temp", "rh", "ws")
OPTIONAL = ("prec", "green_cover", "snow_cover")
ALIASES = {"id": "station", "long": "lon", "lng": "lon", "longitude": "lon", "latitude": "lat"}
FWI_NAMES = indices.FWIComponents.NAMES

# Physically possible ranges (inclusive) in the units used after reading (wind in km/h here).
LIMITS: dict[str, tuple[float, float, str]] = {
    "lon": (-180.0, 180.0, "degrees"),
    "lat": (-90.0, 90.0, "degrees"),
    "tmax": (-90.0, 60.0, "°C"),
    "rh_min": (0.0, 100.0, "%"),
    "rain": (0.0, 2000.0, "mm"),
    "wind_max": (0.0, 400.0, "km/h"),
    "temp": (-90.0, 60.0, "°C"),
    "rh": (0.0, 100.0, "%"),
    "ws": (0.0, 400.0, "km/h"),
    "prec": (0.0, 2000.0, "mm"),
    "green_cover": (0.0, 100.0, "%"),
    "snow_cover": (0.0, 100.0, "%"),
}


@dataclass
class StationSeries:
    """One station's days in date order (consecutive). Arrays have one value a day: ``wind_ms`` in
    m/s (daily maximum), ``ws`` in km/h (noon), NaN where a noon value is absent; ``lines`` are the
    file's 1-based line numbers (the header is line 1)."""

    station: str
    lon: float
    lat: float
    dates: list[date]
    lines: list[int]
    tmax: NDArray[np.float64]
    rh_min: NDArray[np.float64]
    rain: NDArray[np.float64]
    wind_ms: NDArray[np.float64]
    temp: NDArray[np.float64]
    rh: NDArray[np.float64]
    ws: NDArray[np.float64]
    prec: NDArray[np.float64]
    green_cover: NDArray[np.float64]
    snow_cover: NDArray[np.float64]


@dataclass
class DailyWeather:
    """A checked daily weather file: its stations (sorted by identifier) and whether it has the noon
    columns the FWI needs."""

    source: str
    has_noon: bool
    stations: list[StationSeries]
    columns: dict[str, str] = field(default_factory=dict)
    """canonical column name → the header as written (for messages)"""

    @property
    def first_date(self) -> date:
        return min(s.dates[0] for s in self.stations)

    @property
    def last_date(self) -> date:
        return max(s.dates[-1] for s in self.stations)


def _invalid(source: str, errors: list[FieldError]) -> InvalidInput:
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return InvalidInput(f"{source}: {errors[0]}{more}", errors=errors)


def _header_error(source: str, reason: str, column: str | None = None) -> InvalidInput:
    return InvalidInput(
        f"{source}: line 1: {reason}", errors=[FieldError(column or "header", reason, line=1)]
    )


def _parse_date(text: str) -> date | None:
    parts = text.strip().replace("/", "-").split("-")
    if len(parts) != 3 or not all(p.isdigit() for p in parts) or len(parts[0]) != 4:
        return None
    try:
        return date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError:
        return None


def _columns(source: str, header: list[str]) -> dict[str, int]:
    """Canonical column name → index; InvalidInput for a repeated, missing or half-given column."""
    col: dict[str, int] = {}
    for i, raw in enumerate(header):
        name = raw.strip().lower()
        name = ALIASES.get(name, name)
        if not name:
            continue
        if name in col:
            raise _header_error(source, f'column "{name}" appears twice (or under two names)', name)
        col[name] = i
    known = {*REQUIRED, *NOON, *OPTIONAL}
    others = [n for n in col if n not in known]
    for need in REQUIRED:
        if need not in col:
            close = difflib.get_close_matches(need, others, n=1)
            hint = f' (is "{header[col[close[0]]].strip()}" a misspelling?)' if close else ""
            raise _header_error(source, f'missing column "{need}"{hint}', need)
    noon = [c for c in NOON if c in col]
    if noon and len(noon) != len(NOON):
        lack = next(c for c in NOON if c not in col)
        raise _header_error(
            source, f'noon columns temp, rh, ws go together: "{lack}" is missing (or drop all three)', lack
        )
    if "prec" in col and not noon:
        raise _header_error(
            source, 'column "prec" (24 h rain to noon, for the FWI) needs temp, rh, ws', "prec"
        )
    return col


def parse_daily_weather(text: str, source: str = "<input>", *, wind_unit: str = "m/s") -> DailyWeather:
    """Parse and check daily station weather CSV text (layout and limits: the module docstring).

    Parameters
    ----------
    text : the file's content. source : the file name used in messages.
    wind_unit : ``"m/s"`` (default, Chinese station data) or ``"km/h"``; applies to ``wind_max``
        and ``ws``.

    Returns
    -------
    :class:`DailyWeather`, stations sorted by identifier, each in date order.

    Raises
    ------
    ValueError for an unknown ``wind_unit``. InvalidInput naming the file, line, column and reason
    (``errors`` lists every bad value of the file) — see the module docstring.
    """
    if wind_unit not in WIND_UNITS:
        raise ValueError(f'wind unit must be one of {", ".join(WIND_UNITS)}, got "{wind_unit}"')
    factor = WIND_UNITS[wind_unit]
    reader = csv.reader(io.StringIO(text))
    header = next((cells for cells in reader if any(c.strip() for c in cells)), None)
    if header is None:
        raise InvalidInput(
            f"{source}: empty file (no header line)", errors=[FieldError("file", "empty file")]
        )
    col = _columns(source, header)
    shown = {name: header[i].strip() for name, i in col.items()}
    has_noon = "temp" in col
    numeric = [c for c in LIMITS if c in col]
    errors: list[FieldError] = []
    rows: dict[str, list[tuple[int, date, dict[str, float]]]] = {}

    def bad(line: int, name: str, value: str, reason: str) -> None:
        errors.append(FieldError(shown[name], reason, line=line, column=shown[name], value=value))

    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            errors.append(FieldError("row", f"{len(cells)} fields, the header has {len(header)}", line=line))
            continue
        got: dict[str, float] = {}
        ok = True
        for c in numeric:
            raw = cells[col[c]].strip()
            if raw == "" or raw.upper() in ("NA", "NAN"):
                if c in NOON or c == "prec":
                    got[c] = math.nan  # a missing noon value: no FWI from this day on
                    continue
                bad(line, c, raw, "missing value")
                ok = False
                continue
            try:
                v = float(raw)
            except ValueError:
                v = math.nan
            if not math.isfinite(v):
                bad(line, c, raw, f'"{raw}" is not a number')
                ok = False
                continue
            wind = c in ("wind_max", "ws")
            kmh = v * factor if wind else v
            lo, hi, unit = LIMITS[c]
            if not lo <= kmh <= hi:
                extra = f" ({kmh:g} km/h)" if wind and factor != 1.0 else ""
                bad(line, c, raw, f"{raw}{extra} is outside {lo:g} to {hi:g} {unit}")
                ok = False
                continue
            got[c] = v
        d = _parse_date(cells[col["date"]])
        if d is None:
            raw = cells[col["date"]].strip()
            bad(line, "date", raw, f'"{raw}" is not a date (YYYY-MM-DD)')
            ok = False
        station = cells[col["station"]].strip()
        if not station:
            bad(line, "station", "", "missing station identifier")
            ok = False
        if ok and d is not None:
            rows.setdefault(station, []).append((line, d, got))
    if errors:
        raise _invalid(source, errors)
    if not rows:
        raise InvalidInput(
            f"{source}: no data rows after the header", errors=[FieldError("file", "no data rows")]
        )
    stations = [_series(source, s, rows[s], shown, factor) for s in sorted(rows)]
    return DailyWeather(source, has_noon, stations, shown)


def _series(
    source: str,
    station: str,
    rows: list[tuple[int, date, dict[str, float]]],
    shown: dict[str, str],
    kmh_factor: float,
) -> StationSeries:
    rows = sorted(rows, key=lambda r: r[1])
    who = f'station "{station}"'
    for (la, da, _), (lb, db, _) in zip(rows, rows[1:], strict=False):
        if da == db:
            raise _invalid(
                source, [FieldError("date", f"{who}: date {db.isoformat()} also on line {la}", line=lb)]
            )
        if db - da != timedelta(days=1):
            first, last = da + timedelta(days=1), db - timedelta(days=1)
            missing = first.isoformat() if first == last else f"{first.isoformat()} to {last.isoformat()}"
            reason = f"{who}: no row for {missing} (between line {la} and this line); every day is needed"
            raise _invalid(source, [FieldError("date", reason, line=lb)])
    line0, _, first_vals = rows[0]
    for name in ("lon", "lat"):
        for line, _, vals in rows:
            if vals[name] != first_vals[name]:
                reason = (
                    f"{who}: {shown[name]} changes from {first_vals[name]:g} (line {line0}) to "
                    f"{vals[name]:g}; a station keeps its position"
                )
                raise _invalid(source, [FieldError(shown[name], reason, line=line, column=shown[name])])

    def arr(name: str, default: float = math.nan) -> NDArray[np.float64]:
        return np.array([vals.get(name, default) for _, _, vals in rows], dtype=np.float64)

    rain = arr("rain")
    return StationSeries(
        station=station,
        lon=first_vals["lon"],
        lat=first_vals["lat"],
        dates=[d for _, d, _ in rows],
        lines=[line for line, _, _ in rows],
        tmax=arr("tmax"),
        rh_min=arr("rh_min"),
        rain=rain,
        # m/s as written, or km/h / 3.6 rounded to 1e-6 m/s (so 19.44 km/h is 5.4 m/s, not 5.3999…)
        wind_ms=arr("wind_max") if kmh_factor != 1.0 else np.round(arr("wind_max") / 3.6, 6),
        temp=arr("temp"),
        rh=arr("rh"),
        ws=arr("ws") * kmh_factor,
        prec=arr("prec") if "prec" in shown else rain.copy(),
        green_cover=arr("green_cover", 0.0),
        snow_cover=arr("snow_cover", 0.0),
    )


# --- rating one day ----------------------------------------------------------------------------------


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
