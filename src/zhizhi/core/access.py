"""Who is acting (操作人) and which rows they may see (数据权限).

This is the one place that turns an actor into a data scope; services filter rows with it. Roles
decide *what* one may do (event/rules.py), the org subtree decides *which rows*:
网格员/网格长 → own grid; 镇街值班员/板块岗位 → own town; 部门处置人 → events sent to the department;
城运中心/领导/system → the district.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from zhizhi.core.errors import Forbidden


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
    grants: frozenset[str] = field(default_factory=frozenset)
    """Confidential category codes (保密类事件) granted to this user in person (``zhizhi user grant``)."""
    scopes: frozenset[str] | None = None
    """When acting through an API token with scopes: the permissions (or ``prefix.*``) it is limited
    to; None for a browser session or a token without scopes (the role's permissions apply)."""


@dataclass(frozen=True)
class Scope:
    """A data scope: ``kind`` is district | town | grid | unit; ``code`` the code it is bound to."""

    kind: str
    code: str


# --- the permission table (角色权限表) ---------------------------------------------------------------

SCOPE_KINDS = ("district", "town", "grid", "unit")


@dataclass(frozen=True)
class RoleSpec:
    """One role of the permission table: its zh-CN label, data-scope kind and permissions."""

    name: str
    label: str
    scope: str
    permissions: frozenset[str]


@dataclass(frozen=True)
class PermissionTable:
    """The role × permission table (``core/data/permissions.yaml``): ``permissions`` maps each
    permission name to its zh-CN label, ``roles`` each role name to its :class:`RoleSpec`."""

    permissions: dict[str, str]
    roles: dict[str, RoleSpec]

    def allows(self, role: str, permission: str) -> bool:
        """Whether ``role`` holds ``permission`` (False for an unknown role)."""
        spec = self.roles.get(role)
        return spec is not None and permission in spec.permissions

    def roles_with(self, permission: str) -> frozenset[str]:
        """The roles holding ``permission``. Raises KeyError for a permission not in the table."""
        if permission not in self.permissions:
            raise KeyError(f'unknown permission "{permission}"')
        return frozenset(r for r, spec in self.roles.items() if permission in spec.permissions)


def parse_permission_table(raw: Any, source: str = "permissions.yaml") -> PermissionTable:
    """Check and build the permission table from its parsed YAML.

    ``raw``: ``{"permissions": {name: label}, "roles": {role: {"label", "scope", "permissions"}}}``;
    ``"*"`` in a role's permissions means every permission; a nested list (a YAML anchor of a group
    such as ``*handle``) is flattened. Raises ValueError naming ``source`` and
    the key for: a missing section, a permission without a label, a role without a label, a scope
    that is not one of :data:`SCOPE_KINDS`, or a role listing an unknown permission."""
    if not isinstance(raw, dict) or not isinstance(raw.get("permissions"), dict):
        raise ValueError(f"{source}: needs a 'permissions' mapping of name → label")
    if not isinstance(raw.get("roles"), dict) or not raw["roles"]:
        raise ValueError(f"{source}: needs a 'roles' mapping")
    perms: dict[str, str] = {}
    for name, label in raw["permissions"].items():
        if not isinstance(label, str) or not label.strip():
            raise ValueError(f"{source}: permissions.{name}: needs a zh-CN label")
        perms[str(name)] = label
    roles: dict[str, RoleSpec] = {}
    for name, spec in raw["roles"].items():
        where = f"{source}: roles.{name}"
        if not isinstance(spec, dict):
            raise ValueError(f"{where}: needs label, scope and permissions")
        if not isinstance(spec.get("label"), str) or not spec["label"].strip():
            raise ValueError(f"{where}.label: missing")
        if spec.get("scope") not in SCOPE_KINDS:
            raise ValueError(f"{where}.scope: {spec.get('scope')!r} is not one of {', '.join(SCOPE_KINDS)}")
        listed = spec.get("permissions")
        if not isinstance(listed, list):
            raise ValueError(f"{where}.permissions: needs a list")
        held: set[str] = set()
        # a YAML anchor of a group (``*handle``) arrives as a nested list: flatten one level
        flat = [q for p in listed for q in (p if isinstance(p, list) else [p])]
        for p in flat:
            if not isinstance(p, str):
                raise ValueError(f"{where}.permissions: {p!r} is not a permission name")
            if p == "*":
                held |= set(perms)
            elif p not in perms:
                raise ValueError(f'{where}.permissions: unknown permission "{p}"')
            else:
                held.add(p)
        roles[str(name)] = RoleSpec(str(name), spec["label"], spec["scope"], frozenset(held))
    return PermissionTable(perms, roles)


def load_permission_table(path: Path | None = None) -> PermissionTable:
    """Read and check a permission table file (default: the packaged ``core/data/permissions.yaml``).
    Raises ValueError (see :func:`parse_permission_table`) or OSError for an unreadable file."""
    if path is None:
        text = resources.files("zhizhi.core").joinpath("data/permissions.yaml").read_text("utf-8")
        source = "core/data/permissions.yaml"
    else:
        text, source = path.read_text("utf-8"), str(path)
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ValueError(f"{source}: not valid YAML: {e}") from None
    return parse_permission_table(raw, source)


@cache
def permission_table() -> PermissionTable:
    """The packaged permission table, read once (checked at application start-up)."""
    return load_permission_table()


def _scope_allows(scopes: frozenset[str] | None, permission: str) -> bool:
    if scopes is None:
        return True
    prefix = permission.split(".", 1)[0]
    return "*" in scopes or permission in scopes or f"{prefix}.*" in scopes


def has_permission(actor: Actor, permission: str) -> bool:
    """Whether ``actor`` may use ``permission``: its role holds it (permission table) and, acting
    through a token with scopes, the token's scopes include it (``name``, ``prefix.*`` or ``*``)."""
    return permission_table().allows(actor.role, permission) and _scope_allows(actor.scopes, permission)


def require(actor: Actor, permission: str) -> None:
    """Raise :class:`Forbidden` (403) unless ``actor`` has ``permission``. The message names the role
    (or the token scope) and the permission, never a row: a refusal by role leaks nothing."""
    if not permission_table().allows(actor.role, permission):
        label = permission_table().permissions.get(permission, permission)
        raise Forbidden(f'role "{actor.role}" may not {label} ({permission})')
    if not _scope_allows(actor.scopes, permission):
        raise Forbidden(f'this API token\'s scopes do not include "{permission}"')


def scope_of(actor: Actor) -> Scope:
    """The data scope of ``actor``: the scope kind of its role in the permission table, bound to the
    actor's district, town or own unit (grid or department). Raises ValueError for a role not in the
    table or a town-scoped actor not attached to a town."""
    spec = permission_table().roles.get(actor.role)
    if spec is None:
        raise ValueError(f'role "{actor.role}" has no data scope')
    if spec.scope == "district":
        return Scope("district", actor.district_code)
    if spec.scope == "town":
        if not actor.town_code:
            raise ValueError(f'{actor.role} "{actor.username}" is not attached to a town')
        return Scope("town", actor.town_code)
    return Scope(spec.scope, actor.unit_code)


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


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID = re.compile(r"(?<![0-9A-Za-z])([0-9]{17}[0-9Xx])(?![0-9A-Za-z])")
# a 15-digit legacy ID (pre-1999) only where the text says it is one: bare 15-digit numbers are
# mostly codes (a grid code is 12 + 3 digits)
_ID15 = re.compile(r"(?:身份证|证件|公民身份)[^0-9]{0,8}([0-9]{15})(?![0-9A-Za-z])")
_SEP = r"[ \-.]?"
_MOBILE = re.compile(
    rf"(?<![0-9])(?:(?:\+|00)?86{_SEP})?1[3-9][0-9]{_SEP}([0-9]{{4}}){_SEP}[0-9]{{4}}(?![0-9])"
)
_LANDLINE = re.compile(rf"(?<![0-9])0[0-9]{{2,3}}{_SEP}([0-9]{{3,4}}){_SEP}[0-9]{{4}}(?![0-9])")
# full-width digits, X and separators typed by Chinese input methods fold to ASCII, one for one
_FOLD = str.maketrans(
    {
        **{chr(0xFF10 + i): str(i) for i in range(10)},
        "Ｘ": "X",
        "ｘ": "x",
        "－": "-",
        "．": ".",
        "＋": "+",
        "\u3000": " ",
    }
)


def citizen_id_checks(text: str) -> bool:
    """Whether an 18-character citizen ID (公民身份号码) has the right ISO 7064 MOD 11-2 check
    character, or a 15-digit legacy ID a real YYMMDD birth date (GB 11643-1999 §5, §8.2)."""
    if len(text) == 18:
        total = sum(int(c) * w for c, w in zip(text[:17], _ID_WEIGHTS, strict=True))
        return _ID_CHECK[total % 11] == text[17].upper()
    mm, dd = int(text[8:10]), int(text[10:12])
    return len(text) == 15 and 1 <= mm <= 12 and 1 <= dd <= 31


def mask_text(text: str | None) -> str | None:
    """``text`` with every citizen ID (valid check character), mainland mobile number and landline
    number in it masked, full-width digits included: an ID keeps its first 6 and last 4 characters
    (``500118********123X``), a mobile number its first 3 and last 4 digits (``138****5678``,
    ``138-****-5678``), a landline its area code and last 4 digits (``023-****5678``). The text keeps
    its length and everything else. Used on free text (titles, descriptions, comments) in every
    response, export and log line."""
    if not text:
        return text
    folded = list(text.translate(_FOLD))
    out = list(text)

    def star(start: int, end: int) -> None:
        for i in range(start, end):
            folded[i] = out[i] = "*"

    for pattern in (_ID, _ID15):
        for m in pattern.finditer("".join(folded)):
            if citizen_id_checks(m.group(1)):
                star(m.start(1) + 6, m.end(1) - 4)
    for pattern in (_MOBILE, _LANDLINE):
        for m in pattern.finditer("".join(folded)):
            star(m.start(1), m.end(1))
    return "".join(out)


def can_full_view(actor: Actor | None) -> bool:
    """Whether ``actor`` may see personal fields unmasked in ordinary responses. Nobody may: lists,
    details and exports always mask; an unmasked view is a separate, audited request with a stated
    reason (:func:`may_request_full_view`)."""
    return False


def may_request_full_view(actor: Actor) -> bool:
    """Whether ``actor`` holds ``personal.full_view`` (查看完整个人信息) in the permission table."""
    return has_permission(actor, "personal.full_view")


class MaskingFilter(logging.Filter):
    """A logging filter that masks citizen IDs and phone numbers (:func:`mask_text`) in every record
    it sees, e.g. a search string in an access-log line (``GET /api/v1/events?q=138…``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


LOGGERS = ("zhizhi", "uvicorn.access", "uvicorn.error", "sqlalchemy.engine", "alembic")
"""The loggers whose records :func:`install_log_masking` filters."""


def install_log_masking() -> None:
    """Attach one :class:`MaskingFilter` to each of :data:`LOGGERS` (idempotent)."""
    for name in LOGGERS:
        lg = logging.getLogger(name)
        if not any(isinstance(f, MaskingFilter) for f in lg.filters):
            lg.addFilter(MaskingFilter())
