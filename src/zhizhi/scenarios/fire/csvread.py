"""One row reader for the fire weather CSV files (气象文件逐行读取), parameterised by a layout.

``weather`` (``zhizhi fire fwi``) and ``station`` (``zhizhi fire danger``) each check their header
their own way (two layouts, aliases, hints) and then hand the rows to :func:`read_rows`, which walks
them with the same rules for both: blank lines skipped, the number of fields, then each known column
by its :class:`ColumnSpec` — a number (empty / ``NA`` / not a number / outside its physical range,
wind checked in km/h), a ``YYYY-MM-DD`` date, or a text. Every bad value of the file is collected and
the file refused as a whole (:class:`~zhizhi.core.errors.InvalidInput` naming file, line, column and
reason), so both commands say the same thing about the same mistake.

Relative humidity (相对湿度) slightly above 100 % is a sensor's rounding; with ``clamp=True`` a value
in (100, 101] is taken as 100 and counted (:attr:`RowsRead.clamped`); without it the file is
refused as before, and the refusal carries ``extra["rh_clampable"]`` (how many refused values the
clamp would take) from which the commands print :func:`clamp_hint` naming ``--clamp-rh``. Above
101 or below 0 is refused either way.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Literal, Protocol

from zhizhi.core.errors import FieldError, InvalidInput
from zhizhi.scenarios.fire.csvfields import date_problem, parse_iso_date

Kind = Literal["number", "date", "text"]

CLAMP_RH_OPTION = "--clamp-rh"
"""The command-line option that clamps RH in (100, 101] to 100 (named in refusals)."""


class LineReader(Protocol):
    """A ``csv.reader``: rows of cells, and the line number of the last row read."""

    @property
    def line_num(self) -> int: ...

    def __iter__(self) -> Iterator[list[str]]: ...

    def __next__(self) -> list[str]: ...


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a layout.

    ``name`` the canonical name (lower case); ``synonyms`` other names taken for it (lower case);
    ``required`` whether the header must have it; ``kind`` ``"number"``, ``"date"`` (``YYYY-MM-DD``)
    or ``"text"``; ``unit`` for messages; ``low``/``high`` the inclusive physical range (infinite:
    unchecked); ``blank_ok`` an empty or ``NA`` cell is NaN (numbers) or ``""`` (text) instead of an
    error; ``missing`` the reason given for an empty cell otherwise; ``wind`` a wind speed: checked
    in km/h after the file's unit factor; ``clamp_limit`` values in (``high``, ``clamp_limit``] may
    be taken as ``high`` when the reader clamps (RH), else refused (see :func:`clamp_hint`).
    """

    name: str
    synonyms: tuple[str, ...] = ()
    required: bool = True
    kind: Kind = "number"
    unit: str = ""
    low: float = -math.inf
    high: float = math.inf
    blank_ok: bool = False
    missing: str = "missing value"
    wind: bool = False
    clamp_limit: float | None = None

    @property
    def checked(self) -> bool:
        """Whether the column has a physical range."""
        return math.isfinite(self.low) or math.isfinite(self.high)


@dataclass(frozen=True)
class Layout:
    """A file layout: its columns in the order they are checked within a row (numbers first, then
    dates, then texts, each in this order). ``ranges_after_reading``: report a row's out-of-range
    numbers after all its unreadable ones (the FWI reader's order) instead of column by column."""

    name: str
    columns: tuple[ColumnSpec, ...]
    ranges_after_reading: bool = False

    def spec(self, name: str) -> ColumnSpec:
        """The column named ``name``; KeyError if the layout has none."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def aliases(self) -> dict[str, str]:
        """synonym → canonical name."""
        return {s: c.name for c in self.columns for s in c.synonyms}

    @property
    def limits(self) -> dict[str, tuple[float, float, str]]:
        """name → (low, high, unit) of the range-checked numbers, in layout order."""
        return {c.name: (c.low, c.high, c.unit) for c in self.columns if c.kind == "number" and c.checked}


@dataclass
class Row:
    """A data row that passed every check: its 1-based ``line``, the ``cells`` as read, and the
    values by canonical name (numbers as written, i.e. wind in the file's unit; NaN for an allowed
    blank; clamped RH as 100)."""

    line: int
    cells: list[str]
    numbers: dict[str, float] = field(default_factory=dict)
    dates: dict[str, date] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)


@dataclass
class RowsRead:
    """The rows of a checked file, in file order, and how many values were clamped (RH)."""

    rows: list[Row]
    clamped: int = 0


def invalid(source: str, errors: list[FieldError]) -> InvalidInput:
    """InvalidInput for ``errors`` (non-empty): the first one's message and how many more."""
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return InvalidInput(f"{source}: {errors[0]}{more}", errors=errors)


def header_error(source: str, reason: str, column: str | None = None) -> InvalidInput:
    """InvalidInput for a problem of the header (line 1), on ``column`` (default ``header``)."""
    return InvalidInput(
        f"{source}: line 1: {reason}", errors=[FieldError(column or "header", reason, line=1)]
    )


def decode_text(raw: bytes, source: str) -> str:
    """The text of a weather file: UTF-8 (with or without BOM), else GB18030 (Excel's Chinese CSVs).

    raw: the file's bytes; source: its name for messages. Raises InvalidInput
    ``SOURCE: not a text file (UTF-8 or GB18030): byte 0xf0 at line L`` for bytes neither encoding
    reads, or a NUL byte (a binary file GB18030 happens to decode): the first byte UTF-8 refuses (or
    the NUL) and its 1-based line.
    """
    at = raw.find(b"\0")
    if at < 0:
        for enc in ("utf-8-sig", "gb18030"):
            try:
                return raw.decode(enc)
            except UnicodeDecodeError:
                continue
        try:
            raw.decode("utf-8")  # (a BOM decodes as U+FEFF: the position counts from the file's start)
        except UnicodeDecodeError as e:
            at = e.start
    line = raw.count(b"\n", 0, at) + 1
    reason = f"not a text file (UTF-8 or GB18030): byte 0x{raw[at]:02x} at line {line}"
    raise InvalidInput(f"{source}: {reason}", errors=[FieldError("file", reason, line=line)])


def open_rows(text: str, source: str, delimiter: str = ",") -> tuple[LineReader, list[str], int]:
    """A CSV reader on ``text`` positioned after the header (the first non-blank line).

    Returns (reader, header cells, header line number). Raises InvalidInput for an empty file.
    """
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = next((cells for cells in reader if any(c.strip() for c in cells)), None)
    if header is None:
        raise InvalidInput(
            f"{source}: empty file (no header line)", errors=[FieldError("file", "empty file")]
        )
    return reader, header, reader.line_num


def _number(text: str) -> float | None:
    try:
        v = float(text)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def _blank(raw: str) -> bool:
    return raw == "" or raw.upper() in ("NA", "NAN")


def _range(
    spec: ColumnSpec, raw: str, v: float, wind_factor: float, clamp: bool
) -> tuple[float, str | None, bool]:
    """(value to keep, reason it is refused or None, whether it was clamped)."""
    if not spec.checked:
        return v, None, False
    checked = v * wind_factor if spec.wind else v
    if spec.low <= checked <= spec.high:
        return v, None, False
    if clamp and _clampable(spec, checked):
        return spec.high, None, True
    extra = f" ({checked:g} km/h)" if spec.wind and wind_factor != 1.0 else ""
    if clamp and spec.clamp_limit is not None:  # the limit is then the clamp's
        return (
            v,
            (
                f"{raw}{extra} is outside {spec.low:g} to {spec.clamp_limit:g} {spec.unit} "
                f"({CLAMP_RH_OPTION} takes ({spec.high:g}, {spec.clamp_limit:g}] as {spec.high:g})"
            ),
            False,
        )
    return v, f"{raw}{extra} is outside {spec.low:g} to {spec.high:g} {spec.unit}", False


def _clampable(spec: ColumnSpec, checked: float) -> bool:
    return spec.clamp_limit is not None and spec.high < checked <= spec.clamp_limit


def clamp_hint(e: InvalidInput) -> str | None:
    """The line a command adds to a refusal that clamping would have avoided in part, naming
    :data:`CLAMP_RH_OPTION`; None when the refused file has no RH value strictly between 100 and 101.

    (A file whose only such values are exactly 101 gets no hint, its message being the plain range
    refusal, although the option takes 101 as well.)"""
    n = e.extra.get("rh_clampable")
    if not n:
        return None
    many = f"{n} rh values are" if n != 1 else "1 rh value is"
    return (
        f"hint: {many} in (100, 101] (sensor rounding?); {CLAMP_RH_OPTION} takes such values as 100 "
        "(above 101 or below 0 is refused all the same)"
    )


def read_rows(
    reader: LineReader,
    header: list[str],
    col: dict[str, int],
    layout: Layout,
    source: str,
    *,
    wind_factor: float = 1.0,
    clamp: bool = False,
    check: Callable[[Row], FieldError | None] | None = None,
) -> RowsRead:
    """Read and check the data rows of a CSV file against ``layout``.

    Parameters
    ----------
    reader : a ``csv.reader`` after the header (:func:`open_rows`); ``header`` its cells.
    col : canonical column name → index in the row, for the layout's columns the header has
        (columns of the layout not in ``col`` are not read).
    source : the file name for messages. wind_factor : the file's wind unit → km/h (range check of
        ``wind`` columns only; values are returned as written).
    clamp : take values in (``high``, ``clamp_limit``] as ``high`` (RH 100.3 → 100), counted.
    check : called on each row that passed the column checks; a FieldError it returns refuses the
        row (e.g. the yr/mon/day date of the cffdrs layout); it may add values to the row.

    Returns
    -------
    :class:`RowsRead` (possibly without rows: the caller says so in its own words).

    Raises
    ------
    InvalidInput naming the file, and for each bad value the line, the column (as written in the
    header) and the reason: a row with another number of fields than the header, an empty cell
    (unless ``blank_ok``), a value that is not a number, outside its range, not a ``YYYY-MM-DD``
    date. ``errors`` lists every bad value of the file, row by row.
    """
    shown = {name: header[i].strip() for name, i in col.items()}
    present = [c for c in layout.columns if c.name in col]
    numbers = [c for c in present if c.kind == "number"]
    dates = [c for c in present if c.kind == "date"]
    texts = [c for c in present if c.kind == "text"]
    errors: list[FieldError] = []
    rows: list[Row] = []
    clamped = 0
    clampable = 0  # refused values the clamp would take (RH in (100, 101])
    hint = False  # one of them below the limit (101 itself is refused without a hint)

    def bad(name: str, line: int, value: str, reason: str) -> FieldError:
        return FieldError(shown[name], reason, line=line, column=shown[name], value=value)

    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):  # no column: the whole line is wrong
            why = f"{len(cells)} fields, expected {len(header)} (as the header)"
            errors.append(FieldError("", why, line=line))
            continue
        row = Row(line, cells)
        late: list[FieldError] = []
        ok = True
        row_clamped = 0
        for c in numbers:
            raw = cells[col[c.name]].strip()
            if _blank(raw):
                if c.blank_ok:
                    row.numbers[c.name] = math.nan
                else:
                    errors.append(bad(c.name, line, raw, c.missing))
                    ok = False
                continue
            v = _number(raw)
            if v is None:
                errors.append(bad(c.name, line, raw, f'"{raw}" is not a number'))
                ok = False
                continue
            v, reason, was_clamped = _range(c, raw, v, wind_factor, clamp)
            checked = v * wind_factor if c.wind else v
            if reason is not None and _clampable(c, checked):
                clampable += 1
                hint = hint or checked < (c.clamp_limit or math.inf)
            if reason is not None:
                (late if layout.ranges_after_reading else errors).append(bad(c.name, line, raw, reason))
                ok = False
                continue
            row_clamped += was_clamped
            row.numbers[c.name] = v
        errors.extend(late)
        for c in dates:
            raw = cells[col[c.name]].strip()
            d = parse_iso_date(raw)
            if d is None:
                errors.append(bad(c.name, line, raw, date_problem(raw)))
                ok = False
            else:
                row.dates[c.name] = d
        for c in texts:
            raw = cells[col[c.name]].strip()
            if not raw and not c.blank_ok:
                errors.append(bad(c.name, line, raw, c.missing))
                ok = False
            row.texts[c.name] = raw
        if ok and check is not None and (err := check(row)) is not None:
            errors.append(err)
            ok = False
        if ok:
            rows.append(row)
            clamped += row_clamped
    if errors:
        e = invalid(source, errors)
        if hint:
            e.extra["rh_clampable"] = clampable
        raise e
    return RowsRead(rows, clamped)
