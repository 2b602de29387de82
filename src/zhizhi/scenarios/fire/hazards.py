"""Fire hazard ledger (森林火灾隐患台账) and ranger patrols (护林员巡护): policy (``data/hazards.yaml``),
the close-out (销号) state machine, deadlines and patrol tracks. Pure: no database.

A hazard is ``open`` (登记) when found, ``rectifying`` (整改中) once rectification starts, and
``closed`` (已销号) when someone of a town or district role (data: ``close.scopes``) checked the
rectification and closed it with evidence (整改佐证). Closed is final: a hazard found again is a new
row. A hazard past its deadline (整改期限, a date, Beijing time) and not closed is overdue (逾期).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from zhizhi.core import time as ztime
from zhizhi.core.access import SCOPE_KINDS
from zhizhi.scenarios.fire.hotspots.cluster import haversine_km
from zhizhi.scenarios.fire.rules import load_policy_file

HAZARD_FILE = Path(__file__).parent / "data" / "hazards.yaml"
Status = Literal["open", "rectifying", "closed"]
STATUS_ZH = {"open": "待整改", "rectifying": "整改中", "closed": "已销号"}
ACTIONS: dict[str, tuple[frozenset[str], str]] = {
    "rectify": (frozenset({"open"}), "rectifying"),
    "close": (frozenset({"open", "rectifying"}), "closed"),
}
"""Moves of a hazard: action → (the statuses it starts from, the status it leads to)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class HazardKind(_Model):
    """One kind of hazard: key, Chinese name, default rectification days."""

    key: str = Field(pattern=r"^[a-z][a-z_]*$", max_length=24)
    name: str = Field(min_length=1, max_length=20)
    days: int = Field(ge=0, le=365)


class ClosePolicy(_Model):
    """Who may close (销号): the data scopes of the roles allowed."""

    scopes: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _known(self) -> ClosePolicy:
        bad = [s for s in self.scopes if s not in SCOPE_KINDS]
        if bad:
            raise ValueError(f"unknown scope {bad[0]!r}; known: {', '.join(SCOPE_KINDS)}")
        return self


class PatrolPolicy(_Model):
    """Patrols: the roles a ranger may hold, the longest patrol (h) and the most track points."""

    ranger_roles: list[str] = Field(min_length=1)
    max_hours: float = Field(gt=0, le=168)
    max_points: int = Field(ge=2, le=1_000_000)


class HazardPolicy(_Model):
    """The whole ``data/hazards.yaml``."""

    version: int
    kinds: list[HazardKind] = Field(min_length=1)
    close: ClosePolicy
    patrol: PatrolPolicy

    @model_validator(mode="after")
    def _unique(self) -> HazardPolicy:
        for attr in ("key", "name"):
            seen = [getattr(k, attr) for k in self.kinds]
            dup = sorted({v for v in seen if seen.count(v) > 1})
            if dup:
                raise ValueError(f"kinds: {attr}s must be unique, repeated: {', '.join(dup)}")
        return self

    def kind(self, key_or_name: str) -> HazardKind:
        """The kind with this key or Chinese name; raises ValueError naming the known ones."""
        for k in self.kinds:
            if key_or_name in (k.key, k.name):
                return k
        known = ", ".join(f"{k.key} ({k.name})" for k in self.kinds)
        raise ValueError(f'unknown hazard kind "{key_or_name}"; known: {known}')


def load_hazard_policy(path: str | Path | None = None) -> HazardPolicy:
    """Load and check a hazard policy (default: the shipped ``data/hazards.yaml``). Raises PolicyError
    (a ValueError) naming the file, the key and the reason."""
    p = Path(path) if path is not None else HAZARD_FILE
    return load_policy_file(HazardPolicy, p)


@lru_cache(maxsize=1)
def default_hazard_policy() -> HazardPolicy:
    """The shipped ``data/hazards.yaml``, loaded once."""
    return load_hazard_policy()


# --- status and deadlines -------------------------------------------------------------------------------


def next_status(status: str, action: str) -> str:
    """The status a hazard at ``status`` moves to by ``action`` (rectify | close).

    Raises ValueError naming the action, the current status and the statuses it is allowed from
    (e.g. closing a closed hazard), or an unknown action.
    """
    if action not in ACTIONS:
        raise ValueError(f'unknown action "{action}"; known: {", ".join(ACTIONS)}')
    sources, target = ACTIONS[action]
    if status not in sources:
        allowed = ", ".join(sorted(sources))
        now = f"{status} ({STATUS_ZH.get(status, status)})"
        raise ValueError(f"cannot {action} a hazard that is {now}; allowed from: {allowed}")
    return target


def default_deadline(found_at: datetime, days: int) -> date:
    """The default rectification deadline (整改期限): the Beijing-time date ``days`` after the day the
    hazard was found. found_at: aware datetime. Raises ValueError for a naive one or days < 0."""
    if found_at.tzinfo is None or found_at.utcoffset() is None:
        raise ValueError(f"found_at must be timezone-aware, got {found_at.isoformat()}")
    if days < 0:
        raise ValueError(f"days must be >= 0, got {days}")
    return found_at.astimezone(ztime.LOCAL_TZ).date() + timedelta(days=days)


def is_overdue(status: str, deadline: date, as_of: datetime) -> bool:
    """Whether a hazard is overdue (逾期): not closed and ``as_of`` (aware) is after its deadline day
    (the deadline day itself, Beijing time, is still on time)."""
    if as_of.tzinfo is None or as_of.utcoffset() is None:
        raise ValueError(f"as_of must be timezone-aware, got {as_of.isoformat()}")
    return status != "closed" and as_of.astimezone(ztime.LOCAL_TZ).date() > deadline


# --- patrol tracks ---------------------------------------------------------------------------------------


def track_length_km(coords: Sequence[tuple[float, float]]) -> float:
    """Length of a track (巡护轨迹), km: the sum of the great-circle (haversine, sphere of radius
    6371.0088 km) distances between consecutive WGS-84 (lon, lat) points. 0 for fewer than 2 points."""
    if len(coords) < 2:
        return 0.0
    a = np.asarray(coords, dtype=np.float64)
    return float(np.sum(haversine_km(a[:-1, 0], a[:-1, 1], a[1:, 0], a[1:, 1])))


def check_track(coords: Any, max_points: int) -> list[tuple[float, float]]:
    """Check a track given as [[lon, lat], …] (WGS-84 or GCJ-02 degrees; a third value, altitude, is
    dropped): 2 to ``max_points`` points, numbers within lon -180..180 and lat -90..90. Returns the
    points as (lon, lat) tuples. Raises ValueError naming the point index and the reason."""
    if not isinstance(coords, (list, tuple)):
        raise ValueError("track: give a list of [lon, lat] points")
    if not 2 <= len(coords) <= max_points:
        raise ValueError(f"track: needs 2 to {max_points} points, got {len(coords)}")
    out: list[tuple[float, float]] = []
    for i, p in enumerate(coords):
        if not isinstance(p, (list, tuple)) or len(p) not in (2, 3):
            raise ValueError(f"track[{i}]: not a [lon, lat] pair")
        if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in p[:2]):
            raise ValueError(f"track[{i}]: lon and lat must be numbers")
        lon, lat = float(p[0]), float(p[1])
        if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
            raise ValueError(f"track[{i}]: ({lon}, {lat}) is not a lon/lat point")
        out.append((lon, lat))
    return out
