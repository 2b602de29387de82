"""Plausibility checks of the weather input (风速单位与站点距离检查): wind in the wrong unit, implausible
wind, and towns rated from a far station. Pure functions over plain values; they warn, and name the
one case the commands refuse (a median that says km/h read as m/s).

Why. ``zhizhi fire fwi`` reads wind in km/h (the FWI System's unit) and ``zhizhi fire danger`` in m/s
(Chinese station data): the defaults differ and a file in the other unit is read without an error —
a km/h file read as m/s is 3.6 times too windy, an m/s file read as km/h 3.6 times too calm. Both
commands say which unit they assumed, and these checks flag what looks wrong:

* a value above :attr:`WindLimits.max_ms` (40 m/s) in a file read as m/s, or above
  :attr:`WindLimits.max_kmh` (150 km/h) in one read as km/h — above hurricane force (Beaufort 12 from
  32.7 m/s ≈ 118 km/h; China's highest station gusts are in the 40-60 m/s range, on coasts and
  mountain tops, not daily winds of an inland district); each row is named (line and station);
* a file read as m/s whose median wind is above :attr:`WindLimits.median_ms` (15 m/s, Beaufort 7,
  as a typical day): most likely a km/h file. Not a warning but a refusal (:func:`implausible_medians`,
  :func:`median_refusal`): read as m/s such a file rates every town 3.6 times too windy, and those
  ratings feed the public bulletin — unless the user overrides (``--accept-implausible-wind``),
  when it is a warning again. Single outlier rows stay warnings;
* a town rated from a station farther than ``max_km`` (default :data:`DEFAULT_MAX_STATION_KM`, 50 km):
  the nearest station's weather may not be the town's (straight-line distance; terrain not counted).

Physically impossible values (negative, above 400 km/h) are refused by the readers (weather.py,
station/); these checks are about the possible but implausible.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

DEFAULT_MAX_STATION_KM = 50.0
"""Towns rated from a station farther than this (km) are listed in a warning."""

MAX_LISTED = 10
"""Rows or towns named in one warning; the rest are counted."""


@dataclass(frozen=True)
class WindLimits:
    """Thresholds of the wind checks (module docstring): ``max_ms`` m/s for a file read as m/s,
    ``max_kmh`` km/h for one read as km/h, ``median_ms`` m/s for the median of a file read as m/s."""

    max_ms: float = 40.0
    max_kmh: float = 150.0
    median_ms: float = 15.0


def unit_note(columns: str, unit: str, default: str, given: bool, other_option: str) -> str:
    """One line saying which wind unit was assumed for ``columns``: e.g. ``wind: ws read as km/h (the
    default of this command; --wind-unit m/s for m/s data)`` or ``… read as m/s (--wind-unit)``."""
    if given:
        return f"wind: {columns} read as {unit} (--wind-unit {unit})"
    why = "the default of this command" if unit == default else "assumed"
    return f"wind: {columns} read as {unit} ({why}; {other_option} for data in the other unit)"


def _listed(items: list[str], what: str) -> str:
    shown = "; ".join(items[:MAX_LISTED])
    more = len(items) - MAX_LISTED
    return shown + (f"; … and {more} more {what}" if more > 0 else "")


def wind_warnings(
    values: Sequence[float],
    where: Sequence[str],
    *,
    column: str,
    unit: str,
    other_option: str,
    limits: WindLimits | None = None,
) -> list[str]:
    """Warnings about the wind ``values`` of one column, as written in the file (in ``unit``, ``"m/s"``
    or ``"km/h"``; NaN = missing, skipped). ``where`` names each value's row (e.g. ``line 5 (station
    57517)``); ``column`` is the column's name as written; ``other_option`` is the option that reads
    the other unit (said in the median warning). Returns 0 to 2 lines without a ``warning:`` prefix:
    the implausible values (the first :data:`MAX_LISTED` named), and for m/s a median too high (the
    commands refuse that case first, :func:`implausible_medians`, unless the user overrides it)."""
    lim = limits or WindLimits()
    if unit not in ("m/s", "km/h"):
        raise ValueError(f'wind unit must be m/s or km/h, got "{unit}"')
    if len(values) != len(where):
        raise ValueError(f"{len(values)} values but {len(where)} row names")
    top = lim.max_ms if unit == "m/s" else lim.max_kmh
    out: list[str] = []
    high = [f"{w}: {v:g}" for v, w in zip(values, where, strict=True) if not math.isnan(v) and v > top]
    if high:
        out.append(
            f"{column}: {len(high)} value{'s' if len(high) != 1 else ''} above {top:g} {unit} "
            f"(implausible as wind; check the value and the unit): {_listed(high, 'rows')}"
        )
    known = sorted(v for v in values if not math.isnan(v))
    if unit == "m/s" and known:
        n = len(known)
        median = _median(known)
        if median > lim.median_ms:
            out.append(
                f"{column}: the median over {n} row{'s' if n != 1 else ''} is {median:g} m/s, above "
                f"{lim.median_ms:g} m/s: is the file in km/h? ({other_option} reads it so)"
            )
    return out


@dataclass(frozen=True)
class ImplausibleMedian:
    """A wind column read as m/s whose median is above the limit: ``column`` as written in the file,
    ``median`` and ``limit`` in m/s, over ``rows`` known values (NaN skipped)."""

    column: str
    median: float
    rows: int
    limit: float


ACCEPT_OPTION = "--accept-implausible-wind"
"""The option that rates a file whose median wind is implausible as m/s all the same."""


def _median(known: Sequence[float]) -> float:
    n = len(known)
    return known[n // 2] if n % 2 else (known[n // 2 - 1] + known[n // 2]) / 2


def implausible_medians(
    columns: Sequence[tuple[str, Sequence[float]]], unit: str, limits: WindLimits | None = None
) -> list[ImplausibleMedian]:
    """The wind ``columns`` ((name as written, values in ``unit``; NaN = missing)) whose median is
    above :attr:`WindLimits.median_ms`. Only a file read as m/s is checked (``unit`` ``"km/h"``
    returns ``[]``). Raises ValueError for a unit other than m/s or km/h."""
    lim = limits or WindLimits()
    if unit not in ("m/s", "km/h"):
        raise ValueError(f'wind unit must be m/s or km/h, got "{unit}"')
    if unit != "m/s":
        return []
    out: list[ImplausibleMedian] = []
    for column, values in columns:
        known = sorted(v for v in values if not math.isnan(v))
        if known and (median := _median(known)) > lim.median_ms:
            out.append(ImplausibleMedian(column, median, len(known), lim.median_ms))
    return out


def median_refusal(file: str, found: Sequence[ImplausibleMedian]) -> str:
    """The one-line refusal of ``file`` whose wind columns ``found`` (non-empty) have an implausible
    median as m/s, naming file, column and median and the two ways on (``--wind-unit km/h``, or
    :data:`ACCEPT_OPTION` to rate it as m/s all the same)."""
    if not found:
        raise ValueError("median_refusal needs at least one column")
    cols = "; ".join(
        f"column {f.column}: the median over {f.rows} row{'s' if f.rows != 1 else ''} is {f.median:g} m/s"
        for f in found
    )
    return (
        f"{file}: {cols}, above {found[0].limit:g} m/s — the wind looks like km/h read as m/s; nothing "
        f"rated or stored. Pass --wind-unit km/h if the file is in km/h, or {ACCEPT_OPTION} to rate it "
        "as m/s all the same"
    )


def far_station_warnings(
    towns: Sequence[tuple[str, str, str, float]], max_km: float = DEFAULT_MAX_STATION_KM
) -> list[str]:
    """Warnings about towns rated from a station farther than ``max_km``: ``towns`` is (town code,
    town name, station, distance km) per rated town. Returns 0 or 1 line (the first
    :data:`MAX_LISTED` towns named, the farthest first) without a ``warning:`` prefix."""
    if not max_km >= 0:
        raise ValueError(f"max_km must be >= 0, got {max_km}")
    far = sorted((t for t in towns if t[3] > max_km), key=lambda t: (-t[3], t[0]))
    if not far:
        return []
    named = [f"{code} {name} from station {st} {km:.1f} km away" for code, name, st, km in far]
    return [
        f"{len(far)} town{'s' if len(far) != 1 else ''} rated from a station more than {max_km:g} km "
        f"away (straight line; its weather may not be the town's): {_listed(named, 'towns')}"
    ]
