"""Use cases of the registers (台账): write with history and conflicts, read as of a date within the
data scope, resolve conflicts. Services flush, never commit (the request or command commits).

Modules: :mod:`.history` (change log → bitemporal version rows; docs/adr/0005-register-history.md),
:mod:`.batch` (recording changes with the conflict rule, set-based writes), :mod:`.check` (one
record's fields, look-ups and write scope),
:mod:`.write` (validated upserts of residents), :mod:`.entities` (households, houses, units),
:mod:`.bulk` (set-based bulk upserts for imports), :mod:`.read` (scoped as-of queries and counts,
masked), :mod:`.person` (one resident: detail, audited full view), :mod:`.conflict` (listing and
resolving conflicts between sources).

Permissions (core/data/permissions.yaml): reads need ``registry.read``, upserts ``registry.write``,
bulk upserts ``registry.import``, resolving a conflict ``registry.resolve``; the data scope applies
on top (core.access.scope_of).
"""

from __future__ import annotations

from zhizhi.registry.service.bulk import (
    BulkResult,
    bulk_upsert_households,
    bulk_upsert_houses,
    bulk_upsert_residents,
)
from zhizhi.registry.service.conflict import conflict_view, list_conflicts, resolve_conflict
from zhizhi.registry.service.entities import upsert_house, upsert_household, upsert_unit
from zhizhi.registry.service.person import resident_detail, resident_personal
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
    "BulkResult",
    "ResidentFilter",
    "UpsertResult",
    "bulk_upsert_households",
    "bulk_upsert_houses",
    "bulk_upsert_residents",
    "conflict_view",
    "count_entities",
    "count_residents",
    "entities_as_of",
    "history_of",
    "list_conflicts",
    "provenance_of",
    "resident_detail",
    "resident_personal",
    "resident_view",
    "residents_as_of",
    "resolve_conflict",
    "upsert_house",
    "upsert_household",
    "upsert_resident",
    "upsert_unit",
    "visible_tags",
]
