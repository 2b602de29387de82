"""Attachments on the timeline and refused on finished events; photos inline; the event list's
在办 / 我的待办 filters and sorting by the real instants; time limits by the event's own urgency.

Events are GENERATED test cases at a real Yongchuan point (中山路社区, villages_points.csv, town
中山路街道 500118001000); the staff are the demo users the org loader creates.
"""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.conftest import as_user

from zhizhi.auth.service import user_actor
from zhizhi.core import time as ztime
from zhizhi.core.errors import Conflict, InvalidInput, NotFound
from zhizhi.event import service
from zhizhi.event.models import Event, EventStep
from zhizhi.event.schemas import EventCreate, TransitionIn

LON, LAT = 105.898213, 29.352365  # 中山路社区居民委员会 (500118001001), town 500118001000
TOWN = "500118001000"
SYS = service.system_actor("500118")
PNG = base64.b64decode(  # a 1×1 PNG, GENERATED
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
PDF = b"%PDF-1.4\n% GENERATED test document\n"


def report(session: Session, **kw: Any) -> Event:
    body = {"category_code": "0101", "title": "测试", "lon": LON, "lat": LAT, **kw}
    return service.create_event(session, SYS, EventCreate(**body))


def move(session: Session, ev: Event, *actions: str, unit: str = "500118-CGJ") -> None:
    for a in actions:
        data = TransitionIn(
            action=a, comment="测试", unit_code=unit if a == "dispatch" else None, satisfaction=5
        )
        service.transition(session, SYS, ev.id, data)


def steps(session: Session, ev: Event) -> list[EventStep]:
    return list(session.scalars(select(EventStep).where(EventStep.event_id == ev.id).order_by(EventStep.id)))


# --- attachments ------------------------------------------------------------------------------------


def test_an_upload_is_a_timeline_step_that_moves_nothing(session: Session) -> None:
    ev = report(session)
    move(session, ev, "accept", "register", "dispatch", "sign")
    before = (ev.node, ev.version, ev.node_deadline, ev.colour, ev.dispatch_count)
    handler = user_actor(session, "500118-CGJ.handler")
    a = service.add_attachment(session, handler, ev.id, "after", "../../处置后.png", "image/png", PNG)
    assert (a.kind, a.filename, a.size) == ("after", "处置后.png", len(PNG))
    session.refresh(ev)
    assert (ev.node, ev.version, ev.node_deadline, ev.colour, ev.dispatch_count) == before
    last = steps(session, ev)[-1]
    assert (last.action, last.from_node, last.to_node, last.actor_role, last.comment) == (
        "attach", "signed", "signed", "dept_handler", "处置后：处置后.png",
    )  # fmt: skip
    assert last.data == {
        "attachment_id": a.id,
        "kind": "after",
        "content_type": "image/png",
        "size": len(PNG),
    }
    d = service.detail(session, handler, ev)
    assert d.timeline[-1].label == "上传附件" and d.attachments[0]["is_image"] is True


@pytest.mark.parametrize("ending", ["close", "evaluate", "reject", "merge"])
def test_a_finished_event_takes_no_new_attachment(session: Session, ending: str) -> None:
    ev = report(session)
    if ending == "reject":
        move(session, ev, "reject")
    elif ending == "merge":
        service.merge(session, SYS, ev.id, report(session).id)
    else:
        actions = ["accept", "register", "dispatch", "sign", "handle", "verify_pass", "close"]
        move(session, ev, *actions, *(["evaluate"] if ending == "evaluate" else []))
    with pytest.raises(Conflict) as e:
        service.add_attachment(session, SYS, ev.id, "after", "late.png", "image/png", PNG)
    assert e.value.code == "event.closed" and e.value.status == 409 and e.value.extra["node"] == ev.node
    assert [s.action for s in steps(session, ev)].count("attach") == 0


def test_a_reopened_event_takes_attachments_again(session: Session) -> None:
    ev = report(session)
    move(session, ev, "accept", "register", "dispatch", "sign", "handle", "verify_pass", "close", "reopen")
    service.add_attachment(session, SYS, ev.id, "before", "重办.png", "image/png", PNG)
    assert steps(session, ev)[-1].action == "attach"


def test_bad_attachment_input_is_refused_by_the_service(session: Session) -> None:
    ev = report(session)
    with pytest.raises(InvalidInput, match="kind must be"):
        service.add_attachment(session, SYS, ev.id, "selfie", "a.png", "image/png", PNG)
    with pytest.raises(InvalidInput, match="empty"):
        service.add_attachment(session, SYS, ev.id, "before", "a.png", "image/png", b"")
    with pytest.raises(NotFound):
        service.add_attachment(session, user_actor(session, "500118002000.duty"), ev.id, "before", "a.png",
                               "image/png", PNG)  # fmt: skip


def test_the_api_refuses_uploads_to_closed_events_and_shows_photos_inline(
    client: TestClient, session: Session
) -> None:
    ev = report(session)
    session.commit()
    duty = as_user(f"{TOWN}.duty")
    base = f"/api/v1/events/{ev.id}/attachments"
    up = client.post(
        base, files={"file": ("现场.png", PNG, "image/png")}, data={"kind": "before"}, headers=duty
    )
    assert up.status_code == 201, up.text
    doc = client.post(
        base, files={"file": ("说明.pdf", PDF, "application/pdf")}, data={"kind": "other"}, headers=duty
    )
    assert doc.status_code == 201, doc.text
    r = client.get(f"{base}/{up.json()['id']}", params={"inline": "true"}, headers=duty)
    assert r.status_code == 200 and r.content == PNG
    assert r.headers["content-disposition"].startswith('inline; filename="__.png"')
    assert r.headers["x-content-type-options"] == "nosniff"
    r = client.get(f"{base}/{doc.json()['id']}", params={"inline": "true"}, headers=duty)  # not an image
    assert r.headers["content-disposition"].startswith("attachment;")
    # the same scope check as a download: another town's duty officer gets 404
    r = client.get(
        f"{base}/{up.json()['id']}", params={"inline": "true"}, headers=as_user("500118002000.duty")
    )
    assert r.status_code == 404 and r.json()["code"] == "event.not_found"
    got = client.get(f"/api/v1/events/{ev.id}", headers=duty).json()
    assert [(s["action"], s["label"], s["comment"]) for s in got["timeline"][1:]] == [
        ("attach", "上传附件", "处置前：现场.png"),
        ("attach", "上传附件", "其他：说明.pdf"),
    ]
    assert [a["is_image"] for a in got["attachments"]] == [True, False]

    for a in ("accept", "register", "dispatch", "sign", "handle", "verify_pass", "close"):
        body = {"action": a, "comment": "测试", **({"unit_code": "500118-CGJ"} if a == "dispatch" else {})}
        who = as_user("500118-CGJ.handler") if a in ("sign", "handle") else as_user("500118.duty")
        assert client.post(f"/api/v1/events/{ev.id}/transitions", json=body, headers=who).status_code == 200
    late = client.post(f"/api/v1/events/{ev.id}/attachments", files={"file": ("晚了.png", PNG, "image/png")},
                       data={"kind": "after"}, headers=duty)  # fmt: skip
    assert late.status_code == 409 and late.json()["code"] == "event.closed"
    assert len(client.get(f"/api/v1/events/{ev.id}", headers=duty).json()["attachments"]) == 2


# --- the queue --------------------------------------------------------------------------------------


def test_open_filter_mine_and_sort(session: Session) -> None:
    now = ztime.utcnow()
    old = report(session, reported_at=now - timedelta(days=400))  # a replayed event of last year
    move(session, old, "accept", "register", "dispatch", "sign", "handle", "verify_pass", "close")
    waiting = report(session, reported_at=now - timedelta(hours=2))
    to_board = report(session, reported_at=now - timedelta(hours=1))
    duty = user_actor(session, f"{TOWN}.duty")
    for a in ("accept", "register"):
        service.transition(session, duty, to_board.id, TransitionIn(action=a))
    service.transition(session, duty, to_board.id, TransitionIn(action="dispatch", unit_code=f"{TOWN}-MS"))
    up = report(session)
    for a in ("accept", "register"):
        service.transition(session, duty, up.id, TransitionIn(action=a))
    service.transition(session, duty, up.id, TransitionIn(action="escalate", comment="区级职责"))

    def ids(actor: Any, sort: str = "-reported_at", **f: Any) -> list[int]:
        return [e.id for e in service.list_events(session, actor, service.EventFilter(**f), sort=sort)[1]]

    assert ids(duty) == [up.id, to_board.id, waiting.id, old.id]
    assert ids(duty, open=True) == [up.id, to_board.id, waiting.id]
    assert ids(duty, open=False) == [old.id]
    assert ids(duty, sort="reported_at") == [old.id, waiting.id, to_board.id, up.id]
    # by the node's deadline: the soonest first, none (closed) last
    by_deadline = ids(duty, sort="node_deadline")
    assert by_deadline[-1] == old.id
    deadlines = [session.get(Event, i).node_deadline for i in by_deadline[:-1]]  # type: ignore[union-attr]
    assert deadlines == sorted(deadlines)
    with pytest.raises(InvalidInput, match='unknown sort "title"'):
        ids(duty, sort="title")
    # 我的待办: the town center's own (waiting for it), not what the board or the district holds
    assert ids(duty, mine=True) == [waiting.id]
    board = user_actor(session, f"{TOWN}-MS.staff")
    assert ids(board, mine=True) == [to_board.id]
    center = user_actor(session, "500118.duty")
    assert ids(center, mine=True) == [up.id]
    # after handling, the check is the dispatcher's (and the grid worker's, who verifies on site)
    service.transition(session, board, to_board.id, TransitionIn(action="sign"))
    service.transition(session, board, to_board.id, TransitionIn(action="handle", comment="已处置"))
    assert ids(board, mine=True) == []
    assert ids(duty, mine=True) == [to_board.id, waiting.id]
    worker = user_actor(session, f"{to_board.grid_code}.worker")
    assert ids(worker, mine=True) == [to_board.id]


def test_the_list_api_takes_the_new_filters(client: TestClient, session: Session) -> None:
    ev = report(session)
    session.commit()
    duty = as_user(f"{TOWN}.duty")
    r = client.get(
        "/api/v1/events", params={"open": "true", "mine": "true", "sort": "node_deadline"}, headers=duty
    )
    assert r.status_code == 200 and [e["id"] for e in r.json()["items"]] == [ev.id]
    r = client.get("/api/v1/events", params={"sort": "bogus"}, headers=duty)
    assert r.status_code == 422 and "unknown sort" in r.json()["detail"]


# --- time limits by the event's urgency ---------------------------------------------------------------


def test_the_limit_follows_the_events_own_urgency(session: Session) -> None:
    normal = report(session)
    urgent = report(session, urgency="urgent")
    assert (normal.urgency, normal.node_limit) == ("normal", "0.5 continuous")  # 30 min (太原)
    assert (urgent.urgency, urgent.node_limit) == ("urgent", f"{10 / 60:g} continuous")  # 10 min
    cat = service.catalogue()
    assert cat.limit("0101", "sign") == (1.0, "working_hours")
    assert cat.limit("0101", "sign", "urgent") == (0.5, "continuous")  # 30 min round the clock
    assert cat.limit("0101", "sign", "low") == (1.0, "working_hours")  # no low limits: the defaults
    assert cat.limit("0101", "handle", "urgent") == (4.0, "working_hours")  # the leaf's own limit wins
    with pytest.raises(ValueError, match='unknown urgency "asap"'):
        cat.limit("0101", "sign", "asap")
    urgent_leaf = next(leaf for leaf in cat.leaves() if leaf.urgency == "urgent")
    assert cat.limit(urgent_leaf.code, "accept", "normal") == (0.5, "continuous")
