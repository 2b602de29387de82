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

Modules: ``policy`` (data/cap.yaml), ``ratings`` (the bulletin's inputs and their checks), ``alert``
(the CAP XML documents), ``geojson`` (the map). Everything public is re-exported here.
"""

from zhizhi.scenarios.fire.cap.alert import (
    CAP_NS,
    HotspotAlert,
    bulletin_cap,
    cap_time,
    hotspot_cap,
    identifier_for,
)
from zhizhi.scenarios.fire.cap.geojson import bulletin_geojson
from zhizhi.scenarios.fire.cap.policy import (
    CAP_FILE,
    STATUSES,
    AlertPolicy,
    CapPolicy,
    Certainty,
    HotspotPolicy,
    InfoPolicy,
    LevelMapping,
    Response,
    Severity,
    Status,
    Urgency,
    ValidPolicy,
    default_cap_policy,
    load_cap_policy,
)
from zhizhi.scenarios.fire.cap.ratings import TownRating, check_ratings, valid_period

__all__ = [
    "CAP_FILE",
    "CAP_NS",
    "STATUSES",
    "AlertPolicy",
    "CapPolicy",
    "Certainty",
    "HotspotAlert",
    "HotspotPolicy",
    "InfoPolicy",
    "LevelMapping",
    "Response",
    "Severity",
    "Status",
    "TownRating",
    "Urgency",
    "ValidPolicy",
    "bulletin_cap",
    "bulletin_geojson",
    "cap_time",
    "check_ratings",
    "default_cap_policy",
    "hotspot_cap",
    "identifier_for",
    "load_cap_policy",
    "valid_period",
]
