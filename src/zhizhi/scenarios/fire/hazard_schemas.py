"""Pydantic in/out models of the fire hazard ledger (隐患台账) and ranger patrols (护林员巡护)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_strip_whitespace=True)


class HazardIn(_In):
    """A hazard found (发现隐患): kind (a key or Chinese name of data/hazards.yaml), point (WGS-84, or
    GCJ-02 with ``crs``), description; optional address, when it was found (default now; no zone =
    Beijing time), the rectification deadline (default: the kind's days after the day found), who
    found it (a staff username; default the caller) and the patrol it was found on."""

    kind: str = Field(min_length=1, max_length=24)
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    crs: Literal["wgs84", "gcj02"] = "wgs84"
    description: str = Field(min_length=1, max_length=2000)
    address: str | None = Field(None, max_length=300)
    found_at: datetime | None = None
    deadline: date | None = None
    found_by: str | None = Field(None, max_length=64, description="staff username (default: you)")
    patrol_id: int | None = Field(None, ge=1)


class RectifyIn(_In):
    """Rectification started (开始整改): what is being done."""

    note: str = Field(min_length=1, max_length=2000)


class CloseIn(_In):
    """Close-out (销号): the evidence that the hazard is gone (整改佐证: what was done, checked by
    whom; photo references)."""

    evidence: str = Field(min_length=2, max_length=4000)


class HazardRead(BaseModel):
    """A hazard on the ledger with its status (open 待整改 / rectifying 整改中 / closed 已销号), who
    and when of each step, and whether it is overdue (逾期: not closed after its deadline day)."""

    id: int
    kind: str
    kind_name: str
    description: str
    lon: float
    lat: float
    address: str | None
    district_code: str
    town_code: str | None
    grid_code: str | None
    found_by: str
    found_at: datetime
    deadline: date
    status: str
    status_name: str
    overdue: bool
    patrol_id: int | None
    rectify_at: datetime | None
    rectify_by: str | None
    rectify_note: str
    closed_at: datetime | None
    closed_by: str | None
    evidence: str


class PatrolIn(_In):
    """A ranger's patrol (护林员巡护记录): start and end (no zone = Beijing time), the track as a GeoJSON
    LineString (``track``) or a list of [lon, lat] points (``points``; WGS-84, or GCJ-02 with
    ``crs``), the ranger (a grid worker's username; default the caller), a note, and the hazards found
    on it (each as a hazard; found by the ranger at the patrol's end unless given)."""

    started_at: datetime
    ended_at: datetime
    track: dict[str, Any] | None = None
    points: list[list[float]] | None = None
    crs: Literal["wgs84", "gcj02"] = "wgs84"
    ranger: str | None = Field(None, max_length=64)
    note: str = Field("", max_length=2000)
    hazards: list[HazardIn] = Field(default_factory=list, max_length=200)

    @model_validator(mode="after")
    def _one_track(self) -> PatrolIn:
        if (self.track is None) == (self.points is None):
            raise ValueError("give the track as either track (a GeoJSON LineString) or points, not both")
        return self


class PatrolRead(BaseModel):
    """A patrol: the ranger and grid, times, track length (km, great-circle) and point count, the
    hazards found on it, and (one patrol only) the track as a GeoJSON LineString (WGS-84)."""

    id: int
    ranger_name: str
    district_code: str
    town_code: str | None
    grid_code: str
    started_at: datetime
    ended_at: datetime
    hours: float
    length_km: float
    n_points: int
    note: str
    hazard_ids: list[int]
    track: dict[str, Any] | None = None
