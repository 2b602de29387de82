"""Canadian Forest Fire Weather Index System (FWI System, 加拿大森林火险天气指数系统), vectorised with numpy.

The six standard components and the Daily Severity Rating, each a plain function over numpy arrays
(broadcast together, one value per station or grid cell), plus :func:`fwi_series`, which chains them
day by day over a ``(days, n)`` weather series from the start-up codes (FFMC 85, DMC 6, DC 15).
This numpy code is the reference; large series go to the compiled loop of :mod:`.indices_kernel`
(numba), which agrees with it to ~1e-13. Day-length factors: :mod:`.day_length` (re-exported here).

Inputs are noon local-standard-time observations: air temperature (°C), relative humidity (%),
10 m open wind speed (km/h) and 24 h rainfall (mm, noon to noon).

Sources
-------
* Van Wagner, C.E. and Pickett, T.L. (1985). *Equations and FORTRAN program for the Canadian Forest
  Fire Weather Index System.* Can. For. Serv., For. Tech. Rep. 33. Equation numbers below are theirs.
* Van Wagner, C.E. (1987). *Development and structure of the Canadian Forest Fire Weather Index
  System.* Can. For. Serv., For. Tech. Rep. 35.
* Lawson, B.D. and Armitage, O.B. (2008). *Weather guide for the Canadian Forest Fire Danger Rating
  System.* Nat. Resour. Can., Edmonton (day-length factors by latitude band).
* Forestry Canada Fire Danger Group (1992). *Development and structure of the Canadian Forest Fire
  Behavior Prediction System.* ST-X-3, Eq. 53a (the FBP-system ISI wind function).
* The behaviour at the edges (caps, the latitude bands of ``lat.adjust``, what becomes NA, the
  "exact" FFMC coefficient 250·59.5/101) follows the R package cffdrs (cffdrs/cffdrs_r, GPL-2,
  read at commit 4d20a303), whose reference tables this module reproduces; the code is our own.

NA handling (as cffdrs): a NaN input gives NaN, and in :func:`fwi_series` a NaN moisture code is
carried to every later day of that cell (a daily bookkeeping system cannot skip a day). The
component functions accept out-of-range values as cffdrs does (e.g. FFMC is NaN for rh < 0, because
rh**0.679 is undefined); :func:`fwi_series`, like ``cffdrs::fwi``, refuses negative rh, wind or rain
and sets rh >= 100 to 99.9999.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from zhizhi.scenarios.fire.day_length import (  # noqa: F401 (re-exported)
    DC_DAY_LENGTH_EQUATOR,
    DC_DAY_LENGTH_NORTH,
    DC_DAY_LENGTH_SOUTH,
    DMC_DAY_LENGTH_20N,
    DMC_DAY_LENGTH_20S,
    DMC_DAY_LENGTH_40S,
    DMC_DAY_LENGTH_46N,
    DMC_DAY_LENGTH_EQUATOR,
    _arrays,
    _dc_day_length,
    _dmc_day_length,
    _month_index,
    dc_day_length,
    dmc_day_length,
)

FloatArray = NDArray[np.float64]

FFMC_COEFFICIENT = 250.0 * 59.5 / 101.0
"""FFMC ↔ moisture-content coefficient used by cffdrs >= 1.9.2 ("exact", 147.2772…): it makes
Eqs. 1 and 10 exact inverses of each other (FFMC 101 ↔ 0 % moisture)."""
FFMC_COEFFICIENT_1985 = 147.2
"""The coefficient printed in Van Wagner & Pickett (1985) Eqs. 1 and 10 and used by cffdrs <= 1.8.18."""

START_FFMC = 85.0
START_DMC = 6.0
START_DC = 15.0

CHUNK_CELLS = 16384
"""Cells chained together by :func:`fwi_series` (larger inputs are done in blocks of this size)."""

RH_CAP = 99.9999
"""``cffdrs::fwi`` sets rh >= 100 to this value before computing a day (FFMC Eq. 4 needs rh < 100)."""


def fine_fuel_moisture_code(
    ffmc_prev: ArrayLike,
    temp: ArrayLike,
    rh: ArrayLike,
    ws: ArrayLike,
    prec: ArrayLike,
    *,
    coefficient: float = FFMC_COEFFICIENT,
) -> FloatArray:
    """Fine Fuel Moisture Code (FFMC, 细小可燃物湿度码) for one day.

    Parameters
    ----------
    ffmc_prev : array, yesterday's FFMC (0-101).
    temp : array, noon air temperature, °C.
    rh : array, noon relative humidity, %.
    ws : array, noon 10 m wind speed, km/h.
    prec : array, 24 h rainfall, mm.
    coefficient : the FFMC ↔ moisture coefficient of Eqs. 1 and 10: :data:`FFMC_COEFFICIENT`
        (cffdrs >= 1.9.2, default) or :data:`FFMC_COEFFICIENT_1985` (147.2).

    Returns
    -------
    array (broadcast shape) of FFMC, 0-101; NaN where an input is NaN or the equations are undefined
    (rh < 0; rh > 100 on a wetting day), as cffdrs. Nothing is raised for out-of-range values.

    Source: Van Wagner & Pickett (1985) Eqs. 1-10; moisture content after rain capped at 250 %.
    """
    f0, t, h, w, p = _arrays(ffmc_prev, temp, rh, ws, prec)
    return _ffmc(f0, t, h, w, p, coefficient)


LN10 = math.log(10.0)


def _ffmc(f0: FloatArray, t: FloatArray, h: FloatArray, w: FloatArray, p: FloatArray, c: float) -> FloatArray:
    """:func:`fine_fuel_moisture_code` on float arrays of one shape (no checks, no copies)."""
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        mo = c * (101.0 - f0) / (59.5 + f0)  # Eq. 1
        rain = p > 0.5
        if rain.any():
            rf = p - 0.5  # Eq. 2 (used where rain)
            wet = mo + 42.5 * rf * np.exp(-100.0 / (251.0 - mo)) * (1.0 - np.exp(-6.93 / rf))  # Eq. 3a
            over = mo - 150.0
            wet = np.where(over > 0.0, wet + 0.0015 * over * over * np.sqrt(rf), wet)  # Eq. 3b
            mo = np.where(rain, np.minimum(wet, 250.0), mo)  # moisture capped at 250 %
        lh = np.log(h)  # h**x as exp(x ln h): NaN for h < 0, as R's h^x
        e100 = np.exp((h - 100.0) / 10.0)
        cool = 0.18 * (21.1 - t) * (1.0 - np.exp(-0.115 * h))
        ed = 0.942 * np.exp(0.679 * lh) + 11.0 * e100 + cool  # Eq. 4
        ew = 0.618 * np.exp(0.753 * lh) + 10.0 * e100 + cool  # Eq. 5
        temp_factor = 0.581 * np.exp(0.0365 * t)
        sw = 0.0694 * np.sqrt(w)
        # drying (mo > Ed): Eqs. 6a, 6b, 8
        hum = h / 100.0
        h2 = hum * hum
        h4 = h2 * h2
        kd = (0.424 * (1.0 - hum**1.7) + sw * (1.0 - h4 * h4)) * temp_factor
        m = np.where(mo > ed, ed + (mo - ed) * np.exp(-LN10 * kd), mo)
        # wetting from below (mo < Ed and mo < Ew): Eqs. 7a, 7b, 9
        up = (mo < ed) & (mo < ew)
        if up.any():
            dry = 1.0 - hum
            d2 = dry * dry
            d4 = d2 * d2
            kw = (0.424 * (1.0 - dry**1.7) + sw * (1.0 - d4 * d4)) * temp_factor
            m = np.where(up, ew - (ew - mo) * np.exp(-LN10 * kw), m)
        m = np.where(np.isnan(ed) | np.isnan(p), np.nan, m)  # NaN rain: no number (as cffdrs' NA)
        ffmc = 59.5 * (250.0 - m) / (c + m)  # Eq. 10
    return np.clip(ffmc, 0.0, 101.0)


def duff_moisture_code(
    dmc_prev: ArrayLike,
    temp: ArrayLike,
    rh: ArrayLike,
    prec: ArrayLike,
    lat: ArrayLike,
    month: ArrayLike,
    *,
    lat_adjust: bool = True,
) -> FloatArray:
    """Duff Moisture Code (DMC, 腐殖质湿度码) for one day.

    Parameters
    ----------
    dmc_prev : array, yesterday's DMC (>= 0).
    temp : array, noon air temperature, °C (below -1.1 counts as -1.1).
    rh : array, noon relative humidity, %.
    prec : array, 24 h rainfall, mm.
    lat : array, latitude, degrees north (negative south), selects the day-length table.
    month : array of integers 1-12.
    lat_adjust : use the day-length table of the latitude band (:func:`dmc_day_length`); False:
        the 46°N table everywhere.

    Returns
    -------
    array of DMC, >= 0; NaN where an input is NaN. Raises ValueError if a month is not 1-12.

    Source: Van Wagner & Pickett (1985) Eqs. 11-16 (Eqs. 12 and 15 in cffdrs' more accurate form).
    """
    d0, t, h, p, la, mo = _arrays(dmc_prev, temp, rh, prec, lat, month)
    return _dmc(d0, t, h, p, _dmc_day_length(la, _month_index(mo, d0.shape), lat_adjust))


def _dmc(d0: FloatArray, t: FloatArray, h: FloatArray, p: FloatArray, le: FloatArray) -> FloatArray:
    """:func:`duff_moisture_code` on float arrays of one shape, ``le`` the day length (no checks)."""
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        rk = 1.894e-4 * (np.maximum(t, -1.1) + 1.1) * (100.0 - h) * le  # Eq. 16
        wet = p > 1.5
        pr = d0
        if wet.any():
            rw = 0.92 * p - 1.27  # Eq. 11
            wmi = 20.0 + 280.0 / np.exp(0.023 * d0)  # Eq. 12
            ld = np.log(d0)
            b = np.where(
                d0 <= 33.0,
                100.0 / (0.5 + 0.3 * d0),  # Eq. 13a
                np.where(d0 <= 65.0, 14.0 - 1.3 * ld, 6.2 * ld - 17.2),  # Eqs. 13b, 13c
            )
            wmr = wmi + 1000.0 * rw / (48.77 + b * rw)  # Eq. 14
            pr = np.where(wet, np.maximum(43.43 * (5.6348 - np.log(wmr - 20.0)), 0.0), d0)  # Eq. 15
        dmc = np.maximum(pr, 0.0) + rk
    return np.where(np.isnan(p), np.nan, np.maximum(dmc, 0.0))  # NaN rain: NaN, not a dry day


def drought_code(
    dc_prev: ArrayLike,
    temp: ArrayLike,
    prec: ArrayLike,
    lat: ArrayLike,
    month: ArrayLike,
    *,
    lat_adjust: bool = True,
) -> FloatArray:
    """Drought Code (DC, 干旱码) for one day.

    Parameters
    ----------
    dc_prev : array, yesterday's DC (>= 0).
    temp : array, noon air temperature, °C (below -2.8 counts as -2.8).
    prec : array, 24 h rainfall, mm.
    lat : array, degrees north (negative south), selects the day-length adjustment.
    month : array of integers 1-12.
    lat_adjust : use :func:`dc_day_length`'s bands; False: the northern table everywhere.

    Returns
    -------
    array of DC, >= 0; NaN where an input is NaN. Raises ValueError if a month is not 1-12.
    (Relative humidity plays no part in the DC.)

    Source: Van Wagner & Pickett (1985) Eqs. 18-23 (Eq. 21 in cffdrs' form); potential
    evapotranspiration set to 0 when negative.
    """
    q0, t, p, la, mo = _arrays(dc_prev, temp, prec, lat, month)
    return _dc(q0, t, p, _dc_day_length(la, _month_index(mo, q0.shape), lat_adjust))


def _dc(q0: FloatArray, t: FloatArray, p: FloatArray, lf: FloatArray) -> FloatArray:
    """:func:`drought_code` on float arrays of one shape, ``lf`` the day-length adjustment."""
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        pe = np.maximum((0.36 * (np.maximum(t, -2.8) + 2.8) + lf) / 2.0, 0.0)  # Eq. 22
        wet = p > 2.8
        dr = q0
        if wet.any():
            rw = 0.83 * p - 1.27  # Eq. 18
            smi = 800.0 * np.exp(-q0 / 400.0)  # Eq. 19
            dr = np.where(
                wet, np.maximum(q0 - 400.0 * np.log(1.0 + 3.937 * rw / smi), 0.0), q0
            )  # Eqs. 20, 21
        dc = dr + pe  # Eq. 23
    return np.where(np.isnan(p), np.nan, np.maximum(dc, 0.0))  # NaN rain: NaN, not a dry day


def initial_spread_index(
    ffmc: ArrayLike,
    ws: ArrayLike,
    *,
    fbp_mod: bool = False,
    coefficient: float = FFMC_COEFFICIENT,
) -> FloatArray:
    """Initial Spread Index (ISI, 初始蔓延指数).

    Parameters
    ----------
    ffmc : array, today's FFMC.
    ws : array, noon 10 m wind speed, km/h.
    fbp_mod : if True, the FBP-system wind function for ws >= 40 km/h, 12·(1 − e^(−0.0818(ws − 28)))
        (FCFDG 1992 Eq. 53a); the FWI System itself uses False.
    coefficient : FFMC ↔ moisture coefficient, as in :func:`fine_fuel_moisture_code`.

    Returns
    -------
    array of ISI, >= 0; NaN where an input is NaN.

    Source: Van Wagner & Pickett (1985) Eqs. 24-26.
    """
    f, w = _arrays(ffmc, ws)
    return _isi(f, w, fbp_mod, coefficient)


def _isi(f: FloatArray, w: FloatArray, fbp_mod: bool, c: float) -> FloatArray:
    """:func:`initial_spread_index` on float arrays of one shape."""
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        fm = c * (101.0 - f) / (59.5 + f)  # Eq. 1 (Van Wagner 1987 Eq. 10)
        fw = np.exp(0.05039 * w)  # Eq. 24
        if fbp_mod:
            fw = np.where(w >= 40.0, 12.0 * (1.0 - np.exp(-0.0818 * (w - 28.0))), fw)
        ff = 91.9 * np.exp(-0.1386 * fm) * (1.0 + fm**5.31 / 4.93e7)  # Eq. 25
        isi: FloatArray = 0.208 * fw * ff  # Eq. 26
    return isi


def buildup_index(dmc: ArrayLike, dc: ArrayLike) -> FloatArray:
    """Buildup Index (BUI, 累积指数) from today's DMC and DC.

    dmc, dc: arrays (>= 0). Returns an array of BUI, >= 0 (0 when both are 0); NaN where an input is
    NaN. Source: Van Wagner & Pickett (1985) Eqs. 27a, 27b.
    """
    p, d = _arrays(dmc, dc)
    return _bui(p, d)


def _bui(p: FloatArray, d: FloatArray) -> FloatArray:
    """:func:`buildup_index` on float arrays of one shape."""
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        u = 0.8 * d * p / (p + 0.4 * d)  # Eq. 27a
        u = np.where((p == 0.0) & (d == 0.0), 0.0, u)
        low = u < p
        if low.any():
            frac = np.where(p != 0.0, (p - u) / p, 0.0)
            u_low = np.maximum(p - (0.92 + (0.0114 * p) ** 1.7) * frac, 0.0)  # Eq. 27b
            u = np.where(low, u_low, u)
    return u


def fire_weather_index(isi: ArrayLike, bui: ArrayLike) -> FloatArray:
    """Fire Weather Index (FWI, 火险天气指数) from ISI and BUI.

    isi, bui: arrays (>= 0). Returns an array of FWI, >= 0; NaN where an input is NaN.
    Source: Van Wagner & Pickett (1985) Eqs. 28a, 28b, 29, 30a, 30b.
    """
    r, u = _arrays(isi, bui)
    return _fwi(r, u)


def _fwi(r: FloatArray, u: FloatArray) -> FloatArray:
    """:func:`fire_weather_index` on float arrays of one shape."""
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        fd = np.where(u > 80.0, 1000.0 / (25.0 + 108.64 / np.exp(0.023 * u)), 0.626 * u**0.809 + 2.0)
        b = 0.1 * r * fd  # Eq. 29
        fwi = np.where(b > 1.0, np.exp(2.72 * (0.434 * np.log(b)) ** 0.647), b)  # Eqs. 30a, 30b
    return fwi


def daily_severity_rating(fwi: ArrayLike) -> FloatArray:
    """Daily Severity Rating (DSR, 日严重度等级) = 0.0272·FWI^1.77.

    fwi: array (>= 0). Returns an array of DSR. Source: Van Wagner (1987) Eq. 31.
    """
    (f,) = _arrays(fwi)
    return _dsr(f)


def _dsr(f: FloatArray) -> FloatArray:
    with np.errstate(invalid="ignore"):
        dsr: FloatArray = 0.0272 * f**1.77
    return dsr


@dataclass(frozen=True)
class FWIComponents:
    """The FWI System outputs of :func:`fwi_series`, each an array of shape (days, n)."""

    ffmc: FloatArray
    dmc: FloatArray
    dc: FloatArray
    isi: FloatArray
    bui: FloatArray
    fwi: FloatArray
    dsr: FloatArray

    NAMES = ("ffmc", "dmc", "dc", "isi", "bui", "fwi", "dsr")

    def as_dict(self) -> dict[str, FloatArray]:
        return {k: getattr(self, k) for k in self.NAMES}


def _series(name: str, value: ArrayLike, shape: tuple[int, int], per_day: bool = False) -> FloatArray:
    """``value`` as a float array of the weather's (days, n) shape — or, per_day, (days, 1) — without
    copying when it already is one."""
    a = np.asarray(value, dtype=np.float64)
    if a.ndim == 1 and a.shape[0] == shape[0] and (per_day or shape[1] == 1):
        a = a[:, None]
    if a.shape != shape and not (per_day and a.shape == (shape[0], 1)):
        raise ValueError(f"{name}: shape {np.shape(value)} does not fit the weather series {shape}")
    return a


def _refuse_negative(name: str, a: FloatArray) -> None:
    bad = a < 0
    if bad.any():
        day, cell = np.unravel_index(int(np.argmax(bad)), a.shape)
        raise ValueError(f"{name} cannot be negative: {a[day, cell]:g} on day index {day}, cell index {cell}")


def fwi_series(
    temp: ArrayLike,
    rh: ArrayLike,
    ws: ArrayLike,
    prec: ArrayLike,
    month: ArrayLike,
    lat: ArrayLike = 55.0,
    *,
    ffmc0: ArrayLike = START_FFMC,
    dmc0: ArrayLike = START_DMC,
    dc0: ArrayLike = START_DC,
    lat_adjust: bool = True,
    ffmc_coefficient: float = FFMC_COEFFICIENT,
    engine: str = "auto",
) -> FWIComponents:
    """Chain the FWI System day by day over a weather series (逐日链式计算).

    Parameters
    ----------
    temp, rh, ws, prec : arrays (days, n) — or (days,) for one cell — of noon temperature (°C),
        relative humidity (%), wind speed (km/h) and 24 h rain (mm), consecutive days in order.
    month : integers 1-12, shape (days,) or (days, n).
    lat : degrees north, scalar or (n,) (default 55, as cffdrs); selects the day-length factors.
    ffmc0, dmc0, dc0 : start-up codes (yesterday's values for the first day), scalar or (n,);
        default 85 / 6 / 15.
    lat_adjust : latitude-band day-length factors (cffdrs ``lat.adjust``; see :func:`dmc_day_length`,
        :func:`dc_day_length`); False: the 46°N / northern tables everywhere.
    ffmc_coefficient : :data:`FFMC_COEFFICIENT` (default, cffdrs >= 1.9.2) or
        :data:`FFMC_COEFFICIENT_1985` (147.2, cffdrs <= 1.8.18 and the 1985 tables).
    engine : "numpy" (this module's functions, the reference), "compiled" (the fused numba loop of
        :mod:`.indices_kernel`, several times faster; agrees with numpy to ~1e-13 relative) or
        "auto": compiled from :data:`COMPILED_MIN_CELL_DAYS` cell-days on when numba is importable.

    Returns
    -------
    :class:`FWIComponents`, arrays of shape (days, n) (or (days,) for 1-D input).

    Raises
    ------
    ValueError if shapes do not fit, a month is not 1-12, or rh, ws or prec is negative (as
    ``cffdrs::fwi``; the message names the day and cell index). rh >= 100 is taken as 99.9999.
    A NaN input makes that day NaN and, through the carried-over codes, every later day of the cell.

    Source: Van Wagner & Pickett (1985); chaining and constraints as ``cffdrs::fwi`` (batch mode).
    """
    t_in = np.asarray(temp, dtype=np.float64)
    one_d = t_in.ndim == 1
    if t_in.ndim not in (1, 2):
        raise ValueError(f"temp must have shape (days,) or (days, n), got {t_in.shape}")
    shape = (t_in.shape[0], 1) if one_d else (t_in.shape[0], t_in.shape[1])
    t = t_in.reshape(shape)
    h, w, p = (_series(n, v, shape) for n, v in (("rh", rh), ("ws", ws), ("prec", prec)))
    mo = _series("month", month, shape, per_day=True)
    _month_index(mo, shape)
    for name, a in (("relative humidity (rh)", h), ("wind speed (ws)", w), ("rain (prec)", p)):
        _refuse_negative(name, a)
    n = shape[1]
    la = np.array(np.broadcast_to(np.asarray(lat, dtype=np.float64), (n,)))
    f, d, q = (np.array(np.broadcast_to(np.asarray(v, dtype=np.float64), (n,))) for v in (ffmc0, dmc0, dc0))
    month0 = mo.astype(np.intp) - 1
    if mo.shape[1] == 1 and n > 1:  # a month per day: day-length factors per month and cell
        tab_la, tab_m = np.broadcast_to(la, (12, n)), np.broadcast_to(np.arange(12)[:, None], (12, n))
        rows = month0[:, 0]
    else:  # a month per cell-day: the factors of each cell-day, one row per day
        tab_la, tab_m, rows = la, np.broadcast_to(month0, shape), np.arange(shape[0])
    le_tab, lf_tab = _dmc_day_length(tab_la, tab_m, lat_adjust), _dc_day_length(tab_la, tab_m, lat_adjust)
    kernel = _compiled_kernel(engine, shape[0] * n)
    if kernel is not None:
        block = kernel.chain(t, h, w, p, rows, le_tab, lf_tab, f, d, q, ffmc_coefficient)
        out = dict(zip(FWIComponents.NAMES, block, strict=True))
    else:
        out = {k: np.empty(shape) for k in FWIComponents.NAMES}
        _chain_numpy(t, h, w, p, rows, le_tab, lf_tab, f, d, q, ffmc_coefficient, out)
    res: dict[str, Any] = {k: (v[:, 0] if one_d else v) for k, v in out.items()}
    return FWIComponents(**res)


COMPILED_MIN_CELL_DAYS = 2_000_000
"""``engine="auto"`` uses the compiled kernel from this many cell-days on (numpy: about 0.5 s). Below
it numpy is quick enough and needs no numba import; the very first compiled call of an install
also compiles the kernel (15-60 s, then cached), which only a large series repays."""


def _compiled_kernel(engine: str, cell_days: int) -> Any:
    """The :mod:`.indices_kernel` module if ``engine`` asks for it (or "auto" and the series is large
    and numba importable), else None. ValueError for an unknown engine or "compiled" without numba."""
    if engine not in ("auto", "numpy", "compiled"):
        raise ValueError(f"engine must be 'auto', 'numpy' or 'compiled', got {engine!r}")
    if engine == "numpy" or (engine == "auto" and cell_days < COMPILED_MIN_CELL_DAYS):
        return None
    try:
        from zhizhi.scenarios.fire import indices_kernel
    except ImportError as exc:
        if engine == "compiled":
            raise ValueError(f"engine='compiled' needs numba: {exc}") from exc
        return None
    return indices_kernel


def _chain_numpy(
    t: FloatArray,
    h: FloatArray,
    w: FloatArray,
    p: FloatArray,
    rows: NDArray[np.intp],
    le_tab: FloatArray,
    lf_tab: FloatArray,
    f: FloatArray,
    d: FloatArray,
    q: FloatArray,
    ffmc_coefficient: float,
    out: dict[str, FloatArray],
) -> None:
    """:func:`fwi_series`' numpy engine: fills ``out`` (name → (days, n)) day by day; day i's
    day-length factors are row ``rows[i]`` of ``le_tab`` / ``lf_tab``."""
    days, n = t.shape
    # Blocks of cells whose day vectors stay in the CPU cache; each row slice is contiguous.
    for s in range(0, n, CHUNK_CELLS):
        c = slice(s, min(n, s + CHUNK_CELLS))
        fc, dc, qc = f[c], d[c], q[c]
        for i in range(days):
            le, lf = le_tab[rows[i], c], lf_tab[rows[i], c]
            ti, hi, wi, pi = t[i, c], h[i, c], w[i, c], p[i, c]
            hi = np.where(hi >= 100.0, RH_CAP, hi)
            fc = _ffmc(fc, ti, hi, wi, pi, ffmc_coefficient)
            dc = _dmc(dc, ti, hi, pi, le)
            qc = _dc(qc, ti, pi, lf)
            isi = _isi(fc, wi, False, ffmc_coefficient)
            out["ffmc"][i, c], out["dmc"][i, c], out["dc"][i, c], out["isi"][i, c] = fc, dc, qc, isi
            bui = _bui(dc, qc)
            fwi = _fwi(isi, bui)
            out["bui"][i, c], out["fwi"][i, c], out["dsr"][i, c] = bui, fwi, _dsr(fwi)
