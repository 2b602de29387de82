"""Hotspot verification (热点核查): the outcome of a cluster, recorded once, with its deadline; a
confirmed real fire (真实火情) opens a 森林火情 event, which the platform accepts, registers and
dispatches to the town center at once, and, by policy, starts its response at once."""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhizhi.core import time as ztime
from zhizhi.core.access import Actor, Scope, require, scope_of
from zhizhi.core.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from zhizhi.event import rules as event_rules
from zhizhi.event import service as events
from zhizhi.event.models import Event
from zhizhi.event.schemas import EventCreate, TransitionIn
from zhizhi.org import service as org
from zhizhi.scenarios.fire import hotspots as hs
from zhizhi.scenarios.fire import resources as fire_resources
from zhizhi.scenarios.fire.models import HotspotAlert, HotspotCluster
from zhizhi.scenarios.fire.resource_schemas import RespondRead
from zhizhi.scenarios.fire.schemas import (
    ClusterRead,
    HotspotOutcome,
    is_historical,
)
from zhizhi.scenarios.fire.service import response
from zhizhi.scenarios.fire.service.alerts import _district_name
from zhizhi.scenarios.fire.service.config import (
    hotspot_config,
)
from zhizhi.scenarios.fire.service.static import _propose_from_cluster

# --- verification and static sources ---------------------------------------------------------------------


def get_cluster(session: Session, cluster_id: int) -> HotspotCluster:
    """The cluster ``cluster_id``; raises NotFound."""
    cl = session.get(HotspotCluster, cluster_id)
    if cl is None:
        raise NotFound(f"hotspot cluster {cluster_id} not found")
    return cl


@dataclass
class VerifyResult:
    """What recording an outcome did: the ``cluster``; for 真实火情 on a real cluster the 森林火情 event
    opened (``fire_event_id``) and, with ``response.auto_respond_on_confirmed`` (data/resources.yaml),
    the response started on it (``response``: the pre-plan's and the team's tasks) or why it could not
    start (``response_note``). Both None when the policy leaves the response to the one click; then,
    and when it could not start, ``hint`` says how to start it."""

    cluster: HotspotCluster
    fire_event_id: int | None = None
    response: RespondRead | None = None
    response_note: str | None = None

    @property
    def hint(self) -> str | None:
        """``森林火情事件 ID 已立；启动扑救响应（预案）: zhizhi fire respond ID --as 用户 或 POST …/respond``
        while no response was started."""
        if self.fire_event_id is None or self.response is not None:
            return None
        fid = self.fire_event_id
        return (
            f"森林火情事件 {fid} 已立；启动扑救响应（预案）: zhizhi fire respond {fid} --as 用户 "
            f"或 POST /api/v1/fire/events/{fid}/respond"
        )


HISTORICAL_NOTE = "历史热点：仅记录核查结论，不立事件、不启动响应"
"""The ``response_note`` of 真实火情 recorded on a historical cluster (schemas.is_historical)."""

BY_MAX = 64
"""The longest on-site verifier name (核查人) taken: ``verified_by`` is 64 characters."""


def record_outcome(
    session: Session, actor: Actor, cluster_id: int, outcome: str, note: str = "", by: str | None = None
) -> HotspotCluster:
    """Record the verification outcome of a cluster: :func:`verify_cluster`, returning the cluster."""
    return verify_cluster(session, actor, cluster_id, outcome, note, by).cluster


def verify_cluster(
    session: Session,
    actor: Actor,
    cluster_id: int,
    outcome: str,
    note: str = "",
    by: str | None = None,
) -> VerifyResult:
    """Record the verification outcome (核查结论) of a cluster: one of ``data/hotspots.yaml`` outcomes,
    by key or Chinese name (真实火情 / 农事用火 / 工业热源 / 其他热源 / 误报).

    ``by``: the person who checked on site (核查人, at most :data:`BY_MAX` characters), when not the
    actor (a desk user entering a field team's result); recorded as ``verified_by`` and named in the
    texts instead of the actor's name. The steps written on the events stay the actor's.

    Sets verified_at/by and whether the verification deadline was met (``verified_on_time``). An
    outcome with ``proposes_static`` (工业热源) proposes a static heat source covering the cluster.
    The outcome is also written on the timeline of the cluster's events as a note (备注,
    event.service.add_note; "核查结论：农事用火（按时）：…"): on the primary event by the actor
    (who and when are the step's), on each neighbour-alert event by that district's platform naming
    the verifier, so every district alerted sees it. A note moves nothing and counts in no KPI.
    The actor needs ``fire.verify`` and ``event.read`` and must see the cluster's primary event (its
    data scope: the event's district, town or grid); a cluster without an event only its district's
    center. A historical cluster (历史热点, schemas.is_historical: an archive detection, no event, no
    deadline) takes an outcome for the record only (工业热源 still proposes its static source): the
    platform does nothing more, 真实火情 included (no 森林火情 event, no dispatch, no response; the
    result's ``response_note`` is :data:`HISTORICAL_NOTE`). Otherwise the platform then acts on the
    real (non-drill) events: see :func:`_act_on_outcome` (for 真实火情 the new 森林火情 event is
    accepted, registered and dispatched to the town center by the platform whatever the response
    policy, :func:`_take_on`); for 真实火情 with
    ``response.auto_respond_on_confirmed`` (data/resources.yaml, default true) it also starts the
    response on the new 森林火情 event (:func:`_auto_respond`).
    Returns a :class:`VerifyResult`. Raises Forbidden (role), NotFound (no such cluster, or out of
    scope: the same "hotspot cluster N not found"), InvalidInput (unknown outcome, ``by`` too long),
    Conflict (an outcome is already recorded); a response that
    cannot start never fails the verification.
    """
    cfg = hotspot_config()
    require(actor, "fire.verify")  # a refusal by role first: it says nothing about the cluster
    cl = get_cluster(session, cluster_id)
    if cl.event_id is not None:
        try:
            events.get_event(session, actor, cl.event_id, own_tasks=False)
        except NotFound:  # outside the scope: the cluster's "not found", never its event's id
            raise NotFound(f"hotspot cluster {cluster_id} not found") from None
    elif scope_of(actor) != Scope("district", cl.district_code):
        raise NotFound(f"hotspot cluster {cluster_id} not found")
    who = (by or "").strip()
    if len(who) > BY_MAX:
        too_long = f"the verifier's name is longer than {BY_MAX} characters"
        raise InvalidInput(too_long, [FieldError("by", too_long)])
    verifier = replace(actor, name=who) if who else actor  # only its name is used, in texts
    try:
        o: HotspotOutcome = cfg.outcome(outcome)
    except ValueError as e:
        raise InvalidInput(str(e), [FieldError("outcome", str(e))]) from None
    if cl.outcome is not None:
        raise Conflict(
            f"cluster {cl.id} already has the outcome {cfg.outcome(cl.outcome).name} "
            f"(recorded by {cl.verified_by} at 北京时间 {hs.beijing(cl.verified_at or cl.opened_at)})"
        )
    now = ztime.utcnow()
    cl.outcome, cl.outcome_note = o.key, note
    cl.verified_at, cl.verified_by = now, verifier.name[:BY_MAX]
    historical = is_historical(cl.drill, cl.event_id)
    # a historical cluster had no deadline (schemas.is_historical): neither on time nor late
    cl.verified_on_time = None if historical else now <= cl.verify_due_at
    if o.proposes_static:
        _propose_from_cluster(session, cl, o, verifier, note, now)
    session.flush()
    _note_outcome(session, actor, cl, o, note, verifier.name)
    if historical:  # an old detection: the outcome is for the record, there is no fire to answer now
        return VerifyResult(cl, response_note=HISTORICAL_NOTE if o.key == REAL_FIRE else None)
    fire = _act_on_outcome(session, verifier, cl, o, note)
    if fire is None:
        return VerifyResult(cl)
    started, why = _auto_respond(session, verifier, cl, fire) if _auto_on() else (None, None)
    return VerifyResult(cl, fire.id, started, why)


def outcome_text(
    o: HotspotOutcome, on_time: bool, note: str = "", by: str | None = None, verb: str = "记录"
) -> str:
    """The timeline note of a verification outcome:
    ``核查结论：<name>（按时|超时[，<by> <verb>]）[：<note>]`` (verb 记录, or 现场核查 for the on-site
    verifier named by a desk user)."""
    who = f"，{by} {verb}" if by else ""
    text = f"核查结论：{o.name}（{'按时' if on_time else '超时'}{who}）"
    return text + (f"：{note.strip()}" if note.strip() else "")


def _note_outcome(
    session: Session, actor: Actor, cl: HotspotCluster, o: HotspotOutcome, note: str, who: str
) -> None:
    """Write the outcome on the timelines of the cluster's events (see :func:`record_outcome`):
    ``who`` checked on site; named on the primary event's note when not the ``actor``."""
    on_time = bool(cl.verified_on_time)
    data = {"kind": "hotspot_outcome", "cluster_id": cl.id, "outcome": o.key, "on_time": on_time}
    if cl.event_id is not None:
        named = who if who != actor.name else None
        text = outcome_text(o, on_time, note, named, "现场核查")
        events.add_note(session, actor, cl.event_id, text, data)
    alerts = session.scalars(
        select(HotspotAlert).where(HotspotAlert.cluster_id == cl.id).order_by(HotspotAlert.id)
    ).all()
    for a in alerts:
        if a.event_id is None or a.event_id == cl.event_id:
            continue
        platform = events.system_actor(a.district_code)
        by = f"{_district_name(session, cl.district_code)}{who}"
        events.add_note(session, platform, a.event_id, outcome_text(o, on_time, note, by), data)


FIRE_CATEGORY = "2206"
"""森林火情 (event/data/categories.yaml): the event a confirmed real fire becomes."""
REAL_FIRE = "real_fire"
"""The outcome key of 真实火情 (data/hotspots.yaml)."""
_REJECTABLE = frozenset({event_rules.Node.REPORTED.value, event_rules.Node.ACCEPTED.value})


def fire_external_id(cl: HotspotCluster | int) -> str:
    """The ``external_id`` of the 森林火情 event of cluster ``cl`` (a cluster or its id)."""
    return f"hotspot-{cl if isinstance(cl, int) else cl.id}-fire"


def fire_event_id(session: Session, cl: HotspotCluster) -> int | None:
    """The id of the 森林火情 (2206) event opened when cluster ``cl`` was verified as 真实火情, or None."""
    return session.scalar(
        select(Event.id).where(
            Event.external_id == fire_external_id(cl), Event.category_code == FIRE_CATEGORY
        )
    )


def _act_on_outcome(
    session: Session, actor: Actor, cl: HotspotCluster, o: HotspotOutcome, note: str
) -> Event | None:
    """What the platform does with an outcome on a real (non-drill) cluster's events.

    Non-fire outcomes: each event (primary and neighbour alerts) still at reported/accepted is ended
    with the loop's ``reject`` by its district's platform, comment ``核查结论：<name>，非森林火情：<note>``
    naming the verifier; an event already moved on by hand is not forced, it gets a note saying the
    outcome allows closing. 真实火情: a 2206 event is opened at the primary event's point (else the
    cluster's), urgency urgent, taken on by the platform (:func:`_take_on`: 受理, 立案, 派遣 to the town
    center), the open 2207 event merged into it; neighbour events get a note pointing at it. Returns
    that 2206 event (None for another outcome or a drill)."""
    primary = session.get(Event, cl.event_id) if cl.event_id is not None else None
    if cl.drill or (primary is not None and primary.is_drill):
        return None  # a drill moves its own event through the loop and its pre-plan (service/drill.py)
    alerts = session.scalars(
        select(HotspotAlert).where(HotspotAlert.cluster_id == cl.id).order_by(HotspotAlert.id)
    ).all()
    others = [(a.district_code, a.event_id) for a in alerts if a.event_id not in (None, cl.event_id)]
    data = {"kind": "hotspot_outcome_action", "cluster_id": cl.id, "outcome": o.key}
    if o.key != REAL_FIRE:
        body = f"核查结论：{o.name}，非森林火情" + (f"：{note.strip()}" if note.strip() else "")
        if primary is not None:
            _end_not_a_case(session, cl.district_code, primary.id, f"{body}（{actor.name} 核查）", data)
        by = f"{_district_name(session, cl.district_code)}{actor.name}"
        for d6, eid in others:
            _end_not_a_case(session, d6, eid, f"{body}（{by} 核查）", data)  # type: ignore[arg-type]
        return None
    fire = _open_fire_event(session, actor, cl, primary, note)
    data["fire_event_id"] = fire.id
    _take_on(session, actor, fire, data)
    platform = events.system_actor(cl.district_code)
    if primary is not None:
        events.add_note(
            session, platform, primary.id,
            f"核查确认真实火情（{actor.name} 核查），已立森林火情事件 {fire.id}，本事件并入该事件",
            data,
        )  # fmt: skip
        if event_rules.Node(primary.node) in event_rules.OPEN_NODES and primary.merged_into_id is None:
            events.merge(session, platform, primary.id, fire.id, any_category=True)
    src = f"卫星热点核查事件 {primary.id}（热点簇 {cl.id}）" if primary else f"热点簇 {cl.id}"
    then = "扑救响应（预案）自动启动" if _auto_on() else "扑救响应（预案）请在本事件一键启动"
    events.add_note(session, platform, fire.id, f"由{src}核查确认（{actor.name}）；{then}", data)
    by = f"{_district_name(session, cl.district_code)}{actor.name}"
    for d6, eid in others:
        events.add_note(
            session, events.system_actor(d6), eid,  # type: ignore[arg-type]
            f"核查结论：真实火情（{by} 核查），{_district_name(session, cl.district_code)}"
            f"已立森林火情事件 {fire.id}",
            data,
        )  # fmt: skip
    return fire


TAKE_ON_COMMENT = "核查确认真实火情，平台自动"
"""The start of the comment on the platform's 受理/立案/派遣 of a confirmed fire's 2206 event."""


def fire_unit(session: Session, fire: Event) -> tuple[str | None, str]:
    """The unit a confirmed fire's 2206 event is dispatched to, and its name: the town center
    (镇街指挥中心) of the town where the fire is (属地; the drill's choice, service/drill.py, and the
    ``town`` row of the pre-plan). Not the catalogue's routing default for 2206 (林业局 LYJ, a
    department that supervises and gets its own pre-plan task). (None, why) when the event is in no
    town or that town has no center loaded."""
    if not fire.town_code:
        return None, "火情位置不在本区任何镇街内，无属地镇街可派遣，请区指挥中心人工派遣"
    code = f"{fire.town_code}-{org.TOWN_CENTER_SUFFIX}"
    try:
        return code, str(org.get_unit(session, code).name)
    except NotFound:
        return None, f"镇街 {fire.town_code} 未登记指挥中心（{code}），请区指挥中心人工派遣"


def _take_on(session: Session, verifier: Actor, fire: Event, data: dict[str, object]) -> None:
    """受理 (accept), 立案 (register) and 派遣 (dispatch, to :func:`fire_unit`) the 2206 event ``fire``
    just opened for a confirmed real fire, as the platform (系统) of its district, each move commented
    ``核查确认真实火情，平台自动受理|立案|派遣<unit>（<verifier> 核查）``: the fire is confirmed, so it
    waits at ``dispatched`` for the town center's 签收 with that node's limit (2206: 3 min), not at
    ``reported`` with the 1-minute 受理 limit (overdue, red and escalated by the SLA sweep while the
    response runs). Done whatever ``response.auto_respond_on_confirmed`` says. Each move is tried in
    a savepoint; the first that cannot be made (no town, no town center, refused by the loop) leaves
    the event where it is, with a note saying why; the verification stands."""
    platform = events.system_actor(fire.district_code)
    unit, unit_name = fire_unit(session, fire)
    moves = [
        ("accept", "受理", "", None),
        ("register", "立案", "", None),
        ("dispatch", "派遣", unit_name, unit),
    ]
    for action, verb, target, code in moves:
        if action == "dispatch" and code is None:
            why = unit_name
        else:
            comment = f"{TAKE_ON_COMMENT}{verb}{target}（{verifier.name} 核查）"
            try:
                with session.begin_nested():
                    events.transition(
                        session,
                        platform,
                        fire.id,
                        TransitionIn(action=action, comment=comment, unit_code=code),
                    )
                continue
            except (InvalidInput, Conflict, NotFound, Forbidden) as e:
                why = str(e)
        text = f"核查确认真实火情，平台未能自动{verb}：{why}"
        events.add_note(
            session, platform, fire.id, text, {**data, "kind": "hotspot_take_on", "failed": action}
        )
        return


def _auto_on() -> bool:
    """``response.auto_respond_on_confirmed`` of data/resources.yaml."""
    return fire_resources.default_resource_policy().response.auto_respond_on_confirmed


def _auto_respond(
    session: Session, verifier: Actor, cl: HotspotCluster, fire: Event
) -> tuple[RespondRead | None, str | None]:
    """Start the response (service.response.respond: the pre-plan's tasks and the nearest team's) on
    the 森林火情 event ``fire`` just opened for cluster ``cl``, as the platform (系统) of its district:
    the policy starts it, not the verifier (who may hold no ``event.preplan``, e.g. a grid worker), so
    the pre-plan steps are the platform's and a note names the verifier whose confirmation triggered it
    and the tasks dispatched (and, without a registered team, that no team task was made).

    Returns (the response, None), or (None, why) when it could not start: then nothing of it is kept
    (a savepoint), a note on the event says why and asks for the one click, and the verification
    stands."""
    platform = events.system_actor(fire.district_code)
    data: dict[str, object] = {
        "kind": "hotspot_auto_respond",
        "cluster_id": cl.id,
        "verified_by": verifier.name,
    }
    try:
        with session.begin_nested():
            got = response.respond(session, platform, fire.id)
    except (InvalidInput, Conflict, NotFound, Forbidden) as e:
        why = (
            f"扑救响应（预案）未能自动启动：{e}；"
            f"请在本事件一键启动（POST /api/v1/fire/events/{fire.id}/respond）"
        )
        events.add_note(session, platform, fire.id, why, {**data, "started": False})
        return None, why
    units = "、".join(t.unit_code for t in got.tasks)
    text = (
        f"{verifier.name} 核查确认真实火情，按策略自动启动扑救响应（预案 {got.preplan}），"
        f"派发任务 {len(got.tasks)} 项：{units}"
    )
    if got.team is None:
        text += "；本区未登记扑火队伍，未派扑火队任务（登记：zhizhi fire resources import）"
    elif got.team_task_id is None:
        text += f"；最近扑火队 {got.team.name} 未登记所属单位，未派扑火队任务"
    events.add_note(
        session, platform, fire.id, text, {**data, "started": True, "tasks": [t.id for t in got.tasks]}
    )
    return got, None


def _end_not_a_case(session: Session, d6: str, event_id: int, comment: str, data: dict[str, object]) -> None:
    """``reject`` event ``event_id`` by district ``d6``'s platform if it is still at reported/accepted;
    otherwise (moved on by hand) a note that the outcome allows closing; nothing once it is done."""
    platform = events.system_actor(d6)
    ev = events.get_event(session, platform, event_id)
    if ev.node in _REJECTABLE and ev.merged_into_id is None:
        events.transition(session, platform, event_id, TransitionIn(action="reject", comment=comment))
    elif event_rules.Node(ev.node) in event_rules.OPEN_NODES:
        events.add_note(session, platform, event_id, f"{comment}；核查结论允许结案，请按流程办结", data)


def _open_fire_event(
    session: Session, actor: Actor, cl: HotspotCluster, primary: Event | None, note: str
) -> Event:
    """Open the 森林火情 (2206) event of cluster ``cl`` confirmed as 真实火情 (same point, so the same
    town/grid routing as the 2207 event), urgency urgent."""
    lon, lat = (
        (primary.lon, primary.lat) if primary is not None and primary.lon is not None else (cl.lon, cl.lat)
    )
    place = _place(session, primary) if primary is not None else _district_name(session, cl.district_code)
    text = (
        f"卫星热点簇 {cl.id}（{cl.n_detections} 个热点，最高置信度 {cl.max_confidence}%，"
        f"最大 FRP {cl.max_frp:.1f} MW）经 {actor.name} 现场核查确认为真实火情"
        + (f"：{note.strip()}" if note.strip() else "")
        + (f"。原卫星热点核查事件 {primary.id}。" if primary is not None else "。")
    )
    data = EventCreate(
        source="satellite",
        category_code=FIRE_CATEGORY,
        title=f"森林火情：{place} 卫星热点核查确认"[:200],
        description=text,
        lon=lon,
        lat=lat,
        urgency="urgent",
        external_id=fire_external_id(cl),
    )
    return events.create_event(session, events.system_actor(cl.district_code), data, propose_merges=False)


def _place(session: Session, ev: Event) -> str:
    """The town (else district) name of event ``ev``."""
    for code in (ev.town_code, f"{ev.district_code}000000"):
        if code:
            try:
                return str(org.get_unit(session, code).name)
            except NotFound:
                continue
    return str(ev.district_code)


def cluster_read(cl: HotspotCluster) -> ClusterRead:
    """The cluster as its read model."""
    return ClusterRead.model_validate(cl)
