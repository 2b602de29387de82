"""Weather CSV input for the Fire Weather Index (FWI 气象输入): reading, checking, chaining by station.

Two layouts are read (column names in any letter case, any column order, extra columns kept):

* **cffdrs** — ``long,lat,yr,mon,day,temp,rh,ws,prec`` as ``cffdrs::fwi`` takes it (``long`` and
  ``lat`` optional, ``id`` optional as the station);
* **date** — ``date,temp,rh,ws,prec[,lat][,station]``, ``date`` as ``YYYY-MM-DD``
  (other forms such as ``2026/08/13`` or ``2026-8-13`` are refused, naming the line).

Values are noon observations: ``temp`` °C, ``rh`` %, ``ws`` 10 m wind (km/h, or m/s converted with
``wind_unit="m/s"``), ``prec`` 24 h rain, mm. A ``station`` (or ``id``) column chains each station
separately, in date order; without one the whole file is one station. Each station's dates must be
consecutive days without duplicates (the moisture codes are daily bookkeeping).

Unlike the science functions, which follow cffdrs on any number, this reader refuses physically
impossible or missing values (rh outside 0-100, negative rain or wind, temperature outside
-90…60 °C, wind above 400 km/h, rain above 2000 mm in a day, latitude outside ±90, an empty cell):
a number from an invalid day would silently poison every later day. rh = 100 is accepted (cffdrs
computes it as 99.9999); with ``clamp_rh`` an rh in (100, 101] (a sensor's rounding) is read as 100
and counted (``WeatherTable.rh_clamped``). The rows are read by the shared
:mod:`zhizhi.scenarios.fire.csvread`, as the station file of ``zhizhi fire danger`` is.
Files are read as UTF-8 (with or without BOM), else GB18030.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TextIO

import numpy as np

from zhizhi.core.errors import FieldError, InvalidInput
from zhizhi.scenarios.fire import indices
from zhizhi.scenarios.fire.csvfields import date_problem as date_problem  # re-exported
from zhizhi.scenarios.fire.csvfields import missing_columns
from zhizhi.scenarios.fire.csvfields import parse_iso_date as parse_iso_date  # re-exported
from zhizhi.scenarios.fire.csvread import (
    ColumnSpec,
    Layout,
    Row,
    decode_text,
    header_error,
    invalid,
    open_rows,
    read_rows,
)

WIND_UNITS = {"km/h": 1.0, "m/s": 3.6}
"""Accepted wind units and their factor to km/h."""

CFFDRS_COLUMNS = ("yr", "mon", "day", "temp", "rh", "ws", "prec")
DATE_COLUMNS = ("date", "temp", "rh", "ws", "prec")
STATION_COLUMNS = ("station", "id")
OUTPUT_COLUMNS = indices.FWIComponents.NAMES


def _specs(first: tuple[ColumnSpec, ...]) -> tuple[ColumnSpec, ...]:
    """The columns of a layout: ``first`` (the date columns), then the values, then the station."""
    return (
        *first,
        ColumnSpec("temp", unit="°C", low=-90.0, high=60.0),
        ColumnSpec("rh", unit="%", low=0.0, high=100.0, clamp_limit=101.0),
        ColumnSpec("ws", unit="km/h", low=0.0, high=400.0, wind=True),
        ColumnSpec("prec", unit="mm", low=0.0, high=2000.0),
        ColumnSpec("lat", required=False, unit="degrees", low=-90.0, high=90.0),
        ColumnSpec("long", required=False, unit="degrees", low=-180.0, high=360.0),
        ColumnSpec("station", ("id",), required=False, kind="text", blank_ok=True),
    )


LAYOUTS = {
    "cffdrs": Layout(
        "cffdrs", _specs(tuple(ColumnSpec(c) for c in ("yr", "mon", "day"))), ranges_after_reading=True
    ),
    "date": Layout("date", _specs((ColumnSpec("date", kind="date"),)), ranges_after_reading=True),
}
"""The two layouts, their columns in the order a row is checked (yr/mon/day are numbers without a
range; the date of a cffdrs row is checked once they are read)."""

# Physically possible ranges (inclusive) of the values, in the units used by the FWI System.
LIMITS: dict[str, tuple[float, float, str]] = LAYOUTS["date"].limits


@dataclass
class WeatherTable:
    """A checked weather file: the raw rows (for output) and the values, one entry per data row.

    ``lines`` are 1-based line numbers in the file (the header is line 1); ``ws`` is in km/h;
    ``lat`` is NaN where the file has no latitude.
    """

    source: str
    layout: str
    header: list[str]
    rows: list[list[str]]
    lines: list[int]
    dates: list[date]
    station: list[str]
    temp: np.ndarray
    rh: np.ndarray
    ws: np.ndarray
    prec: np.ndarray
    lat: np.ndarray
    columns: dict[str, int] = field(default_factory=dict)
    rh_clamped: int = 0
    """rh values in (100, 101] read as 100 (``clamp_rh``)."""


def _layout(source: str, names: list[str]) -> str:
    """``"cffdrs"`` or ``"date"`` from the lower-case header; InvalidInput naming what is missing."""
    have = set(names)
    need: tuple[str, ...]
    if "date" in have:
        layout, need = "date", DATE_COLUMNS
    elif {"yr", "mon", "day"} & have:
        layout, need = "cffdrs", CFFDRS_COLUMNS
    else:
        raise header_error(
            source,
            f"unknown layout: columns {', '.join(names) or '(none)'}; expected "
            f"date,temp,rh,ws,prec[,lat][,station] or long,lat,yr,mon,day,temp,rh,ws,prec",
        )
    missing = [c for c in need if c not in have]
    if missing:
        known = {*DATE_COLUMNS, *CFFDRS_COLUMNS, *STATION_COLUMNS, "lat", "long"}
        unknown = [n for n in names if n and n not in known]
        raise header_error(source, missing_columns(missing, unknown, f" for the {layout} layout"), missing[0])
    return layout


def parse_weather(
    text: str, source: str = "<input>", *, wind_unit: str = "km/h", clamp_rh: bool = False
) -> WeatherTable:
    """Parse and check weather CSV text (see the module docstring for the layouts and limits).

    Parameters
    ----------
    text : the file's content.
    source : the file name used in messages.
    wind_unit : ``"km/h"`` (default) or ``"m/s"`` (multiplied by 3.6).
    clamp_rh : take ``rh`` values in (100, 101] % as 100 (sensor rounding), counted in
        :attr:`WeatherTable.rh_clamped`; without it they are refused (naming ``--clamp-rh``).

    Returns
    -------
    :class:`WeatherTable`, rows in file order.

    Raises
    ------
    ValueError for an unknown ``wind_unit``. InvalidInput (a ValueError is not raised for the file)
    for an empty file, an unknown layout, a missing column, a row with a wrong number of fields, or
    a value that is not a number, missing or outside its physical range; the message names the file,
    the line (1-based, the header is line 1), the column and the reason, and ``errors`` lists every
    bad value. Station order problems (gap, duplicate date) are found by :func:`station_runs`.
    """
    if wind_unit not in WIND_UNITS:
        raise ValueError(f'wind unit must be one of {", ".join(WIND_UNITS)}, got "{wind_unit}"')
    first_line = text.split("\n", 1)[0]
    delim = (
        ","
        if "," in first_line or not any(c in first_line for c in ";\t")
        else (";" if ";" in first_line else "\t")
    )
    reader, header, header_line = open_rows(text, source, delim)
    names = [h.strip().lower() for h in header]
    dup = sorted({n for n in names if n and names.count(n) > 1})
    if dup:
        raise header_error(source, f'column "{dup[0]}" appears twice', dup[0])
    clash = [c for c in OUTPUT_COLUMNS if c in names]
    if clash:
        raise header_error(source, f'the input already has an output column "{clash[0]}"', clash[0])
    layout = _layout(source, names)
    col = {n: i for i, n in enumerate(names) if n}
    station_col = next((c for c in STATION_COLUMNS if c in col), None)
    factor = WIND_UNITS[wind_unit]
    day_name = header[col["day"]].strip() if layout == "cffdrs" else ""

    def cffdrs_date(row: Row) -> FieldError | None:
        got = row.numbers
        try:
            row.dates["date"] = date(int(got["yr"]), int(got["mon"]), int(got["day"]))
            if any(got[k] != int(got[k]) for k in ("yr", "mon", "day")):
                raise ValueError
        except (ValueError, OverflowError):
            text_d = "-".join(row.cells[col[k]].strip() for k in ("yr", "mon", "day"))
            reason = f"{text_d} (yr-mon-day) is not a date"
            return FieldError(day_name, reason, line=row.line, column=day_name, value=text_d)
        return None

    read_col = {n: i for n, i in col.items() if n not in STATION_COLUMNS}
    if station_col:
        read_col["station"] = col[station_col]
    read = read_rows(
        reader,
        header,
        read_col,
        LAYOUTS[layout],
        source,
        wind_factor=factor,
        clamp=clamp_rh,
        check=cffdrs_date if layout == "cffdrs" else None,
    )
    rows = read.rows
    if not rows:
        raise InvalidInput(
            f"{source}: no data rows after the header (line {header_line})",
            errors=[FieldError("file", "no data rows")],
        )

    def values(name: str) -> np.ndarray:
        return np.array([r.numbers.get(name, math.nan) for r in rows])

    return WeatherTable(
        source=source,
        layout=layout,
        header=header,
        rows=[r.cells for r in rows],
        lines=[r.line for r in rows],
        dates=[r.dates["date"] for r in rows],
        station=[r.texts.get("station", "") for r in rows],
        temp=values("temp"),
        rh=values("rh"),
        ws=values("ws") * factor,
        prec=values("prec"),
        lat=values("lat"),
        columns=col,
        rh_clamped=read.clamped,
    )


def read_weather_csv(path: str | Path, *, wind_unit: str = "km/h", clamp_rh: bool = False) -> WeatherTable:
    """Read and check a weather CSV file (:func:`parse_weather`); OSError if it cannot be read."""
    p = Path(path)
    text = decode_text(p.read_bytes(), str(path))
    return parse_weather(text, str(path), wind_unit=wind_unit, clamp_rh=clamp_rh)


@dataclass(frozen=True)
class StationRun:
    """One station's rows in date order: ``index`` into the table's rows, first date, latitude."""

    station: str
    index: np.ndarray
    start: date
    lat: float


def station_runs(table: WeatherTable, *, lat: float | None = None, need_lat: bool = True) -> list[StationRun]:
    """Group the rows by station, in date order, and check each is a run of consecutive days.

    Parameters
    ----------
    table : a :class:`WeatherTable`.
    lat : latitude (degrees north) for stations whose rows have none (the file has no lat column).
    need_lat : if True, a station without a latitude (neither in the file nor ``lat``) is an error.

    Returns
    -------
    list of :class:`StationRun`, in the order stations first appear.

    Raises
    ------
    InvalidInput naming the file, lines and station for a duplicate date, a gap in the dates, a
    latitude that changes within a station, or a missing latitude.
    """
    src = table.source
    groups: dict[str, list[int]] = {}
    for i, s in enumerate(table.station):
        groups.setdefault(s, []).append(i)
    runs: list[StationRun] = []
    lat_name = table.header[table.columns["lat"]].strip() if "lat" in table.columns else "lat"
    for s, idx in groups.items():
        who = f'station "{s}"' if s else "the file (one station: no station column)"
        order = sorted(idx, key=lambda i: table.dates[i])
        for a, b in zip(order, order[1:], strict=False):
            da, db = table.dates[a], table.dates[b]
            if da == db:
                hint = "" if s else "; add a station column to chain several stations"
                reason = f"{who}: date {db.isoformat()} also on line {table.lines[a]}{hint}"
                raise invalid(src, [FieldError("date", reason, line=table.lines[b])])
            if db - da != timedelta(days=1):
                gap_end = db - timedelta(days=1)
                missing = (
                    (da + timedelta(days=1)).isoformat()
                    if db - da == timedelta(days=2)
                    else f"{(da + timedelta(days=1)).isoformat()} to {gap_end.isoformat()}"
                )
                reason = (
                    f"{who}: no row for {missing} (between line {table.lines[a]} and this line); "
                    "the FWI needs every day"
                )
                raise invalid(src, [FieldError("date", reason, line=table.lines[b])])
        lats = table.lat[order]
        known = lats[~np.isnan(lats)]
        if known.size and np.any(known != known[0]):
            j = order[int(np.argmax(lats != known[0]))]
            reason = f"{who}: {lat_name} changes from {known[0]:g} to {table.lat[j]:g} within the station"
            raise invalid(src, [FieldError(lat_name, reason, line=table.lines[j], column=lat_name)])
        station_lat = float(known[0]) if known.size else (lat if lat is not None else math.nan)
        if need_lat and math.isnan(station_lat):
            reason = (
                f"{who}: no latitude: add a lat column or give the --lat option (Yongchuan: --lat 29.35); "
                "it selects the day-length factors"
            )
            raise invalid(src, [FieldError("lat", reason, line=1)])
        runs.append(StationRun(s, np.array(order, dtype=np.intp), table.dates[order[0]], station_lat))
    return runs


def compute_fwi(
    table: WeatherTable,
    *,
    lat: float | None = None,
    ffmc0: float = indices.START_FFMC,
    dmc0: float = indices.START_DMC,
    dc0: float = indices.START_DC,
    lat_adjust: bool = True,
    ffmc_coefficient: float = indices.FFMC_COEFFICIENT,
) -> dict[str, np.ndarray]:
    """FWI System outputs for every row of ``table``, each station chained from the start-up codes.

    Stations with the same first date and length are chained together as one (days, n) array.
    ``lat`` is used for stations without a latitude in the file (see :func:`station_runs`; not
    needed when ``lat_adjust`` is False, the 46°N tables being used then). Returns
    ``{"ffmc": (rows,), "dmc": …, "dsr": …}`` in the table's row order. Raises InvalidInput as
    :func:`station_runs`; ValueError from :func:`indices.fwi_series` cannot happen on a checked table.
    """
    runs = station_runs(table, lat=lat, need_lat=lat_adjust)
    out = {k: np.full(len(table.rows), np.nan) for k in OUTPUT_COLUMNS}
    batches: dict[tuple[date, int], list[StationRun]] = {}
    for r in runs:
        batches.setdefault((r.start, len(r.index)), []).append(r)
    for (start, ndays), batch in batches.items():
        idx = np.stack([r.index for r in batch], axis=1)  # (days, n)
        month = np.array([(start + timedelta(days=i)).month for i in range(ndays)])
        lats = np.array([r.lat if not math.isnan(r.lat) else 55.0 for r in batch])
        res = indices.fwi_series(
            table.temp[idx],
            table.rh[idx],
            table.ws[idx],
            table.prec[idx],
            month,
            lats,
            ffmc0=ffmc0,
            dmc0=dmc0,
            dc0=dc0,
            lat_adjust=lat_adjust,
            ffmc_coefficient=ffmc_coefficient,
        )
        for k, v in res.as_dict().items():
            out[k][idx] = v
    return out


def format_value(v: float) -> str:
    """An output number: 7 significant digits, ``NA`` for NaN (as cffdrs writes it)."""
    return "NA" if math.isnan(v) else f"{v:.7g}"


def write_fwi_csv(table: WeatherTable, result: dict[str, np.ndarray], out: TextIO) -> None:
    """Write the input columns (as read) plus ``ffmc,dmc,dc,isi,bui,fwi,dsr`` as CSV to ``out``."""
    w = csv.writer(out, lineterminator="\n")
    w.writerow([*table.header, *OUTPUT_COLUMNS])
    for i, row in enumerate(table.rows):
        w.writerow([*row, *(format_value(float(result[k][i])) for k in OUTPUT_COLUMNS)])
