"""Pure rules of the closed loop (闭环): nodes, transitions, who may make them, colours.

No database here. The state machine follows the documented 数字城管 flow (CJ/T 315-2009, GB/T 30428.8
lineage: 信息采集 → 立案 → 派遣 → 处置 → 核查 → 结案 → 评价) with the 12345 additions (签收, 回退,
回访, 重办) and the edge cases 延期 and 挂账 (see docs/domains/event.md and
shared/domain/governance-features.md §5).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from zhizhi.core import time as ztime
from zhizhi.core.access import permission_table


class Node(StrEnum):
    """Node (环节) an event is at."""

    REPORTED = "reported"  # 上报, waiting for 受理
    ACCEPTED = "accepted"  # 受理, waiting for 立案
    REJECTED = "rejected"  # 不予受理 (terminal)
    REGISTERED = "registered"  # 立案, waiting for 派遣 (also after a 回退)
    DISPATCHED = "dispatched"  # 派遣, waiting for 签收
    SIGNED = "signed"  # 签收, being handled (处置中)
    PARKED = "parked"  # 挂账: cannot be solved in time even with extension
    HANDLED = "handled"  # 处置反馈 given, waiting for 核查
    VERIFIED = "verified"  # 核查通过, waiting for 结案
    CLOSED = "closed"  # 结案 (回访/评价 may follow)
    EVALUATED = "evaluated"  # 回访评价 done (terminal unless 重办)
    MERGED = "merged"  # merged into a parent event (follows the parent)


OPEN_NODES = frozenset(
    {
        Node.REPORTED,
        Node.ACCEPTED,
        Node.REGISTERED,
        Node.DISPATCHED,
        Node.SIGNED,
        Node.PARKED,
        Node.HANDLED,
        Node.VERIFIED,
    }
)
DONE_NODES = frozenset({Node.CLOSED, Node.EVALUATED, Node.REJECTED, Node.MERGED})

# The node whose time limit (catalogue key) runs while an event waits at a node.
LIMIT_OF_NODE: dict[Node, str] = {
    Node.REPORTED: "accept",
    Node.ACCEPTED: "register",
    Node.REGISTERED: "dispatch",
    Node.DISPATCHED: "sign",
    Node.SIGNED: "handle",
    Node.HANDLED: "verify",
    Node.VERIFIED: "close",
}


class Role(StrEnum):
    """Roles (角色) of the people on the loop."""

    GRID_WORKER = "grid_worker"  # 网格员
    GRID_LEADER = "grid_leader"  # 网格长
    TOWN_DUTY = "town_duty"  # 镇街指挥中心值班员
    BOARD_STAFF = "board_staff"  # 板块岗位人员
    DEPT_HANDLER = "dept_handler"  # 部门处置人
    CENTER_DUTY = "center_duty"  # 城运中心值班员
    CENTER_CHIEF = "center_chief"  # 城运中心值班长
    LEADER = "leader"  # 领导 (read-only, may order 领导督办)
    SYSTEM = "system"  # the platform itself (sweeps, imports, replays)


@dataclass(frozen=True)
class Transition:
    """One allowed move: from any of ``sources`` to ``target``.

    ``target`` None means the node does not change (e.g. 督办, 延期申请). ``needs`` names the input
    fields that must be non-empty (e.g. ``comment`` for a 回退 reason, ``unit_code`` for 派遣). Who may
    make the move is the permission ``event.<action>`` in the permission table
    (``core/data/permissions.yaml``): see :attr:`roles`.
    """

    action: str
    label: str
    sources: frozenset[Node]
    target: Node | None
    needs: tuple[str, ...] = ()

    @property
    def permission(self) -> str:
        """The permission that allows this move: ``event.<action>``."""
        return f"event.{self.action}"

    @property
    def roles(self) -> frozenset[str]:
        """The roles holding :attr:`permission` in the permission table."""
        return permission_table().roles_with(self.permission)


def _t(
    action: str, label: str, sources: set[Node], target: Node | None, needs: tuple[str, ...] = ()
) -> Transition:
    return Transition(action, label, frozenset(sources), target, needs)


_EXT = {Node.DISPATCHED, Node.SIGNED}
TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in [
        _t("accept", "受理", {Node.REPORTED}, Node.ACCEPTED),
        _t("reject", "不予受理", {Node.REPORTED, Node.ACCEPTED}, Node.REJECTED, ("comment",)),
        _t("register", "立案", {Node.ACCEPTED}, Node.REGISTERED),
        _t("dispatch", "派遣", {Node.REGISTERED}, Node.DISPATCHED, ("unit_code",)),
        # 纵向上报: a town center hands an event outside its town's remit to the district center,
        # which dispatches it (the node and its 派遣 clock stay; service.loop keeps who holds it)
        _t("escalate", "上报区级", {Node.REGISTERED}, None, ("comment",)),
        _t("sign", "签收", {Node.DISPATCHED}, Node.SIGNED),
        _t("return", "回退", {Node.DISPATCHED, Node.SIGNED}, Node.REGISTERED, ("comment",)),
        _t("handle", "处置反馈", {Node.SIGNED}, Node.HANDLED, ("comment",)),
        _t("verify_pass", "核查通过", {Node.HANDLED}, Node.VERIFIED),
        _t("verify_fail", "核查不通过（返工）", {Node.HANDLED}, Node.SIGNED, ("comment",)),
        _t("close", "结案", {Node.VERIFIED}, Node.CLOSED),
        _t("evaluate", "回访评价", {Node.CLOSED}, Node.EVALUATED, ("satisfaction",)),
        _t("reopen", "重办", {Node.CLOSED, Node.EVALUATED}, Node.DISPATCHED, ("comment",)),
        _t("park", "挂账", {Node.SIGNED}, Node.PARKED, ("comment",)),
        _t("unpark", "恢复办理", {Node.PARKED}, Node.SIGNED),
        _t("request_extension", "延期申请", _EXT, None, ("comment", "extra_amount")),
        _t("approve_extension", "延期审批", _EXT, None),
        _t("deny_extension", "延期驳回", _EXT, None, ("comment",)),
        _t("supervise", "督办", set(OPEN_NODES), None, ("comment",)),
        _t("remind", "催办", set(OPEN_NODES), None),
    ]
}


NOTE_ACTION, NOTE_LABEL = "note", "备注"
"""The timeline action of a note (service.add_note): not a transition — it moves nothing, is open at
every node and is governed by ``event.read`` and the data scope, not by an ``event.<action>``
permission — so it is not in :data:`TRANSITIONS`."""


# Labels that depend on the node a move is made at: 不予受理 of a report not yet accepted, 不予立案
# of an accepted one (受理 done, 立案 refused).
LABEL_AT: dict[tuple[str, Node], str] = {("reject", Node.ACCEPTED): "不予立案"}


def label_at(action: str, node: str | None) -> str:
    """The label of ``action`` made at ``node`` (e.g. reject at accepted → 不予立案); the
    transition's own label otherwise, ``action`` itself when unknown."""
    tr = TRANSITIONS.get(action)
    if tr is None:
        return action
    try:
        return LABEL_AT.get((action, Node(node)), tr.label) if node else tr.label
    except ValueError:
        return tr.label


class TransitionError(ValueError):
    """A move that is not allowed; ``status`` 409 for a wrong node, 403 for a wrong role, 422 for a
    missing field. ``code`` is the stable error code the pages translate (``event.wrong_node``,
    ``event.role_not_allowed``, ``event.field_required``, ``event.unknown_action``) and ``params``
    its placeholders (``label``: the move's label; ``field``: the missing input)."""

    def __init__(
        self,
        message: str,
        status: int,
        field: str | None = None,
        code: str | None = None,
        params: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.field = field
        self.code = code
        self.params = params or {}


def check_transition(action: str, node: str, role: str, given: dict[str, object]) -> Transition:
    """Check that ``role`` may do ``action`` on an event at ``node`` with the inputs ``given``.

    Returns the :class:`Transition`. Raises :class:`TransitionError`: 422 for an unknown action or a
    missing required field, 403 for a role that may not make the move, 409 for a node it cannot be
    made from (the message names the current node and the allowed ones).
    """
    tr = TRANSITIONS.get(action)
    if tr is None:
        raise TransitionError(
            f'unknown action "{action}"; known: {", ".join(TRANSITIONS)}',
            422,
            "action",
            "event.unknown_action",
            {"action": action},
        )
    label = label_at(action, node)
    if not permission_table().allows(role, tr.permission):
        why = f'role "{role}" may not {label} ({action})'
        raise TransitionError(why, 403, "role", "event.role_not_allowed", {"label": label})
    if node not in tr.sources:
        allowed = ", ".join(sorted(tr.sources))
        raise TransitionError(
            f'cannot {label} ({action}) an event at node "{node}"; allowed from: {allowed}',
            409,
            "node",
            "event.wrong_node",
            {"label": label, "node": node},
        )
    for f in tr.needs:
        v = given.get(f)
        if v is None or (isinstance(v, str) and not v.strip()):
            why = f'{label} ({action}) needs "{f}"'
            raise TransitionError(why, 422, f, "event.field_required", {"label": label, "field": f})
    return tr


def allowed_actions(node: str, role: str) -> list[str]:
    """Actions ``role`` may make on an event at ``node`` (for UI buttons), in catalogue order."""
    table = permission_table()
    return [a for a, t in TRANSITIONS.items() if node in t.sources and table.allows(role, t.permission)]


# 五色 (five colours) by share of the current node's limit used; thresholds are the usual
# 五色督办 practice (大足): green < 50 %, blue < 80 %, yellow < 100 %, orange < 150 %, red ≥ 150 %.
COLOUR_THRESHOLDS: tuple[tuple[float, str], ...] = (
    (0.5, "green"),
    (0.8, "blue"),
    (1.0, "yellow"),
    (1.5, "orange"),
    (math.inf, "red"),
)


def colour(used: float, limit: float | None) -> str:
    """五色 colour of an event from the time ``used`` at its node and that node's ``limit``.

    ``used`` and ``limit`` are in the same unit (hours or days, as the limit's clock). No limit or a
    zero limit gives ``"green"``. Returns one of green, blue, yellow, orange, red.
    """
    if not limit or limit <= 0:
        return "green"
    share = used / limit
    for bound, name in COLOUR_THRESHOLDS:
        if share < bound:
            return name
    return "red"


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres between two WGS-84 points (spherical Earth, R = 6,371,008.8 m)."""
    r = 6_371_008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(min(1.0, math.sqrt(a)))


def is_similar(
    a_cat: str, b_cat: str, dist_m: float, hours_apart: float, radius_m: float = 50.0, window_h: float = 24.0
) -> bool:
    """Similar-event rule (相似案件): same category, within ``radius_m`` metres and ``window_h`` hours.

    Default 50 m / 24 h as in the 运城 数字城管 schema (governance-features.md §5).
    """
    return a_cat == b_cat and dist_m <= radius_m and abs(hours_apart) <= window_h


def next_check(
    entered: datetime, deadline: datetime, now: datetime, amount: float, clock: str, share: float, frac: float
) -> datetime | None:
    """When an event's colour or flags next change (the SLA sweep's next look at it): the first of
    the 五色 bounds, the 预警 share, the escalation point (2× the limit) and the moment just after
    the deadline (overdue is "later than the deadline") still ahead; None when all have passed.
    The sweep skips events until then, so a sweep costs what changes, not the size of the backlog.

    entered/deadline/now: aware datetimes; amount and clock: the node's limit (hours or days, see
    core.time.ClockType); share: the part of the limit used at ``now``; frac: the 预警 share (0.8).
    Returns an aware UTC datetime, or None.
    """
    marks = sorted({b for b, _ in COLOUR_THRESHOLDS if b != float("inf")} | {frac, 2.0})
    ahead = [ztime.deadline(entered, amount * m, clock) for m in marks if m > share]
    if now <= deadline:
        ahead.append(deadline + timedelta(microseconds=1))
    return min(ahead) if ahead else None


# --- words for people: node labels, clocks, limits (as the web console shows them) --------------------

NODE_LABELS: dict[str, str] = {
    Node.REPORTED: "待受理",
    Node.ACCEPTED: "待立案",
    Node.REJECTED: "不予受理/立案",
    Node.REGISTERED: "待派遣",
    Node.DISPATCHED: "待签收",
    Node.SIGNED: "处置中",
    Node.PARKED: "挂账",
    Node.HANDLED: "待核查",
    Node.VERIFIED: "待结案",
    Node.CLOSED: "已结案",
    Node.EVALUATED: "已评价",
    Node.MERGED: "已合并",
}
"""The Chinese label of each node, the same as the web console's (web/messages/zh-CN/common.yaml
``node``)."""

CLOCK_LABELS: dict[str, str] = {
    ztime.ClockType.continuous: "全天连续计时",
    ztime.ClockType.working_hours: "工作时间",
    ztime.ClockType.working_days: "工作日",
    ztime.ClockType.natural_days: "自然日",
}
"""The Chinese name of each clock type (计时类型, core.time.ClockType)."""


def _num(x: float) -> str:
    return f"{round(x, 2):g}"


def limit_text(amount: float, clock: str) -> str:
    """A time limit in words: ``0.05 continuous`` → "3 分钟，全天连续计时", ``2 working_hours`` →
    "2 小时，工作时间", ``0.5 working_hours`` → "30 分钟，工作时间", ``1 working_days`` → "1 个工作日",
    ``3 natural_days`` → "3 个自然日". ``amount``: hours on the hour clocks (under 1 h in minutes),
    days on the day clocks; an unknown clock is written as given."""
    if clock in (ztime.ClockType.continuous, ztime.ClockType.working_hours):
        n = f"{_num(amount * 60)} 分钟" if amount < 1 else f"{_num(amount)} 小时"
        return f"{n}，{CLOCK_LABELS[clock]}"
    if clock in (ztime.ClockType.working_days, ztime.ClockType.natural_days):
        return f"{_num(amount)} 个{CLOCK_LABELS[clock]}"
    return f"{_num(amount)} {clock}"


def overdue_reason(node: str, amount: float, clock: str, multiple: float = 1.0) -> str:
    """The reason of an automatic 超时督办 for people, e.g. "“待签收”环节超过时限（时限 3 分钟，全天连续
    计时）", or, at ``multiple`` ≥ 2 (the escalation), "“待签收”环节用时已达时限的 2 倍（…）".
    ``node``: the node's value; ``amount``/``clock``: the limit running there (:func:`limit_text`)."""
    label = NODE_LABELS.get(node, node)
    if multiple > 1:
        return f"“{label}”环节用时已达时限的 {_num(multiple)} 倍（时限 {limit_text(amount, clock)}）"
    return f"“{label}”环节超过时限（时限 {limit_text(amount, clock)}）"
