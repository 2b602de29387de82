"""Parsing form definitions (报表定义的读取与校验): YAML → :class:`~.definition.FormDef`, refusing anything
unknown or wrong with :class:`~.definition.FormDefinitionError` naming the file and the field."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from zhizhi.form.rules.definition import (
    AREAS,
    CLOSED,
    FLOWS,
    MEASURE_KEYS,
    NUMERIC_FIELDS,
    PERSON_FIELDS,
    REPORTED,
    ROW_LEVELS,
    STATUSES,
    TEXT_FIELDS,
    URGENCIES,
    Check,
    Column,
    Context,
    FormDef,
    FormDefinitionError,
    Measure,
    PersonFilter,
    SourceRef,
)
from zhizhi.form.rules.expr import chain_refs, parse_check, parse_formula, refs
from zhizhi.form.rules.period import PERIOD_KINDS
from zhizhi.registry.rules import parse_age_band

_PERSON_KEYS = (
    "tags", "any_tags", "no_tags", "sex", "age", "status", "status_in_period", "born_in_period", "minority",
)  # fmt: skip
_KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")
_REF = re.compile(r"(?:col|c)(\d{1,3})")
_ID = re.compile(r"[a-z][a-z0-9-]{2,48}")


# --- parsing ------------------------------------------------------------------------------------------


class _Reader:
    """Reads one definition, raising :class:`FormDefinitionError` with the file and field path."""

    def __init__(self, source: str, ctx: Context) -> None:
        self.source, self.ctx = source, ctx

    def fail(self, where: str, reason: str) -> FormDefinitionError:
        return FormDefinitionError(self.source, where, reason)

    def mapping(self, raw: Any, where: str, allowed: Sequence[str]) -> Mapping[str, Any]:
        if not isinstance(raw, Mapping):
            raise self.fail(where, "needs a mapping")
        for k in raw:
            if k not in allowed:
                raise self.fail(f"{where}.{k}" if where else str(k),
                                f"unknown field (known: {', '.join(allowed) or 'none'})")  # fmt: skip
        return raw

    def text(self, raw: Any, where: str, required: bool = True, max_len: int = 400) -> str | None:
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if required:
                raise self.fail(where, "required")
            return None
        if not isinstance(raw, str | int) or isinstance(raw, bool):
            raise self.fail(where, "needs text")
        s = str(raw).strip()
        if len(s) > max_len:
            raise self.fail(where, f"at most {max_len} characters")
        return s

    def choice(self, raw: Any, where: str, options: Sequence[str], default: str | None = None) -> str | None:
        if raw is None:
            return default
        if raw not in options:
            raise self.fail(where, f"{str(raw)[:30]!r} is not one of {', '.join(options)}")
        return str(raw)

    def flag(self, raw: Any, where: str) -> bool | None:
        if raw is None:
            return None
        if not isinstance(raw, bool):
            raise self.fail(where, "true or false")
        return raw

    def codes(self, raw: Any, where: str, known: Callable[[str], bool], what: str) -> tuple[str, ...]:
        if raw is None:
            return ()
        items = [raw] if isinstance(raw, str) else raw
        if not isinstance(items, list) or not items or not all(isinstance(x, str | int) for x in items):
            raise self.fail(where, f"needs a list of {what}")
        out = []
        for x in items:
            s = str(x)
            if not known(s):
                raise self.fail(where, f"unknown {what} {s[:20]!r}")
            out.append(s)
        return tuple(out)

    def tags(self, raw: Any, where: str) -> tuple[str, ...]:
        return self.codes(raw, where, lambda t: t in self.ctx.tags, "tag (registry/data/tags.yaml)")

    # -- measures

    def person(self, raw: Mapping[str, Any], where: str) -> PersonFilter:
        age = None
        if raw.get("age") is not None:
            try:
                age = parse_age_band(str(raw["age"]))
            except ValueError as e:
                raise self.fail(f"{where}.age", str(e)) from None
        status = self.choice(raw.get("status"), f"{where}.status", STATUSES, "active")
        return PersonFilter(
            tags=self.tags(raw.get("tags"), f"{where}.tags"),
            any_tags=self.tags(raw.get("any_tags"), f"{where}.any_tags"),
            no_tags=self.tags(raw.get("no_tags"), f"{where}.no_tags"),
            sex=self.choice(raw.get("sex"), f"{where}.sex", ("male", "female")),
            age=age,
            status=None if status == "any" else status,
            status_in_period=bool(self.flag(raw.get("status_in_period"), f"{where}.status_in_period")),
            born_in_period=bool(self.flag(raw.get("born_in_period"), f"{where}.born_in_period")),
            minority=self.flag(raw.get("minority"), f"{where}.minority"),
        )

    def measure(self, raw: Any, where: str) -> Measure:
        if not isinstance(raw, Mapping):
            raise self.fail(where, "needs a mapping such as {count: residents, tags: [dibao]}")
        counts = [k for k in ("count", "sum") if k in raw]
        if len(counts) != 1:
            raise self.fail(where, "needs exactly one of count: (what is counted) or sum: employees")
        op = counts[0]
        kind = raw[op]
        valid = ("employees",) if op == "sum" else tuple(k for k in MEASURE_KEYS if k != "employees")
        if kind not in valid:
            raise self.fail(f"{where}.{op}", f"{str(kind)[:30]!r} is not one of {', '.join(valid)}")
        m = self.mapping(raw, where, (op, *MEASURE_KEYS[kind]))
        area = self.choice(m.get("area"), f"{where}.area", tuple(AREAS))
        if kind == "residents":
            flow = self.choice(m.get("flow"), f"{where}.flow", tuple(FLOWS))
            p = self.person(m, where)
            if flow and p.status_in_period:
                raise self.fail(f"{where}.flow", "cannot be combined with status_in_period")
            return Measure(kind, person=p, area=area, flow=flow)
        if kind == "households":
            members = None
            if m.get("members") is not None:
                members = self.person(self.mapping(m["members"], f"{where}.members", _PERSON_KEYS),
                                      f"{where}.members")  # fmt: skip
                if m.get("kind") is not None:
                    raise self.fail(f"{where}.kind", "give members or kind, not both")
            hk = self.choice(m.get("kind"), f"{where}.kind", tuple(sorted(self.ctx.household_kinds)))
            return Measure(kind, person=members, area=area, household_kind=hk)
        if kind == "houses":
            return Measure(
                kind, area=area,
                house_use=self.codes(m.get("use"), f"{where}.use", self.ctx.house_use.__contains__,
                                     "house use code (GB/T 17986.1)"),
                house_structure=self.codes(m.get("structure"), f"{where}.structure",
                                           self.ctx.house_structure.__contains__,
                                           "house structure code (GB/T 17986.1)"),
            )  # fmt: skip
        if kind in ("units", "employees"):
            mn = m.get("min_employees")
            if mn is not None and (not isinstance(mn, int) or isinstance(mn, bool) or mn < 0):
                raise self.fail(f"{where}.min_employees", "a whole number >= 0")
            industry = self.codes(
                m.get("industry"), f"{where}.industry",
                lambda s: bool(re.fullmatch(r"[A-T]\d{0,4}", s)) and s[0] in self.ctx.industry_sections,
                "GB/T 4754-2017 industry code or section letter",
            )  # fmt: skip
            return Measure(kind, area=area, industry=industry, min_employees=mn)
        if kind == "events":
            cats = self.codes(m.get("categories"), f"{where}.categories", self.ctx.categories.__contains__,
                              "event category code (event/data/categories.yaml)")  # fmt: skip
            return Measure(
                kind, categories=cats,
                reported=self.choice(m.get("reported"), f"{where}.reported", REPORTED, "in_period") or "",
                closed=self.choice(m.get("closed"), f"{where}.closed", CLOSED),
                urgency=self.codes(m.get("urgency"), f"{where}.urgency", URGENCIES.__contains__, "urgency"),
                overdue=self.flag(m.get("overdue"), f"{where}.overdue"),
                parked=self.flag(m.get("parked"), f"{where}.parked"),
            )  # fmt: skip
        return Measure(kind)  # grids


_FORM_KEYS = (
    "id", "title", "form_number", "department", "legal_basis", "approved_by", "period", "rows", "source",
    "population", "columns", "checks", "notes",
)  # fmt: skip
_COLUMN_KEYS = (
    "key", "label", "group", "unit", "code", "definition", "value", "formula", "field", "bands", "manual",
    "additive", "decimals", "text",
)  # fmt: skip
_CHECK_KEYS = ("rule", "rows", "tolerance", "basis", "note")


def parse_form(raw: Any, source: str, ctx: Context, expected_id: str | None = None) -> FormDef:
    """Check and build one form definition from its parsed YAML.

    raw: the YAML mapping (see the module docstring and docs/domains/form.md); source: the file name
    used in messages; ctx: the catalogues the definition refers to; expected_id: the id the file
    name implies (``mz-dibao-monthly.yaml`` → ``mz-dibao-monthly``), None to skip that check.
    Returns the :class:`FormDef`. Raises :class:`FormDefinitionError` (``<file>: <field>: <reason>``)
    for any unknown key, missing or wrong value, unknown tag, category, code or department, column
    reference, or malformed formula or check."""
    rd = _Reader(source, ctx)
    top = rd.mapping(raw, "", _FORM_KEYS)
    fid = rd.text(top.get("id"), "id")
    assert fid is not None
    if not _ID.fullmatch(fid):
        raise rd.fail("id", "lower-case letters, digits and '-', 3-49 characters, starting with a letter")
    if expected_id is not None and fid != expected_id:
        raise rd.fail("id", f'"{fid}" differs from the file name ("{expected_id}")')
    dept = rd.text(top.get("department"), "department")
    if dept not in ctx.departments:
        raise rd.fail("department", f'"{dept}" is not a department of org/data/departments.yaml')
    period = rd.choice(top.get("period"), "period", tuple(PERIOD_KINDS))
    rows = rd.choice(top.get("rows"), "rows", tuple(ROW_LEVELS))
    if period is None or rows is None:
        raise rd.fail("period" if period is None else "rows", "required")
    src = rd.mapping(top.get("source"), "source", ("form", "title", "url", "note"))
    url = rd.text(src.get("url"), "source.url")
    assert url is not None
    if not re.match(r"(https?://)?[A-Za-z0-9.-]+\.[a-z]{2,}(/|$)", url):
        raise rd.fail("source.url", "needs the address of the public page the form was read from")
    source_ref = SourceRef(
        str(rd.text(src.get("form"), "source.form", max_len=40)),
        str(rd.text(src.get("title"), "source.title")),
        url,
        rd.text(src.get("note"), "source.note", required=False, max_len=2000),
    )  # fmt: skip
    population = None
    if rows == "person":
        if top.get("population") is None:
            raise rd.fail("population", "required for a roster (rows: person): who is listed")
        population = rd.person(rd.mapping(top["population"], "population", _PERSON_KEYS), "population")
    elif top.get("population") is not None:
        raise rd.fail("population", "only a roster (rows: person) has a population")
    columns = _columns(rd, top.get("columns"), rows)
    by_no = {c.no: c for c in columns}
    checks = _checks(rd, top.get("checks"), columns, rows)
    notes = top.get("notes") or []
    if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
        raise rd.fail("notes", "needs a list of text lines")
    return FormDef(
        id=fid, title=str(rd.text(top.get("title"), "title")), department=str(dept),
        department_name=ctx.departments[str(dept)], period=period, rows=rows, source=source_ref,
        columns=tuple(columns), checks=tuple(checks),
        form_number=rd.text(top.get("form_number"), "form_number", required=False, max_len=60),
        legal_basis=rd.text(top.get("legal_basis"), "legal_basis", required=False, max_len=1000),
        approved_by=rd.text(top.get("approved_by"), "approved_by", required=False, max_len=200),
        population=population, notes=tuple(notes), file=source, _by_no=by_no,
    )  # fmt: skip


def _resolver(rd: _Reader, columns: Sequence[Column], where: str) -> Callable[[str], int]:
    keys = {c.key: c.no for c in columns}

    def resolve(name: str) -> int:
        m = _REF.fullmatch(name)
        if m:
            no = int(m.group(1))
            if not 1 <= no <= len(columns):
                raise ValueError(f"{name}: there is no column {no} (the form has {len(columns)})")
            return no
        if name in keys:
            return keys[name]
        raise ValueError(f'"{name}" is not a column key or colN')

    return resolve


def _columns(rd: _Reader, raw: Any, rows: str) -> list[Column]:
    if not isinstance(raw, list) or not raw:
        raise rd.fail("columns", "needs a list of columns")
    specs: list[tuple[str, Mapping[str, Any]]] = []
    seen: set[str] = set()
    for i, c in enumerate(raw, start=1):
        where = f"columns[{i}]"
        c = rd.mapping(c, where, _COLUMN_KEYS)
        key = c.get("key")
        if not isinstance(key, str) or not _KEY.fullmatch(key) or _REF.fullmatch(key):
            raise rd.fail(f"{where}.key", "lower-case ASCII key (not colN/cN), up to 40 characters")
        if key in seen:
            raise rd.fail(f"{where}.key", f'duplicate key "{key}"')
        seen.add(key)
        specs.append((f"columns.{key}", c))
    out: list[Column] = []
    for no, (where, c) in enumerate(specs, start=1):
        given = [k for k in ("value", "formula", "field", "manual") if c.get(k) is not None]
        if len(given) != 1:
            raise rd.fail(where, "needs exactly one of value, formula, field or manual")
        how = given[0]
        if rows == "person" and how in ("value", "formula"):
            raise rd.fail(f"{where}.{how}", "a roster (rows: person) has field or manual columns")
        if rows != "person" and how == "field":
            raise rd.fail(f"{where}.field", "only a roster (rows: person) has field columns")
        decimals = c.get("decimals")
        if decimals is not None and (not isinstance(decimals, int) or isinstance(decimals, bool)
                                     or not 0 <= decimals <= 6):  # fmt: skip
            raise rd.fail(f"{where}.decimals", "a whole number 0-6")
        kw: dict[str, Any] = {}
        if how == "value":
            kw["measure"] = rd.measure(c["value"], f"{where}.value")
        elif how == "manual":
            kw["manual"] = rd.text(c["manual"], f"{where}.manual", max_len=1000)
        elif how == "field":
            fld = rd.choice(c["field"], f"{where}.field", tuple(PERSON_FIELDS))
            kw["field"] = fld
            if fld == "age_band":
                bands = c.get("bands")
                if not isinstance(bands, list) or not bands:
                    raise rd.fail(f"{where}.bands", 'an age_band field needs bands such as ["80-89", "90+"]')
                for b in bands:
                    try:
                        parse_age_band(str(b))
                    except ValueError as e:
                        raise rd.fail(f"{where}.bands", str(e)) from None
                kw["bands"] = tuple(str(b) for b in bands)
        elif c.get("bands") is not None:
            raise rd.fail(f"{where}.bands", "only an age_band field has bands")
        additive = rd.flag(c.get("additive"), f"{where}.additive")
        text = rd.flag(c.get("text"), f"{where}.text")
        out.append(
            Column(
                no=no, key=str(where.split(".", 1)[1]),
                label=str(rd.text(c.get("label"), f"{where}.label", max_len=80)),
                group=rd.text(c.get("group"), f"{where}.group", required=False, max_len=80),
                unit=rd.text(c.get("unit"), f"{where}.unit", required=False, max_len=20),
                code=rd.text(c.get("code"), f"{where}.code", required=False, max_len=40),
                definition=rd.text(c.get("definition"), f"{where}.definition", required=False, max_len=1000),
                additive=(how != "formula" and how != "field") if additive is None else additive,
                decimals=decimals, text=bool(text) or kw.get("field") in TEXT_FIELDS, **kw,
            )
        )  # fmt: skip
    # formulas last: they refer to the other columns by number or key
    for no, (where, c) in enumerate(specs, start=1):
        if c.get("formula") is None:
            continue
        text_ = rd.text(c["formula"], f"{where}.formula")
        assert text_ is not None
        try:
            node = parse_formula(text_, _resolver(rd, out, where))
        except ValueError as e:
            raise rd.fail(f"{where}.formula", str(e)) from None
        for r in refs(node):
            if r == no:
                raise rd.fail(f"{where}.formula", "refers to itself")
            if out[r - 1].formula_text is not None and r > no:
                raise rd.fail(f"{where}.formula", f"refers to the later formula column {r}")
        old = out[no - 1]
        out[no - 1] = Column(**{**old.__dict__, "formula": node, "formula_text": text_})
    return out


def _checks(rd: _Reader, raw: Any, columns: Sequence[Column], rows: str) -> list[Check]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise rd.fail("checks", "needs a list of {rule: ...}")
    out = []
    for i, c in enumerate(raw, start=1):
        where = f"checks[{i}]"
        c = rd.mapping(c, where, _CHECK_KEYS)
        text = rd.text(c.get("rule"), f"{where}.rule")
        assert text is not None
        try:
            chain = parse_check(text, _resolver(rd, columns, where))
        except ValueError as e:
            raise rd.fail(f"{where}.rule", str(e)) from None
        for no in chain_refs(chain):
            col = columns[no - 1]
            if col.source == "field" and col.field not in NUMERIC_FIELDS:
                raise rd.fail(f"{where}.rule", f"column {no} ({col.key}) is not a number")
        tol = c.get("tolerance", 0)
        if not isinstance(tol, int | float) or isinstance(tol, bool) or tol < 0:
            raise rd.fail(f"{where}.tolerance", "a number >= 0")
        scope = rd.choice(c.get("rows"), f"{where}.rows", ("all", "units", "total"), "all")
        if rows == "person" and scope != "all":
            raise rd.fail(f"{where}.rows", "a roster's checks apply to every person")
        out.append(
            Check(text, chain, str(scope), float(tol),
                  str(rd.choice(c.get("basis"), f"{where}.basis", ("stated", "inferred"), "inferred")),
                  rd.text(c.get("note"), f"{where}.note", required=False, max_len=400))
        )  # fmt: skip
    return out
