"""Clustering detections of one fire in space and time, and finding places detected on many days
(proposed static heat sources). Pure numpy: no database."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np
from numpy.typing import ArrayLike, NDArray

_R_KM = 6371.0088  # mean Earth radius (IUGG), km


def haversine_km(lon1: ArrayLike, lat1: ArrayLike, lon2: ArrayLike, lat2: ArrayLike) -> NDArray[np.float64]:
    """Great-circle distance, km, on the sphere of mean radius 6371.0088 km; arrays broadcast."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2, dtype=np.float64) - np.asarray(lon1, dtype=np.float64))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return np.asarray(2 * _R_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))))


# ---------------------------------------------------------------------------------------- clustering
def _near_pairs(
    lon: NDArray[np.float64], lat: NDArray[np.float64], max_km: float
) -> tuple[NDArray[np.int64], ...]:
    """Candidate pairs (i < j) whose great-circle distance may be <= ``max_km``: points are hashed into
    cubes of the 3-D unit-vector space with an edge of the matching chord, and each cube is paired
    with itself and its 13 'forward' neighbours. Works across the dateline and at the poles."""
    n = len(lon)
    if n < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    la, lo = np.radians(lat), np.radians(lon)
    xyz = np.column_stack((np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)))
    cell = max(2 * math.sin(min(max_km / _R_KM, math.pi) / 2), 1e-9)
    ijk = np.floor(xyz / cell).astype(np.int64) + (1 << 20)
    key = (ijk[:, 0] << 42) | (ijk[:, 1] << 21) | ijk[:, 2]
    order = np.argsort(key, kind="stable")
    ukey, start, count = np.unique(key[order], return_index=True, return_counts=True)
    out_i, out_j = [], []
    offsets = [
        (a, b, c) for a in (-1, 0, 1) for b in (-1, 0, 1) for c in (-1, 0, 1) if (a, b, c) >= (0, 0, 0)
    ]
    for a, b, c in offsets:
        nk = ukey + ((a << 42) + (b << 21) + c)
        pos = np.minimum(np.searchsorted(ukey, nk), len(ukey) - 1)
        hit = np.flatnonzero(ukey[pos] == nk)
        if len(hit) == 0:
            continue
        ca, cb = hit, pos[hit]
        na, nb = count[ca], count[cb]
        rep = na * nb
        pair = np.repeat(np.arange(len(ca)), rep)
        within = np.arange(int(rep.sum())) - np.repeat(np.cumsum(rep) - rep, rep)
        ia, ib = within // nb[pair], within % nb[pair]
        i, j = order[start[ca][pair] + ia], order[start[cb][pair] + ib]
        if (a, b, c) == (0, 0, 0):
            keep = i < j
            i, j = i[keep], j[keep]
        out_i.append(i)
        out_j.append(j)
    if not out_i:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(out_i), np.concatenate(out_j)


def _components(n: int, i: NDArray[np.int64], j: NDArray[np.int64]) -> NDArray[np.int64]:
    """Connected components of the graph with edges (i, j): label = smallest member index."""
    label = np.arange(n, dtype=np.int64)
    if len(i) == 0:
        return label
    while True:
        m = np.minimum(label[i], label[j])
        before = label.copy()
        np.minimum.at(label, i, m)
        np.minimum.at(label, j, m)
        while True:  # pointer jumping
            nxt = label[label]
            if np.array_equal(nxt, label):
                break
            label = nxt
        if np.array_equal(label, before):
            return label


def cluster_labels(
    lon: ArrayLike,
    lat: ArrayLike,
    acq: ArrayLike,
    pixel_diagonal: ArrayLike,
    *,
    gap_km: float = 1.0,
    window_h: float = 120.0,
) -> NDArray[np.int64]:
    """Group detections of the same fire (同一火场) in space and time (single linkage).

    Two detections i, j are linked when their great-circle distance d_ij <= gap_km + (D_i + D_j) / 2,
    D being each pixel's footprint diagonal (km), and their times are at most ``window_h`` hours apart;
    a cluster is a connected component of these links.
    The half-diagonals make pixels that touch or overlap always link, whatever the scan angle, so a
    MODIS pixel at nadir links within 1 + 1.41 = 2.41 km and a VIIRS one within 1 + 0.53 = 1.53 km.
    The defaults follow the FEDS fire-event tracker (Chen et al. 2022, Sci. Data 9:249;
    Earth-Information-System/fireatlas ``FireConsts.py``): 1 km connectivity for new detections
    (``CONNECTIVITY_SLEEPER_KM``; 0.7 km between VIIRS pixel centres for initial clustering, which the
    half-diagonals cover) and a fire stays active for 5 days (120 h) without detection (``maxoffdays``).

    lon, lat: (n,) degrees; acq: (n,) ``datetime64`` UTC; pixel_diagonal: (n,) km. gap_km >= 0,
    window_h >= 0. Returns (n,) int64 labels, each the smallest index in its cluster (so label == index
    marks a cluster's first member). Raises ValueError for mismatched shapes or negative parameters.
    """
    lo, la = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    t = np.asarray(acq).astype("datetime64[m]").astype(np.int64)
    dg = np.asarray(pixel_diagonal, dtype=np.float64)
    if not (lo.shape == la.shape == t.shape == dg.shape) or lo.ndim != 1:
        raise ValueError(
            f"lon, lat, acq and pixel_diagonal must be 1-D of one length, got {lo.shape}, "
            f"{la.shape}, {t.shape}, {dg.shape}"
        )
    if gap_km < 0 or window_h < 0:
        raise ValueError(f"gap_km and window_h must be >= 0, got {gap_km}, {window_h}")
    if len(lo) == 0:
        return np.zeros(0, np.int64)
    i, j = _near_pairs(lo, la, gap_km + float(dg.max()))
    d = haversine_km(lo[i], la[i], lo[j], la[j])
    ok = (d <= gap_km + (dg[i] + dg[j]) / 2) & (np.abs(t[i] - t[j]) <= window_h * 60)
    return _components(len(lo), i[ok], j[ok])


@dataclass(frozen=True)
class StaticCandidate:
    """A location detected on many distinct days: a proposed static heat source (固定热源, e.g. a
    kiln, a steel or power plant). ``lon``/``lat``: mean of the members, degrees; ``radius_km``: the
    farthest member from that centre plus ``radius_km`` of the search / 2; ``members``: indices."""

    lon: float
    lat: float
    radius_km: float
    distinct_days: int
    first_day: date
    last_day: date
    members: tuple[int, ...]


def static_candidates(
    lon: ArrayLike,
    lat: ArrayLike,
    day: ArrayLike,
    *,
    radius_km: float = 1.0,
    min_days: int = 6,
    min_span_days: int = 30,
) -> list[StaticCandidate]:
    """Propose static heat sources (固定热源): places with detections on many distinct days.

    A detection qualifies when the detections within ``radius_km`` of it (itself included) fall on at
    least ``min_days`` distinct UTC dates spanning at least ``min_span_days`` days (last - first);
    qualifying detections within ``radius_km`` of each other form one candidate. The span test keeps
    a long forest fire (a week of daily detections) from being proposed; a kiln or a plant shows up
    again and again over months. zhizhi's own heuristic (defaults in ``data/hotspots.yaml``): FIRMS
    flags such places as ``type`` 2 (other static land source) in its standard product by an
    unpublished rule, and the FEDS tracker masks known flares from a list; neither gives thresholds for
    a district. A proposal is reviewed by a person before it snoozes anything.

    lon, lat: (n,) degrees; day: (n,) ``datetime64`` (any unit; the UTC date counts).
    Returns candidates, most distinct days first. Raises ValueError for mismatched shapes or
    non-positive parameters.
    """
    lo, la = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    d = np.asarray(day).astype("datetime64[D]").astype(np.int64)
    if not (lo.shape == la.shape == d.shape) or lo.ndim != 1:
        raise ValueError(f"lon, lat and day must be 1-D of one length, got {lo.shape}, {la.shape}, {d.shape}")
    if radius_km <= 0 or min_days < 1 or min_span_days < 0:
        raise ValueError("radius_km must be > 0, min_days >= 1 and min_span_days >= 0")
    n = len(lo)
    if n == 0:
        return []
    i, j = _near_pairs(lo, la, radius_km)
    near = haversine_km(lo[i], la[i], lo[j], la[j]) <= radius_km
    i, j = i[near], j[near]
    src = np.concatenate((np.arange(n), i, j))
    nb_day = np.concatenate((d, d[j], d[i]))
    pairs = np.unique(np.column_stack((src, nb_day)), axis=0)
    ndays = np.bincount(pairs[:, 0], minlength=n)
    first = np.full(n, np.iinfo(np.int64).max)
    last = np.full(n, np.iinfo(np.int64).min)
    np.minimum.at(first, pairs[:, 0], pairs[:, 1])
    np.maximum.at(last, pairs[:, 0], pairs[:, 1])
    qual = (ndays >= min_days) & (last - first >= min_span_days)
    if not qual.any():
        return []
    both = qual[i] & qual[j]
    label = _components(n, i[both], j[both])
    out = []
    for root in np.unique(label[qual]):
        m = np.flatnonzero(qual & (label == root))
        clon, clat = float(lo[m].mean()), float(la[m].mean())
        days = np.unique(d[m])
        reach = float(haversine_km(clon, clat, lo[m], la[m]).max()) + radius_km / 2
        out.append(
            StaticCandidate(
                clon,
                clat,
                reach,
                len(days),
                date.fromordinal(int(days.min()) + date(1970, 1, 1).toordinal()),
                date.fromordinal(int(days.max()) + date(1970, 1, 1).toordinal()),
                tuple(int(k) for k in m),
            )
        )
    out.sort(key=lambda c: (-c.distinct_days, c.first_day, c.lon))
    return out
