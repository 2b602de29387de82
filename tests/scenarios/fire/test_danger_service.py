"""Daily fire danger ratings per town and grid (service/danger.py and ``zhizhi fire danger``), on the
test database (Yongchuan loaded by conftest: 23 towns, 3157 grids).

The weather file is DERIVED (real records moved to two positions in Yongchuan; see
tests/data/fire/danger/SOURCES.md): YC-A at 105.9E 29.36N rates 五级 (HTZ 95) on 2007-05-24, YC-B at
105.82E 29.04N rates 二级 (HTZ 35).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
import shapely
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from zhizhi.cli import app
from zhizhi.core.access import Actor
from zhizhi.core.errors import Forbidden, InvalidInput
from zhizhi.event import service as events
from zhizhi.org.models import OrgUnit
from zhizhi.scenarios.fire import service, station
from zhizhi.scenarios.fire.models import DangerRating, DangerRun, StationDay
from zhizhi.scenarios.fire.schemas import DangerRunSummary

DATA = Path(__file__).resolve().parents[2] / "data" / "fire" / "danger"
DERIVED = DATA / "derived_yongchuan_stations_daily_2007-05.csv"
RAW = DERIVED.read_bytes()
D24, D25 = date(2007, 5, 24), date(2007, 5, 25)
SYS = events.system_actor("500118")
ZHONGSHAN, ZHUTUO = "500118001000", "500118118000"  # 中山路街道, 朱沱镇
STATIONS = {"YC-A": (105.9, 29.36), "YC-B": (105.82, 29.04)}
DANGER_TABLES = ("fire_danger_rating", "fire_station_day", "fire_danger_run")


@pytest.fixture(autouse=True)
def _clean_danger(engine: Engine) -> Iterator[None]:
    """Empty the danger tables after each test (the CLI test commits)."""
    yield
    with engine.begin() as c:
        for t in DANGER_TABLES:
            c.execute(text(f"DELETE FROM {t}"))


def rate(
    session: Session, day: date = D24, raw: bytes = RAW, max_km: float | None = None
) -> DangerRunSummary:
    return service.rate_danger(session, SYS, raw, DERIVED.name, day, wind_unit="km/h", max_km=max_km)


def great_circle_km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Haversine on the sphere of mean radius 6371.0088 km, written out here for the check."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0088 * math.asin(math.sqrt(a))


def one_day(day: str, stations: tuple[str, ...] = ("YC-A", "YC-B")) -> bytes:
    """The derived file cut to one day (and some stations)."""
    lines = RAW.decode().splitlines()
    keep = [ln for ln in lines[1:] if ln.split(",")[3] == day and ln.split(",")[0] in stations]
    return ("\n".join([lines[0], *keep]) + "\n").encode()


# --- a run ----------------------------------------------------------------------------------------------


def test_every_town_and_grid_takes_its_nearest_station(session: Session) -> None:
    s = rate(session)
    assert (s.date, s.file, s.wind_unit, s.towns, s.grids, s.unrated, s.replaced) == (
        D24,
        DERIVED.name,
        "km/h",
        23,
        3157,
        0,
        0,
    )
    assert [(st.station, st.level, st.htz, st.towns, st.grids) for st in s.stations] == [
        ("YC-A", 5, 95.0, 17, 2277),
        ("YC-B", 2, 35.0, 6, 880),
    ]
    assert s.stations_skipped == [] and s.town_levels == {2: 6, 5: 17} and s.max_distance_km == 27.058
    rows = session.scalars(select(DangerRating).where(DangerRating.day == D24)).all()
    assert len(rows) == 3180
    units = {
        u.code: u for u in session.scalars(select(OrgUnit).where(OrgUnit.level.in_(("town", "grid")))).all()
    }
    for r in rows:  # the nearest station by straight-line distance from the unit's centroid
        c = shapely.from_wkb(units[r.unit_code].geom).centroid
        d = {k: great_circle_km(c.x, c.y, *v) for k, v in STATIONS.items()}
        assert r.station == min(d, key=lambda k: d[k]) and r.distance_km == round(d[r.station], 3)
        assert r.run_id == s.run_id and r.source_file == DERIVED.name and r.district_code == "500118"


def test_the_stored_row_of_a_town(session: Session) -> None:
    rate(session)
    zt = session.scalars(
        select(DangerRating).where(DangerRating.day == D24, DangerRating.unit_code == ZHUTUO)
    ).one()
    got = service.rating_read(zt).model_dump(mode="json", exclude={"computed_at", "fwi"})
    assert got == {
        "date": "2007-05-24",
        "unit_code": ZHUTUO,
        "unit_level": "town",
        "unit_name": "朱沱镇",
        "district_code": "500118",
        "town_code": ZHUTUO,
        "level": 2,
        "label": "二级",
        "name": "较低火险",
        "colour_name": "蓝色",
        "colour": "#1F6FD1",
        "htz": 35.0,
        "scores": {"A": 12.0, "B": 8.0, "C": 0.0, "D": 15.0, "E": 0.0},
        "fwi_level": 1,
        "effis_class": 1,
        "station": "YC-B",
        "distance_km": 2.695,
        "source_file": DERIVED.name,
    }
    assert round(zt.fwi or 0, 4) == 4.4678 and round(zt.dc or 0, 4) == 49.6516
    st = session.scalars(select(StationDay).where(StationDay.day == D24, StationDay.station == "YC-A")).one()
    assert (st.dry_days, st.wind_force, st.level, st.fwi_start, st.line) == (8, 3, 5, "startup", 15)


def test_a_rerun_replaces_the_day_and_is_recorded(session: Session) -> None:
    first = rate(session)
    again = rate(session)
    assert (first.replaced, again.replaced) == (0, 3180) and again.run_id != first.run_id
    n = session.scalar(select(func.count()).select_from(DangerRating).where(DangerRating.day == D24))
    runs = session.execute(select(DangerRun.replaced, DangerRun.computed_by).order_by(DangerRun.id)).all()
    assert n == 3180 and [tuple(r) for r in runs] == [(0, "系统"), (3180, "系统")]
    assert set(session.scalars(select(DangerRating.run_id).where(DangerRating.day == D24))) == {again.run_id}
    # another day is kept
    rate(session, D25)
    assert session.scalar(select(func.count()).select_from(DangerRating)) == 2 * 3180


def test_a_one_day_file_continues_from_the_stored_day_before(session: Session) -> None:
    rate(session, D24)
    cont = rate(session, D25, one_day("2007-05-25"))
    full, _ = station.rate_day(
        station.parse_daily_weather(RAW.decode(), "x", wind_unit="km/h"), D25
    )  # the whole series in one chain
    got = [
        (st.station, st.dry_days, st.dry_days_open, st.htz, st.fwi.model_dump(), st.fwi_start)
        for st in cont.stations
    ]
    assert got == [(r.station, r.dry_days, False, r.htz, r.fwi, "stored 2007-05-24") for r in full]
    assert [st.dry_days for st in cont.stations] == [9, 1]


def test_without_a_stored_day_the_chain_starts_afresh(session: Session) -> None:
    s = rate(session, D25, one_day("2007-05-25"))
    assert [(st.dry_days, st.dry_days_open, st.fwi_start) for st in s.stations] == [
        (1, True, "startup"),
        (1, True, "startup"),
    ]


def test_a_station_without_the_day_is_skipped(session: Session) -> None:
    lines = RAW.decode().splitlines()
    cut = [ln for ln in lines[1:] if ln.startswith("YC-A") or ln.split(",")[3] <= "2007-05-23"]
    raw = ("\n".join([lines[0], *cut]) + "\n").encode()  # YC-B ends on 05-23
    s = rate(session, D24, raw)
    assert s.stations_skipped == ["YC-B"] and [st.station for st in s.stations] == ["YC-A"]
    assert (s.towns, s.grids, s.town_levels) == (23, 3157, {5: 23})


def test_max_km_leaves_far_units_unrated(session: Session) -> None:
    s = rate(session, max_km=5)
    assert (s.towns + s.grids, s.unrated) == (315, 2865)
    assert s.max_distance_km <= 5
    with pytest.raises(InvalidInput, match="max_km must be >= 0"):
        rate(session, max_km=-1)


def test_a_run_that_rates_nothing_keeps_the_days_ratings(session: Session) -> None:
    full = rate(session)
    count = select(func.count()).select_from(DangerRating).where(DangerRating.day == D24)
    stored = session.scalar(count)
    assert stored == full.towns + full.grids
    with pytest.raises(InvalidInput, match="no town or grid is within 0.001 km of a station") as e:
        rate(session, max_km=0.001)
    assert "ratings stored for 2007-05-24 are kept" in e.value.detail
    assert session.scalar(count) == stored


# 北京 (54511): about 1,500 km from 永川 (1,483 km from its nearest grid)
BEIJING_STATION = "station,lon,lat,date,tmax,rh_min,rain,wind_max\n54511,116.47,39.81,2007-05-24,30,20,0,5\n"


def test_a_station_farther_than_the_default_max_km_rates_nothing_and_keeps_the_day(
    session: Session, tmp_path: Path
) -> None:
    from zhizhi.scenarios.fire.cli import danger as cli_danger
    from zhizhi.scenarios.fire.service import danger as svc_danger

    assert svc_danger.DEFAULT_MAX_KM == cli_danger.DEFAULT_MAX_KM == 150.0  # the CLI's copy agrees
    full = rate(session)
    session.commit()
    count = select(func.count()).select_from(DangerRating).where(DangerRating.day == D24)
    stored = session.scalar(count)
    with pytest.raises(InvalidInput) as e:  # the service's default: 150 km
        service.rate_danger(session, SYS, BEIJING_STATION.encode(), "bj.csv", D24)
    assert re.fullmatch(
        r"bj.csv: no town or grid is within 150 km of a station \(the nearest station is 1483 km from "
        r"the nearest town or grid\); nothing was rated and the ratings stored for 2007-05-24 are kept\. "
        r"Check the stations' lon/lat, or raise the limit \(max_km; --max-km of `zhizhi fire danger`\) to "
        r"rate from stations that far",
        e.value.detail,
    ), e.value.detail
    session.rollback()
    f = tmp_path / "bj.csv"
    f.write_text(BEIJING_STATION, encoding="utf-8")
    r = CliRunner().invoke(app, ["fire", "danger", str(f)])
    assert (r.exit_code, r.stdout) == (2, "")
    assert r.stderr.startswith("error: bj.csv: no town or grid is within 150 km of a station")
    assert session.scalar(count) == stored == full.towns + full.grids  # nothing replaced
    r = CliRunner().invoke(app, ["fire", "danger", "--help"])
    assert "[default: 150" in " ".join(r.stdout.split())
    r = CliRunner().invoke(app, ["fire", "danger", str(f), "--max-km", "2000", "--json"])
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["unrated"] == 0  # the override rates from that far, with a warning
    assert "rated from a station more than 50 km" in r.stderr


def near_and_beijing() -> bytes:
    """YC-A's row of 2007-05-24 (DERIVED) and 北京 54511's (about 1,483 km away), noon columns empty."""
    (near,) = one_day("2007-05-24", ("YC-A",)).decode().splitlines()[1:]
    far = "54511,116.47,39.81,2007-05-24,30,20,0,5,,,,"
    return ("\n".join([RAW.decode().splitlines()[0], near, far]) + "\n").encode()


def test_a_station_too_far_from_every_town_is_named_as_not_used(session: Session, tmp_path: Path) -> None:
    got = service.rate_danger(session, SYS, near_and_beijing(), "two.csv", D24, wind_unit="km/h")
    beijing = next(st for st in got.stations if st.station == "54511")
    assert (beijing.towns, beijing.grids) == (0, 0) and got.unrated == 0
    (warning,) = [w for w in got.warnings if "54511" in w]
    assert warning == (
        "station 54511 is 1483 km from the nearest town or grid: not used (beyond --max-km 150; "
        "check its lon/lat)"
    )
    # no limit: no such warning (every station may be used)
    session.rollback()
    got = service.rate_danger(session, SYS, near_and_beijing(), "two.csv", D24, wind_unit="km/h", max_km=None)
    assert not [w for w in got.warnings if "not used" in w]
    session.rollback()
    f = tmp_path / "two.csv"
    f.write_bytes(near_and_beijing())
    r = CliRunner().invoke(app, ["fire", "danger", str(f), "--wind-unit", "km/h", "--json"])
    assert r.exit_code == 0, r.stderr
    assert f"warning: {warning}" in r.stderr.splitlines()
    assert warning in json.loads(r.stdout)["warnings"]


def test_the_latest_rated_day_in_the_callers_scope(session: Session) -> None:
    center = Actor(None, "d", "值班员", "center_duty", "500118-CYZX", "500118")
    assert service.latest_rated_day(session, center) is None
    rate(session, D24)
    rate(session, D25, raw=one_day("2007-05-25"))
    assert service.latest_rated_day(session, center) == D25
    other = Actor(None, "d", "值班员", "center_duty", "500116-CYZX", "500116")
    assert service.latest_rated_day(session, other) is None  # another district's ratings: not seen
    town = replace(center, role="town_duty", unit_code=f"{ZHUTUO}-ZHZX", town_code=ZHUTUO)
    assert service.latest_rated_day(session, town) == D25


def test_a_day_without_rows_and_a_bad_file_are_refused(session: Session) -> None:
    with pytest.raises(InvalidInput) as e:
        rate(session, date(2007, 6, 1))
    assert e.value.detail == (
        f"{DERIVED.name}: no station has a row for 2007-06-01 (the file covers 2007-05-11 to 2007-05-25)"
    )
    bad = RAW.replace(b"2007-05-13,17.63,19.13", b"2007-05-13,17.63,119.13")
    with pytest.raises(InvalidInput) as e:
        rate(session, D24, bad)
    assert e.value.detail == f"{DERIVED.name}: line 4, column rh_min: 119.13 is outside 0 to 100 %"
    assert session.scalar(select(func.count()).select_from(DangerRun)) == 0


def test_only_fire_managers_rate(session: Session) -> None:
    leader = Actor(None, "l", "领导", "leader", "500118-CYZX", "500118")
    with pytest.raises(Forbidden, match=r"\(fire.manage\)"):
        service.rate_danger(session, leader, RAW, "w.csv", D24, wind_unit="km/h")


# --- reading in scope -----------------------------------------------------------------------------------


def _grid_of(session: Session, town: str) -> str:
    return str(
        session.scalar(
            select(OrgUnit.code)
            .where(OrgUnit.level == "grid", OrgUnit.town_code == town)
            .order_by(OrgUnit.code)
        )
    )


def test_ratings_follow_the_data_scope(session: Session) -> None:
    rate(session)
    grid = _grid_of(session, ZHONGSHAN)
    center = Actor(None, "d", "值班员", "center_duty", "500118-CYZX", "500118")
    town = Actor(None, "t", "镇街值班员", "town_duty", f"{ZHONGSHAN}-ZHZX", "500118", ZHONGSHAN)
    worker = Actor(None, "w", "网格员", "grid_worker", grid, "500118", ZHONGSHAN)
    dept = Actor(None, "h", "处置人", "dept_handler", "500118-CGJ", "500118")
    assert len(service.list_ratings(session, center, D24)) == 3180
    assert len(service.list_ratings(session, dept, D24, "town")) == 23
    mine = service.list_ratings(session, town, D24)
    assert (mine[0].unit_code, mine[0].unit_level, len(mine)) == (ZHONGSHAN, "town", 142)
    assert {r.town_code for r in mine} == {ZHONGSHAN}
    assert [(r.unit_code, r.level) for r in service.list_ratings(session, worker, D24)] == [
        (ZHONGSHAN, 5),
        (grid, 5),
    ]
    assert service.list_ratings(session, center, D25) == []
    with pytest.raises(InvalidInput, match='level must be town or grid, got "village"'):
        service.list_ratings(session, center, D24, "village")


def test_geojson_of_the_towns(session: Session) -> None:
    rate(session)
    town = Actor(None, "t", "镇街值班员", "town_duty", f"{ZHUTUO}-ZHZX", "500118", ZHUTUO)
    fc = service.danger_geojson(session, town, D24)
    (f,) = fc["features"]
    assert (fc["type"], fc["date"], f["id"], f["geometry"]["type"]) == (
        "FeatureCollection",
        "2007-05-24",
        ZHUTUO,
        "Polygon",
    )
    p = f["properties"]
    assert (p["level"], p["label"], p["colour"], p["station"], round(p["fwi"], 4)) == (
        2,
        "二级",
        "#1F6FD1",
        "YC-B",
        4.4678,
    )
    assert p["generated"] is True  # zhizhi's approximated town boundary


# --- command line ---------------------------------------------------------------------------------------


def zz(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(app, list(args), prog_name="zhizhi")
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    return r.exit_code, r.stdout, r.stderr


def test_cli_rates_stores_and_prints_the_towns(engine: Engine, tmp_path: Path) -> None:
    code, out, err = zz("fire", "danger", str(DERIVED), "--date", "2007-05-24", "--wind-unit", "km/h")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == (
        f"森林火险等级 2007-05-24 · {DERIVED.name} · 2 stations; each town and grid rated from its "
        "nearest station (straight-line distance)"
    )
    assert lines[1] == "wind: wind_max and ws read as km/h (--wind-unit km/h)"
    lines.pop(1)
    assert lines[1].split() == ["code", "镇街", "等级", "火险", "颜色", "HTZ", "FWI", "station", "km"]
    assert lines[2].split() == [
        ZHONGSHAN,
        "中山路街道",
        "五级",
        "极高火险",
        "红色",
        "#D7191C",
        "95",
        "15.5",
        "YC-A",
        "3.2",
    ]
    assert lines[24].split() == [
        ZHUTUO,
        "朱沱镇",
        "二级",
        "较低火险",
        "蓝色",
        "#1F6FD1",
        "35",
        "4.5",
        "YC-B",
        "2.7",
    ]
    assert re.fullmatch(
        r"23 towns \(二级 6, 五级 17\), 3157 grids rated; 0 unrated; "
        r"0 earlier rows of the day replaced \(run \d+\)",
        lines[25],
    )
    assert lines[26:28] == [
        "  station YC-A: 五级 HTZ 95 (Tmax 32.55 °C, RHmin 21.89 %, rain 0 mm, wind force 3, dry days 8); "
        "FWI 15.5 (startup); 17 towns, 2277 grids",
        "  station YC-B: 二级 HTZ 35 (Tmax 18.5 °C, RHmin 46 %, rain 0.4 mm, wind force 3, dry days 0); "
        "FWI 4.5 (startup); 6 towns, 880 grids",
    ]
    code, out, _ = zz("fire", "danger", str(DERIVED), "--date", "2007-05-24", "--wind-unit", "km/h", "--json")
    got = json.loads(out)
    assert (code, got["replaced"], len(got["town_ratings"])) == (0, 3180, 23)
    bad = tmp_path / "bad.csv"
    bad.write_text("station,lon,lat,date,tmax,rh_min,rain\nS1,105.9,29.36,2007-05-01,20,40,0\n", "utf-8")
    code, out, err = zz("fire", "danger", str(bad))
    assert (code, out, err) == (2, "", f'error: {bad.name}: line 1: missing column "wind_max"\n')
    code, _, err = zz("fire", "danger", str(DERIVED), "--date", "24/05/2007")
    assert (code, err) == (2, 'error: --date "24/05/2007": not a date YYYY-MM-DD\n')
    code, _, err = zz("fire", "danger", str(tmp_path / "none.csv"))
    assert (code, err.strip()) == (2, f"error: {tmp_path / 'none.csv'}: no such file")
    # m/s is the default: read as m/s, the km/h winds 16.9 and 13 become forces 7 and 6 (not 3 and 3).
    # Plausible either way (median 11.7 "m/s", no row above 40), so no warning: the command says
    # which unit it assumed, and --wind-unit must be right (documented)
    code, out, err = zz("fire", "danger", str(DERIVED), "--date", "2007-05-24", "--json")
    assert code == 0 and [s["wind_force"] for s in json.loads(out)["stations"]] == [7, 6]
    assert err == (
        "wind: wind_max and ws read as m/s (the default of this command; --wind-unit km/h for data in "
        "the other unit)\n"
    )
    assert json.loads(out)["warnings"] == []


def test_rh_just_above_100_needs_clamp_rh_and_is_counted(session: Session, tmp_path: Path) -> None:
    """rh_min 19.13 on line 4 written as 100.01 (a sensor's rounding): refused naming line, column and
    --clamp-rh; with the option read as 100 and counted in the summary (text and JSON) and the run."""
    clamped = RAW.replace(b"2007-05-13,17.63,19.13", b"2007-05-13,17.63,100.01")
    with pytest.raises(InvalidInput) as e:
        rate(session, D24, clamped)
    assert e.value.detail == f"{DERIVED.name}: line 4, column rh_min: 100.01 is outside 0 to 100 %"
    res = service.rate_danger(session, SYS, clamped, DERIVED.name, D24, wind_unit="km/h", clamp_rh=True)
    assert res.rh_clamped == 1 and rate(session).rh_clamped == 0
    runs = session.scalars(select(DangerRun).order_by(DangerRun.id)).all()
    assert [r.counts.get("rh_clamped") for r in runs] == [1, None]
    session.rollback()

    p = tmp_path / "rh.csv"
    p.write_bytes(clamped)
    code, out, err = zz("fire", "danger", str(p), "--date", "2007-05-24", "--wind-unit", "km/h")
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        "error: rh.csv: line 4, column rh_min: 100.01 is outside 0 to 100 %",
        "hint: 1 rh value is in (100, 101] (sensor rounding?); --clamp-rh takes such values as 100 "
        "(above 101 or below 0 is refused all the same)",
    ]
    args = ("fire", "danger", str(p), "--date", "2007-05-24", "--wind-unit", "km/h", "--clamp-rh")
    code, out, _ = zz(*args)
    assert code == 0 and "rh: 1 value in (100, 101] % taken as 100 (--clamp-rh)" in out.splitlines()
    code, out, _ = zz(*args, "--json")
    assert code == 0 and json.loads(out)["rh_clamped"] == 1
    p.write_bytes(RAW.replace(b"2007-05-13,17.63,19.13", b"2007-05-13,17.63,101.5"))
    code, out, err = zz(*args)
    assert (code, out, err) == (
        2,
        "",
        "error: rh.csv: line 4, column rh_min: 101.5 is outside 0 to 101 % "
        "(--clamp-rh takes (100, 101] as 100)\n",
    )
