"""Fire resources (防火资源) as map layers: kinds and their attributes (``data/resources.yaml``), and the
nearest resources of each kind to a point. Pure: no database.

One table holds every kind (``fire_resource``: kind, name, point, town, owner unit, contact, and
``attrs`` JSON); the attributes of each kind are checked here by one pydantic model per kind
(:data:`ATTRS`), so a row never carries an attribute its kind does not have:

* team (扑火队伍): ``type`` professional | semi_professional (专业/半专业扑火队), ``people`` (>= 1),
  ``equipment`` (list of items, e.g. 风力灭火机×10);
* water (水源/取水点): ``type`` pond | tank | reservoir | hydrant | aviation, ``capacity_m3`` (m³, >= 0,
  optional);
* lookout (瞭望与监控): ``type`` tower | camera, ``height_m`` (m), ``range_km`` (viewing range, km);
* checkpoint (防火检查站/卡口): ``type`` station | gate, ``staffed`` (有人值守);
* depot (物资库): ``type`` district | town | village, ``items`` [{name, quantity, unit}];
* drone_dock (无人机机场): ``drones`` (count), ``model``, ``range_km``.

Distances are straight-line: the great-circle (haversine) distance on the sphere of mean radius
6371.0088 km. The road distance a team drives needs a road network, which zhizhi does not have.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from zhizhi.scenarios.fire.hotspots.cluster import haversine_km
from zhizhi.scenarios.fire.rules import COLOUR_PATTERN, load_policy_file

RESOURCE_FILE = Path(__file__).parent / "data" / "resources.yaml"
EARTH_RADIUS_KM = 6371.0088
DISTANCE_NOTE = (
    "straight-line (great-circle, haversine on a sphere of radius 6371.0088 km) distance; the road "
    "distance needs a road network, which zhizhi does not have"
)
DISTANCE_NOTE_ZH = "直线距离（大圆距离，半径 6371.0088 km 的球面）；道路距离需要路网数据，本系统未接入"


# --- policy (data/resources.yaml) -------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Subtype(_Model):
    """A value of the attribute ``type`` of a kind, with its Chinese name."""

    key: str = Field(pattern=r"^[a-z][a-z_]*$", max_length=20)
    name: str = Field(min_length=1, max_length=20)


class KindSpec(_Model):
    """One resource kind: key, Chinese name, map colour, sub-types."""

    key: str
    name: str = Field(min_length=1, max_length=20)
    colour: str = Field(pattern=COLOUR_PATTERN)
    subtypes: list[Subtype]

    def subtype(self, key: str) -> Subtype:
        for s in self.subtypes:
            if s.key == key:
                return s
        raise ValueError(f'unknown {self.key} type "{key}"; known: {", ".join(s.key for s in self.subtypes)}')


class ResponseSettings(_Model):
    """How the one-click response works (see data/resources.yaml ``response``)."""

    preplan: str = Field(min_length=1)
    team_task_hours: float = Field(gt=0, le=72)
    team_task_roles: dict[Literal["town_center", "district_center", "department"], str]
    per_kind_default: int = Field(ge=1, le=100)
    per_kind_max: int = Field(ge=1, le=100)
    auto_respond_on_confirmed: bool = True
    """Whether recording 真实火情 on a hotspot cluster also starts this response on the new 森林火情
    event at once (service.verification); false leaves it to the one click."""

    @model_validator(mode="after")
    def _default_within_max(self) -> ResponseSettings:
        if self.per_kind_default > self.per_kind_max:
            raise ValueError("per_kind_default must not exceed per_kind_max")
        return self


class ResourcePolicy(_Model):
    """The whole ``data/resources.yaml``."""

    version: int
    kinds: list[KindSpec] = Field(min_length=1)
    response: ResponseSettings

    @model_validator(mode="after")
    def _kinds_match_the_code(self) -> ResourcePolicy:
        keys = [k.key for k in self.kinds]
        if sorted(keys) != sorted(ATTRS):
            raise ValueError(f"kinds must be exactly {', '.join(ATTRS)} (the attribute models), got {keys}")
        for k in self.kinds:
            if bool(k.subtypes) != ("type" in ATTRS[k.key].model_fields):
                raise ValueError(f"kinds: {k.key} has a 'type' attribute exactly when it lists subtypes")
        return self

    def kind(self, key: str) -> KindSpec:
        """The kind ``key``; raises ValueError naming the known kinds."""
        for k in self.kinds:
            if k.key == key:
                return k
        raise ValueError(f'unknown resource kind "{key}"; known: {", ".join(x.key for x in self.kinds)}')


def load_resource_policy(path: str | Path | None = None) -> ResourcePolicy:
    """Load and check a resource policy (default: the shipped ``data/resources.yaml``). Raises
    PolicyError (a ValueError) naming the file, the key and the reason."""
    p = Path(path) if path is not None else RESOURCE_FILE
    return load_policy_file(ResourcePolicy, p)


@lru_cache(maxsize=1)
def default_resource_policy() -> ResourcePolicy:
    """The shipped ``data/resources.yaml``, loaded once."""
    return load_resource_policy()


# --- the attributes of each kind --------------------------------------------------------------------


class _Attrs(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_strip_whitespace=True)


def _items(v: Any) -> Any:
    """Lists from text: ``a;b、c`` (ASCII or full-width separators) → ["a", "b", "c"]."""
    if isinstance(v, str):
        for sep in ("；", "、", "，", ","):
            v = v.replace(sep, ";")
        return [p.strip() for p in v.split(";") if p.strip()]
    return v


class TeamAttrs(_Attrs):
    """A fire-fighting team (扑火队伍): 专业/半专业, people (人数), equipment (装备)."""

    type: str
    people: int = Field(ge=1, le=10_000, description="team members (人数)")
    equipment: list[str] = Field(default_factory=list, max_length=200, description="装备清单")

    @field_validator("equipment", mode="before")
    @classmethod
    def _split(cls, v: Any) -> Any:
        return _items(v)


class WaterAttrs(_Attrs):
    """A water source (水源/取水点): pond, tank, reservoir, hydrant or aviation water point (航空取水点)."""

    type: str
    capacity_m3: float | None = Field(None, ge=0, description="capacity, m³ (容量)")


class LookoutAttrs(_Attrs):
    """A lookout tower (瞭望塔) or fire camera (林火视频监控)."""

    type: str
    height_m: float | None = Field(None, ge=0, le=500, description="height, m")
    range_km: float | None = Field(None, gt=0, le=200, description="viewing range, km")


class CheckpointAttrs(_Attrs):
    """A fire checkpoint (防火检查站) or gate (卡口)."""

    type: str
    staffed: bool | None = Field(None, description="有人值守")

    @field_validator("staffed", mode="before")
    @classmethod
    def _yes_no(cls, v: Any) -> Any:
        return {"是": True, "有": True, "否": False, "无": False}.get(v, v) if isinstance(v, str) else v


class DepotItem(_Attrs):
    """One stock line of a depot: name, quantity (>= 0), unit (台, 把, 套 …)."""

    name: str = Field(min_length=1, max_length=60)
    quantity: float = Field(ge=0)
    unit: str = Field("", max_length=10)


class DepotAttrs(_Attrs):
    """A depot (物资库) and its stock (物资)."""

    type: str
    items: list[DepotItem] = Field(default_factory=list, max_length=500)

    @field_validator("items", mode="before")
    @classmethod
    def _parse(cls, v: Any) -> Any:
        """``name:quantity[:unit];…`` (ASCII or full-width ``：``/``；``) → item objects."""
        if not isinstance(v, str):
            return v
        out = []
        for part in _items(v.replace("、", ";")):
            bits = [b.strip() for b in part.replace("：", ":").split(":")]
            if len(bits) not in (2, 3):
                raise ValueError(f'item "{part}": write name:quantity[:unit], e.g. 风力灭火机:20:台')
            try:
                qty = float(bits[1])
            except ValueError:
                raise ValueError(f'item "{part}": quantity "{bits[1]}" is not a number') from None
            out.append({"name": bits[0], "quantity": qty, "unit": bits[2] if len(bits) == 3 else ""})
        return out


class DroneDockAttrs(_Attrs):
    """A drone dock (无人机机场/机巢)."""

    drones: int | None = Field(None, ge=0, le=100)
    model: str | None = Field(None, max_length=60)
    range_km: float | None = Field(None, gt=0, le=200, description="operating radius, km")


ATTRS: dict[str, type[_Attrs]] = {
    "team": TeamAttrs,
    "water": WaterAttrs,
    "lookout": LookoutAttrs,
    "checkpoint": CheckpointAttrs,
    "depot": DepotAttrs,
    "drone_dock": DroneDockAttrs,
}
"""The attribute model of each kind (its field names are the kind's attribute names)."""

ATTR_FIELDS: frozenset[str] = frozenset(f for m in ATTRS.values() for f in m.model_fields)


@dataclass(frozen=True)
class AttrError:
    """One bad attribute: its name (dotted for nested items) and the reason."""

    field: str
    reason: str


def check_attrs(
    kind: str, attrs: dict[str, Any], policy: ResourcePolicy | None = None
) -> tuple[dict[str, Any], list[AttrError]]:
    """Check the attributes of a resource of ``kind``.

    attrs: attribute name → value (text from a CSV cell, or JSON values). Empty strings and None are
    dropped (an absent optional attribute). Returns (the clean attributes as JSON values, []) or
    ({}, the errors). An unknown kind, an attribute the kind does not have, a missing required one,
    a value out of range, or a ``type`` not among the kind's sub-types is an error.
    """
    pol = policy or default_resource_policy()
    try:
        spec = pol.kind(kind)
    except ValueError as e:
        return {}, [AttrError("kind", str(e))]
    model = ATTRS[kind]
    given = {k: v for k, v in attrs.items() if v is not None and v != ""}
    errors = [
        AttrError(k, f"not an attribute of a {kind} (its attributes: {', '.join(model.model_fields)})")
        for k in given
        if k not in model.model_fields
    ]
    if errors:
        return {}, errors
    try:
        clean = model.model_validate(given)
    except ValidationError as e:
        return {}, [
            AttrError(
                ".".join(str(x) for x in err["loc"]) or kind, str(err["msg"]).removeprefix("Value error, ")
            )
            for err in e.errors()
        ]
    out = clean.model_dump(mode="json", exclude_none=True)
    if "type" in out:
        try:
            spec.subtype(out["type"])
        except ValueError as e:
            return {}, [AttrError("type", str(e))]
    return out, []


def type_name(kind: str, attrs: dict[str, Any], policy: ResourcePolicy | None = None) -> str:
    """The Chinese name of a resource's sub-type (e.g. 半专业扑火队), or the kind's name without one."""
    spec = (policy or default_resource_policy()).kind(kind)
    t = attrs.get("type")
    if t is None:
        return spec.name
    try:
        return spec.subtype(str(t)).name
    except ValueError:
        return str(t)


# --- nearest ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A resource as the nearest search sees it: id, kind, WGS-84 lon/lat."""

    id: int
    kind: str
    lon: float
    lat: float


def nearest_by_kind(
    lon: float, lat: float, candidates: Sequence[Candidate], per_kind: int
) -> dict[str, list[tuple[int, float]]]:
    """The ``per_kind`` nearest candidates of each kind to the point (lon, lat), WGS-84 degrees.

    Returns {kind: [(id, distance_km), …]} nearest first (ties by id), for the kinds present among the
    candidates. Distance: great-circle (haversine) km on the sphere of radius 6371.0088 km — a
    straight line, not a road distance. Raises ValueError for per_kind < 1 or a point outside
    lon -180..180 / lat -90..90.
    """
    if per_kind < 1:
        raise ValueError(f"per_kind must be >= 1, got {per_kind}")
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValueError(f"({lon}, {lat}) is not a WGS-84 lon/lat point")
    if not candidates:
        return {}
    ids = np.fromiter((c.id for c in candidates), dtype=np.int64, count=len(candidates))
    lons = np.fromiter((c.lon for c in candidates), dtype=np.float64, count=len(candidates))
    lats = np.fromiter((c.lat for c in candidates), dtype=np.float64, count=len(candidates))
    kinds = np.array([c.kind for c in candidates])
    dist = haversine_km(lon, lat, lons, lats)
    out: dict[str, list[tuple[int, float]]] = {}
    for k in sorted(set(kinds.tolist())):
        sel = np.nonzero(kinds == k)[0]
        order = sel[np.lexsort((ids[sel], dist[sel]))][:per_kind]
        out[k] = [(int(ids[i]), float(dist[i])) for i in order]
    return out
