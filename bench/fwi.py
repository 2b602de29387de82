"""Benchmark (基准测试): the FWI System chained over many cells × days, zhizhi vs xclim in one run.

    python bench/fwi.py [--cells 100000] [--days 365] [--repeat 3] [--python-cells 200]

Times, in ONE process on the SAME generated data, taking turns round after round (best of
``--repeat``; the machine is shared, so the best run is the signal):

* zhizhi :func:`~zhizhi.scenarios.fire.indices.fwi_series`, ``engine="compiled"`` (the numba loop of
  ``indices_kernel``) with all its threads and with one thread, and ``engine="numpy"`` (the
  reference code);
* xclim's ``cffwis_indices`` (xclim from PyPI, numba, one thread) — a benchmark-only dependency:
  ``.venv/bin/pip install xclim`` (the ``bench`` extra); without it that column is skipped.
  xclim uses the FFMC coefficient 147.2, so every zhizhi run here uses it too. Compilation (numba's,
  both libraries) happens in a warm-up call outside the timing;
* a pure-Python per-cell loop of the same equations, timed on ``--python-cells`` cells and scaled
  per cell-day (after checking that it gives the numbers of the numpy code).

Peak memory: each contender runs once more in a fresh subprocess of this script (``--child``) that
generates the same data, warms up, resets the kernel's high-water mark of its resident memory
(``/proc/self/clear_refs``) and reads it (``VmHWM``) after the call. Reported: that peak, and the
peak minus the resident size just before the call (the inputs, already resident, excluded; the
outputs included). RSS rather than tracemalloc, because numba's allocations and the threads' are not
traced by Python.

All weather is GENERATED (seeded random noon weather with a seasonal cycle; latitudes 21–50°N, where
cffdrs' and xclim's day-length bands agree); it is not real data. The script prints; it does not fail.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
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


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """(seconds, result) of one call."""
    t0 = time.perf_counter()
    res = fn()
    return time.perf_counter() - t0, res


def status_kib(field: str) -> int:
    """A ``VmRSS``/``VmHWM`` line of /proc/self/status, KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


# --- contenders ---------------------------------------------------------------------------------------

COEFFICIENT = fi.FFMC_COEFFICIENT_1985  # xclim's


def zhizhi(w: dict[str, np.ndarray], engine: str, threads: int | None = None) -> Callable[[], Any]:
    """A call of fwi_series on ``w`` (``threads``: the compiled kernel's thread count)."""

    def run() -> Any:
        if threads is not None:
            from zhizhi.scenarios.fire import indices_kernel

            saved, indices_kernel.THREADS = indices_kernel.THREADS, threads
        try:
            args = (w["temp"], w["rh"], w["ws"], w["prec"], w["month"], w["lat"])
            return fi.fwi_series(*args, ffmc_coefficient=COEFFICIENT, engine=engine)
        finally:
            if threads is not None:
                indices_kernel.THREADS = saved

    return run


def xclim_runner(w: dict[str, np.ndarray]) -> tuple[str, Callable[[slice], Any]] | None:
    """(xclim's version, a call of cffwis_indices on the cells ``sl`` returning its outputs as numpy
    arrays (days, cells) by name), or None when xclim is not installed."""
    try:
        warnings.filterwarnings("ignore", message="Import\\(s\\) unavailable to set up matplotlib")
        import xarray as xr
        from xclim import __version__ as version
        from xclim.indices import cffwis_indices
    except ImportError:
        return None
    days = w["temp"].shape[0]
    times = np.datetime64("2022-01-01") + np.arange(days).astype("timedelta64[D]")

    def da(name: str, units: str) -> Any:
        return xr.DataArray(w[name], dims=("time", "cell"), coords={"time": times}, attrs={"units": units})

    tas, hurs, wind, pr = da("temp", "degC"), da("rh", "%"), da("ws", "km/h"), da("prec", "mm/d")
    lat = xr.DataArray(w["lat"], dims=("cell",), attrs={"units": "degrees_north"})

    def run(sl: slice) -> dict[str, np.ndarray]:
        out = cffwis_indices(
            tas.isel(cell=sl), pr.isel(cell=sl), wind.isel(cell=sl), hurs.isel(cell=sl), lat.isel(cell=sl)
        )
        return {k.lower(): v.transpose("time", "cell").values for k, v in zip(CFFWIS_NAMES, out, strict=True)}

    return version, run


CFFWIS_NAMES = ("DC", "DMC", "FFMC", "ISI", "BUI", "FWI")  # cffwis_indices' outputs, in order


def contender(name: str, w: dict[str, np.ndarray]) -> Callable[[], Any]:
    """The call measured for ``name``: compiled | compiled-1 | numpy | xclim (after its warm-up)."""
    if name == "xclim":
        xr_run = xclim_runner(w)
        if xr_run is None:
            raise SystemExit("xclim is not installed")
        xr_run[1](slice(0, 10))  # numba compilation
        return lambda: xr_run[1](slice(None))
    engine = "numpy" if name == "numpy" else "compiled"
    run = zhizhi(w, engine, 1 if name == "compiled-1" else None)
    if engine == "compiled":  # compile or load numba's cache on a small slice
        zhizhi({k: (v[:, :8] if v.ndim == 2 else v[:8] if k == "lat" else v) for k, v in w.items()}, engine)()
    return run


def child(name: str, cells: int, days: int) -> None:
    """--child: one call of ``name``; prints its peak RSS (MiB) and the rise over the RSS before it."""
    w = generated_weather(cells, days)
    run = contender(name, w)
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    before = status_kib("VmRSS")
    result = run()
    peak = status_kib("VmHWM")
    del result
    print(
        json.dumps({"peak_mib": peak / 1024, "rise_mib": (peak - before) / 1024, "before_mib": before / 1024})
    )


def memory(name: str, cells: int, days: int) -> dict[str, float] | None:
    """Peak memory of one call of ``name`` in a fresh subprocess (None if it failed)."""
    cmd = [sys.executable, __file__, "--child", name, "--cells", str(cells), "--days", str(days)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(f"  (memory of {name}: the subprocess failed: {done.stderr.strip().splitlines()[-1:]})")
        return None
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def max_rel(a: fi.FWIComponents, b: fi.FWIComponents) -> float:
    """Largest |a − b| / max(1, |b|) over the 7 outputs (NaN ignored)."""
    return max(
        float(np.nanmax(np.abs(getattr(a, k) - getattr(b, k)) / np.maximum(1, np.abs(getattr(b, k)))))
        for k in fi.FWIComponents.NAMES
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--cells", type=int, default=100_000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--repeat", type=int, default=3, help="timed rounds (best is kept)")
    ap.add_argument("--numpy-repeat", type=int, default=1, help="rounds that also time the numpy engine")
    ap.add_argument("--python-cells", type=int, default=200, help="cells timed in the pure-Python loop")
    ap.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    n, days = args.cells, args.days
    if args.child:
        child(args.child, n, days)
        return
    from zhizhi.scenarios.fire import indices_kernel

    w = generated_weather(n, days)
    cell_days = n * days
    print(f"FWI System, {n:,} cells × {days} days = {cell_days:,} cell-days (GENERATED weather)")
    print(
        f"Python {platform.python_version()}, numpy {np.__version__}, numba "
        f"{indices_kernel.nb.__version__}, {platform.machine()}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f} at the start; FFMC coefficient 147.2 (xclim's)"
    )
    import llvmlite.binding as ll

    width = "512-bit preferred (-prefer-256-bit)" if indices_kernel.VECTOR_SETTING else "numba's default"
    print(f"CPU {ll.get_host_cpu_name()}; numba vector width for every numba function here: {width}")
    t0 = time.perf_counter()
    names = ["compiled", "compiled-1", "numpy"]
    runs = {k: contender(k, w) for k in names}
    print(f"compiled kernel ready (numba compile or cache load): {time.perf_counter() - t0:.1f} s")
    xr_run = xclim_runner(w)
    xclim_version = None
    if xr_run is None:
        print("xclim: not installed (`.venv/bin/pip install xclim`, the bench extra) — its column is skipped")
    else:
        xclim_version = xr_run[0]
        names.append("xclim")
        runs["xclim"] = contender("xclim", w)
    wall: dict[str, float] = {}
    cpu: dict[str, float] = {}
    comp: Any = None
    checks: list[str] = []
    for rnd in range(args.repeat):
        for k in names:
            if k == "numpy" and rnd >= max(1, args.numpy_repeat):
                continue
            t_w, t_c = time.perf_counter(), time.process_time()
            res = runs[k]()
            t_w, t_c = time.perf_counter() - t_w, time.process_time() - t_c
            if t_w < wall.get(k, math.inf):
                wall[k], cpu[k] = t_w, t_c
            if rnd == 0:  # compare with the compiled result, then let go of it (100k cells: 2 GiB each)
                if k == "compiled":
                    comp = res
                elif k == "numpy":
                    checks.append(f"compiled vs numpy: max relative difference {max_rel(comp, res):.1e}")
                    ref_fwi = res.fwi[:, : args.python_cells].copy()
                elif k == "xclim":
                    diffs = ", ".join(
                        f"|Δ{v.upper()}| {float(np.nanmax(np.abs(res[v] - getattr(comp, v)))):.1e}"
                        for v in ("ffmc", "dmc", "dc", "fwi")
                    )
                    checks.append(f"zhizhi vs xclim: max {diffs}")
            del res
    del comp
    label = {
        "compiled": f"zhizhi compiled, {indices_kernel.THREADS} threads",
        "compiled-1": "zhizhi compiled, 1 thread",
        "numpy": "zhizhi numpy (reference)",
        "xclim": f"xclim {xclim_version} cffwis_indices",
    }
    mem = {} if args.no_memory else {k: memory(k, n, days) for k in names}
    print()
    print(f"| contender | wall s (best of {args.repeat}) | CPU s | ns/cell-day | peak RSS MiB | rise MiB |")
    print("|---|---|---|---|---|---|")
    for k in names:
        m = mem.get(k)
        peak = f"{m['peak_mib']:,.0f}" if m else "–"
        rise = f"{m['rise_mib']:,.0f}" if m else "–"
        per = wall[k] / cell_days * 1e9
        print(f"| {label[k]} | {wall[k]:.2f} | {cpu[k]:.2f} | {per:.0f} | {peak} | {rise} |")
    out_mib = 7 * cell_days * 8 / 2**20
    in_mib = sum(v.nbytes for v in w.values()) / 2**20
    print(f"(zhizhi returns 7 arrays, {out_mib:,.0f} MiB, xclim 6; the inputs, {in_mib:,.0f} MiB, are")
    print(" resident before the call: in 'peak', not in 'rise')")
    print()
    for line in checks:
        print(line)
    if "xclim" in wall:
        for k in ("compiled", "compiled-1", "numpy"):
            r = wall["xclim"] / wall[k]
            print(f"  ratio: {label[k]} is {r:.2f}× {'faster' if r >= 1 else 'slower'} than xclim")

    k = min(args.python_cells, n)
    t_py, py = timed(lambda: python_loop(w, k, COEFFICIENT))
    per = t_py / (k * days)
    diff = float(np.nanmax(np.abs(py - ref_fwi[:, :k])))
    print(
        f"pure Python loop: {t_py:.2f} s on {k} cells ({per * 1e6:.2f} µs/cell-day) → "
        f"{per * cell_days:,.0f} s for all cells (scaled); max |ΔFWI| vs numpy {diff:.1e}"
    )


if __name__ == "__main__":
    main()
