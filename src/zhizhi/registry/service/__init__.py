"""Use cases of the registers (台账): write with history and conflicts, read as of a date within the
data scope, resolve conflicts. Services flush, never commit (the request or command commits).

Modules: :mod:`.history` (change log → bitemporal version rows; docs/adr/0005-register-history.md),
:mod:`.write` (validated upserts of residents), :mod:`.entities` (households, houses, units),
:mod:`.read` (scoped as-of queries and counts, masked), :mod:`.conflict` (listing and resolving
conflicts between sources).
"""

from __future__ import annotations

from zhizhi.registry.service.conflict import conflict_view, list_conflicts, resolve_conflict
from zhizhi.registry.service.entities import upsert_house, upsert_household, upsert_unit
from zhizhi.registry.service.read import (
    COUNT_BY,
    ResidentFilter,
    count_entities,
    count_residents,
    entities_as_of,
    history_of,
    provenance_of,
    resident_view,
    residents_as_of,
    visible_tags,
)
from zhizhi.registry.service.write import UpsertResult, upsert_resident

__all__ = [
    "COUNT_BY",
    "ResidentFilter",
    "UpsertResult",
    "conflict_view",
    "count_entities",
    "count_residents",
    "entities_as_of",
    "history_of",
    "list_conflicts",
    "provenance_of",
    "resident_view",
    "residents_as_of",
    "resolve_conflict",
    "upsert_house",
    "upsert_household",
    "upsert_resident",
    "upsert_unit",
    "visible_tags",
]
