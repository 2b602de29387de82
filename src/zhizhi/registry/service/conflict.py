"""Conflicts between sources (数据冲突): listing them within the data scope and resolving them.

A conflict is raised by service.history.record when a source proposes a different value for a field
another source set (rules.decide). The value on the register stays as it is until a person decides:
accept (the proposed value is recorded, with the proposing source as its provenance and the
resolver as the actor) or reject (nothing changes). Who decides: town and district staff for their
area; a department for conflicts on its own tags; grid workers report but do not decide.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import false, func, select
from sqlalchemy.orm import Session

from zhizhi.core import time as ztime
from zhizhi.core.access import Actor, mask_text, require, scope_of
from zhizhi.core.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from zhizhi.registry import rules
from zhizhi.registry.models import RegisterConflict
from zhizhi.registry.service import history as hist
from zhizhi.registry.service.batch import Batch
from zhizhi.registry.service.read import mask_value, visible_tags

STATUSES = ("open", "accepted", "rejected")


def _scoped(actor: Actor) -> Any:
    sc, c = scope_of(actor), RegisterConflict
    if sc.kind == "district":
        return c.district_code == sc.code
    if sc.kind == "town":
        return c.town_code == sc.code
    if sc.kind == "grid":
        return c.grid_code == sc.code
    tags = [f"tag:{t}" for t in visible_tags(actor) or []]
    return (c.district_code == actor.district_code) & c.field.in_(tags) if tags else false()


def conflict_view(c: RegisterConflict) -> dict[str, Any]:
    """A conflict as shown (personal values masked)."""
    spec = hist.SPECS[c.entity]
    return {
        "id": c.id, "entity": c.entity, "entity_id": c.entity_id, "field": c.field,
        "valid_from": c.valid_from.isoformat(),
        "current": mask_value(spec, c.field, c.current), "current_source": c.current_source,
        "proposed": mask_value(spec, c.field, c.proposed), "proposed_source": c.proposed_source,
        "linked": {k: mask_value(spec, k, x) for k, x in (c.linked or {}).items()},
        "proposed_ref": c.proposed_ref, "reported_by": c.actor, "recorded_at": c.recorded_at.isoformat(),
        "town_code": c.town_code, "grid_code": c.grid_code, "status": c.status,
        "resolved_by": c.resolved_by, "resolved_at": c.resolved_at.isoformat() if c.resolved_at else None,
        "note": mask_text(c.note), "applied_change_id": c.applied_change_id,
    }  # fmt: skip


def list_conflicts(
    session: Session, actor: Actor, status: str | None = "open", entity: str | None = None,
    *, limit: int = 100, offset: int = 0,
) -> dict[str, Any]:  # fmt: skip
    """Conflicts in the actor's scope (``status`` open/accepted/rejected or None for all; ``entity`` a
    register kind or None), oldest first: ``{"total", "items"}`` with :func:`conflict_view` items.
    Needs ``registry.read`` (Forbidden otherwise)."""
    require(actor, "registry.read")
    if status is not None and status not in STATUSES:
        raise InvalidInput(f'status: "{status}" is not one of {", ".join(STATUSES)}')
    c = RegisterConflict
    conds = [_scoped(actor)]
    conds += [c.status == status] if status else []
    conds += [c.entity == entity] if entity else []
    total = session.scalar(select(func.count()).select_from(c).where(*conds)) or 0
    rows = session.scalars(
        select(c).where(*conds).order_by(c.id).limit(max(0, min(limit, 1000))).offset(max(0, offset))
    )
    return {"total": total, "items": [conflict_view(x) for x in rows]}


def resolve_conflict(
    session: Session, actor: Actor, conflict_id: int, accept: bool, note: str | None = None
) -> dict[str, Any]:
    """Decide one open conflict. ``accept``: record the proposed value from the conflict's date, with
    the proposing source as its provenance; else keep the current value. ``note``: the reason (up to
    300 characters).

    Raises Forbidden (the role lacks ``registry.resolve``; a grid worker), NotFound (unknown or
    outside scope), Conflict (already decided, or the current value changed since the conflict was
    raised: look again), InvalidInput (a status the register can no longer take, e.g. back from 死亡).
    """
    require(actor, "registry.resolve")
    c = session.scalar(select(RegisterConflict).where(RegisterConflict.id == conflict_id, _scoped(actor)))
    if c is None:
        raise NotFound(f"conflict {conflict_id} not found")
    if scope_of(actor).kind == "grid":
        raise Forbidden("grid workers report conflicts; the town or district decides them")
    if c.status != "open":
        raise Conflict(f"conflict {conflict_id} was already {c.status} by {c.resolved_by}")
    try:
        note = rules.clean_text(note, "note", 300)
    except ValueError as e:
        raise InvalidInput(str(e), errors=[FieldError("note", str(e))]) from None
    now = ztime.utcnow()
    if accept:
        batch = Batch(session, hist.SPECS[c.entity], actor, now)
        batch.load([c.entity_id])
        h = batch.history(c.entity_id)
        if h.at(c.valid_from).get(c.field) != c.current:
            raise Conflict(f"conflict {conflict_id}: the value changed since it was raised; look at it again")
        if c.field == "status":
            reason = rules.status_transition_error(
                c.current if isinstance(c.current, str) else None, str(c.proposed)
            ) or next(
                (rules.status_transition_error(str(c.proposed), str(a)) for has, a in
                 [rules.next_value(h.segments, "status", c.valid_from)] if has and a),
                None,
            )  # fmt: skip
            if reason:
                raise InvalidInput(f"status: {reason}", errors=[FieldError("status", reason)])
        rec = batch.record(
            h, {c.field: c.proposed, **(c.linked or {})}, c.proposed_source, c.valid_from, c.proposed_ref,
            resolves=c,
        )  # fmt: skip
        batch.flush()
        c.applied_change_id = rec.change_id
    c.status = "accepted" if accept else "rejected"
    c.resolved_by, c.resolved_at, c.note = actor.username, now, note
    session.flush()
    return conflict_view(c)
