"""Pydantic in/out models of fire resources, the response to a fire event and fire records (issue 5,
part 3). Resource attributes are checked per kind by resources.check_attrs; contacts go out masked."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_strip_whitespace=True)


class ResourceIn(_In):
    """A new fire resource: kind, name, point (WGS-84, or GCJ-02 with ``crs``), the kind's attributes
    (``attrs``: e.g. ``{"type": "semi_professional", "people": 25, "equipment": ["风力灭火机"]}``), and
    optional code (编号), owner unit (required for a team: a 12-digit town code, a department
    abbreviation such as LYJ, or a unit code), contact, address, note."""

    kind: str = Field(description="team | water | lookout | checkpoint | depot | drone_dock")
    name: str = Field(min_length=1, max_length=100)
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    crs: Literal["wgs84", "gcj02"] = "wgs84"
    code: str | None = Field(None, max_length=40, pattern=r"^[0-9A-Za-z._\-]+$")
    owner: str | None = Field(None, max_length=40)
    contact_name: str | None = Field(None, max_length=64)
    contact_phone: str | None = Field(None, max_length=20, pattern=r"^\+?[0-9][0-9 \-]{5,18}[0-9]$")
    address: str | None = Field(None, max_length=300)
    note: str = Field("", max_length=2000)
    attrs: dict[str, Any] = Field(default_factory=dict)


class ResourcePatch(_In):
    """Fields of a resource to change (absent fields stay; ``attrs`` replaces the attributes whole and
    is checked against the kind). The kind itself never changes: delete and create instead."""

    name: str | None = Field(None, min_length=1, max_length=100)
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    crs: Literal["wgs84", "gcj02"] = "wgs84"
    code: str | None = Field(None, max_length=40, pattern=r"^[0-9A-Za-z._\-]+$")
    owner: str | None = Field(None, max_length=40)
    contact_name: str | None = Field(None, max_length=64)
    contact_phone: str | None = Field(None, max_length=20, pattern=r"^\+?[0-9][0-9 \-]{5,18}[0-9]$")
    address: str | None = Field(None, max_length=300)
    note: str | None = Field(None, max_length=2000)
    attrs: dict[str, Any] | None = None


class ResourceRead(BaseModel):
    """A fire resource as the API shows it: contact name and phone masked (张**, 138****1234)."""

    id: int
    kind: str
    kind_name: str
    type_name: str
    code: str | None
    name: str
    lon: float
    lat: float
    district_code: str
    town_code: str | None
    owner_unit_code: str | None
    contact_name: str | None
    contact_phone: str | None
    address: str | None
    note: str
    attrs: dict[str, Any]
    source: str
    updated_at: datetime
    updated_by: str


class ResourceImportSummary(BaseModel):
    """What an import did: rows read, created, updated, per kind; all or nothing."""

    file: str
    format: Literal["csv", "geojson"]
    crs: Literal["wgs84", "gcj02"]
    rows: int
    created: int
    updated: int
    by_kind: dict[str, int]


class NearestResource(ResourceRead):
    """A resource with its straight-line (great-circle) distance to the fire, km."""

    distance_km: float


class NearestKind(BaseModel):
    """The nearest resources of one kind, nearest first (empty when the district has none)."""

    kind: str
    name: str
    colour: str
    resources: list[NearestResource]


class NearestRead(BaseModel):
    """The nearest resources of each kind to a fire event's point."""

    event_id: int
    category_code: str
    lon: float
    lat: float
    per_kind: int
    distance: str = Field(description="how distances are measured (straight line; no road network)")
    kinds: list[NearestKind]


class TaskRead(BaseModel):
    """A pre-plan task created on the event (联动任务)."""

    id: int
    unit_code: str
    role: str
    task: str
    deadline: datetime | None
    status: str


class RespondRead(BaseModel):
    """The one-click response (一键响应): the pre-plan started, its tasks (the team's first when a team
    was found), the team dispatched with its distance, and notes (e.g. no team registered)."""

    event_id: int
    preplan: str
    team: NearestResource | None
    team_task_id: int | None
    tasks: list[TaskRead]
    distance: str
    notes: list[str]


class RecordIn(_In):
    """The record of a fire (火灾登记): damaged forest area (受害森林面积, ha), optional total burnt area
    (过火总面积, ha), deaths, serious injuries (重伤); optional response level (1 = Ⅰ … 4 = Ⅳ) when the
    command decided another than the grade's default; note."""

    burnt_area_ha: float = Field(ge=0, le=10_000_000, description="受害森林面积, ha")
    burnt_total_ha: float | None = Field(None, ge=0, le=10_000_000, description="过火总面积, ha")
    deaths: int = Field(0, ge=0, le=100_000)
    serious_injuries: int = Field(0, ge=0, le=100_000)
    response_level: int | None = Field(None, ge=1, le=4)
    note: str = Field("", max_length=2000)


class RecordRead(BaseModel):
    """A fire record with its grade (等级) and response level (响应级别), and whether the level was
    given or is the grade's default."""

    event_id: int
    burnt_area_ha: float
    burnt_total_ha: float | None
    deaths: int
    serious_injuries: int
    grade: str
    grade_name: str
    grade_reasons: list[str]
    response_level: int
    response_level_name: str
    response_level_lead: str
    response_level_given: bool
    note: str
    filled_at: datetime
    filled_by: str
    updated_at: datetime
    updated_by: str
