"""Reading NASA FIRMS active-fire CSV files (MODIS C6.1, VIIRS 375 m) into numpy columns.

See the package docstring (``zhizhi.scenarios.fire.hotspots``) for the layouts, units and the
confidence mapping. Pure: no database.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from zhizhi.core.errors import FieldError, InvalidInput
from zhizhi.scenarios.fire.hotspots.acqtime import (
    date_problem,
    future_errors,
    parse_date,
    parse_hhmm,
    time_problem,
)
from zhizhi.scenarios.fire.hotspots.convert import text_of, to_float, unique_inverse
from zhizhi.scenarios.fire.hotspots.table import (
    Table,
    not_utf8_error,
    padded,
    read_padded,
    scan_buffer,
    scan_file,
    scan_lines,
)

BEIJING = timedelta(hours=8)
"""北京时间 = UTC + 8 h (no daylight saving since 1991)."""

MODIS_COLUMNS = (
    "latitude",
    "longitude",
    "brightness",
    "scan",
    "track",
    "acq_date",
    "acq_time",
    "satellite",
    "confidence",
    "version",
    "bright_t31",
    "frp",
    "daynight",
)
VIIRS_COLUMNS = (
    "latitude",
    "longitude",
    "bright_ti4",
    "scan",
    "track",
    "acq_date",
    "acq_time",
    "satellite",
    "confidence",
    "version",
    "bright_ti5",
    "frp",
    "daynight",
)
OPTIONAL_COLUMNS = ("instrument", "type")

CONFIDENCE_CLASSES = ("low", "nominal", "high")
CLASS_LABEL_ZH = {"low": "低", "nominal": "中", "high": "高"}
VIIRS_CONFIDENCE = {
    "l": "low",
    "low": "low",
    "n": "nominal",
    "nominal": "nominal",
    "h": "high",
    "high": "high",
}
CLASS_VALUE = {"low": 15, "nominal": 55, "high": 90}
"""VIIRS class -> 0-100 value: the middle of the matching MODIS class range (see module docstring)."""
MODIS_CLASS_BOUNDS = (30, 80)
"""MODIS confidence -> class: low < 30 <= nominal < 80 <= high (FIRMS' suggested ranges)."""

FIRE_TYPES = {
    0: "presumed vegetation fire",
    1: "active volcano",
    2: "other static land source",
    3: "offshore",
}
FIRE_TYPE_ZH = {0: "植被火", 1: "活火山", 2: "其他固定地表热源", 3: "水面/近海"}
DAYNIGHT_ZH = {"D": "白天", "N": "夜间"}

_PLATFORM_CODES = (
    ("Terra", "t|terra"),
    ("Aqua", "a|aqua"),
    ("S-NPP", "n|npp|snpp|s-npp|suomi npp|suomi-npp"),
    ("NOAA-20", "1|n20|noaa20|noaa-20|j1|jpss-1"),
    ("NOAA-21", "2|n21|noaa21|noaa-21|j2|jpss-2"),
)
PLATFORMS = {code: name for name, codes in _PLATFORM_CODES for code in codes.split("|")}
"""FIRMS ``satellite`` codes -> platform: ``T``/``A`` (MODIS), ``N`` S-NPP, ``1``/``N20`` NOAA-20,
``N21``/``2`` NOAA-21 (FIRMS attribute tables; some exports spell names out). Unknown codes are kept
as written."""

MAX_PIXEL_KM = 10.0
"""Largest accepted scan/track, km (MODIS reaches ~4.8 x 2.0 at the swath edge, VIIRS ~0.8)."""
_BOM = b"\xef\xbb\xbf"


# ------------------------------------------------------------------------------------------- parsing
@dataclass
class Detections:
    """Active-fire detections (火点/热点) as parallel numpy arrays, one element per row.

    ``line``: 1-based line in the file; ``lat``/``lon``: WGS-84 degrees; ``brightness``: I4 (VIIRS)
    or channel 21/22 (MODIS) brightness temperature, K; ``bright2``: I5 / channel 31, K; ``scan``,
    ``track``: pixel size, km; ``frp``: MW; ``acq``: ``datetime64[m]`` UTC; ``platform``: Terra, Aqua,
    S-NPP, NOAA-20, NOAA-21 or the file's code; ``confidence``: 0-100; ``confidence_class``: low,
    nominal or high; ``confidence_raw``: as written; ``version``; ``nrt``: near-real-time (version
    ending NRT/RT/URT) rather than standard; ``daynight``: D or N; ``fire_type``: 0-3, -1 when the
    file has no ``type`` column. ``instrument`` is MODIS or VIIRS for the whole set.
    """

    instrument: str
    line: NDArray[np.int64]
    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    brightness: NDArray[np.float64]
    bright2: NDArray[np.float64]
    scan: NDArray[np.float64]
    track: NDArray[np.float64]
    frp: NDArray[np.float64]
    acq: NDArray[np.datetime64]
    platform: NDArray[np.str_]
    confidence: NDArray[np.int64]
    confidence_class: NDArray[np.str_]
    confidence_raw: NDArray[np.str_]
    version: NDArray[np.str_]
    nrt: NDArray[np.bool_]
    daynight: NDArray[np.str_]
    fire_type: NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.line)

    def take(self, index: ArrayLike) -> Detections:
        """The detections at ``index`` (a boolean mask or integer positions), in that order."""
        idx = np.asarray(index)
        if idx.dtype == bool and idx.shape == (len(self),):  # positions once, not a mask pass per array
            idx = np.flatnonzero(idx)
        kw: dict[str, Any] = {k: getattr(self, k)[idx] for k in _ARRAY_FIELDS}
        return Detections(instrument=self.instrument, **kw)

    @property
    def pixel_diagonal_km(self) -> NDArray[np.float64]:
        """Diagonal of each pixel's footprint, km: sqrt(scan^2 + track^2)."""
        return pixel_diagonal_km(self.scan, self.track)

    def acq_at(self, i: int) -> datetime:
        """Acquisition time of detection ``i`` as an aware UTC datetime."""
        return datetime64_to_utc(self.acq[i])

    def key(self, i: int) -> str:
        """Identity of detection ``i`` across re-imports; see :func:`detection_key`."""
        return detection_key(str(self.platform[i]), self.acq_at(i), float(self.lat[i]), float(self.lon[i]))


_ARRAY_FIELDS = tuple(k for k in Detections.__dataclass_fields__ if k != "instrument")


@dataclass
class FirmsFile:
    """A parsed FIRMS file: the good rows, the row errors and what the header said.

    ``rows_read`` counts data rows (blank lines excluded); ``len(detections) + bad_rows == rows_read``.
    ``errors`` has one :class:`~zhizhi.core.errors.FieldError` per bad value (line, column, reason,
    value); ``has_instrument`` / ``has_type`` say which optional columns the file had (the Area API
    and archive layouts add them).
    """

    name: str
    instrument: str
    columns: tuple[str, ...]
    rows_read: int
    detections: Detections
    errors: list[FieldError] = field(default_factory=list)

    @property
    def bad_rows(self) -> int:
        return self.rows_read - len(self.detections)

    @property
    def has_instrument(self) -> bool:
        return "instrument" in self.columns

    @property
    def has_type(self) -> bool:
        return "type" in self.columns

    def raise_if_bad(self) -> None:
        """Raise InvalidInput naming the file and every bad row (line, column, reason) if any row is bad."""
        if self.errors:
            raise InvalidInput(
                f"{self.name}: {self.bad_rows} of {self.rows_read} rows are invalid "
                f"(first: {self.errors[0]})",
                list(self.errors),
            )


def read_firms(path: str | Path, name: str | None = None, now: datetime | None = None) -> FirmsFile:
    """Read a NASA FIRMS MODIS or VIIRS active-fire CSV file; see :func:`parse_firms`.

    path: the file (UTF-8, with or without BOM). name: what messages call it (default: the file name).
    now: the time rows may not be acquired after (default: the current time; see :func:`parse_firms`).
    Raises InvalidInput for a file that is not UTF-8 (naming the line, character and byte offset)
    or has no usable header; OSError propagates.
    """
    p = Path(path)
    label = name or p.name
    buf, size = read_padded(p)
    bom = 3 if buf.startswith(_BOM) else 0
    if bom:
        buf[:3] = b"   "  # outside the text scanned (it starts at byte 3); scan_buffer wants ASCII there
    return _parse_table(_split(buf, bom, size, label, bom), label, now)


def parse_bytes(raw: bytes, name: str = "<input>", now: datetime | None = None) -> FirmsFile:
    """Parse the content of a FIRMS file (UTF-8, with or without BOM); see :func:`parse_firms`.

    The same result as ``parse_firms(io.StringIO(raw.decode("utf-8-sig"), newline=""), name)``,
    without the copies of the text. Raises InvalidInput for bytes that are not UTF-8 (naming the line,
    character and byte offset) and as :func:`parse_firms` does.
    """
    bom = 3 if raw.startswith(_BOM) else 0
    return _parse_table(_split(padded(raw, bom), 0, len(raw) - bom, name, bom), name, now)


def _split(buf: bytearray, begin: int, size: int, name: str, offset: int) -> Table:
    """Split ``buf[begin:size]`` (a padded buffer, see ``table.scan_buffer``) with numpy when it is
    plain, else decode it and split it with the csv module. ``offset``: bytes of the file before
    ``buf[begin]`` (a BOM), for the position named when the bytes are not UTF-8."""
    table = scan_buffer(buf, begin, size)
    if table is not None:
        return table
    try:
        text = bytes(buf[begin:size]).decode("utf-8")
    except UnicodeDecodeError as e:
        raise not_utf8_error(bytes(buf[begin:size]), e, name, offset) from None
    return scan_lines(io.StringIO(text, newline=""), name)


def parse_firms(lines: Iterable[str], name: str = "<input>", now: datetime | None = None) -> FirmsFile:
    """Parse FIRMS active-fire CSV text (MODIS C6.1 or VIIRS 375 m; NRT or standard; static-file,
    Area-API or archive layout) into :class:`Detections`.

    lines: the text: an open text file or ``io.StringIO`` (read whole and split with numpy when it is
    plain ASCII without quotes, see ``table.scan_buffer``), or any iterable of lines (the csv module;
    the same result). name: the file name used in messages. now: an aware datetime, default the
    current time: a row acquired later than ``now`` + ``acqtime.FUTURE_TOLERANCE`` (10 min of clock
    skew) is refused (line, column ``acq_date/acq_time``, the date and time).
    Each row is checked: latitude -90..90, longitude -180..180, brightness values finite and > 0 K,
    scan/track > 0 and <= 10 km, FRP finite and >= 0 MW, ``acq_date`` ``YYYY-MM-DD``, ``acq_time``
    HHMM (1-4 digits, zero padding optional, hour 00-23, minute 00-59: ``2460`` is refused),
    confidence 0-100 (MODIS) or l/n/h, low/nominal/high (VIIRS, any case), daynight D/N, type 0-3,
    instrument (when present) matching the file's columns, satellite and version not empty. Every row
    is checked, wherever it lies: a malformed row far from the districts is reported like any other.
    Returns a :class:`FirmsFile` with the good rows and one error per bad value; the caller decides
    whether bad rows refuse the file (:meth:`FirmsFile.raise_if_bad`).
    Raises InvalidInput naming the file for an empty file, a header that is neither MODIS nor VIIRS,
    a missing or repeated column, or text the csv module cannot split (naming the line).
    Source: FIRMS "Active fire data attributes" for MODIS C6.1 and VIIRS 375 m (see module docstring).
    """
    is_file = callable(getattr(lines, "read", None)) and callable(getattr(lines, "seekable", None))
    return _parse_table(scan_file(lines, name) if is_file else scan_lines(lines, name), name, now)


def _parse_table(table: Table, name: str, now: datetime | None = None) -> FirmsFile:
    """Check and convert the columns of a split FIRMS file (see :func:`parse_firms`)."""
    if table.header is None:
        raise InvalidInput(f"{name}: empty file (no header line)")
    header = [c.strip().lower() for c in table.header]
    header_line = table.header_line
    if "brightness" in header:
        instrument, required = "MODIS", MODIS_COLUMNS
    elif "bright_ti4" in header:
        instrument, required = "VIIRS", VIIRS_COLUMNS
    else:
        why = "not a FIRMS active-fire file: no column brightness (MODIS) or bright_ti4 (VIIRS)"
        raise InvalidInput(f"{name}: {why}", [FieldError("header", why, header_line)])
    dup = sorted({c for c in header if c and header.count(c) > 1})
    missing = [c for c in required if c not in header]
    if dup or missing:
        errs = [FieldError(c, "column appears more than once", header_line, c) for c in dup]
        errs += [
            FieldError(c, f"missing column of a FIRMS {instrument} file", header_line, c) for c in missing
        ]
        parts = [f"missing column(s) {', '.join(missing)} of a FIRMS {instrument} file"] if missing else []
        parts += [f"column(s) {', '.join(dup)} appear more than once"] if dup else []
        raise InvalidInput(f"{name}: {'; '.join(parts)}", errs)
    wanted = tuple(c for c in (*required, *OPTIONAL_COLUMNS) if c in header)
    cols: dict[str, NDArray[Any]] = {c: table.column(header.index(c)) for c in wanted}
    width = len(header)
    errors = [  # no column: the whole line is wrong ("line 9: 9 fields, expected 13 (as the header)")
        FieldError("", f"{k} fields, expected {width} (as the header)", line)
        for line, k in table.width_errors
    ]
    lines_arr = table.line
    n = len(lines_arr)
    bad = np.zeros(n, dtype=bool)
    if errors:
        bad[np.isin(lines_arr, np.array([e.line or 0 for e in errors]))] = True
    bad_before = bad.copy()  # rows refused for their width are not checked column by column

    def flag(mask: NDArray[np.bool_], column: str, reason: Any) -> None:
        if not mask.any():
            return
        for i in np.flatnonzero(mask & ~bad_before).tolist():
            v = text_of(cols[column][i]).strip()
            errors.append(
                FieldError(column, reason(v) if callable(reason) else reason, int(lines_arr[i]), column, v)
            )
        bad[:] |= mask

    def floats(column: str) -> NDArray[np.float64]:
        return to_float(cols[column])

    lat, lon = floats("latitude"), floats("longitude")
    flag(~np.isfinite(lat) | (np.abs(lat) > 90), "latitude", "latitude must be a number from -90 to 90")
    flag(~np.isfinite(lon) | (np.abs(lon) > 180), "longitude", "longitude must be a number from -180 to 180")
    b1_col, b2_col = ("brightness", "bright_t31") if instrument == "MODIS" else ("bright_ti4", "bright_ti5")
    b1, b2 = floats(b1_col), floats(b2_col)
    flag(~(np.isfinite(b1) & (b1 > 0)), b1_col, "brightness temperature must be a number > 0 (kelvin)")
    flag(~(np.isfinite(b2) & (b2 > 0)), b2_col, "brightness temperature must be a number > 0 (kelvin)")
    scan, track = floats("scan"), floats("track")
    for c, a in (("scan", scan), ("track", track)):
        flag(
            ~(np.isfinite(a) & (a > 0) & (a <= MAX_PIXEL_KM)),
            c,
            f"pixel size must be a number > 0 and <= {MAX_PIXEL_KM:g} km",
        )
    frp = floats("frp")
    flag(~(np.isfinite(frp) & (frp >= 0)), "frp", "fire radiative power must be a number >= 0 (MW)")

    distinct: dict[str, tuple[list[str], NDArray[np.intp]]] = {}

    def by_value(column: str, parse: Any, missing: Any) -> tuple[NDArray[Any], NDArray[np.intp]]:
        """Parse each distinct (blank-stripped) value of ``column`` once and flag the rows whose value
        ``parse`` refuses (returns None): (parsed distinct values, ``missing`` for refused; index of
        each row's value)."""
        if column not in distinct:
            uniq, inv = unique_inverse(cols[column])
            distinct[column] = ([text_of(u).strip() for u in uniq], inv)
        texts, inv = distinct[column]
        parsed = [parse(t) for t in texts]
        refused = np.array([p is None for p in parsed], dtype=bool)
        if refused.any():
            flag(refused[inv], column, reasons.get(column, ""))
        dtype = missing.dtype if isinstance(missing, np.datetime64) else None
        return np.array([missing if p is None else p for p in parsed] or [missing], dtype=dtype), inv

    reasons: dict[str, Any] = {
        "acq_date": date_problem,
        "acq_time": time_problem,
        "satellite": "satellite is empty",
        "confidence": (lambda v: f'MODIS confidence must be a whole number 0-100, not "{v}"')
        if instrument == "MODIS"
        else (lambda v: f'unknown VIIRS confidence "{v}" (l/n/h or low/nominal/high)'),
        "version": "version is empty",
        "daynight": lambda v: f'daynight must be D or N, not "{v}"',
        "type": lambda v: f'type must be 0, 1, 2 or 3, not "{v}"',
        "instrument": lambda v: f'instrument "{v}" does not match the file\'s {instrument} columns',
    }
    day_u, day_i = by_value("acq_date", parse_date, np.datetime64("NaT", "D"))
    minute_u, minute_i = by_value("acq_time", parse_hhmm, -1)
    platform_u, platform_i = by_value("satellite", lambda v: PLATFORMS.get(v.lower(), v) if v else None, "")
    if instrument == "MODIS":
        conf_u, conf_i = by_value("confidence", _modis_confidence, -1)
        lo_b, hi_b = MODIS_CLASS_BOUNDS
        cls_u = np.where(conf_u < lo_b, "low", np.where(conf_u < hi_b, "nominal", "high"))
    else:
        cls_u, conf_i = by_value("confidence", lambda v: VIIRS_CONFIDENCE.get(v.lower()), "")
        conf_u = np.array([CLASS_VALUE.get(str(c), -1) for c in cls_u], dtype=np.int64)
    raw_u = np.array(distinct["confidence"][0] or [""], dtype=str)
    version_u, version_i = by_value("version", lambda v: v or None, "")
    nrt_u = np.char.endswith(np.char.upper(version_u.astype(str)), "RT")
    daynight_u, daynight_i = by_value(
        "daynight", lambda v: v.upper() if v.upper() in ("D", "N") else None, ""
    )
    if "type" in cols:
        type_u, type_i = by_value("type", _fire_type, -1)
    if "instrument" in cols:
        by_value("instrument", lambda v: True if v.upper() == instrument else None, False)

    future, late = future_errors(day_u, day_i, minute_u, minute_i, ~bad, lines_arr, now)
    if late:
        errors += late
        bad |= future
    good: Any = np.flatnonzero(~bad) if bad.any() else slice(None)  # a slice: no copies
    errors.sort(key=lambda e: (e.line or 0, wanted.index(e.column) if e.column in wanted else -1))

    def each(values: NDArray[Any], inv: NDArray[np.intp], dtype: Any) -> NDArray[Any]:
        """Per good row, its value among the distinct ``values`` (``take``: faster than indexing)."""
        return np.asarray(values, dtype=dtype).take(inv[good])

    acq = each(day_u, day_i, "datetime64[m]") + each(minute_u, minute_i, "timedelta64[m]")
    det = Detections(
        instrument=instrument,
        line=lines_arr[good],
        lat=lat[good],
        lon=lon[good],
        brightness=b1[good],
        bright2=b2[good],
        scan=scan[good],
        track=track[good],
        frp=frp[good],
        acq=acq,
        platform=each(platform_u, platform_i, str),
        confidence=each(conf_u, conf_i, np.int64),
        confidence_class=each(cls_u, conf_i, str),
        confidence_raw=each(raw_u, conf_i, str),
        version=each(version_u, version_i, str),
        nrt=each(nrt_u, version_i, bool),
        daynight=each(daynight_u, daynight_i, str),
        fire_type=each(type_u, type_i, np.int64) if "type" in cols else np.full(len(acq), -1, np.int64),
    )
    return FirmsFile(name, instrument, wanted, n, det, errors)


def _modis_confidence(v: str) -> int | None:
    return int(v) if v.isdigit() and int(v) <= 100 else None


def _fire_type(v: str) -> int | None:
    return int(v) if v in ("0", "1", "2", "3") else None


# ------------------------------------------------------------------------------------- small helpers
def pixel_diagonal_km(scan: ArrayLike, track: ArrayLike) -> NDArray[np.float64]:
    """Diagonal of the pixel footprint, km: sqrt(scan^2 + track^2).

    scan, track: along-scan and along-track pixel size, km (FIRMS ``scan``/``track``), same shape.
    Returns an array of that shape, km. MODIS at nadir is ~1 x 1 km (1.41 km), VIIRS I-band
    0.375 x 0.375 km (0.53 km).
    """
    s, t = np.asarray(scan, dtype=np.float64), np.asarray(track, dtype=np.float64)
    return np.asarray(np.hypot(s, t))


def datetime64_to_utc(t: np.datetime64) -> datetime:
    """A ``datetime64`` (read as UTC) as an aware UTC datetime, to the microsecond."""
    us = int(np.asarray(t).astype("datetime64[us]").astype(np.int64))
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)


def beijing(dt: datetime) -> str:
    """An aware datetime as Beijing time (北京时间) ``YYYY-MM-DD HH:MM``."""
    return (dt.astimezone(UTC) + BEIJING).strftime("%Y-%m-%d %H:%M")


def detection_key(platform: str, acq_at: datetime, lat: float, lon: float) -> str:
    """Identity of one detection across imports: ``platform|YYYYMMDDTHHMM|lat|lon`` with lat/lon
    rounded to 3 decimals (~110 m, under a third of a VIIRS pixel).

    The same row imported twice gives the same key, and so does the standard ("archive") row that
    replaces an NRT row, provided its pixel centre moved less than the rounding. Where it moved more,
    the replacement is stored as a new detection but joins the same cluster (no new event).
    """
    t = acq_at.astimezone(UTC).strftime("%Y%m%dT%H%M")
    return f"{platform}|{t}|{lat:.3f}|{lon:.3f}"
