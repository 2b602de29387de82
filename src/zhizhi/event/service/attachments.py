"""Attachments (附件: 处置前/处置后 photos, documents) of an event, and their rows on the timeline.

Two rules live here, not in the API:

- a finished event (结案, 评价, 不予受理/立案, 合并) takes no new attachment: Conflict (409, code
  ``event.closed``); a 重办 (reopen) opens it again;
- every attachment is a timeline row (办理过程): action ``attach`` (上传附件) at the event's node, by
  the uploader, naming the kind and file. Like a note (``service/notes.py``) it moves nothing: not the
  node, its clock, the colour, the counters nor the event's ``version``, so no KPI reads it.

The bytes are stored once per content (``<data_dir>/attachments/<sha256[:2]>/<sha256>``) and read back
by that hash, never by a path a client could influence.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy.orm import Session

from zhizhi.core import time as ztime
from zhizhi.core.access import Actor
from zhizhi.core.config import get_settings
from zhizhi.core.errors import Conflict, FieldError, InvalidInput
from zhizhi.event import rules
from zhizhi.event.models import Attachment, Event
from zhizhi.event.service.notes import side_step
from zhizhi.event.service.read import get_event

ATTACH_ACTION, ATTACH_LABEL = "attach", "上传附件"
KINDS = {"before": "处置前", "after": "处置后", "other": "其他"}
"""Attachment kinds and their Chinese names (the timeline row says which)."""


def check_open_for_attachments(ev: Event) -> None:
    """Refuse (Conflict 409, code ``event.closed``) a new attachment on a finished event: 结案, 评价,
    不予受理/立案 or 合并 (rules.DONE_NODES). The body carries the node and version."""
    if rules.Node(ev.node) in rules.DONE_NODES:
        raise Conflict(
            f"event {ev.id} is finished (node {ev.node}) and takes no new attachments; "
            "reopen it (重办) first if work goes on",
            [FieldError("file", f"event at node {ev.node}")],
            {"node": ev.node, "version": ev.version},
            code="event.closed",
        )


def add_attachment(
    session: Session,
    actor: Actor,
    event_id: int,
    kind: str,
    filename: str,
    content_type: str,
    data: bytes,
) -> Attachment:
    """Store ``data`` as an attachment of event ``event_id`` and record it on the timeline.

    ``kind`` is before|after|other; ``filename`` the client's name (only its last part is kept, at
    most 200 characters); ``content_type`` the checked MIME type (the API checks type and content).
    The event must be in the actor's scope, their own reports included (a reporter may add photos):
    NotFound otherwise. Raises InvalidInput for an unknown kind or empty data, Conflict for a finished
    event (:func:`check_open_for_attachments`). Returns the flushed :class:`Attachment`.
    """
    ev = get_event(session, actor, event_id)
    check_open_for_attachments(ev)
    if kind not in KINDS:
        raise InvalidInput(
            f'kind must be before, after or other, not "{kind}"',
            [FieldError("kind", "unknown")],
            code="attachment.kind",
        )
    if not data:
        raise InvalidInput("the file is empty", [FieldError("file", "empty")], code="attachment.empty")
    digest = hashlib.sha256(data).hexdigest()
    folder = Path(get_settings().data_dir) / "attachments" / digest[:2]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / digest
    if not path.exists():
        path.write_bytes(data)
    name = Path(filename or "file").name[:200] or "file"
    now = ztime.utcnow()
    a = Attachment(
        event_id=ev.id,
        kind=kind,
        filename=name,
        content_type=content_type,
        size=len(data),
        sha256=digest,
        path=str(path),
        uploaded_at=now,
    )
    session.add(a)
    session.flush()
    data_ = {"attachment_id": a.id, "kind": kind, "content_type": content_type, "size": len(data)}
    side_step(session, actor, ev, ATTACH_ACTION, f"{KINDS[kind]}：{name}", data_, at=now)
    return a
