"""GCJ-02 (国测局坐标) to and from WGS-84: the offset system of AMap/Tencent maps; see the package
docstring."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

# GCJ-02 constants: the Krasovsky 1940 ellipsoid, as used by the published reconstruction.
_GCJ_A = 6_378_245.0
_GCJ_EE = 0.00669342162296594323
_GCJ_TOL_DEG = 1e-12  # inverse stops when the step is below this (1e-7 m)
# 72.004-137.8347 E, 0.8293-55.8271 N: the bounding box used by the GCJ-02 reconstruction.
_CHINA_BOX = (72.004, 0.8293, 137.8347, 55.8271)


# --------------------------------------------------------------------------------------------- GCJ-02
def _gcj_offset(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> tuple[NDArray[np.float64], ...]:
    x, y, pi = lon - 105.0, lat - 35.0, math.pi
    common = (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x)) + common
    dlat += (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x)) + common
    dlon += (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0
    rad = np.radians(lat)
    magic = 1.0 - _GCJ_EE * np.sin(rad) ** 2
    dlat = dlat * 180.0 / (_GCJ_A * (1.0 - _GCJ_EE) / (magic * np.sqrt(magic)) * pi)
    dlon = dlon * 180.0 / (_GCJ_A / np.sqrt(magic) * np.cos(rad) * pi)
    inside = (lon >= _CHINA_BOX[0]) & (lon <= _CHINA_BOX[2]) & (lat >= _CHINA_BOX[1]) & (lat <= _CHINA_BOX[3])
    return np.where(inside, dlon, 0.0), np.where(inside, dlat, 0.0)


def _float_pair(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    lo, la = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    if lo.shape != la.shape:
        raise ValueError(f"lon and lat must have the same shape, got {lo.shape} and {la.shape}")
    return lo, la


def wgs84_to_gcj02_array(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Vectorised WGS-84 -> GCJ-02 (国测局坐标) conversion.

    lon, lat: arrays of one shape (any), degrees. Returns two float64 arrays of that shape, degrees.
    Points outside China's box (72.004-137.8347 E, 0.8293-55.8271 N) are returned unchanged.
    Raises ValueError if the shapes differ.
    Source: the published reconstruction of the GCJ-02 offset (Krasovsky a = 6378245 m,
    e^2 = 0.00669342162296594323), e.g. googollee/eviltransform ``transform.go``. In Yongchuan it
    reproduces AMap's points to the 1e-6 deg rounding of ``towns_points.csv``.
    """
    lo, la = _float_pair(lon, lat)
    dlon, dlat = _gcj_offset(lo, la)
    return lo + dlon, la + dlat


def gcj02_to_wgs84_array(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Vectorised GCJ-02 -> WGS-84 by fixed-point inversion of :func:`wgs84_to_gcj02_array`.

    lon, lat: arrays of one shape, GCJ-02 degrees. Returns WGS-84 degrees, same shape. Iterates
    w <- w - (gcj(w) - g) until the step is below 1e-12 deg. Convergence takes about 4 steps, since the
    offset's gradient is about 1e-3. The round trip error is below 1e-11 deg (1e-6 m), well under the
    0.01 m required. Points outside China's box are returned unchanged. Raises ValueError if the shapes
    differ.
    """
    g_lon, g_lat = _float_pair(lon, lat)
    w_lon, w_lat = g_lon.copy(), g_lat.copy()
    for _ in range(30):
        f_lon, f_lat = wgs84_to_gcj02_array(w_lon, w_lat)
        s_lon, s_lat = f_lon - g_lon, f_lat - g_lat
        w_lon, w_lat = w_lon - s_lon, w_lat - s_lat
        if not (np.any(np.abs(s_lon) > _GCJ_TOL_DEG) or np.any(np.abs(s_lat) > _GCJ_TOL_DEG)):
            break
    return w_lon, w_lat


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """One WGS-84 point (degrees) to GCJ-02 (火星坐标) degrees; see :func:`wgs84_to_gcj02_array`."""
    x, y = wgs84_to_gcj02_array(lon, lat)
    return float(x), float(y)


def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """One GCJ-02 point (degrees) to WGS-84 degrees (< 1e-6 m); see :func:`gcj02_to_wgs84_array`."""
    x, y = gcj02_to_wgs84_array(lon, lat)
    return float(x), float(y)
