"""Importing a register file (台账导入): the database part — remembered mappings, the org tree's
places, the write through the registry service (:mod:`.write`), and the outcome. The reading and
checking is pure (:mod:`.source`, :mod:`.header`, :mod:`.rows`).

One transaction: with any refused row nothing is written (:class:`ImportRefused`; the caller's
session rolls back), unless ``skip_invalid`` — then the good rows are written and the refused ones go
to the reject workbook (:mod:`.report`). Every row is checked, by the pure checks and by the
registry service (data scope, cross-checks with the ID, tag rules, households that must exist), so
that one run reports every refused row: when the import is going to be refused anyway, or for a
``dry_run``, the writes happen inside a savepoint that is rolled back. A refused row is checked
further, without its refused values (write.probe_rows), so that one run reports every error of it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhizhi.core import audit
from zhizhi.core import time as ztime
from zhizhi.core.access import Actor, require, scope_of
from zhizhi.core.errors import FieldError, InvalidInput, NotFound
from zhizhi.org import service as org
from zhizhi.org.models import OrgUnit
from zhizhi.registry import rules
from zhizhi.registry.intake.header import IGNORE, KINDS, column_letter, normalize_header, synonyms
from zhizhi.registry.intake.location import Places
from zhizhi.registry.intake.report import default_reject_path, reject_path_problem, write_rejects
from zhizhi.registry.intake.result import ImportRefused, ImportResult
from zhizhi.registry.intake.rows import BadRow, Prepared, SheetPlan, plan_sheets, prepare_rows
from zhizhi.registry.intake.source import read_workbook, rows_at
from zhizhi.registry.intake.write import (
    Outcome,
    probe_rows,
    service_issues,
    without_refused,
    write_records,
)
from zhizhi.registry.models import ImportMapping

MAX_NAME = 72
"""A mapping name and a source key: at most this many characters (registry.rules.parse_source)."""


# --- mappings ---------------------------------------------------------------------------------------------


def slug(text: str) -> str:
    """A mapping name or source key from free text: spaces, ``:`` and ``|`` become ``-``, at most
    :data:`MAX_NAME` characters."""
    s = "".join("-" if (c.isspace() or c in ":|") else c for c in text.strip())
    return s[:MAX_NAME].strip("-") or "import"


def get_mapping(session: Session, name: str) -> ImportMapping | None:
    """The remembered mapping ``name``, or None."""
    return session.scalar(select(ImportMapping).where(ImportMapping.name == name))


def list_mappings(session: Session) -> list[dict[str, Any]]:
    """Every remembered mapping: name, kind, columns (header → field), who saved it and when."""
    rows = session.scalars(select(ImportMapping).order_by(ImportMapping.name))
    return [
        {"name": m.name, "kind": m.kind, "columns": dict(m.columns), "updated_by": m.updated_by,
         "updated_at": m.updated_at.isoformat()}
        for m in rows
    ]  # fmt: skip


def _save_mapping(session: Session, actor: Actor, existing: ImportMapping | None, name: str, kind: str,
                  columns: dict[str, str]) -> None:  # fmt: skip
    now = ztime.utcnow()
    if existing is None:
        session.add(ImportMapping(name=name, kind=kind, columns=columns, created_by=actor.username,
                                  created_at=now, updated_by=actor.username, updated_at=now))  # fmt: skip
    else:
        existing.columns, existing.updated_by, existing.updated_at = columns, actor.username, now
    session.flush()


def parse_column_options(options: Sequence[str], kind: str) -> dict[str, str]:
    """``--column HEADER=FIELD`` options as normalised header (or column letter) → field. FIELD is a
    field of ``kind`` or ``ignore``. Raises InvalidInput naming the option."""
    syn = synonyms()[kind]
    out: dict[str, str] = {}
    for opt in options:
        head, sep, f = opt.rpartition("=")
        f = f.strip()
        if not sep or not head.strip():
            raise InvalidInput(f'--column "{opt}": write HEADER=FIELD, e.g. "户主姓名=ignore"')
        if f not in syn.canonical and f != IGNORE:
            fields = ", ".join([*syn.canonical, IGNORE])
            raise InvalidInput(f'--column "{opt}": "{f}" is not a field of a {kind} file ({fields})')
        h = head.strip()
        key = h if h.isascii() and h.isalpha() and h.isupper() and len(h) <= 3 else normalize_header(h)
        out[key] = f
    return out


# --- places, actor -----------------------------------------------------------------------------------------


def places(session: Session, district: str, area: str | None) -> Places:
    """The towns, villages and grids of ``district`` from the org tree, and the import's ``area``
    (a loaded town, village or grid code; None: the whole district). Raises InvalidInput for an
    unknown area code or one outside the district."""
    if area is not None:
        try:
            unit = org.get_unit(session, area)
        except NotFound:
            raise InvalidInput(f'--org "{area}": not a known org unit code') from None
        if unit.level not in ("district", "town", "village", "grid") or unit.district_code != district:
            raise InvalidInput(f'--org "{area}": not a town, village or grid of district {district}')
    rows = session.execute(
        select(OrgUnit.code, OrgUnit.name, OrgUnit.level).where(
            OrgUnit.district_code == district, OrgUnit.level.in_(("district", "town", "village", "grid"))
        )
    ).all()
    return Places([(r[0], r[1], r[2]) for r in rows], area)


def platform_actor(district: str) -> Actor:
    """The platform itself (平台, role ``system``) acting in ``district``: the default actor of an import
    run on the server (``zhizhi registry import`` without ``--as``)."""
    return Actor(None, "system", "系统", "system", f"{district}-{org.CENTER_SUFFIX}", district)


# --- the import -------------------------------------------------------------------------------------------


def import_file(
    session: Session,
    actor: Actor,
    path: Path,
    kind: str,
    *,
    mapping: str | None = None,
    columns: Mapping[str, str] | None = None,
    source: str | None = None,
    valid_from: date | None = None,
    area: str | None = None,
    skip_invalid: bool = False,
    dry_run: bool = False,
    reject_path: Path | None = None,
) -> ImportResult:
    """Import the register file ``path`` of ``kind`` (resident | household | house | unit) as ``actor``.

    mapping: the name of the column mapping (default: the source's key); when it is remembered it is
    used, headers it does not know are matched by synonym (the mapping is then updated), otherwise
    the mapping is proposed from the header synonyms and saved with the import. columns: overrides,
    normalised header or column letter → field (:func:`parse_column_options`). source: the supplier
    (``import:<key>``, a bare key gets ``import:``; default: ``import:<mapping or file name>``).
    valid_from: the date the values hold from (default today). area: the org unit the file is
    about (town, village or grid code): village names are looked up there first, and a file without
    a village column puts its rows there. skip_invalid: write the good rows, refuse the others.
    dry_run: check every row (through the service too) and write nothing, the mapping included.
    reject_path: where the refused rows go (default ``<name>.rejects.xlsx`` beside the file).

    Returns the :class:`ImportResult`. Raises Forbidden (the actor's role may not import),
    InvalidInput for a file that cannot be read or mapped (file, sheet, column and reason), and
    :class:`ImportRefused` when rows are refused without ``skip_invalid``: the reject workbook is
    written and ``result`` attached; rows the service may have flushed before it found a refused one
    are undone by the caller's rollback, as for any exception (services flush, never commit).
    """
    require(actor, "registry.import")
    if kind not in KINDS:
        raise InvalidInput(f'--kind "{kind}": use one of {", ".join(KINDS)}')
    reject = reject_path or default_reject_path(path)
    why = reject_path_problem(path, reject)
    if why:
        raise InvalidInput(f"reject file {reject}: {why}")
    syn = synonyms()[kind]
    defaulted = source is None
    if source is None:
        source = f"import:{slug(mapping or path.stem)}"
    elif ":" not in source:
        source = f"import:{slug(source)}"
    try:
        source = rules.parse_source(source)
    except ValueError as e:
        raise InvalidInput(f"--source: {e}") from None
    name = slug(mapping or source.split(":", 1)[1])
    saved = get_mapping(session, name)
    if saved is not None and saved.kind != kind:
        raise InvalidInput(f'mapping "{name}" is for {saved.kind} files, not {kind}: give another --mapping')
    district = area[:6] if area else actor.district_code or scope_of(actor).code[:6]
    where = places(session, district, area)
    res = ImportResult(str(path), kind, source=source, source_defaulted=defaulted, mapping_name=name,
                       dry_run=dry_run)  # fmt: skip
    wb = read_workbook(path)
    try:
        res.file_type, res.encoding = wb.file_type, wb.encoding
        plans = plan_sheets(wb, syn, dict(saved.columns) if saved else None, columns, name)
        try:
            prep = prepare_rows(plans, syn, where)
        except InvalidInput as e:  # a column without header: name the file too
            raise InvalidInput(f"{path}: {e.detail}", e.errors) from None
    finally:
        wb.close()
    new_columns = _mapping_of(plans, remembered=saved is not None)
    if saved is None:
        res.mapping_status = "proposed"
    else:
        same = dict(saved.columns) == {**saved.columns, **new_columns}
        res.mapping_status = "remembered" if same else "changed"
    per_sheet: dict[int, int] = {}
    for r in prep.records:
        per_sheet[r[0]] = per_sheet.get(r[0], 0) + 1
    for b in prep.bad:
        per_sheet[b.sheet] = per_sheet.get(b.sheet, 0) + 1
    for si, p in enumerate(plans):
        if p.header is None or p.columns is None:
            res.sheets.append({"name": p.name, "skipped": p.skipped})
            continue
        n = per_sheet.get(si, 0)
        res.sheets.append({"name": p.name, "header_rows": p.header.rows_shown(), "rows_read": n})
        for i, f in sorted(p.columns.fields.items()):
            res.columns.append({"sheet": p.name, "column": column_letter(i), "header": p.header.texts[i],
                                "field": f, "how": p.columns.how[i]})  # fmt: skip
    res.rows_read, res.left_out = prep.rows_read, prep.left_out
    refused = bool(prep.bad) and not skip_invalid
    trial = dry_run or refused
    nested = session.begin_nested() if trial else None
    try:
        outcome = write_records(
            session, actor, kind, prep, source, valid_from, path.name[-200:],
            lambda r: _ref(path, plans[r[0]].name, r[1]),
        )  # fmt: skip
        bad = _refused_rows(session, actor, kind, path, plans, prep, outcome, source, valid_from)
    finally:
        if nested is not None:
            nested.rollback()
    res.created, res.updated, res.unchanged = outcome.created, outcome.updated, outcome.unchanged
    res.conflicts, res.rows_with_conflicts = outcome.conflicts, outcome.rows_with_conflicts
    res.invalid, res.valid = len(bad), prep.rows_read - len(bad)
    res.issues = [i for b in bad for i in b.issues] + prep.warnings
    if bad:
        try:
            write_rejects(reject, plans, bad)
        except OSError as e:
            raise InvalidInput(
                f"{reject}: cannot write the reject workbook ({e.strerror}); nothing imported"
            ) from None
        res.reject_file = str(reject)
    if bad and not skip_invalid and not dry_run:
        res.created = res.updated = res.unchanged = res.conflicts = res.rows_with_conflicts = 0
        first = res.errors()[0]
        raise ImportRefused(
            f"{path}: {len(bad)} of {prep.rows_read} rows refused, nothing imported (fix them in the "
            f"file and import it again, or use --skip-invalid to import the {res.valid} good rows); "
            f"first: {first.line()}",
            [FieldError(i.field, i.reason, line=i.row, column=f"{i.letter} {i.header}".strip() or None,
                        value=i.value or None) for i in res.errors()],
            result=res,
        )  # fmt: skip
    audit_rejects(session, actor, res, area)
    if dry_run:
        return res
    if res.mapping_status != "remembered":
        _save_mapping(session, actor, saved, name, kind, {**(saved.columns if saved else {}), **new_columns})
        res.mapping_status = "saved" if saved is None else "updated"
    res.written = True
    return res


def audit_rejects(session: Session, actor: Actor, res: ImportResult, area: str | None = None) -> None:
    """Record the reject workbook of ``res`` in the audit log (审计: an export of personal data — its
    values are not masked). Flushes; the caller commits. Nothing when no workbook was written."""
    if not res.reject_file:
        return
    detail = {"file": Path(res.file).name[-200:], "reject_file": res.reject_file[-300:]}
    audit.record(
        session,
        actor=actor.username,
        actor_role=actor.role,
        action=audit.Action.export,
        object_type="register_import",
        scope=area or actor.district_code or None,
        reason="reject workbook of a register import (导入退回表)",
        detail={**detail, "rows": res.invalid, "kind": res.kind},
    )


def _refused_rows(
    session: Session,
    actor: Actor,
    kind: str,
    path: Path,
    plans: Sequence[SheetPlan],
    prep: Prepared,
    outcome: Outcome,
    source: str,
    valid_from: date | None,
) -> list[BadRow]:
    """Every refused row with every one of its errors, in sheet and row order: the rows the pure
    checks refused and those the registry service refused (their cells read again from ``path``),
    each then checked further by the service without its refused values (write.probe_rows), so
    that one run reports all the errors of every row."""
    bad = list(prep.bad)
    probes = [(b, prep.data((b.sheet, b.row, b.values))) for b in prep.bad if b.values is not None]
    refused_by_service = [(prep.records[i], err) for i, err in outcome.refused]
    if refused_by_service:
        wanted: dict[str, set[int]] = {}
        for rec, _ in refused_by_service:
            wanted.setdefault(plans[rec[0]].name, set()).add(rec[1])
        cells = rows_at(path, wanted)
        for rec, err in refused_by_service:
            row = cells.get((plans[rec[0]].name, rec[1]), [])
            b = BadRow(rec[0], rec[1], row, service_issues(plans[rec[0]], rec[1], row, err))
            bad.append(b)
            rest = without_refused(prep.data(rec), err.errors or [], kind)
            if rest is not None:
                probes.append((b, rest))
    if probes:
        probe_rows(
            session, actor, kind, plans, probes, source, valid_from, path.name[-200:],
            lambda b: _ref(path, plans[b.sheet].name, b.row),
        )  # fmt: skip
    for b in bad:
        b.sort_issues()
    bad.sort(key=lambda b: (b.sheet, b.row))
    return bad


def _mapping_of(plans: Sequence[SheetPlan], remembered: bool) -> dict[str, str]:
    """The mapping the sheets were read with (normalised header → field). With a remembered mapping,
    columns read over by the ignore list (序号, 错误原因 of a reject workbook …) are not added to it."""
    out: dict[str, str] = {}
    for p in plans:
        if p.header is None or p.columns is None:
            continue
        for i, f in p.columns.fields.items():
            if remembered and f == IGNORE and p.columns.how[i] == "synonym":
                continue
            out[p.header.keys[i]] = f
    return out


def _ref(path: Path, sheet: str, row: int) -> str:
    """The change's reference to the row that supplied it (field-level provenance)."""
    return f"{path.name}#{sheet}!{row}"[-200:]


__all__ = [
    "ImportRefused",
    "ImportResult",
    "audit_rejects",
    "get_mapping",
    "import_file",
    "list_mappings",
    "parse_column_options",
    "places",
    "platform_actor",
    "slug",
]
