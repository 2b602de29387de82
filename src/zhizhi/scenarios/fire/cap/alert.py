"""CAP 1.2 XML documents (CAP 预警报文): the daily bulletin (one ``<alert>``, one ``<info>`` per town)
and the satellite hotspot verification alert."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from zhizhi.core.time import LOCAL_TZ
from zhizhi.scenarios.fire.cap.policy import STATUSES, CapPolicy, Status, default_cap_policy
from zhizhi.scenarios.fire.cap.ratings import _COUNTY, _TOWN, TownRating, check_ratings, valid_period
from zhizhi.scenarios.fire.rules import DangerPolicy, default_policy

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
_RESTRICTED = re.compile(r"[\s,<&]")  # CAP 1.2 §3.2.1: not in sender or identifier


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
