"""Duplicate detections of one satellite pass (overlapping scans): the importer stores the best row.

The rows below are CONSTRUCTED from one real VIIRS S-NPP row of the FIRMS Area-API sample
(tests/data/fire/firms/viirs_snpp_nrt_area_api_20250626_sample.csv, line 2: 33.04103N 97.97512E,
bright_ti4 339.99 K, scan 0.43, track 0.46, 2025-06-26 06:03 UTC, confidence n, FRP 4.44 MW): its
values are kept, its point is moved into Yongchuan (朱沱镇, near the real 2022 MODIS detection), and a
second row of the same pass is made 30 m north with another confidence (and FRP).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from tests.scenarios.fire.test_hotspot_service import FIRE_TABLES
from zhizhi.scenarios.fire import hotspots as hs
from zhizhi.scenarios.fire import service
from zhizhi.scenarios.fire.models import Hotspot

HEADER = (
    "latitude,longitude,bright_ti4,scan,track,acq_date,acq_time,satellite,instrument,confidence,"
    "version,bright_ti5,frp,daynight"
)
DEG_30M = 30 / 111_195  # 30 m of latitude, degrees


def row(lat: float, conf: str, frp: float = 4.44, time: str = "603", sat: str = "N") -> str:
    """The real row's values at ``lat`` (105.81419E) with confidence ``conf`` and ``frp`` (CONSTRUCTED)."""
    return f"{lat:.5f},105.81419,339.99,0.43,0.46,2025-06-26,{time},{sat},VIIRS,{conf},2.0NRT,294.2,{frp},D"


def csv(*rows: str) -> bytes:
    return ("\n".join((HEADER, *rows)) + "\n").encode()


@pytest.fixture(autouse=True)
def _clean_fire(engine: Engine) -> Iterator[None]:
    yield
    with engine.begin() as c:
        for t in FIRE_TABLES:
            c.execute(text(f"DELETE FROM {t}"))


def stored(session: Session) -> list[tuple[float, str, float, int]]:
    q = select(Hotspot).order_by(Hotspot.id)
    return [(h.lat, h.confidence_raw, h.frp, h.line) for h in session.scalars(q)]


# 29.03540 and 29.03567 round to different keys (29.035 / 29.036); 29.03551 and 29.03578 to one
@pytest.mark.parametrize("lat", [29.03540, 29.03551])
def test_the_higher_confidence_row_of_one_pass_is_stored(session: Session, lat: float) -> None:
    low, high = row(lat, "l"), row(lat + DEG_30M, "h", frp=3.1)  # the worse one first in the file
    s = service.import_bytes(session, csv(low, high), "samepass.csv")
    assert (s.in_area, s.duplicates, s.same_pass, s.new, s.events_opened) == (2, 1, 1, 1, 1)
    assert stored(session) == [(round(lat + DEG_30M, 5), "h", 3.1, 3)]
    again = service.import_bytes(session, csv(high, low), "samepass-again.csv")  # the other order
    assert (again.duplicates, again.same_pass, again.new) == (2, 1, 0)
    assert len(stored(session)) == 1


def test_equal_confidence_keeps_the_higher_frp_then_the_first_row(session: Session) -> None:
    a, b = row(29.03540, "n", frp=2.0), row(29.03540 + DEG_30M, "nominal", frp=4.44)
    s = service.import_bytes(session, csv(a, b), "frp.csv")
    assert (s.same_pass, s.new) == (1, 1)
    assert stored(session) == [(round(29.03540 + DEG_30M, 5), "nominal", 4.44, 3)]


def test_other_passes_and_adjacent_pixels_are_not_merged(session: Session) -> None:
    base = row(29.03540, "n")
    other_minute = row(29.03540 + DEG_30M, "h", time="604")
    other_satellite = row(29.03540 + DEG_30M, "h", sat="1")  # NOAA-20, same minute
    next_pixel = row(29.03540 + 375 / 111_195, "h")  # one VIIRS pixel (375 m) away
    s = service.import_bytes(session, csv(base, other_minute, other_satellite, next_pixel), "four.csv")
    assert (s.duplicates, s.same_pass, s.new) == (0, 0, 4)


def test_same_pass_best_rule() -> None:
    t = np.array(["2025-06-26T06:03"] * 4, dtype="datetime64[m]")
    lat = np.array([29.0, 29.0 + DEG_30M, 29.0 + 2 * DEG_30M, 29.1])
    best = hs.same_pass_best(
        np.array(["N", "N", "N", "N"]),
        t,
        np.full(4, 105.8),
        lat,
        np.full(4, 0.43),
        np.full(4, 0.46),
        np.array([55, 90, 90, 15]),
        np.array([9.0, 1.0, 2.0, 1.0]),
    )
    assert best.tolist() == [2, 2, 2, 3]  # a chain 30 m apart is one detection; 90 %, then FRP 2.0
    with pytest.raises(ValueError, match="must be"):
        hs.same_pass_best(["N"], t, [1.0], [1.0], [0.4], [0.4], [1], [1.0])
