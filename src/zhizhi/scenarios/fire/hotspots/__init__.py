"""Satellite hotspots (卫星热点): NASA FIRMS active-fire files, clustering, persistent heat sources.

Pure functions over plain values and numpy arrays; no database. ``firms`` reads the files (``table``
splits them into columns with numpy, ``convert`` turns columns into numbers and distinct values),
``cluster`` groups detections of one fire and finds places detected on many days, ``samepass`` picks
the best of the duplicate rows of one satellite pass (overlapping scans); everything public
is re-exported here. The service (``fire/service.py``) stores what is parsed and turns clusters into
events.

Files read
----------
NASA FIRMS (Fire Information for Resource Management System) active-fire CSVs:

* MODIS Collection 6.1 (MCD14DL NRT, MCD14ML standard): ``latitude, longitude, brightness, scan,
  track, acq_date, acq_time, satellite, confidence, version, bright_t31, frp, daynight``;
* VIIRS 375 m I-band Collection 2 (S-NPP VNP14IMGTDL, NOAA-20 VJ114IMGTDL, NOAA-21 VJ214IMGTDL, and
  the standard VNP14IMGTML): the same with ``bright_ti4`` / ``bright_ti5`` in place of
  ``brightness`` / ``bright_t31``;
* plus, in Area-API and archive downloads, ``instrument``, and in standard/archive downloads ``type``.

Column names are matched without regard to case or surrounding blanks; other columns are ignored.
All times are UTC (FIRMS "Active fire data attributes"); they are stored as UTC and shown in
Beijing time (北京时间, UTC+8). Units: lat/lon WGS-84 degrees (pixel centre), brightness K, scan and
track km, FRP MW.

Confidence (置信度)
-------------------
MODIS gives an integer 0-100 %. FIRMS suggests three classes, low 0-30, nominal 30-80 and high 80-100,
without saying which class owns a boundary; here **low < 30 <= nominal < 80 <= high**.
VIIRS gives only a class, as ``l/n/h`` (Area API, archive) or ``low/nominal/high`` (static NRT files).
It is normalised to the middle of the matching MODIS range, so both sensors share one 0-100 scale
and the number maps back to the same class: **low 15, nominal 55, high 90**. The original class is
kept beside the number (``confidence_class``) and so is the original text (``confidence_raw``).
"""

from zhizhi.scenarios.fire.hotspots.acqtime import FUTURE_TOLERANCE
from zhizhi.scenarios.fire.hotspots.cluster import (
    StaticCandidate,
    cluster_labels,
    haversine_km,
    static_candidates,
)
from zhizhi.scenarios.fire.hotspots.firms import (
    BEIJING,
    CLASS_LABEL_ZH,
    CLASS_VALUE,
    CONFIDENCE_CLASSES,
    DAYNIGHT_ZH,
    FIRE_TYPE_ZH,
    FIRE_TYPES,
    MAX_PIXEL_KM,
    MODIS_CLASS_BOUNDS,
    MODIS_COLUMNS,
    OPTIONAL_COLUMNS,
    PLATFORMS,
    VIIRS_COLUMNS,
    VIIRS_CONFIDENCE,
    Detections,
    FirmsFile,
    beijing,
    datetime64_to_utc,
    detection_key,
    parse_bytes,
    parse_firms,
    pixel_diagonal_km,
    read_firms,
)
from zhizhi.scenarios.fire.hotspots.samepass import SAME_PASS_FRACTION, same_pass_best

__all__ = [
    "BEIJING",
    "CLASS_LABEL_ZH",
    "CLASS_VALUE",
    "CONFIDENCE_CLASSES",
    "DAYNIGHT_ZH",
    "FIRE_TYPES",
    "FIRE_TYPE_ZH",
    "FUTURE_TOLERANCE",
    "MAX_PIXEL_KM",
    "MODIS_CLASS_BOUNDS",
    "MODIS_COLUMNS",
    "OPTIONAL_COLUMNS",
    "PLATFORMS",
    "SAME_PASS_FRACTION",
    "VIIRS_COLUMNS",
    "VIIRS_CONFIDENCE",
    "Detections",
    "FirmsFile",
    "StaticCandidate",
    "beijing",
    "cluster_labels",
    "datetime64_to_utc",
    "detection_key",
    "haversine_km",
    "parse_bytes",
    "parse_firms",
    "pixel_diagonal_km",
    "read_firms",
    "same_pass_best",
    "static_candidates",
]
