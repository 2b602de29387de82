"""Reading the files clerks have (读取文件): ``.xlsx`` (and ``.xlsm``/``.xlsb``/``.ods``), ``.xls``,
``.csv``/``.txt``, told apart by their content, never by their name.

* A zip archive holding ``xl/workbook.xml`` (or ``.bin``) is an Office Open XML workbook, one holding
  an OpenDocument spreadsheet ``mimetype`` an ``.ods``; an OLE2 compound file (``D0 CF 11 E0``) is an
  Excel 97-2003 workbook. All three are read with python-calamine (Rust calamine).
* Anything else is text: its encoding is found by strict decodes in order — a byte-order mark
  (UTF-8 with BOM, UTF-16), then UTF-8, then GB18030 (the superset of GBK and GB2312 that Windows
  Chinese editions write) — and the delimiter by counting ``,`` ``\\t`` ``;`` ``|`` in the first line.
* A PDF, an HTML page or XML Spreadsheet 2003 saved with a spreadsheet's name, a Word document, a
  password-protected workbook, an empty or binary file: one :class:`~zhizhi.core.errors.InvalidInput`
  naming the file and what to do.

Cells keep their types as read (``str``, ``int``, ``float``, ``bool``, ``date``, ``datetime``, ``time``,
``timedelta``; ``""`` for empty) so that later steps can refuse an ID stored as a number. Rows are
yielded lazily: row ``i`` of :attr:`Sheet.rows` is spreadsheet row ``i + 1``.
"""

from __future__ import annotations

import contextlib
import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from zhizhi.core.errors import InvalidInput

Cell = str | int | float | bool | date | datetime | time | timedelta
"""A cell as read; ``""`` is an empty cell."""

OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP = b"PK\x03\x04"
DELIMITERS = (",", "\t", ";", "|")
TEXT_ENCODINGS = ("UTF-8", "GB18030")
"""Tried in this order (strict) when the text has no byte-order mark."""


@dataclass
class Sheet:
    """One sheet: ``name``; ``rows`` an iterator of rows from spreadsheet row 1 (each a list of cells
    from column A); ``merged`` the merged ranges ``(row0, col0, row1, col1)``, 0-based and inclusive;
    ``hidden`` for a hidden sheet."""

    name: str
    rows: Iterator[list[Cell]]
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)
    hidden: bool = False


@dataclass
class Workbook:
    """A file as read: ``file_type`` (xlsx, xlsb, xls, ods, csv), the text ``encoding`` and
    ``delimiter`` (text files only) and its sheets (one, named after the file, for text)."""

    path: Path
    file_type: str
    sheets: list[Sheet]
    encoding: str | None = None
    delimiter: str | None = None
    closer: Any = None

    def close(self) -> None:
        """Release the workbook (calamine keeps the file open while sheets are read)."""
        if self.closer is not None:
            with contextlib.suppress(Exception):  # already closed
                self.closer.close()
            self.closer = None


def _refuse(path: Path, why: str) -> InvalidInput:
    return InvalidInput(f"{path}: {why}")


def sniff(path: Path, head: bytes) -> str:
    """The type of the file ``path`` whose first bytes are ``head``: ``xlsx``, ``xlsb``, ``ods``,
    ``xls`` or ``text``. Raises InvalidInput naming the file for a type that is not a table."""
    if not head:
        raise _refuse(path, "the file is empty")
    if head.startswith(ZIP):
        try:
            with zipfile.ZipFile(path) as z:
                names = set(z.namelist())
                mimetype = z.read("mimetype")[:80] if "mimetype" in names else b""
        except (zipfile.BadZipFile, OSError, KeyError) as e:
            raise _refuse(path, f"a damaged zip archive, not a readable workbook ({e})") from None
        if "xl/workbook.xml" in names:
            return "xlsx"
        if "xl/workbook.bin" in names:
            return "xlsb"
        if b"opendocument.spreadsheet" in mimetype:
            return "ods"
        if "word/document.xml" in names:
            raise _refuse(
                path, "a Word document, not a spreadsheet: copy the table into Excel and save as .xlsx"
            )
        raise _refuse(path, "a zip archive that holds no workbook: unpack it, or save the table as .xlsx")
    if head.startswith(OLE2):
        return "xls"
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if start.startswith(b"%pdf"):
        raise _refuse(path, "a PDF, not a spreadsheet: ask for the table as .xlsx or .csv")
    if start.startswith((b"<html", b"<!doctype html", b"<table")) or b"<html" in start[:512]:
        raise _refuse(
            path,
            "an HTML page saved with a spreadsheet's name (网页格式): open it in Excel and save as .xlsx",
        )
    if start.startswith(b"<?xml"):
        raise _refuse(path, "an XML file (XML Spreadsheet 2003?): open it in Excel and save as .xlsx")
    return "text"


def decode_text(path: Path, raw: bytes) -> tuple[str, str]:
    """``(text, encoding)`` of a text file's bytes: a byte-order mark decides (``UTF-8 with BOM``,
    ``UTF-16``); otherwise strict UTF-8, then strict GB18030 (which includes GBK). Raises InvalidInput
    naming the file when the bytes are binary (NUL bytes) or none of the encodings decodes them."""
    if raw.startswith(b"\xef\xbb\xbf"):
        try:
            return raw[3:].decode("utf-8"), "UTF-8 with BOM"
        except UnicodeDecodeError as e:
            raise _refuse(
                path, f"starts with a UTF-8 byte-order mark but byte {e.start + 3} is not UTF-8"
            ) from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError as e:
            raise _refuse(
                path, f"starts with a UTF-16 byte-order mark but byte {e.start} is not UTF-16"
            ) from None
    if b"\x00" in raw:
        raise _refuse(path, "a binary file, not a spreadsheet or a text table")
    first_error = 0
    for enc in TEXT_ENCODINGS:
        try:
            return raw.decode(enc), enc
        except UnicodeDecodeError as e:
            first_error = first_error or e.start
    raise _refuse(
        path, f"text in an unknown encoding (byte {first_error} is neither UTF-8 nor GB18030/GBK): "
        "save it as UTF-8 or as an .xlsx workbook"
    )  # fmt: skip


def _delimiter(text: str) -> str:
    first = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: first.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _csv_rows(path: Path, text: str, delimiter: str) -> Iterator[list[Cell]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        for row in reader:
            yield list(row)
    except csv.Error as e:
        raise _refuse(path, f"line {reader.line_num + 1}: malformed CSV ({e})") from None


def _calamine_rows(sheet: Any) -> Iterator[list[Cell]]:
    """Rows of a calamine sheet from spreadsheet row 1, each from column A. ``iter_rows`` starts at
    row 1 but at the first used column, which is put back here (tests/registry/test_intake.py)."""
    start = sheet.start
    if not start or not start[1]:
        return iter(sheet.iter_rows())
    pad: list[Cell] = [""] * start[1]
    return (pad + row for row in sheet.iter_rows())


def read_workbook(path: Path) -> Workbook:
    """Open ``path`` and return its sheets (see module docstring). Raises InvalidInput naming the file
    when it cannot be read, is not a table, is password-protected or in an unknown encoding."""
    try:
        with path.open("rb") as fh:
            head = fh.read(2048)
    except OSError as e:
        raise _refuse(path, f"cannot read the file ({e.strerror})") from None
    kind = sniff(path, head)
    if kind == "text":
        raw = path.read_bytes()
        text, encoding = decode_text(path, raw)
        if not text.strip():
            raise _refuse(path, "the file is empty")
        delim = _delimiter(text)
        sheet = Sheet(path.stem, _csv_rows(path, text, delim))
        return Workbook(path, "csv", [sheet], encoding, delim)
    from python_calamine import CalamineError, CalamineWorkbook, PasswordError, SheetVisibleEnum

    try:
        wb = CalamineWorkbook.from_path(str(path))
        sheets = []
        for meta in wb.sheets_metadata:
            s = wb.get_sheet_by_name(meta.name)
            merged = [(a[0], a[1], b[0], b[1]) for a, b in (s.merged_cell_ranges or [])]
            hidden = meta.visible != SheetVisibleEnum.Visible
            sheets.append(Sheet(meta.name, _calamine_rows(s), merged, hidden))
    except PasswordError:
        raise _refuse(
            path, "the workbook is password-protected: remove the password and save again"
        ) from None
    except (CalamineError, ValueError, OSError) as e:
        what = "an Excel 97-2003 (.xls) workbook" if kind == "xls" else f"a .{kind} workbook"
        hint = " (an OLE2 file that may be a Word document or an encrypted workbook)" if kind == "xls" else ""
        raise _refuse(path, f"cannot read it as {what}{hint}: {type(e).__name__}: {e}") from None
    return Workbook(path, kind, sheets, closer=wb)


def rows_at(path: Path, wanted: dict[str, set[int]]) -> dict[tuple[str, int], list[Cell]]:
    """The cells of some rows, read again from ``path``: ``wanted`` maps a sheet name to spreadsheet
    row numbers (1-based); returns ``{(sheet, row): cells}``. Used for the few rows the registry
    service refuses, whose cells an import does not keep."""
    wb = read_workbook(path)
    out: dict[tuple[str, int], list[Cell]] = {}
    try:
        for sheet in wb.sheets:
            rows = wanted.get(sheet.name)
            if not rows:
                continue
            last = max(rows)
            for i, cells in enumerate(sheet.rows, start=1):
                if i in rows:
                    out[(sheet.name, i)] = cells
                if i >= last:
                    break
    finally:
        wb.close()
    return out


__all__ = ["Cell", "Sheet", "Workbook", "decode_text", "read_workbook", "rows_at", "sniff"]
