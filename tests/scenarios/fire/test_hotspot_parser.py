"""The FIRMS parser's two readers (numpy splitter and csv module) and its column conversions.

Every real file in tests/data/fire/firms (and the complete global file in ../shared/data when present)
must give the same detections and errors whichever way it is read: ``read_firms`` (numpy splitter on
the file's bytes), ``parse_bytes``, ``parse_firms`` on a ``StringIO`` (numpy splitter on the text) and
``parse_firms`` on a plain iterator of lines (the csv module, as before the splitter existed). Rows with
errors are real rows edited in the test, as each test says; the fuzzed files are GENERATED from real
rows with a fixed seed.
"""

from __future__ import annotations

import io
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from zhizhi.core.errors import InvalidInput
from zhizhi.scenarios.fire import hotspots as hs
from zhizhi.scenarios.fire.hotspots import convert, table

DATA = Path(__file__).resolve().parents[2] / "data" / "fire" / "firms"
SHARED = Path(__file__).resolve().parents[4] / "shared/data/fire/firms"
REAL = sorted(DATA.glob("*.csv")) + sorted(SHARED.glob("*.csv"))
VIIRS_7D = DATA / "viirs_snpp_c2_nrt_south_asia7d_20250621-20250628_full.csv"
MODIS_2022_BOX = DATA / "modis_c61_nrt_global7d_20220528-20220604_box102-110E_26-33N.csv"
FIELDS = [k for k in hs.Detections.__dataclass_fields__ if k != "instrument"]


def outcome(f: hs.FirmsFile) -> tuple[object, ...]:
    """Everything a parse produced, in comparable form (floats by bit pattern)."""
    d = f.detections
    arrays = tuple(
        getattr(d, k).view(np.int64).tolist() if getattr(d, k).dtype == np.float64 else getattr(d, k).tolist()
        for k in FIELDS
    )
    dtypes = tuple(getattr(d, k).dtype.kind for k in FIELDS)
    return (f.name, f.instrument, f.columns, f.rows_read, f.errors, arrays, dtypes)


def by_csv_module(text: str, name: str) -> hs.FirmsFile:
    """parse_firms on an iterator of lines (no ``read``): the csv-module reader."""
    return hs.parse_firms((line for line in io.StringIO(text, newline="")), name)


def by_splitter(text: str, name: str) -> hs.FirmsFile:
    return hs.parse_firms(io.StringIO(text, newline=""), name)


def all_ways(text: str, name: str = "x.csv") -> hs.FirmsFile:
    """Parse ``text`` through the splitter and the csv module and assert both give the same."""
    fast, slow = by_splitter(text, name), by_csv_module(text, name)
    assert outcome(fast) == outcome(slow)
    return fast


# --- every real file, every reader ------------------------------------------------------------------------


@pytest.mark.parametrize("path", REAL, ids=lambda p: p.name)
def test_every_real_file_reads_the_same_every_way(path: Path) -> None:
    raw = path.read_bytes()
    text = raw.decode("utf-8-sig")
    assert table.scan_bytes(raw.removeprefix(b"\xef\xbb\xbf")) is not None  # real files take the splitter
    want = outcome(by_csv_module(text, path.name))
    assert outcome(hs.read_firms(path)) == want
    assert outcome(hs.parse_bytes(raw, path.name)) == want
    assert outcome(by_splitter(text, path.name)) == want
    assert outcome(hs.parse_bytes(b"\xef\xbb\xbf" + raw, path.name)) == want  # with a BOM
    crlf = text.replace("\n", "\r\n")
    assert outcome(by_splitter(crlf, path.name)) == want  # CRLF line ends


@pytest.mark.parametrize(("text_chunk", "row_chunk"), [(1, 1), (211, 7)])
def test_small_chunks_give_the_same_result(
    monkeypatch: pytest.MonkeyPatch, text_chunk: int, row_chunk: int
) -> None:
    """Chunk boundaries (text split a line or a few at a time, so the row arrays also grow past their
    first estimate; rows converted a few at a time) change nothing, with blank lines, short rows and
    bad values spread over the chunks."""
    lines = VIIRS_7D.read_text(encoding="utf-8").splitlines()

    def edit(i: int, k: int, value: str) -> None:
        cells = lines[i].split(",")
        cells[k] = value
        lines[i] = ",".join(cells)

    edit(10, 12, "X")  # daynight
    lines.insert(20, "")
    lines.insert(30, ",,, ,")
    lines[40] = lines[40].rsplit(",", 3)[0]  # three fields short
    edit(50, 8, "maybe")  # confidence
    text = "\n".join(lines[:400]) + "\n"
    want = outcome(by_csv_module(text, "v.csv"))
    monkeypatch.setattr(table, "_TEXT_CHUNK", text_chunk)
    monkeypatch.setattr(convert, "_ROW_CHUNK", row_chunk)
    got = by_splitter(text, "v.csv")
    assert outcome(got) == want
    assert [(e.line, e.column or e.field) for e in got.errors] == [
        (11, "daynight"),
        (41, ""),  # the whole line: no column
        (51, "confidence"),
    ]
    assert str(got.errors[1]) == "line 41: 10 fields, expected 13 (as the header)"


# --- a malformed row anywhere is reported ----------------------------------------------------------------


def test_a_malformed_row_far_from_any_district_is_reported_with_file_line_and_column() -> None:
    # line 2001 of the South Asia VIIRS file: a detection in India, thousands of km from Chongqing
    lines = VIIRS_7D.read_text(encoding="utf-8").splitlines()
    lines[2000] = lines[2000].replace(lines[2000].split(",")[0], "12.3.4", 1)
    f = all_ways("\n".join(lines) + "\n", "south_asia.csv")
    assert (f.rows_read, len(f.detections), f.bad_rows) == (3549, 3548, 1)
    (e,) = f.errors
    assert (e.line, e.column, e.value, e.reason) == (
        2001,
        "latitude",
        "12.3.4",
        "latitude must be a number from -90 to 90",
    )
    with pytest.raises(InvalidInput) as err:
        f.raise_if_bad()
    assert err.value.detail == (
        "south_asia.csv: 1 of 3549 rows are invalid "
        "(first: line 2001, column latitude: latitude must be a number from -90 to 90)"
    )


# --- a row acquired in the future is refused ---------------------------------------------------------------


def test_a_row_acquired_in_the_future_is_a_bad_row_naming_line_column_and_value() -> None:
    lines = VIIRS_7D.read_text(encoding="utf-8").splitlines()[:6]  # 2025-06-21 05:55, then 4 at 07:31 UTC
    lines[2] = lines[2].replace(",2025-06-21,", ",2027-11-30,")  # line 3: two years ahead
    text = "\n".join(lines) + "\n"
    now = datetime(2025, 6, 21, 7, 25, tzinfo=UTC)  # 07:31 within the 10 min of clock skew
    fast = hs.parse_firms(io.StringIO(text, newline=""), "v.csv", now=now)
    slow = hs.parse_firms((line for line in io.StringIO(text, newline="")), "v.csv", now=now)
    assert outcome(fast) == outcome(slow)
    assert (fast.rows_read, len(fast.detections), fast.bad_rows) == (5, 4, 1)
    (e,) = fast.errors
    assert (e.line, e.column, e.value) == (3, "acq_date/acq_time", "2027-11-30 0731")
    assert str(e) == (
        "line 3, column acq_date/acq_time: acquired 2027-11-30 07:31 UTC, in the future: later than now "
        "(2025-06-21 07:25 UTC) plus 10 min for clock skew (a wrong acq_date or acq_time?)"
    )
    assert timedelta(minutes=10) == hs.FUTURE_TOLERANCE
    with pytest.raises(
        InvalidInput, match=r"v.csv: 1 of 5 rows are invalid \(first: line 3, column acq_date"
    ):
        fast.raise_if_bad()
    # a minute past the tolerance is refused too; bytes and files read the same
    late = hs.parse_bytes(text.encode(), "v.csv", now=datetime(2025, 6, 21, 7, 20, tzinfo=UTC))
    assert [(e.line, e.value) for e in late.errors] == [
        (3, "2027-11-30 0731"), (4, "2025-06-21 0731"), (5, "2025-06-21 0731"), (6, "2025-06-21 0731")
    ]  # fmt: skip
    # without ``now``: the current time (the real file, all in the past, reads whole)
    assert hs.parse_bytes("\n".join(lines[:2]).encode() + b"\n").errors == []
    # a bad date is reported once, as a bad date, not also as a future one
    bad = text.replace(",2027-11-30,", ",2027-11-31,")
    (e,) = hs.parse_firms(io.StringIO(bad, newline=""), "v.csv", now=now).errors
    assert (e.line, e.column) == (3, "acq_date")


# --- files the splitter hands to the csv module ------------------------------------------------------------


def test_quoted_and_non_ascii_files_read_as_the_plain_file() -> None:
    lines = MODIS_2022_BOX.read_text(encoding="utf-8").splitlines()
    plain = "\n".join(lines) + "\n"
    quoted = "\n".join(",".join(f'"{c}"' for c in ln.split(",")) for ln in lines) + "\n"
    chinese = "\n".join(f"{ln},{'备注' if i else 'note'}" for i, ln in enumerate(lines)) + "\n"
    assert table.scan_bytes(quoted.encode()) is None and table.scan_bytes(chinese.encode()) is None
    want = outcome(by_splitter(plain, "x.csv"))
    assert outcome(all_ways(quoted)) == want
    got = all_ways(chinese)
    assert (got.rows_read, got.detections.lat.tolist()) == (
        99,
        by_splitter(plain, "x.csv").detections.lat.tolist(),
    )


def test_cr_line_ends_and_a_last_line_without_line_feed() -> None:
    lines = MODIS_2022_BOX.read_text(encoding="utf-8").splitlines()
    want = outcome(by_splitter("\n".join(lines) + "\n", "x.csv"))
    assert outcome(all_ways("\r".join(lines) + "\r")) == want  # old Mac line ends: csv module
    assert outcome(all_ways("\n".join(lines))) == want  # no line feed after the last row


def test_a_nul_character_is_a_bad_value_and_an_overlong_field_a_clear_error() -> None:
    lines = MODIS_2022_BOX.read_text(encoding="utf-8").splitlines()
    bad = lines[3].replace(".", ".\0", 1)  # a NUL in the latitude (line 4)
    f = all_ways("\n".join([*lines[:3], bad, *lines[4:]]) + "\n")
    assert [(e.line, e.column) for e in f.errors] == [(4, "latitude")]
    assert "\0" in str(f.errors[0].value)
    lines[3] = lines[3][:-1] + "D" * 200_000  # over the csv module's field size limit (131,072)
    text = "\n".join(lines) + "\n"
    for parse in (by_splitter, by_csv_module):
        with pytest.raises(InvalidInput, match=r"^x\.csv: line 4: field larger than field limit"):
            parse(text, "x.csv")


def test_not_utf8_names_the_byte_in_the_file() -> None:
    raw = MODIS_2022_BOX.read_bytes()
    bad = raw[:500] + "火".encode("gbk") + raw[500:]
    line = raw[:500].count(b"\n") + 1
    char = 500 - raw[:500].rfind(b"\n")
    with pytest.raises(InvalidInput) as e:
        hs.parse_bytes(bad, "g.csv")
    assert e.value.detail == (
        f"g.csv: line {line}, character {char}: not UTF-8 text (invalid start byte at byte 500); "
        "FIRMS files are UTF-8: save it as UTF-8 (e.g. from a GBK spreadsheet export)"
    )
    assert [(f.field, f.line) for f in e.value.errors] == [("encoding", line)]
    with pytest.raises(InvalidInput, match=rf"^g\.csv: line {line}, character {char}: .* at byte 503\)"):
        hs.parse_bytes(b"\xef\xbb\xbf" + bad, "g.csv")


def test_a_field_longer_than_the_padding_is_cut_whole() -> None:
    lines = MODIS_2022_BOX.read_text(encoding="utf-8").splitlines()
    name = "Aqua satellite of the NASA Earth Observing System afternoon overpass carrying MODIS and AIRS"
    i = next(i for i, ln in enumerate(lines) if ",A," in ln)
    lines[i] = lines[i].replace(",A,", f",{name},")
    f = all_ways("\n".join(lines) + "\n")
    assert name in f.detections.platform.tolist() and not f.errors


# --- GENERATED: real rows with random damage, read both ways ---------------------------------------------

JUNK = ["", " ", "x", "-", ".", "-.5", "5.", ".5", "1e3", "+5", " 12.5 ", "nan", "inf", "1_0", "2460",
        "1260", "0", "0000", "12345", "2023-02-30", "2023/08/02", " 2023-08-02", "L", "Low", "NOMINAL", "n ",
        "101", "-1", "100", "d", "N ", "X", "4", "-0", "-0.0", "12345678901234567", "1.2345678901234567",
        "123456789012.5", "0.30000000000000004", "T", "N20", "terra", "2.0nrt", "MODIS", "viirs", "\t5",
        "5\t", "x" * 70]  # fmt: skip


@pytest.mark.parametrize("seed", range(40))
def test_generated_damaged_files_read_the_same_both_ways(seed: int) -> None:
    rng = random.Random(seed)
    path = rng.choice([p for p in REAL if p.stat().st_size < 400_000])
    header, *rows = path.read_text(encoding="utf-8-sig").splitlines()
    out = []
    for r in (rng.choice(rows) for _ in range(rng.randint(0, 40))):
        cells = r.split(",")
        x = rng.random()
        if x < 0.4:
            for _ in range(rng.randint(1, 3)):
                cells[rng.randrange(len(cells))] = rng.choice(JUNK)
        elif x < 0.45:
            cells = cells[: rng.randrange(len(cells))]
        elif x < 0.5:
            cells = [*cells, "extra"]
        elif x < 0.55:
            cells = [""] * len(cells)
        out.append(",".join(cells))
        if rng.random() < 0.05:
            out.append(rng.choice(["", " ", ",,,", "\t"]))
    end = rng.choice(["\n", "\r\n"])
    head = header.upper() if rng.random() < 0.2 else header
    all_ways(head + end + end.join(out) + end)


# --- conversions ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["S", "U"])
def test_to_float_gives_the_same_double_as_float(kind: str) -> None:
    values = ["0", "-0", "-0.0", "0.1", "0.30000000000000004", "29.89135", "-179.99999", "2501.54", "5.",
              ".5", "-.5", "00012.50", "12345678901234", "1234567890123.4", "99999999999999",
              "9007199254740993", "123456789012345678", "1e3", "+5", " 5", "5 ", "1_000", "", "-", ".", "nan",
              "-inf", "abc", "1.2.3", "1-2", "٣", "１２"]  # fmt: skip
    if kind == "S":
        values = [v for v in values if v.isascii()]
    got = convert.to_float(np.array(values, dtype=str).astype(kind))
    for v, g in zip(values, got.tolist(), strict=True):
        try:
            want = float(v)
        except ValueError:
            want = float("nan")
        assert (np.isnan(g) and np.isnan(want)) or (g == want and np.signbit(g) == np.signbit(want)), v


def test_to_float_matches_float_on_many_random_decimals() -> None:
    rng = np.random.default_rng(20261130)  # GENERATED
    x = rng.uniform(-1000, 1000, 20_000) * 10.0 ** rng.integers(-6, 8, 20_000)
    texts = [f"{v:.{d}f}" for v, d in zip(x.tolist(), rng.integers(0, 9, 20_000).tolist(), strict=True)]
    got = convert.to_float(np.array([t.encode() for t in texts]))
    assert got.tolist() == [float(t) for t in texts]


def test_unique_inverse_of_short_digits_words_and_dates() -> None:
    values = ["603", "0603", "6030", "3", "", "0", "00", "2359", "603", "", "A", "T", "2023-08-01",
              "2023-08-02", "2023-08-01", "nominal", "x" * 20]  # fmt: skip
    for group in (values[:10], values[10:12], values[12:15], values):
        a = np.array([v.encode() for v in group])
        uniq, inv = convert.unique_inverse(a)
        assert [uniq[i].decode() for i in inv.tolist()] == group
        assert len(set(uniq.tolist())) == len(uniq) == len(set(group))
