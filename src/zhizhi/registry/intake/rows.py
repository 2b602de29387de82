"""From sheets to records (逐行校验): find each sheet's header, map its columns, and turn every data row
into the plain mapping the registry service takes, or into row issues (sheet, row, column, masked
value, reason). Pure: the org units, the remembered mapping and the synonyms are passed in.

Rows that are not data are left out and counted: blank rows, a row of column numbers under the header
(``1 2 3 …`` or ``(1) (2) …``, common on official forms) and footer rows (``合计``, ``填表人：…``,
``审核人``) without a key.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from itertools import chain, islice, repeat
from typing import Any

from zhizhi.core.errors import FieldError, InvalidInput
from zhizhi.registry.intake.fast import FastIdentifiers
from zhizhi.registry.intake.fields import Column, parsers, plain
from zhizhi.registry.intake.header import (
    IGNORE,
    KEY_FIELDS,
    LOCATION_FIELDS,
    NOT_STORED,
    SCAN_ROWS,
    ColumnMap,
    ColumnProblem,
    Header,
    Synonyms,
    best_candidate,
    column_letter,
    find_header,
    map_columns,
)
from zhizhi.registry.intake.location import LocationError, Places
from zhizhi.registry.intake.relation import RelationCheck
from zhizhi.registry.intake.source import Cell, Workbook
from zhizhi.registry.intake.values import shown_value

FOOTER = re.compile(
    r"^\s*(合\s*计|总\s*计|小\s*计|填表人|填报人|制表人|审核人|负责人|联系人|单位负责人|填表日期|填报日期|备注|说明|注[:：])"
)
_COLUMN_NUMBER = re.compile(r"[(（]?(\d{1,3})[)）]?")


@dataclass
class RowIssue:
    """One problem (or warning) of one row: ``sheet``, ``row`` as the spreadsheet shows it, column
    ``letter`` and ``header`` (empty for a row-wide problem), the ``field``, the ``value`` as shown
    (personal values masked) and the ``reason``."""

    sheet: str
    row: int
    letter: str
    header: str
    field: str
    value: str
    reason: str
    level: str = "error"

    def line(self) -> str:
        """The report line: ``sheet 花名册, row 7, column C (公民身份号码), value 500118********1234: …``."""
        where = f"sheet {self.sheet}, row {self.row}"
        if self.letter:
            where += f", column {self.letter} ({self.header})"
        elif self.field:
            where += f", field {self.field}"
        shown = f", value {self.value}" if self.value else ""
        return f"{where}{shown}: {self.reason}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "sheet": self.sheet, "row": self.row, "column": self.letter, "header": self.header,
            "field": self.field, "value": self.value, "reason": self.reason, "level": self.level,
        }  # fmt: skip


@dataclass
class SheetPlan:
    """A sheet ready to be read: its header, the column → field map and, per mapped column, the
    parser; ``skipped`` says why a sheet is not read (hidden, empty, no header)."""

    name: str
    header: Header | None = None
    columns: ColumnMap | None = None
    skipped: str | None = None
    rows_iter: Iterator[list[Cell]] | None = None
    head: list[list[Cell]] = field(default_factory=list)


Record = tuple[int, int, tuple[Any, ...]]
"""A good row: (sheet index, spreadsheet row number, values in the order of ``Prepared.keys[sheet]``).
Rows are kept this small because a file may hold a district's million people."""


@dataclass
class BadRow:
    """A refused row: its sheet index, spreadsheet row number, cells as read, and its issues.
    ``values``: the row's record values (in the order of ``Prepared.keys[sheet]``) with the refused
    ones left out (None), so that the registry service can still check the other columns
    (intake.write.probe_rows); None when the row was refused by the service."""

    sheet: int
    row: int
    cells: list[Cell]
    issues: list[RowIssue]
    values: tuple[Any, ...] | None = None

    def sort_issues(self) -> None:
        """The issues in column order (A, B … Z, AA …), row-wide ones last; stable."""
        self.issues.sort(key=lambda i: (not i.letter, len(i.letter), i.letter))


@dataclass
class Prepared:
    """What reading a workbook gave: the sheet plans, good records (values in the order of
    ``keys[sheet]``, the service's keys), bad rows, warnings, and counts of rows read (data rows)
    and left out (blank, column numbers, footers)."""

    plans: list[SheetPlan]
    keys: dict[int, tuple[str, ...]] = field(default_factory=dict)
    records: list[Record] = field(default_factory=list)
    bad: list[BadRow] = field(default_factory=list)
    warnings: list[RowIssue] = field(default_factory=list)
    rows_read: int = 0
    left_out: int = 0

    def data(self, rec: Record) -> dict[str, Any]:
        """The registry service's mapping of a record (empty cells left out: "not supplied")."""
        return {k: v for k, v in zip(self.keys[rec[0]], rec[2], strict=True) if v is not None}


# --- planning the sheets ---------------------------------------------------------------------------------


def plan_sheets(
    wb: Workbook,
    syn: Synonyms,
    remembered: Mapping[str, str] | None = None,
    given: Mapping[str, str] | None = None,
    mapping_name: str | None = None,
) -> list[SheetPlan]:
    """Find each visible sheet's header and map its columns (header.map_columns). Hidden sheets,
    empty sheets and sheets with text but no header are skipped (the plan says why).
    Raises InvalidInput naming the file, sheet, column letter and header for every unknown or
    ambiguous column or a missing key column, and when no sheet has a header."""
    plans: list[SheetPlan] = []
    problems: list[tuple[str, ColumnProblem]] = []
    for sheet in wb.sheets:
        plan = SheetPlan(sheet.name)
        plans.append(plan)
        if sheet.hidden:
            plan.skipped = "hidden sheet"
            continue
        head: list[list[Cell]] = []
        for row in sheet.rows:
            head.append(row)
            if len(head) >= SCAN_ROWS:
                break
        plan.head, plan.rows_iter = head, sheet.rows
        header = find_header(head, sheet.merged, syn)
        if header is None:
            best = best_candidate(head, sheet.merged, syn)
            if best is None:
                plan.skipped = "empty sheet"
            else:
                plan.skipped = (
                    f"no header row in rows 1-{len(head)} (closest: row {best[0] + 1}, {best[1]} of "
                    f"{best[2]} headers known for a {syn.kind} file)"
                )
            continue
        plan.header = header
        plan.columns = map_columns(header, syn, remembered, given, mapping_name)
        problems += [(sheet.name, p) for p in plan.columns.problems]
        present = set(plan.columns.fields.values())
        if not plan.columns.problems and not present & set(KEY_FIELDS[syn.kind]):
            need = " or ".join(syn.canonical[k] for k in KEY_FIELDS[syn.kind])
            why = f"no {need} column (header rows {header.rows_shown()}): a {syn.kind} file needs one"
            problems.append((sheet.name, ColumnProblem(-1, "", why)))
    if problems:
        errors = [
            FieldError(p.header or "header", p.reason, column=_where(sheet, p)) for sheet, p in problems
        ]
        first_sheet, first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise InvalidInput(f"{wb.path}: {_where(first_sheet, first)}: {first.reason}{more}", errors)
    if not any(p.header for p in plans):
        why = "; ".join(f"sheet {p.name}: {p.skipped}" for p in plans) or "no sheet"
        raise InvalidInput(f"{wb.path}: no sheet has a header row for a {syn.kind} file ({why})")
    return plans


def _where(sheet: str, p: ColumnProblem) -> str:
    if p.index < 0:
        return f"sheet {sheet}"
    return f"sheet {sheet}, column {column_letter(p.index)} ({p.header})"


CHUNK = 4096
"""Rows are checked column by column in chunks of this many rows."""


def _is_column_numbers(row: list[Cell]) -> bool:
    """A row of column numbers under a header: 3+ cells 1, 2, 3 … (or (1), (2) …) and nothing else."""
    nums = []
    for c in row:
        if c == "" or c is None:
            continue
        if isinstance(c, int | float) and not isinstance(c, bool) and float(c).is_integer():
            nums.append(int(c))
            continue
        m = _COLUMN_NUMBER.fullmatch(str(c).strip())
        if m is None:
            return False
        nums.append(int(m.group(1)))
    return len(nums) >= 3 and nums == list(range(nums[0], nums[0] + len(nums)))


def _is_footer(row: list[Cell], key_cols: list[int]) -> bool:
    for i in key_cols:
        if i < len(row) and row[i] != "":
            return False
    texts = [c for c in row if c != ""]
    return 0 < len(texts) <= 3 and any(isinstance(c, str) and FOOTER.match(c) for c in texts)


class _SheetReader:
    """Checks the data rows of one planned sheet in chunks (see :func:`prepare_rows`)."""

    def __init__(self, out: Prepared, si: int, plan: SheetPlan, syn: Synonyms, places: Places,
                 fast: FastIdentifiers, seen: dict[str, tuple[str, int]]) -> None:  # fmt: skip
        assert plan.header is not None and plan.columns is not None
        self.out, self.si, self.plan, self.syn, self.places, self.seen = out, si, plan, syn, places, seen
        self.header, self.cmap = plan.header, plan.columns
        specs = parsers(syn)
        fast_of: dict[str, Callable[[object], str | None]] = {
            "citizen_id": fast.citizen_id,
            "head_citizen_id": fast.citizen_id,
            "phone": fast.mobile,
            "name": plain,
            "legal_rep": plain,
        }
        self.cols: list[Column] = []
        self.loc: dict[str, int] = {}
        self.pos: dict[str, int] = {}
        """Field → its position in ``cols`` (and in a record)."""
        keys: list[str] = []
        for i, f in sorted(self.cmap.fields.items()):
            if f in LOCATION_FIELDS:
                self.loc[f] = i
            elif f != IGNORE and f not in NOT_STORED:
                skey, parse, cacheable = specs[f]
                self.pos[f] = len(self.cols)
                self.cols.append(Column(i, f, parse, {} if cacheable else None, fast_of.get(f)))
                keys.append(skey)
        keys += ["village_code", "grid_code"]
        out.keys[si] = tuple(keys)
        self.key_fields = [f for f in KEY_FIELDS[syn.kind] if self.cmap.column_of(f) is not None]
        self.key_pos = [next(j for j, c in enumerate(self.cols) if c.name == f) for f in self.key_fields]
        self.key_cols = [self.cmap.column_of(f) or 0 for f in self.key_fields]
        self.width = len(self.header.texts)
        self.headless = [i for i, t in enumerate(self.header.texts) if not t]
        self.loc_cache: dict[tuple[Cell, ...], tuple[str | None, str | None] | LocationError] = {}
        index = {c.name: c.index for c in self.cols}
        self.relations = RelationCheck(self.pos, index, self.issue)

    def issue(self, row_no: int, name: str, col: int | None, value: Cell, reason: str,
              level: str = "error") -> RowIssue:  # fmt: skip
        letter = column_letter(col) if col is not None else ""
        text = self.header.texts[col] if col is not None and col < len(self.header.texts) else ""
        return RowIssue(self.plan.name, row_no, letter, text, name, shown_value(name, value), reason, level)

    def read(self, headless_count: dict[tuple[str, int], int]) -> None:
        start = self.header.data_start
        rows = enumerate(
            islice(chain(self.plan.head, self.plan.rows_iter or ()), start, None), start=start + 1
        )
        first = True
        while True:
            chunk = list(islice(rows, CHUNK))
            if not chunk:
                self.relations.finish(self.out.warnings)
                return
            if first:  # a row of column numbers right under the header is left out
                j = next((j for j, (_, row) in enumerate(chunk) if row.count("") < len(row)), None)
                if j is not None:
                    first = False
                    if _is_column_numbers(chunk[j][1]):
                        self.out.left_out += 1
                        del chunk[j]
            self.check(chunk, headless_count)

    def _location(
        self,
        chunk: list[tuple[int, list[Cell]]],
        cols: list[tuple[Cell, ...]],
        issues: dict[int, list[RowIssue]],
    ) -> tuple[list[str | None], list[str | None]]:
        n = len(chunk)
        order = [f for f in ("town", "village", "grid") if f in self.loc]
        idx = [self.loc[f] for f in order]
        keys: list[tuple[Cell, ...]] = list(zip(*(cols[i] for i in idx), strict=True)) if idx else [()] * n
        cache = self.loc_cache
        for key in set(keys).difference(cache):
            cells: dict[str, Cell] = dict(zip(order, key, strict=True))
            try:
                cache[key] = self.places.resolve(*(cells.get(f, "") for f in ("town", "village", "grid")))
            except LocationError as e:
                cache[key] = e
        hits = list(map(cache.__getitem__, keys))
        errors = any(type(cache[k]) is LocationError for k in set(keys))
        if errors:
            for j, (key, h) in enumerate(zip(keys, hits, strict=True)):
                if isinstance(h, LocationError):
                    col = self.loc.get(h.field, idx[0] if idx else None)
                    by_field: dict[str, Cell] = dict(zip(order, key, strict=True))
                    value = by_field.get(h.field, key[0] if key else "")
                    issues.setdefault(j, []).append(self.issue(chunk[j][0], h.field, col, value, str(h)))
            return (
                [h[0] if isinstance(h, tuple) else None for h in hits],
                [h[1] if isinstance(h, tuple) else None for h in hits],
            )
        return [h[0] for h in hits], [h[1] for h in hits]  # type: ignore[index]

    def _drop_blank_and_footers(self, chunk: list[tuple[int, list[Cell]]]) -> list[tuple[int, list[Cell]]]:
        """The chunk without blank rows and footer rows (合计, 填表人 … without a key); footers counted."""
        kc = self.key_cols
        if len(kc) == 1:
            k = kc[0]
            empty = [j for j, (_, row) in enumerate(chunk) if k >= len(row) or row[k] == ""]
        else:
            empty = [j for j, (_, row) in enumerate(chunk) if all(i >= len(row) or row[i] == "" for i in kc)]
        if not empty:
            return chunk
        drop = set()
        for j in empty:
            row = chunk[j][1]
            if row.count("") == len(row):
                drop.add(j)
            elif _is_footer(row, kc):
                drop.add(j)
                self.out.left_out += 1
        return [c for j, c in enumerate(chunk) if j not in drop] if drop else chunk

    def check(self, chunk: list[tuple[int, list[Cell]]], headless_count: dict[tuple[str, int], int]) -> None:
        chunk = self._drop_blank_and_footers(chunk)
        if not chunk:
            return
        out, n = self.out, len(chunk)
        out.rows_read += n
        issues: dict[int, list[RowIssue]] = {}
        rows = [row for _, row in chunk]
        width = max(map(len, rows))
        if min(map(len, rows)) < width:  # text files: rows of different lengths
            rows = [r + [""] * (width - len(r)) for r in rows]
        cols: list[tuple[Cell, ...]] = list(zip(*rows, strict=True))
        for i in [*self.headless, *range(self.width, width)]:
            if i < width:
                filled = n - cols[i].count("")
                if filled:
                    headless_count[(self.plan.name, i)] = headless_count.get((self.plan.name, i), 0) + filled
        columns: list[list[Any]] = []
        for c in self.cols:
            values = cols[c.index] if c.index < width else ("",) * n
            warned: list[tuple[int, str]] = []
            parsed, bad = c.run(values, warned)
            for j in bad:
                why = parsed[j].reason
                issues.setdefault(j, []).append(self.issue(chunk[j][0], c.name, c.index, values[j], why))
                parsed[j] = None
            for j, w in warned:
                out.warnings.append(self.issue(chunk[j][0], c.name, c.index, values[j], w, "warning"))
            columns.append(parsed)
        self.relations.check([r for r, _ in chunk], cols, columns, issues, out.warnings)
        villages, grids = self._location(chunk, cols, issues)
        columns += [villages, grids]
        self._keys(chunk, columns, issues)
        records: list[tuple[Any, ...]] = list(zip(*columns, strict=True))
        si = self.si
        if not issues:
            out.records.extend(zip(repeat(si), [row_no for row_no, _ in chunk], records, strict=False))
            return
        for j, ((row_no, row), values) in enumerate(zip(chunk, records, strict=True)):
            row_issues = issues.get(j)
            if row_issues:
                out.bad.append(BadRow(si, row_no, row, row_issues, values))
            else:
                out.records.append((si, row_no, values))

    def _keys(self, chunk: list[tuple[int, list[Cell]]], columns: list[list[Any]],
              issues: dict[int, list[RowIssue]]) -> None:  # fmt: skip
        """The key of each row: required, and not repeated within the file (the later row refused)."""
        seen, name, fields = self.seen, self.plan.name, self.key_fields
        keycols = [columns[p] for p in self.key_pos]
        keys = keycols[0] if len(keycols) == 1 else [next((k for k in ks if k is not None), None)
                                                    for ks in zip(*keycols, strict=True)]  # fmt: skip
        for j, key in enumerate(keys):
            row_no = chunk[j][0]
            if key is None:
                row_issues = issues.get(j)
                if row_issues is None or not any(i.field in fields for i in row_issues):
                    f = fields[0]
                    why = f"required: {self.syn.canonical[f]}"
                    issues.setdefault(j, []).append(self.issue(row_no, f, self.cmap.column_of(f), "", why))
                continue
            before = seen.setdefault(key, (name, row_no))
            if before[1] != row_no or before[0] != name:
                f = next(fields[k] for k, kc in enumerate(keycols) if kc[j] is not None)
                where = f"row {before[1]}" + (f" of sheet {before[0]}" if before[0] != name else "")
                why = f"repeats {where}: the same {self.syn.canonical[f]} twice in the file"
                issues.setdefault(j, []).append(self.issue(row_no, f, self.cmap.column_of(f), key, why))


def prepare_rows(
    plans: list[SheetPlan], syn: Synonyms, places: Places, today: date | None = None
) -> Prepared:
    """Read every data row of the planned sheets into a :data:`Record` (the service's values) or a
    :class:`BadRow` (its issues). Rows are checked here as far as no database is needed: identifiers
    (registry.identifiers, with the equivalent fast paths of :mod:`.fast`: check characters, numbers
    that lost digits …), dates, tags, coded spellings, places, the key present, and the key
    repeated within the file (the later row is refused, naming the earlier one). ``today``: the
    latest plausible birth date (default today). Values in a column without a header refuse the
    file: raises InvalidInput naming the sheet and column."""
    out = Prepared(plans)
    seen: dict[str, tuple[str, int]] = {}
    headless: dict[tuple[str, int], int] = {}
    fast = FastIdentifiers(today)
    for si, plan in enumerate(plans):
        if plan.header is None or plan.columns is None or plan.rows_iter is None:
            continue
        _SheetReader(out, si, plan, syn, places, fast, seen).read(headless)
    out.bad.sort(key=lambda b: (b.sheet, b.row))
    order = {p.name: i for i, p in enumerate(plans)}
    out.warnings.sort(key=lambda w: (order.get(w.sheet, 0), w.row, len(w.letter), w.letter))
    if headless:
        why = "row(s) have values but the column has no header"
        errors = [
            FieldError("column", f"{n} {why}", column=f"{s}!{column_letter(i)}")
            for (s, i), n in sorted(headless.items())
        ]
        (s, i), n = sorted(headless.items())[0]
        raise InvalidInput(
            f"sheet {s}, column {column_letter(i)}: {n} {why}: give it a header (or delete the values)",
            errors,
        )
    return out


__all__ = [
    "BadRow",
    "Prepared",
    "Record",
    "RowIssue",
    "SheetPlan",
    "plan_sheets",
    "prepare_rows",
]
