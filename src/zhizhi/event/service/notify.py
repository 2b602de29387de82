"""Change notices after commit (事件变更通知): who wants to know that an event was reported or moved.

The use cases call :func:`changed` after they flush; the notice is held on the database session and
handed to the listeners (:func:`subscribe`) only once the session commits, and dropped when it rolls
back, so a listener never hears of a change that did not happen. Listeners run in the committing
thread and must return quickly (the web live stream only queues the notice). In-process only: a
change committed by another process (a CLI import, a second server worker) is not announced.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from zhizhi.event.models import Event, EventTask

log = logging.getLogger("zhizhi")
Listener = Callable[[Engine, list[dict[str, Any]]], None]
_KEY = "zhizhi.event_changes"
_listeners: list[Listener] = []


def subscribe(fn: Listener) -> None:
    """Call ``fn(engine, changes)`` after every commit that reported or moved events (idempotent).
    ``changes`` is a list of dicts, one per change, see :func:`changed`."""
    if fn not in _listeners:
        _listeners.append(fn)


def unsubscribe(fn: Listener) -> None:
    """Stop calling ``fn`` (no error when it was not subscribed)."""
    if fn in _listeners:
        _listeners.remove(fn)


def changed(session: Session, ev: Event, action: str) -> None:
    """Hold a notice that ``ev`` was reported (``action="report"``) or moved by ``action`` until the
    session commits. Nothing is held when nobody listens. The notice carries the fields a listener
    needs to decide who may see it (area codes, unit, reporter, category) and to draw it (node,
    colour, urgency, point); no free text and no personal data."""
    if not _listeners:
        return
    session.info.setdefault(_KEY, []).append(
        {
            "id": ev.id,
            "action": action,
            "node": ev.node,
            "version": ev.version,
            "district_code": ev.district_code,
            "town_code": ev.town_code,
            "grid_code": ev.grid_code,
            "unit_code": ev.unit_code,
            "dispatch_count": ev.dispatch_count,
            "reporter_id": ev.reporter_id,
            "category_code": ev.category_code,
            "colour": ev.colour,
            "urgency": ev.urgency,
            "overdue": bool(ev.overdue),
            "supervised": bool(ev.supervised),
            "is_drill": bool(ev.is_drill),
            "lon": ev.lon,
            "lat": ev.lat,
            # units holding a pre-plan task on it: they see the event wherever it is (service.read.scoped)
            "task_units": sorted(
                set(session.scalars(select(EventTask.unit_code).where(EventTask.event_id == ev.id)))
            ),
        }
    )


def _after_commit(session: Session) -> None:
    changes = session.info.pop(_KEY, None)
    if not changes:
        return
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    for fn in list(_listeners):
        try:
            fn(engine, changes)
        except Exception:  # pragma: no cover - a listener's failure must not fail the request
            log.exception("event change listener %r failed", fn)


def _after_rollback(session: Session) -> None:
    session.info.pop(_KEY, None)


sa_event.listen(Session, "after_commit", _after_commit)
sa_event.listen(Session, "after_rollback", _after_rollback)
