"""Duplicate detections of one satellite pass (同一过境重复探测): which rows of a FIRMS file to keep.

Overlapping scans (the VIIRS and MODIS "bow-tie" at the swath edges) can report one fire pixel twice in
the same pass: two rows of the same satellite with the same acquisition minute whose pixel centres are
a few tens of metres apart (the real 2025 VIIRS S-NPP file in tests/data/fire/firms has such pairs 19
to 100 m apart). Genuinely adjacent fire pixels are a whole pixel apart (375 m for VIIRS at nadir, 1 km
for MODIS), so rows closer than ``SAME_PASS_FRACTION`` of the smaller pixel size are one detection.

Of each such group the importer keeps the best row: the highest confidence (the 0-100 number, VIIRS
low/nominal/high normalised to 15/55/90), then the highest FRP, then the first row of the file. Pure:
no database.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from zhizhi.scenarios.fire.hotspots.cluster import _components, _near_pairs, haversine_km

SAME_PASS_FRACTION = 1 / 3
"""Rows of one satellite and minute closer than this fraction of the smaller pixel dimension (the
smaller of both rows' scan and track) are one detection. zhizhi's choice: a third of a pixel (125 m for
VIIRS at nadir, 333 m for MODIS) is well below the spacing of adjacent pixels and the same bound the
detection key's rounding was designed for (~110 m, hotspots.detection_key)."""


def same_pass_best(
    platform: ArrayLike,
    acq: ArrayLike,
    lon: ArrayLike,
    lat: ArrayLike,
    scan: ArrayLike,
    track: ArrayLike,
    confidence: ArrayLike,
    frp: ArrayLike,
    key: ArrayLike | None = None,
) -> NDArray[np.int64]:
    """For each row, the position of the row kept for it (itself when it is kept).

    Rows i and j are the same detection when they have the same ``platform`` and ``acq`` and their
    great-circle distance is <= SAME_PASS_FRACTION * min(scan_i, track_i, scan_j, track_j), or when
    their ``key`` (hotspots.detection_key, the stored identity) is equal; groups are the connected
    components of that relation. The row kept of a group has the highest ``confidence``, then the
    highest ``frp``, then the smallest position (the first row of the file).

    platform: (n,) str; acq: (n,) ``datetime64`` UTC; lon, lat: (n,) WGS-84 degrees; scan, track: (n,)
    pixel size, km; confidence: (n,) 0-100; frp: (n,) MW; key: (n,) str or None. Returns (n,) int64
    positions. Raises ValueError when the arrays differ in length.
    """
    pf = np.asarray(platform).astype(str)
    t = np.asarray(acq).astype("datetime64[m]").astype(np.int64)
    lo, la = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    px = np.minimum(np.asarray(scan, dtype=np.float64), np.asarray(track, dtype=np.float64))
    conf, power = np.asarray(confidence, dtype=np.float64), np.asarray(frp, dtype=np.float64)
    n = len(pf)
    arrays = (t, lo, la, px, conf, power) + ((np.asarray(key),) if key is not None else ())
    if any(a.shape != (n,) for a in arrays):
        raise ValueError("platform, acq, lon, lat, scan, track, confidence, frp and key must be (n,)")
    if n < 2:
        return np.arange(n, dtype=np.int64)
    reach = SAME_PASS_FRACTION * float(px.max())
    i, j = _near_pairs(lo, la, reach)
    same = (pf[i] == pf[j]) & (t[i] == t[j])
    i, j = i[same], j[same]
    close = haversine_km(lo[i], la[i], lo[j], la[j]) <= SAME_PASS_FRACTION * np.minimum(px[i], px[j])
    i, j = i[close], j[close]
    if key is not None:
        k = np.asarray(key).astype(str)
        order = np.argsort(k, kind="stable")
        dup = np.flatnonzero(k[order][1:] == k[order][:-1])
        i = np.concatenate([i, order[dup]])
        j = np.concatenate([j, order[dup + 1]])
    label = _components(n, i.astype(np.int64), j.astype(np.int64))
    # best first: confidence desc, FRP desc, position asc; then the first of each label in that order
    rank = np.lexsort((np.arange(n), -np.nan_to_num(power, nan=-np.inf), -conf))
    best: dict[int, int] = {}
    for r in rank.tolist():
        best.setdefault(int(label[r]), r)
    return np.array([best[int(lab)] for lab in label.tolist()], dtype=np.int64)
