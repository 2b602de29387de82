"""Day-length factors of the FWI System's DMC and DC by latitude band and month (日长因子).

Split from :mod:`.indices` (which re-exports everything here): the tables, the cffdrs ``lat.adjust``
bands and the shared argument helpers.

Sources: Van Wagner, C.E. (1987), For. Tech. Rep. 35, Tables 1 and 2; Lawson, B.D. and Armitage,
O.B. (2008), *Weather guide for the Canadian Forest Fire Danger Rating System* (the 20°N, 20°S, 40°S
and equatorial factors); bands as the R package cffdrs (``lat.adjust``).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]

# DMC effective day-length factors Le by month (Van Wagner 1987 Table 1 for 46°N; Lawson & Armitage
# 2008 for the other reference latitudes), as used by cffdrs' lat.adjust.
DMC_DAY_LENGTH_46N = (6.5, 7.5, 9.0, 12.8, 13.9, 13.9, 12.4, 10.9, 9.4, 8.0, 7.0, 6.0)
DMC_DAY_LENGTH_20N = (7.9, 8.4, 8.9, 9.5, 9.9, 10.2, 10.1, 9.7, 9.1, 8.6, 8.1, 7.8)
DMC_DAY_LENGTH_20S = (10.1, 9.6, 9.1, 8.5, 8.1, 7.8, 7.9, 8.3, 8.9, 9.4, 9.9, 10.2)
DMC_DAY_LENGTH_40S = (11.5, 10.5, 9.2, 7.9, 6.8, 6.2, 6.5, 7.4, 8.7, 10.0, 11.2, 11.8)
DMC_DAY_LENGTH_EQUATOR = 9.0
# DC day-length adjustment Lf by month (Van Wagner 1987 Table 2; southern table and the equatorial
# constant from Lawson & Armitage 2008).
DC_DAY_LENGTH_NORTH = (-1.6, -1.6, -1.6, 0.9, 3.8, 5.8, 6.4, 5.0, 2.4, 0.4, -1.6, -1.6)
DC_DAY_LENGTH_SOUTH = (6.4, 5.0, 2.4, 0.4, -1.6, -1.6, -1.6, -1.6, -1.6, 0.9, 3.8, 5.8)
DC_DAY_LENGTH_EQUATOR = 1.4


def _arrays(*values: ArrayLike) -> list[FloatArray]:
    """The arguments as float64 arrays broadcast to one shape (read-only views where possible)."""
    return list(np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in values)))


def _month_index(month: ArrayLike, shape: tuple[int, ...]) -> NDArray[np.intp]:
    """0-based month index broadcast to ``shape``; ValueError unless every month is an integer 1-12."""
    mf = np.broadcast_to(np.asarray(month, dtype=np.float64), shape)
    bad = ~((mf >= 1) & (mf <= 12) & (mf == np.round(mf)))
    if bad.any():
        raise ValueError(f"month must be an integer 1-12, got {float(mf.ravel()[int(np.argmax(bad))]):g}")
    return mf.astype(np.intp) - 1


def _dmc_day_length(lat: FloatArray, month0: NDArray[np.intp], lat_adjust: bool) -> FloatArray:
    """DMC effective day length Le for each element (cffdrs lat.adjust bands)."""
    le = np.asarray(DMC_DAY_LENGTH_46N)[month0]
    if not lat_adjust:
        return le
    le = np.where((lat <= 30) & (lat > 10), np.asarray(DMC_DAY_LENGTH_20N)[month0], le)
    le = np.where((lat <= -10) & (lat > -30), np.asarray(DMC_DAY_LENGTH_20S)[month0], le)
    le = np.where((lat <= -30) & (lat >= -90), np.asarray(DMC_DAY_LENGTH_40S)[month0], le)
    le = np.where((lat <= 10) & (lat > -10), DMC_DAY_LENGTH_EQUATOR, le)
    return np.where(np.isnan(lat), np.nan, le)


def dmc_day_length(lat: ArrayLike, month: ArrayLike, *, lat_adjust: bool = True) -> FloatArray:
    """Effective day length Le (hours) of the Duff Moisture Code for a latitude and month.

    Bands as cffdrs ``lat.adjust=TRUE``: 46°N table for lat > 30 (and for lat < -90); 20°N table for
    10 < lat <= 30 (Yongchuan, 29.35°N); 9 h for -10 < lat <= 10; 20°S table for -30 < lat <= -10;
    40°S table for -90 <= lat <= -30. With ``lat_adjust=False`` the 46°N table everywhere.
    lat: degrees north (negative south); month: 1-12. Raises ValueError for another month.
    Source: Van Wagner (1987) Table 1; Lawson & Armitage (2008).
    """
    la, mo = _arrays(lat, month)
    return _dmc_day_length(la, _month_index(mo, la.shape), lat_adjust)


def _dc_day_length(lat: FloatArray, month0: NDArray[np.intp], lat_adjust: bool) -> FloatArray:
    lf = np.asarray(DC_DAY_LENGTH_NORTH)[month0]
    if not lat_adjust:
        return lf
    lf = np.where(lat <= -20, np.asarray(DC_DAY_LENGTH_SOUTH)[month0], lf)
    lf = np.where((lat > -20) & (lat <= 20), DC_DAY_LENGTH_EQUATOR, lf)
    return np.where(np.isnan(lat), np.nan, lf)


def dc_day_length(lat: ArrayLike, month: ArrayLike, *, lat_adjust: bool = True) -> FloatArray:
    """Day-length adjustment Lf of the Drought Code for a latitude and month.

    Bands as cffdrs ``lat.adjust=TRUE``: northern table for lat > 20 (Yongchuan included); 1.4 for
    -20 < lat <= 20; southern table for lat <= -20. With ``lat_adjust=False`` the northern table.
    Raises ValueError for a month other than 1-12.
    Source: Van Wagner (1987) Table 2; Lawson & Armitage (2008).
    """
    la, mo = _arrays(lat, month)
    return _dc_day_length(la, _month_index(mo, la.shape), lat_adjust)
