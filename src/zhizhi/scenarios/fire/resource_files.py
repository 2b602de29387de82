"""Reading fire resource files (防火资源台账): CSV and GeoJSON into checked rows. Pure: no database.

CSV: one resource per row, a header of column names (any letter case, English or the Chinese names
in :data:`ALIASES`); GeoJSON: a FeatureCollection of Point features whose properties carry the same
names. Columns:

* ``kind`` (类别: team, water, lookout, checkpoint, depot, drone_dock — or their Chinese names), unless
  the whole file is one kind given by the caller; ``name`` (名称); ``lon``/``lat`` (经度/纬度, CSV only:
  a GeoJSON point is its geometry);
* optional ``code`` (编号: re-importing a code updates that resource), ``owner`` (所属单位: a 12-digit
  town code, a department abbreviation such as LYJ, or a unit code; required for teams),
  ``contact_name``/``contact_phone`` (联系人/联系电话), ``address`` (地址), ``note`` (备注);
* the attributes of the kinds (resources.py): ``type`` (类型, a sub-type key or its Chinese name),
  ``people``, ``equipment`` (``a;b;c``), ``capacity_m3``, ``height_m``, ``range_km``, ``staffed``,
  ``items`` (``name:quantity[:unit];…``), ``drones``, ``model``. A cell left empty is an absent
  attribute; an attribute the row's kind does not have is an error.

Coordinates are WGS-84 unless the caller says the file is GCJ-02 (国测局坐标, AMap/Tencent), which is
converted (org.rules.gcj02_to_wgs84). Every bad cell is reported with its line (CSV: the file line,
header = 1; GeoJSON: the feature number, 1-based) and column; the caller refuses the whole file. Every
field of every row is checked whatever the other fields' errors (one pass lists them all), and every
row is returned, so that the caller's own checks (owner unit, code; the point's town when the point
could be read) report on the bad rows too.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from zhizhi.core.errors import FieldError
from zhizhi.org import rules as org_rules
from zhizhi.scenarios.fire.resources import (
    ATTR_FIELDS,
    ATTRS,
    AttrError,
    ResourcePolicy,
    check_attrs,
    default_resource_policy,
)

MAX_ROWS = 50_000
COMMON = ("kind", "code", "name", "lon", "lat", "owner", "contact_name", "contact_phone", "address", "note")
ALIASES = {
    "类别": "kind",
    "种类": "kind",
    "编号": "code",
    "名称": "name",
    "经度": "lon",
    "纬度": "lat",
    "所属单位": "owner",
    "联系人": "contact_name",
    "联系电话": "contact_phone",
    "地址": "address",
    "备注": "note",
    "类型": "type",
    "人数": "people",
    "装备": "equipment",
    "容量": "capacity_m3",
    "高度": "height_m",
    "范围": "range_km",
    "值守": "staffed",
    "物资": "items",
    "无人机数量": "drones",
    "型号": "model",
    "longitude": "lon",
    "latitude": "lat",
    "lng": "lon",
}
"""Other names accepted for a column (Chinese headers as clerks write them, and common spellings)."""

KNOWN = frozenset(COMMON) | ATTR_FIELDS
_PHONE = re.compile(r"^\+?[0-9][0-9 \-]{5,18}[0-9]$")
Format = Literal["csv", "geojson"]
Crs = Literal["wgs84", "gcj02"]


@dataclass
class ResourceRow:
    """One checked resource of a file: ``line`` (CSV line or GeoJSON feature number), WGS-84 lon/lat,
    the common fields, and the kind's clean attributes. A bad row (one with errors) is returned as far
    as it could be read: ``kind`` None when its kind could not be read, ``lon``/``lat`` None when its
    point could not; a row without errors always has both."""

    line: int
    kind: str | None
    name: str
    lon: float | None
    lat: float | None
    code: str | None = None
    owner: str | None = None
    contact_name: str | None = None
    contact_phone: str | None = None
    address: str | None = None
    note: str | None = None
    attrs: dict[str, Any] = field(default_factory=dict)


def column_name(raw: str) -> str:
    """The canonical column name of a header cell: trimmed, lower case, aliases resolved."""
    k = raw.strip().lstrip("\ufeff")
    return ALIASES.get(k, ALIASES.get(k.lower(), k.lower()))


def decode(raw: bytes, name: str) -> str:
    """Text of a file: UTF-8 (with or without BOM), else GB 18030 (Excel's Chinese CSVs). Raises
    ValueError naming the file when neither decodes."""
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    raise ValueError(f"{name}: neither UTF-8 nor GB 18030 text")


def guess_format(name: str) -> Format:
    """``geojson`` for a .geojson/.json file name, else ``csv``."""
    return "geojson" if name.lower().endswith((".geojson", ".json")) else "csv"


def _text(v: Any) -> str | None:
    if v is None:
        return None
    s = str(v).strip()
    return s or None


def _kind_key(v: str, policy: ResourcePolicy) -> str:
    for k in policy.kinds:
        if v in (k.key, k.name):
            return k.key
    raise ValueError(f'unknown kind "{v}"; known: {", ".join(f"{k.key} ({k.name})" for k in policy.kinds)}')


def _type_key(kind: str, v: Any, policy: ResourcePolicy) -> Any:
    """A sub-type given by its Chinese name becomes its key (半专业扑火队 → semi_professional)."""
    if not isinstance(v, str):
        return v
    for s in policy.kind(kind).subtypes:
        if v.strip() in (s.key, s.name):
            return s.key
    return v


def _all_attr_errors(
    kind: str, given: dict[str, Any], policy: ResourcePolicy
) -> tuple[dict[str, Any], list[AttrError]]:
    """:func:`check_attrs`, with every attribute checked: check_attrs stops at its first stage with
    errors (attributes the kind does not have, then the values, then the sub-type); here the later
    stages run too, so that one pass reports them all. Returns (clean attributes, []) or ({}, errors)."""
    attrs, errs = check_attrs(kind, given, policy)
    if not errs:
        return attrs, []
    present = {c: v for c, v in given.items() if v is not None and v != ""}  # as check_attrs sees them
    known = {c: v for c, v in present.items() if c in ATTRS[kind].model_fields}
    if len(known) < len(present):  # stopped at attributes the kind does not have: check its own ones
        errs = errs + check_attrs(kind, known, policy)[1]
    t = known.get("type")
    if isinstance(t, str) and t.strip() and not any(e.field.split(".")[0] == "type" for e in errs):
        try:  # stopped at a bad value: the sub-type was not checked
            policy.kind(kind).subtype(t.strip())
        except ValueError as e:
            errs.append(AttrError("type", str(e)))
    return {}, errs


def check_row(
    line: int,
    values: dict[str, Any],
    lonlat: tuple[Any, Any] | None,
    *,
    kind: str | None,
    crs: Crs,
    policy: ResourcePolicy,
) -> tuple[ResourceRow, list[FieldError]]:
    """Check one resource given as column → value (text or JSON values) and its coordinates.

    ``lonlat``: the point's (lon, lat) as given, or None when the caller found the point unreadable
    and reported it already. ``kind``: the file's kind when it has no kind column. Every field is
    checked whatever the others' errors. Returns (the row, []) for a good row; (the row as far as it
    could be read — see :class:`ResourceRow` — the errors) for a bad one, so that the caller's own
    checks (owner unit, code, the point's town) still report on it (never store it). Each error has
    ``line`` and ``column``.
    """
    errs: list[FieldError] = []

    def bad(col: str, reason: str, value: Any = None) -> None:
        shown = None if value is None else str(value)[:80]
        errs.append(FieldError(col, reason, line=line, column=col, value=shown))

    k_raw = _text(values.get("kind")) or kind
    k: str | None = None
    if k_raw is None:
        bad("kind", "missing: give a kind column or the file's kind")
    else:
        try:
            k = _kind_key(k_raw, policy)
        except ValueError as e:
            bad("kind", str(e), k_raw)
    name = _text(values.get("name"))
    if name is None:
        bad("name", "missing")
    elif len(name) > 100:
        bad("name", "longer than 100 characters", name)
    lon_lat: list[float] = []
    coords = () if lonlat is None else (("lon", lonlat[0], -180, 180), ("lat", lonlat[1], -90, 90))
    for col, v, lo, hi in coords:
        try:
            x = float(v) if not isinstance(v, bool) and v is not None and str(v).strip() != "" else None
        except (TypeError, ValueError):
            bad(col, "not a number", v)
            continue
        if x is None:
            bad(col, "missing")
        elif not math.isfinite(x) or not lo <= x <= hi:
            bad(col, f"must be {lo}..{hi} degrees (WGS-84 or GCJ-02 {col})", v)
        else:
            lon_lat.append(x)
    phone = _text(values.get("contact_phone"))
    if phone is not None and not _PHONE.match(phone):
        bad("contact_phone", "not a phone number (digits, spaces and '-' only)", None)  # never echo it
    code = _text(values.get("code"))
    if code is not None and (len(code) > 40 or not re.fullmatch(r"[0-9A-Za-z._\-]+", code)):
        bad("code", "1-40 letters, digits, '.', '_' or '-'", code)
    for col, n in (("owner", 40), ("contact_name", 64), ("address", 300), ("note", 2000)):
        t = _text(values.get(col))
        if t is not None and len(t) > n:
            bad(col, f"longer than {n} characters")
    attrs: dict[str, Any] = {}
    if k is not None:
        given = {c: v for c, v in values.items() if c in ATTR_FIELDS}
        if "type" in given:
            given["type"] = _type_key(k, given["type"], policy)
        attrs, aerrs = _all_attr_errors(k, given, policy)
        for ae in aerrs:
            col = ae.field.split(".", 1)[0]
            bad(col, ae.reason, values.get(col) if col != "contact_phone" else None)
    lon: float | None = None
    lat: float | None = None
    if len(lon_lat) == 2:
        lon, lat = lon_lat
        if crs == "gcj02":
            lon, lat = org_rules.gcj02_to_wgs84(lon, lat)
    row = ResourceRow(
        line=line,
        kind=k,
        name=name or "",
        lon=lon,
        lat=lat,
        code=code,
        owner=_text(values.get("owner")),
        contact_name=_text(values.get("contact_name")),
        contact_phone=phone,
        address=_text(values.get("address")),
        note=_text(values.get("note")),
        attrs=attrs,
    )
    return row, errs


def read_csv(
    text: str, name: str, *, kind: str | None = None, crs: Crs = "wgs84", policy: ResourcePolicy | None = None
) -> tuple[list[ResourceRow], list[FieldError]]:
    """Read a resource CSV (module docstring). Returns (rows, errors): every error of every row, and
    every row but those with a wrong number of cells (see :func:`check_row` for the bad rows among
    ``rows``); the header's problems (an unknown or repeated column, no name/lon/lat column, no kind
    column without ``kind``) come back as line-1 errors and no rows."""
    pol = policy or default_resource_policy()
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        return [], [FieldError("file", f"{name}: the file is empty", line=1)]
    except csv.Error as e:
        return [], [FieldError("file", f"not a CSV file: {e}", line=1)]
    cols = [column_name(h) for h in header]
    errs: list[FieldError] = []
    for raw, c in zip(header, cols, strict=True):
        if c not in KNOWN:
            errs.append(
                FieldError(raw, f'unknown column "{raw.strip()}"; known: {", ".join(sorted(KNOWN))}', 1, raw)
            )
    dup = sorted({c for c in cols if cols.count(c) > 1})
    errs += [FieldError(c, f'column "{c}" appears more than once', 1, c) for c in dup]
    need = ["name", "lon", "lat"] + ([] if kind else ["kind"])
    errs += [FieldError(c, f'missing column "{c}"', 1, c) for c in need if c not in cols]
    if errs:
        return [], errs
    rows: list[ResourceRow] = []
    try:
        for rec in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in rec):
                continue
            if len(rows) + len(errs) >= MAX_ROWS:
                errs.append(FieldError("file", f"more than {MAX_ROWS} rows: split the file", line=line))
                break
            if len(rec) != len(cols):
                # no column: the whole line is wrong ("line 2: 5 cells, expected 4 (as the header)")
                errs.append(
                    FieldError("", f"{len(rec)} cells, expected {len(cols)} (as the header)", line=line)
                )
                continue
            values = dict(zip(cols, rec, strict=True))
            row, rerrs = check_row(
                line, values, (values.get("lon"), values.get("lat")), kind=kind, crs=crs, policy=pol
            )
            errs += rerrs
            rows.append(row)
    except csv.Error as e:
        errs.append(FieldError("file", f"not valid CSV: {e}", line=reader.line_num))
    if not rows and not errs:
        errs.append(FieldError("file", f"{name}: no resource rows under the header", line=2))
    return rows, errs


def read_geojson(
    text: str, name: str, *, kind: str | None = None, crs: Crs = "wgs84", policy: ResourcePolicy | None = None
) -> tuple[list[ResourceRow], list[FieldError]]:
    """Read a resource GeoJSON FeatureCollection of Points (module docstring). A feature's properties
    are its columns; ``line`` of an error is the feature number (1-based). A feature whose point cannot
    be read has that error and its properties still checked (its row has no lon/lat); a file whose
    structure is wrong (not a FeatureCollection, a feature not an object, another geometry type …)
    comes back with no rows."""
    pol = policy or default_resource_policy()
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        return [], [FieldError("file", f"not valid JSON: {e}", line=e.lineno)]
    if not isinstance(doc, dict):
        why = f"{name}: expected a GeoJSON FeatureCollection, got {type(doc).__name__}"
        return [], [FieldError("file", why)]
    listed = [doc] if doc.get("type") == "Feature" else doc.get("features")
    bad_points: dict[int, FieldError] = {}
    checked: dict[str, Any] = doc
    if isinstance(listed, list):  # points checked here: clear reasons, every bad feature at once
        for i, f in enumerate(listed, start=1):
            pe = _point_error(i, f)
            if pe is not None:
                bad_points[i] = pe
        if bad_points:  # the structure is still checked, with a stand-in point for each bad one
            stand_in = {"type": "Point", "coordinates": [0.0, 0.0]}
            plain = [
                f if i not in bad_points
                else {**f, "geometry": stand_in} if isinstance(f, dict)
                else {"type": "Feature", "properties": None, "geometry": stand_in}
                for i, f in enumerate(listed, start=1)
            ]  # fmt: skip
            checked = plain[0] if doc.get("type") == "Feature" else {**doc, "features": plain}
    try:
        org_rules.load_geojson_features(checked, geometry_types=("Point",), require_valid=False, name=name)
    except ValueError as e:
        m = re.search(r"feature (\d+)", str(e))
        at = int(m.group(1)) + 1 if m else None
        return [], [*bad_points.values(), FieldError("geometry", str(e), line=at)]
    feats = [doc] if doc.get("type") == "Feature" else doc["features"]
    if not feats:
        return [], [FieldError("file", f"{name}: no features")]
    if len(feats) > MAX_ROWS:
        return [], [FieldError("file", f"more than {MAX_ROWS} features: split the file")]
    rows: list[ResourceRow] = []
    errs: list[FieldError] = list(bad_points.values())
    for i, feat in enumerate(feats, start=1):
        if not isinstance(feat, dict):  # reported as not a Feature: no properties to check
            continue
        props = {column_name(str(k)): v for k, v in (feat.get("properties") or {}).items()}
        for c in sorted(c for c in props if c not in KNOWN or c in ("lon", "lat")):
            why = "lon/lat come from the geometry" if c in ("lon", "lat") else "unknown property"
            errs.append(FieldError(c, why, i, c))
            del props[c]  # the other properties are still checked
        lonlat: tuple[Any, Any] | None = None  # a bad point is reported above
        if i not in bad_points:
            lonlat = (feat["geometry"]["coordinates"][0], feat["geometry"]["coordinates"][1])
        row, rerrs = check_row(i, props, lonlat, kind=kind, crs=crs, policy=pol)
        errs += rerrs
        rows.append(row)
    return rows, errs


def _point_error(i: int, feat: Any) -> FieldError | None:
    """The error of feature ``i`` (1-based) whose geometry is not a usable Point, None otherwise (other
    geometry types are left to org.rules.load_geojson_features, which names the types accepted)."""

    def bad(reason: str) -> FieldError:
        return FieldError("geometry", f"feature {i}: {reason}", line=i, column="geometry")

    if not isinstance(feat, dict):
        return bad(f"not a GeoJSON Feature object (got {type(feat).__name__})")
    g = feat.get("geometry")
    if not isinstance(g, dict):
        return bad('no geometry: give {"type": "Point", "coordinates": [lon, lat]}')
    if g.get("type") != "Point":
        return None
    c = g.get("coordinates")
    numbers = isinstance(c, list) and all(isinstance(v, int | float) and not isinstance(v, bool) for v in c)
    if not numbers or not 2 <= len(c or ()) <= 3:
        shown = json.dumps(c, ensure_ascii=False)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        return bad(f"Point coordinates must be [lon, lat] (two numbers, a height optional), got {shown}")
    return None


def read_resource_file(
    raw: bytes,
    name: str,
    *,
    fmt: Format | None = None,
    kind: str | None = None,
    crs: Crs = "wgs84",
    policy: ResourcePolicy | None = None,
) -> tuple[list[ResourceRow], list[FieldError]]:
    """Read a resource file (CSV or GeoJSON; ``fmt`` None: by the file name's extension).

    raw: the file's bytes (UTF-8 or GB 18030). kind: the kind of every row when the file has no kind
    column (a key or Chinese name). crs: ``gcj02`` converts GCJ-02 coordinates to WGS-84. Returns
    (rows, errors with line and column): every error of every row at once, and the rows whose kind and
    point could be read, bad ones included (:func:`check_row`) so that the caller's checks report on
    them in the same pass; the caller refuses the whole file when errors is not empty.
    """
    pol = policy or default_resource_policy()
    if kind is not None:
        try:
            kind = _kind_key(kind, pol)
        except ValueError as e:
            return [], [FieldError("kind", str(e))]
    if not raw.strip():
        return [], [FieldError("file", f"{name}: the file is empty", line=1)]
    try:
        text = decode(raw, name)
    except ValueError as e:
        return [], [FieldError("file", str(e))]
    f = fmt or guess_format(name)
    if f == "geojson":
        return read_geojson(text, name, kind=kind, crs=crs, policy=pol)
    return read_csv(text, name, kind=kind, crs=crs, policy=pol)
