"""Use cases of the form domain (报表): the shipped form definitions (validated at load), computing a
form for an org unit, period and statistical date within the caller's data scope, and exporting it
as xlsx with an audit row (this module). Services flush, never commit.

Modules: :mod:`.admission` (the district's catalogue, 报表目录/准入), :mod:`.task` (form tasks issued to
towns; completion per town), :mod:`.answer` (each town's answer computed, adjusted, signed and
submitted), :mod:`.demand` (demands made outside the catalogue, 表外要数), :mod:`.burden` (burden
statistics per town and period, 减报表/减时间). Import them as ``from zhizhi.form.service import task``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from functools import lru_cache
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from zhizhi.core import audit
from zhizhi.core import time as ztime
from zhizhi.core.access import Actor, mask_name, mask_phone, mask_text, require, scope_of
from zhizhi.core.errors import FieldError, Forbidden, InvalidInput, NotFound
from zhizhi.event.service import catalogue as event_catalogue
from zhizhi.form import query, rules, snapshot
from zhizhi.org import service as org
from zhizhi.registry import rules as registry_rules
from zhizhi.registry.identifiers import mask_citizen_id

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
"""No knowledge instant before this (the registers hold nothing older)."""
FORMS_DIR = "data/forms"
"""Where the shipped definitions live inside the package (one ``<id>.yaml`` per form)."""


@lru_cache
def context() -> rules.Context:
    """What definitions refer to: registry tags and code tables, departments, event categories."""
    cat = event_catalogue()
    codes = registry_rules.codes()
    return rules.Context(
        tags={t.code: t.label for t in registry_rules.tag_catalogue().values()},
        departments={d["abbr"]: d["name"] for d in org.departments()},
        categories=frozenset(cat.groups) | frozenset(leaf.code for leaf in cat.leaves()),
        house_use=frozenset(codes.house_use),
        house_structure=frozenset(codes.house_structure),
        household_kinds=frozenset(codes.household_kind),
        industry_sections=frozenset(codes.industry_sections),
    )


def parse_file(path: Path | Traversable, label: str | None = None) -> rules.FormDef:
    """Read and check one definition file; ``label`` names it in messages (default: the path).
    Raises :class:`rules.FormDefinitionError` (file, field, reason) or OSError."""
    label = label or str(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "yaml"
        raise rules.FormDefinitionError(
            label, where, f"not valid YAML ({getattr(e, 'problem', e)})"
        ) from None
    except UnicodeDecodeError:
        raise rules.FormDefinitionError(label, "encoding", "not UTF-8 text") from None
    return rules.parse_form(raw, label, context(), expected_id=path.name.removesuffix(".yaml"))


def load_definitions(directory: Path | Traversable | None = None) -> dict[str, rules.FormDef]:
    """Every ``*.yaml`` definition of ``directory`` (default: the shipped ``form/data/forms``), by id.
    One bad file refuses the whole catalogue (:class:`rules.FormDefinitionError` naming it)."""
    root = directory if directory is not None else resources.files("zhizhi.form").joinpath(FORMS_DIR)
    out: dict[str, rules.FormDef] = {}
    for path in sorted(root.iterdir(), key=lambda p: p.name):
        if path.name.endswith(".yaml"):
            label = f"form/{FORMS_DIR}/{path.name}" if directory is None else str(path)
            form = parse_file(path, label)
            out[form.id] = form
    return out


@lru_cache
def catalogue() -> dict[str, rules.FormDef]:
    """The shipped form definitions, checked once (the web app checks them at start-up)."""
    return load_definitions()


def get_form(form_id: str) -> rules.FormDef:
    """The shipped form ``form_id``; NotFound otherwise."""
    form = catalogue().get(form_id)
    if form is None:
        raise NotFound(f'form "{str(form_id)[:60]}" not found (see GET /api/v1/forms)')
    return form


def summary(form: rules.FormDef) -> dict[str, Any]:
    """A form as listed: id, title, 表号, department, period, row level, what it is modelled on, and
    how many of its columns are computed vs left for manual entry."""
    return {
        "id": form.id,
        "title": form.title,
        "form_number": form.form_number,
        "department": form.department,
        "department_name": form.department_name,
        "period": form.period,
        "rows": form.rows,
        "org_levels": list(rules.ROW_LEVELS[form.rows]),
        "modelled_on": {"form": form.source.form, "title": form.source.title, "url": form.source.url},
        "columns": len(form.columns),
        "computed": len(form.computed),
        "manual": len(form.manual),
        "checks": len(form.checks),
    }


def list_forms() -> list[dict[str, Any]]:
    """Summaries of every shipped form, by id."""
    return [summary(f) for f in sorted(catalogue().values(), key=lambda f: f.id)]


# --- computing a form ------------------------------------------------------------------------------


def _org_in_scope(session: Session, actor: Actor, code: str) -> Any:
    """The org unit ``code`` (a district by its 6 or 12 digits) if it lies in the actor's data scope;
    NotFound otherwise (an org outside the scope does not exist for the caller)."""
    code = str(code).strip()
    try:
        unit = org.get_unit(session, f"{code}000000" if len(code) == 6 and code.isdigit() else code)
    except NotFound:
        raise NotFound(f'org unit "{code[:40]}" not found') from None
    sc = scope_of(actor)
    inside = {
        "district": unit.district_code == sc.code,
        "town": unit.town_code == sc.code,
        "grid": unit.code == sc.code,
        "unit": unit.district_code == actor.district_code,
    }[sc.kind]
    if not inside or unit.level not in ("district", "town", "village", "grid"):
        raise NotFound(f'org unit "{code[:40]}" not found')
    return unit


def _today() -> date:
    return ztime.to_local(ztime.utcnow()).date()


def compute(
    session: Session,
    actor: Actor,
    form_id: str,
    org_code: str,
    period: str,
    as_of: date | None = None,
    known_at: datetime | None = None,
    *,
    full_view: bool = False,
) -> rules.FormResult:
    """Compute form ``form_id`` for org unit ``org_code`` and ``period`` (YYYY-MM, YYYY-Qn or YYYY by
    the form's period type).

    period: the current period or a past one (one that has not started yet is refused). as_of: the
    statistical date (统计时点, local), within the period and not after today (Beijing time); default
    the period's last day, or today while the period runs. known_at: read the registers as known at
    this UTC instant (default now; the result records it so the same numbers can be computed again).
    full_view: a roster shows names, IDs and phones unmasked (needs ``personal.full_view``).
    Returns the :class:`rules.FormResult` with formulas and checks evaluated.
    Raises NotFound (unknown form; org unknown or outside the caller's scope), InvalidInput (bad
    period or date, a period not started yet, an as_of in the future, org of the wrong level),
    Forbidden (no ``form.read``; a roster without ``registry.read``; a department asking for figures
    beyond its tags; a full view without the permission)."""
    return compute_form(
        session, actor, get_form(form_id), org_code, period, as_of, known_at, full_view=full_view
    )


def compute_form(
    session: Session,
    actor: Actor,
    form: rules.FormDef,
    org_code: str,
    period: str,
    as_of: date | None = None,
    known_at: datetime | None = None,
    *,
    full_view: bool = False,
    engine: str = "auto",
) -> rules.FormResult:
    """:func:`compute` for a definition given as a :class:`rules.FormDef` (a shipped one, a file being
    checked, a benchmark's). Same arguments, result and errors; ``engine`` is one of :data:`ENGINES`
    (the figures are the same; tests and bench/form_render.py compare them)."""
    if engine not in ENGINES:
        raise InvalidInput(f'engine "{engine}" is not one of {", ".join(ENGINES)}')
    require(actor, "form.read")
    if form.rows == "person":
        require(actor, "registry.read")  # a roster lists register rows, one per person
    today = _today()
    try:
        per = rules.parse_period(period, form.period)
        rules.check_started(per, today)
    except ValueError as e:
        raise InvalidInput(str(e), [FieldError("period", str(e))]) from None
    unit = _org_in_scope(session, actor, org_code)
    if unit.level not in rules.ROW_LEVELS[form.rows]:
        want = " or ".join(rules.ROW_LEVELS[form.rows])
        msg = f'org: form "{form.id}" is filled for a {want}; {unit.code} is a {unit.level}'
        raise InvalidInput(msg, [FieldError("org", msg)])
    if scope_of(actor).kind == "unit":
        dept = actor.unit_code.rsplit("-", 1)[-1]
        gaps = rules.department_gaps(form, registry_rules.tags_of_department(dept))
        if gaps:
            raise Forbidden(f'form "{form.id}": {gaps[0]}; ask the district or town for it')
    if as_of is None:
        as_of = rules.default_as_of(per, today)
    else:
        try:
            rules.check_not_future(as_of, today)
        except ValueError as e:
            raise InvalidInput(str(e), [FieldError("as_of", str(e))]) from None
        if not per.start <= as_of <= per.end:
            msg = f"as_of {as_of} is outside the period {per.text} ({per.start} to {per.end})"
            raise InvalidInput(msg, [FieldError("as_of", msg)])
    now = ztime.utcnow()
    if known_at is not None:
        if known_at.tzinfo is None:
            raise InvalidInput("known_at must carry a time zone", [FieldError("known_at", "naive")])
        if known_at > now:
            raise InvalidInput("known_at is in the future", [FieldError("known_at", "future")])
        if known_at < EARLIEST:
            raise InvalidInput("known_at is before 2000-01-01", [FieldError("known_at", "too early")])
    if full_view and form.rows == "person":
        require(actor, "personal.full_view")
    where = unit.district_code if unit.level == "district" else unit.code  # registers hold 6 digits
    frame = query.Frame(actor, where, unit.level, form.rows, as_of, known_at, per)
    if form.rows == "person":
        rows = _roster_rows(session, frame, form, full_view)
    else:
        rows = _aggregate_rows(session, frame, form, engine)
    rules.apply_formulas(form, rows)
    result = rules.FormResult(
        form=form, org_code=unit.code, org_name=unit.name, org_level=unit.level, period=per, as_of=as_of,
        known_at=known_at or now, rows=rows, full_view=full_view and form.rows == "person",
        rendered_by=actor.name or actor.username, rendered_at=now,
    )  # fmt: skip
    result.checks = rules.run_checks(form, rows)
    return result


ENGINES = ("auto", "snapshot", "sql")
"""How resident indicators are computed: ``snapshot`` (the columnar copy, form/snapshot.py), ``sql``
(one aggregate query, form/query.py: the reference), ``auto`` (the copy unless ``known_at`` asks for
past knowledge, which only SQL has, or the database lives in memory)."""


def _engine_of(session: Session) -> Engine:
    bind = session.get_bind()
    return bind.engine if isinstance(bind, Connection) else bind


def _use_snapshot(session: Session, frame: query.Frame, engine: str) -> bool:
    bind = _engine_of(session)
    in_memory = bind.url.get_backend_name() == "sqlite" and bind.url.database in (None, "", ":memory:")
    if engine == "snapshot" and (frame.known_at is not None or in_memory):
        raise InvalidInput("the snapshot engine has no past knowledge (known_at) nor in-memory databases")
    return engine == "snapshot" or (engine == "auto" and frame.known_at is None and not in_memory)


def _from_snapshot(
    session: Session, frame: query.Frame, columns: list[rules.Column]
) -> tuple[dict[int, query.Counts], dict[int, float]]:
    """Resident columns from the up-to-date columnar copy of the committed register."""
    sc = scope_of(frame.actor)
    dept = (
        registry_rules.tags_of_department(frame.actor.unit_code.rsplit("-", 1)[-1])
        if sc.kind == "unit"
        else []
    )
    areas = {
        a: frame.area_villages(session, a)
        for a in {c.measure.area for c in columns if c.measure and c.measure.area}
    }
    snap = snapshot.current(_engine_of(session))
    values, totals = snapshot.residents(snap, frame, columns, (sc.kind, sc.code), dept, areas)
    return values, totals  # type: ignore[return-value]


def _aggregate_rows(
    session: Session, frame: query.Frame, form: rules.FormDef, engine: str = "auto"
) -> list[rules.ResultRow]:
    """合计 and one row per unit (village, town or grid under the org), computed columns filled."""
    by_kind: dict[str, list[rules.Column]] = {}
    for c in form.columns:
        if c.measure is not None:
            k = c.measure.kind
            group = (
                "residents"
                if k == "residents" or (k == "households" and c.measure.person is not None)
                else "events"
                if k == "events"
                else "grids"
                if k == "grids"
                else "registers"
            )
            by_kind.setdefault(group, []).append(c)
    people = by_kind.get("residents", [])
    values: dict[int, query.Counts] = {}
    if people and _use_snapshot(session, frame, engine):
        values, totals = _from_snapshot(session, frame, people)
    else:
        values = query.residents(session, frame, people)
        member_households = [c for c in people if c.measure and c.measure.kind == "households"]
        totals = query.household_totals(session, frame, member_households)
    values |= query.registers(session, frame, by_kind.get("registers", []))
    values |= query.events(session, frame, by_kind.get("events", []))
    values |= query.grids(session, frame, by_kind.get("grids", []))
    units = query.row_units(session, frame)

    def number(x: float) -> int | float:
        return int(x) if float(x).is_integer() else x

    total = rules.ResultRow(None, "合计", [None] * len(form.columns), total=True)
    rows = [total] + [rules.ResultRow(code, name, [None] * len(form.columns)) for code, name in units]
    for no, counts in values.items():
        t = totals.get(no, sum(counts.values()))
        total.values[no - 1] = number(t)
        for row in rows[1:]:
            row.values[no - 1] = number(counts.get(row.code, 0))
    return rows


def _roster_rows(
    session: Session, frame: query.Frame, form: rules.FormDef, full_view: bool
) -> list[rules.ResultRow]:
    """One row per person of the roster's population (masked unless ``full_view``), then 合计."""
    assert form.population is not None
    people = query.roster(session, frame, form.population)
    names = query.unit_names(
        session, sorted({p["village_code"] for p in people if p["village_code"]} | {
            p["grid_code"] for p in people if p["grid_code"]})
    )  # fmt: skip
    ethnicity = registry_rules.codes().ethnicity
    rows = []
    for i, p in enumerate(people, start=1):
        age = registry_rules.age_on(p["birth_date"], frame.as_of)
        fields: dict[str, Any] = {
            "name": p["name"] if full_view else mask_name(p["name"]),
            "citizen_id": p["citizen_id"] if full_view else mask_citizen_id(p["citizen_id"]),
            "sex": {"male": "男", "female": "女"}.get(p["sex"], p["sex"]),
            "age": age,
            "ethnicity": ethnicity.get(p["ethnicity"] or "", None),
            "village": names.get(p["village_code"] or "", p["village_code"]),
            "grid": names.get(p["grid_code"] or "", p["grid_code"]),
            "phone": p["phone"] if full_view else mask_phone(p["phone"]),
            "address": p["address"] if full_view else mask_text(p["address"]),
        }
        values: list[rules.Cell] = []
        for c in form.columns:
            if c.field == "age_band":
                values.append(_band(age, c.bands))
            elif c.field is not None:
                values.append(fields[c.field])
            else:
                values.append(None)
        rows.append(rules.ResultRow(None, str(i), values))
    total = rules.ResultRow(None, f"合计 {len(people)} 人", [None] * len(form.columns), total=True)
    return [*rows, total]


def _band(age: int, bands: Sequence[str]) -> str | None:
    for b in bands:
        lo, hi = registry_rules.parse_age_band(b)
        if age >= lo and (hi is None or age <= hi):
            return b
    return None


# --- export ------------------------------------------------------------------------------------------


def require_reason(reason: str | None) -> str:
    """The stated reason of a full view (at least 4 characters); InvalidInput otherwise."""
    if reason is None or len(reason.strip()) < 4:
        msg = "a full view (unmasked names and IDs) needs a reason of at least 4 characters"
        raise InvalidInput(msg, [FieldError("reason", msg)])
    if not reason.strip().isprintable():
        msg = "reason: control characters are not allowed"
        raise InvalidInput(msg, [FieldError("reason", msg)])
    return reason.strip()


def record_export(
    session: Session,
    actor: Actor,
    result: rules.FormResult,
    size: int,
    *,
    reason: str | None = None,
    client: str | None = None,
) -> audit.AuditRow:
    """Write the audit row of one export of ``result`` (action ``export``, object ``form`` and its id,
    scope ``<level>:<org code>``; detail: period, statistical date, knowledge instant, number of
    rows, full view or not, failed checks, file size). The caller commits it with the export."""
    return audit.record(
        session,
        actor=actor.username,
        actor_role=actor.role,
        action=audit.Action.export,
        object_type="form",
        object_id=result.form.id,
        scope=f"{result.org_level}:{result.org_code}",
        reason=reason.strip() if reason else None,
        client=client,
        detail={
            "period": result.period.text,
            "as_of": result.as_of.isoformat(),
            "known_at": audit.format_at(result.known_at),
            "rows": sum(1 for r in result.rows if not r.total),
            "full_view": result.full_view,
            "checks_failed": result.tally()["fail"],
            "bytes": size,
        },
        at=result.rendered_at,
    )


def export(
    session: Session,
    actor: Actor,
    form_id: str,
    org_code: str,
    period: str,
    as_of: date | None = None,
    known_at: datetime | None = None,
    *,
    full_view: bool = False,
    reason: str | None = None,
    client: str | None = None,
) -> tuple[rules.FormResult, bytes]:
    """Compute a form (:func:`compute`), write it as xlsx (render.to_xlsx) and record the export.

    Every export of a form is an export of (possibly personal) data: one audit row
    (:func:`record_export`) is written and the caller commits it with the file. A full view of a
    roster needs a reason (:func:`require_reason`), kept in the audit row. Returns
    ``(result, xlsx bytes)``; raises as :func:`compute`."""
    from zhizhi.form.render import to_xlsx

    if full_view:
        require(actor, "personal.full_view")
        reason = require_reason(reason)
    result = compute(session, actor, form_id, org_code, period, as_of, known_at, full_view=full_view)
    data = to_xlsx(result, tag_labels=context().tags)
    record_export(session, actor, result, len(data), reason=reason, client=client)
    return result, data
