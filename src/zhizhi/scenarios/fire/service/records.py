"""Fire records (火灾登记): the damaged forest area, casualties, grade (森林火灾等级) and response level of
a fire event, and the sums the damage-rate KPI reads.

One record per fire event (森林火情 2206 or 卫星热点核查 2207); recording again updates it and
recomputes the grade (grading.py, data/grading.yaml). The response level is the grade's default
unless the record gives one (the command decides it: see data/grading.yaml). Record each fire once:
on its 2206 event, or on the 2207 event when no 2206 event exists; a duplicate event merged into
another (合并) is left out of the KPI. Services flush; the caller commits.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhizhi.core import time as ztime
from zhizhi.core.access import Actor, require
from zhizhi.core.errors import FieldError, InvalidInput, NotFound
from zhizhi.event import service as events
from zhizhi.scenarios.fire import grading
from zhizhi.scenarios.fire.models import FireEventRecord
from zhizhi.scenarios.fire.resource_schemas import RecordIn, RecordRead
from zhizhi.scenarios.fire.service.response import FIRE_CATEGORIES

_FIRE_ONLY = "a fire record belongs to a 森林火情 (2206) or 卫星热点核查 (2207) event"


def record_read(rec: FireEventRecord) -> RecordRead:
    """The API view of a record: grade and response level with their names and reasons."""
    pol = grading.default_grading_policy()
    g = grading.fire_grade(rec.burnt_area_ha, rec.deaths, rec.serious_injuries, pol)
    lvl = pol.level(rec.response_level)
    return RecordRead(
        event_id=rec.event_id,
        burnt_area_ha=rec.burnt_area_ha,
        burnt_total_ha=rec.burnt_total_ha,
        deaths=rec.deaths,
        serious_injuries=rec.serious_injuries,
        grade=rec.grade,
        grade_name=pol.grade(rec.grade).name,
        grade_reasons=list(g.reasons) if g.key == rec.grade else [],
        response_level=rec.response_level,
        response_level_name=lvl.name,
        response_level_lead=lvl.lead,
        response_level_given=rec.response_level_given,
        note=rec.note,
        filled_at=rec.filled_at,
        filled_by=rec.filled_by,
        updated_at=rec.updated_at,
        updated_by=rec.updated_by,
    )


def _event(session: Session, actor: Actor, event_id: int, write: bool = False) -> int:
    """The id of fire event ``event_id`` in the actor's scope; ``write``: a unit that sees it only
    through a pre-plan task may read the record, not fill it (403 event.task_only)."""
    ev = events.get_event(session, actor, event_id, own_reports=False, own_tasks=not write)
    if ev.category_code not in FIRE_CATEGORIES:
        why = f"event {event_id}: {_FIRE_ONLY}, not {ev.category_code}"
        raise InvalidInput(why, [FieldError("event_id", why)])
    return ev.id


def get_record(session: Session, actor: Actor, event_id: int) -> FireEventRecord:
    """The record of fire event ``event_id`` (in the actor's scope). Needs ``fire.read``. Raises
    NotFound for an event out of scope or without a record, InvalidInput for a non-fire event."""
    require(actor, "fire.read")
    eid = _event(session, actor, event_id)
    rec = session.scalar(select(FireEventRecord).where(FireEventRecord.event_id == eid))
    if rec is None:
        raise NotFound(f"event {event_id} has no fire record yet")
    return rec


def record_fire(
    session: Session, actor: Actor, event_id: int, data: RecordIn
) -> tuple[FireEventRecord, bool]:
    """Create or update the record of fire event ``event_id`` and compute its grade (and, unless given,
    its response level from the grade). Returns (the record, created?). Needs ``fire.verify`` (the
    roles who check fires on site: grid, town and district center) and the event in the actor's
    scope (NotFound otherwise). Raises InvalidInput for a non-fire event or values out of range.
    """
    require(actor, "fire.verify")
    eid = _event(session, actor, event_id, write=True)
    pol = grading.default_grading_policy()
    try:
        g = grading.fire_grade(data.burnt_area_ha, data.deaths, data.serious_injuries, pol)
        level = pol.level(data.response_level).level if data.response_level is not None else g.response_level
    except ValueError as e:
        raise InvalidInput(str(e), [FieldError("record", str(e))]) from None
    if data.burnt_total_ha is not None and data.burnt_total_ha < data.burnt_area_ha:
        why = (
            f"burnt_total_ha {data.burnt_total_ha:g} is smaller than the damaged forest area "
            f"burnt_area_ha {data.burnt_area_ha:g} (the forest damaged is part of the area burnt)"
        )
        raise InvalidInput(why, [FieldError("burnt_total_ha", why)])
    now = ztime.utcnow()
    rec = session.scalar(select(FireEventRecord).where(FireEventRecord.event_id == eid))
    created = rec is None
    if rec is None:
        rec = FireEventRecord(event_id=eid, filled_at=now, filled_by=actor.name)
        session.add(rec)
    rec.burnt_area_ha = float(data.burnt_area_ha)
    rec.burnt_total_ha = data.burnt_total_ha
    rec.deaths, rec.serious_injuries = data.deaths, data.serious_injuries
    rec.grade, rec.response_level = g.key, level
    rec.response_level_given = data.response_level is not None
    rec.note = data.note
    rec.updated_at, rec.updated_by = now, actor.name
    session.flush()
    return rec, created
