"""Who is acting (操作人) and which rows they may see (数据权限).

This is the one place that turns an actor into a data scope; services filter rows with it. Roles
decide *what* one may do (event/rules.py), the org subtree decides *which rows*:
网格员/网格长 → own grid; 镇街值班员/板块岗位 → own town; 部门处置人 → events sent to the department;
城运中心/领导/system → the district.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """The person (or the platform) making a request. Codes are org-unit codes."""

    id: int | None
    username: str
    name: str
    role: str
    unit_code: str
    district_code: str
    town_code: str | None = None


@dataclass(frozen=True)
class Scope:
    """A data scope: ``kind`` is district | town | grid | unit; ``code`` the code it is bound to."""

    kind: str
    code: str


def scope_of(actor: Actor) -> Scope:
    """The data scope of ``actor`` (see module docstring). Raises ValueError for a role with no scope."""
    if actor.role in {"center_duty", "center_chief", "leader", "system", "admin"}:
        return Scope("district", actor.district_code)
    if actor.role in {"town_duty", "board_staff"}:
        if not actor.town_code:
            raise ValueError(f'{actor.role} "{actor.username}" is not attached to a town')
        return Scope("town", actor.town_code)
    if actor.role in {"grid_worker", "grid_leader"}:
        return Scope("grid", actor.unit_code)
    if actor.role == "dept_handler":
        return Scope("unit", actor.unit_code)
    raise ValueError(f'role "{actor.role}" has no data scope')


def mask_phone(phone: str | None) -> str | None:
    """Mask a phone number keeping the first 3 and last 4 digits (``138****5678``); short numbers keep
    only their last 2 digits."""
    if not phone:
        return phone
    if len(phone) >= 11:
        return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
    return "*" * max(0, len(phone) - 2) + phone[-2:]


def mask_name(name: str | None) -> str | None:
    """Mask a person's name keeping the first character (``张**``); a one-character name becomes ``*``."""
    if not name:
        return name
    if len(name) == 1:
        return "*"
    return name[0] + "*" * (len(name) - 1)


FULL_VIEW_ROLES = frozenset({"center_chief", "system"})


def can_full_view(actor: Actor | None) -> bool:
    """Whether ``actor`` may see personal fields unmasked in ordinary responses. Nobody may: lists,
    details and exports always mask; an unmasked view is a separate, audited request with a stated
    reason (:func:`may_request_full_view`)."""
    return False


def may_request_full_view(actor: Actor) -> bool:
    """Whether ``actor``'s role holds ``personal.full_view`` (查看完整个人信息): today the district
    center's chief (值班长); the permission table as data comes with the rest of issue 3."""
    return actor.role in FULL_VIEW_ROLES
