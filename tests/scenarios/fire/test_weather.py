"""Weather CSV reading for the FWI: layouts, station chaining, and bad-input messages.

Files are the real references in tests/data/fire/fwi (SOURCES.md) or derived from them in the test
(re-laid out, re-ordered or given one bad cell, as each test says)."""

from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np
import pytest

from zhizhi.core.errors import InvalidInput
from zhizhi.scenarios.fire import indices as fi
from zhizhi.scenarios.fire import weather as fw

DATA = Path(__file__).parents[2] / "data" / "fire" / "fwi"
CFFDRS_INPUT = (DATA / "cffdrs_r_test_fwi_input.csv").read_text(encoding="utf-8")
EXPECTED = (DATA / "cffdrs_r_fwi_01_expected.csv").read_text(encoding="utf-8").splitlines()
WDC = (DATA / "cffdrs_r_test_wDC_input.csv").read_text(encoding="utf-8").splitlines()


def expected_column(name: str) -> np.ndarray:
    head = EXPECTED[0].split(",")
    return np.array([float(line.split(",")[head.index(name)]) for line in EXPECTED[1:]])


def within_cffdrs_rounding(got: np.ndarray, want: np.ndarray) -> bool:
    tol = [
        0.5 * 10 ** (math.floor(math.log10(abs(e))) - max(math.ceil(math.log10(abs(e))) + 2, 4) + 1)
        for e in want
    ]
    return bool(np.all(np.abs(got - want) <= np.array(tol) * (1 + 1e-9)))


def as_date_layout(text: str, station: str | None = None, lat: bool = True) -> list[str]:
    """The cffdrs sample re-laid out as date,temp,rh,ws,prec[,lat][,station] (same values)."""
    lines = text.splitlines()
    out = []
    for line in lines[1:]:
        _long, la, yr, mon, day, temp, rh, ws, prec = line.split(",")
        row = [f"{int(yr):04d}-{int(mon):02d}-{int(day):02d}", temp, rh, ws, prec]
        row += [la] if lat else []
        row += [station] if station is not None else []
        out.append(",".join(row))
    return out


def date_header(lat: bool = True, station: bool = False) -> str:
    return "date,temp,rh,ws,prec" + (",lat" if lat else "") + (",station" if station else "")


def error_of(text: str, **kw: object) -> InvalidInput:
    with pytest.raises(InvalidInput) as e:
        table = fw.parse_weather(text, "w.csv", **kw)  # type: ignore[arg-type]
        fw.compute_fwi(table)
    return e.value


# --- layouts --------------------------------------------------------------------------------------


def test_cffdrs_layout_reproduces_expected() -> None:
    t = fw.parse_weather(CFFDRS_INPUT, "in.csv")
    assert t.layout == "cffdrs" and len(t.rows) == 48 and t.lines[0] == 2 and t.lines[-1] == 49
    res = fw.compute_fwi(t)
    for k in fw.OUTPUT_COLUMNS:
        assert within_cffdrs_rounding(res[k], expected_column(k.upper())), k


def test_cffdrs_layout_any_letter_case_and_column_order() -> None:
    lines = CFFDRS_INPUT.splitlines()
    # upper-case header, columns reversed
    text = "\n".join(",".join(reversed(line.upper().split(","))) for line in lines)
    res = fw.compute_fwi(fw.parse_weather(text, "in.csv"))
    assert within_cffdrs_rounding(res["fwi"], expected_column("FWI"))


def test_date_layout_and_semicolon_and_gb18030(tmp_path: Path) -> None:
    text = date_header(station=True) + "\n" + "\n".join(as_date_layout(CFFDRS_INPUT, "永川站")) + "\n"
    p = tmp_path / "gbk.csv"
    p.write_bytes(text.replace(",", ";").encode("gb18030"))
    t = fw.read_weather_csv(p)
    assert t.layout == "date" and set(t.station) == {"永川站"}
    assert within_cffdrs_rounding(fw.compute_fwi(t)["dmc"], expected_column("DMC"))


def test_wind_in_m_per_s_is_converted() -> None:
    lines = CFFDRS_INPUT.splitlines()
    rows = [line.split(",") for line in lines[1:]]
    for r in rows:
        r[7] = repr(float(r[7]) / 3.6)
    text = lines[0] + "\n" + "\n".join(",".join(r) for r in rows)
    t = fw.parse_weather(text, "ms.csv", wind_unit="m/s")
    assert np.allclose(t.ws, [float(line.split(",")[7]) for line in lines[1:]], rtol=1e-12)
    assert within_cffdrs_rounding(fw.compute_fwi(t)["isi"], expected_column("ISI"))
    with pytest.raises(ValueError, match='wind unit must be one of km/h, m/s, got "mph"'):
        fw.parse_weather(text, "ms.csv", wind_unit="mph")


# --- stations -------------------------------------------------------------------------------------


def test_each_station_chained_separately_in_date_order() -> None:
    """Station A = the sample; B = the sample from its 11th day (so it starts from 85/6/15 there);
    rows of both shuffled together."""
    a = as_date_layout(CFFDRS_INPUT, "A")
    b = as_date_layout(CFFDRS_INPUT, "B")[10:]
    rows = a + b
    random.Random(5).shuffle(rows)
    t = fw.parse_weather(date_header(station=True) + "\n" + "\n".join(rows), "two.csv")
    res = fw.compute_fwi(t)
    w = fw.parse_weather(CFFDRS_INPUT, "in.csv")
    want_a = fi.fwi_series(w.temp, w.rh, w.ws, w.prec, [d.month for d in w.dates], 40.0)
    want_b = fi.fwi_series(
        w.temp[10:], w.rh[10:], w.ws[10:], w.prec[10:], [d.month for d in w.dates[10:]], 40.0
    )
    for name, want, offset in (("A", want_a, 0), ("B", want_b, 10)):
        idx = sorted((i for i, s in enumerate(t.station) if s == name), key=lambda i: t.dates[i])
        for k in fw.OUTPUT_COLUMNS:
            assert np.array_equal(res[k][idx], getattr(want, k)), (name, k)
        assert t.dates[idx[0]] == w.dates[offset]


def test_real_multi_station_file_hailar_station(tmp_path: Path) -> None:
    """cffdrs' test_wDC station 1 (Hailar, China, 49.46N, 2013-2014, 730 days): rows reversed in the
    file still chain in date order, and equal fwi_series on the ordered series."""
    header, rows = WDC[0], [r for r in WDC[1:] if r.startswith("1,")]
    assert len(rows) == 730
    t = fw.parse_weather(header + "\n" + "\n".join(reversed(rows)), "hailar.csv")
    assert t.layout == "cffdrs" and set(t.station) == {"1"}
    res = fw.compute_fwi(t)
    order = np.argsort([d.toordinal() for d in t.dates])
    want = fi.fwi_series(
        t.temp[order], t.rh[order], t.ws[order], t.prec[order], [t.dates[i].month for i in order], 49.4625
    )
    for k in fw.OUTPUT_COLUMNS:
        assert np.array_equal(res[k][order], getattr(want, k)), k


def test_real_file_with_rh_above_100_is_refused() -> None:
    e = error_of("\n".join(WDC))
    assert len(e.errors) == 27
    assert e.detail == "w.csv: line 733, column rh: 100.01 is outside 0 to 100 % (and 26 more)"
    assert (e.errors[0].line, e.errors[0].column, e.errors[0].value) == (733, "rh", "100.01")


def test_duplicate_date_names_both_lines() -> None:
    rows = as_date_layout(CFFDRS_INPUT)
    e = error_of(date_header() + "\n" + "\n".join(rows[:3] + rows[2:3]))
    assert e.detail == (
        "w.csv: line 5, column date: the file (one station: no station column): date 1985-04-15 "
        "also on line 4; add a station column to chain several stations"
    )


def test_gap_in_dates_names_the_missing_days() -> None:
    rows = as_date_layout(CFFDRS_INPUT, "S1")
    e = error_of(date_header(station=True) + "\n" + "\n".join(rows[:2] + rows[4:6]))
    assert e.detail == (
        'w.csv: line 4, column date: station "S1": no row for 1985-04-15 to 1985-04-16 '
        "(between line 3 and this line); the FWI needs every day"
    )


def test_latitude_changing_within_a_station() -> None:
    rows = as_date_layout(CFFDRS_INPUT)[:3]
    rows[2] = rows[2].replace(",40", ",41")
    e = error_of(date_header() + "\n" + "\n".join(rows))
    assert e.detail == (
        "w.csv: line 4, column lat: the file (one station: no station column): "
        "lat changes from 40 to 41 within the station"
    )


def test_missing_latitude_needs_lat_unless_no_lat_adjust() -> None:
    text = date_header(lat=False) + "\n" + "\n".join(as_date_layout(CFFDRS_INPUT, lat=False))
    e = error_of(text)
    assert "no latitude: add a lat column or give the --lat option (Yongchuan: --lat 29.35)" in e.detail
    t = fw.parse_weather(text, "w.csv")
    assert within_cffdrs_rounding(fw.compute_fwi(t, lat=40.0)["dc"], expected_column("DC"))
    # without the latitude adjustment the 46N tables apply, which at 40N is the same
    assert within_cffdrs_rounding(fw.compute_fwi(t, lat_adjust=False)["dc"], expected_column("DC"))


def test_yongchuan_latitude_uses_20n_dmc_table() -> None:
    rows = [r.replace(",40", ",29.35") for r in as_date_layout(CFFDRS_INPUT)]
    t = fw.parse_weather(date_header() + "\n" + "\n".join(rows), "yc.csv")
    adj, std = fw.compute_fwi(t), fw.compute_fwi(t, lat_adjust=False)
    assert np.array_equal(std["dmc"][:1], fw.compute_fwi(fw.parse_weather(CFFDRS_INPUT, "x"))["dmc"][:1])
    # April (12.8 → 9.5 h) and May (13.9 → 9.9 h): slower duff drying at 29.35N
    assert np.all(adj["dmc"] < std["dmc"])
    assert np.array_equal(adj["dc"], std["dc"])  # DC: northern table for lat > 20 either way


# --- bad input ------------------------------------------------------------------------------------

GOOD_ROWS = as_date_layout(CFFDRS_INPUT)[:3]


def with_cell(row: int, col: int, value: str) -> str:
    rows = [r.split(",") for r in GOOD_ROWS]
    rows[row][col] = value
    return date_header() + "\n" + "\n".join(",".join(r) for r in rows) + "\n"


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("", "w.csv: empty file (no header line)"),
        ("\n\n", "w.csv: empty file (no header line)"),
        ("date,temp,rh,ws,prec,lat\n", "w.csv: no data rows after the header (line 1)"),
        (
            "when,t,h,w,p\n2024-01-01,1,2,3,4\n",
            "w.csv: line 1: unknown layout: columns when, t, h, w, p; expected "
            "date,temp,rh,ws,prec[,lat][,station] or long,lat,yr,mon,day,temp,rh,ws,prec",
        ),
        (
            "date,tmp,rh,ws,prec\n2024-01-01,1,2,3,4\n",
            'w.csv: line 1: missing column "temp" for the date layout (is "tmp" a misspelling?)',
        ),
        ("yr,mon,temp,rh,ws,prec\n", 'w.csv: line 1: missing column "day" for the cffdrs layout'),
        ("date,temp,rh,ws,prec,RH\n", 'w.csv: line 1: column "rh" appears twice'),
        ("date,temp,rh,ws,prec,FWI\n", 'w.csv: line 1: the input already has an output column "fwi"'),
        (with_cell(1, 1, "abc"), 'w.csv: line 3, column temp: "abc" is not a number'),
        (with_cell(1, 1, ""), "w.csv: line 3, column temp: missing value"),
        (with_cell(1, 1, "NA"), "w.csv: line 3, column temp: missing value"),
        (with_cell(1, 1, "61"), "w.csv: line 3, column temp: 61 is outside -90 to 60 °C"),
        (with_cell(0, 2, "101"), "w.csv: line 2, column rh: 101 is outside 0 to 100 %"),
        (with_cell(0, 2, "-0.5"), "w.csv: line 2, column rh: -0.5 is outside 0 to 100 %"),
        (with_cell(2, 3, "-1"), "w.csv: line 4, column ws: -1 is outside 0 to 400 km/h"),
        (with_cell(2, 4, "-0.1"), "w.csv: line 4, column prec: -0.1 is outside 0 to 2000 mm"),
        (with_cell(2, 5, "95"), "w.csv: line 4, column lat: 95 is outside -90 to 90 degrees"),
        (
            with_cell(1, 0, "1985-02-30"),
            'w.csv: line 3, column date: "1985-02-30" is not a date (YYYY-MM-DD)',
        ),
        (
            with_cell(1, 0, "15/04/1985"),
            'w.csv: line 3, column date: "15/04/1985" is not a date (YYYY-MM-DD)',
        ),
        (
            with_cell(1, 0, "1985/04/14"),
            'w.csv: line 3, column date: "1985/04/14" is not a date (YYYY-MM-DD); write 1985-04-14',
        ),
        (
            with_cell(1, 0, "1985-4-14"),
            'w.csv: line 3, column date: "1985-4-14" is not a date (YYYY-MM-DD); write 1985-04-14',
        ),
        (
            with_cell(1, 0, "19850414"),
            'w.csv: line 3, column date: "19850414" is not a date (YYYY-MM-DD)',
        ),
        (
            date_header() + "\n" + GOOD_ROWS[0] + "\n" + GOOD_ROWS[1] + ",extra\n",
            "w.csv: line 3: 7 fields, expected 6 (as the header)",
        ),
        (
            "yr,mon,day,temp,rh,ws,prec,lat\n1985,4,31,17,42,25,0,40\n",
            "w.csv: line 2, column day: 1985-4-31 (yr-mon-day) is not a date",
        ),
    ],
)
def test_bad_input_messages(text: str, detail: str) -> None:
    e = error_of(text)
    assert e.detail == detail
    assert e.errors and e.errors[0].line is not None or "empty" in detail or "no data" in detail


def test_all_bad_values_are_listed_with_lines() -> None:
    rows = [r.split(",") for r in GOOD_ROWS]
    rows[0][2] = "120"
    rows[2][1] = "x"
    e = error_of(date_header() + "\n" + "\n".join(",".join(r) for r in rows))
    assert [(f.line, f.column) for f in e.errors] == [(2, "rh"), (4, "temp")]
    assert e.detail == "w.csv: line 2, column rh: 120 is outside 0 to 100 % (and 1 more)"


def test_wind_limit_in_m_per_s_names_both_units() -> None:
    e = error_of(with_cell(0, 3, "120"), wind_unit="m/s")
    assert e.detail == "w.csv: line 2, column ws: 120 (432 km/h) is outside 0 to 400 km/h"


def test_blank_lines_are_skipped_and_line_numbers_kept() -> None:
    text = date_header() + "\n\n" + GOOD_ROWS[0] + "\n\n" + GOOD_ROWS[1] + "\n"
    t = fw.parse_weather(text, "w.csv")
    assert t.lines == [3, 5]
