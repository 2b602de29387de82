"""The compiled FWI kernel (indices_kernel, numba) against the same reference tables as the numpy code,
and against the numpy code itself: every table to its rounding, and numpy vs compiled to 1e-12.

The first run in a fresh checkout compiles the kernel (tens of seconds); later runs load numba's cache."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.scenarios.fire.test_indices import assert_table, half_unit_cffdrs, half_unit_sig, read_table
from zhizhi.scenarios.fire import indices as fi

K = pytest.importorskip("zhizhi.scenarios.fire.indices_kernel", reason="numba not installed")

RTOL = 1e-12


def assert_agree(got: np.ndarray, want: np.ndarray, rtol: float = RTOL) -> None:
    """Same NaN positions; elsewhere |got − want| <= rtol·max(1, |want|) (infinities equal)."""
    assert got.shape == want.shape
    assert np.array_equal(np.isnan(got), np.isnan(want)), "NaN positions differ"
    ok = ~np.isnan(want)
    inf = np.isinf(want[ok])
    assert np.array_equal(got[ok][inf], want[ok][inf])
    g, w = got[ok][~inf], want[ok][~inf]
    worst = float(np.max(np.abs(g - w) / np.maximum(1.0, np.abs(w)), initial=0.0))
    assert worst <= rtol, f"max relative difference {worst:.2e}"


def one_day(n: int, **cols: np.ndarray) -> np.ndarray:
    """The kernel's :func:`one_day` with defaults for the inputs a table does not have."""
    z = np.zeros(n)
    a = {"f0": z + 85.0, "d0": z + 6.0, "q0": z + 15.0, "t": z + 20.0, "h": z + 50.0, "w": z + 10.0}
    a |= {"p": z.copy(), "le": z + 9.0, "lf": z + 1.4, "isi_in": z + 5.0, "bui_in": z + 20.0}
    a |= {k: np.ascontiguousarray(v, dtype=np.float64) for k, v in cols.items()}
    out = np.empty((11, n))
    names = ("f0", "d0", "q0", "t", "h", "w", "p", "le", "lf", "isi_in", "bui_in")
    K.one_day(*(a[k] for k in names), fi.FFMC_COEFFICIENT, out)
    return out


# --- per-component unit tables --------------------------------------------------------------------


def test_kernel_ffmc_unit_table() -> None:
    t = read_table("cffdrs_r_unit_FineFuelMoistureCode.csv")
    got = one_day(len(t["temp"]), f0=t["ffmc_yda"], t=t["temp"], h=t["rh"], w=t["ws"], p=t["prec"])[0]
    assert_table(got, t["FineFuelMoistureCode"], half_unit_cffdrs, 2996)
    assert np.array_equal(np.isnan(got), t["rh"] < 0)
    want = fi.fine_fuel_moisture_code(t["ffmc_yda"], t["temp"], t["rh"], t["ws"], t["prec"])
    assert_agree(got, want)


def test_kernel_dmc_unit_table_both_lat_adjust() -> None:
    t = read_table("cffdrs_r_unit_DuffMoistureCode.csv")
    adj = t["lat.adjust"]
    le = np.where(
        adj, fi.dmc_day_length(t["lat"], t["mon"]), fi.dmc_day_length(t["lat"], t["mon"], lat_adjust=False)
    )
    got = one_day(len(le), d0=t["dmc_yda"], t=t["temp"], h=t["rh"], p=t["prec"], le=le)[1]
    assert_table(got, t["DuffMoistureCode"], half_unit_cffdrs, 4392)
    args = (t["dmc_yda"], t["temp"], t["rh"], t["prec"], t["lat"], t["mon"])
    want = np.where(adj, fi.duff_moisture_code(*args), fi.duff_moisture_code(*args, lat_adjust=False))
    assert_agree(got, want)


def test_kernel_dc_unit_table_both_lat_adjust() -> None:
    t = read_table("cffdrs_r_unit_DroughtCode.csv")
    adj = t["lat.adjust"]
    lf = np.where(
        adj, fi.dc_day_length(t["lat"], t["mon"]), fi.dc_day_length(t["lat"], t["mon"], lat_adjust=False)
    )
    got = one_day(len(lf), q0=t["dc_yda"], t=t["temp"], p=t["prec"], lf=lf)[2]
    assert_table(got, t["DroughtCode"], half_unit_cffdrs, 4392)
    args = (t["dc_yda"], t["temp"], t["prec"], t["lat"], t["mon"])
    want = np.where(adj, fi.drought_code(*args), fi.drought_code(*args, lat_adjust=False))
    assert_agree(got, want)


def test_kernel_isi_unit_table() -> None:
    t = read_table("cffdrs_r_unit_InitialSpreadIndex.csv")
    fbp = t["fbpMod"] & (t["ws"] >= 40)  # the FBP wind function is not part of the FWI chain
    got = one_day(len(fbp), f0=t["ffmc"], w=t["ws"])[7]
    assert (~fbp).sum() == 1685
    assert_table(got[~fbp], t["InitialSpreadIndex"][~fbp], half_unit_cffdrs, int((~fbp).sum()))
    assert_agree(got, fi.initial_spread_index(t["ffmc"], t["ws"]))


def test_kernel_bui_unit_table() -> None:
    t = read_table("cffdrs_r_unit_BuildupIndex.csv")
    got = one_day(len(t["dmc"]), d0=t["dmc"], q0=t["dc"])[8]
    assert_table(got, t["BuildupIndex"], half_unit_cffdrs, 1853)
    assert_agree(got, fi.buildup_index(t["dmc"], t["dc"]))


def test_kernel_fwi_and_dsr_unit_table() -> None:
    t = read_table("cffdrs_r_unit_FireWeatherIndex.csv")
    out = one_day(len(t["isi"]), isi_in=t["isi"], bui_in=t["bui"])
    assert_table(out[9], t["FireWeatherIndex"], half_unit_cffdrs, 1668)
    want = fi.fire_weather_index(t["isi"], t["bui"])
    assert_agree(out[9], want)
    assert_agree(out[10], fi.daily_severity_rating(want))


# --- chained tables -------------------------------------------------------------------------------


def test_kernel_chain_reproduces_cffdrs_fwi_01() -> None:
    w = read_table("cffdrs_r_test_fwi_input.csv")
    e = read_table("cffdrs_r_fwi_01_expected.csv")
    args = (w["temp"], w["rh"], w["ws"], w["prec"], w["mon"], w["lat"][0])
    res = fi.fwi_series(*args, engine="compiled")
    ref = fi.fwi_series(*args, engine="numpy")
    for k in fi.FWIComponents.NAMES:
        assert_table(getattr(res, k), e[k.upper()], half_unit_cffdrs, 48)
        assert_agree(getattr(res, k), getattr(ref, k))


@pytest.mark.parametrize("run", ["test0", "test1"])
def test_kernel_chain_147_2_reproduces_cffdrs_1_8_18(run: str) -> None:
    x = read_table("xclim_cffdrs_v1.8.18_test_fwi.csv")
    month = np.array([int(d[5:7]) for d in x["date"]])
    weather = (x["tas"], x["rh"], x["ws"], x["pr"], month, 40.0)
    f0, d0, q0 = fi.START_FFMC, fi.START_DMC, fi.START_DC
    if run == "test1":  # a second pass of the same weather, from test0's last codes
        first = fi.fwi_series(*weather, ffmc_coefficient=147.2, engine="compiled")
        f0, d0, q0 = first.ffmc[-1], first.dmc[-1], first.dc[-1]
    res = fi.fwi_series(*weather, ffmc0=f0, dmc0=d0, dc0=q0, ffmc_coefficient=147.2, engine="compiled")
    ref = fi.fwi_series(*weather, ffmc0=f0, dmc0=d0, dc0=q0, ffmc_coefficient=147.2, engine="numpy")
    for k in ("ffmc", "dmc", "dc", "isi", "bui", "fwi"):
        assert_table(getattr(res, k), x[f"{k}_{run}"], lambda e: half_unit_sig(e, 10), 48)
        assert_agree(getattr(res, k), getattr(ref, k))


# --- numpy vs compiled on generated weather -------------------------------------------------------


def generated(days: int, n: int, seed: int = 7) -> dict[str, np.ndarray]:
    """GENERATED weather with the awkward cases: rh 0 and >= 100, heavy and no rain, frost, calm,
    every latitude band of both hemispheres, NaN days."""
    rng = np.random.default_rng(seed)
    temp = rng.normal(12, 12, (days, n))
    rh = np.clip(rng.normal(60, 25, (days, n)), 0, 100)
    rh[rng.random((days, n)) < 0.03] = 100.0
    ws = rng.gamma(1.5, 8.0, (days, n))
    ws[rng.random((days, n)) < 0.05] = 0.0
    prec = np.where(rng.random((days, n)) < 0.35, rng.exponential(8.0, (days, n)), 0.0)
    temp[5, 3] = np.nan
    rh[days // 2, 7] = np.nan
    ws[days - 1, 11] = np.nan
    lat = np.linspace(-89.0, 89.0, n)
    month = (np.arange(days) // 31) % 12 + 1
    return {"temp": temp, "rh": rh, "ws": ws, "prec": prec, "month": month, "lat": lat}


@pytest.mark.parametrize("coefficient", [fi.FFMC_COEFFICIENT, fi.FFMC_COEFFICIENT_1985])
def test_compiled_equals_numpy_on_generated_weather(coefficient: float) -> None:
    g = generated(400, 1100)  # more than two blocks of cells, a year and more
    args = (g["temp"], g["rh"], g["ws"], g["prec"], g["month"], g["lat"])
    f0, d0 = np.linspace(0, 101, 1100), np.linspace(0, 300, 1100)
    res = fi.fwi_series(*args, ffmc0=f0, dmc0=d0, dc0=800.0, ffmc_coefficient=coefficient, engine="compiled")
    ref = fi.fwi_series(*args, ffmc0=f0, dmc0=d0, dc0=800.0, ffmc_coefficient=coefficient, engine="numpy")
    for k in fi.FWIComponents.NAMES:
        assert_agree(getattr(res, k), getattr(ref, k), rtol=1e-10)  # 400 chained days
    assert np.isnan(res.ffmc[5:, 3]).all() and not np.isnan(res.ffmc[:5, 3]).any()


def test_compiled_month_per_cell_day_and_no_lat_adjust() -> None:
    g = generated(60, 40)
    month = np.tile(np.arange(60)[:, None] % 12 + 1, (1, 40))
    month[:, ::2] = 13 - month[:, ::2]
    args = (g["temp"], g["rh"], g["ws"], g["prec"], month, g["lat"])
    for adjust in (True, False):
        res = fi.fwi_series(*args, lat_adjust=adjust, engine="compiled")
        ref = fi.fwi_series(*args, lat_adjust=adjust, engine="numpy")
        for k in fi.FWIComponents.NAMES:
            assert_agree(getattr(res, k), getattr(ref, k), rtol=1e-10)


def test_threads_do_not_change_results() -> None:
    g = generated(30, 2000)
    rows = (g["month"] - 1).astype(np.intp)
    le = np.tile(fi.dmc_day_length(45.0, np.arange(1, 13))[:, None], (1, 2000))
    lf = np.tile(fi.dc_day_length(45.0, np.arange(1, 13))[:, None], (1, 2000))
    starts = (np.full(2000, 85.0), np.full(2000, 6.0), np.full(2000, 15.0))
    weather = (g["temp"], np.minimum(g["rh"], 100), g["ws"], g["prec"])
    one = K.chain(*weather, rows, le, lf, *starts, fi.FFMC_COEFFICIENT, threads=1)
    three = K.chain(*weather, rows, le, lf, *starts, fi.FFMC_COEFFICIENT, threads=3)
    assert np.array_equal(one, three, equal_nan=True)


def test_engine_choice() -> None:
    w = read_table("cffdrs_r_test_fwi_input.csv")
    args = (w["temp"], w["rh"], w["ws"], w["prec"], w["mon"], 40.0)
    auto = fi.fwi_series(*args)  # 48 cell-days: below COMPILED_MIN_CELL_DAYS, numpy
    ref = fi.fwi_series(*args, engine="numpy")
    assert all(np.array_equal(getattr(auto, k), getattr(ref, k)) for k in fi.FWIComponents.NAMES)
    with pytest.raises(ValueError, match="engine must be 'auto', 'numpy' or 'compiled', got 'gpu'"):
        fi.fwi_series(*args, engine="gpu")
    # the checks happen before either engine runs
    with pytest.raises(ValueError, match="rain \\(prec\\) cannot be negative"):
        fi.fwi_series([20.0], [40.0], [5.0], [-1.0], [6], engine="compiled")


# --- the polynomial exp and log -------------------------------------------------------------------


def test_vexp_vlog_within_2_ulp_of_numpy() -> None:
    rng = np.random.default_rng(1)
    xs = np.concatenate(
        [rng.uniform(-745, 710, 3000), rng.uniform(-3, 3, 3000), np.exp(rng.uniform(-700, 700, 3000))]
    )
    edges = [0.0, -0.0, -1.0, math.nan, math.inf, -math.inf, 5e-324, 1e-310, 2.2250738585072014e-308, 1.0]
    edges += [709.5, 709.78, 709.79, -708.39, -708.4, -745.2, 1e308]
    xs = np.concatenate([xs, edges])
    e = np.array([K.vexp(x) for x in xs])
    lg = np.array([K.vlog(x) for x in xs])
    with np.errstate(all="ignore"):
        e_np, l_np = np.exp(xs), np.log(xs)
    for got, want in ((e, e_np), (lg, l_np)):
        normal = np.isfinite(want) & (np.abs(want) >= 2.2250738585072014e-308)
        ulps = np.abs(got[normal] - want[normal]) / np.spacing(np.abs(want[normal]))
        assert ulps.max() <= 2.0
        special = ~normal & ~((want != 0) & (np.abs(want) < 2.2250738585072014e-308))
        assert np.array_equal(got[special], want[special], equal_nan=True)
    # exp's subnormal results are flushed to 0 (numpy gives < 2.3e-308 there)
    sub = (e_np > 0) & (e_np < 2.2250738585072014e-308)
    assert sub.any() and (e[sub] == 0).all()
