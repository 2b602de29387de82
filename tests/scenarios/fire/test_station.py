"""Daily station weather for the danger rating (scenarios/fire/station.py): reading, checking, rating
a day, nearest stations. No database.

The weather file is DERIVED from real records moved to two positions in Yongchuan (see
tests/data/fire/danger/SOURCES.md): YC-A = Petawawa Research Forest 2007 (cffdrs-ng hourly data,
reduced to daily extremes), YC-B = Hailar 2013 (cffdrs test_wDC, dates relabelled 2007).
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from zhizhi.core.errors import InvalidInput
from zhizhi.scenarios.fire import indices, station
from zhizhi.scenarios.fire import weather as fw

DATA = Path(__file__).resolve().parents[2] / "data" / "fire" / "danger"
DERIVED = DATA / "derived_yongchuan_stations_daily_2007-05.csv"
D24 = date(2007, 5, 24)
HEAD = "station,lon,lat,date,tmax,rh_min,rain,wind_max"


def derived() -> station.DailyWeather:
    return station.parse_daily_weather(DERIVED.read_text("utf-8"), DERIVED.name, wind_unit="km/h")


def parse(text: str, **kw: str) -> station.DailyWeather:
    return station.parse_daily_weather(text, "w.csv", **kw)


def refused(text: str, **kw: str) -> str:
    with pytest.raises(InvalidInput) as e:
        parse(text, **kw)
    return e.value.detail


# --- reading -------------------------------------------------------------------------------------------


def test_the_derived_file_reads_as_two_stations_of_fifteen_days() -> None:
    w = derived()
    assert w.has_noon and [s.station for s in w.stations] == ["YC-A", "YC-B"]
    assert (w.first_date, w.last_date) == (date(2007, 5, 11), date(2007, 5, 25))
    a, b = w.stations
    assert (a.lon, a.lat, len(a.dates), a.lines[0], b.lines[-1]) == (105.9, 29.36, 15, 2, 31)
    # km/h: wind_max becomes m/s (rounded to 1e-6), the noon ws stays km/h
    assert (a.wind_ms[13], a.ws[13], a.prec[0], a.rain[0]) == (4.694444, 8.98, 0.5, 0.0)


def test_m_per_s_is_the_default_and_beaufort_boundaries_hold() -> None:
    w = parse(f"{HEAD}\nS1,105.9,29.36,2007-05-01,20,40,0,5.4\nS1,105.9,29.36,2007-05-02,20,40,0,5.5\n")
    (s,) = w.stations
    assert not w.has_noon and s.wind_ms.tolist() == [5.4, 5.5]
    assert math.isnan(s.temp[0]) and s.prec.tolist() == [0.0, 0.0] and s.green_cover.tolist() == [0.0, 0.0]
    forces = [station.rate_station(s, d, has_noon=False).wind_force for d in s.dates]
    assert forces == [3, 4]  # 3.4-5.4 m/s is force 3, 5.5 force 4


def test_columns_in_any_case_order_and_aliases() -> None:
    w = parse("ID,Date,LONG,Lat,Wind_Max,Rain,RH_min,TMax,note\nS1,2007-05-01,105.9,29.36,3,0,40,20,x\n")
    (s,) = w.stations
    assert (s.station, s.lon, s.tmax[0], s.rh_min[0], s.wind_ms[0]) == ("S1", 105.9, 20.0, 40.0, 3.0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "w.csv: empty file (no header line)"),
        (f"{HEAD}\n", "w.csv: no data rows after the header"),
        (
            "station,lon,lat,date,tmax,rhmin,rain,wind_max\nS1,105.9,29.36,2007-05-01,20,40,0,3\n",
            'w.csv: line 1: missing column "rh_min" (is "rhmin" a misspelling?)',
        ),
        (
            "station,lon,lat,date,tmaximum,rhmin,rainfall,wind\nS1,105.9,29.36,2007-05-01,20,40,0,3\n",
            'w.csv: line 1: missing columns: "tmax" (is "tmaximum" a misspelling?), '
            '"rh_min" (is "rhmin" a misspelling?), "rain" (is "rainfall" a misspelling?), '
            '"wind_max" (is "wind" a misspelling?)',
        ),
        (
            "long,lat,yr,mon,day,temp,rh,ws,prec\n-100,40,1985,4,13,17,42,25,0\n",
            "w.csv: line 1: this is the FWI weather layout of `zhizhi fire fwi` "
            "(long,lat,yr,mon,day,temp,rh,ws,prec); the danger rating expects daily station weather: "
            "station,lon,lat,date,tmax,rh_min,rain,wind_max[,temp,rh,ws[,prec]][,green_cover][,snow_cover]",
        ),
        (
            f"{HEAD},temp,rh\nS1,105.9,29.36,2007-05-01,20,40,0,3,18,50\n",
            'w.csv: line 1: noon columns temp, rh, ws go together: "ws" is missing (or drop all three)',
        ),
        (
            f"{HEAD},tmax\nS1,105.9,29.36,2007-05-01,20,40,0,3,20\n",
            'w.csv: line 1: column "tmax" appears twice (or under two names)',
        ),
        (
            f"{HEAD}\nS1,105.9,29.36,2007-05-01,20,40,0,3\nS1,105.9,29.36,2007-05-02,20,101,0,3\n",
            "w.csv: line 3, column rh_min: 101 is outside 0 to 100 %",
        ),
        (
            f"{HEAD}\nS1,105.9,29.36,2007-05-01,20,40,-0.5,3\n",
            "w.csv: line 2, column rain: -0.5 is outside 0 to 2000 mm",
        ),
        (
            f"{HEAD}\nS1,105.9,29.36,2007-05-01,20,40,0,120\n",
            "w.csv: line 2, column wind_max: 120 (432 km/h) is outside 0 to 400 km/h",
        ),
        (
            f"{HEAD}\nS1,105.9,29.36,2007-05-01,20,,0,3\n",
            "w.csv: line 2, column rh_min: missing value",
        ),
        (
            f"{HEAD}\nS1,105.9,29.36,2007-05-01,hot,40,0,3\n",
            'w.csv: line 2, column tmax: "hot" is not a number',
        ),
        (
            f"{HEAD}\nS1,105.9,29.36,2007-13-01,20,40,0,3\n",
            'w.csv: line 2, column date: "2007-13-01" is not a date (YYYY-MM-DD)',
        ),
        (
            f"{HEAD}\nS1,105.9,29.36,2007/05/01,20,40,0,3\n",
            'w.csv: line 2, column date: "2007/05/01" is not a date (YYYY-MM-DD); write 2007-05-01',
        ),
        (
            f"{HEAD}\nS1,105.9,29.36,2007-05-01,20,40,0\n",
            "w.csv: line 2: 7 fields, expected 8 (as the header)",
        ),
        (
            f"{HEAD}\nS1,105.9,29.36,2007-05-01,20,40,0,3\nS1,105.9,29.36,2007-05-04,20,40,0,3\n",
            'w.csv: line 3, column date: station "S1": no row for 2007-05-02 to 2007-05-03 '
            "(between line 2 and this line); every day is needed",
        ),
        (
            f"{HEAD}\nS1,105.9,29.36,2007-05-01,20,40,0,3\nS1,105.9,29.36,2007-05-01,21,40,0,3\n",
            'w.csv: line 3, column date: station "S1": date 2007-05-01 also on line 2',
        ),
        (
            f"{HEAD}\nS1,105.9,29.36,2007-05-01,20,40,0,3\nS1,105.8,29.36,2007-05-02,20,40,0,3\n",
            'w.csv: line 3, column lon: station "S1": lon changes from 105.9 (line 2) to 105.8; '
            "a station keeps its position",
        ),
    ],
)
def test_bad_input_names_file_line_and_column(text: str, message: str) -> None:
    assert refused(text) == message


def test_every_bad_value_is_listed() -> None:
    with pytest.raises(InvalidInput) as e:
        parse(f"{HEAD}\nS1,105.9,29.36,2007-05-01,99,140,0,3\n")
    assert e.value.detail == "w.csv: line 2, column tmax: 99 is outside -90 to 60 °C (and 1 more)"
    assert [(f.line, f.column) for f in e.value.errors] == [(2, "tmax"), (2, "rh_min")]


def test_unknown_wind_unit() -> None:
    with pytest.raises(ValueError, match='wind unit must be one of km/h, m/s, got "knots"'):
        parse(f"{HEAD}\n", wind_unit="knots")


# --- rating a day ---------------------------------------------------------------------------------------


def test_htz_of_both_stations_worked_by_hand() -> None:
    # YC-A 2007-05-24: Tmax 32.55 > 25 -> A 20; RHmin 21.89 < 25 -> B 20; dry since 05-17 (05-16 had
    # 11.6 mm) -> 8 days -> C 40; 16.9 km/h = 4.694 m/s -> force 3 -> D 15; E 0: HTZ 95 > 90 -> 五级.
    # YC-B: 18.5 -> A 12; 46 -> B 8; 0.4 mm > 0.1 -> 0 dry days -> C 0; 13 km/h = 3.611 m/s -> force 3
    # -> D 15: HTZ 35 -> 二级.
    rated, skipped = station.rate_day(derived(), D24)
    assert skipped == []
    got = [(r.station, r.line, r.dry_days, r.wind_force, r.scores, r.htz, r.level) for r in rated]
    assert got == [
        ("YC-A", 15, 8, 3, {"A": 20.0, "B": 20.0, "C": 40.0, "D": 15.0, "E": 0.0}, 95.0, 5),
        ("YC-B", 30, 0, 3, {"A": 12.0, "B": 8.0, "C": 0.0, "D": 15.0, "E": 0.0}, 35.0, 2),
    ]
    assert [(r.dry_days_open, r.fwi_start) for r in rated] == [(False, "startup"), (False, "startup")]


def test_fwi_equals_the_fwi_command_on_the_same_noon_columns() -> None:
    """The station's FWI is what ``zhizhi fire fwi`` computes from the file's noon columns (date
    layout, 24 h rain to noon, km/h), chained from 85/6/15 up to the day."""
    rows = list(csv.DictReader(DERIVED.open(encoding="utf-8")))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["date", "temp", "rh", "ws", "prec", "lat", "station"])
    for r in rows:
        if r["date"] <= "2007-05-24":
            w.writerow([r["date"], r["temp"], r["rh"], r["ws"], r["prec"], r["lat"], r["station"]])
    table = fw.parse_weather(buf.getvalue(), "noon.csv")
    ref = fw.compute_fwi(table)
    rated, _ = station.rate_day(derived(), D24)
    for r in rated:
        last = max(i for i, s in enumerate(table.station) if s == r.station)
        assert r.fwi == {k: float(ref[k][last]) for k in indices.FWIComponents.NAMES}
    assert [round(r.fwi["fwi"] or 0, 4) for r in rated] == [15.4845, 4.4678]
    assert [(r.fwi_level, r.effis_class) for r in rated] == [(3, 3), (1, 1)]


def first_days(s: station.StationSeries, n: int) -> station.StationSeries:
    """The station's first ``n`` days."""
    arrays = {k: v[:n] for k, v in vars(s).items() if isinstance(v, np.ndarray)}
    return replace(s, dates=s.dates[:n], lines=s.lines[:n], **arrays)


def test_rows_after_the_day_are_not_used_and_a_missing_day_is_skipped() -> None:
    w = derived()
    whole, _ = station.rate_day(w, D24)  # YC-A has a row for 05-25 too
    w.stations = [first_days(w.stations[0], 14), first_days(w.stations[1], 12)]  # to 05-24, to 05-22
    rated, skipped = station.rate_day(w, D24)
    assert skipped == ["YC-B"] and [r.station for r in rated] == ["YC-A"]
    assert rated[0] == whole[0]


def test_carry_continues_dry_days_and_the_fwi_chain() -> None:
    w = derived()
    (a24, _), _ = station.rate_day(w, D24)
    one_day = parse(
        "station,lon,lat,date,tmax,rh_min,rain,wind_max,temp,rh,ws,prec\n"
        "YC-A,105.9,29.36,2007-05-25,28.78,22.23,0,23.43,28.54,41.5,18.07,0\n",
        wind_unit="km/h",
    )
    carry = station.Carry(D24, a24.dry_days, a24.fwi["ffmc"], a24.fwi["dmc"], a24.fwi["dc"])
    (cont,), _ = station.rate_day(one_day, date(2007, 5, 25), {"YC-A": carry})
    (full, _), _ = station.rate_day(w, date(2007, 5, 25))
    assert (cont.dry_days, cont.htz, cont.fwi, cont.fwi_start) == (9, 105.0, full.fwi, "stored 2007-05-24")
    (fresh,), _ = station.rate_day(one_day, date(2007, 5, 25))
    assert (fresh.dry_days, fresh.dry_days_open, fresh.fwi_start) == (1, True, "startup")
    assert fresh.fwi != full.fwi


def test_an_empty_noon_value_leaves_the_fwi_missing_from_that_day_on() -> None:
    text = (
        "station,lon,lat,date,tmax,rh_min,rain,wind_max,temp,rh,ws\n"
        "S1,105.9,29.36,2007-05-01,20,40,0,3,18,50,10\n"
        "S1,105.9,29.36,2007-05-02,20,40,0,3,,50,10\n"
        "S1,105.9,29.36,2007-05-03,20,40,0,3,18,50,10\n"
    )
    w = parse(text)
    day1, day3 = (station.rate_day(w, date(2007, 5, d))[0][0] for d in (1, 3))
    assert day1.fwi["fwi"] is not None and day1.fwi_level is not None
    assert day3.fwi == dict.fromkeys(indices.FWIComponents.NAMES) and day3.fwi_level is None
    assert day3.level == day1.level  # the Chinese rating does not need the noon values


def test_phenology_correction_is_subtracted() -> None:
    text = (
        "station,lon,lat,date,tmax,rh_min,rain,wind_max,green_cover,snow_cover\n"
        "S1,105.9,29.36,2007-05-01,20,40,0,3,80,0\n"
    )
    (r,), _ = station.rate_day(parse(text), date(2007, 5, 1))
    # A 12 + B 12 + C 5 (1 dry day) + D 10 (3 m/s: force 2) - E 15 (75-100 % green) = 24 -> 一级
    assert (r.scores, r.htz, r.level) == ({"A": 12.0, "B": 12.0, "C": 5.0, "D": 10.0, "E": 15.0}, 24.0, 1)


# --- nearest station ------------------------------------------------------------------------------------


def test_nearest_station_by_great_circle_distance_first_on_a_tie() -> None:
    idx, km = station.nearest_stations(
        [105.9, 105.9, 105.84], [29.36, 30.36, 29.1], [105.9, 105.82, 105.9], [29.36, 29.04, 29.36]
    )
    assert idx.tolist() == [0, 0, 1]  # stations 0 and 2 are at the same place: the first wins
    assert km[0] == 0.0 and round(float(km[1]), 5) == 111.19508  # 1 degree of latitude, R 6371.0088 km
    with pytest.raises(ValueError, match="no station to choose from"):
        station.nearest_stations([105.9], [29.36], [], [])
