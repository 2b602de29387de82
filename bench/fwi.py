"""Benchmark (基准测试): the FWI System chained over many cells × days, numpy vs baselines, same run.

    python bench/fwi.py [--cells 10000] [--days 365] [--python-cells 200]

Times :func:`zhizhi.scenarios.fire.indices.fwi_series` on a (days, cells) series and compares it, in
the same run, with

* a pure-Python per-cell loop of the same equations (``math`` on floats, one cell-day at a time),
  timed on ``--python-cells`` cells and scaled per cell-day to the full size (it is linear in
  cells × days), after checking that it gives the same numbers as numpy on those cells;
* xclim's ``cffwis_indices`` (numba), when xclim is importable. xclim is NOT a dependency of the
  project: to include it, run this script with a separate environment that has xclim and put the
  project's ``src`` on ``PYTHONPATH``. xclim uses the FFMC coefficient 147.2, so the numpy run for
  the comparison uses it too; its numba compilation is done in a warm-up call outside the timing.

Peak memory of each computation is measured with ``tracemalloc`` (numpy registers its buffers).
All weather is GENERATED (seeded random noon weather with a seasonal cycle; latitudes 21–50°N, where
cffdrs' and xclim's day-length bands agree); it is not real data. The script prints; it does not fail.
"""

from __future__ import annotations

import argparse
import math
import platform
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np

from zhizhi.scenarios.fire import indices as fi


def generated_weather(cells: int, days: int, seed: int = 20261129) -> dict[str, np.ndarray]:
    """GENERATED noon weather (days, cells): temp °C, rh %, ws km/h, prec mm; month per day; lat."""
    rng = np.random.default_rng(seed)
    doy = np.arange(days)[:, None]
    season = np.sin(2 * np.pi * (doy - 105) / 365.0)
    temp = 14 + 12 * season + rng.normal(0, 4, (days, cells))
    rh = np.clip(65 - 1.2 * (temp - 14) + rng.normal(0, 12, (days, cells)), 5, 100)
    ws = rng.gamma(2.0, 6.0, (days, cells))
    wet = rng.random((days, cells)) < 0.3
    prec = np.where(wet, rng.exponential(6.0, (days, cells)), 0.0)
    month = np.array(
        [
            (np.datetime64("2022-01-01") + np.timedelta64(int(d), "D")).astype(object).month
            for d in range(days)
        ]
    )
    lat = rng.uniform(21.0, 50.0, cells)
    return {"temp": temp, "rh": rh, "ws": ws, "prec": prec, "month": month, "lat": lat}


# --- pure-Python reference: the same equations, one cell-day at a time --------------------------------

DMC_TABLES = (fi.DMC_DAY_LENGTH_46N, fi.DMC_DAY_LENGTH_20N)


def py_ffmc(f0: float, t: float, h: float, w: float, p: float, c: float) -> float:
    mo = c * (101.0 - f0) / (59.5 + f0)
    if p > 0.5:
        rf = p - 0.5
        m_r = mo + 42.5 * rf * math.exp(-100.0 / (251.0 - mo)) * (1.0 - math.exp(-6.93 / rf))
        if mo > 150.0:
            m_r += 0.0015 * (mo - 150.0) ** 2 * math.sqrt(rf)
        mo = min(m_r, 250.0)
    soak = 1.0 - math.exp(-0.115 * h)
    ed = 0.942 * h**0.679 + 11.0 * math.exp((h - 100.0) / 10.0) + 0.18 * (21.1 - t) * soak
    ew = 0.618 * h**0.753 + 10.0 * math.exp((h - 100.0) / 10.0) + 0.18 * (21.1 - t) * soak
    tf = 0.581 * math.exp(0.0365 * t)
    if mo > ed:
        k = (0.424 * (1.0 - (h / 100.0) ** 1.7) + 0.0694 * math.sqrt(w) * (1.0 - (h / 100.0) ** 8)) * tf
        m = ed + (mo - ed) / 10.0**k
    elif mo < ew:
        a = (100.0 - h) / 100.0
        k = (0.424 * (1.0 - a**1.7) + 0.0694 * math.sqrt(w) * (1.0 - a**8)) * tf
        m = ew - (ew - mo) / 10.0**k
    else:
        m = mo
    return min(max(59.5 * (250.0 - m) / (c + m), 0.0), 101.0)


def py_dmc(d0: float, t: float, h: float, p: float, lat: float, mon: int) -> float:
    le = fi.DMC_DAY_LENGTH_20N[mon - 1] if 10 < lat <= 30 else fi.DMC_DAY_LENGTH_46N[mon - 1]
    t = max(t, -1.1)
    rk = 1.894 * (t + 1.1) * (100.0 - h) * le * 1e-4
    if p > 1.5:
        rw = 0.92 * p - 1.27
        wmi = 20.0 + 280.0 / math.exp(0.023 * d0)
        b = (
            100.0 / (0.5 + 0.3 * d0)
            if d0 <= 33
            else (14.0 - 1.3 * math.log(d0) if d0 <= 65 else 6.2 * math.log(d0) - 17.2)
        )
        wmr = wmi + 1000.0 * rw / (48.77 + b * rw)
        d0 = max(43.43 * (5.6348 - math.log(wmr - 20.0)), 0.0)
    return max(d0 + rk, 0.0)


def py_dc(q0: float, t: float, p: float, mon: int) -> float:
    t = max(t, -2.8)
    pe = max((0.36 * (t + 2.8) + fi.DC_DAY_LENGTH_NORTH[mon - 1]) / 2.0, 0.0)
    if p > 2.8:
        rw = 0.83 * p - 1.27
        smi = 800.0 * math.exp(-q0 / 400.0)
        q0 = max(q0 - 400.0 * math.log(1.0 + 3.937 * rw / smi), 0.0)
    return max(q0 + pe, 0.0)


def py_isi_bui_fwi(f: float, w: float, d: float, q: float, c: float) -> tuple[float, float, float]:
    fm = c * (101.0 - f) / (59.5 + f)
    isi = 0.208 * math.exp(0.05039 * w) * 91.9 * math.exp(-0.1386 * fm) * (1.0 + fm**5.31 / 4.93e7)
    if d == 0 and q == 0:
        bui = 0.0
    else:
        bui = 0.8 * d * q / (d + 0.4 * q)
        if bui < d:
            frac = (d - bui) / d if d != 0 else 0.0
            bui = max(d - (0.92 + (0.0114 * d) ** 1.7) * frac, 0.0)
    fd = 1000.0 / (25.0 + 108.64 / math.exp(0.023 * bui)) if bui > 80 else 0.626 * bui**0.809 + 2.0
    b = 0.1 * isi * fd
    fwi = b if b <= 1 else math.exp(2.72 * (0.434 * math.log(b)) ** 0.647)
    return isi, bui, fwi


def python_loop(w: dict[str, np.ndarray], cells: int, c: float) -> np.ndarray:
    """FWI (days, cells) for the first ``cells`` cells, one cell-day at a time in pure Python."""
    days = w["temp"].shape[0]
    temp, rh, ws, prec = (w[k][:, :cells].tolist() for k in ("temp", "rh", "ws", "prec"))
    month, lat = w["month"].tolist(), w["lat"][:cells].tolist()
    out = np.empty((days, cells))
    for j in range(cells):
        f, d, q = 85.0, 6.0, 15.0
        for i in range(days):
            h = min(rh[i][j], fi.RH_CAP)
            f = py_ffmc(f, temp[i][j], h, ws[i][j], prec[i][j], c)
            d = py_dmc(d, temp[i][j], h, prec[i][j], lat[j], month[i])
            q = py_dc(q, temp[i][j], prec[i][j], month[i])
            out[i, j] = py_isi_bui_fwi(f, ws[i][j], d, q, c)[2]
    return out


def timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    """(best seconds of ``repeat`` calls, result): the machine is shared, the best run is the signal."""
    best, res = math.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = fn()
        best = min(best, time.perf_counter() - t0)
    return best, res


def peak_mib(fn: Callable[[], Any]) -> float:
    """Peak memory (MiB) allocated during a separate, untimed call (tracemalloc slows code down)."""
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return peak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cells", type=int, default=10_000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--python-cells", type=int, default=200, help="cells timed in the pure-Python loop")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs of numpy and xclim (best is kept)")
    args = ap.parse_args()
    n, days = args.cells, args.days
    w = generated_weather(n, days)
    cell_days = n * days
    print(f"FWI System, {n:,} cells × {days} days = {cell_days:,} cell-days (GENERATED weather)")
    print(f"Python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}")

    def ours(c: float) -> fi.FWIComponents:
        return fi.fwi_series(w["temp"], w["rh"], w["ws"], w["prec"], w["month"], w["lat"], ffmc_coefficient=c)

    inputs_mib = sum(v.nbytes for v in w.values()) / 2**20
    t_np, res = timed(lambda: ours(fi.FFMC_COEFFICIENT), args.repeat)
    mem_np = peak_mib(lambda: ours(fi.FFMC_COEFFICIENT))
    rate = cell_days / t_np / 1e6
    print(f"numpy fwi_series:          {t_np:7.2f} s  {rate:5.2f} M cell-days/s  peak {mem_np:7.1f} MiB")
    out_mib = 7 * cell_days * 8 / 2**20
    print(f"  (the 7 outputs, {out_mib:.1f} MiB, are in the peak; the inputs, {inputs_mib:.1f} MiB, are not)")

    k = min(args.python_cells, n)
    t_py, py = timed(lambda: python_loop(w, k, fi.FFMC_COEFFICIENT))
    per = t_py / (k * days)
    diff = float(np.nanmax(np.abs(py - res.fwi[:, :k])))
    print(
        f"pure Python loop:          {t_py:7.2f} s on {k} cells ({per * 1e6:.2f} µs/cell-day) → "
        f"{per * cell_days:8.1f} s for all cells (scaled); max |ΔFWI| vs numpy {diff:.1e}"
    )
    print(f"  ratio: numpy is {per * cell_days / t_np:,.0f}× faster than the pure-Python loop")

    try:
        import xarray as xr
        from xclim import __version__ as xclim_version
        from xclim.indices import cffwis_indices
    except ImportError:
        print("xclim: not importable here (not a project dependency; see the module docstring) — skipped")
        return
    times = np.datetime64("2022-01-01") + np.arange(days).astype("timedelta64[D]")

    def da(name: str, units: str) -> Any:
        return xr.DataArray(w[name], dims=("time", "cell"), coords={"time": times}, attrs={"units": units})

    tas, hurs, wind, pr = da("temp", "degC"), da("rh", "%"), da("ws", "km/h"), da("prec", "mm/d")
    lat = xr.DataArray(w["lat"], dims=("cell",), attrs={"units": "degrees_north"})

    def run_xclim(sl: slice) -> Any:
        out = cffwis_indices(
            tas.isel(cell=sl), pr.isel(cell=sl), wind.isel(cell=sl), hurs.isel(cell=sl), lat.isel(cell=sl)
        )
        return out.FWI.transpose("time", "cell").values, out.DMC.transpose("time", "cell").values

    run_xclim(slice(0, 10))  # numba compilation, not timed
    t_x, (x_fwi, x_dmc) = timed(lambda: run_xclim(slice(None)), args.repeat)
    mem_x = peak_mib(lambda: run_xclim(slice(None)))
    t_np2, res2 = timed(lambda: ours(fi.FFMC_COEFFICIENT_1985), args.repeat)
    d_fwi = float(np.nanmax(np.abs(x_fwi - res2.fwi)))
    d_dmc = float(np.nanmax(np.abs(x_dmc - res2.dmc)))
    print(f"xclim {xclim_version} cffwis_indices: {t_x:7.2f} s  peak {mem_x:7.1f} MiB")
    print(f"numpy fwi_series, 147.2:   {t_np2:7.2f} s; vs xclim max |ΔFWI| {d_fwi:.1e}, |ΔDMC| {d_dmc:.1e}")
    print(f"  ratio: numpy is {t_x / t_np2:.2f}× {'faster' if t_x > t_np2 else 'slower'} than xclim")


if __name__ == "__main__":
    main()
