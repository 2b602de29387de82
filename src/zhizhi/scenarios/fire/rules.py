"""Fire danger rating rules (森林火险气象等级): the Chinese HTZ scorer, dry days, FWI classes.

Pure logic over plain values and numpy arrays; every table (factor bins, level thresholds, names,
colours, the Beaufort scale, EFFIS classes) is data in ``data/danger.yaml``, loaded and checked by
:func:`load_danger_policy`. Replacing a table is a data change.

The Chinese method (LY/T 1172-1995 structure, continued by QX/T 77-2007 and GB/T 36743-2018) scores
five factors and sums them: **HTZ = A + B + C + D − E** (森林火险天气指数), with A the daily maximum
temperature, B the daily minimum relative humidity, C the consecutive days without rain, D the daily
maximum wind force and E the phenology (green-grass or snow cover) correction; HTZ then maps to the
five levels 一级…五级. The official GB/T 36743-2018 tables are not available to us: the shipped
tables are provisional and each names its source in the YAML (see docs/domains/fire.md).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np
import yaml
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

DATA_DIR = Path(__file__).parent / "data"
DANGER_FILE = DATA_DIR / "danger.yaml"

INPUTS = ("tmax", "rh_min", "rain", "dry_days", "wind_force", "green_cover", "snow_cover")
"""The inputs a factor table may score (names used in the YAML ``input`` / ``parts`` keys)."""
LEVELS = (1, 2, 3, 4, 5)
COLOUR_PATTERN = r"^#[0-9A-Fa-f]{6}$"

Bin = tuple[float | None, float | None, float]


def check_bins(bins: list[Bin]) -> list[Bin]:
    """``bins`` if they are contiguous and ordered with open ends, else ValueError saying which bin."""
    if not bins:
        raise ValueError("bins: at least one bin is needed")
    if bins[0][0] is not None:
        raise ValueError(f"bins[0]: the first bin must start open (~), not at {bins[0][0]}")
    if bins[-1][1] is not None:
        raise ValueError(f"bins[{len(bins) - 1}]: the last bin must end open (~), not at {bins[-1][1]}")
    for i, (lo, hi, _) in enumerate(bins):
        if i > 0 and lo is None:
            raise ValueError(f"bins[{i}]: only the first bin may start open (~)")
        if i < len(bins) - 1 and hi is None:
            raise ValueError(f"bins[{i}]: only the last bin may end open (~)")
        if lo is not None and hi is not None and not lo < hi:
            raise ValueError(f"bins[{i}]: lower {lo:g} is not below upper {hi:g}")
        prev = bins[i - 1][1] if i > 0 else None
        if i > 0 and lo != prev:
            raise ValueError(
                f"bins[{i}]: lower {lo:g} does not continue the previous bin's upper {prev:g} "
                "(bins must be contiguous and in increasing order)"
            )
    return bins


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BinTable(_Model):
    """A contiguous, ordered table of bins ``[lower, upper, value]`` (``None`` = open end)."""

    closed: Literal["left", "right"]
    bins: list[Bin] = Field(min_length=1)
    source: str | None = None
    provisional: bool | None = None

    @field_validator("bins")
    @classmethod
    def _contiguous(cls, bins: list[Bin]) -> list[Bin]:
        return check_bins(bins)

    @property
    def edges(self) -> NDArray[np.float64]:
        return np.array([b[1] for b in self.bins[:-1]], dtype=np.float64)

    @property
    def values(self) -> NDArray[np.float64]:
        return np.array([b[2] for b in self.bins], dtype=np.float64)

    def lookup(self, x: ArrayLike) -> NDArray[np.float64]:
        """The bin value for each element of ``x`` (a float array of the same shape)."""
        side: Literal["left", "right"] = "left" if self.closed == "right" else "right"
        idx = np.searchsorted(self.edges, np.asarray(x, dtype=np.float64), side=side)
        return self.values[idx]


class _LevelTable(BinTable):
    """A bin table whose values are the levels 1-5, each reached, in non-decreasing order."""

    @model_validator(mode="after")
    def _levels(self) -> _LevelTable:
        vals = [b[2] for b in self.bins]
        if any(v not in LEVELS for v in vals):
            raise ValueError(f"bin values must be levels 1-5, got {vals}")
        if vals != sorted(vals) or set(vals) != set(LEVELS):
            raise ValueError(f"bin values must go up through every level 1-5 in order, got {vals}")
        return self


class Part(BinTable):
    """One scored input of a factor: its unit and valid range, and its bin table."""

    unit: str
    range: tuple[float, float]


class Factor(_Model):
    """One HTZ factor: a single input scored by ``bins``, or several ``parts`` combined (``max``)."""

    name: str
    sign: Literal[1, -1]
    provisional: bool
    source: str
    input: str | None = None
    unit: str | None = None
    range: tuple[float, float] | None = None
    closed: Literal["left", "right"] | None = None
    bins: list[Bin] | None = None
    combine: Literal["max"] | None = None
    parts: dict[str, Part] | None = None

    @model_validator(mode="after")
    def _shape(self) -> Factor:
        single = (self.input, self.unit, self.range, self.closed, self.bins)
        if self.parts is None:
            if any(v is None for v in single):
                raise ValueError("a factor needs input, unit, range, closed and bins (or parts and combine)")
            check_bins(self.bins)  # type: ignore[arg-type]
            lo, hi = self.range  # type: ignore[misc]
            if not lo < hi:
                raise ValueError(f"range: {lo:g} is not below {hi:g}")
        elif any(v is not None for v in single) or self.combine is None:
            raise ValueError("a factor with parts needs combine and no input/unit/range/closed/bins")
        for name in self.inputs:
            if name not in INPUTS:
                raise ValueError(f'unknown input "{name}" (known: {", ".join(INPUTS)})')
        return self

    @property
    def tables(self) -> dict[str, Part]:
        if self.parts is not None:
            return dict(self.parts)
        return {self.input: Part(unit=self.unit, range=self.range, closed=self.closed, bins=self.bins)}  # type: ignore[arg-type,dict-item]

    @property
    def inputs(self) -> list[str]:
        return list(self.parts) if self.parts is not None else [str(self.input)]


class HTZPolicy(_Model):
    formula: str
    dry_day_rain_max_mm: float = Field(ge=0)
    factors: dict[str, Factor] = Field(min_length=1)
    levels: _LevelTable


class Level(_Model):
    """A danger level 1-5 (一级…五级) with its names and colour (QX/T 77-2007)."""

    level: int
    label: str
    name: str
    danger: str
    ignition: str
    spread: str
    colour_name: str
    colour: str = Field(pattern=COLOUR_PATTERN)
    service_text: str
    warning_flag: str
    ly_t_1172: str


class Levels(_Model):
    source: str
    items: list[Level]

    @field_validator("items")
    @classmethod
    def _five(cls, items: list[Level]) -> list[Level]:
        got = [i.level for i in items]
        if got != list(LEVELS):
            raise ValueError(f"there must be exactly five levels numbered 1-5 in order, got {got}")
        return items


class Label(_Model):
    en: str
    zh: str


class EffisTable(BinTable):
    labels: dict[int, Label]

    @model_validator(mode="after")
    def _classes(self) -> EffisTable:
        vals = [int(b[2]) for b in self.bins]
        if vals != list(range(1, len(vals) + 1)):
            raise ValueError(f"class values must be 1, 2, … in order, got {[b[2] for b in self.bins]}")
        if set(self.labels) != set(vals):
            raise ValueError(f"labels must name exactly the classes {vals}, got {sorted(self.labels)}")
        return self


class DangerPolicy(_Model):
    """The whole ``danger.yaml``: levels, the HTZ scorer, the Beaufort scale, FWI class tables."""

    version: int
    levels: Levels
    htz: HTZPolicy
    beaufort: BinTable
    effis: EffisTable
    fwi_levels: _LevelTable

    def level(self, level: int) -> Level:
        """The :class:`Level` numbered ``level`` (1-5); ValueError for another number."""
        if level not in LEVELS:
            raise ValueError(f"level must be 1-5, got {level!r}")
        return self.levels.items[level - 1]


class PolicyError(ValueError):
    """A policy file is unreadable or invalid; the message names the file and the key."""


M = TypeVar("M", bound=BaseModel)


def load_policy_file(model: type[M], path: Path) -> M:
    """Read the YAML policy file ``path`` and check it with the pydantic ``model`` (the shared loader of
    the fire policy files: grading, hazards, resources, KPIs, drills, CAP, bulletin).

    Raises PolicyError (a ValueError) naming the file, the key path of the first problem (none for a
    check of the whole file, whose message names its keys) and the reason: unreadable file, invalid
    YAML or an invalid value.
    """
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise PolicyError(f"{path}: cannot read: {e.strerror or e}") from None
    except yaml.YAMLError as e:
        raise PolicyError(f"{path}: not valid YAML: {' '.join(str(e).split())}") from None
    try:
        return model.model_validate(raw)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(x) for x in err["loc"])  # empty for a check of the whole file
        msg = str(err["msg"]).removeprefix("Value error, ")
        raise PolicyError(f"{path}: {where}: {msg}" if where else f"{path}: {msg}") from None


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for p in loc:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(top level)"


def load_danger_policy(path: str | Path | None = None) -> DangerPolicy:
    """Load and check a danger policy YAML file (default: the shipped ``data/danger.yaml``).

    Checks: every bin table contiguous and ordered with open ends; exactly five levels 1-5; colours
    ``#RRGGBB``; level tables reaching every level in order; factor inputs among :data:`INPUTS`.

    Raises
    ------
    PolicyError (a ValueError) naming the file and the key path (e.g. ``htz.factors.A.bins``) and the
    reason, for an unreadable file, invalid YAML or an invalid value.
    """
    p = Path(path) if path is not None else DANGER_FILE
    try:
        raw: Any = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as e:
        raise PolicyError(f"{p}: cannot read: {e.strerror or e}") from None
    except yaml.YAMLError as e:
        raise PolicyError(f"{p}: not valid YAML: {' '.join(str(e).split())}") from None
    try:
        return DangerPolicy.model_validate(raw)
    except ValidationError as e:
        parts = []
        for err in e.errors():
            msg = str(err["msg"]).removeprefix("Value error, ")
            parts.append(f"{_loc(err['loc'])}: {msg}")
        raise PolicyError(f"{p}: {'; '.join(parts)}") from None


@lru_cache(maxsize=1)
def default_policy() -> DangerPolicy:
    """The shipped policy (``data/danger.yaml``), loaded once."""
    return load_danger_policy()


def _values(name: str, x: ArrayLike, lo: float, hi: float, unit: str) -> NDArray[np.float64]:
    """``x`` as a float array; ValueError naming ``name``, the index and the value if any element is
    NaN or outside [lo, hi]."""
    a = np.asarray(x, dtype=np.float64)
    bad = np.isnan(a) | (a < lo) | (a > hi)
    if bad.any():
        i = int(np.argmax(bad.ravel()))
        v = float(a.ravel()[i])
        pos = tuple(int(j) for j in np.unravel_index(i, a.shape))
        where = "" if not pos else f" at index {pos[0] if len(pos) == 1 else pos}"
        if math.isinf(lo) or math.isinf(hi):
            rng = f"below {lo:g}" if v < lo else f"above {hi:g}"
        else:
            rng = f"outside {lo:g} to {hi:g}"
        why = "is missing (NaN)" if math.isnan(v) else f"= {v:g} is {rng} {unit}".rstrip()
        raise ValueError(f"{name}{where} {why}")
    return a


def beaufort_force(wind_ms: ArrayLike, policy: DangerPolicy | None = None) -> NDArray[np.int64]:
    """Beaufort wind force (风力等级, 0-12) of a 10 m wind speed in m/s (array, >= 0).

    Returns an int array of the same shape. Raises ValueError for a negative or NaN speed.
    Source: the ``beaufort`` table of the policy (吕巍伟 et al. 2020 Table 9; WMO Beaufort scale).
    """
    pol = policy or default_policy()
    w = _values("wind_ms", wind_ms, 0.0, math.inf, "m/s")
    return pol.beaufort.lookup(w).astype(np.int64)


def consecutive_dry_days(
    rain: ArrayLike,
    *,
    dry_max_mm: float | None = None,
    before: ArrayLike = 0,
    policy: DangerPolicy | None = None,
) -> NDArray[np.int64]:
    """Consecutive days without rain (连续无降水日数) up to and including each day.

    Parameters
    ----------
    rain : array (days,) or (days, n) of daily rain, mm (>= 0), days in order along axis 0.
    dry_max_mm : a day is dry when its rain is at most this (default: the policy's
        ``htz.dry_day_rain_max_mm``, 0.1 mm).
    before : dry days already counted before the first day (scalar or (n,)); default 0.

    Returns
    -------
    int array of the shape of ``rain``: 0 on a rain day, else the previous day's count + 1.

    Raises ValueError for negative or NaN rain. Source: LY/T 1172-1995 factor C (definition).
    """
    pol = policy or default_policy()
    limit = pol.htz.dry_day_rain_max_mm if dry_max_mm is None else dry_max_mm
    r = _values("rain", rain, 0.0, math.inf, "mm")
    if r.ndim == 0:
        raise ValueError("rain must be a series (days,) or (days, n)")
    out = np.empty(r.shape, dtype=np.int64)
    count = np.broadcast_to(np.asarray(before, dtype=np.int64), r.shape[1:]).copy()
    for i in range(r.shape[0]):
        count = np.where(r[i] <= limit, count + 1, 0)
        out[i] = count
    return out


@dataclass(frozen=True)
class HTZRating:
    """Result of :func:`rate_htz`: each factor's score (before its sign), HTZ and the level 1-5."""

    scores: dict[str, NDArray[np.float64]]
    htz: NDArray[np.float64]
    level: NDArray[np.int64]


def rate_htz(
    tmax: ArrayLike,
    rh_min: ArrayLike,
    rain: ArrayLike,
    dry_days: ArrayLike,
    *,
    wind_ms: ArrayLike | None = None,
    wind_force: ArrayLike | None = None,
    green_cover: ArrayLike = 0.0,
    snow_cover: ArrayLike = 0.0,
    policy: DangerPolicy | None = None,
) -> HTZRating:
    """Forest fire danger weather index HTZ (森林火险天气指数) and level (一级…五级), per day and place.

    Parameters (arrays broadcast together)
    ----------
    tmax : daily maximum air temperature, °C.
    rh_min : daily minimum relative humidity, %, 0-100.
    rain : the day's rain, mm (>= 0); a day with more than ``htz.dry_day_rain_max_mm`` must have
        ``dry_days`` 0.
    dry_days : consecutive days without rain including the day (:func:`consecutive_dry_days`).
    wind_ms : daily maximum 10 m wind speed, m/s (converted by :func:`beaufort_force`); or
    wind_force : daily maximum wind force, Beaufort 0-17 (give exactly one of the two).
    green_cover : green-grass cover of the area, % (phenology correction E).
    snow_cover : snow cover, % (correction E).
    policy : the tables (default: the shipped ``danger.yaml``).

    Returns
    -------
    :class:`HTZRating`: ``scores`` per factor key (A, B, C, D, E…), ``htz`` = Σ sign·score, and
    ``level`` from the ``htz.levels`` table.

    Raises
    ------
    ValueError naming the input, the index and the value, for a NaN or out-of-range input (ranges
    from the policy), a non-integer ``dry_days``, ``dry_days`` > 0 on a rain day, or not exactly one
    of ``wind_ms`` / ``wind_force``.

    Source: LY/T 1172-1995 (structure HTZ = A + B + C + D − E, level thresholds); factor tables as
    named in the policy (provisional: GB/T 36743-2018 tables not available).
    """
    pol = policy or default_policy()
    if (wind_ms is None) == (wind_force is None):
        raise ValueError("give exactly one of wind_ms (m/s) or wind_force (Beaufort)")
    force = beaufort_force(wind_ms, pol) if wind_ms is not None else wind_force
    r = _values("rain", rain, 0.0, math.inf, "mm")
    dd = np.asarray(dry_days, dtype=np.float64)
    if np.any(dd != np.round(dd)):
        raise ValueError(f"dry_days must be whole days, got {dd[dd != np.round(dd)].ravel()[0]:g}")
    wet = np.broadcast_to(r > pol.htz.dry_day_rain_max_mm, np.broadcast_shapes(r.shape, dd.shape))
    if np.any(wet & (np.broadcast_to(dd, wet.shape) != 0)):
        raise ValueError(
            f"dry_days must be 0 on a day with more than {pol.htz.dry_day_rain_max_mm:g} mm of rain"
        )
    given: Mapping[str, ArrayLike] = {
        "tmax": tmax,
        "rh_min": rh_min,
        "rain": r,
        "dry_days": dd,
        "wind_force": force,  # type: ignore[dict-item]
        "green_cover": green_cover,
        "snow_cover": snow_cover,
    }
    scores: dict[str, NDArray[np.float64]] = {}
    total: NDArray[np.float64] | float = 0.0
    for key, factor in pol.htz.factors.items():
        part_scores = []
        for name, table in factor.tables.items():
            lo, hi = table.range
            part_scores.append(table.lookup(_values(name, given[name], lo, hi, table.unit)))
        score = part_scores[0]
        for s in part_scores[1:]:
            score = np.maximum(score, s)
        scores[key] = score
        total = total + factor.sign * score
    htz = np.asarray(total, dtype=np.float64)
    return HTZRating(scores, htz, pol.htz.levels.lookup(htz).astype(np.int64))


def htz_level(htz: ArrayLike, policy: DangerPolicy | None = None) -> NDArray[np.int64]:
    """Level 1-5 (一级…五级) of an HTZ index (array). Source: the policy's ``htz.levels`` table
    (LY/T 1172-1995 thresholds). Raises ValueError for NaN."""
    pol = policy or default_policy()
    return pol.htz.levels.lookup(_values("htz", htz, -math.inf, math.inf, "")).astype(np.int64)


def _classify(table: BinTable, fwi: ArrayLike) -> NDArray[np.int64]:
    f = np.asarray(fwi, dtype=np.float64)
    cls = table.lookup(np.where(np.isnan(f), 0.0, f)).astype(np.int64)
    return np.where(np.isnan(f), 0, cls)


def effis_class(fwi: ArrayLike, policy: DangerPolicy | None = None) -> NDArray[np.int64]:
    """EFFIS fire danger class of an FWI value: 1 very low (< 5.2), 2 low (5.2-11.2), 3 moderate
    (11.2-21.3), 4 high (21.3-38.0), 5 very high (38.0-50.0), 6 extreme (>= 50.0); lower bounds
    included. fwi: array; returns an int array of the same shape, 0 where FWI is NaN (no class).
    Source: JRC EFFIS fire danger forecast, technical background (policy ``effis``)."""
    return _classify((policy or default_policy()).effis, fwi)


def effis_label(cls: int, lang: Literal["en", "zh"] = "en", policy: DangerPolicy | None = None) -> str:
    """The name of EFFIS class ``cls`` (1-6) in English or Chinese; ValueError for another class."""
    labels = (policy or default_policy()).effis.labels
    if cls not in labels:
        raise ValueError(f"EFFIS class must be 1-{len(labels)}, got {cls!r}")
    return getattr(labels[cls], lang)  # type: ignore[no-any-return]


def fwi_level(fwi: ArrayLike, policy: DangerPolicy | None = None) -> NDArray[np.int64]:
    """The 5-level scale (一级…五级) of an FWI value, from the policy's ``fwi_levels`` table (default:
    EFFIS boundaries, very high and extreme merged into 5). fwi: array; returns an int array, 0 where
    FWI is NaN."""
    return _classify((policy or default_policy()).fwi_levels, fwi)
