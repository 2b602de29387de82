"""Shared set-up of the benchmarks (基准测试): a temporary SQLite database migrated and loaded with
Yongchuan, and GENERATED event data (real catalogue codes, random points inside Yongchuan's grids).

Nothing here touches the user's ``var/zhizhi.db``: every database lives in a fresh temporary folder
that is removed on exit.
"""

from __future__ import annotations

import os
import platform
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from sqlalchemy import select
from sqlalchemy.engine import Engine

from zhizhi.core.db import make_engine, session_scope
from zhizhi.core.migrate import upgrade
from zhizhi.event import service as event_service
from zhizhi.org import service as org
from zhizhi.org.models import OrgUnit

DISTRICT = "500118"  # 永川区 Yongchuan


@contextmanager
def temp_dir() -> Iterator[Path]:
    """A fresh temporary folder, removed with everything in it on exit."""
    d = Path(tempfile.mkdtemp(prefix="zhizhi-bench-"))
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def migrated_engine(path: Path, load: bool = True) -> Engine:
    """An engine on a new SQLite file at ``path`` migrated to head (``core.migrate.upgrade``) and, with
    ``load``, Yongchuan loaded (``org.service.load_district``: towns, villages, generated grids, staff)."""
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    if load:
        with session_scope(engine) as s:
            org.load_district(s, DISTRICT)
    return engine


@dataclass
class Grids:
    """Yongchuan's grids (generated polygons) with their village, town and WGS-84 geometry."""

    codes: np.ndarray  # (g,) object: 15-digit grid codes
    villages: np.ndarray  # (g,) object: 12-digit village codes
    towns: np.ndarray  # (g,) object: 12-digit town codes
    geoms: np.ndarray  # (g,) shapely polygons, lon/lat degrees


def grids(engine: Engine) -> Grids:
    """Read the loaded grids of :data:`DISTRICT` from the database."""
    with session_scope(engine) as s:
        rows = s.execute(select(OrgUnit.code, OrgUnit.parent_id, OrgUnit.town_code, OrgUnit.geom).where(
            OrgUnit.level == "grid", OrgUnit.district_code == DISTRICT).order_by(OrgUnit.code)).all()
        village_of = dict(s.execute(select(OrgUnit.id, OrgUnit.code).where(OrgUnit.level == "village")).all())
    return Grids(np.array([r[0] for r in rows], dtype=object),
                 np.array([village_of[r[1]] for r in rows], dtype=object),
                 np.array([r[2] for r in rows], dtype=object),
                 np.array([shapely.from_wkb(r[3]) for r in rows], dtype=object))


def points_in_grids(g: Grids, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` GENERATED points, each uniform inside a grid drawn uniformly among the grids.

    Returns ``(grid_index (n,) int, lon (n,) degrees, lat (n,) degrees)``; rejection sampling in each
    grid's bounding box, vectorised (shapely.contains_xy)."""
    idx = rng.integers(0, len(g.codes), n)
    bounds = shapely.bounds(g.geoms)  # (g, 4) minx, miny, maxx, maxy
    lon = np.empty(n)
    lat = np.empty(n)
    todo = np.arange(n)
    while len(todo):
        b = bounds[idx[todo]]
        x = rng.uniform(b[:, 0], b[:, 2])
        y = rng.uniform(b[:, 1], b[:, 3])
        ok = shapely.contains_xy(g.geoms[idx[todo]], x, y)
        lon[todo[ok]], lat[todo[ok]] = x[ok], y[ok]
        todo = todo[~ok]
    return idx, lon, lat


def leaf_codes() -> list[str]:
    """The 4-digit leaf codes of the shipped category catalogue (事件分类), in file order."""
    return [leaf.code for leaf in event_service.catalogue().leaves()]


class Stopwatch:
    """``with Stopwatch() as sw: ...`` then ``sw.seconds`` (wall clock, perf_counter)."""

    def __enter__(self) -> Stopwatch:
        self.seconds = 0.0
        self._t = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._t


def machine() -> str:
    """One line naming the machine: CPU count, Python, SQLite versions."""
    import sqlite3

    return (f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}, "
            f"SQLite {sqlite3.sqlite_version}")


def table(rows: Sequence[Sequence[str]]) -> str:
    """Rows of strings as a left-aligned text table (first row is the header)."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
