"""Benchmark: bulk intake (批量导入) with placement and routing, against a bare executemany INSERT.

What runs, all in one process and one run:

1. a temporary SQLite file migrated to head and loaded with Yongchuan (towns, villages, 3,157
   generated grids, staff);
2. a GENERATED CSV of ``--n`` events: real catalogue leaf codes (uniform over the 113 leaves), points
   uniform inside Yongchuan's generated grids, titles ``生成事件 i``, reported within the last 30 days,
   one external id each;
3. ``zhizhi.event.intake.import_file`` on that CSV, committed: read + validate (pydantic) + place
   (vectorised point-in-polygon at district, town, village and grid level) + route (权属配置) +
   deadline + insert events and their ``report`` timeline rows;
4. baseline: the same event rows (read back from step 3, every column but ``id``) inserted with a
   bare DB-API ``executemany`` into the ``event`` table of a second freshly migrated SQLite file
   (same schema, indexes and pragmas), committed.

Printed: events/s of each and the ratio import/bare. Goals: >= 20,000 events/s and <= 3x bare.
``--profile`` adds a cProfile run of the import and prints where the time goes.

    .venv/bin/python bench/intake.py            # 200,000 events
    .venv/bin/python bench/intake.py --n 1000000
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import io
import pstats
import sqlite3
import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from _common import DISTRICT, Stopwatch, grids, leaf_codes, machine, migrated_engine, points_in_grids, table
from _common import temp_dir as make_temp_dir
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from zhizhi.core.db import session_scope
from zhizhi.event.intake import import_file
from zhizhi.event.models import Event, EventStep

GOAL_RATE = 20_000.0
GOAL_RATIO = 3.0


def write_csv(path: Path, engine: Engine, n: int, seed: int) -> None:
    """Write ``n`` GENERATED events as an import CSV (see module docstring)."""
    rng = np.random.default_rng(seed)
    g = grids(engine)
    _, lon, lat = points_in_grids(g, n, rng)
    codes = leaf_codes()
    cat = rng.integers(0, len(codes), n)
    now = datetime.now().replace(microsecond=0)
    secs = rng.integers(0, 30 * 86400, n)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["category_code", "title", "lon", "lat", "reported_at", "external_id"])
        for i in range(n):
            w.writerow([codes[cat[i]], f"生成事件 {i}", f"{lon[i]:.6f}", f"{lat[i]:.6f}",
                        (now - timedelta(seconds=int(secs[i]))).isoformat(), f"BENCH-{i:07d}"])


def run_import(engine: Engine, path: Path) -> tuple[float, int]:
    """Import ``path`` into ``engine`` (one transaction, committed); returns (seconds, events)."""
    with Stopwatch() as sw, session_scope(engine) as s:
        res = import_file(s, path, DISTRICT)
    return sw.seconds, res.imported


def event_columns(con: sqlite3.Connection) -> list[str]:
    return [r[1] for r in con.execute("PRAGMA table_info(event)") if r[1] != "id"]


def run_bare(src: Path, dst_engine: Engine) -> tuple[float, int]:
    """Bare executemany of the event rows of ``src`` into the (empty) event table behind ``dst_engine``.

    The rows are read first (untimed) as the stored values, so the timed part is only the INSERT and
    the commit."""
    with sqlite3.connect(src) as con:
        cols = event_columns(con)
        rows = con.execute(f"SELECT {', '.join(cols)} FROM event ORDER BY id").fetchall()
    raw = dst_engine.raw_connection()  # same pragmas as the app (WAL, synchronous=NORMAL, FKs on)
    try:
        cur = raw.cursor()
        sql = f"INSERT INTO event ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        with Stopwatch() as sw:
            cur.executemany(sql, rows)
            raw.commit()
        cur.close()
    finally:
        raw.close()
    return sw.seconds, len(rows)


def profile_import(engine: Engine, path: Path, top: int) -> None:
    """Run the import under cProfile and print the stages' cumulative times and the top functions."""
    prof = cProfile.Profile()
    with session_scope(engine) as s:
        prof.enable()
        import_file(s, path, DISTRICT)
        prof.disable()
    st = pstats.Stats(prof)
    stats = st.stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in stats.values())

    def cum(name: str, file_part: str = "") -> float:
        return sum(v[3] for (f, _, fn), v in stats.items() if fn == name and file_part in f)

    execute = cum("execute", "orm/session.py")
    events_insert = cum("_insert_returning_ids", "intake")
    stages = [
        ("read_rows (CSV parse)", cum("read_rows", "intake")),
        ("EventCreate.model_validate (pydantic)", cum("model_validate")),
        ("_drop_existing (external_id already imported?)", cum("_drop_existing", "intake")),
        ("_place (point-in-polygon + area dicts)", cum("_place", "intake")),
        ("  PointLocator.locate_many (4 levels)", cum("locate_many")),
        ("insert_events", cum("insert_events", "intake")),
        ("  Router.route", cum("route", "zhizhi/event/")),
        ("  ztime.deadline", cum("deadline", "core/time.py")),
        ("  INSERT event (_insert_returning_ids)", events_insert),
        ("  INSERT event_step (Session.execute)", execute - events_insert),
        ("    of which sqlite3 C execute/executemany", cum("<method 'execute' of 'sqlite3.Cursor' objects>")
         + cum("<method 'executemany' of 'sqlite3.Cursor' objects>")),
        ("    of which UTCDateTime.process_bind_param", cum("process_bind_param", "core/db.py")),
    ]
    print(f"\ncProfile of import_file (profiled total {total:.2f} s of CPU in Python functions; "
          "profiling slows the run, read the shares):")
    print(table([("stage", "cumulative s")] + [(k, f"{v:.2f}") for k, v in stages]))
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(top)
    print(f"\ntop {top} functions by own time:")
    print("\n".join(out.getvalue().splitlines()[6:]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=200_000, help="number of events (full size: 1,000,000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--profile", action="store_true", help="also profile the import (cProfile)")
    ap.add_argument("--top", type=int, default=25, help="functions listed by --profile")
    a = ap.parse_args(argv)
    print(f"bench/intake.py  n={a.n:,}  machine: {machine()}")
    with make_temp_dir() as d:
        with Stopwatch() as sw:
            eng = migrated_engine(d / "import.db")
        print(f"set-up: migrated + Yongchuan loaded in {sw.seconds:.1f} s")
        csv_path = d / "events.csv"
        with Stopwatch() as sw:
            write_csv(csv_path, eng, a.n, a.seed)
        print(f"generated CSV ({csv_path.stat().st_size / 1e6:.0f} MB) in {sw.seconds:.1f} s")

        t_imp, n_imp = run_import(eng, csv_path)
        with session_scope(eng) as s:
            n_ev = s.scalar(select(func.count()).select_from(Event))
            n_st = s.scalar(select(func.count()).select_from(EventStep))
            routed = s.scalar(
                select(func.count()).select_from(Event).where(Event.suggested_unit_code.is_not(None)))
            placed = s.scalar(select(func.count()).select_from(Event).where(Event.grid_code.is_not(None)))
        assert n_imp == n_ev == n_st == a.n, (n_imp, n_ev, n_st)
        eng.dispose()

        bare_eng = migrated_engine(d / "bare.db", load=False)
        t_bare, n_bare = run_bare(d / "import.db", bare_eng)
        bare_eng.dispose()
        assert n_bare == a.n

        rate_imp, rate_bare = n_imp / t_imp, n_bare / t_bare
        ratio = t_imp / t_bare
        print(f"\nimported {n_imp:,} events (+{n_st:,} timeline rows); placed in a grid: {placed:,}; "
              f"routed: {routed:,}")
        print(table([
            ("run", "events", "seconds", "events/s", "ratio"),
            ("import_file (validate+place+route+insert)", f"{n_imp:,}", f"{t_imp:.2f}", f"{rate_imp:,.0f}",
             f"{ratio:.2f}x"),
            ("bare executemany INSERT into event", f"{n_bare:,}", f"{t_bare:.2f}", f"{rate_bare:,.0f}",
             "1.00x"),
        ]))
        ok_rate, ok_ratio = rate_imp >= GOAL_RATE, ratio <= GOAL_RATIO
        print(f"goal >= {GOAL_RATE:,.0f} events/s: {'MET' if ok_rate else 'MISSED'}; "
              f"goal <= {GOAL_RATIO:g}x bare: {'MET' if ok_ratio else 'MISSED'}")

        if a.profile:
            peng = migrated_engine(d / "profile.db")
            profile_import(peng, csv_path, a.top)
            peng.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
