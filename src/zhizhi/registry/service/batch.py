"""Recording register changes in batches (批量记录): the conflict rule applied in memory to the changes
of one entity or of tens of thousands, recorded at one instant, and written with set-based SQL
(docs/adr/0005-register-history.md; docs/domains/registry.md, Bulk writes).

One upsert is a batch of one: the per-row path (service.write, service.entities, service.conflict)
and the bulk path (service.bulk) share every rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from operator import attrgetter, itemgetter
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from zhizhi.core.access import Actor
from zhizhi.registry import rules
from zhizhi.registry.models import RegisterChange, RegisterConflict
from zhizhi.registry.service.history import (
    CHANGE_NAMES,
    ChangeRec,
    EntityHistory,
    EntitySpec,
    chunked,
    load_changes,
    location_codes,
    row_values,
)
from zhizhi.registry.service.sql import insert_rows

PROVISIONAL = 1 << 60
"""Change ids handed out by a batch before it is flushed start here, above any real id, so that a
replayed timeline orders them after the changes already stored (rules.timeline orders by id)."""


@dataclass
class Recorded:
    """Outcome of :meth:`Batch.record`: fields applied (with their new values), fields unchanged,
    the conflicts raised or found open for the same proposal, and the change written (None: nothing
    applied). Ids are final once the batch is flushed."""

    applied: dict[str, rules.Value] = field(default_factory=dict)
    unchanged: list[str] = field(default_factory=list)
    conflict_rows: list[RegisterConflict] = field(default_factory=list)
    change: ChangeRec | None = None

    @property
    def conflicts(self) -> list[int]:
        """Conflict ids (after the flush)."""
        return [c.id for c in self.conflict_rows]

    @property
    def change_id(self) -> int | None:
        """The change row id (after the flush), None when nothing was applied."""
        return self.change.id if self.change else None


class Batch:
    """Changes to entities of one register, recorded by ``actor`` at one instant ``now``, written with
    set-based SQL by :meth:`flush` (services flush, never commit).

    Use: :meth:`load` the existing entities to touch (chunked queries), take their :meth:`history`
    or :meth:`create` new ones (provisional negative ids), :meth:`record` proposed values (the
    conflict rule runs in memory, in call order, so the same entity twice in a batch behaves as two
    successive upserts), then :meth:`flush`: identity rows (``INSERT … RETURNING id``), change rows,
    version rows (superseded by one ``UPDATE … WHERE id IN``, new ones by one multi-row insert) and
    conflicts. The version rows written are those of each entity's final timeline: a state that a
    later change of the same batch replaces is never stored (it was never believed at any instant).
    """

    def __init__(self, session: Session, spec: EntitySpec, actor: Actor, now: datetime) -> None:
        self.session, self.spec, self.actor, self.now = session, spec, actor, now
        self._histories: dict[int, EntityHistory] = {}
        self._believed: dict[int, list[tuple[int, tuple[Any, ...]]]] = {}
        self._open: dict[int, list[RegisterConflict]] = {}
        self._identities: dict[int, dict[str, Any]] = {}
        self._changes: list[ChangeRec] = []
        self._conflicts: list[RegisterConflict] = []
        self._touched: dict[int, None] = {}
        self._real: dict[int, int] = {}
        self._seq = PROVISIONAL

    # -- reading what the batch touches --

    def load(self, entity_ids: Iterable[int]) -> None:
        """Load the changes, believed version rows and open conflicts of existing entities (ids not
        loaded yet), a few queries per :data:`CHUNK` ids."""
        ids = [i for i in dict.fromkeys(entity_ids) if i > 0 and i not in self._histories]
        if not ids:
            return
        spec, v, cols = self.spec, self.spec.version, self.spec.columns()
        for eid, changes in load_changes(self.session, spec.kind, ids).items():
            h = EntityHistory(spec, eid, changes)
            h.replay()
            self._histories[eid] = h
            self._believed[eid] = []
            self._open[eid] = []
        fk = getattr(v, spec.fk)
        columns = [v.id, fk, v.valid_from, v.valid_to, *(getattr(v, c) for c in cols)]
        c = RegisterConflict
        for part in chunked(ids):
            for row in self.session.execute(select(*columns).where(fk.in_(part), v.superseded_at.is_(None))):
                self._believed[row[1]].append((row[0], tuple(row[2:])))
            for conflict in self.session.scalars(
                select(c).where(c.entity == spec.kind, c.entity_id.in_(part), c.status == "open")
            ):
                self._open[conflict.entity_id].append(conflict)

    def history(self, entity_id: int) -> EntityHistory:
        """The history of a loaded or created entity (KeyError otherwise)."""
        return self._histories[entity_id]

    def create(self, identity: Mapping[str, Any]) -> EntityHistory:
        """A new entity whose identity row (``identity``: its columns) is inserted on flush; its id is
        provisional (negative) until then (:meth:`real_id`)."""
        eid = -(len(self._identities) + 1)
        self._identities[eid] = dict(identity)
        h = EntityHistory(self.spec, eid)
        self._histories[eid], self._believed[eid], self._open[eid] = h, [], []
        return h

    def real_id(self, entity_id: int) -> int:
        """The stored id of an entity (a provisional id is mapped after the flush)."""
        return self._real.get(entity_id, entity_id)

    # -- recording --

    def record(
        self,
        h: EntityHistory,
        proposed: Mapping[str, rules.Value],
        source: str,
        valid_from: date,
        ref: str | None = None,
        resolves: RegisterConflict | None = None,
    ) -> Recorded:
        """Record ``proposed`` field values of ``h``'s entity from ``valid_from`` on, from ``source``.

        Each field goes through :func:`rules.check_change` (as :func:`rules.decide` against the
        segment in force on ``valid_from``): equal → unchanged; empty or set by the
        same source → applied; set by another source → a ``register_conflict`` row (one per field and
        proposal: the same proposal again finds the open conflict) and the value is left as it is. A
        follower field (``spec.linked``: a status's date, a village's grid and address) shares its
        leader's fate when the leader changes: applied with it, or held in the leader's conflict
        (``linked``). ``resolves``: a conflict being accepted, whose value is applied regardless of
        the rule. The applied fields form one change row; the timeline is replayed in memory.

        An entity without any change yet (created in this batch) has every field empty: each value
        given is applied (rules.decide against an empty field), none is in conflict, so no
        follower is held; its timeline is replayed only if something reads it."""
        if not h.changes and resolves is None:
            return self._record_first(h, proposed, source, valid_from, ref)
        out = Recorded()
        seg = rules.segment_at(h.segments, valid_from)
        before = seg.values if seg else {}
        setters = seg.setters if seg else {}
        decisions = {}
        for name, value in proposed.items():
            # rules.check_change, with the segment in force on valid_from looked up once
            setter = setters.get(name)
            decision = rules.decide(before.get(name), setter.source if setter else None, value, source)
            if resolves is not None and decision is rules.Decision.CONFLICT:
                decision = rules.Decision.APPLY
            decisions[name] = decision
        followers: dict[str, list[str]] = {}
        for follower, leader in h.spec.linked:
            lead = decisions.get(leader, rules.Decision.SAME)
            if follower in decisions and lead is not rules.Decision.SAME:
                if decisions[follower] is not rules.Decision.SAME:
                    decisions[follower] = lead
                if lead is rules.Decision.CONFLICT and decisions[follower] is rules.Decision.CONFLICT:
                    followers.setdefault(leader, []).append(follower)
        held = {f for fs in followers.values() for f in fs}
        for name, decision in decisions.items():
            if decision is rules.Decision.SAME:
                out.unchanged.append(name)
            elif decision is rules.Decision.APPLY:
                out.applied[name] = proposed[name]
            elif name not in held:
                linked = {f: proposed[f] for f in followers.get(name, [])}
                out.conflict_rows.append(
                    self._conflict(h, name, proposed[name], linked, source, ref, valid_from)
                )
        if out.applied:
            out.change = self._change(h, out.applied, before, source, valid_from, ref, resolves)
        return out

    def _record_first(
        self,
        h: EntityHistory,
        proposed: Mapping[str, rules.Value],
        source: str,
        valid_from: date,
        ref: str | None,
    ) -> Recorded:
        """:meth:`record` for an entity without changes (see there): the same outcome, without
        looking up segments or replaying a timeline."""
        out = Recorded()
        same, decide = rules.Decision.SAME, rules.decide
        for name, value in proposed.items():
            if decide(None, None, value, source) is same:
                out.unchanged.append(name)
            else:
                out.applied[name] = value
        if out.applied:
            out.change = self._change(h, out.applied, {}, source, valid_from, ref, None)
        return out

    def _change(
        self,
        h: EntityHistory,
        applied: Mapping[str, rules.Value],
        before: Mapping[str, rules.Value],
        source: str,
        valid_from: date,
        ref: str | None,
        resolves: RegisterConflict | None,
    ) -> ChangeRec:
        """A new change row of ``h``'s entity setting ``applied`` (``before``: the values in force on
        ``valid_from`` until now), added to the batch and to ``h`` (its timeline brought up to
        date: EntityHistory.add)."""
        self._seq += 1
        change = ChangeRec(
            id=self._seq,
            entity=h.spec.kind,
            entity_id=h.entity_id,
            valid_from=valid_from,
            recorded_at=self.now,
            actor=self.actor.username,
            actor_id=self.actor.id,
            source=source,
            ref=ref,
            new=dict(applied),
            old={k: before.get(k) for k in applied},
            conflict_id=resolves.id if resolves else None,
        )
        self._changes.append(change)
        h.add(change)
        self._touched[h.entity_id] = None
        return change

    def _conflict(
        self,
        h: EntityHistory,
        name: str,
        value: rules.Value,
        linked: dict[str, rules.Value],
        source: str,
        ref: str | None,
        valid_from: date,
    ) -> RegisterConflict:
        open_conflicts = self._open.setdefault(h.entity_id, [])
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
            actor=self.actor.username,
            recorded_at=self.now,
            district_code=district,
            town_code=town,
            grid_code=where.get("grid_code"),
            status="open",
        )
        open_conflicts.append(c)
        self._conflicts.append(c)
        return c

    # -- writing --

    def flush(self) -> None:
        """Write what was recorded (see the class docstring) and flush the session. Afterwards
        provisional ids are real (:meth:`real_id`, ``ChangeRec.id``, ``RegisterConflict.id``), and
        the batch holds nothing else: record more in a new batch."""
        s = self.session
        if self._identities:
            self._insert_identities()
        real = self.real_id
        if self._changes:
            for c in self._changes:
                c.entity_id = real(c.entity_id)
            given = self._insert_changes()
            for conflict in self._conflicts:
                if conflict.current_change_id is not None and conflict.current_change_id > PROVISIONAL:
                    conflict.current_change_id = given[conflict.current_change_id]
        self._materialize()
        for conflict in self._conflicts:
            conflict.entity_id = real(conflict.entity_id)
        if len(self._conflicts) > 1:
            self._insert_conflicts()
        else:
            s.add_all(self._conflicts)
        # what was loaded is stale now: a batch is done once flushed (only real_id stays)
        self._histories, self._believed, self._open = {}, {}, {}
        self._changes, self._conflicts = [], []
        s.flush()

    def _insert_identities(self) -> None:
        """Insert the new identity rows (one executemany) and read their ids back by their unique key
        (``spec.key``; a unit without credit code has none: a batch creates at most one such unit)
        among the rows with an id above the largest before the insert (one range scan)."""
        s, spec = self.session, self.spec
        table = spec.identity.__table__
        provisional, rows = list(self._identities), list(self._identities.values())
        self._identities = {}
        if len(rows) == 1:  # the per-row path: one statement, id returned
            self._real[provisional[0]] = s.execute(insert(table).returning(table.c.id), rows[0]).scalar_one()
            return
        before = s.scalar(select(func.max(table.c.id))) or 0
        keys = list(rows[0])  # every identity row of a register has the same keys (two or more)
        in_order = itemgetter(*keys)
        insert_rows(s, table, keys, [in_order(r) for r in rows])
        key = table.c[spec.key]
        new_rows = s.execute(select(key, table.c.id).where(table.c.id > before))
        ids: dict[Any, int] = {k: i for k, i in new_rows}
        self._real.update({p: ids[r[spec.key]] for p, r in zip(provisional, rows, strict=True)})

    def _insert_changes(self) -> dict[int, int]:
        """Insert the new change rows (one executemany) and give each its real id, read back per
        entity in id order (rows of this batch: its register, its recording instant, ids above the
        largest before the insert — one range scan; ids grow in insertion order). Returns
        provisional id → real id.

        ``INSERT … RETURNING`` in parameter order would be one statement per row on SQLite (no
        insert sentinel there), hence the read-back."""
        s, c = self.session, RegisterChange
        names = CHANGE_NAMES[1:]  # all but the id
        if len(self._changes) == 1:  # one statement, id returned
            x = self._changes[0]
            row = {n: getattr(x, n) for n in names}
            old, x.id = x.id, s.execute(insert(c).returning(c.id), row).scalar_one()
            return {old: x.id}
        before = s.scalar(select(func.max(c.id))) or 0
        values = attrgetter(*names)
        insert_rows(s, c.__table__, names, [values(x) for x in self._changes])  # type: ignore[arg-type]
        per_entity: dict[int, list[ChangeRec]] = {}
        for x in self._changes:
            per_entity.setdefault(x.entity_id, []).append(x)
        given: dict[int, int] = {}
        for eid, new_id in self._new_rows(c, before):
            mine = per_entity.get(eid)
            if mine:
                x = mine.pop(0)
                given[x.id], x.id = new_id, new_id
        return given

    def _new_rows(self, model: Any, before: int) -> list[tuple[int, int]]:
        """(entity_id, id) of the rows of ``model`` (changes, conflicts) this batch has just inserted,
        in id order: ids above ``before``, recorded at this batch's instant, of its register (a row
        another transaction committed meanwhile is not one of ours). The register is compared here,
        not in SQL: a condition on the indexed ``entity`` column would make SQLite's planner scan
        the register's whole log by that index instead of the primary-key range."""
        m = model
        rows = self.session.execute(
            select(m.entity, m.entity_id, m.id).where(m.id > before, m.recorded_at == self.now).order_by(m.id)
        )
        kind = self.spec.kind
        return [(eid, i) for e, eid, i in rows if e == kind]

    def _insert_conflicts(self) -> None:
        """Insert the new conflict rows (one executemany, not one ORM insert each) and give each its
        id, read back as the change ids are (:meth:`_insert_changes`). The conflict objects stay
        out of the session (nothing changes them afterwards)."""
        s, t = self.session, RegisterConflict.__table__
        names = [c.key for c in t.c if c.key != "id"]
        values = attrgetter(*names)
        before = s.scalar(select(func.max(t.c.id))) or 0
        insert_rows(s, t, names, [values(x) for x in self._conflicts])  # type: ignore[arg-type]
        per_entity: dict[int, list[RegisterConflict]] = {}
        for x in self._conflicts:
            per_entity.setdefault(x.entity_id, []).append(x)
        for eid, new_id in self._new_rows(RegisterConflict, before):
            mine = per_entity.get(eid)
            if mine:
                mine.pop(0).id = new_id

    def _materialize(self) -> None:
        """Bring the believed version rows of every touched entity in line with its timeline: rows
        matching a segment exactly stay; the others are superseded at ``now`` (one UPDATE per chunk);
        missing segments are inserted with ``recorded_at = now`` (one multi-row INSERT)."""
        spec, cols, now = self.spec, self.spec.columns(), self.now
        in_order = itemgetter(*cols)
        supersede: list[int] = []
        rows: list[tuple[Any, ...]] = []  # spec.fk, valid_from, valid_to, recorded_at, superseded_at, *cols
        for eid in self._touched:
            h, believed = self._histories[eid], self._believed.get(eid)
            fk = self.real_id(eid)
            if not believed and len(h.changes) == 1:
                # one change, nothing stored: the timeline is one open segment holding its values
                c = h.changes[0]
                rows.append((fk, c.valid_from, None, now, None, *in_order(row_values(spec, c.new))))
                continue
            wanted: dict[Any, tuple[Any, ...]] = {}
            for i, seg in enumerate(h.segments):
                key = (seg.valid_from, seg.valid_to, *in_order(row_values(spec, seg.values)))
                wanted[key if believed else i] = key
            for row_id, key in believed or ():
                if wanted.pop(key, None) is None:
                    supersede.append(row_id)
            rows += [(fk, k[0], k[1], now, None, *k[2:]) for k in wanted.values()]
        self._touched = {}
        v = spec.version
        for part in chunked(supersede):
            self.session.execute(update(v).where(v.id.in_(part)).values(superseded_at=now))
        keys = (spec.fk, "valid_from", "valid_to", "recorded_at", "superseded_at", *cols)
        insert_rows(self.session, v.__table__, keys, rows)


__all__ = ["PROVISIONAL", "Batch", "Recorded"]
