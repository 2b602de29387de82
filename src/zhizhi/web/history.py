"""The state of events at a past instant (历史时点状态), for the big screen's ``as_of`` replay of a day.

An event row holds only its *current* node, colour and overdue flag; the big screen shown for a past
day needs them as they were at the end of that day. They are rebuilt from the timeline (流转记录,
``event_step``): the node in force at ``T`` is the ``to_node`` of the last step at or before ``T``;
it was entered at the last step before ``T`` that changed the node; its time limit is the one
recorded on the step that later left that node (each step stores the limit of the node it leaves),
or the event's current ``node_limit`` when the event is still in that node. The time used at ``T``
on the limit's clock gives the 五色 colour (:func:`zhizhi.event.rules.colour`) and 超期 (used >
limit).

Limits: an extension (延期) granted before ``T`` is not taken into account (the step keeps the limit
in force when the node was left, which includes it); events without a timeline (bulk-loaded rows)
take their current node when they entered it before ``T``, else 待受理 without a limit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhizhi.core import time as ztime
from zhizhi.event import rules as event_rules
from zhizhi.event.models import EventStep

OPEN = frozenset(n.value for n in event_rules.OPEN_NODES)
CHUNK = 900  # ids per IN (...) list: below SQLite's parameter limit


@dataclass(frozen=True)
class Known:
    """What the event row says now: ``id``, current ``node``, when it ``entered`` it and its
    ``limit`` (``"<amount> <clock>"`` or None), and when it was ``reported``."""

    id: int
    node: str
    entered: datetime
    limit: str | None
    reported: datetime


@dataclass(frozen=True)
class StateAt:
    """An event at the instant asked: its ``node``, 五色 ``colour`` and whether it was ``overdue``
    (open, past its node's limit)."""

    node: str
    colour: str
    overdue: bool

    @property
    def open(self) -> bool:
        """Whether the event was in an open node (在办) then."""
        return self.node in OPEN


def parse_limit(text: str | None) -> tuple[float, ztime.ClockType] | None:
    """A stored time limit ``"0.5 working_hours"`` as ``(0.5, ClockType.working_hours)``; None for
    none or a text that is not one (an unknown clock), so a bad row never breaks the screen."""
    if not text:
        return None
    parts = text.split()
    if len(parts) != 2:
        return None
    try:
        return float(parts[0]), ztime.ClockType(parts[1])
    except ValueError:
        return None


def _judge(node: str, entered: datetime, limit: str | None, at: datetime) -> StateAt:
    parsed = parse_limit(limit) if node in OPEN else None
    if parsed is None or parsed[0] <= 0:
        return StateAt(node, "green", False)
    amount, clock = parsed
    used = ztime.elapsed(entered, at, clock) if at > entered else 0.0
    return StateAt(node, event_rules.colour(used, amount), used > amount)


def states_at(session: Session, events: Iterable[Known], at: datetime) -> dict[int, StateAt]:
    """The node, colour and overdue flag of each of ``events`` at instant ``at`` (aware), rebuilt
    from their timelines as the module docstring says. Returns ``{event id: StateAt}``."""
    known = {e.id: e for e in events}
    steps: dict[int, list[tuple[datetime, str | None, str, str | None]]] = defaultdict(list)
    ids = sorted(known)
    for i in range(0, len(ids), CHUNK):
        q = (
            select(EventStep.event_id, EventStep.at, EventStep.from_node, EventStep.to_node, EventStep.limit)
            .where(EventStep.event_id.in_(ids[i : i + CHUNK]))
            .order_by(EventStep.event_id, EventStep.id)
        )
        for eid, t, frm, to, lim in session.execute(q):
            steps[eid].append((t, frm, to, lim))
    out: dict[int, StateAt] = {}
    for eid, ev in known.items():
        rows = steps.get(eid)
        if not rows:  # no timeline (bulk-loaded): the current node if it was entered by then
            if ev.entered <= at:
                out[eid] = _judge(ev.node, ev.entered, ev.limit, at)
            else:
                out[eid] = _judge(event_rules.Node.REPORTED.value, ev.reported, None, at)
            continue
        before = [r for r in rows if r[0] <= at]
        if not before:
            out[eid] = _judge(event_rules.Node.REPORTED.value, ev.reported, None, at)
            continue
        node = before[-1][2]
        entered = next((t for t, frm, to, _ in reversed(before) if frm != to), ev.reported)
        leaving = next((lim for t, frm, to, lim in rows if t > at and frm == node and to != node), None)
        if leaving is None and not any(t > at and frm != to for t, frm, to, _ in rows):
            leaving = ev.limit if ev.node == node else None
        out[eid] = _judge(node, entered, leaving, at)
    return out


__all__ = ["OPEN", "Known", "StateAt", "parse_limit", "states_at"]
