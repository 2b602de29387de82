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
computes it as 99.9999). Files are read as UTF-8 (with or without BOM), else GB18030.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TextIO

import numpy as np

from zhizhi.core.errors import FieldError, InvalidInput
from zhizhi.scenarios.fire import indices
from zhizhi.scenarios.fire.csvfields import date_problem, missing_columns, parse_iso_date

WIND_UNITS = {"km/h": 1.0, "m/s": 3.6}
"""Accepted wind units and their factor to km/h."""

CFFDRS_COLUMNS = ("yr", "mon", "day", "temp", "rh", "ws", "prec")
DATE_COLUMNS = ("date", "temp", "rh", "ws", "prec")
STATION_COLUMNS = ("station", "id")
OUTPUT_COLUMNS = indices.FWIComponents.NAMES

# Physically possible ranges (inclusive) of the values, in the units used by the FWI System.
LIMITS: dict[str, tuple[float, float, str]] = {
    "temp": (-90.0, 60.0, "°C"),
    "rh": (0.0, 100.0, "%"),
    "ws": (0.0, 400.0, "km/h"),
    "prec": (0.0, 2000.0, "mm"),
    "lat": (-90.0, 90.0, "degrees"),
    "long": (-180.0, 360.0, "degrees"),
}


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


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("gb18030")


def _invalid(source: str, errors: list[FieldError]) -> InvalidInput:
    first = errors[0]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return InvalidInput(f"{source}: {first}{more}", errors=errors)


def _header_error(source: str, reason: str, column: str | None = None) -> InvalidInput:
    err = FieldError(column or "header", reason, line=1)
    return InvalidInput(f"{source}: line 1: {reason}", errors=[err])


def _layout(source: str, names: list[str]) -> str:
    """``"cffdrs"`` or ``"date"`` from the lower-case header; InvalidInput naming what is missing."""
    have = set(names)
    need: tuple[str, ...]
    if "date" in have:
        layout, need = "date", DATE_COLUMNS
    elif {"yr", "mon", "day"} & have:
        layout, need = "cffdrs", CFFDRS_COLUMNS
    else:
        raise _header_error(
            source,
            f"unknown layout: columns {', '.join(names) or '(none)'}; expected "
            f"date,temp,rh,ws,prec[,lat][,station] or long,lat,yr,mon,day,temp,rh,ws,prec",
        )
    missing = [c for c in need if c not in have]
    if missing:
        known = {*DATE_COLUMNS, *CFFDRS_COLUMNS, *STATION_COLUMNS, "lat", "long"}
        unknown = [n for n in names if n and n not in known]
        raise _header_error(
            source, missing_columns(missing, unknown, f" for the {layout} layout"), missing[0]
        )
    return layout


def _number(text: str) -> float | None:
    try:
        v = float(text)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def parse_weather(text: str, source: str = "<input>", *, wind_unit: str = "km/h") -> WeatherTable:
    """Parse and check weather CSV text (see the module docstring for the layouts and limits).

    Parameters
    ----------
    text : the file's content.
    source : the file name used in messages.
    wind_unit : ``"km/h"`` (default) or ``"m/s"`` (multiplied by 3.6).

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
    reader = csv.reader(io.StringIO(text), delimiter=delim)
    header: list[str] | None = None
    for cells in reader:
        if any(c.strip() for c in cells):
            header = cells
            break
    if header is None:
        err = FieldError("file", "empty file")
        raise InvalidInput(f"{source}: empty file (no header line)", errors=[err])
    header_line = reader.line_num
    names = [h.strip().lower() for h in header]
    dup = sorted({n for n in names if n and names.count(n) > 1})
    if dup:
        raise _header_error(source, f'column "{dup[0]}" appears twice', dup[0])
    clash = [c for c in OUTPUT_COLUMNS if c in names]
    if clash:
        raise _header_error(source, f'the input already has an output column "{clash[0]}"', clash[0])
    layout = _layout(source, names)
    col = {n: i for i, n in enumerate(names) if n}
    station_col = next((c for c in STATION_COLUMNS if c in col), None)
    factor = WIND_UNITS[wind_unit]
    numeric = ["temp", "rh", "ws", "prec"] + [c for c in ("lat", "long") if c in col]
    if layout == "cffdrs":
        numeric = ["yr", "mon", "day", *numeric]

    errors: list[FieldError] = []
    rows: list[list[str]] = []
    lines: list[int] = []
    dates: list[date] = []
    stations: list[str] = []
    vals: dict[str, list[float]] = {c: [] for c in ("temp", "rh", "ws", "prec", "lat")}

    def bad(line: int, column: str, value: str, reason: str) -> None:
        errors.append(FieldError(column, reason, line=line, column=column, value=value))

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
            v = _number(raw)
            if raw == "" or raw.upper() in ("NA", "NAN"):
                bad(line, header[col[c]].strip(), raw, "missing value")
                ok = False
            elif v is None:
                bad(line, header[col[c]].strip(), raw, f'"{raw}" is not a number')
                ok = False
            else:
                got[c] = v
        if "ws" in got:
            got["ws"] *= factor
        for c, (lo, hi, unit) in LIMITS.items():
            if c in got and not lo <= got[c] <= hi:
                shown = cells[col[c]].strip()
                extra = f" ({got[c]:g} km/h)" if c == "ws" and factor != 1.0 else ""
                bad(line, header[col[c]].strip(), shown, f"{shown}{extra} is outside {lo:g} to {hi:g} {unit}")
                ok = False
        d: date | None = None
        if layout == "date":
            raw = cells[col["date"]].strip()
            d = parse_iso_date(raw)
            if d is None:
                bad(line, header[col["date"]].strip(), raw, date_problem(raw))
                ok = False
        elif ok:
            try:
                d = date(int(got["yr"]), int(got["mon"]), int(got["day"]))
                if any(got[k] != int(got[k]) for k in ("yr", "mon", "day")):
                    raise ValueError
            except ValueError:
                text_d = "-".join(cells[col[k]].strip() for k in ("yr", "mon", "day"))
                bad(line, header[col["day"]].strip(), text_d, f"{text_d} (yr-mon-day) is not a date")
                ok = False
        if not ok or d is None:
            continue
        rows.append(cells)
        lines.append(line)
        dates.append(d)
        stations.append(cells[col[station_col]].strip() if station_col else "")
        for c in ("temp", "rh", "ws", "prec"):
            vals[c].append(got[c])
        vals["lat"].append(got.get("lat", math.nan))
    if errors:
        raise _invalid(source, errors)
    if not rows:
        raise InvalidInput(
            f"{source}: no data rows after the header (line {header_line})",
            errors=[FieldError("file", "no data rows")],
        )
    return WeatherTable(
        source=source,
        layout=layout,
        header=header,
        rows=rows,
        lines=lines,
        dates=dates,
        station=stations,
        temp=np.array(vals["temp"]),
        rh=np.array(vals["rh"]),
        ws=np.array(vals["ws"]),
        prec=np.array(vals["prec"]),
        lat=np.array(vals["lat"]),
        columns=col,
    )


def read_weather_csv(path: str | Path, *, wind_unit: str = "km/h") -> WeatherTable:
    """Read and check a weather CSV file (:func:`parse_weather`); OSError if it cannot be read."""
    p = Path(path)
    return parse_weather(_decode(p.read_bytes()), str(path), wind_unit=wind_unit)


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
                raise _invalid(src, [FieldError("date", reason, line=table.lines[b])])
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
                raise _invalid(src, [FieldError("date", reason, line=table.lines[b])])
        lats = table.lat[order]
        known = lats[~np.isnan(lats)]
        if known.size and np.any(known != known[0]):
            j = order[int(np.argmax(lats != known[0]))]
            reason = f"{who}: {lat_name} changes from {known[0]:g} to {table.lat[j]:g} within the station"
            raise _invalid(src, [FieldError(lat_name, reason, line=table.lines[j], column=lat_name)])
        station_lat = float(known[0]) if known.size else (lat if lat is not None else math.nan)
        if need_lat and math.isnan(station_lat):
            reason = (
                f"{who}: no latitude: add a lat column or give one (Yongchuan is 29.35); "
                "it selects the day-length factors"
            )
            raise _invalid(src, [FieldError("lat", reason, line=1)])
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
