"""Hotspot policy (热点策略): ``data/hotspots.yaml`` (buffer, clustering, verification deadline,
persistence rule, outcomes) and ``data/static_sources.yaml`` (known static heat sources), read and
checked once."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from zhizhi.scenarios.fire.schemas import (
    HotspotConfig,
    StaticSourceEntry,
    StaticSourceList,
)

DATA = resources.files("zhizhi.scenarios.fire") / "data"
CATEGORY = "2207"  # 卫星热点核查 (event/data/categories.yaml)
KM_PER_DEG_LAT = 110.574  # WGS-84 at the equator, the smallest: a safe bound for boxes
QUERY_CHUNK = 500


# --- policy ------------------------------------------------------------------------------------------


def _yaml(path: Any, label: str) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise ValueError(f"{label}: not valid YAML: {e}") from None


def load_hotspot_config(path: Path | None = None) -> HotspotConfig:
    """Read and check the hotspot policy (default: the shipped ``data/hotspots.yaml``).
    Raises ValueError naming the file and the field."""
    src, label = (path, str(path)) if path else (DATA / "hotspots.yaml", "fire/data/hotspots.yaml")
    try:
        return HotspotConfig.model_validate(_yaml(src, label))
    except ValidationError as e:
        raise ValueError(f"{label}: {_first_error(e)}") from None


def load_static_sources(path: Path | None = None) -> list[StaticSourceEntry]:
    """Read and check a static heat source list (default: the shipped ``data/static_sources.yaml``).
    Raises ValueError naming the file and the entry."""
    src, label = (
        (path, str(path)) if path else (DATA / "static_sources.yaml", "fire/data/static_sources.yaml")
    )
    try:
        return StaticSourceList.model_validate(_yaml(src, label)).sources
    except ValidationError as e:
        raise ValueError(f"{label}: {_first_error(e)}") from None


def _first_error(e: ValidationError) -> str:
    err = e.errors()[0]
    return f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"


@lru_cache
def hotspot_config() -> HotspotConfig:
    """The shipped hotspot policy (read and checked once)."""
    return load_hotspot_config()


@lru_cache
def static_sources() -> tuple[StaticSourceEntry, ...]:
    """The shipped list of known static heat sources (read and checked once)."""
    return tuple(load_static_sources())
