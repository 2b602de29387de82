"""Writing the registers (台账录入): validate one record, deduplicate it by its identifier, check the
actor's permission and data scope, and record the change with its history and conflicts.

Input is a plain mapping, as an import row or an API body gives it. A key that is absent, None or ""
means "not supplied" (a blank spreadsheet cell never erases what another source said); to empty a
field, list it under ``clear``. Bad input raises :class:`InvalidInput` naming every bad field with its
reason; nothing is stored then.

A resident is written in two steps shared by the per-row and the bulk path (service.bulk):
:func:`draft_resident` checks the record on its own (identifiers, codes, org units, household), then
:func:`apply_resident` checks it against the stored person (service.check: a person outside the
write scope is judged as not on the register, then refused) and records it in a
:class:`~zhizhi.registry.service.batch.Batch`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhizhi.core import time as ztime
from zhizhi.core.access import Actor, require
from zhizhi.registry import identifiers, rules
from zhizhi.registry.identifiers import IdentifierResult
from zhizhi.registry.models import Resident
from zhizhi.registry.service import history as hist
from zhizhi.registry.service.batch import Batch, Recorded
from zhizhi.registry.service.check import (
    OUT_OF_SCOPE,
    Form,
    Lookups,
    check_location,
    check_scope,
    hidden_history,
    parse_source,
    parse_valid_from,
    refuse,
    today,
)


@dataclass(slots=True)
class UpsertResult:
    """Outcome of one upsert: the entity ``kind`` and ``id``, whether it was ``created``, the fields
    ``applied`` (names), ``unchanged``, the ``conflicts`` recorded (ids; those fields kept their value),
    the change ids written, and validator ``warnings`` (e.g. a 15-digit ID converted)."""

    kind: str
    id: int
    created: bool
    applied: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    conflicts: list[int] = field(default_factory=list)
    changes: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Pending:
    """An upsert recorded in a batch, not yet flushed: :meth:`finish` reads the final ids."""

    result: UpsertResult
    entity_id: int
    recorded: list[Recorded]

    def finish(self, batch: Batch) -> UpsertResult:
        """The result with the ids the flush of ``batch`` gave."""
        r = self.result
        r.id = batch.real_id(self.entity_id)
        for rec in self.recorded:
            r.applied += list(rec.applied)
            r.unchanged += rec.unchanged
            r.conflicts += rec.conflicts
            if rec.change is not None:
                r.changes.append(rec.change.id)
        return r


def record_parts(
    batch: Batch,
    h: hist.EntityHistory,
    parts: list[tuple[date, dict[str, rules.Value]]],
    source: str,
    ref: str | None,
    result: UpsertResult,
) -> Pending:
    """Record each (valid_from, values) part of one upsert in ``batch``."""
    recs = [batch.record(h, values, source, vf, ref) for vf, values in parts if values]
    return Pending(result, h.entity_id, recs)


# --- residents (人口) -----------------------------------------------------------------------------------

_RESIDENT_KEYS = {
    "citizen_id", "name", "sex", "birth_date", "ethnicity", "phone", "household_number", "relation",
    "address", "village_code", "grid_code", "status", "status_date", "tags", "generated", "clear",
}  # fmt: skip


@dataclass
class ResidentDraft:
    """A resident record checked on its own (:func:`draft_resident`): the form with its parsed values,
    the normalized citizen ID and the facts derived from it, status, status date and tags."""

    form: Form
    citizen_id: str
    sex: str
    birth: date
    status: str | None
    status_date: date | None
    tags: dict[str, bool]


def draft_resident(
    lookups: Lookups, actor: Actor, data: Mapping[str, Any], checked_id: IdentifierResult | None = None
) -> ResidentDraft:
    """Check one resident record on its own, without the stored person: fields, codes, org units,
    household (inside the write scope), tags, and sex/birth date against the ID. ``checked_id``: the
    citizen ID's validation result when the caller has it. Raises InvalidInput."""
    f = Form("resident", data, _RESIDENT_KEYS)
    cid = f.identifier(
        "citizen_id", "citizen-id", required=True, checked=checked_id, plain=lookups.plain("citizen-id")
    )
    f.take("name", lambda v: rules.clean_text(v, "name", 64))
    f.take("ethnicity", lambda v: lookups.code(v, rules.codes().ethnicity, "ethnicity"))
    if f.given("phone"):
        f.values["phone"] = f.identifier("phone", "phone", plain=lookups.plain("phone"))
    f.take("relation", lambda v: lookups.code(v, rules.relations(), "relation"))
    status = f.take("status", rules.parse_status)
    status_date = f.take("status_date", lambda v: rules.parse_date(v, "status_date"))
    check_location(lookups, f, actor)
    if f.given("household_number"):
        number = identifiers.clean_identifier(f.data["household_number"])
        hid = lookups.household_id(number)
        if hid is None:
            f.error(
                "household_number", f'household "{number[:32]}" is not registered: add the household first'
            )
        f.values["household_id"] = hid
    tags = _tags(f)
    f.apply_clear({"household_number": "household_id"})
    f.check()
    assert cid is not None
    sex, birth = rules.sex_of(cid), rules.birth_date_of(cid)
    _cross_check(f, sex, birth)
    return ResidentDraft(f, cid, sex, birth, status, status_date, tags)


def apply_resident(
    batch: Batch,
    actor: Actor,
    d: ResidentDraft,
    resident_id: int | None,
    source: str,
    valid_from: date,
    ref: str | None,
) -> Pending:
    """Check a drafted resident against the stored person (``resident_id``: loaded in ``batch``, or
    None for a new one) and record it in ``batch``: status and tag rules, a new person's required
    fields, then the scope of the resulting location. A stored person outside the actor's write
    scope is judged as a new one and then refused (:func:`hidden_history`): the answer is the one a
    person not on the register would get, or :data:`OUT_OF_SCOPE`. Raises Forbidden or InvalidInput
    before recording anything."""
    f, vf = d.form, valid_from
    h = batch.history(resident_id) if resident_id else hist.EntityHistory(hist.RESIDENT, 0)
    hidden = hidden_history(actor, h)
    if hidden:
        h, resident_id = hist.EntityHistory(hist.RESIDENT, 0), None
    f.fit_grid(h)
    status, status_from = d.status, d.status_date or vf
    if resident_id is None and status_from < vf:
        vf = status_from  # a new person known since an earlier status date exists from then on
    if status is not None:
        f.values["status_date"] = status_from.isoformat() if status != "active" or d.status_date else None
    for code, on in d.tags.items():
        reason = rules.tag_rule_error(rules.tag_catalogue()[code], d.sex, d.birth, vf) if on else None
        if reason:
            f.error("tags", reason)
    if status is not None:
        _status_check(f, h, status, status_from)
    if resident_id is None:
        if "name" not in f.values or "village_code" not in f.values:
            f.error("name" if "name" not in f.values else "village_code", "required for a new resident")
        f.values.setdefault("status", "active")
    f.check()
    values: dict[str, rules.Value] = {**f.values, **{f"tag:{k}": v for k, v in d.tags.items()}}
    status_part: dict[str, rules.Value] = {k: values.pop(k) for k in ("status", "status_date") if k in values}
    check_scope(actor, {**h.latest(), **values})
    if hidden:
        refuse(actor)  # the residual signal: see docs/domains/registry.md (Permissions)
    created = resident_id is None
    if created:
        h = batch.create(
            {
                "citizen_id": d.citizen_id,
                "sex": d.sex,
                "birth_date": d.birth,
                "generated": bool(f.data.get("generated")),
                "created_at": batch.now,
            }
        )
    parts: list[tuple[date, dict[str, rules.Value]]] = [
        (vf, values),
        (status_from if status is not None else vf, status_part),
    ]
    if created and parts[1][0] > vf:
        values["status"] = "active"  # on the register from valid_from until the later status date
    if parts[0][0] == parts[1][0]:
        parts = [(vf, {**values, **status_part})]
    result = UpsertResult("resident", h.entity_id, created, warnings=f.warnings)
    return record_parts(batch, h, parts, source, ref, result)


def upsert_resident(
    session: Session,
    actor: Actor,
    data: Mapping[str, Any],
    source: str,
    *,
    valid_from: date | None = None,
    ref: str | None = None,
) -> UpsertResult:
    """Create or update one resident (实有人口), deduplicated by citizen ID.

    data: ``citizen_id`` (required; validated by registry.identifiers, 15 digits converted),
    ``name``, ``sex``/``birth_date`` (only cross-checked against the ID), ``ethnicity`` (GB 3304 code
    or label), ``phone``, ``household_number`` (an existing 户号), ``relation`` (GB/T 4761 code or
    label), ``address``, ``village_code``/``grid_code``, ``status`` (在册/迁出/死亡 or code),
    ``status_date``, ``tags`` (a list of codes to set, or ``{code: true|false}``), ``generated``
    (synthetic person), ``clear`` (fields to empty). A new resident needs ``name`` and a location.
    source: the supplier (rules.parse_source); valid_from: the date the values hold from (default
    today, Beijing time); a status change holds from its ``status_date``. ref: file/batch reference.
    Raises Forbidden (the role lacks ``registry.write``; or the record, stored or proposed, lies
    outside the actor's data scope: :data:`OUT_OF_SCOPE`), InvalidInput (every bad field named, with
    the reason). Values another source set are not overwritten: see ``UpsertResult.conflicts``.
    """
    require(actor, "registry.write")
    src, vf = parse_source(source), parse_valid_from(valid_from)
    draft = draft_resident(Lookups(session, actor), actor, data)
    rid = session.scalar(select(Resident.id).where(Resident.citizen_id == draft.citizen_id))
    batch = Batch(session, hist.RESIDENT, actor, ztime.utcnow())
    if rid is not None:
        batch.load([rid])
    pending = apply_resident(batch, actor, draft, rid, src, vf, ref)
    batch.flush()
    return pending.finish(batch)


def _tags(f: Form) -> dict[str, bool]:
    raw = f.data.get("tags")
    if raw is None or raw == [] or raw == {}:
        return {}
    pairs = (
        raw.items()
        if isinstance(raw, Mapping)
        else ((t, True) for t in raw)
        if isinstance(raw, list)
        else None
    )
    if pairs is None:
        f.error("tags", "expected a list of tag codes or a mapping code → true/false")
        return {}
    out: dict[str, bool] = {}
    catalogue = rules.tag_catalogue()
    by_label = {t.label: t.code for t in catalogue.values()}
    for t, on in pairs:
        code = by_label.get(t, t) if isinstance(t, str) else t
        if code not in catalogue or not isinstance(on, bool):
            f.error("tags", f"{str(t)[:20]!r}: not a tag of registry/data/tags.yaml (or not true/false)")
            continue
        out[str(code)] = on
    return out


def _cross_check(f: Form, sex: str, birth: date) -> None:
    if f.given("sex"):
        given = {"男": "male", "女": "female", "1": "male", "2": "female"}.get(str(f.data["sex"]).strip())
        given = given or str(f.data["sex"]).strip().lower()
        if given != sex:
            f.error("sex", f"{f.data['sex']!s:.10} contradicts the citizen ID ({sex})")
    if f.given("birth_date"):
        try:
            given_birth = rules.parse_date(f.data["birth_date"], "birth_date")
        except ValueError as e:
            f.error("birth_date", str(e))
        else:
            if given_birth != birth:
                f.error("birth_date", f"{given_birth} contradicts the citizen ID ({birth})")
    f.check()


def _status_check(f: Form, h: hist.EntityHistory, status: str, on: date) -> None:
    before = h.at(on).get("status")
    reason = rules.status_transition_error(before if isinstance(before, str) else None, status)
    has_next, after = rules.next_value(h.segments, "status", on)
    if reason is None and has_next and isinstance(after, str):
        reason = rules.status_transition_error(status, after)
        if reason:
            reason = f"{reason} (a later record on the register)"
    if reason:
        f.error("status", reason)


__all__ = [
    "OUT_OF_SCOPE", "Lookups", "Pending", "ResidentDraft", "UpsertResult", "apply_resident",
    "draft_resident", "record_parts", "today", "upsert_resident",
]  # fmt: skip
