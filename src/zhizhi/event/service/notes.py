"""Notes on an event's timeline (备注): a neutral step that records what someone learnt or decided
about an event without moving it.

A note is an :class:`~zhizhi.event.models.EventStep` with action ``note`` (rules.NOTE_ACTION) whose
``from_node`` and ``to_node`` are both the event's current node. It changes nothing else: not the
node, the node's deadline, the colour, the on-time flags, the counters (催办, 督办, 回退 …) nor the
event's ``version`` (a console holding the event is not refused because a note was added), so no KPI
reads it. It is not a transition (rules.TRANSITIONS): it is open at every node, merged and closed
events included, since what is learnt about an event does not wait for its node.

Who may add one — the rule chosen, the least surprising one with the permission table as it is: the
actor needs ``event.read`` (a role permission, or an API token scope) and the event must be in the
actor's data scope, reports of their own left out (``get_event(..., own_reports=False)``: the
district, town, grid, or the unit it was dispatched or tasked to; a town or grid unit tasked by a
pre-plan on another town's event may note what it did there, though it may not move that event). A
citizen or staff member who sees an event only because they reported it may read it, not annotate
it, as they may not move it. Out of scope is
NotFound (404), as for every event route; a role without ``event.read`` is Forbidden naming it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from zhizhi.core import time as ztime
from zhizhi.core.access import Actor, require
from zhizhi.core.errors import FieldError, InvalidInput
from zhizhi.event import rules
from zhizhi.event.models import Event, EventStep
from zhizhi.event.service.notify import changed
from zhizhi.event.service.read import get_event

MAX_NOTE = 4000
"""Longest note text, characters."""


def add_note(
    session: Session, actor: Actor, event_id: int, comment: str, data: dict[str, Any] | None = None
) -> EventStep:
    """Add a note (备注) to the timeline of event ``event_id``, by ``actor``, now.

    ``comment`` is the note's text (1 to :data:`MAX_NOTE` characters after trimming); ``data`` an
    optional JSON-able dict kept with the step for programs (e.g. ``{"kind": "hotspot_outcome",
    "outcome": "agricultural"}``). Returns the step (flushed). The event itself is left as it was
    (module docstring). Raises Forbidden without ``event.read``, NotFound for an event outside the
    actor's scope (or seen only as its reporter), InvalidInput for an empty or too long text.
    """
    require(actor, "event.read")
    ev = get_event(session, actor, event_id, own_reports=False)
    text = comment.strip()
    if not text:
        raise InvalidInput("a note needs a text", [FieldError("comment", "empty")])
    if len(text) > MAX_NOTE:
        why = f"a note is at most {MAX_NOTE} characters, got {len(text)}"
        raise InvalidInput(why, [FieldError("comment", why)])
    return side_step(session, actor, ev, rules.NOTE_ACTION, text, data)


def side_step(
    session: Session,
    actor: Actor,
    ev: Event,
    action: str,
    comment: str,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> EventStep:
    """Write a step that records something on ``ev``'s timeline without moving it (a note, an
    upload, a task done): ``from_node`` = ``to_node`` = the current node, by ``actor``, at ``at``
    (UTC, default now), with ``comment`` and ``data`` as given; nothing else of the event changes
    (module docstring). Flushes and announces the change to live pages (after the commit). The
    caller has checked the actor's right to do it. Returns the step."""
    step = EventStep(
        event_id=ev.id,
        at=at or ztime.utcnow(),
        action=action,
        from_node=ev.node,
        to_node=ev.node,
        actor_id=actor.id,
        actor_name=actor.name,
        actor_role=actor.role,
        unit_code=actor.unit_code or None,
        comment=comment,
        overdue=False,
        data=dict(data or {}),
    )
    session.add(step)
    session.flush()
    changed(session, ev, action)  # live pages refresh the timeline after the commit
    return step
