"""Checking one register record before it is written (台账录入校验): fields collected with every error
at once (:class:`Form`), org units, households and residents looked up inside the write scope
(:class:`Lookups`), and the write scope itself, which discloses nothing about records outside it.

**Existence is not disclosed outside the write scope.** A stored record located outside the actor's
write scope is judged as if it were not on the register (:func:`hidden_history`: a missing name is
"required for a new resident", a status is not checked against its history), and a record that
would then be created is refused with :data:`OUT_OF_SCOPE`, the same words (and status 403) as a
record proposed for a location outside the scope; the refusal names only the actor's own scope.
Look-ups of other records named in a row (a household number, a household head's citizen ID) find
only records inside the write scope, and a miss reads like a record that does not exist. The one
signal left is inherent to deduplicating by citizen ID: a complete new record for the actor's own
area that cannot be created. See docs/domains/registry.md (Permissions and data scope).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import Any, NoReturn

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from zhizhi.core import time as ztime
from zhizhi.core.access import Actor, scope_of
from zhizhi.core.errors import FieldError, Forbidden, InvalidInput
from zhizhi.org.models import OrgUnit
from zhizhi.registry import identifiers, rules, rules_relation
from zhizhi.registry.identifiers import IdentifierResult
from zhizhi.registry.models import Household, HouseholdVersion, Resident, ResidentVersion
from zhizhi.registry.service import history as hist

OUT_OF_SCOPE = "outside your data scope ({kind} {code}): you may write only records located there"
"""The one refusal of a write outside the actor's data scope, whatever the reason (an existing
record elsewhere, or a location elsewhere): it names the actor's own scope, never the record's."""


_CLEARABLE = {
    "name", "ethnicity", "phone", "household_number", "relation", "address", "grid_code", "head_citizen_id",
    "kind", "use", "structure", "floors", "lon", "lat", "industry", "legal_rep", "employees",
}  # fmt: skip
"""Fields that ``clear`` may empty (identifiers, village, status and tags cannot be emptied so)."""


class Form:
    """Collects field errors of one record; :meth:`check` raises them all at once."""

    def __init__(self, kind: str, data: Mapping[str, Any], allowed: set[str]) -> None:
        self.kind, self.data = kind, data
        self.errors: list[FieldError] = []
        self.warnings: list[str] = []
        self.values: dict[str, rules.Value] = {}
        if not isinstance(data, Mapping):
            raise InvalidInput(f"{kind}: expected a mapping of field → value")
        if not allowed.issuperset(data):
            for k in data:
                if k not in allowed:
                    self.error(str(k), f"unknown field (known: {', '.join(sorted(allowed))})")
        clear = data.get("clear") or []
        if clear:  # (an empty list is always valid)
            clearable = allowed & _CLEARABLE
            if not isinstance(clear, list | tuple) or not all(
                isinstance(c, str) and c in clearable for c in clear
            ):
                self.error(
                    "clear", f"expected a list of fields to empty, among: {', '.join(sorted(clearable))}"
                )
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

    def identifier(
        self,
        name: str,
        kind: str,
        required: bool = False,
        checked: IdentifierResult | None = None,
        plain: Callable[[object], str | None] | None = None,
    ) -> str | None:
        """Validate ``data[name]`` as an identifier ``kind`` (registry.identifiers; ``checked``: that
        result, already computed); its normalized value, or None (error recorded when invalid, or
        missing and ``required``). ``plain``: a fast path giving exactly the validator's verdict on
        plain values (:meth:`Lookups.plain`): the value itself when the validator accepts it
        unchanged and without a warning, else None (then the validator runs)."""
        if not self.given(name):
            if required:
                self.error(name, "required")
            return None
        if checked is None and plain is not None:
            ok = plain(self.data[name])
            if ok is not None:
                return ok
        r = checked if checked is not None else identifiers.validate(self.data[name], kind)
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


# --- lookups, location and data scope ---------------------------------------------------------------


def write_scope_clause(actor: Actor, v: Any) -> ColumnElement[bool]:
    """Version rows of ``v`` located inside ``actor``'s write scope: the district, the town, the own
    grid; a department (unit scope) writes within its district."""
    sc = scope_of(actor)
    if sc.kind == "town":
        return v.town_code == sc.code  # type: ignore[no-any-return]
    if sc.kind == "grid":
        return v.grid_code == sc.code  # type: ignore[no-any-return]
    return v.district_code == (sc.code if sc.kind == "district" else actor.district_code)  # type: ignore[no-any-return]


class Lookups:
    """Cached look-ups of one write (or one bulk call): org-unit levels by code, the ids of
    households (by 户号) and residents (by citizen ID) inside the actor's write scope, and code-table
    values (:meth:`code`)."""

    def __init__(self, session: Session, actor: Actor) -> None:
        self.session, self.actor = session, actor
        self._levels: dict[str, str | None] = {}
        self._households: dict[str, int | None] = {}
        self._residents: dict[str, int | None] = {}
        self._codes: dict[tuple[int, str, type, Any], str] = {}
        self._plain: dict[str, Callable[[object], str | None]] = {}

    def take_fast_paths(self) -> None:
        """Let the identifier checks of this call take the importer's fast paths
        (registry.intake.fast.FastIdentifiers): a plain 18-character citizen ID or 11-digit mobile
        number is judged by its check character, birth date and region code, or its prefix, each
        judged once by the validator itself — exactly the validator's verdict
        (tests/registry/test_intake.py, test_fast_paths_agree_with_the_validators); anything else
        goes to the validator. For calls of many rows: the judgements are paid once per call."""
        # intake.fast is pure (identifiers and core.time only); the intake package imports this one
        from zhizhi.registry.intake.fast import FastIdentifiers  # noqa: PLC0415

        fast = FastIdentifiers()
        self._plain = {"citizen-id": fast.citizen_id, "phone": fast.mobile}

    def plain(self, kind: str) -> Callable[[object], str | None] | None:
        """The fast path for identifiers of ``kind`` (:meth:`take_fast_paths`), or None."""
        return self._plain.get(kind)

    def code(self, value: object, table: Mapping[str, str], what: str) -> str:
        """:func:`rules.parse_code` of ``value`` in ``table``, remembered for the call: a value seen
        before (same table, same type, equal) gives the code it gave then. Only results are
        remembered; a refused value goes to ``rules.parse_code`` every time (its ValueError).
        A relation written without the sex (子女: rules_relation.by_sex) is refused saying which codes
        to give (an import settles it by the person's sex; a single record names the code)."""
        if what == "relation" and isinstance(value, str) and value.strip() in rules_relation.by_sex():
            v = rules_relation.by_sex()[value.strip()]
            table_ = rules.relations()
            raise ValueError(
                f'relation: "{v.text}" does not say son or daughter: give {v.male} ({table_[v.male]}) or '
                f"{v.female} ({table_[v.female]})"
            )
        key = (id(table), what, type(value), value)
        try:
            return self._codes[key]
        except KeyError:
            pass
        except TypeError:  # unhashable: parse_code refuses it
            return rules.parse_code(value, table, what)
        code = self._codes[key] = rules.parse_code(value, table, what)
        return code

    def prefetch_units(self, codes: Iterable[str]) -> None:
        """Look up the levels of many org-unit codes at once (chunked queries)."""
        todo = [c for c in dict.fromkeys(codes) if c not in self._levels]
        for part in hist.chunked(todo):
            self._levels.update(dict.fromkeys(part))
            self._levels.update(
                {
                    c: lv
                    for c, lv in self.session.execute(
                        select(OrgUnit.code, OrgUnit.level).where(OrgUnit.code.in_(part))
                    )
                }
            )

    def unit_level(self, code: str) -> str | None:
        """The level of org unit ``code`` (grid, village …), None for an unknown code."""
        if code not in self._levels:
            self.prefetch_units([code])
        return self._levels[code]

    def _scoped_ids(
        self, cache: dict[str, int | None], ident: Any, key: Any, version: Any, fk: Any, wanted: Iterable[str]
    ) -> None:
        """Fill ``cache`` with the ids of the records whose ``key`` is in ``wanted`` and whose latest
        believed version (open-ended valid time) lies inside the write scope; None for the others."""
        todo = [k for k in dict.fromkeys(wanted) if k not in cache]
        for part in hist.chunked(todo):
            cache.update(dict.fromkeys(part))
            rows = self.session.execute(
                select(key, ident.id)
                .join(version, fk == ident.id)
                .where(
                    key.in_(part),
                    version.superseded_at.is_(None),
                    version.valid_to.is_(None),
                    write_scope_clause(self.actor, version),
                )
            )
            cache.update({k: i for k, i in rows})

    def prefetch_households(self, numbers: Iterable[str]) -> None:
        """Look up many 户号 at once (chunked queries)."""
        hv = HouseholdVersion
        self._scoped_ids(self._households, Household, Household.number, hv, hv.household_id, numbers)

    def household_id(self, number: str) -> int | None:
        """The id of household ``number`` when it is registered inside the write scope, else None."""
        self.prefetch_households([number])
        return self._households[number]

    def prefetch_residents(self, citizen_ids: Iterable[str]) -> None:
        """Look up many residents by (normalized) citizen ID at once (chunked queries)."""
        rv = ResidentVersion
        self._scoped_ids(self._residents, Resident, Resident.citizen_id, rv, rv.resident_id, citizen_ids)

    def resident_id(self, citizen_id: str) -> int | None:
        """The id of the resident with ``citizen_id`` located inside the write scope, else None."""
        self.prefetch_residents([citizen_id])
        return self._residents[citizen_id]


def check_location(lookups: Lookups, form: Form, actor: Actor) -> None:
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
        found = lookups.unit_level(code.strip())
        if found is None:
            form.error(name, f'"{code[:20]}" is not a known {level} code')
        elif found != level:
            form.error(name, f'"{code}" is a {found}, not a {level}')
    if isinstance(grid, str):
        if isinstance(village, str) and grid.strip()[:12] != village.strip():
            form.error("grid_code", f"grid {grid} is not in village {village}")
        village = grid.strip()[:12]
        form.values["grid_code"] = grid.strip()
    if isinstance(village, str):
        form.values["village_code"] = village.strip()
    form.take("address", lambda v: rules.clean_text(v, "address", 300))


def in_scope(actor: Actor, values: Mapping[str, rules.Value]) -> bool:
    """Whether a record located at ``values`` (village/grid codes) is inside the actor's write scope
    (see :func:`write_scope_clause`)."""
    sc = scope_of(actor)
    district, town = hist.location_codes(values.get("village_code"))  # type: ignore[arg-type]
    return {
        "district": district == sc.code,
        "town": town == sc.code,
        "grid": values.get("grid_code") == sc.code,
        "unit": district == actor.district_code,
    }.get(sc.kind, False)


def refuse(actor: Actor) -> NoReturn:
    """Raise the one out-of-scope refusal, Forbidden (:data:`OUT_OF_SCOPE`)."""
    sc = scope_of(actor)
    raise Forbidden(OUT_OF_SCOPE.format(kind=sc.kind, code=sc.code))


def check_scope(actor: Actor, values: Mapping[str, rules.Value]) -> None:
    """:func:`refuse` unless ``values`` lie inside the actor's write scope."""
    if not in_scope(actor, values):
        refuse(actor)


def hidden_history(actor: Actor, h: hist.EntityHistory) -> bool:
    """Whether the stored entity of ``h`` lies outside the actor's write scope. Such a record is
    judged as if it did not exist (every check runs as for a new record, so a missing name or a
    status transition does not disclose it), and is then refused with :data:`OUT_OF_SCOPE`, the
    words any out-of-scope write gets."""
    return bool(h.segments) and not in_scope(actor, h.latest())


def today() -> date:
    """Today's date in Beijing time (the default ``valid_from``)."""
    return ztime.to_local(ztime.utcnow()).date()


def parse_source(source: object) -> str:
    """The source as :func:`rules.parse_source` checks it; InvalidInput naming ``source``."""
    try:
        return rules.parse_source(source)
    except ValueError as e:
        raise InvalidInput(str(e), errors=[FieldError("source", str(e))]) from None


def parse_valid_from(value: date | None) -> date:
    """``valid_from`` as given (a date), or today; InvalidInput for anything else."""
    if value is None:
        return today()
    if isinstance(value, datetime) or not isinstance(value, date):
        raise InvalidInput(
            "valid_from: give a date (YYYY-MM-DD)", errors=[FieldError("valid_from", "not a date")]
        )
    return value


__all__ = [
    "OUT_OF_SCOPE", "Form", "Lookups", "check_location", "check_scope", "hidden_history", "in_scope",
    "parse_source", "parse_valid_from", "refuse", "today", "write_scope_clause",
]  # fmt: skip
