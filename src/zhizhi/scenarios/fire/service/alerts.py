"""Events opened for hotspot clusters (热点核查事件): one per cluster and district (primary where the
fire is, neighbour alerts within the buffer), with their Chinese texts."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy.orm import Session

from zhizhi.core.errors import NotFound
from zhizhi.event import rules as event_rules
from zhizhi.event import service as events
from zhizhi.event.schemas import EventCreate
from zhizhi.org import service as org
from zhizhi.scenarios.fire import hotspots as hs
from zhizhi.scenarios.fire.models import Hotspot, HotspotAlert, HotspotCluster
from zhizhi.scenarios.fire.schemas import HotspotConfig, HotspotEventRef
from zhizhi.scenarios.fire.service.config import CATEGORY


def live_event_id(session: Session, district6: str, event_id: int | None) -> int | None:
    """The open event that carries ``event_id`` on: itself while open, the event it was merged into
    (a 卫星热点核查 confirmed as 真实火情 is merged into its 森林火情 event) while that is open, else None."""
    if event_id is None:
        return None
    ev = events.get_event(session, events.system_actor(district6), event_id)
    if ev.merged_into_id is not None:
        ev = events.get_event(session, events.system_actor(district6), ev.merged_into_id)
    return ev.id if event_rules.Node(ev.node) in event_rules.OPEN_NODES else None


def event_open(session: Session, district6: str, event_id: int | None) -> bool:
    """Whether the event ``event_id`` is still open (or merged into an open event)."""
    return live_event_id(session, district6, event_id) is not None


Role = Literal["primary", "neighbour"]
DRILL_MARK = "【演练】"
"""The start of a drill event's title and description (实战演练), e.g. "【演练】卫星热点核查：…"."""


def open_event(
    session: Session,
    cfg: HotspotConfig,
    cl: HotspotCluster,
    h: Hotspot,
    role: Role,
    d6: str,
    dist_m: float,
    now: datetime,
    drill: bool,
) -> HotspotEventRef:
    """Open the 卫星热点核查 event of cluster ``cl`` in district ``d6`` at detection ``h``; a drill's
    title and description start with :data:`DRILL_MARK`."""
    title = f"卫星热点核查：{hs.beijing(h.acq_at)} {h.satellite}/{h.instrument}"
    text = _event_text(session, cfg, cl, h)
    if role == "neighbour":
        where = _district_name(session, h.district_code) if h.distance_m == 0 else "已加载辖区以外"
        title = "邻区" + title
        text = f"邻区通报：热点位于{where}，距本区边界约 {dist_m / 1000:.1f} km，请关注并协同核查。\n" + text
    if drill:  # a drill says so wherever its title shows (lists, the big screen, the timeline)
        title = DRILL_MARK + title
        text = f"{DRILL_MARK}本事件为森林火情实战演练，热点为模拟注入，非真实火情。\n" + text
    data = EventCreate(
        source="satellite",
        category_code=CATEGORY,
        title=title[:200],
        description=text,
        lon=h.lon,
        lat=h.lat,
        external_id=f"hotspot-{cl.id}-{d6}",
        is_drill=drill,
    )
    ev = events.create_event(
        session,
        events.system_actor(d6),
        data,
        propose_merges=False,
        file_in=d6 if role == "neighbour" else None,
    )
    if role == "primary":
        cl.event_id = ev.id
    session.add(
        HotspotAlert(
            cluster_id=cl.id, district_code=d6, role=role, event_id=ev.id, distance_m=dist_m, created_at=now
        )
    )
    session.flush()
    return HotspotEventRef(
        event_id=ev.id,
        cluster_id=cl.id,
        role=role,
        district_code=d6,
        town_code=ev.town_code,
        grid_code=ev.grid_code,
    )


def _district_name(session: Session, d6: str) -> str:
    try:
        return org.get_unit(session, f"{d6}000000").name
    except NotFound:
        return d6


def _describe(h: Hotspot) -> str:
    """One detection in Chinese: satellite, Beijing time, place, confidence, FRP, pixel, day/night."""
    kind = "近实时" if h.nrt else "标准"
    ns, ew = ("北纬", "南纬")[h.lat < 0], ("东经", "西经")[h.lon < 0]
    return (
        f"{h.satellite}/{h.instrument}（{h.version} {kind}产品），过境时间 北京时间 {hs.beijing(h.acq_at)}"
        f"（UTC {h.acq_at:%H:%M}），位置 {ns} {abs(h.lat):.5f}°、{ew} {abs(h.lon):.5f}°"
        f"（WGS-84 像元中心，像元约 {h.scan:.2f} × {h.track:.2f} km），"
        f"置信度 {h.confidence}%（{hs.CLASS_LABEL_ZH.get(h.confidence_class, h.confidence_class)}），"
        f"火辐射功率 FRP {h.frp:.1f} MW，{hs.DAYNIGHT_ZH.get(h.daynight, h.daynight)}"
    )


def _event_text(session: Session, cfg: HotspotConfig, cl: HotspotCluster, h: Hotspot) -> str:
    names = " / ".join(o.name for o in cfg.outcomes)
    return (
        f"NASA FIRMS 卫星热点：{_describe(h)}。\n"
        f"热点簇 {cl.id} 现有 {cl.n_detections} 个热点，最高置信度 {cl.max_confidence}%，"
        f"最大 FRP {cl.max_frp:.1f} MW。\n"
        f"请于 北京时间 {hs.beijing(cl.verify_due_at)} 前（{cfg.verification.deadline_h:g} 小时内）到场核查，"
        f"并反馈热点性质：{names}。"
    )


def update_text(cl: HotspotCluster, fresh: list[Hotspot]) -> str:
    lines = [
        f"热点簇 {cl.id} 新增卫星热点 {len(fresh)} 个（累计 {cl.n_detections} 个，"
        f"最近 北京时间 {hs.beijing(cl.last_seen)}）："
    ]
    lines += [f"- {_describe(h)}" for h in fresh[:10]]
    if len(fresh) > 10:
        lines.append(f"- …另有 {len(fresh) - 10} 个")
    return "\n".join(lines)
