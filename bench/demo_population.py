"""Benchmark: the GENERATED demo population (``zhizhi demo population``).

What runs, in one process:

1. a temporary SQLite file migrated to head and loaded with Yongchuan (org tree, 3,157 grids);
2. generation in memory of ``--generate`` people (default 1,100,000, Yongchuan-sized) exactly as the
   loader does it: shared among the 23 towns, one ``registry.demo.generate`` call per town. Timed,
   with the peak resident memory of the process;
3. load of ``--n`` people (default 100,000) through the registry service
   (``registry.demo_load.load_population``: chunks of 5,000 residents, the set-based bulk upserts,
   one commit per town), timed; the rows written are counted back from the database;
4. the same load with one upsert per row (``bulk=False``) for ``--per-row-n`` people (default
   2,000) in a fresh database, to give the ratio of the two write paths.

Printed: seconds, people per second, and the estimated time of a full Yongchuan load
(1,148,896 people) by each path, extrapolated linearly from the measured rate.

    .venv/bin/python bench/demo_population.py
    .venv/bin/python bench/demo_population.py --generate 200000 --n 20000 --per-row-n 500
"""

from __future__ import annotations

import argparse
import resource
import sys
from datetime import date

from _common import DISTRICT, Stopwatch, machine, migrated_engine, table
from _common import temp_dir as make_temp_dir
from sqlalchemy import func, select

from zhizhi.core.db import session_factory
from zhizhi.registry import demo, demo_load
from zhizhi.registry.models import House, Household, Resident

ON = date(2026, 1, 1)
YONGCHUAN = 1_148_896


def _generate(engine: object, n: int) -> tuple[float, int]:
    with session_factory(engine)() as s:  # type: ignore[arg-type]
        towns = demo_load._towns(s, DISTRICT)
    sizes, k = demo_load.town_sizes(towns, n)
    people = 0
    with Stopwatch() as sw:
        for t in towns:
            pre = range(1 + 4 * t.index, 5 + 4 * t.index)
            pop = demo.generate(
                sizes[t.code], demo_load._grids(t, k, "重庆市永川区"), seed=t.index, on=ON, prefixes=pre
            )
            people += len(pop.residents)
            del pop
    return sw.seconds, people


def _load(engine: object, n: int, bulk: bool) -> tuple[float, dict[str, int], str]:
    s = session_factory(engine)()  # type: ignore[arg-type]
    try:
        with Stopwatch() as sw:
            r = demo_load.load_population(s, size=n, on=ON, town_done=s.commit, bulk=bulk)
            s.commit()
        counts = {
            name: s.scalar(select(func.count()).select_from(m).where(m.generated.is_(True))) or 0
            for name, m in (("residents", Resident), ("households", Household), ("houses", House))
        }
    finally:
        s.close()
    return sw.seconds, counts, r.mode


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--generate", type=int, default=1_100_000, help="people generated in memory")
    ap.add_argument("--n", type=int, default=100_000, help="people loaded through the bulk upserts")
    ap.add_argument("--per-row-n", type=int, default=2_000, help="people loaded one upsert per row")
    a = ap.parse_args(argv)
    print(f"machine: {machine()}")
    rows = [["step", "people", "seconds", "people/s", f"est. {YONGCHUAN:,} people"]]
    with make_temp_dir() as d:
        engine = migrated_engine(d / "gen.db")
        secs, people = _generate(engine, a.generate)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rows.append(["generate in memory (23 towns)", f"{people:,}", f"{secs:.1f}", f"{people / secs:,.0f}",
                     f"{YONGCHUAN / people * secs:.0f} s"])  # fmt: skip
        print(f"peak resident memory after generation: {peak:,.0f} MB")
        engine.dispose()
        engine = migrated_engine(d / "bulk.db")
        secs, counts, mode = _load(engine, a.n, bulk=True)
        done = counts["residents"]
        rows.append([f"load through the service ({mode})", f"{done:,}", f"{secs:.1f}", f"{done / secs:,.0f}",
                     f"{YONGCHUAN / done * secs / 60:.1f} min"])  # fmt: skip
        print(f"bulk load wrote {counts}")
        engine.dispose()
        if a.per_row_n:
            engine = migrated_engine(d / "rows.db")
            secs_r, counts_r, mode_r = _load(engine, a.per_row_n, bulk=False)
            done_r = counts_r["residents"]
            rows.append([f"load through the service ({mode_r})", f"{done_r:,}", f"{secs_r:.1f}",
                         f"{done_r / secs_r:,.0f}",
                         f"{YONGCHUAN / done_r * secs_r / 60:.0f} min"])  # fmt: skip
            engine.dispose()
            ratio = (secs_r / counts_r["residents"]) / (secs / counts["residents"])
            print(f"per-row / bulk time per person: {ratio:.1f}x")
    print(table(rows))


if __name__ == "__main__":
    main(sys.argv[1:])
