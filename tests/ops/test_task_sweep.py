"""The SLA sweep (时限巡检) and pre-plan tasks (联动任务): an open task past its deadline is noted once on
its event's timeline; the 督办 reason is written for people."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhizhi.auth.service import user_actor
from zhizhi.core import time as ztime
from zhizhi.event import service, tasks
from zhizhi.event.models import Event, EventStep, EventTask, JobRun
from zhizhi.event.schemas import EventCreate, TransitionIn
from zhizhi.org.models import OrgUnit

LON, LAT = 105.898213, 29.352365  # 中山路社区, town 500118001000


def _event_with_tasks(session: Session, drill: bool = False) -> tuple[Event, list[EventTask]]:
    duty = user_actor(session, "500118.duty")
    ev = service.create_event(
        session, duty, EventCreate(category_code="0401", title="积水", lon=LON, lat=LAT)
    )
    ev.is_drill = drill
    ts = service.start_preplan(session, duty, ev.id, "waterlogging")
    session.flush()
    return ev, ts


def _notes(session: Session, ev: Event) -> list[EventStep]:
    return list(
        session.scalars(
            select(EventStep)
            .where(EventStep.event_id == ev.id, EventStep.action == "task_overdue")
            .order_by(EventStep.id)
        )
    )


def test_an_overdue_task_is_noted_once_by_the_system(session: Session) -> None:
    ev, ts = _event_with_tasks(session)
    due = (ztime.utcnow() - timedelta(hours=2)).replace(microsecond=0)
    ts[0].deadline = due  # past; the others still ahead
    session.flush()
    version = ev.version
    c = tasks.sweep(session)
    assert c["tasks_overdue"] >= 1  # other tests' tasks in the shared database may be noted too
    notes = _notes(session, ev)
    assert len(notes) == 1
    n = notes[0]
    unit = session.scalar(select(OrgUnit.name).where(OrgUnit.code == ts[0].unit_code))
    local = ztime.to_local(due)
    assert n.comment == f"联动任务超时：{unit}：{ts[0].task}（时限 {local:%Y-%m-%d %H:%M}）"
    assert (n.actor_name, n.actor_role, n.at, n.from_node, n.to_node) == (
        "系统",
        "system",
        due,
        "reported",
        "reported",
    )
    assert n.data["task_id"] == ts[0].id and n.data["auto"] is True
    assert ts[0].reminded_at == due and ts[0].status == "open"  # still the unit's to do
    assert ts[1].reminded_at is None and ts[2].reminded_at is None
    assert ev.version == version  # a note, not a move
    detail = service.detail(session, user_actor(session, "500118.duty"), ev)
    assert [s.label for s in detail.timeline if s.action == "task_overdue"] == ["联动任务超时"]
    # once: a second sweep adds nothing for it, and the run is recorded with the count
    again = tasks.sweep(session)
    assert len(_notes(session, ev)) == 1
    run = session.scalars(select(JobRun).order_by(JobRun.id.desc())).first()
    assert run is not None and run.counts["tasks_overdue"] == again["tasks_overdue"]


def test_done_tasks_and_ended_events_are_not_chased_drills_are(session: Session) -> None:
    duty = user_actor(session, "500118.duty")
    past = ztime.utcnow() - timedelta(hours=1)
    done_ev, done_ts = _event_with_tasks(session)
    ended_ev, ended_ts = _event_with_tasks(session)
    drill_ev, drill_ts = _event_with_tasks(session, drill=True)
    for t in done_ts + ended_ts + drill_ts:
        t.deadline = past
    session.flush()
    for t in done_ts:
        service.complete_task(session, duty, t.id, "完成")
    service.transition(session, duty, ended_ev.id, TransitionIn(action="reject", comment="不属实"))
    ended_ts[0].status = "open"  # left open by an old version: the event has ended, nobody chases it
    session.flush()
    tasks.sweep(session)
    assert _notes(session, done_ev) == [] and _notes(session, ended_ev) == []
    assert len(_notes(session, drill_ev)) == 3  # the sweep judges drill events, so their tasks too
    assert all(t.reminded_at is not None for t in drill_ts)


def test_the_reason_words_are_the_consoles() -> None:
    """The 督办 reason names nodes as the console does (web/messages/zh-CN/common.yaml ``node``)."""
    from zhizhi.event import rules
    from zhizhi.web import i18n

    assert {str(k): v for k, v in rules.NODE_LABELS.items()} == i18n.messages("console")["node"]
    assert set(rules.CLOCK_LABELS) == {c.value for c in ztime.ClockType}
    assert (
        rules.overdue_reason("dispatched", 0.05, "continuous")
        == "“待签收”环节超过时限（时限 3 分钟，全天连续计时）"
    )
    assert rules.overdue_reason("signed", 2.5, "working_hours", 2) == (
        "“处置中”环节用时已达时限的 2 倍（时限 2.5 小时，工作时间）"
    )
    assert rules.limit_text(0.5, "working_hours") == "30 分钟，工作时间"
    assert rules.limit_text(3, "natural_days") == "3 个自然日"
    assert rules.limit_text(1, "working_days") == "1 个工作日"
