"""Writing the registers (台账录入): validate one record, deduplicate it by its identifier, check the
actor's data scope, and record the change with its history and conflicts (service.history).

Input is a plain mapping, as an import row or an API body gives it. A key that is absent, None or ""
means "not supplied" (a blank spreadsheet cell never erases what another source said); to empty a
field, list it under ``clear``. Bad input raises :class:`InvalidInput` naming every bad field with its
reason; nothing is stored then.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhizhi.core import time as ztime
from zhizhi.core.access import Actor, scope_of
from zhizhi.core.errors import FieldError, Forbidden, InvalidInput, NotFound
from zhizhi.org import service as org
from zhizhi.registry import identifiers, rules
from zhizhi.registry.models import Household, Resident
from zhizhi.registry.service import history as hist


@dataclass
class UpsertResult:
    """Outcome of one upsert: the entity ``kind`` and ``id``, whether it was ``created``, the fields
    ``applied`` (names), ``unchanged``, the ``conflicts`` recorded (ids; those fields kept their value),
    the change ids written, and validator ``warnings`` (e.g. a 15-digit ID converted)."""

    kind: str
    id: int
    created: bool
    applied: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    conflicts: list[int] = field(default_factory=list)
    changes: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


_CLEARABLE = {
    "name", "ethnicity", "phone", "household_number", "relation", "address", "grid_code", "head_citizen_id",
    "kind", "use", "structure", "floors", "lon", "lat", "industry", "legal_rep", "employees",
}  # fmt: skip
"""Fields that ``clear`` may empty (identifiers, village, status and tags cannot be emptied so)."""


class _Form:
    """Collects field errors of one record; :meth:`check` raises them all at once."""

    def __init__(self, kind: str, data: Mapping[str, Any], allowed: set[str]) -> None:
        self.kind, self.data = kind, data
        self.errors: list[FieldError] = []
        self.warnings: list[str] = []
        self.values: dict[str, rules.Value] = {}
        if not isinstance(data, Mapping):
            raise InvalidInput(f"{kind}: expected a mapping of field → value")
        for k in data:
            if k not in allowed:
                self.error(str(k), f"unknown field (known: {', '.join(sorted(allowed))})")
        clear = data.get("clear") or []
        clearable = allowed & _CLEARABLE
        if not isinstance(clear, list | tuple) or not all(
            isinstance(c, str) and c in clearable for c in clear
        ):
            self.error("clear", f"expected a list of fields to empty, among: {', '.join(sorted(clearable))}")
            clear = []
        self.clear = set(clear)
        if data.get("generated") is not None and not isinstance(data.get("generated"), bool):
            self.error("generated", "true or false")
        for c in self.clear:
            if self.given(c):
                self.error(c, "both given and listed under clear")

    def error(self, name: str, reason: str) -> None:
        self.errors.append(FieldError(field=name, reason=reason))

    def given(self, name: str) -> bool:
        v = self.data.get(name)
        return v is not None and v != ""

    def take(self, name: str, parse: Callable[[Any], Any], store: str | None = None) -> Any:
        """Parse ``data[name]`` into ``values[store or name]``; errors are collected."""
        if not self.given(name):
            return None
        try:
            v = parse(self.data[name])
        except ValueError as e:
            self.error(name, str(e).removeprefix(f"{name}: "))
            return None
        if v is not None:
            self.values[store or name] = v.isoformat() if isinstance(v, date) else v
        return v

    def identifier(self, name: str, kind: str, required: bool = False) -> str | None:
        """Validate ``data[name]`` as an identifier ``kind`` (registry.identifiers); its normalized
        value, or None (error recorded when invalid, or missing and ``required``)."""
        if not self.given(name):
            if required:
                self.error(name, "required")
            return None
        r = identifiers.validate(self.data[name], kind)
        if not r.valid:
            self.error(name, "; ".join(r.errors) or "invalid")
            return None
        self.warnings += [f"{name}: {w}" for w in r.warnings]
        return r.normalized

    def apply_clear(self, rename: Mapping[str, str] | None = None) -> None:
        """Set the fields listed under ``clear`` to None (``rename``: input name → stored field)."""
        for c in self.clear:
            self.values[(rename or {}).get(c, c)] = None

    def fit_grid(self, h: hist.EntityHistory) -> None:
        """A new village without a grid: the old grid is dropped when it lies in another village."""
        village, current = self.values.get("village_code"), h.latest().get("grid_code")
        moved = isinstance(current, str) and not current.startswith(str(village))
        if village and "grid_code" not in self.values and moved:
            self.values["grid_code"] = None

    def check(self) -> None:
        if self.errors:
            detail = "; ".join(f"{e.field}: {e.reason}" for e in self.errors)
            raise InvalidInput(f"{self.kind}: {detail}", errors=self.errors)


# --- location and data scope ------------------------------------------------------------------------


def _location(session: Session, form: _Form, actor: Actor) -> None:
    """Validate ``village_code``/``grid_code`` against the org tree (a grid's village is its first 12
    digits) and store both; a grid worker's record without codes goes to the worker's own grid."""
    grid = form.data.get("grid_code") or None
    village = form.data.get("village_code") or None
    if grid is None and village is None and scope_of(actor).kind == "grid" and "grid_code" not in form.clear:
        grid = actor.unit_code
    for name, code, level in (("grid_code", grid, "grid"), ("village_code", village, "village")):
        if code is None:
            continue
        if not isinstance(code, str):
            form.error(name, "expected the org-unit code as text")
            continue
        try:
            unit = org.get_unit(session, code.strip())
        except NotFound:
            form.error(name, f'"{code[:20]}" is not a known {level} code')
            continue
        if unit.level != level:
            form.error(name, f'"{code}" is a {unit.level}, not a {level}')
    if isinstance(grid, str):
        if isinstance(village, str) and grid.strip()[:12] != village.strip():
            form.error("grid_code", f"grid {grid} is not in village {village}")
        village = grid.strip()[:12]
        form.values["grid_code"] = grid.strip()
    if isinstance(village, str):
        form.values["village_code"] = village.strip()
    form.take("address", lambda v: rules.clean_text(v, "address", 300))


def _check_scope(actor: Actor, values: Mapping[str, rules.Value], what: str) -> None:
    """Raise Forbidden unless a record located at ``values`` (village/grid codes) is inside the
    actor's data scope: district, town, own grid; department users write within their district."""
    sc = scope_of(actor)
    district, town = hist.location_codes(values.get("village_code"))  # type: ignore[arg-type]
    ok = {
        "district": district == sc.code,
        "town": town == sc.code,
        "grid": values.get("grid_code") == sc.code,
        "unit": district == actor.district_code,
    }.get(sc.kind, False)
    if not ok:
        raise Forbidden(f"{what} is outside your data scope ({sc.kind} {sc.code})")


def _today() -> date:
    return ztime.to_local(ztime.utcnow()).date()


def _source(source: object) -> str:
    try:
        return rules.parse_source(source)
    except ValueError as e:
        raise InvalidInput(str(e), errors=[FieldError("source", str(e))]) from None


def _valid_from(value: date | None) -> date:
    if value is None:
        return _today()
    if isinstance(value, datetime) or not isinstance(value, date):
        raise InvalidInput(
            "valid_from: give a date (YYYY-MM-DD)", errors=[FieldError("valid_from", "not a date")]
        )
    return value


def _write(
    session: Session,
    actor: Actor,
    h: hist.EntityHistory,
    parts: list[tuple[date, dict[str, rules.Value]]],
    source: str,
    ref: str | None,
    result: UpsertResult,
) -> UpsertResult:
    """Record each (valid_from, values) part of one upsert and gather the outcome into ``result``."""
    now = ztime.utcnow()
    for valid_from, values in parts:
        if not values:
            continue
        rec = hist.record(session, actor, h, values, source, valid_from, now, ref)
        result.applied += list(rec.applied)
        result.unchanged += rec.unchanged
        result.conflicts += rec.conflicts
        if rec.change_id:
            result.changes.append(rec.change_id)
    return result


def _existing_scope(actor: Actor, h: hist.EntityHistory, what: str) -> None:
    if h.segments:
        _check_scope(actor, h.latest(), what)


# --- residents (人口) -----------------------------------------------------------------------------------

_RESIDENT_KEYS = {
    "citizen_id", "name", "sex", "birth_date", "ethnicity", "phone", "household_number", "relation",
    "address", "village_code", "grid_code", "status", "status_date", "tags", "generated", "clear",
}  # fmt: skip


def upsert_resident(
    session: Session,
    actor: Actor,
    data: Mapping[str, Any],
    source: str,
    *,
    valid_from: date | None = None,
    ref: str | None = None,
) -> UpsertResult:
    """Create or update one resident (实有人口), deduplicated by citizen ID.

    data: ``citizen_id`` (required; validated by registry.identifiers, 15 digits converted),
    ``name``, ``sex``/``birth_date`` (only cross-checked against the ID), ``ethnicity`` (GB 3304 code
    or label), ``phone``, ``household_number`` (an existing 户号), ``relation`` (GB/T 4761 code or
    label), ``address``, ``village_code``/``grid_code``, ``status`` (在册/迁出/死亡 or code),
    ``status_date``, ``tags`` (a list of codes to set, or ``{code: true|false}``), ``generated``
    (synthetic person), ``clear`` (fields to empty). A new resident needs ``name`` and a location.
    source: the supplier (rules.parse_source); valid_from: the date the values hold from (default
    today, Beijing time); a status change holds from its ``status_date``. ref: file/batch reference.
    Raises InvalidInput (every bad field named, with the reason), Forbidden (outside the actor's
    scope). Values another source set are not overwritten: see ``UpsertResult.conflicts``.
    """
    src, vf = _source(source), _valid_from(valid_from)
    f = _Form("resident", data, _RESIDENT_KEYS)
    cid = f.identifier("citizen_id", "citizen-id", required=True)
    f.take("name", lambda v: rules.clean_text(v, "name", 64))
    f.take("ethnicity", lambda v: rules.parse_code(v, rules.codes().ethnicity, "ethnicity"))
    if f.given("phone"):
        f.values["phone"] = f.identifier("phone", "phone")
    f.take("relation", lambda v: rules.parse_code(v, rules.relations(), "relation"))
    status = f.take("status", rules.parse_status)
    status_date = f.take("status_date", lambda v: rules.parse_date(v, "status_date"))
    _location(session, f, actor)
    if f.given("household_number"):
        number = identifiers.clean_identifier(f.data["household_number"])
        hid = session.scalar(select(Household.id).where(Household.number == number))
        if hid is None:
            f.error(
                "household_number", f'household "{number[:32]}" is not registered: add the household first'
            )
        f.values["household_id"] = hid
    tags = _tags(f)
    f.apply_clear({"household_number": "household_id"})
    f.check()
    assert cid is not None
    sex, birth = rules.sex_of(cid), rules.birth_date_of(cid)
    _cross_check(f, sex, birth)
    resident = session.scalar(select(Resident).where(Resident.citizen_id == cid))
    h = hist.load(session, hist.RESIDENT, resident.id if resident else 0)
    f.fit_grid(h)
    status_from = status_date or vf
    if resident is None and status_from < vf:
        vf = status_from  # a new person known since an earlier status date exists from then on
    if status is not None:
        f.values["status_date"] = status_from.isoformat() if status != "active" or status_date else None
    for code, on in tags.items():
        reason = rules.tag_rule_error(rules.tag_catalogue()[code], sex, birth, vf) if on else None
        if reason:
            f.error("tags", reason)
    if status is not None:
        _status_check(f, h, status, status_from)
    if resident is None:
        if "name" not in f.values or "village_code" not in f.values:
            f.error("name" if "name" not in f.values else "village_code", "required for a new resident")
        f.values.setdefault("status", "active")
    f.check()
    values: dict[str, rules.Value] = {**f.values, **{f"tag:{k}": v for k, v in tags.items()}}
    status_part: dict[str, rules.Value] = {k: values.pop(k) for k in ("status", "status_date") if k in values}
    _existing_scope(actor, h, "this resident")
    _check_scope(actor, {**h.latest(), **values}, "the resident's new location")
    created = resident is None
    if resident is None:
        resident = Resident(
            citizen_id=cid,
            sex=sex,
            birth_date=birth,
            generated=bool(data.get("generated")),
            created_at=ztime.utcnow(),
        )
        session.add(resident)
        session.flush()
        h.entity_id = resident.id
    parts: list[tuple[date, dict[str, rules.Value]]] = [
        (vf, values),
        (status_from if status is not None else vf, status_part),
    ]
    if created and parts[1][0] > vf:
        values["status"] = "active"  # on the register from valid_from until the later status date
    if parts[0][0] == parts[1][0]:
        parts = [(vf, {**values, **status_part})]
    result = UpsertResult("resident", resident.id, created, warnings=f.warnings)
    return _write(session, actor, h, parts, src, ref, result)


def _tags(f: _Form) -> dict[str, bool]:
    raw = f.data.get("tags")
    if raw is None or raw == [] or raw == {}:
        return {}
    pairs = (
        raw.items()
        if isinstance(raw, Mapping)
        else ((t, True) for t in raw)
        if isinstance(raw, list)
        else None
    )
    if pairs is None:
        f.error("tags", "expected a list of tag codes or a mapping code → true/false")
        return {}
    out: dict[str, bool] = {}
    catalogue = rules.tag_catalogue()
    by_label = {t.label: t.code for t in catalogue.values()}
    for t, on in pairs:
        code = by_label.get(t, t) if isinstance(t, str) else t
        if code not in catalogue or not isinstance(on, bool):
            f.error("tags", f"{str(t)[:20]!r}: not a tag of registry/data/tags.yaml (or not true/false)")
            continue
        out[str(code)] = on
    return out


def _cross_check(f: _Form, sex: str, birth: date) -> None:
    if f.given("sex"):
        given = {"男": "male", "女": "female", "1": "male", "2": "female"}.get(str(f.data["sex"]).strip())
        given = given or str(f.data["sex"]).strip().lower()
        if given != sex:
            f.error("sex", f"{f.data['sex']!s:.10} contradicts the citizen ID ({sex})")
    if f.given("birth_date"):
        try:
            given_birth = rules.parse_date(f.data["birth_date"], "birth_date")
        except ValueError as e:
            f.error("birth_date", str(e))
        else:
            if given_birth != birth:
                f.error("birth_date", f"{given_birth} contradicts the citizen ID ({birth})")
    f.check()


def _status_check(f: _Form, h: hist.EntityHistory, status: str, on: date) -> None:
    before = h.at(on).get("status")
    reason = rules.status_transition_error(before if isinstance(before, str) else None, status)
    has_next, after = rules.next_value(h.segments, "status", on)
    if reason is None and has_next and isinstance(after, str):
        reason = rules.status_transition_error(status, after)
        if reason:
            reason = f"{reason} (a later record on the register)"
    if reason:
        f.error("status", reason)


__all__ = ["UpsertResult", "upsert_resident"]
