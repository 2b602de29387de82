"""Daily station weather for the fire danger rating (气象站逐日资料): reading, checking, rating a day.

Pure functions over plain values and numpy arrays; no database. The service
(``service/danger.py``) stores the ratings and assigns towns and grids to their nearest station.

File layout (CSV; column names in any letter case and order; extra columns ignored)::

    station,lon,lat,date,tmax,rh_min,rain,wind_max[,temp,rh,ws[,prec]][,green_cover][,snow_cover]

* ``station`` (or ``id``): the station identifier (气象站号), text; ``lon``/``lat`` (or ``long``,
  ``longitude``/``latitude``): its position, WGS-84 degrees, the same on every row of the station;
* ``date``: ``YYYY-MM-DD`` (``2026/08/13`` and other forms are refused), the station's dates
  consecutive, one row a day;
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
position changes, a duplicate date or a gap in a station's dates. With ``clamp_rh`` an ``rh_min`` or
``rh`` value in (100, 101] (a sensor's rounding) is read as 100 and counted
(``DailyWeather.rh_clamped``); the rows are read by the shared :mod:`zhizhi.scenarios.fire.csvread`.

Modules: ``read`` (the file, checked), ``rating`` (rating one day, nearest stations). Everything public
is re-exported here.
"""

from zhizhi.scenarios.fire.station.rating import (
    Carry,
    StationRating,
    nearest_stations,
    rate_day,
    rate_station,
)
from zhizhi.scenarios.fire.station.read import (
    ALIASES,
    FWI_NAMES,
    LAYOUT,
    LIMITS,
    NOON,
    OPTIONAL,
    REQUIRED,
    DailyWeather,
    StationSeries,
    parse_daily_weather,
)

__all__ = [
    "ALIASES",
    "FWI_NAMES",
    "LAYOUT",
    "LIMITS",
    "NOON",
    "OPTIONAL",
    "REQUIRED",
    "Carry",
    "DailyWeather",
    "StationRating",
    "StationSeries",
    "nearest_stations",
    "parse_daily_weather",
    "rate_day",
    "rate_station",
]
