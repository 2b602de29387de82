"""History of the registers (台账历史): the append-only change log, its projection into bitemporal
version rows, and conflicts between sources (docs/adr/0005-register-history.md).

A change is recorded once in ``register_change``; the entity's valid-time timeline is then replayed
from its own changes (tens of rows, at write time only) and the version rows that no longer match
are superseded (``superseded_at = now``) and replaced by new ones (``recorded_at = now``). Reads
never replay: they select version rows by date.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhizhi.core.access import Actor
from zhizhi.registry import rules
from zhizhi.registry.models import (
    House,
    Household,
    HouseholdVersion,
    HouseVersion,
    RegisterChange,
    RegisterConflict,
    RegisterUnit,
    RegisterUnitVersion,
    Resident,
    ResidentVersion,
)

LOCATION = ("address", "village_code", "grid_code")


@dataclass(frozen=True)
class EntitySpec:
    """How one register is stored: ``kind`` (the ``entity`` of changes), its identity and version
    models, the version row's foreign key, the fields a change may set (``tag:<code>`` fields of
    residents aside), which of them are dates, and the personal ones (masked on output)."""

    kind: str
    identity: Any
    version: Any
    fk: str
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
    "resident", Resident, ResidentVersion, "resident_id",
    ("name", "ethnicity", "phone", "household_id", "relation", *LOCATION, "status", "status_date"),
    frozenset({"status_date"}), frozenset({"name", "phone", "address"}),
    (("grid_code", "village_code"), ("address", "village_code"), ("status_date", "status")),
)  # fmt: skip
HOUSEHOLD = EntitySpec(
    "household", Household, HouseholdVersion, "household_id", ("head_id", "kind", *LOCATION, "status")
)
HOUSE = EntitySpec(
    "house", House, HouseVersion, "house_id",
    ("use", "structure", "floors", "lon", "lat", *LOCATION, "status"),
)  # fmt: skip
UNIT = EntitySpec(
    "unit", RegisterUnit, RegisterUnitVersion, "unit_id",
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


@dataclass
class EntityHistory:
    """The recorded changes of one entity (by id) and the timeline they replay into."""

    spec: EntitySpec
    entity_id: int
    changes: list[RegisterChange] = field(default_factory=list)
    segments: list[rules.Segment] = field(default_factory=list)

    def replay(self) -> None:
        """Recompute :attr:`segments` from :attr:`changes`."""
        self.segments = rules.timeline(
            rules.FieldChange(f, v, c.valid_from, c.id, c.source)
            for c in self.changes
            for f, v in c.new.items()
        )

    def at(self, on: date) -> dict[str, rules.Value]:
        """Field values in force on ``on`` ({} before the entity existed)."""
        seg = rules.segment_at(self.segments, on)
        return dict(seg.values) if seg else {}

    def latest(self) -> dict[str, rules.Value]:
        """Field values of the last segment (the latest valid time known)."""
        return dict(self.segments[-1].values) if self.segments else {}

    def change(self, change_id: int) -> RegisterChange:
        return next(c for c in self.changes if c.id == change_id)


def load(session: Session, spec: EntitySpec, entity_id: int) -> EntityHistory:
    """The history of entity ``entity_id`` of ``spec`` (its changes in recording order, replayed)."""
    h = EntityHistory(spec, entity_id)
    if entity_id:
        h.changes = list(
            session.scalars(
                select(RegisterChange)
                .where(RegisterChange.entity == spec.kind, RegisterChange.entity_id == entity_id)
                .order_by(RegisterChange.id)
            )
        )
    h.replay()
    return h


def _row_values(spec: EntitySpec, values: Mapping[str, rules.Value]) -> dict[str, Any]:
    out: dict[str, Any] = {f: values.get(f) for f in spec.fields}
    for f in spec.dates:
        if out[f]:
            out[f] = date.fromisoformat(str(out[f]))
    out["district_code"], out["town_code"] = location_codes(out.get("village_code"))  # type: ignore[arg-type]
    if spec.kind == "resident":
        out["tags"] = rules.encode_tags(k[4:] for k, v in values.items() if k.startswith("tag:") and v)
    return out


def materialize(session: Session, h: EntityHistory, now: datetime) -> None:
    """Bring the believed version rows of ``h``'s entity in line with its timeline: rows matching a
    segment exactly stay; the others are superseded at ``now``; missing segments are inserted
    with ``recorded_at = now``. Rows believed at any earlier time are never changed otherwise."""
    spec, cols = h.spec, h.spec.columns()
    fk = getattr(spec.version, spec.fk)
    rows = list(
        session.scalars(select(spec.version).where(fk == h.entity_id, spec.version.superseded_at.is_(None)))
    )

    def key(valid_from: date, valid_to: date | None, vals: Mapping[str, Any]) -> tuple[Any, ...]:
        return (valid_from, valid_to, *(vals.get(c) for c in cols))

    wanted = {}
    for seg in h.segments:
        vals = _row_values(spec, seg.values)
        wanted[key(seg.valid_from, seg.valid_to, vals)] = (seg, vals)
    for row in rows:
        k = key(row.valid_from, row.valid_to, {c: getattr(row, c) for c in cols})
        if k in wanted:
            del wanted[k]
        else:
            row.superseded_at = now
    for seg, vals in wanted.values():
        session.add(
            spec.version(
                **{spec.fk: h.entity_id},
                valid_from=seg.valid_from,
                valid_to=seg.valid_to,
                recorded_at=now,
                **vals,
            )
        )
    session.flush()


# --- recording a change, with the conflict rule -------------------------------------------------------


@dataclass
class Recorded:
    """Outcome of :func:`record`: fields applied (with their new values), fields unchanged, conflict
    ids (new or already open for the same proposal), and the change row id (None: nothing applied)."""

    applied: dict[str, rules.Value] = field(default_factory=dict)
    unchanged: list[str] = field(default_factory=list)
    conflicts: list[int] = field(default_factory=list)
    change_id: int | None = None


def record(
    session: Session,
    actor: Actor,
    h: EntityHistory,
    proposed: Mapping[str, rules.Value],
    source: str,
    valid_from: date,
    now: datetime,
    ref: str | None = None,
    resolves: RegisterConflict | None = None,
) -> Recorded:
    """Record ``proposed`` field values of ``h``'s entity from ``valid_from`` on, supplied by ``source``.

    Each field goes through :func:`rules.check_change`: equal → unchanged; empty or set by the same
    source → applied; set by another source → a ``register_conflict`` row (one per field and proposal:
    the same proposal again finds the open conflict) and the value is left as it is. A follower field
    (``spec.linked``: a status's date, a village's grid and address) shares its leader's fate when the
    leader changes: applied with it, or held in the leader's conflict (``linked``). ``resolves``:
    a conflict being accepted, whose value is applied regardless of the rule. The applied fields form
    one ``register_change`` row; the version rows are then rebuilt (:func:`materialize`)."""
    out = Recorded()
    seg = rules.segment_at(h.segments, valid_from)
    before = dict(seg.values) if seg else {}
    decisions = {}
    for name, value in proposed.items():
        decision = rules.check_change(h.segments, name, value, source, valid_from)
        if resolves is not None and decision is rules.Decision.CONFLICT:
            decision = rules.Decision.APPLY
        decisions[name] = decision
    followers: dict[str, list[str]] = {}
    for follower, leader in h.spec.linked:
        lead = decisions.get(leader, rules.Decision.SAME)
        if follower in decisions and lead is not rules.Decision.SAME:
            decisions[follower] = (
                lead if decisions[follower] is not rules.Decision.SAME else decisions[follower]
            )
            if lead is rules.Decision.CONFLICT and decisions[follower] is rules.Decision.CONFLICT:
                followers.setdefault(leader, []).append(follower)
    held = {f for fs in followers.values() for f in fs}
    open_conflicts: list[RegisterConflict] | None = None
    for name, decision in decisions.items():
        if decision is rules.Decision.SAME:
            out.unchanged.append(name)
        elif decision is rules.Decision.APPLY:
            out.applied[name] = proposed[name]
        elif name not in held:
            if open_conflicts is None:
                open_conflicts = list(
                    session.scalars(
                        select(RegisterConflict).where(
                            RegisterConflict.entity == h.spec.kind,
                            RegisterConflict.entity_id == h.entity_id,
                            RegisterConflict.status == "open",
                        )
                    )
                )
            linked = {f: proposed[f] for f in followers.get(name, [])}
            out.conflicts.append(
                _conflict(
                    session,
                    actor,
                    h,
                    open_conflicts,
                    name,
                    proposed[name],
                    linked,
                    source,
                    ref,
                    valid_from,
                    now,
                ).id
            )
    if out.applied:
        change = RegisterChange(
            entity=h.spec.kind,
            entity_id=h.entity_id,
            valid_from=valid_from,
            recorded_at=now,
            actor=actor.username,
            actor_id=actor.id,
            source=source,
            ref=ref,
            new=dict(out.applied),
            old={k: before.get(k) for k in out.applied},
            conflict_id=resolves.id if resolves else None,
        )
        session.add(change)
        session.flush()
        out.change_id = change.id
        h.changes.append(change)
        h.replay()
        materialize(session, h, now)
    return out


def _conflict(
    session: Session,
    actor: Actor,
    h: EntityHistory,
    open_conflicts: list[RegisterConflict],
    name: str,
    value: rules.Value,
    linked: dict[str, rules.Value],
    source: str,
    ref: str | None,
    valid_from: date,
    now: datetime,
) -> RegisterConflict:
    for c in open_conflicts:
        same = c.field == name and c.proposed == value and (c.linked or {}) == linked
        if same and c.proposed_source == source and c.valid_from == valid_from:
            return c
    seg = rules.segment_at(h.segments, valid_from)
    setter = seg.setters.get(name) if seg else None
    where = h.latest()
    district, town = location_codes(where.get("village_code"))  # type: ignore[arg-type]
    c = RegisterConflict(
        entity=h.spec.kind,
        entity_id=h.entity_id,
        field=name,
        valid_from=valid_from,
        current=seg.values.get(name) if seg else None,
        current_source=setter.source if setter else None,
        current_change_id=setter.seq if setter else None,
        proposed=value,
        linked=linked,
        proposed_source=source,
        proposed_ref=ref,
        actor=actor.username,
        recorded_at=now,
        district_code=district,
        town_code=town,
        grid_code=where.get("grid_code"),
        status="open",
    )
    session.add(c)
    session.flush()
    open_conflicts.append(c)
    return c


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
