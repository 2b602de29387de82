"""Reading a daily station weather file (读取气象站逐日资料): columns, values, physical ranges, one
series per station with consecutive dates. The file layout is in the package docstring of
:mod:`zhizhi.scenarios.fire.station`."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
from numpy.typing import NDArray

from zhizhi.core.errors import FieldError, InvalidInput
from zhizhi.scenarios.fire import indices
from zhizhi.scenarios.fire.csvfields import missing_columns
from zhizhi.scenarios.fire.csvread import ColumnSpec, Layout, header_error, invalid, open_rows, read_rows
from zhizhi.scenarios.fire.weather import WIND_UNITS

REQUIRED = ("station", "lon", "lat", "date", "tmax", "rh_min", "rain", "wind_max")
NOON = ("temp", "rh", "ws")
OPTIONAL = ("prec", "green_cover", "snow_cover")
FWI_NAMES = indices.FWIComponents.NAMES

# The columns in the order a row is checked (numbers, then the date, then the station), with their
# physically possible ranges (inclusive) in the units used after reading (wind in km/h here).
LAYOUT = Layout(
    "station",
    (
        ColumnSpec("lon", ("long", "lng", "longitude"), unit="degrees", low=-180.0, high=180.0),
        ColumnSpec("lat", ("latitude",), unit="degrees", low=-90.0, high=90.0),
        ColumnSpec("tmax", unit="°C", low=-90.0, high=60.0),
        ColumnSpec("rh_min", unit="%", low=0.0, high=100.0, clamp_limit=101.0),
        ColumnSpec("rain", unit="mm", low=0.0, high=2000.0),
        ColumnSpec("wind_max", unit="km/h", low=0.0, high=400.0, wind=True),
        # a missing noon value: no FWI from this day on
        ColumnSpec("temp", required=False, unit="°C", low=-90.0, high=60.0, blank_ok=True),
        ColumnSpec("rh", required=False, unit="%", low=0.0, high=100.0, blank_ok=True, clamp_limit=101.0),
        ColumnSpec("ws", required=False, unit="km/h", low=0.0, high=400.0, blank_ok=True, wind=True),
        ColumnSpec("prec", required=False, unit="mm", low=0.0, high=2000.0, blank_ok=True),
        ColumnSpec("green_cover", required=False, unit="%", low=0.0, high=100.0),
        ColumnSpec("snow_cover", required=False, unit="%", low=0.0, high=100.0),
        ColumnSpec("date", kind="date"),
        ColumnSpec("station", ("id",), kind="text", missing="missing station identifier"),
    ),
)
ALIASES = LAYOUT.aliases
LIMITS: dict[str, tuple[float, float, str]] = LAYOUT.limits


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
    rh_clamped: int = 0
    """RH values (rh_min, rh) in (100, 101] read as 100 (``clamp_rh``)"""

    @property
    def first_date(self) -> date:
        return min(s.dates[0] for s in self.stations)

    @property
    def last_date(self) -> date:
        return max(s.dates[-1] for s in self.stations)


def _columns(source: str, header: list[str]) -> dict[str, int]:
    """Canonical column name → index; InvalidInput for a repeated, missing or half-given column."""
    col: dict[str, int] = {}
    for i, raw in enumerate(header):
        name = raw.strip().lower()
        name = ALIASES.get(name, name)
        if not name:
            continue
        if name in col:
            raise header_error(source, f'column "{name}" appears twice (or under two names)', name)
        col[name] = i
    known = {*REQUIRED, *NOON, *OPTIONAL}
    missing = [n for n in REQUIRED if n not in col]
    if missing and "date" not in col and {"yr", "mon", "day"} <= col.keys():
        raise header_error(
            source,
            "this is the FWI weather layout of `zhizhi fire fwi` (long,lat,yr,mon,day,temp,rh,ws,prec); "
            "the danger rating expects daily station weather: "
            "station,lon,lat,date,tmax,rh_min,rain,wind_max[,temp,rh,ws[,prec]][,green_cover][,snow_cover]",
            missing[0],
        )
    if missing:
        unknown = [header[i].strip() for n, i in col.items() if n not in known]
        raise header_error(source, missing_columns(missing, unknown), missing[0])
    noon = [c for c in NOON if c in col]
    if noon and len(noon) != len(NOON):
        lack = next(c for c in NOON if c not in col)
        raise header_error(
            source, f'noon columns temp, rh, ws go together: "{lack}" is missing (or drop all three)', lack
        )
    if "prec" in col and not noon:
        raise header_error(
            source, 'column "prec" (24 h rain to noon, for the FWI) needs temp, rh, ws', "prec"
        )
    return col


def parse_daily_weather(
    text: str, source: str = "<input>", *, wind_unit: str = "m/s", clamp_rh: bool = False
) -> DailyWeather:
    """Parse and check daily station weather CSV text (layout and limits: the package docstring).

    Parameters
    ----------
    text : the file's content. source : the file name used in messages.
    wind_unit : ``"m/s"`` (default, Chinese station data) or ``"km/h"``; applies to ``wind_max``
        and ``ws``.
    clamp_rh : take ``rh_min`` and ``rh`` values in (100, 101] % as 100 (sensor rounding), counted
        in :attr:`DailyWeather.rh_clamped`; without it they are refused (naming ``--clamp-rh``).

    Returns
    -------
    :class:`DailyWeather`, stations sorted by identifier, each in date order.

    Raises
    ------
    ValueError for an unknown ``wind_unit``. InvalidInput naming the file, line, column and reason
    (``errors`` lists every bad value of the file) — see the package docstring.
    """
    if wind_unit not in WIND_UNITS:
        raise ValueError(f'wind unit must be one of {", ".join(WIND_UNITS)}, got "{wind_unit}"')
    factor = WIND_UNITS[wind_unit]
    reader, header, _ = open_rows(text, source)
    col = _columns(source, header)
    shown = {name: header[i].strip() for name, i in col.items()}
    has_noon = "temp" in col
    read = read_rows(reader, header, col, LAYOUT, source, wind_factor=factor, clamp=clamp_rh)
    rows: dict[str, list[tuple[int, date, dict[str, float]]]] = {}
    for r in read.rows:
        rows.setdefault(r.texts["station"], []).append((r.line, r.dates["date"], r.numbers))
    if not rows:
        raise InvalidInput(
            f"{source}: no data rows after the header", errors=[FieldError("file", "no data rows")]
        )
    stations = [_series(source, s, rows[s], shown, factor) for s in sorted(rows)]
    return DailyWeather(source, has_noon, stations, shown, read.clamped)


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
            raise invalid(
                source, [FieldError("date", f"{who}: date {db.isoformat()} also on line {la}", line=lb)]
            )
        if db - da != timedelta(days=1):
            first, last = da + timedelta(days=1), db - timedelta(days=1)
            missing = first.isoformat() if first == last else f"{first.isoformat()} to {last.isoformat()}"
            reason = f"{who}: no row for {missing} (between line {la} and this line); every day is needed"
            raise invalid(source, [FieldError("date", reason, line=lb)])
    line0, _, first_vals = rows[0]
    for name in ("lon", "lat"):
        for line, _, vals in rows:
            if vals[name] != first_vals[name]:
                reason = (
                    f"{who}: {shown[name]} changes from {first_vals[name]:g} (line {line0}) to "
                    f"{vals[name]:g}; a station keeps its position"
                )
                raise invalid(source, [FieldError(shown[name], reason, line=line, column=shown[name])])

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
