"""History of the registers (台账历史): the append-only change log, its projection into bitemporal
version rows, and conflicts between sources (docs/adr/0005-register-history.md).

A change is recorded once in ``register_change``; the entity's valid-time timeline is then replayed
from its own changes (tens of rows, at write time only) and the version rows that no longer match
are superseded (``superseded_at = now``) and replaced by new ones (``recorded_at = now``). Reads
never replay: they select version rows by date.

Writes go through a :class:`~zhizhi.registry.service.batch.Batch` (service.batch); this module holds
what reads and writes share: the register specs, the change rows, an entity's replayed timeline and
field-level provenance.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhizhi.registry import rules
from zhizhi.registry.models import (
    House,
    Household,
    HouseholdVersion,
    HouseVersion,
    RegisterChange,
    RegisterUnit,
    RegisterUnitVersion,
    Resident,
    ResidentVersion,
)

LOCATION = ("address", "village_code", "grid_code")
CHUNK = 500
"""Values in one ``IN (…)`` list of a chunked query: far below SQLite's (32,766) and PostgreSQL's
(65,535) limits on bound parameters per statement."""

T = TypeVar("T")


def chunked(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """``items`` in consecutive slices of at most ``size``."""
    for i in range(0, len(items), size):
        yield items[i : i + size]


@dataclass(frozen=True)
class EntitySpec:
    """How one register is stored: ``kind`` (the ``entity`` of changes), its identity and version
    models, the version row's foreign key, the fields a change may set (``tag:<code>`` fields of
    residents aside), which of them are dates, and the personal ones (masked on output)."""

    kind: str
    identity: Any
    version: Any
    fk: str
    key: str
    """The identity column that deduplicates (unique), used to read back new ids."""
    fields: tuple[str, ...]
    dates: frozenset[str] = frozenset()
    personal: frozenset[str] = frozenset()
    linked: tuple[tuple[str, str], ...] = (("grid_code", "village_code"), ("address", "village_code"))
    """(follower, leader): when the leader changes or is in conflict, the follower goes with it."""

    def columns(self) -> tuple[str, ...]:
        """The version-row columns a timeline segment fills (fields, derived codes, tags)."""
        extra = ("town_code", "district_code") + (("tags",) if self.kind == "resident" else ())
        return self.fields + extra


RESIDENT = EntitySpec(
    "resident", Resident, ResidentVersion, "resident_id", "citizen_id",
    ("name", "ethnicity", "phone", "household_id", "relation", *LOCATION, "status", "status_date"),
    frozenset({"status_date"}), frozenset({"name", "phone", "address"}),
    (("grid_code", "village_code"), ("address", "village_code"), ("status_date", "status")),
)  # fmt: skip
HOUSEHOLD = EntitySpec(
    "household", Household, HouseholdVersion, "household_id", "number",
    ("head_id", "kind", *LOCATION, "status"),
)  # fmt: skip
HOUSE = EntitySpec(
    "house", House, HouseVersion, "house_id", "code",
    ("use", "structure", "floors", "lon", "lat", *LOCATION, "status"),
)  # fmt: skip
UNIT = EntitySpec(
    "unit", RegisterUnit, RegisterUnitVersion, "unit_id", "uscc",
    ("name", "industry", "legal_rep", "phone", "employees", "lon", "lat", *LOCATION, "status"),
    personal=frozenset({"legal_rep", "phone"}),
)  # fmt: skip
SPECS = {s.kind: s for s in (RESIDENT, HOUSEHOLD, HOUSE, UNIT)}


def location_codes(village_code: str | None) -> tuple[str | None, str | None]:
    """``(district_code, town_code)`` of a 12-digit NBS village code (统计用区划代码: 6 county digits, 3
    town digits, 3 village digits), or ``(None, None)``."""
    if not village_code:
        return None, None
    return village_code[:6], village_code[:9] + "000"


# --- the timeline of one entity --------------------------------------------------------------------


@dataclass(slots=True)
class ChangeRec:
    """One ``register_change`` row as read, or as a :class:`Batch` is about to write it (then ``id`` is
    provisional, above :data:`PROVISIONAL`, until the batch is flushed)."""

    id: int
    entity: str
    entity_id: int
    valid_from: date
    recorded_at: datetime
    actor: str
    actor_id: int | None
    source: str
    ref: str | None
    new: dict[str, Any]
    old: dict[str, Any]
    conflict_id: int | None


CHANGE_NAMES = tuple(f.name for f in fields(ChangeRec))
CHANGE_COLUMNS = tuple(RegisterChange.__table__.c[n] for n in CHANGE_NAMES)


def load_changes(session: Session, kind: str, ids: Sequence[int]) -> dict[int, list[ChangeRec]]:
    """The changes of entities ``ids`` of register ``kind``, per entity in recording order."""
    out: dict[int, list[ChangeRec]] = {i: [] for i in ids}
    c = RegisterChange
    for part in chunked(ids):
        rows = session.execute(
            select(*CHANGE_COLUMNS).where(c.entity == kind, c.entity_id.in_(part)).order_by(c.id)
        )
        for row in rows:
            out[row.entity_id].append(ChangeRec(*row))
    return out


@dataclass
class EntityHistory:
    """The recorded changes of one entity (by id) and the timeline they replay into."""

    spec: EntitySpec
    entity_id: int
    changes: list[ChangeRec] = field(default_factory=list)
    _segments: list[rules.Segment] | None = field(default=None, repr=False)

    @property
    def segments(self) -> list[rules.Segment]:
        """The valid-time timeline of :attr:`changes` (rules.timeline), replayed when first needed
        after :meth:`replay`: a bulk import of new people never needs it."""
        if self._segments is None:
            self._segments = (
                rules.timeline(
                    rules.FieldChange(f, v, c.valid_from, c.id, c.source)
                    for c in self.changes
                    for f, v in c.new.items()
                )
                if self.changes
                else []  # (the timeline of no change)
            )
        return self._segments

    def replay(self) -> None:
        """Recompute :attr:`segments` from :attr:`changes` (when next read)."""
        self._segments = None

    def add(self, change: ChangeRec) -> None:
        """Append a newly recorded ``change`` (its id above every other) to :attr:`changes` and bring
        the timeline up to date. A change valid from the last segment's start or later is the last
        one rules.timeline processes: it extends the timeline as the replay would (the last
        segment's values are the replay's running values); an earlier (backdated) change makes the
        timeline be replayed when next read."""
        self.changes.append(change)
        segs = self._segments
        if segs is None:
            return
        if segs and change.valid_from < segs[-1].valid_from:
            self._segments = None
            return
        if segs and segs[-1].valid_from == change.valid_from:
            seg = segs[-1]
        else:
            if segs:
                segs[-1].valid_to = change.valid_from
            last = segs[-1] if segs else None
            seg = rules.Segment(
                change.valid_from, None, dict(last.values) if last else {}, dict(last.setters) if last else {}
            )
            segs.append(seg)
        for f, v in change.new.items():
            seg.values[f] = v
            seg.setters[f] = rules.FieldChange(f, v, change.valid_from, change.id, change.source)

    def at(self, on: date) -> dict[str, rules.Value]:
        """Field values in force on ``on`` ({} before the entity existed)."""
        seg = rules.segment_at(self.segments, on)
        return dict(seg.values) if seg else {}

    def latest(self) -> dict[str, rules.Value]:
        """Field values of the last segment (the latest valid time known)."""
        return dict(self.segments[-1].values) if self.segments else {}

    def change(self, change_id: int) -> ChangeRec:
        return next(c for c in self.changes if c.id == change_id)


def load(session: Session, spec: EntitySpec, entity_id: int) -> EntityHistory:
    """The history of entity ``entity_id`` of ``spec`` (its changes in recording order, replayed)."""
    h = EntityHistory(spec, entity_id)
    if entity_id:
        h.changes = load_changes(session, spec.kind, [entity_id])[entity_id]
    h.replay()
    return h


def row_values(spec: EntitySpec, values: Mapping[str, rules.Value]) -> dict[str, Any]:
    out: dict[str, Any] = {f: values.get(f) for f in spec.fields}
    for f in spec.dates:
        if out[f]:
            out[f] = date.fromisoformat(str(out[f]))
    out["district_code"], out["town_code"] = location_codes(out.get("village_code"))  # type: ignore[arg-type]
    if spec.kind == "resident":
        out["tags"] = rules.encode_tags(k[4:] for k, v in values.items() if k.startswith("tag:") and v)
    return out


def provenance(h: EntityHistory, on: date) -> dict[str, dict[str, Any]]:
    """Field-level provenance (字段来源) on date ``on``: for each field in force, the change that set it:
    ``source``, ``ref``, ``actor``, ``recorded_at`` (ISO), ``valid_from`` (ISO) and ``change_id``."""
    seg = rules.segment_at(h.segments, on)
    if seg is None:
        return {}
    out = {}
    for name, fc in sorted(seg.setters.items()):
        c = h.change(fc.seq)
        out[name] = {
            "source": c.source,
            "ref": c.ref,
            "actor": c.actor,
            "recorded_at": c.recorded_at.isoformat(),
            "valid_from": c.valid_from.isoformat(),
            "change_id": c.id,
        }
    return out
