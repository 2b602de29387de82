"""Fire KPIs (森林防灭火考核指标): hotspots verified on time, fires out within 24 h, damage rate.

Pure functions over plain values; the service (``service/kpis.py``) selects the rows of a period
(drills excluded) and calls them. Targets and forest areas are data in ``data/kpis.yaml``.

* **Hotspots verified on time (卫星热点按时核查率)**: share of hotspot clusters whose verification
  outcome (核查结论) was recorded by their deadline. A cluster still within its deadline and not yet
  verified is not counted (it can still be on time); one past its deadline and unverified counts as
  late. Clusters no one is asked to verify are left out altogether, neither counted nor pending: a
  historical cluster (an archive detection: no event, no deadline) and, like every drill, a drill
  cluster (the service selects real clusters with their event; a deadline of None is skipped here).
* **Fires out within 24 h (森林火灾24小时扑灭率)**: share of 森林火情 events (2206) closed (结案: 明火扑灭、
  余火清理) within ``hours`` of their report. An open event younger than ``hours`` is not counted yet;
  an open one older counts as not out in time.
* **Damage rate (森林火灾受害率)**: burnt forest area / forest area, in per mille (‰).

Sources: issue 5 (Chongqing's targets: damage rate ≤ 0.3‰, > 95 % of ordinary fires out within 24 h);
the definitions of the shares are zhizhi's (documented above).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from zhizhi.scenarios.fire.rules import load_policy_file

KPI_FILE = Path(__file__).parent / "data" / "kpis.yaml"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Targets(_Model):
    damage_rate_permille_max: float = Field(ge=0)
    fire_out_hours: float = Field(gt=0)
    fires_out_share_min: float = Field(ge=0, le=1)
    hotspots_on_time_share_min: float = Field(ge=0, le=1)


class KpiPolicy(_Model):
    """The whole ``data/kpis.yaml``."""

    version: int
    targets: Targets
    forest_area_ha: dict[str, float | None]

    @field_validator("forest_area_ha")
    @classmethod
    def _areas(cls, v: dict[str, float | None]) -> dict[str, float | None]:
        for code, ha in v.items():
            if len(code) != 6 or not code.isdigit():
                raise ValueError(f'"{code}": not a 6-digit district code')
            if ha is not None and not ha > 0:
                raise ValueError(f'"{code}": forest area must be > 0 ha, got {ha}')
        return v


def load_kpi_policy(path: str | Path | None = None) -> KpiPolicy:
    """Load and check a KPI policy (default: the shipped ``data/kpis.yaml``). Raises PolicyError (a
    ValueError) naming the file, the key and the reason."""
    p = Path(path) if path is not None else KPI_FILE
    return load_policy_file(KpiPolicy, p)


@lru_cache(maxsize=1)
def default_kpi_policy() -> KpiPolicy:
    """The shipped ``data/kpis.yaml``, loaded once."""
    return load_kpi_policy()


@dataclass(frozen=True)
class Share:
    """A share KPI: ``hits`` of ``counted`` (``share`` = hits / counted, None when nothing counted),
    ``pending`` items not counted yet, and whether the target (a minimum share) is met (None when no
    share)."""

    hits: int
    counted: int
    pending: int
    target_min: float | None = None

    @property
    def share(self) -> float | None:
        return self.hits / self.counted if self.counted else None

    @property
    def met(self) -> bool | None:
        if self.share is None or self.target_min is None:
            return None
        return self.share >= self.target_min

    def as_dict(self) -> dict[str, Any]:
        s = self.share
        return {
            "hits": self.hits,
            "counted": self.counted,
            "pending": self.pending,
            "share": None if s is None else round(s, 4),
            "target_min": self.target_min,
            "met": self.met,
        }


def _aware(name: str, v: datetime | None) -> None:
    if v is not None and (v.tzinfo is None or v.utcoffset() is None):
        raise ValueError(f"{name}: must be timezone-aware, got {v.isoformat()}")


def hotspots_verified_on_time(
    clusters: Iterable[tuple[datetime | None, datetime | None]],
    as_of: datetime,
    target_min: float | None = None,
) -> Share:
    """Hotspots verified on time (卫星热点按时核查率).

    clusters: (verify_due_at or None, verified_at or None) per hotspot cluster, aware datetimes. as_of:
    aware "now". A cluster verified at or before its deadline is a hit; verified later, or unverified
    past its deadline, counts and misses; unverified before its deadline is pending; one without a
    deadline (a historical cluster: nobody was asked to verify it) is skipped, neither counted nor
    pending. Returns a :class:`Share`. Raises ValueError for naive datetimes.
    """
    _aware("as_of", as_of)
    hits = counted = pending = 0
    for i, (due, verified) in enumerate(clusters):
        _aware(f"clusters[{i}].verify_due_at", due)
        _aware(f"clusters[{i}].verified_at", verified)
        if due is None:
            continue
        if verified is None and as_of <= due:
            pending += 1
            continue
        counted += 1
        hits += verified is not None and verified <= due
    return Share(hits, counted, pending, target_min)


def fires_out_within(
    fires: Iterable[tuple[datetime, datetime | None]],
    as_of: datetime,
    hours: float = 24.0,
    target_min: float | None = None,
) -> Share:
    """Fires out within ``hours`` of their report (森林火灾24小时扑灭率).

    fires: (reported_at, closed_at or None) per 森林火情 event, aware datetimes. as_of: aware "now".
    Closed within ``hours`` (inclusive) is a hit; closed later, or still open after ``hours``, counts
    and misses; open and younger than ``hours`` is pending. Returns a :class:`Share`. Raises
    ValueError for naive datetimes, hours <= 0, or a close before the report.
    """
    if not hours > 0:
        raise ValueError(f"hours must be > 0, got {hours}")
    _aware("as_of", as_of)
    limit = timedelta(hours=hours)
    hits = counted = pending = 0
    for i, (reported, closed) in enumerate(fires):
        _aware(f"fires[{i}].reported_at", reported)
        _aware(f"fires[{i}].closed_at", closed)
        if closed is not None and closed < reported:
            raise ValueError(
                f"fires[{i}]: closed {closed.isoformat()} before reported {reported.isoformat()}"
            )
        if closed is None and as_of - reported <= limit:
            pending += 1
            continue
        counted += 1
        hits += closed is not None and closed - reported <= limit
    return Share(hits, counted, pending, target_min)


def damage_rate_permille(burnt_area_ha: float, forest_area_ha: float) -> float:
    """Forest fire damage rate (森林火灾受害率), ‰: burnt forest area / forest area × 1000.

    burnt_area_ha: burnt (过火) forest area of the period, ha, >= 0. forest_area_ha: the area's forest
    area, ha, > 0. Returns ‰ (float). Raises ValueError for a negative/NaN burnt area or a forest area
    not > 0. Example: 3 ha burnt of 50,000 ha forest → 0.06‰.
    """
    if not (isinstance(burnt_area_ha, (int, float)) and burnt_area_ha >= 0) or math.isnan(burnt_area_ha):
        raise ValueError(f"burnt_area_ha must be >= 0 ha, got {burnt_area_ha}")
    if not (isinstance(forest_area_ha, (int, float)) and forest_area_ha > 0) or math.isinf(forest_area_ha):
        raise ValueError(f"forest_area_ha must be > 0 ha, got {forest_area_ha}")
    return burnt_area_ha / forest_area_ha * 1000.0


def damage(
    burnt_area_ha: float | None,
    forest_area_ha: float | None,
    target_max: float | None = None,
    *,
    why_missing: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The damage-rate block of a KPI report: burnt and forest area (ha), rate (‰, 4 decimals), the
    target and whether it is met; when an area is unknown the rate is None and ``reason`` says which
    (``why_missing`` may give the text for ``burnt`` / ``forest``)."""
    why = dict(why_missing or {})
    out: dict[str, Any] = {
        "burnt_area_ha": burnt_area_ha,
        "forest_area_ha": forest_area_ha,
        "rate_permille": None,
        "target_max_permille": target_max,
        "met": None,
        "reason": None,
    }
    if burnt_area_ha is None or forest_area_ha is None:
        parts = []
        if burnt_area_ha is None:
            parts.append(why.get("burnt", "burnt area not recorded"))
        if forest_area_ha is None:
            parts.append(why.get("forest", "forest area not known"))
        out["reason"] = "; ".join(parts)
        return out
    rate = damage_rate_permille(burnt_area_ha, forest_area_ha)
    out["rate_permille"] = round(rate, 4)
    out["met"] = None if target_max is None else rate <= target_max
    return out
