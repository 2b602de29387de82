"""Writing households (户), houses (房屋) and units (单位): validation, dedup by key, scope, history
(the same rules as residents: service.write)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhizhi.core import time as ztime
from zhizhi.core.access import Actor
from zhizhi.core.errors import InvalidInput
from zhizhi.registry import identifiers, rules
from zhizhi.registry.models import House, Household, RegisterUnit, Resident
from zhizhi.registry.service import history as hist
from zhizhi.registry.service.write import (
    UpsertResult,
    _check_scope,
    _existing_scope,
    _Form,
    _location,
    _source,
    _valid_from,
    _write,
)

# --- households, houses, units ----------------------------------------------------------------------


def _simple_upsert(
    session: Session,
    actor: Actor,
    spec: hist.EntitySpec,
    entity: Any,
    make: Callable[[], Any],
    f: _Form,
    src: str,
    vf: date,
    ref: str | None,
    required: tuple[str, ...],
) -> UpsertResult:
    h = hist.load(session, spec, entity.id if entity else 0)
    f.apply_clear({"head_citizen_id": "head_id"})
    f.fit_grid(h)
    if entity is None:
        for name in required:
            if f.values.get(name) is None:
                f.error(name, f"required for a new {spec.kind}")
        f.values.setdefault("status", "active")
    f.check()
    _existing_scope(actor, h, f"this {spec.kind}")
    _check_scope(actor, {**h.latest(), **f.values}, f"the {spec.kind}'s location")
    created = entity is None
    if entity is None:
        entity = make()
        session.add(entity)
        session.flush()
        h.entity_id = entity.id
    result = UpsertResult(spec.kind, entity.id, created, warnings=f.warnings)
    return _write(session, actor, h, [(vf, dict(f.values))], src, ref, result)


def _status(allowed: dict[str, str]) -> Callable[[Any], str]:
    def parse(v: Any) -> str:
        s = str(v).strip()
        for code, label in allowed.items():
            if s in (code, label):
                return code
        raise ValueError(
            f"status: {s[:20]!r} is not one of {', '.join(f'{c} ({lb})' for c, lb in allowed.items())}"
        )

    return parse


def upsert_household(
    session: Session, actor: Actor, data: Mapping[str, Any], source: str, *,
    valid_from: date | None = None, ref: str | None = None,
) -> UpsertResult:  # fmt: skip
    """Create or update one household (户), deduplicated by ``number`` (户号). data: ``number``
    (required), ``head_citizen_id`` (an existing resident), ``kind`` (family 家庭户 / collective 集体户),
    ``address``, ``village_code``/``grid_code``, ``status`` (active 正常 / cancelled 注销), ``generated``,
    ``clear``. Members are residents pointing at the household. Same rules and errors as
    :func:`upsert_resident`."""
    src, vf = _source(source), _valid_from(valid_from)
    keys = {
        "number",
        "head_citizen_id",
        "kind",
        "address",
        "village_code",
        "grid_code",
        "status",
        "generated",
        "clear",
    }
    f = _Form("household", data, keys)
    number = identifiers.clean_identifier(data.get("number")) if f.given("number") else None
    if not number or len(number) > 32:
        f.error("number", "required: the household number (户号), at most 32 characters")
    head = f.identifier("head_citizen_id", "citizen-id")
    if head:
        head_id = session.scalar(select(Resident.id).where(Resident.citizen_id == head))
        if head_id is None:
            f.error("head_citizen_id", "no resident with this citizen ID: add the head first")
        f.values["head_id"] = head_id
    f.take("kind", lambda v: rules.parse_code(v, rules.codes().household_kind, "kind"))
    f.take("status", _status({"active": "正常", "cancelled": "注销"}))
    _location(session, f, actor)
    f.check()
    entity = session.scalar(select(Household).where(Household.number == number))
    return _simple_upsert(
        session, actor, hist.HOUSEHOLD, entity,
        lambda: Household(number=number, generated=bool(data.get("generated")), created_at=ztime.utcnow()),
        f, src, vf, ref, ("village_code",),
    )  # fmt: skip


def _lonlat(f: _Form) -> None:
    f.take("lon", lambda v: rules.parse_number(v, "lon", -180, 180))
    f.take("lat", lambda v: rules.parse_number(v, "lat", -90, 90))
    if ("lon" in f.values) != ("lat" in f.values):
        f.error("lon", "give both lon and lat (WGS-84 degrees) or neither")


def upsert_house(
    session: Session, actor: Actor, data: Mapping[str, Any], source: str, *,
    valid_from: date | None = None, ref: str | None = None,
) -> UpsertResult:  # fmt: skip
    """Create or update one house or building (房屋), deduplicated by ``code`` (房屋编码, letters, digits
    and ``-``). data: ``code`` (required), ``address``, ``village_code``/``grid_code``, ``use`` and
    ``structure`` (GB/T 17986.1 code or label), ``floors`` (0-200), ``lon``/``lat`` (WGS-84 degrees),
    ``status`` (active 在用 / demolished 已拆除), ``generated``, ``clear``."""
    src, vf = _source(source), _valid_from(valid_from)
    keys = {
        "code",
        "address",
        "village_code",
        "grid_code",
        "use",
        "structure",
        "floors",
        "lon",
        "lat",
        "status",
    }
    f = _Form("house", data, keys | {"generated", "clear"})
    code = identifiers.clean_identifier(data.get("code")).upper() if f.given("code") else ""
    if not code or len(code) > 40 or not all(c.isascii() and (c.isalnum() or c == "-") for c in code):
        f.error("code", "required: the house code (房屋编码), up to 40 letters, digits or '-'")
    f.take("use", lambda v: rules.parse_code(v, rules.codes().house_use, "use"))
    f.take("structure", lambda v: rules.parse_code(v, rules.codes().house_structure, "structure"))
    f.take("floors", lambda v: rules.parse_number(v, "floors", 0, 200, integer=True))
    f.take("status", _status({"active": "在用", "demolished": "已拆除"}))
    _lonlat(f)
    _location(session, f, actor)
    f.check()
    entity = session.scalar(select(House).where(House.code == code))
    return _simple_upsert(
        session, actor, hist.HOUSE, entity,
        lambda: House(code=code, generated=bool(data.get("generated")), created_at=ztime.utcnow()),
        f, src, vf, ref, ("village_code",),
    )  # fmt: skip


def upsert_unit(
    session: Session, actor: Actor, data: Mapping[str, Any], source: str, *,
    valid_from: date | None = None, ref: str | None = None,
) -> UpsertResult:  # fmt: skip
    """Create or update one enterprise or organisation (单位), deduplicated by ``uscc`` (统一社会信用代码,
    GB 32100) or, without one, ``org_code`` (组织机构代码, GB 11714; the one embedded in the USCC must
    agree). data also: ``name``, ``industry`` (GB/T 4754-2017), ``legal_rep`` (法定代表人), ``phone``,
    ``employees``, ``address``, ``village_code``/``grid_code``, ``lon``/``lat``, ``status`` (active 存续 /
    closed 注销), ``generated``, ``clear``."""
    src, vf = _source(source), _valid_from(valid_from)
    keys = {
        "uscc",
        "org_code",
        "name",
        "industry",
        "legal_rep",
        "phone",
        "employees",
        "address",
        "village_code",
    }
    f = _Form("unit", data, keys | {"grid_code", "lon", "lat", "status", "generated", "clear"})
    uscc = f.identifier("uscc", "uscc")
    org_code = f.identifier("org_code", "org-code")
    if uscc:
        in_uscc = identifiers.validate(uscc, "uscc").facts.get("org_code")
        embedded = identifiers.validate(in_uscc, "org-code").normalized  # the 9 characters, no hyphen
        if org_code and embedded != org_code:
            f.error("org_code", f"{org_code} differs from the code in the credit code ({embedded})")
        org_code = embedded
    if not uscc and not org_code and not f.errors:
        f.error("uscc", "required: a credit code, or an organisation code when the unit has none")
    f.take("name", lambda v: rules.clean_text(v, "name", 200))
    f.take("industry", rules.parse_industry)
    f.take("legal_rep", lambda v: rules.clean_text(v, "legal_rep", 64))
    if f.given("phone"):
        f.values["phone"] = f.identifier("phone", "phone")
    f.take("employees", lambda v: rules.parse_number(v, "employees", 0, 10_000_000, integer=True))
    f.take("status", _status({"active": "存续", "closed": "注销"}))
    _lonlat(f)
    _location(session, f, actor)
    f.check()
    entity = None
    if uscc:
        entity = session.scalar(select(RegisterUnit).where(RegisterUnit.uscc == uscc))
    if entity is None and org_code:
        entity = session.scalar(select(RegisterUnit).where(RegisterUnit.org_code == org_code).limit(1))
        if entity is not None and entity.uscc and uscc and entity.uscc != uscc:
            raise InvalidInput(f"unit: org_code {org_code} belongs to another credit code")
        if entity is not None and uscc and not entity.uscc:
            entity.uscc = uscc  # the unit got its credit code: same unit, better key
    return _simple_upsert(
        session, actor, hist.UNIT, entity,
        lambda: RegisterUnit(
            uscc=uscc, org_code=org_code, generated=bool(data.get("generated")), created_at=ztime.utcnow()
        ),
        f, src, vf, ref, ("name", "village_code"),
    )  # fmt: skip


__all__ = ["upsert_house", "upsert_household", "upsert_unit"]
