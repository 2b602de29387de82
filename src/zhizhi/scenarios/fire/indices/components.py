"""The FWI System's six components and the Daily Severity Rating (FWI 分量), one function each over
numpy arrays, with the equations of Van Wagner & Pickett (1985); sources and NA handling in the
package docstring of :mod:`zhizhi.scenarios.fire.indices`."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from zhizhi.scenarios.fire.day_length import (
    _arrays,
    _dc_day_length,
    _dmc_day_length,
    _month_index,
)

FloatArray = NDArray[np.float64]

FFMC_COEFFICIENT = 250.0 * 59.5 / 101.0
"""FFMC ↔ moisture-content coefficient used by cffdrs >= 1.9.2 ("exact", 147.2772…): it makes
Eqs. 1 and 10 exact inverses of each other (FFMC 101 ↔ 0 % moisture)."""
FFMC_COEFFICIENT_1985 = 147.2
"""The coefficient printed in Van Wagner & Pickett (1985) Eqs. 1 and 10 and used by cffdrs <= 1.8.18."""


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
