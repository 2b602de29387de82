"""Event API (事件): report, list, read, move along the loop, attach, merge, route, pre-plans."""

from __future__ import annotations

import hashlib
from pathlib import Path as FsPath
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, Response, UploadFile
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from zhizhi.core import audit
from zhizhi.core.access import Actor
from zhizhi.core.config import get_settings
from zhizhi.core.db import session_scope, write_lock
from zhizhi.core.errors import FieldError, InvalidInput, NotFound
from zhizhi.core.http import get_session, permit
from zhizhi.event import rules, service
from zhizhi.event.models import Attachment, PrePlan, RoutingRule
from zhizhi.event.schemas import (
    EventCreate,
    EventDetail,
    EventPage,
    EventRead,
    RoutingRuleIn,
    RoutingRuleRead,
    SupervisionIn,
    TaskDoneIn,
    TaskPage,
    TransitionIn,
)
from zhizhi.event.service import read as service_read

router = APIRouter(prefix="/api/v1", tags=["events"])

MAX_ID = 2**31 - 1  # event.id is INTEGER (32-bit on PostgreSQL)
EventId = Annotated[int, Path(ge=1, le=MAX_ID, description="event id")]
NODES = tuple(n.value for n in rules.Node)

ATTACHMENT_TYPES = {"image/jpeg", "image/png", "image/webp", "application/pdf", "video/mp4"}


def _looks_like(ctype: str, data: bytes) -> bool:
    """Whether ``data`` starts with the magic bytes of ``ctype`` (the declared type is not trusted)."""
    if ctype == "image/jpeg":
        return data.startswith(b"\xff\xd8\xff")
    if ctype == "image/png":
        return data.startswith(b"\x89PNG\r\n\x1a\n")
    if ctype == "image/webp":
        return data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    if ctype == "application/pdf":
        return data.startswith(b"%PDF-")
    if ctype == "video/mp4":
        return data[4:8] == b"ftyp"
    return False


@router.get("/categories")
def categories() -> list[dict[str, Any]]:
    """The category catalogue (事件分类 / 立结案标准) as a tree."""
    return service.catalogue().tree()


@router.post("/events", status_code=201, response_model=EventRead)
async def create_event(
    data: EventCreate, request: Request, response: Response, actor: Actor = Depends(permit("event.report"))
) -> EventRead:
    """Report an event (上报). 201 means it is stored: the transaction commits before the response."""
    engine = request.app.state.engine

    def work() -> EventRead:  # one worker-thread hop for the whole unit of work
        with write_lock(engine), session_scope(engine) as session:
            ev = service.create_event(session, actor, data)
            out = service.to_read(ev, actor)
        return out

    out = await run_in_threadpool(work)
    response.headers["Location"] = f"/api/v1/events/{out.id}"
    return out


@router.get("/events", response_model=EventPage)
def list_events(
    node: str | None = Query(None, description=f"one of {', '.join(NODES)}"),
    category_code: str | None = None,
    town_code: str | None = None,
    grid_code: str | None = None,
    unit_code: str | None = None,
    overdue: bool | None = None,
    supervised: bool | None = None,
    source: str | None = None,
    q: str | None = Query(None, max_length=100, description="text in the title"),
    open: bool | None = Query(
        None, description="true: open events (在办); false: finished (结案, 评价, 不予受理, 合并); omit: all"
    ),
    mine: bool = Query(
        False,
        description="only events whose current step is for your unit or with an open task of it (我的待办)",
    ),
    sort: str = Query(
        "-reported_at", description=f"order: {', '.join(service_read.SORTS)} (- for newest first)"
    ),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=10**9),
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("event.read")),
) -> EventPage:
    """Events in the caller's scope, newest first unless ``sort`` says otherwise, with filters."""
    if node is not None and node not in NODES:
        why = f'unknown node "{node}"; one of {", ".join(NODES)}'
        raise InvalidInput(why, [FieldError("node", why)])
    f = service.EventFilter(
        node, category_code, town_code, grid_code, unit_code, overdue, supervised, source, q, open, mine
    )
    total, rows = service.list_events(session, actor, f, limit, offset, sort)
    return EventPage(total=total, items=[service.to_read(e, actor) for e in rows], limit=limit, offset=offset)


@router.get("/events/{event_id}", response_model=EventDetail)
def get_event(
    event_id: EventId,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("event.read")),
) -> EventDetail:
    """One event with its timeline, allowed actions, attachments, 督办 and tasks."""
    return service.detail(session, actor, service.get_event(session, actor, event_id))


@router.post("/events/{event_id}/transitions", response_model=EventDetail)
def move(
    event_id: EventId,
    data: TransitionIn,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("event.read")),
) -> EventDetail:
    """Make one move on the loop (受理, 立案, 派遣, 签收, 回退, 处置, 核查, 结案, 督办, 延期, 挂账, 重办 …).

    403 wrong role or unit, 409 wrong node or stale ``expected_version`` (body has the current node
    and version), 422 missing field."""
    ev = service.transition(session, actor, event_id, data)
    return service.detail(session, actor, ev)


class FullViewIn(BaseModel):
    reason: str = Field(min_length=4, max_length=500, description="why the full personal data is needed")


@router.post("/events/{event_id}/personal")
def full_view(
    event_id: EventId,
    data: FullViewIn,
    request: Request,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("personal.full_view")),
) -> dict[str, Any]:
    """The reporter's unmasked name and phone (personal.full_view): only roles that hold it, only
    for an event in scope, only with a stated reason; every view writes an audit row."""
    ev = service.get_event(session, actor, event_id)
    audit.record(
        session,
        actor=actor.username,
        actor_role=actor.role,
        action=audit.Action.personal_full_view,
        object_type="event",
        object_id=ev.id,
        reason=data.reason,
        client=request.client.host if request.client else None,
        scope=ev.district_code,
    )
    return {
        "event_id": ev.id,
        "reporter_name": ev.reporter_name,
        "reporter_phone": ev.reporter_phone,
        "reporter_ref": ev.reporter_ref,
        "address": ev.address,
    }


@router.post("/events/{event_id}/attachments", status_code=201)
async def attach(
    event_id: EventId,
    file: UploadFile = File(...),
    kind: str = Form("before"),
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("event.attach")),
) -> dict[str, Any]:
    """Attach a photo or document (before/after); stored on disk under the data folder and recorded
    on the timeline (上传附件). 409 (code ``event.closed``) for a finished event (结案, 评价, 不予受理,
    合并): checked before the file is read."""
    ev = service.get_event(session, actor, event_id)
    service.check_open_for_attachments(ev)
    if kind not in {"before", "after", "other"}:
        raise InvalidInput(
            f'kind must be before, after or other, not "{kind}"',
            [FieldError("kind", "unknown")],
            code="attachment.kind",
        )
    ctype = (file.content_type or "").lower()
    if ctype not in ATTACHMENT_TYPES:
        raise InvalidInput(
            f'file type "{ctype}" is not accepted ({", ".join(sorted(ATTACHMENT_TYPES))})',
            [FieldError("file", "type not accepted")],
            extra={"params": {"type": ctype}},
            code="attachment.type",
        )
    data = await file.read()
    if not data:
        raise InvalidInput("the file is empty", [FieldError("file", "empty")], code="attachment.empty")
    if not _looks_like(ctype, data):
        why = f"the file's content is not {ctype} (declared type and content differ)"
        raise InvalidInput(
            why, [FieldError("file", why)], extra={"params": {"type": ctype}}, code="attachment.content"
        )
    a = service.add_attachment(session, actor, ev.id, kind, file.filename or "file", ctype, data)
    return {
        "id": a.id,
        "event_id": ev.id,
        "kind": a.kind,
        "filename": a.filename,
        "size": a.size,
        "sha256": a.sha256,
    }


AttachmentId = Annotated[int, Path(ge=1, le=MAX_ID, description="attachment id")]
SHA256_HEX = frozenset("0123456789abcdef")


@router.get(
    "/events/{event_id}/attachments/{attachment_id}",
    response_class=Response,
    responses={200: {"content": {t: {} for t in sorted(ATTACHMENT_TYPES)}, "description": "the file"}},
)
def download_attachment(
    event_id: EventId,
    attachment_id: AttachmentId,
    inline: bool = Query(False, description="show a photo in the browser (images only)"),
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("event.read")),
) -> Response:
    """Download one attachment of an event in the caller's scope (as a file: ``Content-Disposition:
    attachment``). With ``inline=true`` a photo (JPEG, PNG, WebP) is sent ``inline`` for the page's
    thumbnails and full-size view; other types stay downloads. Same checks either way: 404 when the
    event is out of scope, the attachment belongs to another event, or its bytes are missing or no
    longer match their SHA-256. The file is read from the data folder by its content hash, never from
    a path a client could influence. (Downloads are not audited: they carry no personal fields.)"""
    ev = service.get_event(session, actor, event_id)
    a = session.scalar(select(Attachment).where(Attachment.id == attachment_id, Attachment.event_id == ev.id))
    missing = NotFound(f"attachment {attachment_id} of event {event_id} not found")
    if a is None or len(a.sha256) != 64 or not set(a.sha256) <= SHA256_HEX:
        raise missing
    root = (FsPath(get_settings().data_dir) / "attachments").resolve()
    path = (root / a.sha256[:2] / a.sha256).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise missing
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != a.sha256:
        raise missing
    ctype = a.content_type if a.content_type in ATTACHMENT_TYPES else "application/octet-stream"
    name = FsPath(a.filename).name or f"attachment-{a.id}"
    ascii_name = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in name)[:100]
    how = "inline" if inline and ctype in service_read.IMAGE_TYPES else "attachment"
    disposition = f"{how}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"
    return Response(
        data,
        media_type=ctype,
        headers={
            "Content-Disposition": disposition,
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.post("/events/{event_id}/merge", response_model=EventRead)
def merge(
    event_id: EventId,
    parent_id: int = Query(..., ge=1, le=MAX_ID, description="event to merge into"),
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("event.merge")),
) -> EventRead:
    """Merge a similar report into a parent event (合并)."""
    return service.to_read(service.merge(session, actor, event_id, parent_id), actor)


@router.post("/events/{event_id}/preplans/{code}", status_code=201)
def start_preplan(
    event_id: EventId,
    code: str,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("event.preplan")),
) -> dict[str, Any]:
    """Start a pre-plan (预案) on an event: creates one task per unit."""
    tasks = service.start_preplan(session, actor, event_id, code)
    return {
        "event_id": event_id,
        "preplan": code,
        "tasks": [
            {"id": t.id, "unit_code": t.unit_code, "role": t.role, "task": t.task, "deadline": t.deadline}
            for t in tasks
        ],
    }


@router.post("/tasks/{task_id}/done")
def task_done(
    task_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    body: TaskDoneIn | None = None,
    comment: str | None = Query(None, max_length=4000, description="the comment, or in the JSON body"),
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("event.read")),
) -> dict[str, Any]:
    """Mark a pre-plan task (联动任务) done, with an optional comment given either as the JSON body
    ``{"comment": "..."}`` or as the query parameter ``comment`` (both: they must agree, else 422).
    Records who did it and a 完成联动任务 step on the event's timeline. 409 once the task is done or
    closed, or its event has ended."""
    text = (comment or "").strip()
    if body is not None and comment is not None and body.comment != text:
        why = "the comment is given both in the query and in the body, and they differ; give it once"
        raise InvalidInput(why, [FieldError("comment", why)])
    if body is not None:
        text = body.comment
    t = service.complete_task(session, actor, task_id, text)
    return {"id": t.id, "status": t.status, "done_at": t.done_at, "done_by": t.done_by, "comment": t.comment}


@router.get("/tasks", response_model=TaskPage)
def list_tasks(
    status: str | None = Query(
        "open",
        description="open (the default when absent), done, closed, or all (also an empty value) for "
        "every status",
    ),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=10**9),
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("event.read")),
) -> TaskPage:
    """Pre-plan tasks (联动任务) of the caller's unit (another town's event included when the task is
    the unit's); the district center sees every task in its scope. ``status`` absent: open tasks only;
    ``all`` or empty: every status. Each task carries ``done_by`` and ``overdue``."""
    total, items = service.list_tasks(session, actor, status or None, limit, offset)
    return TaskPage(total=total, items=items, limit=limit, offset=offset)


@router.get("/preplans")
def preplans(session: Session = Depends(get_session, scope="function")) -> list[dict[str, Any]]:
    """The pre-plans (预案) available."""
    service.ensure_preplans(session)
    return [
        {"code": p.code, "name": p.name, "trigger_categories": p.trigger_categories, "tasks": p.tasks}
        for p in session.scalars(select(PrePlan).order_by(PrePlan.code))
    ]


@router.post("/supervisions/{supervision_id}/reply")
def reply(
    supervision_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    data: SupervisionIn,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("event.reply_supervision")),
) -> dict[str, Any]:
    """Answer a 督办 order."""
    s = service.reply_supervision(session, actor, supervision_id, data.reply)
    return {"id": s.id, "reply": s.reply, "replied_at": s.replied_at}


@router.get("/routing-rules", response_model=list[RoutingRuleRead])
def list_rules(
    session: Session = Depends(get_session, scope="function"), actor: Actor = Depends(permit("routing.read"))
) -> list[Any]:
    """权属配置 rules of the caller's district."""
    return list(
        session.scalars(
            select(RoutingRule)
            .where(RoutingRule.district_code == actor.district_code)
            .order_by(RoutingRule.id)
        )
    )


@router.post("/routing-rules", status_code=201, response_model=RoutingRuleRead)
def add_rule(
    data: RoutingRuleIn,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("routing.write")),
) -> Any:
    """Add a 权属配置 rule (category × area → unit)."""
    return service.add_routing_rule(
        session,
        actor.district_code,
        data.category_code,
        data.area_code,
        data.unit_code,
        data.priority,
        data.note,
    )


@router.delete("/routing-rules/{rule_id}", status_code=204)
def delete_rule(
    rule_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("routing.write")),
) -> Response:
    """Delete a 权属配置 rule."""
    service.delete_routing_rule(session, actor.district_code, rule_id)
    return Response(status_code=204)


@router.get("/transitions")
def transitions() -> list[dict[str, Any]]:
    """The state machine: every action, its label, source nodes, target node, roles and inputs."""
    return [
        {
            "action": t.action,
            "label": t.label,
            "from": sorted(t.sources),
            "to": t.target.value if t.target else None,
            "roles": sorted(t.roles),
            "needs": list(t.needs),
            "labels": {n.value: lab for (a, n), lab in rules.LABEL_AT.items() if a == t.action},
        }
        for t in rules.TRANSITIONS.values()
    ]
