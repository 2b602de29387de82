"""The shared row reader of the fire weather files (csvread.py) and ``--clamp-rh`` in both layouts.

Files are the real references in tests/data/fire (fwi/SOURCES.md, danger/SOURCES.md) or derived
from them in the test (one cell changed, as each test says). The cffdrs wDC input is real station
data with 27 RH values in (100, 101] (100.01 … sensor rounding)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from zhizhi.cli import app
from zhizhi.core.errors import InvalidInput
from zhizhi.scenarios.fire import csvread, station
from zhizhi.scenarios.fire import weather as fw

DATA = Path(__file__).parents[2] / "data" / "fire"
CFFDRS = (DATA / "fwi" / "cffdrs_r_test_fwi_input.csv").read_text(encoding="utf-8")
WDC = (DATA / "fwi" / "cffdrs_r_test_wDC_input.csv").read_text(encoding="utf-8")
DERIVED = (DATA / "danger" / "derived_yongchuan_stations_daily_2007-05.csv").read_text(encoding="utf-8")
HINT = "--clamp-rh takes such values as 100"


def with_cell(text: str, line: int, column: str, value: str) -> str:
    """``text`` with the cell of ``column`` on 1-based ``line`` replaced by ``value``."""
    lines = text.splitlines()
    at = lines[0].split(",").index(column)
    cells = lines[line - 1].split(",")
    cells[at] = value
    lines[line - 1] = ",".join(cells)
    return "\n".join(lines) + "\n"


def fwi_refused(text: str, **kw: bool) -> InvalidInput:
    with pytest.raises(InvalidInput) as e:
        fw.parse_weather(text, "w.csv", **kw)
    return e.value


def danger_refused(text: str, **kw: bool) -> InvalidInput:
    with pytest.raises(InvalidInput) as e:
        station.parse_daily_weather(text, "s.csv", wind_unit="km/h", **kw)
    return e.value


# --- the layouts ------------------------------------------------------------------------------------


def test_layouts_keep_the_public_limits_and_aliases() -> None:
    assert fw.LIMITS == {
        "temp": (-90.0, 60.0, "°C"),
        "rh": (0.0, 100.0, "%"),
        "ws": (0.0, 400.0, "km/h"),
        "prec": (0.0, 2000.0, "mm"),
        "lat": (-90.0, 90.0, "degrees"),
        "long": (-180.0, 360.0, "degrees"),
    }
    assert list(station.LIMITS) == [
        "lon", "lat", "tmax", "rh_min", "rain", "wind_max", "temp", "rh", "ws", "prec",
        "green_cover", "snow_cover",
    ]  # fmt: skip
    assert station.ALIASES == {
        "id": "station", "long": "lon", "lng": "lon", "longitude": "lon", "latitude": "lat",
    }  # fmt: skip
    assert station.LAYOUT.spec("rh_min").clamp_limit == 101.0
    with pytest.raises(KeyError):
        station.LAYOUT.spec("nope")


def test_reader_on_a_small_layout() -> None:
    layout = csvread.Layout(
        "t",
        (
            csvread.ColumnSpec("x", unit="m", low=0.0, high=10.0),
            csvread.ColumnSpec("d", kind="date"),
            csvread.ColumnSpec("name", kind="text", missing="missing name"),
        ),
    )
    reader, header, line = csvread.open_rows("\nname,d,x\nA,2026-08-13,3\n\nB,2026-08-14,4.5\n", "t.csv")
    got = csvread.read_rows(reader, header, {"name": 0, "d": 1, "x": 2}, layout, "t.csv")
    assert line == 2 and [(r.line, r.texts["name"], r.numbers["x"]) for r in got.rows] == [
        (3, "A", 3.0),
        (5, "B", 4.5),
    ]
    reader, header, _ = csvread.open_rows("name,d,x\n,2026/08/13,11\n", "t.csv")
    with pytest.raises(InvalidInput) as e:
        csvread.read_rows(reader, header, {"name": 0, "d": 1, "x": 2}, layout, "t.csv")
    assert [str(f) for f in e.value.errors] == [
        "line 2, column x: 11 is outside 0 to 10 m",
        'line 2, column d: "2026/08/13" is not a date (YYYY-MM-DD); write 2026-08-13',
        "line 2, column name: missing name",
    ]


# --- zhizhi fire fwi layout -------------------------------------------------------------------------


def test_fwi_rh_just_above_100_is_refused_without_the_option() -> None:
    e = fwi_refused(with_cell(CFFDRS, 5, "rh", "100.01"))
    assert e.detail == "w.csv: line 5, column rh: 100.01 is outside 0 to 100 %"
    assert (e.errors[0].line, e.errors[0].column, e.errors[0].value) == (5, "rh", "100.01")
    hint = csvread.clamp_hint(e)
    assert hint is not None and "1 rh value is in (100, 101]" in hint and HINT in hint


def test_fwi_rh_clamped_with_the_option_is_counted_and_computed_as_100() -> None:
    t = fw.parse_weather(with_cell(CFFDRS, 5, "rh", "100.3"), "w.csv", clamp_rh=True)
    ref = fw.parse_weather(with_cell(CFFDRS, 5, "rh", "100"), "w.csv")
    assert t.rh_clamped == 1 and t.rh[3] == 100.0 and t.rows[3][6] == "100.3"  # written as read
    assert fw.parse_weather(CFFDRS, "w.csv", clamp_rh=True).rh_clamped == 0
    got, want = fw.compute_fwi(t), fw.compute_fwi(ref)
    assert all(np.array_equal(got[k], want[k]) for k in fw.OUTPUT_COLUMNS)


def test_fwi_real_wdc_file_is_accepted_with_the_option() -> None:
    e = fwi_refused(WDC)
    assert len(e.errors) == 27 and e.extra["rh_clampable"] == 27
    t = fw.parse_weather(WDC, "wdc.csv", clamp_rh=True)
    assert t.rh_clamped == 27 and float(t.rh.max()) == 100.0 and len(t.rows) == 2192


@pytest.mark.parametrize("value", ["101.5", "-0.1"])
def test_fwi_rh_beyond_101_or_below_0_is_refused_even_with_the_option(value: str) -> None:
    e = fwi_refused(with_cell(CFFDRS, 5, "rh", value), clamp_rh=True)
    # with the option the limit is 101, and the message says so
    assert (
        e.detail
        == f"w.csv: line 5, column rh: {value} is outside 0 to 101 % (--clamp-rh takes (100, 101] as 100)"
    )
    assert csvread.clamp_hint(fwi_refused(with_cell(CFFDRS, 5, "rh", value))) is None


def test_exactly_101_is_clamped_but_refused_without_a_hint() -> None:
    """101 keeps its plain message (test_weather / test_cli_fwi pin it); the option takes it."""
    assert csvread.clamp_hint(fwi_refused(with_cell(CFFDRS, 5, "rh", "101"))) is None
    assert fw.parse_weather(with_cell(CFFDRS, 5, "rh", "101"), "w.csv", clamp_rh=True).rh_clamped == 1


def zz(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(app, ["fire", "fwi", *args], prog_name="zhizhi")
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    return r.exit_code, r.stdout, r.stderr


def test_cli_fwi_refusal_mentions_the_option(tmp_path: Path) -> None:
    p = tmp_path / "rh.csv"
    p.write_text(with_cell(CFFDRS, 5, "rh", "100.01"), encoding="utf-8")
    code, out, err = zz(str(p))
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        f"error: {p}: line 5, column rh: 100.01 is outside 0 to 100 %",
        "hint: 1 rh value is in (100, 101] (sensor rounding?); --clamp-rh takes such values as 100 "
        "(above 101 or below 0 is refused all the same)",
    ]
    p.write_text(WDC, encoding="utf-8")
    code, _, err = zz(str(p), "--lat", "49.46")
    lines = err.splitlines()
    assert code == 2 and lines[0].startswith(f"error: {p}: line 733, column rh: 100.01 is outside")
    assert lines[1] == "  line 733, column rh: 100.01 is outside 0 to 100 %"
    assert lines[-1].startswith("hint: 27 rh values are in (100, 101]")


def test_cli_fwi_clamps_and_reports_the_count(tmp_path: Path) -> None:
    p, out_file = tmp_path / "wdc.csv", tmp_path / "out.csv"
    p.write_text(WDC, encoding="utf-8")
    code, out, err = zz(str(p), "--clamp-rh", "-o", str(out_file))
    assert (code, out) == (0, "")
    assert "rh: 27 values in (100, 101] % taken as 100 (--clamp-rh)" in err.splitlines()
    assert len(out_file.read_text(encoding="utf-8").splitlines()) == 2193
    p.write_text(with_cell(CFFDRS, 5, "rh", "101.5"), encoding="utf-8")
    code, _, err = zz(str(p), "--clamp-rh")
    assert (code, err) == (
        2,
        f"error: {p}: line 5, column rh: 101.5 is outside 0 to 101 % (--clamp-rh takes (100, 101] as 100)\n",
    )


# --- zhizhi fire danger layout ----------------------------------------------------------------------


@pytest.mark.parametrize("column", ["rh_min", "rh"])
def test_danger_rh_just_above_100_refused_then_clamped(column: str) -> None:
    text = with_cell(DERIVED, 4, column, "100.01")
    e = danger_refused(text)
    assert e.detail == f"s.csv: line 4, column {column}: 100.01 is outside 0 to 100 %"
    assert (e.errors[0].line, e.errors[0].column) == (4, column)
    hint = csvread.clamp_hint(e)
    assert hint is not None and HINT in hint
    w = station.parse_daily_weather(text, "s.csv", wind_unit="km/h", clamp_rh=True)
    assert w.rh_clamped == 1 and getattr(w.stations[0], column)[2] == 100.0


@pytest.mark.parametrize("column", ["rh_min", "rh"])
def test_danger_rh_above_101_refused_even_with_the_option(column: str) -> None:
    e = danger_refused(with_cell(DERIVED, 4, column, "101.5"), clamp_rh=True)
    assert (
        e.detail
        == f"s.csv: line 4, column {column}: 101.5 is outside 0 to 101 % (--clamp-rh takes (100, 101] as 100)"
    )
    assert csvread.clamp_hint(e) is None


def test_cover_columns_are_not_clamped() -> None:
    text = (
        "station,lon,lat,date,tmax,rh_min,rain,wind_max,green_cover\n"
        "S1,105.9,29.36,2007-05-01,20,40,0,3,100.5\n"
    )
    e = danger_refused(text, clamp_rh=True)
    assert e.detail == "s.csv: line 2, column green_cover: 100.5 is outside 0 to 100 %"
    assert csvread.clamp_hint(e) is None


# --- not a text file ---------------------------------------------------------------------------------------


def test_decode_text_names_the_byte_and_line_of_a_binary_file() -> None:
    assert csvread.decode_text("date,温度\n".encode("gb18030"), "g.csv") == "date,温度\n"  # GB18030 reads
    assert csvread.decode_text(b"\xef\xbb\xbfdate\n", "b.csv") == "date\n"  # BOM dropped
    with pytest.raises(InvalidInput) as e:
        csvread.decode_text(b"date,temp\n1,2\n\x89PNG\x00\xf0\x9f", "x.csv")  # a NUL: binary
    assert e.value.detail == "x.csv: not a text file (UTF-8 or GB18030): byte 0x00 at line 3"
    assert (e.value.errors[0].field, e.value.errors[0].line) == ("file", 3)
    with pytest.raises(InvalidInput) as e:  # neither UTF-8 nor GB18030 (0xff never starts a GB18030 char)
        csvread.decode_text(b"date\n\xff\xff", "y.csv")
    assert e.value.detail == "y.csv: not a text file (UTF-8 or GB18030): byte 0xff at line 2"


@pytest.mark.parametrize("command", ["fwi", "danger"])
def test_fwi_and_danger_refuse_a_binary_file_naming_it(command: str, tmp_path: Path, engine: Engine) -> None:
    p = tmp_path / "photo.csv"
    p.write_bytes(b"\xf0\x9f\x98" + bytes(range(256)))  # cut UTF-8, then every byte (a NUL among them)
    r = CliRunner().invoke(app, ["fire", command, str(p)], prog_name="zhizhi")
    code, out, err = r.exit_code, r.stdout, r.stderr
    assert (code, out) == (2, "")
    name = str(p) if command == "fwi" else p.name  # (as each command names files in its messages)
    assert err == f"error: {name}: not a text file (UTF-8 or GB18030): byte 0x00 at line 1\n"
