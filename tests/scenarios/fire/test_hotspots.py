"""Satellite hotspot parsing, clustering and persistent-place detection (no database).

Real NASA FIRMS files are in tests/data/fire/firms (see SOURCES.md there); the complete 2.8 MB global
MODIS file is read from ../shared/data when it is present (its Sichuan-Chongqing box subset is copied
here). Rows with errors are real rows edited in the test, as each test says.
"""

from __future__ import annotations

import io
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest

from zhizhi.core.errors import InvalidInput
from zhizhi.scenarios.fire import hotspots as hs

DATA = Path(__file__).resolve().parents[2] / "data" / "fire" / "firms"
MODIS_2023_BOX = DATA / "modis_c61_nrt_global24h_20230801-20230802_box102-110E_26-33N.csv"
MODIS_2022_BOX = DATA / "modis_c61_nrt_global7d_20220528-20220604_box102-110E_26-33N.csv"
VIIRS_7D = DATA / "viirs_snpp_c2_nrt_south_asia7d_20250621-20250628_full.csv"
VIIRS_API = DATA / "viirs_snpp_nrt_area_api_20250626_sample.csv"
ARCHIVE = DATA / "derived_yongchuan_archive_layout_modis.csv"
GLOBAL_24H = (
    Path(__file__).resolve().parents[4]
    / "shared/data/fire/firms/modis_c61_nrt_global24h_20230801-20230802_full.csv"
)

MODIS_HEADER = (
    "latitude,longitude,brightness,scan,track,acq_date,acq_time,satellite,confidence,version,"
    "bright_t31,frp,daynight"
)
# line 13 of MODIS_2023_BOX: the Aqua detection in Chongqing (Hechuan, 460 m from Beibei)
AQUA_ROW = "29.89135,106.45819,314.01,2.24,1.45,2023-08-02,0557,A,64,6.1NRT,291.66,22.67,D"
VIIRS_API_HEADER = (
    "latitude,longitude,bright_ti4,scan,track,acq_date,acq_time,satellite,instrument,confidence,version,"
    "bright_ti5,frp,daynight"
)
VIIRS_API_ROW = (
    "33.04103,97.97512,339.99,0.43,0.46,2025-06-26,603,N,VIIRS,n,2.0NRT,294.2,4.44,D"  # its line 2
)


def parse(*lines: str, name: str = "t.csv") -> hs.FirmsFile:
    return hs.parse_firms(io.StringIO("\n".join(lines) + "\n"), name)


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=UTC)


# --- every real file ------------------------------------------------------------------------------------


def test_modis_2023_box_file_and_the_chongqing_aqua_detection() -> None:
    f = hs.read_firms(MODIS_2023_BOX)
    d = f.detections
    assert (f.instrument, f.rows_read, len(d), f.bad_rows, f.errors) == ("MODIS", 18, 18, 0, [])
    assert (f.has_instrument, f.has_type) == (False, False)
    assert Counter(d.platform.tolist()) == {"Aqua": 9, "Terra": 9}
    (i,) = np.flatnonzero(d.lat == 29.89135)
    assert int(d.line[i]) == 13
    assert (float(d.lon[i]), float(d.brightness[i]), float(d.bright2[i])) == (106.45819, 314.01, 291.66)
    assert (float(d.scan[i]), float(d.track[i]), float(d.frp[i])) == (2.24, 1.45, 22.67)
    assert d.acq_at(int(i)) == utc(2023, 8, 2, 5, 57)
    assert hs.beijing(d.acq_at(int(i))) == "2023-08-02 13:57"
    assert (int(d.confidence[i]), str(d.confidence_class[i]), str(d.confidence_raw[i])) == (
        64,
        "nominal",
        "64",
    )
    assert (str(d.version[i]), bool(d.nrt[i]), str(d.daynight[i]), int(d.fire_type[i])) == (
        "6.1NRT",
        True,
        "D",
        -1,
    )
    assert d.key(int(i)) == "Aqua|20230802T0557|29.891|106.458"
    assert d.pixel_diagonal_km[i] == pytest.approx(2.6683516, abs=1e-7)  # hypot(2.24, 1.45)


def test_modis_2022_box_file() -> None:
    f = hs.read_firms(MODIS_2022_BOX)
    d = f.detections
    assert (f.rows_read, len(d), f.bad_rows) == (99, 99, 0)
    assert Counter(d.confidence_class.tolist()) == {"nominal": 87, "high": 8, "low": 4}
    assert Counter(str(t)[:10] for t in d.acq) == {
        "2022-05-30": 42, "2022-05-28": 40, "2022-05-31": 8, "2022-06-01": 4, "2022-05-29": 3,
        "2022-06-02": 1, "2022-06-03": 1,
    }  # fmt: skip
    # line 89: the detection inside Yongchuan (朱沱镇), 2022-05-31 06:03 UTC
    (i,) = np.flatnonzero(d.line == 89)
    assert (float(d.lat[i]), float(d.lon[i]), d.acq_at(int(i))) == (
        29.03551,
        105.81419,
        utc(2022, 5, 31, 6, 3),
    )
    assert (int(d.confidence[i]), str(d.confidence_class[i]), str(d.platform[i])) == (39, "nominal", "Aqua")


def test_viirs_static_7day_file_words_for_confidence() -> None:
    f = hs.read_firms(VIIRS_7D)
    d = f.detections
    assert (f.instrument, f.rows_read, len(d), f.bad_rows) == ("VIIRS", 3549, 3549, 0)
    assert Counter(d.confidence_raw.tolist()) == {"nominal": 3237, "low": 230, "high": 82}
    assert Counter(d.confidence.tolist()) == {55: 3237, 15: 230, 90: 82}
    assert set(d.platform.tolist()) == {"S-NPP"} and bool(d.nrt.all())
    assert Counter(d.daynight.tolist()) == {"N": 1961, "D": 1588}
    assert (str(d.acq.min()), str(d.acq.max())) == ("2025-06-21T05:55", "2025-06-28T19:38")
    first = hs.parse_firms(io.StringIO(VIIRS_7D.read_text(encoding="utf-8").splitlines()[0] + "\n"), "h")
    assert first.rows_read == 0 and len(first.detections) == 0


def test_viirs_area_api_sample_letters_and_unpadded_times() -> None:
    f = hs.read_firms(VIIRS_API)
    d = f.detections
    assert (f.rows_read, len(d), f.has_instrument, f.has_type) == (127, 127, True, False)
    assert set(d.confidence_raw.tolist()) == {"n"} and set(d.confidence.tolist()) == {55}
    assert d.acq_at(0) == utc(2025, 6, 26, 6, 3)  # acq_time "603"
    assert [str(t) for t in d.acq[:3]] == ["2025-06-26T06:03", "2025-06-26T07:37", "2025-06-26T07:37"]
    assert Counter(str(t)[:10] for t in d.acq) == {"2025-06-27": 85, "2025-06-26": 42}


def test_archive_layout_with_type_and_spelled_out_satellites() -> None:
    f = hs.read_firms(ARCHIVE)
    d = f.detections
    assert (f.rows_read, f.has_instrument, f.has_type) == (6, True, True)
    assert d.fire_type.tolist() == [0, 2, 3, 0, 0, 0]
    assert d.platform.tolist() == ["Terra", "Terra", "Terra", "Aqua", "Aqua", "Terra"]
    assert not d.nrt.any() and d.version.tolist() == ["6.1"] * 6


@pytest.mark.skipif(not GLOBAL_24H.exists(), reason="the 2.8 MB global file lives in ../shared only")
def test_complete_global_modis_24h_file() -> None:
    f = hs.read_firms(GLOBAL_24H)
    d = f.detections
    assert (f.rows_read, len(d), f.bad_rows) == (36555, 36555, 0)
    assert Counter(d.platform.tolist()) == {"Aqua": 25464, "Terra": 11091}
    assert Counter(d.confidence_class.tolist()) == {"nominal": 24730, "high": 10014, "low": 1811}
    assert (int(d.confidence.min()), int(d.confidence.max()), float(d.frp.max())) == (0, 100, 2501.54)
    assert (str(d.acq.min()), str(d.acq.max())) == ("2023-08-01T00:33", "2023-08-02T15:22")
    box = hs.read_firms(MODIS_2023_BOX).detections
    inbox = (d.lon >= 102) & (d.lon <= 110) & (d.lat >= 26) & (d.lat <= 33)
    assert int(inbox.sum()) == len(box) == 18  # the box file is this subset, row for row
    assert d.lat[inbox].tolist() == box.lat.tolist() and d.acq[inbox].tolist() == box.acq.tolist()


# --- confidence, times ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "number", "klass"),
    [("0", 0, "low"), ("29", 29, "low"), ("30", 30, "nominal"), ("79", 79, "nominal"), ("80", 80, "high"),
     ("100", 100, "high")],
)  # fmt: skip
def test_modis_confidence_classes(value: str, number: int, klass: str) -> None:
    d = parse(MODIS_HEADER, AQUA_ROW.replace(",64,", f",{value},")).detections
    assert (int(d.confidence[0]), str(d.confidence_class[0])) == (number, klass)


@pytest.mark.parametrize(
    ("value", "number", "klass"),
    [("l", 15, "low"), ("Low", 15, "low"), ("n", 55, "nominal"), ("NOMINAL", 55, "nominal"),
     ("h", 90, "high"), ("high", 90, "high")],
)  # fmt: skip
def test_viirs_confidence_classes_map_to_the_middle_of_the_modis_range(
    value: str, number: int, klass: str
) -> None:
    d = parse(VIIRS_API_HEADER, VIIRS_API_ROW.replace(",n,", f",{value},")).detections
    assert (int(d.confidence[0]), str(d.confidence_class[0]), str(d.confidence_raw[0])) == (
        number,
        klass,
        value,
    )


@pytest.mark.parametrize(
    ("value", "hhmm"),
    [("5", (0, 5)), ("0005", (0, 5)), ("603", (6, 3)), ("0603", (6, 3)), ("2359", (23, 59)), ("0", (0, 0))],
)
def test_acq_time_with_or_without_leading_zeros(value: str, hhmm: tuple[int, int]) -> None:
    d = parse(VIIRS_API_HEADER, VIIRS_API_ROW.replace(",603,", f",{value},")).detections
    assert d.acq_at(0) == utc(2025, 6, 26, *hhmm)


def test_header_case_blanks_bom_and_crlf() -> None:
    text = "\ufeff" + MODIS_HEADER.upper().replace(",", " , ") + "\r\n" + AQUA_ROW + "\r\n\r\n"
    f = hs.parse_firms(io.StringIO(text.lstrip("\ufeff"), newline=""), "x.csv")
    assert (f.rows_read, len(f.detections)) == (1, 1)


# --- bad rows and files --------------------------------------------------------------------------------


def test_bad_rows_name_the_line_column_and_reason() -> None:
    rows = [
        AQUA_ROW.replace("29.89135", "95.1"),  # line 2
        AQUA_ROW.replace("106.45819", "-181"),  # line 3
        AQUA_ROW.replace("2023-08-02", "2023-02-30"),  # line 4
        AQUA_ROW.replace("2023-08-02", "2023/08/02"),  # line 5
        AQUA_ROW.replace(",0557,", ",2460,"),  # line 6
        AQUA_ROW.replace(",0557,", ",1260,"),  # line 7
        AQUA_ROW.replace(",64,", ",n,"),  # line 8: a VIIRS class in a MODIS file
        AQUA_ROW.replace(",64,", ",101,"),  # line 9
        AQUA_ROW.replace(",D", ",X"),  # line 10
        AQUA_ROW.replace(",22.67,", ",-1,"),  # line 11
        AQUA_ROW.replace(",2.24,", ",0,"),  # line 12
        AQUA_ROW.rsplit(",", 2)[0],  # line 13: two fields short
        AQUA_ROW,  # line 14: good
    ]
    f = parse(MODIS_HEADER, *rows, name="bad.csv")
    assert (f.rows_read, len(f.detections), f.bad_rows) == (13, 1, 12)
    assert int(f.detections.line[0]) == 14
    got = [(e.line, e.column or e.field, e.reason) for e in f.errors]
    assert got == [
        (2, "latitude", "latitude must be a number from -90 to 90"),
        (3, "longitude", "longitude must be a number from -180 to 180"),
        (4, "acq_date", 'acq_date "2023-02-30" is not a real calendar date'),
        (5, "acq_date", 'acq_date "2023/08/02" is not a date YYYY-MM-DD'),
        (6, "acq_time", 'acq_time "2460": hour 24 is not 00-23'),
        (7, "acq_time", 'acq_time "1260": minute 60 is not 00-59'),
        (8, "confidence", 'MODIS confidence must be a whole number 0-100, not "n"'),
        (9, "confidence", 'MODIS confidence must be a whole number 0-100, not "101"'),
        (10, "daynight", 'daynight must be D or N, not "X"'),
        (11, "frp", "fire radiative power must be a number >= 0 (MW)"),
        (12, "scan", "pixel size must be a number > 0 and <= 10 km"),
        (13, "", "11 fields, expected 13 (as the header)"),  # the line: no column
    ]
    assert f.errors[4].value == "2460"
    with pytest.raises(InvalidInput) as e:
        f.raise_if_bad()
    assert e.value.detail == (
        "bad.csv: 12 of 13 rows are invalid "
        "(first: line 2, column latitude: latitude must be a number from -90 to 90)"
    )
    assert len(e.value.errors) == 12


def test_viirs_bad_confidence_type_and_instrument() -> None:
    header = VIIRS_API_HEADER + ",type"
    f = parse(
        header,
        VIIRS_API_ROW.replace(",n,", ",x,") + ",0",
        VIIRS_API_ROW + ",4",
        VIIRS_API_ROW.replace("VIIRS", "MODIS") + ",0",
        VIIRS_API_ROW.replace(",603,", ",6:03,") + ",0",
    )
    assert [(e.line, e.column, e.reason) for e in f.errors] == [
        (2, "confidence", 'unknown VIIRS confidence "x" (l/n/h or low/nominal/high)'),
        (3, "type", 'type must be 0, 1, 2 or 3, not "4"'),
        (4, "instrument", 'instrument "MODIS" does not match the file\'s VIIRS columns'),
        (5, "acq_time", 'acq_time "6:03" is not HHMM (1 to 4 digits, UTC)'),
    ]


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("", "x.csv: empty file (no header line)"),
        ("\n\n", "x.csv: empty file (no header line)"),
        ("a,b\n1,2\n",
         "x.csv: not a FIRMS active-fire file: no column brightness (MODIS) or bright_ti4 (VIIRS)"),
        (MODIS_HEADER.replace(",frp", "") + "\n",
         "x.csv: missing column(s) frp of a FIRMS MODIS file"),
        (MODIS_HEADER + ",frp\n", "x.csv: column(s) frp appear more than once"),
    ],
)  # fmt: skip
def test_bad_files(text: str, detail: str) -> None:
    with pytest.raises(InvalidInput) as e:
        hs.parse_firms(io.StringIO(text), "x.csv")
    assert e.value.detail == detail


def test_not_utf8(tmp_path: Path) -> None:
    p = tmp_path / "gbk.csv"
    p.write_bytes((MODIS_HEADER + "\n" + AQUA_ROW + ",火\n").encode("gbk"))
    col = len(AQUA_ROW) + 2  # the 火 after the row's last comma
    with pytest.raises(
        InvalidInput, match=rf"^gbk\.csv: line 2, character {col}: not UTF-8 text .*FIRMS files are UTF-8"
    ):
        hs.read_firms(p)


# --- clustering ------------------------------------------------------------------------------------------


def _brute_force_labels(d: hs.Detections, gap_km: float, window_h: float) -> np.ndarray:
    """Independent O(n^2) oracle: the same link rule, components by repeated min-propagation."""
    n = len(d)
    dist = hs.haversine_km(d.lon[:, None], d.lat[:, None], d.lon[None, :], d.lat[None, :])
    diag = d.pixel_diagonal_km
    t = d.acq.astype("datetime64[m]").astype(np.int64)
    link = (dist <= gap_km + (diag[:, None] + diag[None, :]) / 2) & (
        np.abs(t[:, None] - t[None, :]) <= window_h * 60
    )
    lab = np.arange(n)
    while True:
        new = np.array([lab[link[k]].min() for k in range(n)])
        if (new == lab).all():
            return lab
        lab = new


@pytest.mark.parametrize("path", [MODIS_2022_BOX, MODIS_2023_BOX, VIIRS_API])
def test_clusters_match_a_brute_force_oracle_on_real_files(path: Path) -> None:
    d = hs.read_firms(path).detections
    got = hs.cluster_labels(d.lon, d.lat, d.acq, d.pixel_diagonal_km, gap_km=1.0, window_h=120)
    assert got.tolist() == _brute_force_labels(d, 1.0, 120).tolist()


def test_real_clusters_in_the_2022_file() -> None:
    d = hs.read_firms(MODIS_2022_BOX).detections
    lab = hs.cluster_labels(d.lon, d.lat, d.acq, d.pixel_diagonal_km)
    assert len(np.unique(lab)) == 60
    # lines 91-94 (Terra, 2022-05-31 15:26 UTC, 27.72N 102.21E) and line 98 (Aqua, the next day): one fire
    same = lab[np.isin(d.line, [91, 92, 93, 94, 98])]
    assert len(set(same.tolist())) == 1
    # the Yongchuan detection (line 89) is alone
    (i,) = np.flatnonzero(d.line == 89)
    assert int((lab == lab[i]).sum()) == 1


def test_link_distance_uses_the_pixel_half_diagonals() -> None:
    # two VIIRS pixels 0.375 x 0.375 km (diagonal 0.530 km): linked up to 1 + 0.530 = 1.530 km
    t = np.array(["2025-06-26T06:03"] * 2, dtype="datetime64[m]")
    diag = hs.pixel_diagonal_km([0.375, 0.375], [0.375, 0.375])
    dlat_km = float(hs.haversine_km(100.0, 30.0, 100.0, 30.01))  # 1.112 km per 0.01 deg
    for km, linked in ((1.52, True), (1.54, False)):
        lat2 = 30.0 + 0.01 * km / dlat_km
        lab = hs.cluster_labels([100.0, 100.0], [30.0, lat2], t, diag, gap_km=1.0)
        assert bool(lab[0] == lab[1]) is linked, km


def test_time_window_and_chains() -> None:
    t = np.array(["2022-05-31T06:00", "2022-06-05T06:00", "2022-06-05T06:01"], dtype="datetime64[m]")
    lat = [29.0, 29.0, 29.0]
    lab = hs.cluster_labels([105.8] * 3, lat, t, [1.0] * 3, window_h=120)
    assert lab.tolist() == [0, 0, 0]  # exactly 120 h apart: linked
    lab = hs.cluster_labels([105.8] * 3, lat, t, [1.0] * 3, window_h=119.99)
    assert lab.tolist() == [0, 1, 1]
    # a chain A-B-C of 1.8 km steps with 1 km pixels (link 2 km) is one fire though A-C is 3.6 km
    tt = np.array(["2022-05-31T06:00"] * 3, dtype="datetime64[m]")
    step = 1.8 / float(hs.haversine_km(0, 0, 0, 1))
    assert hs.cluster_labels([0, 0, 0], [0, step, 2 * step], tt, [1.0] * 3).tolist() == [0, 0, 0]


def test_clustering_across_the_dateline_and_bad_input() -> None:
    t = np.array(["2023-01-01T00:00"] * 3, dtype="datetime64[m]")
    assert hs.cluster_labels([179.999, -179.999, 0.0], [10, 10, 10], t, [1, 1, 1]).tolist() == [0, 0, 2]
    assert hs.cluster_labels([], [], np.array([], "datetime64[m]"), []).tolist() == []
    with pytest.raises(ValueError, match="1-D of one length"):
        hs.cluster_labels([1, 2], [1], t[:2], [1, 1])
    with pytest.raises(ValueError, match=">= 0"):
        hs.cluster_labels([1], [1], t[:1], [1], gap_km=-1)


# --- persistent places ----------------------------------------------------------------------------------
# GENERATED inputs: positions and dates are made up to exercise the rule, not observations.


def test_a_place_seen_on_many_days_over_months_is_proposed() -> None:
    days = np.datetime64("2023-01-01") + np.arange(0, 100, 10)  # 10 dates, 90 days apart first-last
    lon = 106.0 + np.array([0, 1, -1, 2, -2, 1, 0, -1, 2, 0]) * 0.001
    lat = 29.5 + np.array([1, 0, -1, 0, 1, -2, 2, 0, -1, 1]) * 0.001
    got = hs.static_candidates(np.r_[lon, 107.0], np.r_[lat, 29.0], np.r_[days, days[0]])
    assert len(got) == 1
    c = got[0]
    assert (c.distinct_days, c.first_day, c.last_day, c.members) == (
        10, date(2023, 1, 1), date(2023, 4, 1), tuple(range(10)),
    )  # fmt: skip
    assert (c.lon, c.lat) == (pytest.approx(106.0002), pytest.approx(29.5001))
    assert c.radius_km == pytest.approx(float(hs.haversine_km(c.lon, c.lat, lon, lat).max()) + 0.5)


def test_a_week_long_fire_or_too_few_days_is_not_proposed() -> None:
    week = np.datetime64("2022-08-21") + np.arange(7)  # daily detections for 7 days (a long forest fire)
    assert hs.static_candidates([106.4] * 7, [29.9] * 7, week) == []
    five = np.datetime64("2023-01-01") + np.arange(0, 50, 10)  # 5 dates over 40 days: one short
    assert hs.static_candidates([106.4] * 5, [29.9] * 5, five) == []
    assert len(hs.static_candidates([106.4] * 5, [29.9] * 5, five, min_days=5)) == 1
    spread = np.datetime64("2023-01-01") + np.arange(0, 60, 10)  # 6 dates, but 1.5 km apart in a line
    far = hs.static_candidates([106.4] * 6, 29.9 + np.arange(6) * 0.0135, spread)
    assert far == []
