"""Chaining the FWI System day by day (逐日链式计算): :func:`fwi_series` over a ``(days, n)`` weather
series, with the numpy reference engine here and the compiled one in :mod:`..indices_kernel`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from zhizhi.scenarios.fire.day_length import (
    _dc_day_length,
    _dmc_day_length,
    _month_index,
)
from zhizhi.scenarios.fire.indices.components import (
    FFMC_COEFFICIENT,
    FloatArray,
    _bui,
    _dc,
    _dmc,
    _dsr,
    _ffmc,
    _fwi,
    _isi,
)

START_FFMC = 85.0
START_DMC = 6.0
START_DC = 15.0

CHUNK_CELLS = 16384
"""Cells chained together by :func:`fwi_series` (larger inputs are done in blocks of this size)."""

RH_CAP = 99.9999
"""``cffdrs::fwi`` sets rh >= 100 to this value before computing a day (FFMC Eq. 4 needs rh < 100)."""


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
