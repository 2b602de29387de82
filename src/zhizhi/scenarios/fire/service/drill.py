"""Forest fire drills (森林火情实战演练): inject a simulated hotspot in a town, run it through the loop,
and time each node against its target (drill.py, data/drill.yaml).

A drill is one 卫星热点核查 event (2207) flagged ``is_drill``: its identity is the event id. The
simulated hotspot goes through the real import path (``import_bytes(drill=True)``: place → cluster →
route), so the drill exercises what a real alert does; drill detections, clusters and events never mix
with real ones, and ops KPIs, Open311 and the fire KPIs leave them out.

Two modes:

* **live** (default): the platform accepts, registers and dispatches the event to the town center
  (镇街指挥中心) at once and starts the response as the real one-click response does
  (``service.response.respond``: the pre-plan ``forest-fire-alarm`` and, when the district has a fire
  team registered, the task 扑火队出动 for the nearest team's unit); people then make the moves that
  mark the nodes (签收 = alarm seen, the grid's pre-plan task = on site, the team's task = team out —
  the town's task without a team task —, 处置反馈 = under control), and :func:`drill_report` shows
  the times so far.
* **simulate**: the platform makes every move itself at once, on a simulated clock (data/drill.yaml
  ``simulate``, delays overridable), so the command ends at once. No time is made up: every step,
  task and event time is the wall-clock moment the platform made the move (all within the command's
  run, never in the future), and the simulated clock is recorded beside them — one note on the drill
  event (``data.kind`` ``drill_simulation``, ``offsets_s``: seconds from the alarm per move) and
  ``（模拟时钟 +m:ss）`` in each move's comment. The node timings (:func:`drill_result`) read the
  simulated seconds from that note. (The alternative, back-dating the run so it ends now, would
  stamp the event, its hotspot and its steps with times at which nothing happened.)

Services flush; the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhizhi.core import time as ztime
from zhizhi.core.access import Actor, require, scope_of
from zhizhi.core.errors import Conflict, FieldError, InvalidInput, NotFound
from zhizhi.event import rules as event_rules
from zhizhi.event import service as events
from zhizhi.event.models import Event, EventStep, EventTask, PrePlan
from zhizhi.event.schemas import TransitionIn
from zhizhi.org import service as org
from zhizhi.scenarios.fire import cap
from zhizhi.scenarios.fire import drill as rules
from zhizhi.scenarios.fire.models import FireResource
from zhizhi.scenarios.fire.service import response
from zhizhi.scenarios.fire.service.config import CATEGORY, hotspot_config
from zhizhi.scenarios.fire.service.hotspots import import_bytes

DRILL_ACTOR_NAME = "演练模拟"
"""Name on the timeline of the moves the platform makes in a simulated drill."""

# The generated FIRMS row of the simulated hotspot: the values of the real Aqua MODIS detection of
# 2022-05-31 06:03 UTC in 朱沱镇 (tests/data/fire/firms, line 89), moved to the town's point and to
# the drill's minute. Columns of the MODIS C6.1 NRT layout (hotspots.MODIS_COLUMNS).
_FIRMS_HEADER = (
    "latitude,longitude,brightness,scan,track,acq_date,acq_time,satellite,confidence,version,"
    "bright_t31,frp,daynight"
)
_FIRMS_VALUES = {"brightness": "317.45", "scan": "1.19", "track": "1.09", "satellite": "A",
                 "confidence": "39", "version": "6.1NRT", "bright_t31": "298.69", "frp": "10.15"}  # fmt: skip


@dataclass(frozen=True)
class DrillRun:
    """A drill started: its event and cluster, the town and the injected point (WGS-84), the mode,
    the node results so far, and the hotspot's CAP alert (status Exercise, UTF-8 XML)."""

    event_id: int
    cluster_id: int | None
    town_code: str
    town_name: str
    lon: float
    lat: float
    simulated: bool
    result: rules.DrillResult
    cap_xml: bytes

    def as_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "cluster_id": self.cluster_id,
            "town_code": self.town_code,
            "town_name": self.town_name,
            "lon": round(self.lon, 6),
            "lat": round(self.lat, 6),
            "mode": "simulate" if self.simulated else "live",
            **self.result.as_dict(),
        }


def town_point(session: Session, town_code: str) -> tuple[str, float, float]:
    """The town's name and a point inside it: the representative point of its polygon (shapely
    ``representative_point``, always inside; WGS-84 lon/lat). Raises InvalidInput for a code that is
    not a loaded town or a town without geometry."""
    try:
        unit = org.get_unit(session, town_code)
    except NotFound:
        unit = None
    if unit is None or unit.level != "town":
        why = f'"{town_code}" is not a loaded town (give its 12-digit NBS code, e.g. 500118118000)'
        raise InvalidInput(why, [FieldError("town", why)])
    if unit.geom is None:
        why = f"town {town_code} ({unit.name}) has no boundary to place a hotspot in"
        raise InvalidInput(why, [FieldError("town", why)])
    p = shapely.from_wkb(unit.geom).representative_point()
    return unit.name, float(p.x), float(p.y)


def _check_scope(actor: Actor, town_code: str) -> None:
    sc = scope_of(actor)
    ok = (
        (sc.kind == "district" and town_code.startswith(sc.code))
        or (sc.kind == "town" and sc.code == town_code)
        or actor.role == "system"
    )
    if not ok:
        raise NotFound(f'unknown town "{town_code}"')  # outside the scope: as if it did not exist


def firms_row(lon: float, lat: float, at: datetime) -> bytes:
    """A one-detection NASA FIRMS MODIS C6.1 NRT CSV (header + row, UTF-8) at WGS-84 ``lon``/``lat``
    acquired at ``at`` (aware; written as UTC date and HHMM), with the values of a real Yongchuan
    detection (see ``_FIRMS_VALUES``). daynight is D between 06:00 and 18:00 Beijing time."""
    u = at.astimezone(UTC)
    local_hour = at.astimezone(ztime.LOCAL_TZ).hour
    v = _FIRMS_VALUES
    row = [
        f"{lat:.5f}",
        f"{lon:.5f}",
        v["brightness"],
        v["scan"],
        v["track"],
        f"{u:%Y-%m-%d}",
        f"{u:%H%M}",
        v["satellite"],
        v["confidence"],
        v["version"],
        v["bright_t31"],
        v["frp"],
        "D" if 6 <= local_hour < 18 else "N",
    ]
    return (_FIRMS_HEADER + "\n" + ",".join(row) + "\n").encode("utf-8")


def _open_drill(session: Session, town_code: str) -> int | None:
    open_nodes = [n.value for n in event_rules.OPEN_NODES]
    return session.scalar(
        select(Event.id)
        .where(
            Event.is_drill.is_(True),
            Event.category_code == CATEGORY,
            Event.town_code == town_code,
            Event.node.in_(open_nodes),
        )
        .order_by(Event.id)
        .limit(1)
    )


def _task_unit(ev: Event, unit: str) -> str | None:
    """The unit code a pre-plan row ``unit`` resolves to on ``ev`` (as event.service.start_preplan)."""
    if unit == "town":
        return f"{ev.town_code}-{org.TOWN_CENTER_SUFFIX}" if ev.town_code else None
    if unit == "grid":
        return ev.grid_code
    return f"{ev.district_code}-{unit}"


def start_drill(
    session: Session,
    actor: Actor,
    town_code: str,
    *,
    simulate: bool = False,
    delays: dict[str, float] | None = None,
    policy: rules.DrillPolicy | None = None,
) -> DrillRun:
    """Start a drill in ``town_code`` (12-digit NBS): inject a simulated hotspot at the town's point
    through the hotspot import (drill), then, as the platform, accept, register, dispatch the event to
    the town center and start the response as the real one does (``service.response.respond`` with
    the drill's pre-plan: its tasks plus, with a fire team registered in the district, 扑火队出动 for
    the nearest team's unit, which then times the team-out node); with ``simulate``, make every
    further move too on the simulated clock (``delays``: seconds per move, overriding data/drill.yaml
    ``simulate``; the team task is completed at the team-out node's move).

    Needs ``fire.drill`` and the town within the actor's scope. Refuses (Conflict) a second drill in a
    town whose last drill event is still open, and a hotspot that did not open a new event (it joined
    an open drill cluster nearby, or one was injected at the same place this minute). Raises
    InvalidInput for an unknown town or delay, NotFound for a town outside the scope.
    """
    require(actor, "fire.drill")
    pol = policy or rules.default_drill_policy()
    town_name, lon, lat = town_point(session, town_code)
    _check_scope(actor, town_code)
    busy = _open_drill(session, town_code)
    if busy is not None:
        raise Conflict(
            f"drill event {busy} in {town_name} is still open: finish it (or reject it) before another "
            f"drill there; see `zhizhi fire drill --report {busy}`",
            extra={"event_id": busy},
        )
    try:
        rules.schedule(ztime.utcnow(), pol.simulate, delays)  # checks the delays up front
    except ValueError as e:
        raise InvalidInput(str(e), [FieldError("delay", str(e))]) from None
    now = ztime.utcnow()
    raw = firms_row(lon, lat, now)
    name = f"drill-{town_code}-{now.astimezone(ztime.LOCAL_TZ):%Y%m%dT%H%M%S}.csv"
    summary = import_bytes(session, raw, name, drill=True)
    primary = next((r for r in summary.events if r.role == "primary"), None)
    if primary is None:
        raise Conflict(
            f"the drill hotspot opened no event (clusters updated: {summary.clusters_updated}, "
            f"duplicates: {summary.duplicates}): an open drill nearby absorbed it, or one was injected "
            "here this minute; finish that drill or wait a minute"
        )
    ev = events.get_event(session, events.system_actor(primary.district_code), primary.event_id)
    if ev.town_code != town_code:
        raise InvalidInput(f"the town's point was placed in {ev.town_code}, not in {town_code}")
    center = f"{town_code}-{org.TOWN_CENTER_SUFFIX}"
    platform = replace(events.system_actor(ev.district_code), name=DRILL_ACTOR_NAME if simulate else "系统")
    alarm = ev.reported_at
    head: list[tuple[str, float | None]] = [
        (m, None) for m in ("step:accept", "step:register", "step:dispatch")
    ]
    rest: list[tuple[str, float | None]] = []
    if simulate:
        offsets = {m: (t - alarm).total_seconds() for m, t in rules.schedule(alarm, pol.simulate, delays)}
        events.add_note(
            session, platform, ev.id, _clock_text(offsets, pol), {"kind": SIM_KIND, "offsets_s": offsets}
        )
        head = [(m, s) for m, s in offsets.items() if m in ("step:accept", "step:register", "step:dispatch")]
        rest = [(m, s) for m, s in offsets.items() if (m, s) not in head]
    for mark, sim_s in head:
        _move(session, platform, ev, mark, sim_s, center)
    resp = response.respond(session, platform, ev.id, preplan=pol.preplan)
    team_task = session.get(EventTask, resp.team_task_id) if resp.team_task_id is not None else None
    team_mark = _team_mark(pol)
    for mark, sim_s in rest:
        if team_task is not None and mark == team_mark:  # the team out, then its town's task
            clock = f"（模拟时钟 +{rules.mmss(sim_s)}）" if sim_s is not None else ""
            events.complete_task(session, platform, team_task.id, f"演练：{team_task.task}{clock}")
        _move(session, platform, ev, mark, sim_s, center)
    session.flush()
    result = drill_result(session, ev, pol, as_of=ztime.utcnow())
    if resp.team is not None and team_task is None:  # a team without an owner unit (old rows only)
        note = (
            f"扑火队出动按镇街指挥中心预案任务计时：最近扑火队 {resp.team.name} 未登记所属单位，"
            "未派扑火队任务"
        )
        result = replace(result, team_note=note)
    cl = summary.events[0].cluster_id if summary.events else None
    due = now + timedelta(hours=hotspot_config().verification.deadline_h)
    alert = cap.HotspotAlert(
        identifier=f"zhizhi-fire-drill-{ev.id}",
        town_code=town_code,
        town_name=town_name,
        lon=lon,
        lat=lat,
        detected_at=now.replace(second=0, microsecond=0),
        verify_due_at=due,
    )
    district_name = _district_name(session, ev.district_code)
    xml = cap.hotspot_cap(alert, district_name=district_name, sent=alarm, status="Exercise")
    return DrillRun(ev.id, cl, town_code, town_name, lon, lat, simulate, result, xml)


def _district_name(session: Session, d6: str) -> str:
    try:
        return org.get_unit(session, f"{d6}000000").name
    except NotFound:
        return d6


_COMMENTS = {
    "accept": "演练：平台受理卫星热点告警",
    "register": "演练：平台立案",
    "dispatch": "演练：派遣镇街指挥中心",
    "sign": "演练：镇街指挥中心签收（接警）",
    "handle": "演练：明火已控制（火势控制）",
    "verify_pass": "演练：核查通过",
    "close": "演练：结案",
}


SIM_KIND = "drill_simulation"
"""``data.kind`` of the note holding a simulated drill's clock (``offsets_s``: seconds from the alarm
per move mark)."""


def _clock_text(offsets: dict[str, float], pol: rules.DrillPolicy) -> str:
    """The simulated clock's note: ``演练模拟时钟（非真实时间）：平台受理卫星热点告警 +0:05，…``."""
    named = {n.mark: n.name for n in pol.nodes}
    parts = []
    for mark, secs in offsets.items():
        kind, name = rules.parse_mark(mark)
        what = _COMMENTS.get(name, name).removeprefix("演练：") if kind == "step" else f"{name} 预案任务完成"
        parts.append(f"{what}{f'（{named[mark]}）' if mark in named else ''} +{rules.mmss(secs)}")
    return (
        "演练模拟时钟（非真实时间）：" + "，".join(parts) + "。平台当即完成以下各步，时间戳为实际执行时刻；"
        "节点用时按模拟时钟计"
    )


def _move(session: Session, platform: Actor, ev: Event, mark: str, sim_s: float | None, center: str) -> None:
    """Make one drill move as the platform, now: a loop transition (``step:<action>``), or completing
    the pre-plan task of a unit (``task:<unit>``). ``sim_s`` (simulated moves): its time on the
    simulated clock, seconds from the alarm, added to the comment (the module doc)."""
    kind, name = rules.parse_mark(mark)
    clock = f"（模拟时钟 +{rules.mmss(sim_s)}）" if sim_s is not None else ""
    if kind == "step":
        data = TransitionIn(
            action=name,
            comment=_COMMENTS.get(name, "演练") + clock,
            unit_code=center if name == "dispatch" else None,
        )
        events.transition(session, platform, ev.id, data)
        return
    task = _task(session, ev, name)
    if task is None:
        raise InvalidInput(f'the drill pre-plan has no task for unit "{name}" on event {ev.id}')
    events.complete_task(session, platform, task.id, f"演练：{task.task}{clock}")


def _task(session: Session, ev: Event, unit: str) -> EventTask | None:
    code = _task_unit(ev, unit)
    if code is None:
        return None
    pol = rules.default_drill_policy()
    q = (
        select(EventTask)
        .join(PrePlan, PrePlan.id == EventTask.preplan_id)
        .where(EventTask.event_id == ev.id, EventTask.unit_code == code, PrePlan.code == pol.preplan)
        .order_by(EventTask.id)
        .limit(1)
    )
    return session.scalar(q)


def _team_mark(pol: rules.DrillPolicy) -> str | None:
    """The mark of the team-out node (:data:`rules.TEAM_NODE`), or None when the policy has none."""
    return next((n.mark for n in pol.nodes if n.key == rules.TEAM_NODE), None)


def find_team_task(session: Session, ev: Event) -> tuple[EventTask | None, str]:
    """The nearest team's task on drill event ``ev`` (扑火队出动, added by ``service.response.respond``:
    the task named by the ``task_id`` of its timeline row ``preplan`` with a ``team_id``), or None; and
    the report's words on which task times the team-out node."""
    rows = session.scalars(
        select(EventStep.data)
        .where(EventStep.event_id == ev.id, EventStep.action == "preplan")
        .order_by(EventStep.id)
    ).all()
    for d in rows:
        if isinstance(d, dict) and d.get("team_id") is not None and d.get("task_id") is not None:
            task = session.get(EventTask, int(d["task_id"]))
            if task is None or task.event_id != ev.id:
                continue
            team = session.get(FireResource, int(d["team_id"]))
            name = team.name if team is not None else f"#{d['team_id']}"
            return task, f"扑火队出动按最近扑火队任务计时：{name}（任务单位 {task.unit_code}）"
    return None, "扑火队出动按镇街指挥中心预案任务计时：本区未登记扑火队伍，未派扑火队任务"


def _marks(
    session: Session, ev: Event, pol: rules.DrillPolicy, team: EventTask | None = None
) -> dict[str, datetime | None]:
    """When the loop recorded each node mark of ``pol`` on drill event ``ev`` (first step of each
    action; done time of each unit's pre-plan task — for the team-out node, of the nearest team's
    task ``team`` when there is one), or None."""
    marks: dict[str, datetime | None] = {}
    for n in pol.nodes:
        kind, name = rules.parse_mark(n.mark)
        if n.key == rules.TEAM_NODE and team is not None:
            marks[n.mark] = team.done_at if team.status == "done" else None
        elif kind == "step":
            marks[n.mark] = session.scalar(
                select(EventStep.at)
                .where(EventStep.event_id == ev.id, EventStep.action == name)
                .order_by(EventStep.at, EventStep.id)
                .limit(1)
            )
        else:
            task = _task(session, ev, name)
            marks[n.mark] = task.done_at if task is not None and task.status == "done" else None
    return marks


def simulated_offsets(session: Session, ev: Event) -> dict[str, float] | None:
    """The simulated clock of drill event ``ev`` (seconds from the alarm per move mark, from its
    ``drill_simulation`` note), or None for a live drill."""
    rows = session.scalars(
        select(EventStep.data).where(
            EventStep.event_id == ev.id,
            EventStep.action == event_rules.NOTE_ACTION,
            EventStep.actor_name == DRILL_ACTOR_NAME,
        )
    ).all()
    for d in rows:
        if isinstance(d, dict) and d.get("kind") == SIM_KIND:
            return {str(k): float(v) for k, v in d.get("offsets_s", {}).items()}
    return None


def drill_result(
    session: Session, ev: Event, pol: rules.DrillPolicy | None = None, as_of: datetime | None = None
) -> rules.DrillResult:
    """The node results of drill event ``ev`` as of ``as_of`` (default now); a simulated drill's
    elapsed times are those of its simulated clock (:func:`simulated_offsets`). The team-out node is
    timed on the nearest team's task when the drill has one (:func:`find_team_task`; ``team_task`` True),
    else on the town center's task (False); ``team_note`` says which."""
    p = pol or rules.default_drill_policy()
    sim = simulated_offsets(session, ev)
    team, note = find_team_task(session, ev)
    res = rules.evaluate(
        ev.reported_at, _marks(session, ev, p, team), as_of or ztime.utcnow(), p, simulated=sim
    )
    return replace(res, team_task=team is not None, team_task_id=team.id if team else None, team_note=note)


def drill_report(
    session: Session, actor: Actor, event_id: int, as_of: datetime | None = None
) -> tuple[Event, rules.DrillResult]:
    """The drill event ``event_id`` (within the actor's scope; needs ``fire.read``) and its node
    timings so far. Raises NotFound for an unknown or out-of-scope event, InvalidInput when the event
    is not a drill."""
    require(actor, "fire.read")
    ev = events.get_event(session, actor, event_id)
    if not ev.is_drill:
        why = f"event {event_id} is not a drill (实战演练) event"
        raise InvalidInput(why, [FieldError("event_id", why)])
    return ev, drill_result(session, ev, as_of=as_of)


def drill_title(session: Session, ev: Event) -> str:
    """The report's first line: 森林火情实战演练, the event id and its town's name."""
    where = (_name(session, ev.town_code) if ev.town_code else None) or ev.town_code or ev.district_code
    return f"森林火情实战演练 事件 {ev.id}（{where}）"


def _name(session: Session, code: str) -> str | None:
    try:
        return org.get_unit(session, code).name
    except NotFound:
        return None
