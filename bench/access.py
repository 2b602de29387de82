"""Benchmark: the scoped event list of a town user against the same rows fetched unscoped.

In one run, on a temporary SQLite file with Yongchuan loaded and N GENERATED events spread over the
23 towns (real catalogue codes, random points inside the generated grids):

* scoped: ``event.service.list_events`` as the town duty officer of 中山路街道 (data scope applied in
  the query: own town, own reports, confidential categories only for the handling chain), limit 10,000;
* bare: ``SELECT event … WHERE town_code = ? ORDER BY reported_at DESC, id DESC LIMIT 10000`` on the
  same table (the same rows, no scope logic, no counting).

Printed: median seconds of 5 runs each; the ratio that counts is scoped / unscoped (the same service
call by the district center with a town filter, returning the same rows). Goal (issue 3): ≤ 1.3×.

    .venv/bin/python bench/access.py              # 230,000 events (about 10,000 in the town)
    .venv/bin/python bench/access.py --n 1000000
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    DISTRICT,
    Stopwatch,
    grids,
    leaf_codes,
    machine,
    migrated_engine,
    points_in_grids,
    table,
    temp_dir,
)

from zhizhi.auth.service import user_actor  # noqa: E402
from zhizhi.core.db import session_scope  # noqa: E402
from zhizhi.event import intake  # noqa: E402
from zhizhi.event import service as event_service  # noqa: E402
from zhizhi.event.models import Event  # noqa: E402
from zhizhi.event.schemas import EventCreate  # noqa: E402

TOWN = "500118001000"  # 中山路街道
GOAL = 1.3


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=230_000, help="events in the district")
    ap.add_argument("--limit", type=int, default=10_000, help="rows the list returns")
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args(argv)
    print(f"bench/access.py  n={a.n:,}  machine: {machine()}")
    rng = np.random.default_rng(a.seed)
    with temp_dir() as d:
        engine = migrated_engine(d / "access.db")
        g = grids(engine)
        secret = {leaf.code for leaf in event_service.catalogue().leaves() if leaf.confidential}
        codes = [c for c in leaf_codes() if c not in secret]  # the same rows for both lists
        idx, lon, lat = points_in_grids(g, a.n, rng)
        cats = rng.choice(codes, a.n)
        placed = [
            (
                EventCreate(category_code=str(cats[i]), title=f"生成事件 {i}"),
                {
                    "district_code": DISTRICT,
                    "town_code": g.towns[idx[i]],
                    "village_code": g.villages[idx[i]],
                    "grid_code": g.codes[idx[i]],
                    "out_of_area": False,
                    "lon": float(lon[i]),
                    "lat": float(lat[i]),
                },
            )
            for i in range(a.n)
        ]
        with session_scope(engine) as s:
            intake.insert_events(s, placed, DISTRICT)
        with session_scope(engine) as s:
            in_town = sum(1 for t in g.towns[idx] if t == TOWN)
            center = user_actor(s, f"{DISTRICT}.duty")
            town_actor = user_actor(s, f"{TOWN}.duty")

            def scoped() -> int:
                _, rows = event_service.list_events(s, town_actor, event_service.EventFilter(), a.limit, 0)
                return len(rows)

            def unscoped() -> int:
                f = event_service.EventFilter(town_code=TOWN)
                _, rows = event_service.list_events(s, center, f, a.limit, 0)
                return len(rows)

            def bare() -> int:
                q = (
                    select(Event)
                    .where(Event.town_code == TOWN)
                    .order_by(Event.reported_at.desc(), Event.id.desc())
                    .limit(a.limit)
                )
                return len(s.scalars(q).all())

            results = {}
            for name, fn in (("bare", bare), ("unscoped", unscoped), ("scoped", scoped)):
                times = []
                for _ in range(5):
                    s.expunge_all()
                    with Stopwatch() as sw:
                        n = fn()
                    times.append(sw.seconds)
                results[name] = (statistics.median(times), n)
    ratio = results["scoped"][0] / results["unscoped"][0]
    bare_s = results["bare"][0]
    returned = ", ".join(f"{k} {v[1]:,}" for k, v in results.items())
    print(f"events in {TOWN} (中山路街道): {in_town:,}; rows returned: {returned}")
    rows = [["run", "median s (5 runs)", "vs unscoped", "vs bare SQL"]]
    for name, label in (
        ("bare", "bare SELECT … WHERE town_code = ? ORDER BY … LIMIT"),
        ("unscoped", "list_events as the district center, town filter (+ total)"),
        ("scoped", "list_events as the town duty officer, data scope (+ total)"),
    ):
        sec = results[name][0]
        rows.append([label, f"{sec:.3f}", f"{sec / results['unscoped'][0]:.2f}x", f"{sec / bare_s:.2f}x"])
    print(table(rows))
    print(f"goal <= {GOAL}x: {'MET' if ratio <= GOAL else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
