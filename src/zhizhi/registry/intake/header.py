"""Headers (表头): the synonyms of each field (``registry/data/header_synonyms.yaml``), finding the
header rows of a sheet (a title row and multi-row merged headers included), joining a merged parent
header with its children, and proposing the column → field mapping. Pure: plain values in and out.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml

from zhizhi.registry.intake.source import Cell

KINDS = ("resident", "household", "house", "unit")
IGNORE = "ignore"
"""The field of a column that is read over (序号, 备注 …, or named so with ``--column``)."""
LOCATION_FIELDS = ("town", "village", "grid")
NOT_STORED = ("head_name",)
"""Fields that are recognised but not written (see header_synonyms.yaml)."""
KEY_FIELDS = {
    "resident": ("citizen_id",),
    "household": ("number",),
    "house": ("code",),
    "unit": ("uscc", "org_code"),
}
"""The identity column(s) of each kind: one of them must be present."""
SCAN_ROWS = 30
"""Header rows are looked for in the first rows of a sheet."""
MAX_HEADER_ROWS = 3

_NOTES = re.compile(r"[(（\[【](?:必填|选填|可选|必录|选录|非必填)[)）\]】]")
_STRIP = re.compile(r"[\s*＊※:：]+")


def normalize_header(text: object) -> str:
    """A header as compared: NFKC (full-width brackets, letters and digits folded), every space and
    line break, ``*`` mark, colon and (必填)/(选填) note removed, Latin letters lower-cased.
    ``"公民身份\\n号码（必填）"`` → ``"公民身份号码"``; anything that is not text is rendered with str()."""
    s = text if isinstance(text, str) else ("" if text is None else str(text))
    s = unicodedata.normalize("NFKC", s)
    s = _NOTES.sub("", s)
    return _STRIP.sub("", s).lower()


def column_letter(index: int) -> str:
    """Spreadsheet column letters of a 0-based column index: 0 → ``A``, 25 → ``Z``, 26 → ``AA``."""
    n, out = index + 1, ""
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


@dataclass(frozen=True)
class Synonyms:
    """The synonym tables of one kind: normalised header → field, the canonical header of each
    field, the ignored headers, and the value spellings (``values[field][spelling] = code``)."""

    kind: str
    by_header: dict[str, str]
    canonical: dict[str, str]
    ignore: frozenset[str]
    values: dict[str, dict[str, str]]

    def match(self, header: str) -> str | None:
        """The field of a (joined, normalised) header, :data:`IGNORE`, or None. A joined header
        ``parent/child`` is tried as written, run together, then part by part from the last."""
        if not header:
            return None
        parts = header.split("/")
        tries = [header, "".join(parts), *reversed(parts)] if len(parts) > 1 else [header]
        for t in tries:
            if t in self.by_header:
                return self.by_header[t]
            if t in self.ignore:
                return IGNORE
        return None

    def fields(self) -> list[str]:
        return list(self.canonical)


def parse_synonyms(raw: Any, source: str = "header_synonyms.yaml") -> dict[str, Synonyms]:
    """Check and build the synonym tables from their parsed YAML (``{fields: {kind: {field: [header
    …]}}, values: {field: {spelling: code}}, ignore: [header …]}``). Raises ValueError naming
    ``source`` and the key for an unknown kind, an empty list, a header given to two fields of one
    kind, or a value table that is not a mapping of text."""
    if not isinstance(raw, dict) or not isinstance(raw.get("fields"), dict):
        raise ValueError(f"{source}: needs a 'fields' mapping of kind → field → headers")
    ignore_raw = raw.get("ignore") or []
    if not isinstance(ignore_raw, list) or not all(isinstance(h, str) for h in ignore_raw):
        raise ValueError(f"{source}: ignore: needs a list of headers")
    ignore = frozenset(normalize_header(h) for h in ignore_raw)
    values: dict[str, dict[str, str]] = {}
    for name, table in (raw.get("values") or {}).items():
        if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
            raise ValueError(f"{source}: values.{name}: needs a mapping of spelling → code (quoted)")
        values[str(name)] = {str(k).strip(): v for k, v in table.items()}
    out: dict[str, Synonyms] = {}
    for kind, fields in raw["fields"].items():
        if kind not in KINDS:
            raise ValueError(f"{source}: fields.{kind}: not a register kind ({', '.join(KINDS)})")
        by_header: dict[str, str] = {}
        canonical: dict[str, str] = {}
        for name, headers in (fields or {}).items():
            where = f"{source}: fields.{kind}.{name}"
            if not isinstance(headers, list) or not headers or not all(isinstance(h, str) for h in headers):
                raise ValueError(f"{where}: needs a list of headers")
            canonical[str(name)] = headers[0]
            for h in headers:
                key = normalize_header(h)
                if by_header.get(key, name) != name:
                    raise ValueError(f"{where}: header {h!r} is already a synonym of {by_header[key]}")
                if key in ignore:
                    raise ValueError(f"{where}: header {h!r} is also listed under ignore")
                by_header[key] = str(name)
        for need in KEY_FIELDS[kind]:
            if need not in canonical:
                raise ValueError(f"{source}: fields.{kind}: the key field {need} has no headers")
        out[kind] = Synonyms(kind, by_header, canonical, ignore, values)
    missing = set(KINDS) - set(out)
    if missing:
        raise ValueError(f"{source}: fields: no headers for {', '.join(sorted(missing))}")
    return out


@cache
def synonyms() -> dict[str, Synonyms]:
    """The packaged synonym tables (``registry/data/header_synonyms.yaml``), read and checked once."""
    text = resources.files("zhizhi.registry").joinpath("data/header_synonyms.yaml").read_text("utf-8")
    return parse_synonyms(yaml.safe_load(text))


# --- finding the header ------------------------------------------------------------------------------


@dataclass
class Header:
    """The header of a sheet: its rows (0-based, first to last), the joined text of each column
    (``""`` when blank) as written and normalised, and the first data row (0-based)."""

    first_row: int
    last_row: int
    texts: list[str]
    keys: list[str]

    @property
    def data_start(self) -> int:
        return self.last_row + 1

    def rows_shown(self) -> str:
        """The header rows as a spreadsheet shows them: ``"3"`` or ``"2-3"``."""
        a, b = self.first_row + 1, self.last_row + 1
        return str(a) if a == b else f"{a}-{b}"


def _text(v: Cell) -> str:
    if isinstance(v, str):
        return v.strip()
    if isinstance(v, bool) or v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _one_line(text: str) -> str:
    """A header cell on one line: a line break (Alt+Enter wrapping a long header) is dropped, other
    runs of spaces become one."""
    return " ".join("".join(text.replace("\r", "\n").split("\n")).split())


def _filled(head: Sequence[Sequence[Cell]], merged: Sequence[tuple[int, int, int, int]]) -> list[list[str]]:
    """The first rows as text, each merged range's value copied into every cell it covers."""
    width = max((len(r) for r in head), default=0)
    grid = [[_text(c) for c in r] + [""] * (width - len(r)) for r in head]
    for r0, c0, r1, c1 in merged:
        if r0 >= len(grid) or c0 >= width:
            continue
        v = grid[r0][c0]
        for r in range(r0, min(r1, len(grid) - 1) + 1):
            for c in range(c0, min(c1, width - 1) + 1):
                grid[r][c] = v
    return grid


def _row_score(row: Sequence[str], syn: Synonyms) -> tuple[int, int]:
    """(known, distinct) header texts of one row: a horizontally merged text counts once."""
    distinct: list[str] = []
    for t in row:
        if t and (not distinct or distinct[-1] != t):
            distinct.append(t)
    known = sum(1 for t in distinct if syn.match(normalize_header(t)) is not None)
    return known, len(distinct)


def _is_header_row(row: Sequence[str], syn: Synonyms) -> bool:
    known, distinct = _row_score(row, syn)
    return known >= 2 and 2 * known >= distinct


def find_header(
    head: Sequence[Sequence[Cell]], merged: Sequence[tuple[int, int, int, int]], syn: Synonyms
) -> Header | None:
    """The header of a sheet from its first rows ``head`` (up to :data:`SCAN_ROWS`), or None.

    A header row has at least two cells, and at least half of its distinct texts, that are known
    headers of the kind (synonyms or ignored headers), after merged ranges are filled in; title rows
    above (``XX村低保人员花名册``, ``填报单位：…``) do not qualify. The header is the first such row and
    the rows right below it that qualify too (at most :data:`MAX_HEADER_ROWS`). A column's text
    joins its distinct texts from top to bottom with ``/``: ``家庭成员/姓名`` under a merged
    ``家庭成员``; a vertically merged ``序号`` stays ``序号``."""
    grid = _filled(head[:SCAN_ROWS], merged)
    first = next((i for i, row in enumerate(grid) if _is_header_row(row, syn)), None)
    if first is None:
        return None
    last = first
    while last + 1 < len(grid) and last - first + 1 < MAX_HEADER_ROWS and _is_header_row(grid[last + 1], syn):
        last += 1
    width = max((len(r) for r in grid), default=0)
    texts: list[str] = []
    for c in range(width):
        parts: list[str] = []
        for r in range(first, last + 1):
            t = grid[r][c]
            if t and (not parts or parts[-1] != t):
                parts.append(t)
        texts.append("/".join(_one_line(p) for p in parts))
    while texts and not texts[-1]:
        texts.pop()
    return Header(first, last, texts, [normalize_header(t) for t in texts])


def best_candidate(head: Sequence[Sequence[Cell]], merged: Sequence[tuple[int, int, int, int]], syn: Synonyms
                   ) -> tuple[int, int, int] | None:  # fmt: skip
    """``(row0, known, distinct)`` of the row that comes closest to a header (for the message when
    none qualifies), or None for a sheet with no text in its first rows."""
    grid = _filled(head[:SCAN_ROWS], merged)
    scored = [(i, *_row_score(r, syn)) for i, r in enumerate(grid)]
    scored = [s for s in scored if s[2]]
    return max(scored, key=lambda s: (s[1], -s[0])) if scored else None


# --- the mapping ---------------------------------------------------------------------------------------


@dataclass
class ColumnProblem:
    """A column that cannot be mapped: 0-based ``index``, its header, and the reason."""

    index: int
    header: str
    reason: str


@dataclass
class ColumnMap:
    """Column index → field for one sheet, and the columns each came from: ``how[index]`` is
    ``remembered``, ``synonym`` or ``given`` (``--column``)."""

    fields: dict[int, str] = field(default_factory=dict)
    how: dict[int, str] = field(default_factory=dict)
    problems: list[ColumnProblem] = field(default_factory=list)

    def column_of(self, name: str) -> int | None:
        return next((i for i, f in self.fields.items() if f == name), None)


def map_columns(
    header: Header,
    syn: Synonyms,
    remembered: Mapping[str, str] | None = None,
    given: Mapping[str, str] | None = None,
    mapping_name: str | None = None,
) -> ColumnMap:
    """Map each headed column of ``header`` to a field of ``syn.kind``.

    Order: ``given`` (normalised header or column letter → field, from ``--column``), then the
    ``remembered`` mapping (normalised header → field), then the synonyms. Problems (never guessed
    around): a header that matches nothing (unknown column), a field that two columns map to
    (ambiguous), no column for the kind's key field. In a resident file without a 姓名 column the
    户主姓名 column gives the names (the rows are heads of household)."""
    cm = ColumnMap()
    given = given or {}
    valid = set(syn.canonical) | {IGNORE}
    for i, key in enumerate(header.keys):
        letter = column_letter(i)
        if not key and letter not in given:
            continue
        if letter in given or key in given:
            f = given.get(letter) or given[key]
            how = "given"
        elif remembered is not None and key in remembered:
            f, how = remembered[key], "remembered"
        else:
            f, how = syn.match(key), "synonym"  # type: ignore[assignment]
        if f is None:
            known = ", ".join(syn.canonical[k] for k in syn.fields())
            where = f" (not in mapping {mapping_name})" if remembered is not None else ""
            why = (
                f"unknown column{where}: no field of a {syn.kind} file has this header; rename it to one "
                f"of {known}, or pass --column '{header.texts[i]}=FIELD' (or =ignore)"
            )
            cm.problems.append(ColumnProblem(i, header.texts[i], why))
            continue
        if f not in valid:
            cm.problems.append(
                ColumnProblem(i, header.texts[i], f'"{f}" is not a field of a {syn.kind} file')
            )
            continue
        cm.fields[i], cm.how[i] = f, how
    if syn.kind == "resident" and "name" not in cm.fields.values():
        heads = [i for i, f in cm.fields.items() if f == "head_name"]
        if len(heads) == 1:
            cm.fields[heads[0]] = "name"
    by_field: dict[str, list[int]] = {}
    for i, f in cm.fields.items():
        if f != IGNORE:
            by_field.setdefault(f, []).append(i)
    for f, cols in by_field.items():
        if len(cols) > 1:
            shown = ", ".join(f"{column_letter(c)} ({header.texts[c]})" for c in cols)
            for c in cols:
                why = (
                    f"ambiguous: columns {shown} all map to {f} ({syn.canonical.get(f, f)}); keep one, "
                    f"or pass --column '{header.texts[c]}=ignore'"
                )
                cm.problems.append(ColumnProblem(c, header.texts[c], why))
            for c in cols:
                del cm.fields[c]
    return cm


__all__ = [
    "IGNORE",
    "KINDS",
    "ColumnMap",
    "ColumnProblem",
    "Header",
    "Synonyms",
    "column_letter",
    "find_header",
    "map_columns",
    "normalize_header",
    "parse_synonyms",
    "synonyms",
]
