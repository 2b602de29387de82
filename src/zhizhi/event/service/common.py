"""Shared pieces of the event use cases: the catalogue, actors, node limits and entering a node."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from zhizhi.core import time as ztime
from zhizhi.core.access import Actor
from zhizhi.core.config import get_settings
from zhizhi.core.errors import FieldError, InvalidInput
from zhizhi.event import rules
from zhizhi.event.catalogue import Catalogue, CatalogueError, load_catalogue
from zhizhi.event.models import (
    Event,
)
from zhizhi.event.rules import Node
from zhizhi.org import service as org

SYSTEM = Actor(id=None, username="system", name="系统", role="system", unit_code="", district_code="")


def catalogue() -> Catalogue:
    """The shipped category catalogue (validated once, cached)."""
    return load_catalogue()


def system_actor(district6: str) -> Actor:
    """The platform itself acting in ``district6`` (sweeps, imports, replays)."""
    return Actor(
        id=None,
        username="system",
        name="系统",
        role="system",
        unit_code=f"{district6}-{org.CENTER_SUFFIX}",
        district_code=district6,
    )


def _limit(category: str, node: Node, urgency: str | None = None) -> tuple[float, str] | None:
    key = rules.LIMIT_OF_NODE.get(node)
    if key is None:
        return None
    amount, clock = catalogue().limit(category, key, urgency)
    return float(amount), str(clock)


def _fmt_limit(lim: tuple[float, str] | None) -> str | None:
    return None if lim is None else f"{lim[0]:g} {lim[1]}"


def _parse_limit(s: str | None) -> tuple[float, str] | None:
    if not s:
        return None
    a, c = s.split(" ", 1)
    return float(a), c


def _enter(ev: Event, node: Node, at: datetime) -> None:
    ev.node = node.value
    ev.node_seq = (ev.node_seq or 0) + 1
    ev.node_entered_at = at
    open_ = node in rules.OPEN_NODES and node != Node.PARKED
    lim = _limit(ev.category_code, node, ev.urgency) if open_ else None  # the event's urgency (紧急程度)
    ev.node_limit = _fmt_limit(lim)
    ev.node_deadline = ztime.deadline(at, lim[0], lim[1]) if lim else None
    ev.due_soon = False
    ev.overdue = False
    ev.next_check_at = (
        rules.next_check(at, ev.node_deadline, at, lim[0], lim[1], 0.0, get_settings().due_soon_fraction)
        if lim and ev.node_deadline
        else None
    )
    ev.colour = "green"


def district_center(ev: Event) -> str:
    """The code of the district center (区城运中心) of ``ev``'s district."""
    return f"{ev.district_code}-{org.CENTER_SUFFIX}"


def held_by_district(ev: Event) -> bool:
    """Whether ``ev`` waits for 派遣 by the district center because a town center passed it up
    (上报区级, ``escalate``) or because it came back (回退) after such an escalation: node ``registered``
    with ``unit_code`` the district center. Only holders of ``event.any_unit`` dispatch it then."""
    return ev.node == Node.REGISTERED.value and ev.unit_code == district_center(ev)


def validate_category(code: str, field: str = "category_code") -> Any:
    """The catalogue leaf ``code``; raises InvalidInput naming the field for unknown or non-leaf codes."""
    cat = catalogue()
    try:
        return cat.leaf(code)
    except CatalogueError as e:
        why = str(e)
        if code in cat.groups:
            why = f'"{code}" is a 大类 ({cat.groups[code].name}); give one of its 小类 (4 digits): '
            why += ", ".join(cat.groups[code].leaf_codes)
        raise InvalidInput(why, [FieldError(field, why)]) from None
