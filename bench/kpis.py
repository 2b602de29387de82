"""Benchmark: KPIs (核心绩效) and rankings (赛马比拼) over many events, against a bare GROUP BY.

What runs, in one process and one run:

1. a temporary SQLite file migrated to head and loaded with Yongchuan;
2. ``--n`` GENERATED events inserted directly (bulk, DB-API executemany; the secondary indexes are
   dropped for the load and re-created after, so the table ends with exactly the migrated schema):
   points uniform inside Yongchuan's 3,157 generated grids (so over all 23 towns), real catalogue
   leaves routed to their default unit (a district department, or the town's center for 属地
   categories), reported uniformly over 2025-01-01 .. 2026-06-30 (Asia/Shanghai), and loop facts with
   realistic shares: 5 % not accepted, 8 % returned once and 2 % twice (回退), 90 % of dispatched
   handled, 92 % of handled closed, 5 % reworked (返工), 12 % ever overdue, 1 % parked, 60 % of closed
   evaluated, 0.5 % drills and 1 % merged duplicates (both excluded by the KPIs);
3. timed (median of ``--repeat`` runs, each in a fresh session): ``ops.service.kpis`` by town and by
   department for the period 2025 and for all time, and ``ops.service.rankings`` of towns and of
   departments for 2025, as the district's system actor;
4. baseline: ``SELECT town_code, count(*) FROM event GROUP BY town_code`` on the same table, same run.

Printed: seconds of each, the ratio to the baseline, and the SQLite query plan of the KPI query.
Goal: each KPI/ranking call < 1 s at 1,000,000 events.

    .venv/bin/python bench/kpis.py               # 1,000,000 events
    .venv/bin/python bench/kpis.py --n 200000
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np
from _common import DISTRICT, Stopwatch, grids, machine, migrated_engine, points_in_grids, table
from _common import temp_dir as make_temp_dir
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from zhizhi.core.db import session_factory
from zhizhi.core.time import LOCAL_TZ
from zhizhi.event import service as event_service
from zhizhi.event.rules import Node
from zhizhi.ops import service as ops
from zhizhi.org.service import TOWN_CENTER_SUFFIX

GOAL_S = 1.0
START = datetime(2025, 1, 1, tzinfo=LOCAL_TZ)
END = datetime(2026, 7, 1, tzinfo=LOCAL_TZ)
US = np.timedelta64(1, "us")


def _ts(a: np.ndarray, mask: np.ndarray | None = None) -> list[str | None]:
    """datetime64[us] (UTC) → the strings SQLAlchemy stores on SQLite (``YYYY-MM-DD HH:MM:SS.ffffff``);
    None where ``mask`` is False."""
    s = np.datetime_as_string(a, unit="us")
    out: list[str | None] = [x[:10] + " " + x[11:] for x in s.tolist()]
    if mask is not None:
        for i in np.nonzero(~mask)[0].tolist():
            out[i] = None
    return out


def _opt(a: np.ndarray, mask: np.ndarray) -> list[Any]:
    """Values of ``a`` as Python objects, None where ``mask`` is False."""
    out: list[Any] = a.tolist()
    for i in np.nonzero(~mask)[0].tolist():
        out[i] = None
    return out


def generate(engine: Engine, n: int, seed: int) -> dict[str, list[Any]]:
    """Columns of ``n`` GENERATED events with loop facts (see module docstring), ids 1..n."""
    rng = np.random.default_rng(seed)
    g = grids(engine)
    gi, lon, lat = points_in_grids(g, n, rng)
    leaves = event_service.catalogue().leaves()
    ci = rng.integers(0, len(leaves), n)
    cat_codes = np.array([lf.code for lf in leaves], dtype=object)[ci]
    towns = g.towns[gi]
    default_unit = np.array([lf.default_unit for lf in leaves], dtype=object)[ci]
    units = np.where(default_unit == "town", towns + f"-{TOWN_CENTER_SUFFIX}",
                     f"{DISTRICT}-" + default_unit.astype(str).astype(object))
    mode = np.where(default_unit == "town", "vertical", "horizontal")
    urgency = np.array([lf.urgency for lf in leaves], dtype=object)[ci]

    t0 = np.datetime64(START.astimezone(UTC).replace(tzinfo=None), "us")
    span_us = int((END - START).total_seconds() * 1e6)
    reported = t0 + rng.integers(0, span_us, n) * US

    def hours(mean: float) -> np.ndarray:
        return (rng.exponential(mean, n) * 3600e6).astype(np.int64) * US

    u = rng.random((12, n))
    accepted = u[0] >= 0.05
    registered_at = reported + hours(0.3)
    dispatched_at = registered_at + hours(0.5)
    dispatched = accepted & (u[1] < 0.97)
    returns = np.where(u[2] < 0.02, 2, np.where(u[2] < 0.10, 1, 0)) * dispatched
    handled = dispatched & (u[3] < 0.90)
    handle_h = rng.exponential(30.0, n)
    handled_at = dispatched_at + (handle_h * 3600e6).astype(np.int64) * US
    rework = (handled & (u[4] < 0.05)).astype(int)
    closed = handled & (u[5] < 0.92)
    closed_at = handled_at + hours(8.0) + rework * hours(24.0)
    evaluated = closed & (u[6] < 0.60)
    satisfaction = rng.choice([1, 2, 3, 4, 5], n, p=[0.03, 0.04, 0.13, 0.30, 0.50])
    parked = dispatched & ~handled & (u[7] < 0.10)  # ≈1 % of all
    ever_overdue = u[8] < 0.12
    drill = u[9] < 0.005
    merged = ~drill & (u[10] < 0.01) & (np.arange(n) > 0)
    merged_into = np.maximum(1, (np.arange(1, n + 1) * rng.random(n)).astype(np.int64))

    node = np.full(n, Node.REGISTERED.value, dtype=object)
    node[dispatched] = Node.SIGNED.value
    node[parked] = Node.PARKED.value
    node[handled] = Node.HANDLED.value
    node[closed] = Node.CLOSED.value
    node[evaluated] = Node.EVALUATED.value
    node[~accepted] = Node.REJECTED.value
    node[merged] = Node.MERGED.value
    entered = np.where(closed, closed_at, np.where(handled, handled_at,
                                                  np.where(dispatched, dispatched_at, registered_at)))
    open_now = ~closed & accepted & ~merged

    return {
        "id": list(range(1, n + 1)),
        "source": ["hotline_import"] * n,
        "external_id": [f"BENCH-{i:07d}" for i in range(n)],
        "category_code": cat_codes.tolist(),
        "title": [f"生成事件 {i}" for i in range(n)],
        "description": [""] * n,
        "lon": lon.round(6).tolist(), "lat": lat.round(6).tolist(),
        "location_generated": [1] * n, "out_of_area": [0] * n,
        "district_code": [DISTRICT] * n,
        "town_code": towns.tolist(), "village_code": g.villages[gi].tolist(),
        "grid_code": g.codes[gi].tolist(),
        "urgency": urgency.tolist(),
        "node": node.tolist(), "unit_code": units.tolist(), "dispatch_mode": mode.tolist(),
        "reported_at": _ts(reported),
        "accepted_at": _ts(reported + hours(0.2), accepted),
        "registered_at": _ts(registered_at, accepted),
        "dispatched_at": _ts(dispatched_at, dispatched),
        "signed_at": _ts(dispatched_at + hours(0.5), dispatched),
        "handled_at": _ts(handled_at, handled),
        "verified_at": _ts(closed_at - hours(1.0), closed),
        "closed_at": _ts(closed_at, closed),
        "evaluated_at": _ts(closed_at + hours(24.0), evaluated),
        "node_seq": (1 + accepted * 2 + dispatched * 2 + handled * 2 + closed * 2 + returns * 2).tolist(),
        "node_entered_at": _ts(entered),
        "node_limit": ["0.5 continuous"] * n,
        "due_soon": [0] * n,
        "overdue": (ever_overdue & open_now).astype(int).tolist(),
        "ever_overdue": ever_overdue.astype(int).tolist(),
        "supervised": ever_overdue.astype(int).tolist(),
        "parked": parked.astype(int).tolist(),
        "escalation_level": ever_overdue.astype(int).tolist(),
        "merged_into_id": _opt(merged_into, merged),
        "registered_on_time": _opt((u[11] < 0.95).astype(int), accepted),
        "handled_on_time": _opt((handle_h < 48).astype(int), handled),
        "closed_on_time": _opt((~ever_overdue).astype(int), closed),
        "dispatch_count": (dispatched * (1 + returns)).tolist(),
        "return_count": returns.tolist(),
        "rework_count": rework.tolist(),
        "reopen_count": [0] * n,
        "extension_pending": [0] * n,
        "handle_hours": _opt(handle_h.round(3), handled),
        "satisfaction": _opt(satisfaction, evaluated),
        "colour": np.where(ever_overdue & open_now, "red", "green").tolist(),
        "is_drill": drill.astype(int).tolist(),
        "version": [1] * n,
    }


def bulk_insert(engine: Engine, cols: dict[str, list[Any]], chunk: int = 100_000) -> None:
    """Insert the generated columns with DB-API executemany; the event table's secondary indexes are
    dropped for the load and re-created from their stored SQL after (same final schema)."""
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cache = cur.execute("PRAGMA cache_size").fetchone()[0]
        cur.execute("PRAGMA cache_size=-262144")  # load only; restored below (the connection is pooled)
        indexes = cur.execute("SELECT name, sql FROM sqlite_master WHERE type='index' AND tbl_name='event' "
                              "AND sql IS NOT NULL").fetchall()
        for name, _ in indexes:
            cur.execute(f'DROP INDEX "{name}"')
        names = list(cols)
        sql = f"INSERT INTO event ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
        n = len(cols["id"])
        for start in range(0, n, chunk):
            cur.executemany(sql, list(zip(*(cols[c][start:start + chunk] for c in names), strict=True)))
        for _, create in indexes:
            cur.execute(create)
        raw.commit()
        cur.execute(f"PRAGMA cache_size={int(cache)}")
        cur.close()
    finally:
        raw.close()


def timed(engine: Engine, fn: Callable[[Session], Any], repeat: int) -> tuple[float, Any]:
    """Median seconds of ``repeat`` calls of ``fn(session)``, each in a fresh session; and the last result."""
    times, out = [], None
    for _ in range(repeat):
        with session_factory(engine)() as s, Stopwatch() as sw:
            out = fn(s)
        times.append(sw.seconds)
    return statistics.median(times), out


def query_plan(engine: Engine, fn: Callable[[Session], Any]) -> list[str]:
    """SQLite's EXPLAIN QUERY PLAN of the event aggregate that ``fn`` runs (captured, then explained)."""
    seen: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
        if "FROM event" in statement and "GROUP BY" in statement:
            seen.append((statement, params))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        with session_factory(engine)() as s:
            fn(s)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    if not seen:
        return []
    raw = engine.raw_connection()
    try:
        return [r[3] for r in raw.cursor().execute("EXPLAIN QUERY PLAN " + seen[0][0], seen[0][1]).fetchall()]
    finally:
        raw.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="number of events (full size: 1,000,000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3, help="runs per measured call (median reported)")
    a = ap.parse_args(argv)
    print(f"bench/kpis.py  n={a.n:,}  machine: {machine()}")
    with make_temp_dir() as d:
        with Stopwatch() as sw:
            eng = migrated_engine(d / "kpis.db")
        print(f"set-up: migrated + Yongchuan loaded in {sw.seconds:.1f} s")
        with Stopwatch() as sw:
            cols = generate(eng, a.n, a.seed)
        print(f"generated {a.n:,} events in {sw.seconds:.1f} s")
        with Stopwatch() as sw:
            bulk_insert(eng, cols)
        del cols
        print(f"bulk-inserted (indexes re-created) in {sw.seconds:.1f} s")

        actor = event_service.system_actor(DISTRICT)
        calls: list[tuple[str, Callable[[Session], Any]]] = [
            ("kpis(period='2025', by='town')", lambda s: ops.kpis(s, actor, "2025", by="town")),
            ("kpis(period='2025', by='department')", lambda s: ops.kpis(s, actor, "2025", by="department")),
            ("kpis(period=None, by='town')", lambda s: ops.kpis(s, actor, None, by="town")),
            ("kpis(period='2025-06', by='town')", lambda s: ops.kpis(s, actor, "2025-06", by="town")),
            ("rankings(period='2025', kind='town')", lambda s: ops.rankings(s, actor, "2025", kind="town")),
            ("rankings(period='2025', kind='department')",
             lambda s: ops.rankings(s, actor, "2025", kind="department")),
        ]
        base_sql = text("SELECT town_code, count(*) FROM event GROUP BY town_code")
        t_base, base_rows = timed(eng, lambda s: s.execute(base_sql).all(), a.repeat)
        results = [(label, *timed(eng, fn, a.repeat)) for label, fn in calls]
        t_base2, _ = timed(eng, lambda s: s.execute(base_sql).all(), a.repeat)
        t_base = min(t_base, t_base2)  # measured before and after; the faster (warm) one is the baseline

        rows = [("call", "rows", "seconds", "ratio to bare", "goal < 1 s")]
        rows.append(("bare SELECT town_code, count(*) … GROUP BY town_code", str(len(base_rows)),
                     f"{t_base:.3f}", "1.00x", ""))
        for label, t, out in results:
            rows.append((label, str(len(out["rows"])), f"{t:.3f}", f"{t / t_base:.2f}x",
                         "MET" if t < GOAL_S else "MISSED"))
        print()
        print(table(rows))
        town = results[0][2]
        tot = town["total"]["counts"]
        print(f"\n2025 by town: reported {tot['reported']:,}, closed {tot['closed']:,}, "
              f"returned {tot['returned']:,}, reworked {tot['reworked']:,}, overdue {tot['overdue']:,}; "
              f"on-time close rate {town['total']['rates']['ontime_close_rate']}")
        print("top 3 towns 2025:", ", ".join(f"{r['rank']}. {r['name']} {r['score']}"
                                             for r in results[4][2]["rows"][:3]))
        print("\nquery plan of kpis(period='2025', by='town'):")
        for line in query_plan(eng, calls[0][1]):
            print("  " + line)
        print("query plan of kpis(period=None, by='town'):")
        for line in query_plan(eng, calls[2][1]):
            print("  " + line)
        eng.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
