"""Intake files (导入文件): reading rows from CSV or JSONL and writing the reject file (退回文件) in the
input's own format. The formats are described in the package docstring of :mod:`zhizhi.event.intake`."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zhizhi.core.errors import FieldError, InvalidInput
from zhizhi.event.schemas import EventCreate

FIELDS = set(EventCreate.model_fields)
ERROR_COLUMN = "error"
"""The column (CSV) or key (JSONL) of a reject file that holds a row's reasons; import ignores it."""


@dataclass(frozen=True)
class BadLine:
    """A line that could not be read as a row at all (invalid JSON, not an object, too many CSV
    values): its raw ``text``, the ``error`` and, for CSV, the ``values`` as read."""

    text: str
    error: FieldError
    values: tuple[str, ...] = ()


@dataclass
class SourceFormat:
    """What :func:`read_rows` found: ``kind`` "csv" or "jsonl" and, for CSV, the ``header`` as
    written (stripped names, blank ones kept) without the ``error`` column."""

    kind: str = "csv"
    header: list[str] = field(default_factory=list)


def _decode(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise InvalidInput(f"{path}: cannot read the file ({e.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InvalidInput(f"{path}: not UTF-8 text (byte {e.start}); save it as UTF-8") from None
    if not text.strip():
        raise InvalidInput(f"{path}: the file is empty")
    return text


def _given(row: dict[str, Any]) -> dict[str, Any]:
    """A row without its empty cells and JSON nulls: an empty value means "not given", so the
    field's default applies (``description`` "", ``source`` the import's default …)."""
    return {k: v for k, v in row.items() if v is not None and not (isinstance(v, str) and not v.strip())}


def read_rows(path: Path, fmt: SourceFormat | None = None) -> Iterator[tuple[int, dict[str, Any] | BadLine]]:
    """Yield ``(line_number, row)`` from a CSV (UTF-8, optional BOM) or JSONL file.

    The kind is taken from the content: a first non-blank character ``{`` means JSONL. Line numbers
    are 1-based physical lines of the file (a CSV record spanning lines is numbered by its first
    line; blank lines are skipped but counted). The ``error`` column or key (:data:`ERROR_COLUMN`)
    is dropped. A line that cannot be read as a row is yielded as a :class:`BadLine`. ``fmt``, if
    given, is filled with the kind and CSV header once they are known. Raises InvalidInput naming
    the file (and line) when the file as a whole cannot be read: unreadable, not UTF-8, empty, a
    JSON array, CSV header problems (unknown, duplicate or missing required columns) or malformed
    CSV quoting."""
    text = _decode(path)
    fmt = fmt if fmt is not None else SourceFormat()
    first = text.lstrip()[0]
    if first == "[":
        raise InvalidInput(f"{path}: a JSON array; write one JSON object per line (JSONL) instead")
    if first == "{":
        fmt.kind = "jsonl"
        # split on \n only: U+2028 and friends are legal inside JSON strings (str.splitlines breaks them)
        for i, line in enumerate(text.split("\n"), start=1):
            line = line.rstrip("\r")
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                why = f"invalid JSON at column {e.colno} ({e.msg})"
                yield i, BadLine(line, FieldError("json", why, line=i, column="json"))
                continue
            if not isinstance(obj, dict):
                why = "each line must be a JSON object"
                yield i, BadLine(line, FieldError("json", why, line=i, column="json"))
                continue
            obj.pop(ERROR_COLUMN, None)
            yield i, obj
        return
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    last_end = 0
    try:
        header: list[str] = []
        while not header:
            header = [h.strip() for h in next(reader)]
        hline = last_end = reader.line_num
        unknown = [h for h in header if h and h not in FIELDS and h != ERROR_COLUMN]
        if unknown:
            raise InvalidInput(
                f"{path}: line {hline}: unknown column(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(FIELDS))}",
                [FieldError(h, "unknown column", line=hline, column=h) for h in unknown],
            )
        dups = sorted({h for h in header if h and header.count(h) > 1})
        if dups:
            raise InvalidInput(
                f"{path}: line {hline}: duplicate column(s) {', '.join(dups)}",
                [FieldError(h, "duplicate column", line=hline, column=h) for h in dups],
            )
        for missing in ("category_code", "title"):
            if missing not in header:
                raise InvalidInput(
                    f'{path}: line {hline}: required column "{missing}" is missing',
                    [FieldError(missing, "required column missing", line=hline, column=missing)],
                )
        fmt.header = [h for h in header if h != ERROR_COLUMN]
        keep = [h != ERROR_COLUMN for h in header]
        for values in reader:
            last_end = reader.line_num
            if not values:
                continue
            i = reader.line_num - sum(v.count("\n") for v in values)
            if len(values) > len(header):
                own = tuple(v for v, k in zip(values, keep + [True] * len(values), strict=False) if k)
                yield (
                    i,
                    BadLine(
                        ",".join(values),
                        FieldError(
                            "row", f"{len(values)} values for {len(header)} columns", line=i, column="row"
                        ),
                        own,
                    ),
                )
                continue
            yield i, {h: v for h, v in zip(header, values, strict=False) if h and h != ERROR_COLUMN}
    except StopIteration:
        return
    except csv.Error as e:
        raise InvalidInput(f"{path}: line {last_end + 1}: malformed CSV ({e})") from None


def reject_path_problem(path: Path, reject_path: Path) -> str | None:
    """Why ``reject_path`` cannot take the rejects of importing ``path``, or None if it can.

    Refused: the input file itself (same resolved path, or the same file through a link), which
    the rejects would overwrite, and an existing directory."""
    if reject_path.is_dir():
        return "is a directory; give a file name"
    same = reject_path.resolve() == path.resolve()
    if not same and reject_path.exists() and path.exists():
        try:
            same = reject_path.samefile(path)
        except OSError:
            same = False
    if same:
        return "is the input file; the rejects would overwrite it, give another name"
    return None


def default_reject_path(path: Path, kind: str) -> Path:
    """``<stem>.rejects<suffix>`` beside ``path`` (suffix ``.csv``/``.jsonl`` by ``kind`` if none)."""
    suffix = path.suffix or (".jsonl" if kind == "jsonl" else ".csv")
    return path.with_name(f"{path.stem}.rejects{suffix}")


def _one_line(text: str) -> str:
    return " ".join(text.split()) if "\n" in text or "\r" in text else text


def write_rejects(
    reject_path: Path,
    fmt: SourceFormat,
    bad_lines: dict[int, dict[str, Any] | BadLine],
    errors: list[FieldError],
) -> None:
    """Write the bad rows to ``reject_path`` in the input's format (see the package docstring): rows as
    read, each with its reasons in the ``error`` column or key. Raises OSError if it cannot."""
    why: dict[int, list[str]] = {}
    for fe in errors:
        why.setdefault(fe.line or 0, []).append(_one_line(str(fe)))
    if fmt.kind == "jsonl":
        # objects first: a reject file that starts with a non-object line would not read as JSONL
        order = sorted(bad_lines.items(), key=lambda kv: (isinstance(kv[1], BadLine), kv[0]))
        with reject_path.open("w", encoding="utf-8", newline="\n") as fh:
            for line, row in order:
                if isinstance(row, BadLine):
                    fh.write(row.text + "\n")
                else:
                    obj = {ERROR_COLUMN: "; ".join(why.get(line, [])), **row}
                    fh.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")
        return
    with reject_path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow([ERROR_COLUMN, *fmt.header])
        for line, row in sorted(bad_lines.items()):
            values = list(row.values) if isinstance(row, BadLine) else [row.get(h, "") for h in fmt.header]
            w.writerow(["; ".join(why.get(line, [])), *values])
