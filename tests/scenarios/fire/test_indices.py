"""FWI System components and chaining against the reference tables in tests/data/fire/fwi (SOURCES.md).

cffdrs tables: every row, to the harness rounding signif(x, max(ceiling(log10|x|) + 2, 4)); NA rows
must be NaN. xclim/cffdrs 1.8.18 table: every row, to its 10 significant digits."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from zhizhi.scenarios.fire import indices as fi

DATA = Path(__file__).parents[2] / "data" / "fire" / "fwi"


def read_table(name: str) -> dict[str, np.ndarray]:
    """Columns of a reference CSV: numbers as float arrays (NA → NaN), TRUE/FALSE as bool arrays."""
    with (DATA / name).open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    out: dict[str, np.ndarray] = {}
    for k in rows[0]:
        vals = [r[k] for r in rows]
        if set(vals) <= {"TRUE", "FALSE"}:
            out[k] = np.array([v == "TRUE" for v in vals])
        elif k == "date":
            out[k] = np.array(vals)
        else:
            out[k] = np.array([math.nan if v == "NA" else float(v) for v in vals])
    return out


def half_unit_cffdrs(e: float) -> float:
    """Half a unit of the last digit kept by the cffdrs harness for the written value ``e``."""
    if e == 0:
        return 0.0
    digits = max(math.ceil(math.log10(abs(e))) + 2, 4)
    return 0.5 * 10 ** (math.floor(math.log10(abs(e))) - digits + 1)


def half_unit_sig(e: float, sig: int) -> float:
    return 0.0 if e == 0 else 0.5 * 10 ** (math.floor(math.log10(abs(e))) - sig + 1)


def assert_table(got: np.ndarray, expected: np.ndarray, half_unit, n_rows: int) -> None:  # type: ignore[no-untyped-def]
    """Every row: NaN exactly where expected is NA, else within the table's rounding."""
    assert len(expected) == n_rows and got.shape == expected.shape
    na = np.isnan(expected)
    bad_na = np.flatnonzero(np.isnan(got) != na)
    assert bad_na.size == 0, f"NA mismatch at rows {bad_na[:5]}: got {got[bad_na[:5]]}"
    tol = np.array([half_unit(e) * (1 + 1e-9) for e in expected[~na]])
    diff = np.abs(got[~na] - expected[~na])
    worst = int(np.argmax(diff - tol))
    assert np.all(diff <= tol), (
        f"row {np.flatnonzero(~na)[worst]}: got {got[~na][worst]!r}, want {expected[~na][worst]}"
    )


# --- per-component unit tables (cffdrs_r tests/testthat/data) -------------------------------------


def test_ffmc_unit_table_including_na_rows() -> None:
    t = read_table("cffdrs_r_unit_FineFuelMoistureCode.csv")
    got = fi.fine_fuel_moisture_code(t["ffmc_yda"], t["temp"], t["rh"], t["ws"], t["prec"])
    assert_table(got, t["FineFuelMoistureCode"], half_unit_cffdrs, 2996)
    # the NA rows are exactly those with rh < 0 (rh**0.679 undefined), as in cffdrs
    assert np.isnan(t["FineFuelMoistureCode"]).sum() == 1496
    assert np.array_equal(np.isnan(got), t["rh"] < 0)


def test_dmc_unit_table_both_lat_adjust() -> None:
    t = read_table("cffdrs_r_unit_DuffMoistureCode.csv")
    adj = t["lat.adjust"]
    args = (t["dmc_yda"], t["temp"], t["rh"], t["prec"], t["lat"], t["mon"])
    got = np.where(adj, fi.duff_moisture_code(*args), fi.duff_moisture_code(*args, lat_adjust=False))
    assert adj.any() and (~adj).any()
    assert_table(got, t["DuffMoistureCode"], half_unit_cffdrs, 4392)


def test_dc_unit_table_both_lat_adjust() -> None:
    t = read_table("cffdrs_r_unit_DroughtCode.csv")
    adj = t["lat.adjust"]
    args = (t["dc_yda"], t["temp"], t["prec"], t["lat"], t["mon"])
    got = np.where(adj, fi.drought_code(*args), fi.drought_code(*args, lat_adjust=False))
    assert_table(got, t["DroughtCode"], half_unit_cffdrs, 4392)


def test_isi_unit_table_with_fbp_mod() -> None:
    t = read_table("cffdrs_r_unit_InitialSpreadIndex.csv")
    mod = t["fbpMod"]
    got = np.where(
        mod,
        fi.initial_spread_index(t["ffmc"], t["ws"], fbp_mod=True),
        fi.initial_spread_index(t["ffmc"], t["ws"]),
    )
    assert mod.any() and (~mod).any() and (t["ws"][mod] >= 40).any()
    assert_table(got, t["InitialSpreadIndex"], half_unit_cffdrs, 2921)


def test_bui_unit_table() -> None:
    t = read_table("cffdrs_r_unit_BuildupIndex.csv")
    assert_table(fi.buildup_index(t["dmc"], t["dc"]), t["BuildupIndex"], half_unit_cffdrs, 1853)


def test_fwi_unit_table() -> None:
    t = read_table("cffdrs_r_unit_FireWeatherIndex.csv")
    assert_table(fi.fire_weather_index(t["isi"], t["bui"]), t["FireWeatherIndex"], half_unit_cffdrs, 1668)


# --- chained series -------------------------------------------------------------------------------


def test_chain_reproduces_cffdrs_fwi_01() -> None:
    w = read_table("cffdrs_r_test_fwi_input.csv")
    e = read_table("cffdrs_r_fwi_01_expected.csv")
    res = fi.fwi_series(w["temp"], w["rh"], w["ws"], w["prec"], w["mon"], w["lat"][0])
    for k in fi.FWIComponents.NAMES:
        assert_table(getattr(res, k), e[k.upper()], half_unit_cffdrs, 48)
    assert round(float(res.ffmc[0]), 2) == 87.65  # the "exact" coefficient (87.69 with 147.2)


@pytest.mark.parametrize("run", ["test0", "test1"])
def test_chain_147_2_reproduces_cffdrs_1_8_18(run: str) -> None:
    x = read_table("xclim_cffdrs_v1.8.18_test_fwi.csv")
    month = np.array([int(d[5:7]) for d in x["date"]])
    start = [fi.START_FFMC, fi.START_DMC, fi.START_DC]
    if run == "test1":  # a second pass of the same weather, from test0's last codes
        first = fi.fwi_series(x["tas"], x["rh"], x["ws"], x["pr"], month, 40.0, ffmc_coefficient=147.2)
        start = [first.ffmc[-1], first.dmc[-1], first.dc[-1]]
    res = fi.fwi_series(
        x["tas"],
        x["rh"],
        x["ws"],
        x["pr"],
        month,
        40.0,
        ffmc0=start[0],
        dmc0=start[1],
        dc0=start[2],
        ffmc_coefficient=fi.FFMC_COEFFICIENT_1985,
    )
    for k in ("ffmc", "dmc", "dc", "isi", "bui", "fwi"):
        assert_table(getattr(res, k), x[f"{k}_{run}"], lambda e: half_unit_sig(e, 10), 48)


def test_exact_coefficient_differs_from_147_2() -> None:
    x = read_table("xclim_cffdrs_v1.8.18_test_fwi.csv")
    month = np.array([int(d[5:7]) for d in x["date"]])
    res = fi.fwi_series(x["tas"], x["rh"], x["ws"], x["pr"], month, 40.0)
    assert abs(res.ffmc[0] - x["ffmc_test0"][0]) > 0.04  # 87.649 vs 87.693


def test_chain_by_cells_equals_chain_of_each_cell() -> None:
    w = read_table("cffdrs_r_test_fwi_input.csv")
    t, h, ws, p = (np.column_stack([w[c], w[c][::-1]]) for c in ("temp", "rh", "ws", "prec"))
    res = fi.fwi_series(t, h, ws, p, w["mon"], [40.0, 40.0], ffmc0=[85, 80], dmc0=[6, 10], dc0=[15, 30])
    a = fi.fwi_series(w["temp"], w["rh"], w["ws"], w["prec"], w["mon"], 40.0)
    b = fi.fwi_series(t[:, 1], h[:, 1], ws[:, 1], p[:, 1], w["mon"], 40.0, ffmc0=80, dmc0=10, dc0=30)
    for k in fi.FWIComponents.NAMES:
        assert np.array_equal(getattr(res, k)[:, 0], getattr(a, k))
        assert np.array_equal(getattr(res, k)[:, 1], getattr(b, k))


def test_chain_caps_rh_at_99_9999_like_cffdrs() -> None:
    got = fi.fwi_series([20.0, 20.0], [100.0, 50.0], [10.0, 10.0], [0.0, 0.0], [6, 6], 45.0)
    want = fi.fwi_series([20.0, 20.0], [99.9999, 50.0], [10.0, 10.0], [0.0, 0.0], [6, 6], 45.0)
    for k in fi.FWIComponents.NAMES:
        assert np.array_equal(getattr(got, k), getattr(want, k))
    assert not np.isnan(got.ffmc).any()


def test_chain_nan_day_poisons_later_days_of_that_cell_only() -> None:
    temp = np.array([[20.0, 20.0], [np.nan, 20.0], [20.0, 20.0]])
    one = np.full((3, 2), 40.0)
    res = fi.fwi_series(temp, one, np.full((3, 2), 10.0), np.zeros((3, 2)), [6, 6, 6], 45.0)
    assert not np.isnan(res.fwi[0]).any()
    assert (
        np.isnan(res.ffmc[1:, 0]).all() and np.isnan(res.dmc[1:, 0]).all() and np.isnan(res.dc[1:, 0]).all()
    )
    assert not np.isnan(res.fwi[:, 1]).any()


@pytest.mark.parametrize(
    ("column", "message"),
    [
        ("rh", "relative humidity (rh) cannot be negative: -1 on day index 1, cell index 1"),
        ("ws", "wind speed (ws) cannot be negative: -1 on day index 1, cell index 1"),
        ("prec", "rain (prec) cannot be negative: -1 on day index 1, cell index 1"),
    ],
)
def test_chain_refuses_negative_inputs_like_cffdrs(column: str, message: str) -> None:
    v = {"temp": np.full((2, 2), 20.0), "rh": np.full((2, 2), 40.0), "ws": np.full((2, 2), 5.0)}
    v["prec"] = np.zeros((2, 2))
    v[column][1, 1] = -1.0
    with pytest.raises(ValueError) as e:
        fi.fwi_series(v["temp"], v["rh"], v["ws"], v["prec"], [6, 6], 45.0)
    assert str(e.value) == message


def test_chain_refuses_bad_month_and_shapes() -> None:
    with pytest.raises(ValueError, match="month must be an integer 1-12, got 13"):
        fi.fwi_series([20.0], [40.0], [5.0], [0.0], [13])
    with pytest.raises(ValueError, match=r"rh: shape \(3,\) does not fit the weather series \(2, 1\)"):
        fi.fwi_series([20.0, 20.0], [40.0, 40.0, 40.0], [5.0, 5.0], [0.0, 0.0], [6, 6])


# --- latitude bands (cffdrs lat.adjust) and a Yongchuan (29.35N) check ----------------------------

TABLE_46N = [6.5, 7.5, 9.0, 12.8, 13.9, 13.9, 12.4, 10.9, 9.4, 8.0, 7.0, 6.0]
TABLE_20N = [7.9, 8.4, 8.9, 9.5, 9.9, 10.2, 10.1, 9.7, 9.1, 8.6, 8.1, 7.8]
TABLE_20S = [10.1, 9.6, 9.1, 8.5, 8.1, 7.8, 7.9, 8.3, 8.9, 9.4, 9.9, 10.2]
TABLE_40S = [11.5, 10.5, 9.2, 7.9, 6.8, 6.2, 6.5, 7.4, 8.7, 10.0, 11.2, 11.8]
DC_NORTH = [-1.6, -1.6, -1.6, 0.9, 3.8, 5.8, 6.4, 5.0, 2.4, 0.4, -1.6, -1.6]
DC_SOUTH = [6.4, 5.0, 2.4, 0.4, -1.6, -1.6, -1.6, -1.6, -1.6, 0.9, 3.8, 5.8]
MONTHS = np.arange(1, 13)


@pytest.mark.parametrize(
    ("lat", "table"),
    [
        (29.35, TABLE_20N),  # Yongchuan
        (30.0, TABLE_20N),
        (30.0001, TABLE_46N),
        (10.0001, TABLE_20N),
        (10.0, [9.0] * 12),
        (-9.9999, [9.0] * 12),
        (-10.0, TABLE_20S),
        (-29.9999, TABLE_20S),
        (-30.0, TABLE_40S),
        (-90.0, TABLE_40S),
        (-90.5, TABLE_46N),
        (75.0, TABLE_46N),
    ],
)
def test_dmc_day_length_bands(lat: float, table: list[float]) -> None:
    assert fi.dmc_day_length(lat, MONTHS).tolist() == table
    assert fi.dmc_day_length(lat, MONTHS, lat_adjust=False).tolist() == TABLE_46N


@pytest.mark.parametrize(
    ("lat", "table"),
    [(29.35, DC_NORTH), (20.0001, DC_NORTH), (20.0, [1.4] * 12), (-19.9999, [1.4] * 12), (-20.0, DC_SOUTH)],
)
def test_dc_day_length_bands(lat: float, table: list[float]) -> None:
    assert fi.dc_day_length(lat, MONTHS).tolist() == table
    assert fi.dc_day_length(lat, MONTHS, lat_adjust=False).tolist() == DC_NORTH


def test_yongchuan_july_day_by_hand() -> None:
    """A dry July day at Yongchuan (29.35N), worked by hand from Van Wagner & Pickett (1985) Eq. 16
    and Eq. 22 with the Lawson & Armitage (2008) 20N DMC factor (July 10.1) and the northern DC
    factor (July 6.4):
    DMC: K = 1.894 (30 + 1.1)(100 - 50) 10.1e-4 = 2.9746217, so 10 + K = 12.9746217
         (46N table, 12.4: K = 3.6520108, DMC 13.6520108);
    DC:  V = (0.36 (30 + 2.8) + 6.4) / 2 = 9.104, so 100 + V = 109.104 (at 15N, Lf 1.4: 106.604)."""
    dmc = fi.duff_moisture_code(10.0, 30.0, 50.0, 0.0, 29.35, 7)
    assert dmc == pytest.approx(12.9746217, abs=1e-7)
    assert fi.duff_moisture_code(10.0, 30.0, 50.0, 0.0, 29.35, 7, lat_adjust=False) == pytest.approx(
        13.6520108, abs=1e-7
    )
    assert fi.drought_code(100.0, 30.0, 0.0, 29.35, 7) == pytest.approx(109.104, abs=1e-9)
    assert fi.drought_code(100.0, 30.0, 0.0, 15.0, 7) == pytest.approx(106.604, abs=1e-9)


def test_component_edges() -> None:
    assert fi.buildup_index(0.0, 0.0) == 0.0
    assert fi.fire_weather_index(0.0, 0.0) == 0.0
    assert fi.daily_severity_rating(0.0) == 0.0
    assert fi.fine_fuel_moisture_code(101.0, 30.0, 10.0, 20.0, 0.0) <= 101.0
    # FFMC after heavy rain on a wet day stays >= 0 (moisture capped at 250 %)
    assert fi.fine_fuel_moisture_code(0.0, 10.0, 90.0, 0.0, 100.0) >= 0.0
    with pytest.raises(ValueError, match="month must be an integer 1-12, got 0"):
        fi.duff_moisture_code(6.0, 20.0, 40.0, 0.0, 45.0, 0)
    with pytest.raises(ValueError, match="month must be an integer 1-12, got 6.5"):
        fi.drought_code(15.0, 20.0, 0.0, 45.0, 6.5)


@pytest.mark.parametrize("impl", ["numpy", "compiled"])
def test_chain_missing_rain_is_nan_not_a_dry_day(impl: str) -> None:
    """A day without a rain figure gives NaN codes (cffdrs: NA), never the codes of a dry day; the
    moisture codes stay NaN for that cell afterwards, the other cell is untouched."""
    if impl == "compiled":
        pytest.importorskip("zhizhi.scenarios.fire.indices_kernel", reason="numba not installed")
    prec = np.array([[0.0, 0.0], [np.nan, 0.0], [0.0, 0.0]])
    res = fi.fwi_series(
        np.full((3, 2), 20.0),
        np.full((3, 2), 40.0),
        np.full((3, 2), 10.0),
        prec,
        [6, 6, 6],
        29.35,
        engine=impl,
    )
    assert not np.isnan(res.fwi[0]).any()
    for k in ("ffmc", "dmc", "dc", "isi", "bui", "fwi", "dsr"):
        assert np.isnan(getattr(res, k)[1:, 0]).all(), k
        assert not np.isnan(getattr(res, k)[:, 1]).any(), k
    for comp, args in (
        (fi.fine_fuel_moisture_code, (85.0, 20.0, 40.0, 10.0, np.nan)),
        (fi.duff_moisture_code, (6.0, 20.0, 40.0, np.nan, 29.35, 6)),
        (fi.drought_code, (15.0, 20.0, np.nan, 29.35, 6)),
    ):
        assert np.isnan(comp(*args)), comp.__name__
