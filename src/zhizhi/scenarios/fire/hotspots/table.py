"""Splitting CSV text into columns of fixed-width numpy strings (for the FIRMS reader, ``firms``).

Two readers give the same :class:`Table` (the same rows, line numbers and field text):

* :func:`scan_buffer`: a vectorised splitter for plain text, the shape of every real FIRMS file
  (ASCII, no quotes, no NUL, lines ending in LF or CRLF). It finds the commas and line feeds with
  numpy a megabyte at a time and cuts every column out of the text as ``S{8k}`` (one byte per
  character, NUL-padded to whole 64-bit words): no Python object per row or per field, and only small
  temporaries (large short-lived arrays are slow to map and unmap on a busy virtual machine). It
  returns None for any other text, which then goes to
* :func:`scan_lines`: the stdlib ``csv`` module, row by row (quotes, non-ASCII text, odd line
  endings), its columns as ``U{w}`` arrays.

Blank lines (every field empty or blanks) are skipped and not counted; a non-blank row whose field
count differs from the header's is kept with empty fields and reported in ``width_errors``.
``convert`` turns such columns into numbers and distinct values without a Python object per value.
Pure: no database.
"""

from __future__ import annotations

import csv
import gc
import io
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from zhizhi.core.errors import FieldError, InvalidInput
from zhizhi.scenarios.fire.hotspots.convert import low_bytes

_PAD = 64
"""NUL bytes after the text in :func:`scan_buffer`'s buffer (fields are cut 8 bytes at a time)."""
_TEXT_CHUNK = 1 << 20
"""Bytes of text :func:`scan_buffer` splits at a time (whole lines; about 13,000 FIRMS rows)."""


@dataclass
class Table:
    """A CSV file split into rows and columns.

    ``header``: the cells of the first non-blank line as written (None for an empty file), on line
    ``header_line`` (1-based). ``line``: (n,) 1-based line of each data row. ``width_errors``:
    (line, field count) of the rows whose field count differs from the header's; their fields read as
    empty. :meth:`column` gives column ``k`` as an (n,) ``S`` or ``U`` array, fields as written
    (blanks not stripped).
    """

    header: list[str] | None
    header_line: int
    line: NDArray[np.int64]
    width_errors: list[tuple[int, int]] = field(default_factory=list)
    _column: Callable[[int], NDArray[Any]] | None = None

    def column(self, k: int) -> NDArray[Any]:
        """Column ``k`` (0-based, < len(header)) as an (n,) ``S{w}`` or ``U{w}`` array."""
        if self._column is None:
            return np.zeros(0, "S1")
        return self._column(k)


def _blank(cells: Iterable[str]) -> bool:
    return not any(c.strip() for c in cells)


# ------------------------------------------------------------------------------------ fast splitter
def padded(data: bytes | bytearray, begin: int = 0) -> bytearray:
    """``data[begin:]`` copied into a buffer for :func:`scan_buffer` (``_PAD`` + 1 NUL bytes after it)."""
    size = len(data) - begin
    out = bytearray(size + _PAD + 1)
    out[:size] = memoryview(data)[begin:]
    return out


def read_padded(path: str | Path) -> tuple[bytearray, int]:
    """The bytes of the file at ``path`` read straight into a buffer for :func:`scan_buffer` (no copy):
    (buffer, size of the file). OSError propagates."""
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        out = bytearray(size + _PAD + 1)
        got = fh.readinto(memoryview(out)[:size])
        if got == size and not fh.read(1):
            return out, size
        fh.seek(0)
        data = fh.read()  # the file changed size while read: read it again, whole
    return padded(data), len(data)


def scan_bytes(data: bytes) -> Table | None:
    """Split plain CSV bytes (no BOM) into a :class:`Table`; see :func:`scan_buffer`."""
    return scan_buffer(padded(data), 0, len(data))


def scan_buffer(buf: bytearray, begin: int, size: int) -> Table | None:
    """Split plain CSV text ``buf[begin:size]`` (no BOM; ``buf[:begin]`` ASCII; ``buf`` ends in at
    least ``_PAD`` + 1 NUL bytes after ``size``, see :func:`padded`) into a :class:`Table` with numpy,
    or return None when the text is not plain (non-ASCII, a quote or NUL, a CR not followed by LF, a
    line longer than the csv module's field size limit): those go to :func:`scan_lines`, which reads
    them the way the csv module always has. A last line without its line feed gets one, written into
    ``buf`` after the text.
    """
    if len(buf) < size + _PAD + 1 or any(buf[size:]):
        raise ValueError("scan_buffer needs _PAD + 1 NUL bytes after the text")
    if not buf.isascii() or buf.find(b'"', begin, size) >= 0 or buf.find(b"\0", begin, size) >= 0:
        return None
    if buf.find(b"\r", begin, size) >= 0 and buf.count(b"\r", begin, size) != buf.count(b"\r\n", begin, size):
        return None
    if size > begin and buf[size - 1] != 10:
        buf[size] = 10  # a last line without its line feed
        size += 1
    pos, line_no = begin, 0
    header: list[str] | None = None
    while pos < size and header is None:
        feed = buf.find(b"\n", pos, size)
        end = feed - 1 if feed > pos and buf[feed - 1] == 13 else feed
        cells = bytes(buf[pos:end]).decode("ascii").split(",")
        line_no, pos = line_no + 1, feed + 1
        if not _blank(cells):
            header = cells
    if header is None:
        return Table(None, 0, np.zeros(0, np.int64))
    # rows expected: as many per byte as in the first megabyte, and 10 % more (more grow the arrays)
    first = buf.count(b"\n", pos, min(pos + _TEXT_CHUNK, size))
    splitter = _Splitter(
        buf, len(header), int(first * (size - pos) / max(min(_TEXT_CHUNK, size - pos), 1) * 1.1) + 1
    )
    header_line = line_no
    while pos < size:
        stop = buf.rfind(b"\n", pos, min(pos + _TEXT_CHUNK, size)) + 1
        if stop <= pos:  # a line longer than a chunk
            stop = buf.find(b"\n", pos, size) + 1
        line_no = splitter.split(pos, stop, line_no)
        if line_no < 0:  # a line the csv module may refuse (a field over its size limit): let it say so
            return None
        pos = stop
    return splitter.table(header, header_line)


class _Splitter:
    """Cuts the fields of whole lines of plain text (see :func:`scan_buffer`) into one array of 64-bit
    words per column, ``most_rows`` rows at most."""

    def __init__(self, buf: bytearray, width: int, most_rows: int) -> None:
        self.buf = buf
        self.u8 = np.frombuffer(buf, dtype=np.uint8)
        self.words = np.ndarray(shape=(len(buf) - 7,), dtype="<u8", buffer=buf, strides=(1,))
        """The little-endian word at every byte of ``buf`` (unaligned)."""
        self.width = width
        self.cols = [np.empty((most_rows, 1), dtype=np.uint64) for _ in range(width)]
        self.line = np.empty(most_rows, dtype=np.int64)
        self.n = 0
        self.width_errors: list[tuple[int, int]] = []

    def split(self, pos: int, stop: int, line_no: int) -> int:
        """Split the lines of ``buf[pos:stop]`` (ending in a line feed; the first is line
        ``line_no + 1``) and return the number of the last, or -1 for a line longer than the csv
        module's field size limit. With ``sep`` the positions of the commas
        and line feeds (and ``pos - 1`` first), field k of a line whose previous line feed is
        ``sep[b]`` runs from ``sep[b + k] + 1`` to ``sep[b + k + 1]``."""
        u8, width = self.u8, self.width
        text = u8[pos:stop]
        sep = np.concatenate(([pos - 1], np.flatnonzero((text == 10) | (text == 44)) + pos))
        feed = np.flatnonzero(u8[sep[1:]] == 10) + 1  # index in sep of each line's line feed
        prev = np.empty_like(feed)  # ... and of the one before it
        prev[0], prev[1:] = 0, feed[:-1]
        n_fields = feed - prev
        start = sep[prev] + 1
        end = sep[feed] - (u8[sep[feed] - 1] == 13)  # CRLF: the CR ends the line, not its last field
        n_fields[end <= start] = 0  # an empty line (the csv module: no field)
        if int((end - start).max()) > csv.field_size_limit():
            return -1
        good = n_fields == width
        keep = good
        for i in np.flatnonzero(~good & (n_fields > 0)).tolist():
            if not _blank(bytes(self.buf[int(start[i]) : int(end[i])]).decode("ascii").split(",")):
                keep = keep.copy() if keep is good else keep
                keep[i] = True
                self.width_errors.append((line_no + i + 1, int(n_fields[i])))
        rows = np.flatnonzero(keep)
        m, lo = len(rows), self.n
        if lo + m > len(self.line):  # short rows of the wrong width: more rows than estimated
            self._grow(max(2 * len(self.line), lo + m))
        if m:
            self.line[lo : lo + m] = rows + (line_no + 1)
            ok = good[rows]
            row_end = end[rows]
            if ok.all() and int(rows[-1] - rows[0]) == m - 1:
                # consecutive rows of one width: their separators are one (m, width) block, each row's
                # previous line feed in column 0
                b0 = int(prev[rows[0]])
                block = sep[b0 : b0 + m * width].reshape(m, width)
                for k in range(width):
                    s = block[:, k] + 1
                    e = row_end if k == width - 1 else block[:, k + 1]
                    self._cut(k, lo, s, e - s)
            else:
                base, top = prev[rows], len(sep) - 1
                for k in range(width):
                    s = sep[np.minimum(base + k, top)] + 1
                    e = row_end if k == width - 1 else sep[np.minimum(base + k + 1, top)]
                    self._cut(k, lo, s, np.where(ok, e - s, 0))  # rows of the wrong width: empty
            self.n += m
        return line_no + len(feed)

    def _grow(self, rows: int) -> None:
        n = self.n
        line = np.empty(rows, dtype=np.int64)
        line[:n] = self.line[:n]
        self.line = line
        for k, col in enumerate(self.cols):
            wider = np.empty((rows, col.shape[1]), dtype=np.uint64)
            wider[:n] = col[:n]
            self.cols[k] = wider

    def _cut(self, k: int, lo: int, start: NDArray[np.int64], length: NDArray[np.int64]) -> None:
        """Store the byte strings buf[start:start+length] as rows lo.. of column k, NUL-padded."""
        need = max(1, -(-int(length.max()) // 8))
        col = self.cols[k]
        if need > col.shape[1]:  # a longer field than before: widen the column
            wider = np.zeros((len(col), need), dtype=np.uint64)
            wider[: self.n, : col.shape[1]] = col[: self.n]
            self.cols[k] = col = wider
        words = self.words
        if 8 * need > _PAD:  # a field longer than the padding: read these rows from a copy with room
            first = int(start.min())
            room = bytes(self.buf[first : int((start + length).max())]) + bytes(8 * need)
            words = np.ndarray(shape=(len(room) - 7,), dtype="<u8", buffer=room, strides=(1,))
            start = start - first
        out = col[lo : lo + len(start)]
        for j in range(col.shape[1]):
            out[:, j] = words[start + 8 * j] & low_bytes(length, 8 * j) if j < need else 0

    def table(self, header: list[str], header_line: int) -> Table:
        n = self.n
        cols = [c[:n].view(f"S{8 * c.shape[1]}").reshape(n) for c in self.cols]
        return Table(header, header_line, self.line[:n], self.width_errors, cols.__getitem__)


# --------------------------------------------------------------------------------- csv-module reader
def scan_lines(lines: Iterable[str], name: str) -> Table:
    """Split CSV text lines (an open text file, newline="") into a :class:`Table` with the csv module.

    Raises InvalidInput naming the file and line for what the csv module refuses (a NUL character, a
    field over its size limit)."""
    reader = csv.reader(lines)
    # millions of small row lists would make the cyclic garbage collector rescan them again and again;
    # they hold no cycles
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _scan_rows(reader)
    except csv.Error as e:
        raise InvalidInput(f"{name}: line {reader.line_num}: {e}") from None
    finally:
        if was_enabled:
            gc.enable()


def _scan_rows(reader: Any) -> Table:
    header: list[str] | None = None
    for raw in reader:
        if not _blank(raw):
            header = raw
            break
    if header is None:
        return Table(None, 0, np.zeros(0, np.int64))
    header_line = reader.line_num
    rows: list[list[str]] = []
    line_no: list[int] = []
    width_errors: list[tuple[int, int]] = []
    width = len(header)
    blank = [""] * width
    for raw in reader:
        if len(raw) != width:
            if _blank(raw):
                continue
            width_errors.append((reader.line_num, len(raw)))
            raw = blank
        line_no.append(reader.line_num)
        rows.append(raw)
    cols = list(zip(*rows, strict=True)) if rows else [()] * width

    def column(k: int) -> NDArray[Any]:
        return np.asarray(cols[k], dtype=str) if rows else np.zeros(0, "U1")

    return Table(header, header_line, np.asarray(line_no, dtype=np.int64), width_errors, column)


def scan_file(fh: Any, name: str) -> Table:
    """Split an open text file (or ``io.StringIO``) from where it stands: read whole and split with
    :func:`scan_buffer` when the text is plain, else read again with :func:`scan_lines`, from the same
    place when the file can seek (so its own newline mode still decides what a line is)."""
    start = fh.tell() if fh.seekable() else None
    text = fh.read()
    if text.isascii():
        t = scan_bytes(text.encode("ascii"))
        if t is not None:
            return t
    if start is None:
        return scan_lines(io.StringIO(text, newline=""), name)
    fh.seek(start)
    return scan_lines(fh, name)


def not_utf8_error(raw: bytes, e: UnicodeDecodeError, name: str, offset: int) -> InvalidInput:
    """InvalidInput for text ``raw`` (the file after its BOM) that is not UTF-8 from ``e.start``:
    the line (newlines before it, +1) and the character in that line (the UTF-8 before it is
    valid), the byte offset in the file (``offset``: the BOM's length), and that FIRMS is UTF-8."""
    start = e.start
    line = raw.count(b"\n", 0, start) + 1
    line_start = raw.rfind(b"\n", 0, start) + 1
    char = len(raw[line_start:start].decode("utf-8", errors="replace")) + 1
    reason = (
        f"not UTF-8 text ({e.reason} at byte {start + offset}); FIRMS files are UTF-8: "
        "save it as UTF-8 (e.g. from a GBK spreadsheet export)"
    )
    return InvalidInput(
        f"{name}: line {line}, character {char}: {reason}",
        [FieldError("encoding", reason, line)],
    )


# ------------------------------------------------------------------------------ column conversions
