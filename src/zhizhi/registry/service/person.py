"""One resident (一人一档): the masked detail as of a date with field-level provenance, and the audited
full view of the personal fields (完整查看个人信息).

The detail is what any reader in scope sees (``registry.read``): the citizen ID, name and phone
masked, the age instead of the birth date, the department's own tags only, and for each field the
source that supplied it. The full view returns the citizen ID, name, phone and address unmasked to a
role holding ``personal.full_view`` (and ``registry.read``), for a person in its data scope, with a
stated reason; every full view writes an audit row (core.audit, ``personal.full_view``) before the
data is returned, in the same transaction.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhizhi.core import audit
from zhizhi.core.access import Actor, require, scope_of
from zhizhi.core.errors import FieldError, InvalidInput, NotFound
from zhizhi.registry import rules
from zhizhi.registry.models import Resident, ResidentVersion
from zhizhi.registry.service import history as hist
from zhizhi.registry.service.check import today
from zhizhi.registry.service.read import (
    as_of_clause,
    resident_view,
    scope_clause,
    visible_entity,
    visible_tags,
)

REASON_CHARS = (4, 500)
"""A full view's reason (事由): at least 4, at most 500 characters."""


def resident_detail(
    session: Session,
    actor: Actor,
    resident_id: int,
    as_of: date | None = None,
    *,
    known_at: datetime | None = None,
) -> dict[str, Any]:
    """One resident as of ``as_of`` (default today), as known at ``known_at`` (default now), within the
    actor's scope: :func:`~zhizhi.registry.service.read.resident_view` (masked) plus ``provenance``,
    for each field in force the ``source``, ``ref``, ``actor``, ``recorded_at``, ``valid_from`` and
    ``change_id`` of the change that set it (as known at ``known_at``; a department sees its own tags
    only). Raises NotFound when the person is not on the register on that date or is outside the
    scope (the same answer), Forbidden without ``registry.read``."""
    require(actor, "registry.read")
    as_of = as_of or today()
    v = ResidentVersion
    row = session.execute(
        select(Resident, v)
        .join(v, v.resident_id == Resident.id)
        .where(
            Resident.id == resident_id,
            as_of_clause(v, as_of, known_at),
            scope_clause(actor, v, as_of, known_at),
        )
    ).first()
    if row is None:
        raise NotFound(f"resident {resident_id} not found on {as_of.isoformat()}")
    item = resident_view(actor, row[0], row[1], as_of)
    h = hist.load(session, hist.RESIDENT, resident_id)
    if known_at is not None:
        h.changes = [c for c in h.changes if c.recorded_at <= known_at]
        h.replay()
    seen = visible_tags(actor)
    item["provenance"] = {
        k: p
        for k, p in hist.provenance(h, as_of).items()
        if not (k.startswith("tag:") and seen is not None and k[4:] not in seen)
    }
    return item


def resident_personal(
    session: Session, actor: Actor, resident_id: int, reason: str, client: str | None = None
) -> dict[str, Any]:
    """The unmasked citizen ID, name, phone and address of one resident (the latest values believed),
    for a user holding ``personal.full_view`` and ``registry.read``, within the data scope, with a
    reason of :data:`REASON_CHARS` characters. Writes the audit row (who, role, when, which resident
    by internal id — never the ID number —, why, from where, the scope) before returning.

    Raises Forbidden (a permission missing), NotFound (unknown or outside the scope), InvalidInput
    (no reason, or one too short or long)."""
    require(actor, "registry.read")
    require(actor, "personal.full_view")
    try:
        text = rules.clean_text(reason, "reason", REASON_CHARS[1]) or ""
    except ValueError as e:
        raise InvalidInput(str(e), errors=[FieldError("reason", str(e))]) from None
    if len(text) < REASON_CHARS[0]:
        why = f"state why the full personal data is needed (at least {REASON_CHARS[0]} characters)"
        raise InvalidInput(f"reason: {why}", errors=[FieldError("reason", why)])
    v = visible_entity(session, actor, hist.RESIDENT, resident_id)
    person = session.get(Resident, resident_id)
    assert person is not None  # a version row points at it
    sc = scope_of(actor)
    audit.record(
        session,
        actor=actor.username,
        actor_role=actor.role,
        action=audit.Action.personal_full_view,
        object_type="resident",
        object_id=resident_id,
        reason=text,
        client=client,
        scope=f"{sc.kind}:{sc.code}",
        detail={"fields": ["citizen_id", "name", "phone", "address"]},
    )
    return {
        "id": resident_id,
        "citizen_id": person.citizen_id,
        "name": v.name,
        "phone": v.phone,
        "address": v.address,
        "valid_from": v.valid_from.isoformat(),
    }


__all__ = ["REASON_CHARS", "resident_detail", "resident_personal"]
