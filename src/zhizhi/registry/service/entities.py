"""Writing households (户), houses (房屋) and units (单位): validation, dedup by key, permission and
scope, history (the same rules as residents: service.write).

Each register has a ``draft_*`` step (the record checked on its own, see service.write) and the common
:func:`apply_simple` step (against the stored entity: its scope first, then required fields, then the
resulting location), so that the per-row upserts here and the bulk path (service.bulk) share them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhizhi.core import time as ztime
from zhizhi.core.access import Actor, require
from zhizhi.core.errors import InvalidInput
from zhizhi.registry import identifiers, rules
from zhizhi.registry.models import House, Household, RegisterUnit
from zhizhi.registry.service import history as hist
from zhizhi.registry.service.batch import Batch
from zhizhi.registry.service.check import (
    Form,
    Lookups,
    check_location,
    check_scope,
    hidden_history,
    in_scope,
    parse_source,
    parse_valid_from,
    refuse,
)
from zhizhi.registry.service.write import Pending, UpsertResult, record_parts

# --- the common step ---------------------------------------------------------------------------------


@dataclass
class Draft:
    """A household, house or unit record checked on its own: the register (``spec``), the form with
    its parsed values, the natural ``key`` that deduplicates it, the identity row of a new entity,
    the fields a new entity needs, and for units the organisation code (a unit without credit code
    is found by it)."""

    spec: hist.EntitySpec
    form: Form
    key: str
    identity: dict[str, Any]
    required: tuple[str, ...]
    org_code: str | None = None


def apply_simple(
    batch: Batch,
    actor: Actor,
    d: Draft,
    entity_id: int | None,
    source: str,
    valid_from: date,
    ref: str | None,
) -> Pending:
    """Check a drafted record against the stored entity (``entity_id``: loaded in ``batch``, or None)
    and record it in ``batch``: a new entity's required fields, then the resulting location's scope.
    A stored entity outside the actor's write scope is judged as a new one and then refused, as for
    residents (service.check.hidden_history). Raises Forbidden or InvalidInput before recording."""
    spec, f = d.spec, d.form
    h = batch.history(entity_id) if entity_id else hist.EntityHistory(spec, 0)
    hidden = hidden_history(actor, h)
    if hidden:
        h, entity_id = hist.EntityHistory(spec, 0), None
    f.apply_clear({"head_citizen_id": "head_id"})
    f.fit_grid(h)
    if entity_id is None:
        for name in d.required:
            if f.values.get(name) is None:
                f.error(name, f"required for a new {spec.kind}")
        f.values.setdefault("status", "active")
    f.check()
    check_scope(actor, {**h.latest(), **f.values})
    if hidden:
        refuse(actor)
    created = entity_id is None
    if created:
        h = batch.create({**d.identity, "created_at": batch.now})
    result = UpsertResult(spec.kind, h.entity_id, created, warnings=f.warnings)
    return record_parts(batch, h, [(valid_from, dict(f.values))], source, ref, result)


def _upsert_one(
    session: Session, actor: Actor, d: Draft, entity_id: int | None, src: str, vf: date, ref: str | None
) -> UpsertResult:
    batch = Batch(session, d.spec, actor, ztime.utcnow())
    if entity_id is not None:
        batch.load([entity_id])
    pending = apply_simple(batch, actor, d, entity_id, src, vf, ref)
    batch.flush()
    return pending.finish(batch)


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


# --- households (户) ------------------------------------------------------------------------------------

_HOUSEHOLD_KEYS = {
    "number", "head_citizen_id", "kind", "address", "village_code", "grid_code", "status", "generated",
    "clear",
}  # fmt: skip


def draft_household(lookups: Lookups, actor: Actor, data: Mapping[str, Any]) -> Draft:
    """Check one household record on its own (the head must be a resident inside the write scope).
    Raises InvalidInput."""
    f = Form("household", data, _HOUSEHOLD_KEYS)
    number = identifiers.clean_identifier(data.get("number")) if f.given("number") else None
    if not number or len(number) > 32:
        f.error("number", "required: the household number (户号), at most 32 characters")
    head = f.identifier("head_citizen_id", "citizen-id", plain=lookups.plain("citizen-id"))
    if head:
        head_id = lookups.resident_id(head)
        if head_id is None:
            f.error("head_citizen_id", "no resident with this citizen ID: add the head first")
        f.values["head_id"] = head_id
    f.take("kind", lambda v: lookups.code(v, rules.codes().household_kind, "kind"))
    f.take("status", _status({"active": "正常", "cancelled": "注销"}))
    check_location(lookups, f, actor)
    f.check()
    assert number is not None
    identity = {"number": number, "generated": bool(data.get("generated"))}
    return Draft(hist.HOUSEHOLD, f, number, identity, ("village_code",))


def upsert_household(
    session: Session, actor: Actor, data: Mapping[str, Any], source: str, *,
    valid_from: date | None = None, ref: str | None = None,
) -> UpsertResult:  # fmt: skip
    """Create or update one household (户), deduplicated by ``number`` (户号). data: ``number``
    (required), ``head_citizen_id`` (a resident inside the actor's write scope), ``kind`` (family
    家庭户 / collective 集体户), ``address``, ``village_code``/``grid_code``, ``status`` (active 正常 /
    cancelled 注销), ``generated``, ``clear``. Members are residents pointing at the household. Same
    rules and errors as :func:`~zhizhi.registry.service.write.upsert_resident` (needs
    ``registry.write``)."""
    require(actor, "registry.write")
    src, vf = parse_source(source), parse_valid_from(valid_from)
    d = draft_household(Lookups(session, actor), actor, data)
    eid = session.scalar(select(Household.id).where(Household.number == d.key))
    return _upsert_one(session, actor, d, eid, src, vf, ref)


# --- houses (房屋) ---------------------------------------------------------------------------------------

_HOUSE_KEYS = {
    "code", "address", "village_code", "grid_code", "use", "structure", "floors", "lon", "lat", "status",
    "generated", "clear",
}  # fmt: skip


def _lonlat(f: Form) -> None:
    f.take("lon", lambda v: rules.parse_number(v, "lon", -180, 180))
    f.take("lat", lambda v: rules.parse_number(v, "lat", -90, 90))
    if ("lon" in f.values) != ("lat" in f.values):
        f.error("lon", "give both lon and lat (WGS-84 degrees) or neither")


def draft_house(lookups: Lookups, actor: Actor, data: Mapping[str, Any]) -> Draft:
    """Check one house record on its own. Raises InvalidInput."""
    f = Form("house", data, _HOUSE_KEYS)
    code = identifiers.clean_identifier(data.get("code")).upper() if f.given("code") else ""
    if not code or len(code) > 40 or not all(c.isascii() and (c.isalnum() or c == "-") for c in code):
        f.error("code", "required: the house code (房屋编码), up to 40 letters, digits or '-'")
    f.take("use", lambda v: lookups.code(v, rules.codes().house_use, "use"))
    f.take("structure", lambda v: lookups.code(v, rules.codes().house_structure, "structure"))
    f.take("floors", lambda v: rules.parse_number(v, "floors", 0, 200, integer=True))
    f.take("status", _status({"active": "在用", "demolished": "已拆除"}))
    _lonlat(f)
    check_location(lookups, f, actor)
    f.check()
    identity = {"code": code, "generated": bool(data.get("generated"))}
    return Draft(hist.HOUSE, f, code, identity, ("village_code",))


def upsert_house(
    session: Session, actor: Actor, data: Mapping[str, Any], source: str, *,
    valid_from: date | None = None, ref: str | None = None,
) -> UpsertResult:  # fmt: skip
    """Create or update one house or building (房屋), deduplicated by ``code`` (房屋编码, letters, digits
    and ``-``). data: ``code`` (required), ``address``, ``village_code``/``grid_code``, ``use`` and
    ``structure`` (GB/T 17986.1 code or label), ``floors`` (0-200), ``lon``/``lat`` (WGS-84 degrees),
    ``status`` (active 在用 / demolished 已拆除), ``generated``, ``clear``. Needs ``registry.write``."""
    require(actor, "registry.write")
    src, vf = parse_source(source), parse_valid_from(valid_from)
    d = draft_house(Lookups(session, actor), actor, data)
    eid = session.scalar(select(House.id).where(House.code == d.key))
    return _upsert_one(session, actor, d, eid, src, vf, ref)


# --- units (单位) ----------------------------------------------------------------------------------------

_UNIT_KEYS = {
    "uscc", "org_code", "name", "industry", "legal_rep", "phone", "employees", "address", "village_code",
    "grid_code", "lon", "lat", "status", "generated", "clear",
}  # fmt: skip


def draft_unit(lookups: Lookups, actor: Actor, data: Mapping[str, Any]) -> Draft:
    """Check one unit record on its own: credit code and organisation code agree. Raises
    InvalidInput. The draft's ``key`` is the credit code, or ``org:<organisation code>`` without one."""
    f = Form("unit", data, _UNIT_KEYS)
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
    check_location(lookups, f, actor)
    f.check()
    identity = {"uscc": uscc, "org_code": org_code, "generated": bool(data.get("generated"))}
    return Draft(hist.UNIT, f, uscc or f"org:{org_code}", identity, ("name", "village_code"), org_code)


def find_unit(session: Session, d: Draft) -> tuple[RegisterUnit | None, str | None]:
    """The stored unit a drafted record is about: by credit code, else by organisation code; and the
    reason it cannot be updated from this record (an organisation code that belongs to another
    credit code), or None."""
    uscc = d.identity["uscc"]
    entity = session.scalar(select(RegisterUnit).where(RegisterUnit.uscc == uscc)) if uscc else None
    if entity is None and d.org_code:
        entity = session.scalar(select(RegisterUnit).where(RegisterUnit.org_code == d.org_code).limit(1))
        if entity is not None and entity.uscc and uscc and entity.uscc != uscc:
            return entity, f"unit: org_code {d.org_code} belongs to another credit code"
    return entity, None


def upsert_unit(
    session: Session, actor: Actor, data: Mapping[str, Any], source: str, *,
    valid_from: date | None = None, ref: str | None = None,
) -> UpsertResult:  # fmt: skip
    """Create or update one enterprise or organisation (单位), deduplicated by ``uscc`` (统一社会信用代码,
    GB 32100) or, without one, ``org_code`` (组织机构代码, GB 11714; the one embedded in the USCC must
    agree). data also: ``name``, ``industry`` (GB/T 4754-2017), ``legal_rep`` (法定代表人), ``phone``,
    ``employees``, ``address``, ``village_code``/``grid_code``, ``lon``/``lat``, ``status`` (active 存续 /
    closed 注销), ``generated``, ``clear``. Needs ``registry.write``."""
    require(actor, "registry.write")
    src, vf = parse_source(source), parse_valid_from(valid_from)
    d = draft_unit(Lookups(session, actor), actor, data)
    entity, refusal = find_unit(session, d)
    visible = entity is None or in_scope(actor, hist.load(session, hist.UNIT, entity.id).latest())
    if refusal and visible:
        raise InvalidInput(refusal)
    if entity is not None and visible and d.identity["uscc"] and not entity.uscc:
        entity.uscc = d.identity["uscc"]  # the unit got its credit code: same unit, better key
    return _upsert_one(session, actor, d, entity.id if entity else None, src, vf, ref)


__all__ = [
    "Draft", "apply_simple", "draft_house", "draft_household", "draft_unit", "find_unit", "upsert_house",
    "upsert_household", "upsert_unit",
]  # fmt: skip
