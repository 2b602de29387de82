"""Wind units and far stations (windcheck.py): the pure checks, and what ``zhizhi fire fwi`` and
``zhizhi fire danger`` print about them (the unit assumed, warnings naming row and station).

The weather rows here are GENERATED test values (made-up stations and winds at real Yongchuan
points), except the cffdrs sample input used for ``fwi`` (tests/data/fire/fwi, SOURCES.md).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from zhizhi.cli import app
from zhizhi.core.errors import InvalidInput
from zhizhi.event import service as events
from zhizhi.scenarios.fire import service, windcheck
from zhizhi.scenarios.fire.models import DangerRating

FWI_INPUT = Path(__file__).resolve().parents[2] / "data" / "fire" / "fwi" / "cffdrs_r_test_fwi_input.csv"
SYS = events.system_actor("500118")
DANGER_TABLES = ("fire_danger_rating", "fire_station_day", "fire_danger_run")
HEADER = "station,lon,lat,date,tmax,rh_min,rain,wind_max"


@pytest.fixture
def _clean_danger(engine: Engine) -> Iterator[None]:
    yield
    with engine.begin() as c:
        for t in DANGER_TABLES:
            c.execute(text(f"DELETE FROM {t}"))


def zz(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(app, list(args), prog_name="zhizhi")
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    return r.exit_code, r.stdout, r.stderr


def daily(winds: dict[str, list[float]], where: dict[str, tuple[float, float]] | None = None) -> str:
    """A GENERATED daily station file: per station, one row a day from 2026-11-01 with these winds."""
    pos = where or {"YC-A": (105.9, 29.36), "YC-B": (105.82, 29.04)}
    rows = [HEADER]
    for st, ws in winds.items():
        lon, lat = pos[st]
        rows += [f"{st},{lon},{lat},2026-11-{i + 1:02d},20,40,0,{w:g}" for i, w in enumerate(ws)]
    return "\n".join(rows) + "\n"


# --- pure ---------------------------------------------------------------------------------------------


def test_implausible_winds_are_named_row_by_row() -> None:
    rows = [f"line {i} (station S1)" for i in range(2, 8)]
    got = windcheck.wind_warnings(
        [3.0, 41.5, math.nan, 40.0, 2.0, 1.0],
        rows,
        column="wind_max",
        unit="m/s",
        other_option="--wind-unit km/h",
    )
    assert got == [
        "wind_max: 1 value above 40 m/s (implausible as wind; check the value and the unit): "
        "line 3 (station S1): 41.5"
    ]
    assert windcheck.wind_warnings([149.0, 151.0], rows[:2], column="ws", unit="km/h", other_option="x") == [
        "ws: 1 value above 150 km/h (implausible as wind; check the value and the unit): "
        "line 3 (station S1): 151"
    ]
    many = windcheck.wind_warnings([50.0] * 12, [f"line {i}" for i in range(12)], column="ws", unit="m/s",
                                   other_option="x")  # fmt: skip
    assert many[0].endswith("line 9: 50; … and 2 more rows") and "12 values above 40 m/s" in many[0]


def test_a_km_h_file_read_as_m_s_is_flagged_by_its_median() -> None:
    winds = [12.0, 16.0, 18.0, 20.0]  # km/h values, median 17 "m/s"
    got = windcheck.wind_warnings(
        winds, ["r"] * 4, column="wind_max", unit="m/s", other_option="--wind-unit km/h"
    )
    assert got == [
        "wind_max: the median over 4 rows is 17 m/s, above 15 m/s: is the file in km/h? "
        "(--wind-unit km/h reads it so)"
    ]
    assert (
        windcheck.wind_warnings([2.0, 3.5, 30.0], ["r"] * 3, column="w", unit="m/s", other_option="x") == []
    )
    assert windcheck.wind_warnings(winds, ["r"] * 4, column="ws", unit="km/h", other_option="x") == []
    # the refusal check: only the median, only for m/s, per column
    assert windcheck.implausible_medians([("wind_max", winds), ("ws", [1.0, 50.0, 2.0])], "m/s") == [
        windcheck.ImplausibleMedian("wind_max", 17.0, 4, 15.0)
    ]
    assert windcheck.implausible_medians([("ws", [12.0, math.nan, 15.0])], "m/s") == []
    assert windcheck.implausible_medians([("ws", winds)], "km/h") == []
    assert windcheck.median_refusal("w.csv", [windcheck.ImplausibleMedian("ws", 17.0, 4, 15.0)]) == (
        "w.csv: column ws: the median over 4 rows is 17 m/s, above 15 m/s — the wind looks like km/h "
        "read as m/s; nothing rated or stored. Pass --wind-unit km/h if the file is in km/h, or "
        "--accept-implausible-wind to rate it as m/s all the same"
    )
    with pytest.raises(ValueError, match='wind unit must be m/s or km/h, got "mph"'):
        windcheck.wind_warnings([1.0], ["r"], column="ws", unit="mph", other_option="x")


def test_far_stations_and_the_unit_note() -> None:
    towns = [("500118001000", "中山路街道", "YC-A", 3.2), ("500118118000", "朱沱镇", "FAR", 61.04),
             ("500118114000", "红炉镇", "FAR", 50.0)]  # fmt: skip
    assert windcheck.far_station_warnings(towns) == [
        "1 town rated from a station more than 50 km away (straight line; its weather may not be the "
        "town's): 500118118000 朱沱镇 from station FAR 61.0 km away"
    ]
    assert windcheck.far_station_warnings(towns, 100) == []
    assert windcheck.far_station_warnings(towns, 2)[0].startswith(
        "3 towns rated from a station more than 2 km"
    )
    assert windcheck.unit_note("ws", "km/h", "km/h", False, "--wind-unit m/s") == (
        "wind: ws read as km/h (the default of this command; --wind-unit m/s for data in the other unit)"
    )
    assert (
        windcheck.unit_note("ws", "m/s", "km/h", True, "--wind-unit km/h")
        == "wind: ws read as m/s (--wind-unit m/s)"
    )


# --- zhizhi fire fwi ----------------------------------------------------------------------------------


def test_fwi_says_the_unit_and_warns_about_implausible_wind(tmp_path: Path) -> None:
    lines = FWI_INPUT.read_text(encoding="utf-8").splitlines()
    head = lines[0].split(",")
    ws = head.index("ws")
    row = lines[3].split(",")
    row[ws] = "160"  # line 4: 160 km/h
    p = tmp_path / "w.csv"
    p.write_text("\n".join([lines[0], *lines[1:3], ",".join(row), *lines[4:]]) + "\n", encoding="utf-8")
    code, out, err = zz("fire", "fwi", str(p))
    assert code == 0 and out.startswith(lines[0])  # the warnings do not stop the run
    assert err.splitlines() == [
        "wind: ws read as km/h (the default of this command; --wind-unit m/s for data in the other unit)",
        "warning: ws: 1 value above 150 km/h (implausible as wind; check the value and the unit): "
        "line 4: 160",
    ]
    # the sample's km/h winds read as m/s: the median gives the unit away, and the run is refused
    code, out, err = zz("fire", "fwi", str(FWI_INPUT), "--wind-unit", "m/s")
    assert (code, out) == (2, "")
    assert re.fullmatch(
        rf"error: {re.escape(str(FWI_INPUT))}: column ws: the median over 48 rows is [0-9.]+ m/s, "
        r"above 15 m/s — the wind looks like km/h read as m/s; nothing computed or written\. Drop "
        r"--wind-unit m/s if the file is in km/h \(km/h is the default\), or pass "
        r"--accept-implausible-wind to compute it as m/s all the same\n",
        err,
    ), err
    # the explicit override computes it as m/s, with the median as a warning
    code, out, err = zz("fire", "fwi", str(FWI_INPUT), "--wind-unit", "m/s", "--accept-implausible-wind")
    assert code == 0 and out.startswith(FWI_INPUT.read_text(encoding="utf-8").splitlines()[0])
    assert err.splitlines()[0] == "wind: ws read as m/s (--wind-unit m/s)"
    assert err.splitlines()[1].startswith("warning: ws: the median over 48 rows is ")
    assert err.splitlines()[1].endswith(
        "m/s, above 15 m/s: is the file in km/h? (--wind-unit km/h reads it so)"
    )


# --- zhizhi fire danger -------------------------------------------------------------------------------


@pytest.mark.usefixtures("_clean_danger")
def test_danger_warns_about_a_wind_above_40_m_s_naming_line_and_station(
    session: Session, tmp_path: Path
) -> None:
    raw = daily({"YC-A": [3, 4, 45], "YC-B": [2, 3, 4]}).encode()
    res = service.rate_danger(session, SYS, raw, "w.csv")
    assert res.warnings == [
        "wind_max: 1 value above 40 m/s (implausible as wind; check the value and the unit): "
        "line 4 (station YC-A): 45"
    ]
    session.rollback()
    f = tmp_path / "w.csv"
    f.write_bytes(raw)
    code, out, err = zz("fire", "danger", str(f), "--json")
    assert code == 0 and json.loads(out)["warnings"] == res.warnings
    assert err.splitlines() == [f"warning: {res.warnings[0]}", (
        "wind: wind_max and ws read as m/s (the default of this command; --wind-unit km/h for data in the "
        "other unit)"
    )]  # fmt: skip


REFUSAL = (
    "kmh.csv: column wind_max: the median over 6 rows is 19 m/s, above 15 m/s — the wind looks like "
    "km/h read as m/s; nothing rated or stored. Pass --wind-unit km/h if the file is in km/h, or "
    "--accept-implausible-wind to rate it as m/s all the same"
)


@pytest.mark.usefixtures("_clean_danger")
def test_danger_refuses_a_km_h_file_read_as_m_s_unless_overridden(session: Session) -> None:
    raw = daily({"YC-A": [18, 22, 25], "YC-B": [12, 16, 20]}).encode()  # km/h, read as m/s
    with pytest.raises(InvalidInput) as e:
        service.rate_danger(session, SYS, raw, "kmh.csv")
    assert e.value.detail == REFUSAL
    assert [(f.field, f.column, f.reason) for f in e.value.errors] == [("wind_max", "wind_max", REFUSAL)]
    assert session.scalar(select(func.count()).select_from(DangerRating)) == 0  # nothing stored
    (w,) = service.rate_danger(session, SYS, raw, "kmh.csv", accept_implausible_wind=True).warnings
    assert w == (
        "wind_max: the median over 6 rows is 19 m/s, above 15 m/s: is the file in km/h? "
        "(--wind-unit km/h reads it so)"
    )
    assert service.rate_danger(session, SYS, raw, "kmh.csv", wind_unit="km/h").warnings == []


@pytest.mark.usefixtures("_clean_danger")
def test_danger_cli_refuses_a_km_h_file_read_as_m_s(engine: Engine, tmp_path: Path) -> None:
    f = tmp_path / "kmh.csv"
    f.write_text(daily({"YC-A": [18, 22, 25], "YC-B": [12, 16, 20]}), encoding="utf-8")
    code, out, err = zz("fire", "danger", str(f))
    assert (code, out, err) == (2, "", f"error: {REFUSAL}\n")
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM fire_danger_rating")).scalar() == 0
    code, out, err = zz("fire", "danger", str(f), "--json", "--accept-implausible-wind")
    assert code == 0 and json.loads(out)["warnings"] == [
        "wind_max: the median over 6 rows is 19 m/s, above 15 m/s: is the file in km/h? "
        "(--wind-unit km/h reads it so)"
    ]
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM fire_danger_rating")).scalar() > 0
    # a single outlier row in a plausible file stays a warning (test above): only the median refuses


@pytest.mark.usefixtures("_clean_danger")
def test_danger_warns_about_towns_rated_from_a_far_station(engine: Engine, tmp_path: Path) -> None:
    far = {"CQ": (106.55, 29.56)}  # one GENERATED station in 渝中区, ~65 km east of central Yongchuan
    f = tmp_path / "far.csv"
    f.write_text(daily({"CQ": [2, 3]}, far), encoding="utf-8")
    code, out, err = zz("fire", "danger", str(f), "--json")
    assert code == 0
    res = json.loads(out)
    (w,) = res["warnings"]
    far_towns = [t for t in res["town_ratings"] if t["distance_km"] > 50]
    assert far_towns and w.startswith(
        f"{len(far_towns)} towns rated from a station more than 50 km away (straight line; its weather may "
        "not be the town's): "
    )
    farthest = max(far_towns, key=lambda t: t["distance_km"])
    assert (
        f"{farthest['unit_code']} {farthest['unit_name']} from station CQ {farthest['distance_km']:.1f} km"
        in w
    )
    assert f"warning: {w}" in err.splitlines()
    code, out, err = zz("fire", "danger", str(f), "--json", "--warn-km", "200")
    assert code == 0 and json.loads(out)["warnings"] == [] and "warning" not in err
