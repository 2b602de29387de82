"""Organisation use cases (组织): load districts, generate approximate boundaries, locate points.

Real inputs shipped in ``org/data`` (see the SOURCES.md files there): Yongchuan's 2023 NBS divisions,
its district boundary, town seats and the 22 village points; Chongqing's 38 district boundaries.
Town, village and grid polygons are *generated* (no public boundaries exist) and flagged
``generated=True``; :func:`import_boundaries` replaces them with real ones.

Modules: ``load`` (loading districts, demo staff), ``locate`` (locating points), ``units`` (stats,
lookups, boundary import, deletion). Everything public is re-exported here.
"""

from zhizhi.org.service.load import (
    CENTER_SUFFIX,
    DATA,
    TOWN_CENTER_SUFFIX,
    Progress,
    available_districts,
    boards,
    create_demo_staff,
    departments,
    is_loaded,
    load_district,
)
from zhizhi.org.service.locate import LOCATOR_CHECK_S, Locator, Place, invalidate_locator, locator
from zhizhi.org.service.units import delete_district, get_unit, import_boundaries, stats

__all__ = [
    "CENTER_SUFFIX",
    "DATA",
    "LOCATOR_CHECK_S",
    "TOWN_CENTER_SUFFIX",
    "Locator",
    "Place",
    "Progress",
    "available_districts",
    "boards",
    "create_demo_staff",
    "delete_district",
    "departments",
    "get_unit",
    "import_boundaries",
    "invalidate_locator",
    "is_loaded",
    "load_district",
    "locator",
    "stats",
]
