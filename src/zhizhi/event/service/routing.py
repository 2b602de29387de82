"""Ownership configuration (权属配置): which unit an event goes to."""

from __future__ import annotations

import time
from collections.abc import Sequence

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from zhizhi.core.access import Actor, has_permission
from zhizhi.core.errors import FieldError, InvalidInput, NotFound
from zhizhi.event.models import (
    Event,
    RoutingRule,
)
from zhizhi.event.service.common import catalogue
from zhizhi.org import service as org
from zhizhi.org.models import OrgUnit

# --- routing ---------------------------------------------------------------------------------------


TOWN_LEVELS = frozenset({"center", "board", "post", "grid"})
DISPATCHABLE = frozenset({"department"}) | TOWN_LEVELS


def unit_in_town(unit_code: str, town12: str) -> bool:
    """Whether ``unit_code`` is a unit of town ``town12``: its center, boards and posts
    (``<town>-…``) or one of its villages/grids (NBS codes share the first 9 digits)."""
    return unit_code.startswith(town12 + "-") or (unit_code.isdigit() and unit_code[:9] == town12[:9])


UNIT_ACTIONS = frozenset({"sign", "return", "handle", "park", "request_extension"})
"""Moves (签收, 回退, 处置反馈, 挂账, 延期申请) only the unit the event is dispatched to may make, or one
acting for it (:func:`in_unit_scope`): checked by service.loop.transition, applied to the page's
buttons by service.read.detail."""


def in_unit_scope(actor: Actor, ev: Event) -> bool:
    """Whether ``actor`` may act for the unit the event is assigned to (派遣 target).

    Holders of ``event.any_unit`` (the district center) always may; a town dispatcher (``event.dispatch``
    with a town) for units of their own town (its center, boards, posts, villages and grids); everyone
    else for their own unit and the units under it (a board and its posts). An event not yet
    dispatched is assigned to nobody.
    """
    if has_permission(actor, "event.any_unit"):
        return True
    u = ev.unit_code
    if not u or ev.dispatch_count == 0:
        return False
    if actor.town_code and has_permission(actor, "event.dispatch"):
        return unit_in_town(u, actor.town_code)
    return u == actor.unit_code or u.startswith(actor.unit_code + "-")


def check_dispatch_target(unit: OrgUnit, town_code: str | None) -> None:
    """Refuse (InvalidInput) a unit events cannot be sent to: divisions (district/town/village nodes),
    the district center itself, or a town-level unit (town center, board, post, grid) of another town
    than the event's ``town_code``."""
    ok_level = unit.level == "department" or (unit.level in TOWN_LEVELS and unit.town_code is not None)
    if not ok_level:
        why = (
            f'unit "{unit.code}" ({unit.level}) cannot take events: dispatch to a department, a town center, '
        )
        why += "a board, a post or a grid"
        raise InvalidInput(why, [FieldError("unit_code", why)])
    if unit.level in TOWN_LEVELS and town_code is not None and unit.town_code != town_code:
        why = f'unit "{unit.code}" belongs to town {unit.town_code}, the event is in town {town_code}'
        raise InvalidInput(why, [FieldError("unit_code", why)])


def _unit_mode(unit: OrgUnit) -> str:
    return "horizontal" if unit.level == "department" else "vertical"


class Router:
    """Ownership configuration (权属配置) resolver for one district, built once from its rules.

    The most specific rule wins (grid > village > town > whole district; leaf > 大类 > any
    category; then priority), else the catalogue's default unit: a district department, or
    ``town`` → the town's center (纵向交办).
    """

    def __init__(self, district6: str, rules_: Sequence[RoutingRule]) -> None:
        self.district6 = district6
        self.rules = [(r.category_code, r.area_code, r.priority, r.unit_code, r.mode) for r in rules_]
        self.cat = catalogue()

    def route(
        self, category: str, town: str | None, village: str | None, grid: str | None
    ) -> tuple[str, str]:
        """``(unit_code, mode)`` for an event of ``category`` at the given area codes.

        Raises InvalidInput when no unit can be found (a 属地 category outside every town)."""
        area_rank = {grid: 4, village: 3, town: 2, None: 1}
        best: tuple[tuple[int, int, int], str, str] | None = None
        for cat, area, prio, unit, mode in self.rules:
            if area not in area_rank:
                continue
            if cat is None:
                crank = 1
            elif cat == category:
                crank = 3
            elif category.startswith(cat):
                crank = 2
            else:
                continue
            key = (area_rank[area], crank, prio)
            if best is None or key > best[0]:
                best = (key, unit, mode)
        if best is not None:
            return best[1], best[2]
        leaf = self.cat.leaf(category)
        if leaf.default_unit == "town":
            if not town:
                raise InvalidInput(
                    "no town for this location: give a unit_code to dispatch it",
                    [FieldError("unit_code", "required: no routing outside the towns")],
                )
            return f"{town}-{org.TOWN_CENTER_SUFFIX}", "vertical"
        return f"{self.district6}-{leaf.default_unit}", "horizontal"


_ROUTERS: dict[tuple[str, str], tuple[float, Router]] = {}
ROUTER_TTL_S = 30.0


def invalidate_routing() -> None:
    """Forget cached routers (called when rules change, and again when that change commits)."""
    _ROUTERS.clear()


def router_for(session: Session, district6: str) -> Router:
    """A :class:`Router` over the current rules of ``district6`` (cached for ``ROUTER_TTL_S`` seconds;
    a rule changed in this process takes effect at once, one changed by another process within that
    time)."""
    key = (str(session.get_bind().engine.url), district6)
    hit = _ROUTERS.get(key)
    now = time.monotonic()
    if hit is not None and now - hit[0] < ROUTER_TTL_S:
        return hit[1]
    r = Router(
        district6, session.scalars(select(RoutingRule).where(RoutingRule.district_code == district6)).all()
    )
    _ROUTERS[key] = (now, r)
    return r


def _on_rules_changed(session: Session) -> None:
    invalidate_routing()
    if not event.contains(session, "after_commit", _after_commit):
        event.listen(session, "after_commit", _after_commit, once=True)


def _after_commit(_session: Session) -> None:
    invalidate_routing()


def route(session: Session, ev: Event) -> tuple[str, str]:
    """Responsible unit and mode (horizontal 横向分拨 / vertical 纵向交办) for ``ev``; see :class:`Router`."""
    return router_for(session, ev.district_code).route(
        ev.category_code, ev.town_code, ev.village_code, ev.grid_code
    )


def add_routing_rule(
    session: Session,
    district6: str,
    category_code: str | None,
    area_code: str | None,
    unit_code: str,
    priority: int = 0,
    note: str = "",
) -> RoutingRule:
    """Add a 权属配置 rule; refuses unknown categories, areas and units by name (InvalidInput)."""
    errs = []
    if category_code:
        cat = catalogue()
        known = {leaf.code for leaf in cat.leaves()} | {leaf.code[:2] for leaf in cat.leaves()}
        if category_code not in known:
            errs.append(FieldError("category_code", f'unknown category "{category_code}"'))
    unit = session.scalar(select(OrgUnit).where(OrgUnit.code == unit_code))
    if unit is None or unit.district_code != district6:
        errs.append(FieldError("unit_code", f'unknown unit "{unit_code}" in district {district6}'))
    if (
        area_code
        and session.scalar(
            select(OrgUnit.id).where(
                OrgUnit.code == area_code,
                OrgUnit.district_code == district6,
                OrgUnit.level.in_(["town", "village", "grid"]),
            )
        )
        is None
    ):
        errs.append(
            FieldError("area_code", f'unknown town/village/grid "{area_code}" in district {district6}')
        )
    if unit is not None and unit.district_code == district6:
        area_town = None
        if area_code:
            area_town = session.scalar(select(OrgUnit.town_code).where(OrgUnit.code == area_code))
        try:
            check_dispatch_target(unit, area_town)
        except InvalidInput as e:
            errs.extend(e.errors)
    if errs:
        raise InvalidInput("; ".join(f"{e.field}: {e.reason}" for e in errs), errs)
    assert unit is not None
    r = RoutingRule(
        district_code=district6,
        category_code=category_code or None,
        area_code=area_code or None,
        unit_code=unit_code,
        mode=_unit_mode(unit),
        priority=priority,
        note=note,
    )
    session.add(r)
    session.flush()
    _on_rules_changed(session)
    return r


def delete_routing_rule(session: Session, district6: str, rule_id: int) -> None:
    """Delete a 权属配置 rule of ``district6``; NotFound if there is none with that id."""
    r = session.get(RoutingRule, rule_id)
    if r is None or r.district_code != district6:
        raise NotFound(f"routing rule {rule_id} not found")
    session.delete(r)
    session.flush()
    _on_rules_changed(session)
