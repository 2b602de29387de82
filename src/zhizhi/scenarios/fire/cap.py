"""Fire danger bulletin (森林火险气象等级日报) as OASIS CAP 1.2 and as GeoJSON; hotspot alerts as CAP.

Pure: plain dataclasses in, bytes out; no database. The town ratings come from the stored daily
ratings (the service reads them); the words, names and colours of each level come from
``data/danger.yaml`` (QX/T 77-2007) and the CAP header, the level → urgency/severity/certainty mapping
and the texts from ``data/cap.yaml`` (each choice explained there).

Layout: one ``<alert>`` per bulletin (one district, one day) with one ``<info>`` per town, each with
its own severity, parameters and ``<area>`` (areaDesc, geocodes ``GB/T 2260`` = 6-digit county code and
``NBS`` = 12-digit town code). ``status`` is ``Actual`` for a real bulletin, ``Exercise`` for a drill
(演练), ``Test`` for a test. Times are written in Beijing time with their offset
(``2026-11-30T08:00:00+08:00``), the form the CAP 1.2 schema requires (no fractional seconds).

Source: OASIS Common Alerting Protocol Version 1.2 (1 July 2010), §3.2 (element definitions) and the
schema CAP-v1.2.xsd; QX/T 77-2007 for the level wording. Every document built here validates against
CAP-v1.2.xsd (tests/scenarios/fire/test_cap.py).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from zhizhi.core.time import LOCAL_TZ
from zhizhi.scenarios.fire.rules import LEVELS, DangerPolicy, PolicyError, default_policy

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
CAP_FILE = Path(__file__).parent / "data" / "cap.yaml"
STATUSES = ("Actual", "Exercise", "System", "Test", "Draft")
Status = Literal["Actual", "Exercise", "System", "Test", "Draft"]
Urgency = Literal["Immediate", "Expected", "Future", "Past", "Unknown"]
Severity = Literal["Extreme", "Severe", "Moderate", "Minor", "Unknown"]
Certainty = Literal["Observed", "Likely", "Possible", "Unlikely", "Unknown"]
Response = Literal[
    "Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess", "AllClear", "None"
]
_TOWN = re.compile(r"^\d{12}$")
_COUNTY = re.compile(r"^\d{6}$")
_RESTRICTED = re.compile(r"[\s,<&]")  # CAP 1.2 §3.2.1: not in sender or identifier


# --- policy (data/cap.yaml) --------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AlertPolicy(_Model):
    sender: str = Field(min_length=1)
    identifier: str = Field(min_length=1)
    scope: Literal["Public", "Restricted", "Private"]


class InfoPolicy(_Model):
    language: str = Field(pattern=r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")
    category: Literal[
        "Geo",
        "Met",
        "Safety",
        "Security",
        "Rescue",
        "Fire",
        "Health",
        "Env",
        "Transport",
        "Infra",
        "CBRNE",
        "Other",
    ]
    event: str = Field(min_length=1)
    sender_name: str
    headline: str
    description: str
    area_desc: str
    geocode_county: str = Field(min_length=1)
    geocode_town: str = Field(min_length=1)


class ValidPolicy(_Model):
    start: time
    hours: float = Field(gt=0, le=168)


class LevelMapping(_Model):
    urgency: Urgency
    severity: Severity
    certainty: Certainty
    response: Response


class HotspotPolicy(_Model):
    event: str = Field(min_length=1)
    urgency: Urgency
    severity: Severity
    certainty: Certainty
    response: Response
    headline: str
    description: str
    radius_km: float = Field(gt=0, le=100)
    valid_hours: float = Field(gt=0, le=72)


class CapPolicy(_Model):
    """The whole ``data/cap.yaml``."""

    version: int
    alert: AlertPolicy
    info: InfoPolicy
    valid: ValidPolicy
    levels: dict[int, LevelMapping]
    hotspot: HotspotPolicy

    @field_validator("levels")
    @classmethod
    def _five(cls, v: dict[int, LevelMapping]) -> dict[int, LevelMapping]:
        if sorted(v) != list(LEVELS):
            raise ValueError(f"levels must map exactly the levels 1-5, got {sorted(v)}")
        return v


def load_cap_policy(path: str | Path | None = None) -> CapPolicy:
    """Load and check a CAP policy file (default: the shipped ``data/cap.yaml``).

    Raises PolicyError (a ValueError) naming the file, the key path and the reason.
    """
    p = Path(path) if path is not None else CAP_FILE
    try:
        raw: Any = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as e:
        raise PolicyError(f"{p}: cannot read: {e.strerror or e}") from None
    except yaml.YAMLError as e:
        raise PolicyError(f"{p}: not valid YAML: {' '.join(str(e).split())}") from None
    try:
        return CapPolicy.model_validate(raw)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(x) for x in err["loc"]) or "(top level)"
        raise PolicyError(f"{p}: {where}: {str(err['msg']).removeprefix('Value error, ')}") from None


@lru_cache(maxsize=1)
def default_cap_policy() -> CapPolicy:
    """The shipped ``data/cap.yaml``, loaded once."""
    return load_cap_policy()


# --- inputs ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TownRating:
    """One town's daily fire danger rating (森林火险气象等级), as the bulletin needs it.

    town_code: 12-digit NBS code (统计用区划代码) of the town (镇/街道); its first 6 digits are the
    GB/T 2260 county code. day: the date the rating is for (Beijing time). level: 1-5 (一级…五级).
    index_name/index_value: optionally the index the level came from (e.g. ``HTZ`` 78, ``FWI`` 23.4).
    valid_from/valid_to: aware datetimes of the valid period; default from ``data/cap.yaml`` ``valid``.
    """

    town_code: str
    town_name: str
    day: date
    level: int
    index_name: str | None = None
    index_value: float | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None

    @property
    def county_code(self) -> str:
        """The 6-digit GB/T 2260 county (district) code."""
        return self.town_code[:6]


def valid_period(day: date, policy: CapPolicy | None = None) -> tuple[datetime, datetime]:
    """The default valid period (有效期) of a rating for ``day``: from ``valid.start`` Beijing time on
    that day for ``valid.hours`` hours (data/cap.yaml). Returns two aware Asia/Shanghai datetimes."""
    pol = policy or default_cap_policy()
    start = datetime.combine(day, pol.valid.start, tzinfo=LOCAL_TZ)
    return start, start + timedelta(hours=pol.valid.hours)


def check_ratings(ratings: Sequence[TownRating]) -> None:
    """Check a bulletin's ratings: at least one; every town code 12 digits; every level 1-5; one day
    and one county for all; no town twice; valid_to after valid_from. Raises ValueError naming the
    index and the field."""
    if not ratings:
        raise ValueError("ratings: a bulletin needs at least one town rating")
    seen: set[str] = set()
    first = ratings[0]
    for i, r in enumerate(ratings):
        if not _TOWN.match(r.town_code):
            raise ValueError(f"ratings[{i}].town_code: {r.town_code!r} is not a 12-digit NBS code")
        if r.level not in LEVELS or isinstance(r.level, bool):
            raise ValueError(f"ratings[{i}].level: {r.level!r} is not a level 1-5")
        if not r.town_name.strip():
            raise ValueError(f"ratings[{i}].town_name: empty")
        if r.day != first.day:
            raise ValueError(f"ratings[{i}].day: {r.day} differs from the bulletin's day {first.day}")
        if r.county_code != first.county_code:
            raise ValueError(
                f"ratings[{i}].town_code: {r.town_code} is in county {r.county_code}, "
                f"the bulletin's is {first.county_code}"
            )
        if r.town_code in seen:
            raise ValueError(f"ratings[{i}].town_code: {r.town_code} is rated twice")
        seen.add(r.town_code)
        if (r.valid_from is None) != (r.valid_to is None):
            raise ValueError(f"ratings[{i}]: give both valid_from and valid_to, or neither")
        if r.valid_from is not None and r.valid_to is not None:
            for name, v in (("valid_from", r.valid_from), ("valid_to", r.valid_to)):
                if v.tzinfo is None or v.utcoffset() is None:
                    raise ValueError(f"ratings[{i}].{name}: must be timezone-aware")
            if r.valid_to <= r.valid_from:
                raise ValueError(f"ratings[{i}].valid_to: not after valid_from")


# --- XML ---------------------------------------------------------------------------------------------


def cap_time(dt: datetime) -> str:
    """A CAP 1.2 dateTime: Beijing time to the second with its offset, ``2026-11-30T08:00:00+08:00``.
    Raises ValueError for a naive datetime."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{dt.isoformat()}: a CAP time must be timezone-aware")
    return dt.astimezone(LOCAL_TZ).replace(microsecond=0).isoformat()


def _local_text(dt: datetime) -> str:
    d = dt.astimezone(LOCAL_TZ)
    return f"{d.year}年{d.month}月{d.day}日{d:%H:%M}"


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    el = ET.SubElement(parent, tag)
    if text is not None:
        el.text = text
    return el


def _pair(parent: ET.Element, tag: str, name: str, value: str) -> None:
    el = _sub(parent, tag)
    _sub(el, "valueName", name)
    _sub(el, "value", value)


def _checked(value: str, what: str) -> str:
    if not value or _RESTRICTED.search(value):
        raise ValueError(
            f"{what} {value!r}: must be non-empty, without spaces, commas, < or & (CAP 1.2 §3.2.1)"
        )
    return value


def _alert(identifier: str, sender: str, sent: datetime, status: Status, scope: str) -> ET.Element:
    if status not in STATUSES:
        raise ValueError(f"status {status!r}: must be one of {', '.join(STATUSES)}")
    # Unqualified children under a default xmlns: every element is in the CAP namespace, without
    # touching ElementTree's global prefix registry.
    root = ET.Element("alert", {"xmlns": CAP_NS})
    _sub(root, "identifier", _checked(identifier, "identifier"))
    _sub(root, "sender", _checked(sender, "sender"))
    _sub(root, "sent", cap_time(sent))
    _sub(root, "status", status)
    _sub(root, "msgType", "Alert")
    _sub(root, "scope", scope)
    return root


def _text(template: str, words: Mapping[str, Any]) -> str:
    """A multi-line text template filled in, its lines joined without spaces (Chinese prose)."""
    return "".join(line.strip() for line in template.strip().splitlines()).format(**words)


def _bytes(root: ET.Element) -> bytes:
    ET.indent(root, space="  ")
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True) + b"\n"


def identifier_for(
    district_code: str, day: date, sent: datetime, status: Status, policy: CapPolicy | None = None
) -> str:
    """The bulletin's CAP identifier from ``alert.identifier`` of data/cap.yaml, e.g.
    ``zhizhi-fire-500118-20261130-A-20261130T080000``."""
    pol = policy or default_cap_policy()
    return pol.alert.identifier.format(
        district_code=district_code,
        day=f"{day:%Y%m%d}",
        status=status[0],
        sent=f"{sent.astimezone(LOCAL_TZ):%Y%m%dT%H%M%S}",
    )


def bulletin_cap(
    ratings: Sequence[TownRating],
    *,
    district_name: str,
    sent: datetime,
    status: Status = "Actual",
    policy: CapPolicy | None = None,
    danger: DangerPolicy | None = None,
) -> bytes:
    """The daily fire danger bulletin of one district as one OASIS CAP 1.2 ``<alert>`` (UTF-8 bytes).

    Parameters
    ----------
    ratings : the towns' ratings for one day in one county (see :class:`TownRating`); one ``<info>``
        per town, in the order given.
    district_name : the county's name (e.g. 永川区), used in senderName, areaDesc and texts.
    sent : aware datetime the bulletin is issued (written in Beijing time).
    status : ``Actual`` (real), ``Exercise`` (drill 演练), ``Test``; ``System``/``Draft`` as CAP allows.
    policy, danger : the CAP and danger policies (default: the shipped data/cap.yaml, data/danger.yaml).

    Returns
    -------
    bytes : an XML document (declaration, UTF-8) valid against CAP-v1.2.xsd.

    Raises
    ------
    ValueError for invalid ratings (:func:`check_ratings`), a naive ``sent`` or an unknown status.

    Source: OASIS CAP 1.2 §3.2; level wording QX/T 77-2007 (data/danger.yaml).
    """
    pol = policy or default_cap_policy()
    dpol = danger or default_policy()
    check_ratings(ratings)
    county, day = ratings[0].county_code, ratings[0].day
    if not _COUNTY.match(county):  # pragma: no cover - implied by the 12-digit town check
        raise ValueError(f"county code {county!r} is not 6 digits")
    sender = pol.alert.sender.format(district_code=county)
    ident = identifier_for(county, day, sent, status, pol)
    root = _alert(ident, sender, sent, status, pol.alert.scope)
    for r in ratings:
        lv = dpol.level(r.level)
        cap_lv = pol.levels[r.level]
        start, end = (r.valid_from, r.valid_to) if r.valid_from and r.valid_to else valid_period(day, pol)
        words = {
            "district_name": district_name,
            "town_name": r.town_name,
            "date": f"{day.year}年{day.month}月{day.day}日",
            "md": f"{day.month}月{day.day}日",
            "label": lv.label,
            "name": lv.name,
            "colour_name": lv.colour_name,
            "danger": lv.danger,
            "ignition": lv.ignition,
            "spread": lv.spread,
            "service_text": lv.service_text,
            "warning_flag": lv.warning_flag,
            "valid_from": _local_text(start),
            "valid_to": _local_text(end),
        }
        info = _sub(root, "info")
        _sub(info, "language", pol.info.language)
        _sub(info, "category", pol.info.category)
        _sub(info, "event", pol.info.event)
        _sub(info, "responseType", cap_lv.response)
        _sub(info, "urgency", cap_lv.urgency)
        _sub(info, "severity", cap_lv.severity)
        _sub(info, "certainty", cap_lv.certainty)
        _sub(info, "effective", cap_time(start))
        _sub(info, "expires", cap_time(end))
        _sub(info, "senderName", pol.info.sender_name.format(**words))
        _sub(info, "headline", pol.info.headline.format(**words))
        _sub(info, "description", _text(pol.info.description, words))
        _pair(info, "parameter", "level", str(r.level))
        _pair(info, "parameter", "levelLabel", lv.label)
        _pair(info, "parameter", "levelName", lv.name)
        _pair(info, "parameter", "colour", lv.colour)
        _pair(info, "parameter", "colourName", lv.colour_name)
        _pair(info, "parameter", "warningFlag", lv.warning_flag)
        if r.index_name and r.index_value is not None:
            _pair(info, "parameter", r.index_name, f"{r.index_value:g}")
        area = _sub(info, "area")
        _sub(area, "areaDesc", pol.info.area_desc.format(**words))
        _pair(area, "geocode", pol.info.geocode_county, county)
        _pair(area, "geocode", pol.info.geocode_town, r.town_code)
    return _bytes(root)


@dataclass(frozen=True)
class HotspotAlert:
    """A satellite hotspot to verify (卫星热点), for a CAP alert: where (WGS-84 degrees), in which town
    (12-digit NBS code), when it was detected and by when it must be verified (aware datetimes)."""

    identifier: str
    town_code: str
    town_name: str
    lon: float
    lat: float
    detected_at: datetime
    verify_due_at: datetime


def hotspot_cap(
    h: HotspotAlert,
    *,
    district_name: str,
    sent: datetime,
    status: Status = "Exercise",
    policy: CapPolicy | None = None,
) -> bytes:
    """A satellite hotspot verification alert as OASIS CAP 1.2 (UTF-8 bytes): one ``<info>`` with a
    ``<circle>`` of ``hotspot.radius_km`` around the point and the town's geocodes. Drills use status
    ``Exercise`` (the default here). Raises ValueError for a bad town code, naive times or coordinates
    outside WGS-84 ranges. Source: OASIS CAP 1.2 §3.2 (circle: "lat,lon radius" in km)."""
    pol = policy or default_cap_policy()
    hp = pol.hotspot
    if not _TOWN.match(h.town_code):
        raise ValueError(f"town_code: {h.town_code!r} is not a 12-digit NBS code")
    if not (-180 <= h.lon <= 180 and -90 <= h.lat <= 90):
        raise ValueError(f"lon/lat {h.lon},{h.lat}: outside WGS-84 ranges")
    county = h.town_code[:6]
    root = _alert(h.identifier, pol.alert.sender.format(district_code=county), sent, status, pol.alert.scope)
    drill = status == "Exercise"
    words = {
        "district_name": district_name,
        "town_name": h.town_name,
        "lon": h.lon,
        "lat": h.lat,
        "detected": f"北京时间 {_local_text(h.detected_at)}",
        "due": f"北京时间 {_local_text(h.verify_due_at)}",
        "drill": "（演练）" if drill else "",
        "drill_note": "本信息为实战演练，非真实火情。" if drill else "",
    }
    info = _sub(root, "info")
    _sub(info, "language", pol.info.language)
    _sub(info, "category", pol.info.category)
    _sub(info, "event", hp.event)
    _sub(info, "responseType", hp.response)
    _sub(info, "urgency", hp.urgency)
    _sub(info, "severity", hp.severity)
    _sub(info, "certainty", hp.certainty)
    _sub(info, "effective", cap_time(sent))
    _sub(info, "expires", cap_time(sent + timedelta(hours=hp.valid_hours)))
    _sub(info, "senderName", pol.info.sender_name.format(**words))
    _sub(info, "headline", hp.headline.format(**words))
    _sub(info, "description", _text(hp.description, words))
    area = _sub(info, "area")
    _sub(area, "areaDesc", pol.info.area_desc.format(**words))
    _sub(area, "circle", f"{h.lat:.5f},{h.lon:.5f} {hp.radius_km:g}")
    _pair(area, "geocode", pol.info.geocode_county, county)
    _pair(area, "geocode", pol.info.geocode_town, h.town_code)
    return _bytes(root)


# --- GeoJSON -------------------------------------------------------------------------------------------


def _round(coords: Any, nd: int) -> Any:
    if isinstance(coords, (list, tuple)):
        if coords and isinstance(coords[0], (int, float)):
            return [round(float(c), nd) for c in coords]
        return [_round(c, nd) for c in coords]
    return coords


def bulletin_geojson(
    ratings: Sequence[TownRating],
    geometries: Mapping[str, BaseGeometry | None],
    *,
    generated: Mapping[str, bool] | None = None,
    status: Status = "Actual",
    policy: CapPolicy | None = None,
    danger: DangerPolicy | None = None,
    decimals: int = 6,
) -> bytes:
    """The daily bulletin as a GeoJSON FeatureCollection (RFC 7946; WGS-84 lon/lat) for the map.

    One Feature per town: its polygon from ``geometries[town_code]`` (shapely, WGS-84; ``None`` or
    missing → ``"geometry": null``), coordinates rounded to ``decimals`` places (6 ≈ 0.1 m), and
    properties town_code, town_name, county_code, date, level, label, name, colour (#RRGGBB),
    colour_name, warning_flag, valid_from/valid_to (ISO 8601, Beijing time), geometry_generated (the
    town polygon is zhizhi's approximation, not a surveyed boundary; from ``generated``). The
    collection's ``status`` member says Actual/Exercise/Test as in CAP. Returns UTF-8 JSON bytes.
    Raises ValueError for invalid ratings (:func:`check_ratings`).
    """
    pol = policy or default_cap_policy()
    dpol = danger or default_policy()
    check_ratings(ratings)
    feats = []
    for r in ratings:
        lv = dpol.level(r.level)
        start, end = (r.valid_from, r.valid_to) if r.valid_from and r.valid_to else valid_period(r.day, pol)
        g = geometries.get(r.town_code)
        geom = None
        if g is not None and not g.is_empty:
            m = dict(mapping(g))
            geom = {"type": m["type"], "coordinates": _round(m["coordinates"], decimals)}
        props: dict[str, Any] = {
            "town_code": r.town_code,
            "town_name": r.town_name,
            "county_code": r.county_code,
            "date": r.day.isoformat(),
            "level": r.level,
            "label": lv.label,
            "name": lv.name,
            "colour": lv.colour,
            "colour_name": lv.colour_name,
            "warning_flag": lv.warning_flag,
            "valid_from": start.astimezone(LOCAL_TZ).isoformat(),
            "valid_to": end.astimezone(LOCAL_TZ).isoformat(),
            "geometry_generated": bool((generated or {}).get(r.town_code, False)),
        }
        if r.index_name and r.index_value is not None:
            props["index_name"], props["index_value"] = r.index_name, r.index_value
        feats.append({"type": "Feature", "id": r.town_code, "geometry": geom, "properties": props})
    doc = {
        "type": "FeatureCollection",
        "name": f"森林火险气象等级 {ratings[0].county_code} {ratings[0].day.isoformat()}",
        "status": status,
        "features": feats,
    }
    return (json.dumps(doc, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
