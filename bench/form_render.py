"""Benchmark: render a 23-town × 20-indicator form (报表) over N GENERATED residents, against DuckDB
running the same aggregation on the same data in the same run.

What runs, in one process:

1. a temporary SQLite file migrated to head and loaded with Yongchuan (23 towns, 3,157 grids);
2. ``--n`` GENERATED residents (default 100,000; ``--n 1100000`` for Yongchuan's size) written
   directly as identity + version rows (one version each, valid from 2026-01-01, believed now):
   uniform over the grids, ages 0-99 with fewer old people, 51 % male, 3 % 少数民族, 1.5 % moved out
   and 1.5 % deceased during 2026, tags at rough rates (低保 3 %, 特困 0.5 %, 残疾 5 %, 退役军人 4 % of
   men 18+, 高龄 = 80+, 留守儿童 8 % of children under 14). Only reads are measured, so the change log
   is not written (the service's writes are benchmarked in bench/registry_*.py);
3. the form: 23 town rows + 合计 under the district, 20 columns (residents by sex and age band,
   minorities, 低保 by sex / age / disability, 特困, 高龄, 残疾, 退役军人, 留守儿童, deaths in the month),
   declared like a shipped definition and checked by ``form.rules.parse_form``;
4. timed, median of ``--repeat`` runs, each in a fresh session, as the district's system actor,
   ``form.service.compute_form`` (indicators, formulas, checks) with each engine: ``sql`` (one
   aggregate query, form/query.py) and ``snapshot`` (the columnar copy of the committed register,
   form/snapshot.py: first use builds it, then it is warm), the full render (compute + xlsx), and
   the compute right after one committed register change (the copy is updated, not rebuilt);
5. DuckDB (bench-only dependency, never imported by src/): the same rows copied from the SQLite file
   (via CSV) into DuckDB tables of the same names, then **the very SQL statement and parameters the
   form service sent to SQLite** (captured) executed by DuckDB, timed the same way.

Printed: seconds of each, rows/s, the ratio render / DuckDB, and the SQLite query plan.
Goals (issue 4): render < 1 s and ≤ 2 × DuckDB.

    .venv/bin/python bench/form_render.py                # 100,000 residents
    .venv/bin/python bench/form_render.py --n 1100000    # Yongchuan-sized
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
from _common import DISTRICT, Stopwatch, grids, machine, migrated_engine, table
from _common import temp_dir as make_temp_dir
from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from zhizhi.core.db import session_factory
from zhizhi.event.service import system_actor
from zhizhi.form import rules, service, snapshot
from zhizhi.form.render import to_xlsx
from zhizhi.registry.identifiers import check_char

GOAL_S = 1.0
GOAL_RATIO = 2.0
ON = date(2026, 1, 1)
PERIOD, AS_OF = "2026-11", date(2026, 11, 30)

FORM: dict[str, Any] = {
    "id": "bench-town-20",
    "title": "基准测试: 乡镇人口与民政对象统计表 (23 乡镇 × 20 指标)",
    "department": "MZJ",
    "period": "month",
    "rows": "town",
    "source": {"form": "F02", "title": "benchmark form (GENERATED data)",
               "url": "http://yongtai.gov.cn/xjwz/zwgk/zfxxgkzdgz/shjz/shjz/cxdbjz/202302/t20230223_4542094.htm"},
    "columns": [
        {"key": k, "label": label, "value": {"count": "residents", **where}}
        for k, label, where in (
            ("total", "户籍人口", {}),
            ("male", "男", {"sex": "male"}),
            ("female", "女", {"sex": "female"}),
            ("a0", "0-14", {"age": "0-14"}),
            ("a15", "15-59", {"age": "15-59"}),
            ("a60", "60-79", {"age": "60-79"}),
            ("a80", "80+", {"age": "80+"}),
            ("minority", "少数民族", {"minority": True}),
            ("dibao", "低保", {"tags": ["dibao"]}),
            ("dibao_f", "低保女性", {"tags": ["dibao"], "sex": "female"}),
            ("dibao_old", "低保老年人", {"tags": ["dibao"], "age": "60+"}),
            ("dibao_minor", "低保未成年人", {"tags": ["dibao"], "age": "0-17"}),
            ("dibao_dis", "低保残疾人", {"tags": ["dibao", "canji"]}),
            ("tekun", "特困", {"tags": ["tekun"]}),
            ("tekun_old", "特困老年人", {"tags": ["tekun"], "age": "60+"}),
            ("gaoling", "高龄", {"tags": ["gaoling"]}),
            ("canji", "残疾", {"tags": ["canji"]}),
            ("tuiyi", "退役军人", {"tags": ["tuiyi"]}),
            ("liushou", "留守儿童", {"tags": ["liushou"]}),
            ("deaths", "当月死亡", {"status": "deceased", "status_in_period": True}),
        )
    ],
    "checks": [
        {"rule": "total = male + female"},
        {"rule": "total = a0 + a15 + a60 + a80"},
        {"rule": "dibao_f + dibao_dis <= dibao * 2"},
        {"rule": "dibao_old + dibao_minor <= dibao"},
        {"rule": "tekun_old <= tekun"},
        {"rule": "gaoling <= a80"},
    ],
}  # fmt: skip


# --- generated data ----------------------------------------------------------------------------------


def generate(engine: Engine, n: int, seed: int) -> None:
    """Write ``n`` GENERATED residents (identity + one version row each) straight into SQLite."""
    rng = np.random.default_rng(seed)
    g = grids(engine)
    gi = rng.integers(0, len(g.codes), n)
    weights = np.array([1.0] * 60 + [0.8] * 20 + [0.35] * 10 + [0.08] * 10)
    age = rng.choice(100, size=n, p=weights / weights.sum())
    birth = np.array(np.datetime64(ON), dtype="datetime64[D]") - (
        age * 365.25 + rng.integers(1, 365, n)
    ).astype("timedelta64[D]")
    male = rng.random(n) < 0.51
    minority = rng.random(n) < 0.03
    u = rng.random(n)
    status = np.where(u < 0.015, "moved_out", np.where(u < 0.03, "deceased", "active"))
    status_day = np.array(np.datetime64("2026-01-02"), dtype="datetime64[D]") + rng.integers(
        0, 330, n
    ).astype("timedelta64[D]")
    age_now = age  # ages on 2026-01-01; tags are set then
    tags = {
        "dibao": rng.random(n) < 0.03,
        "tekun": (rng.random(n) < 0.005) & (age_now >= 16),
        "canji": rng.random(n) < 0.05,
        "tuiyi": male & (age_now >= 18) & (rng.random(n) < 0.04),
        "gaoling": age_now >= 80,
        "liushou": (age_now < 14) & (rng.random(n) < 0.08),
    }
    names = sorted(tags)
    bits = np.stack([tags[k] for k in names], axis=1)
    tag_text = ["|" + "|".join(k for k, b in zip(names, row, strict=True) if b) + "|" if row.any() else ""
                for row in bits]  # fmt: skip
    births = birth.astype(str)
    order = np.lexsort((np.arange(n), births))
    seq = np.empty(n, dtype=np.int64)
    prev, k = None, 0
    for i in order:
        b = births[i]
        k = k + 1 if b == prev else 1
        prev = b
        seq[i] = 2 * k - (1 if male[i] else 0)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    residents, versions = [], []
    for i in range(n):
        body = f"500118{births[i].replace('-', '')}{seq[i]:03d}"
        cid = body + check_char(body)
        grid = g.codes[gi[i]]
        st = str(status[i])
        residents.append((i + 1, cid, "male" if male[i] else "female", births[i], 1, now))
        died = None if st == "active" else str(status_day[i])
        eth = "15" if minority[i] else "01"
        where = (DISTRICT, g.towns[gi[i]], g.villages[gi[i]], grid)
        versions.append(
            (i + 1, i + 1, "测试", eth, st, died, tag_text[i], ON.isoformat(), None, now, None, *where)
        )
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("PRAGMA synchronous=OFF")
        cur.executemany(
            "INSERT INTO resident (id, citizen_id, sex, birth_date, generated, created_at)"
            " VALUES (?,?,?,?,?,?)",
            residents,
        )
        cur.executemany(
            "INSERT INTO resident_version (id, resident_id, name, ethnicity, status, status_date, tags,"
            " valid_from, valid_to, recorded_at, superseded_at, district_code, town_code, village_code,"
            " grid_code)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            versions,
        )
        raw.commit()
        cur.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()


# --- timing --------------------------------------------------------------------------------------------


def median_time(fn: Any, repeat: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        with Stopwatch() as sw:
            out = fn()
        times.append(sw.seconds)
    return statistics.median(times), out


def duckdb_copy(db: Path, work: Path) -> Any:
    """The resident tables of the SQLite file ``db`` copied (through CSV) into an in-memory DuckDB."""
    import sqlite3

    import duckdb

    con = duckdb.connect()
    src = sqlite3.connect(db)
    specs = {
        "resident": "id BIGINT, citizen_id VARCHAR, sex VARCHAR, birth_date DATE, generated BOOLEAN, "
        "created_at TIMESTAMP",
        "resident_version": "id BIGINT, resident_id BIGINT, name VARCHAR, ethnicity VARCHAR, phone VARCHAR, "
        "household_id BIGINT, relation VARCHAR, status VARCHAR, status_date DATE, tags VARCHAR, "
        "valid_from DATE, valid_to DATE, recorded_at TIMESTAMP, superseded_at TIMESTAMP, address VARCHAR, "
        "district_code VARCHAR, town_code VARCHAR, village_code VARCHAR, grid_code VARCHAR",
    }  # fmt: skip
    for name, cols in specs.items():
        names = [c.split()[0] for c in cols.split(", ")]
        path = work / f"{name}.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            for row in src.execute(f"SELECT {', '.join(names)} FROM {name}"):
                w.writerow(["" if v is None else v for v in row])
        con.execute(f"CREATE TABLE {name} ({cols})")
        types = {c.split()[0]: c.split()[1] for c in cols.split(", ")}
        con.execute(
            f"INSERT INTO {name} SELECT * FROM read_csv(?, header=false, columns=?, nullstr='', quote='\"')",
            [str(path), types],
        )
    src.close()
    return con


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000, help="generated residents (default 100,000)")
    ap.add_argument("--repeat", type=int, default=5, help="runs per measurement (median)")
    ap.add_argument("--seed", type=int, default=4)
    args = ap.parse_args()
    print(f"machine: {machine()}")
    form = rules.parse_form(FORM, "bench/form_render.py", service.context())
    actor = system_actor(DISTRICT)
    with make_temp_dir() as tmp:
        db = tmp / "bench.db"
        with Stopwatch() as sw:
            engine = migrated_engine(db)
        print(f"set-up: migrated + Yongchuan loaded in {sw.seconds:.1f} s")
        with Stopwatch() as sw:
            generate(engine, args.n, args.seed)
        print(f"generated {args.n:,} residents (identity + version rows) in {sw.seconds:.1f} s")

        captured: list[tuple[str, Any]] = []

        def capture(
            conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
        ) -> None:
            if "FILTER (WHERE" in statement and "resident_version" in statement:
                captured.append((statement, parameters))

        def compute(engine_: str) -> rules.FormResult:
            with session_factory(engine)() as s:
                return service.compute_form(s, actor, form, DISTRICT, PERIOD, AS_OF, engine=engine_)

        def render() -> bytes:
            return to_xlsx(compute("auto"), tag_labels=service.context().tags)

        event.listen(engine, "before_cursor_execute", capture)
        t_sql_cold, ref = median_time(lambda: compute("sql"), 1)  # the first read of the file's pages
        event.remove(engine, "before_cursor_execute", capture)
        t_sql, _ = median_time(lambda: compute("sql"), args.repeat)
        snapshot.clear()
        t_build, result = median_time(lambda: compute("snapshot"), 1)  # builds the columnar copy
        t_snap, result = median_time(lambda: compute("snapshot"), args.repeat)
        t_render, data = median_time(render, args.repeat)
        t_change = one_change(engine, actor)
        t_after, _ = median_time(lambda: compute("snapshot"), 1)  # applies the change to the copy
        statement, params = captured[0]
        raw = engine.raw_connection()
        try:
            plan = [r[-1] for r in raw.cursor().execute(f"EXPLAIN QUERY PLAN {statement}", params)]
        finally:
            raw.close()
        assert result is not None and ref is not None
        engines_agree = [r.values for r in result.rows] == [r.values for r in ref.rows]
        total = result.rows[0].values
        fails = result.failures
        with Stopwatch() as sw:
            con = duckdb_copy(db, tmp)
        print(f"DuckDB: same rows copied in {sw.seconds:.1f} s (not timed below)")
        import duckdb

        duck_rows = con.execute(statement, list(params)).fetchall()
        t_duck, _ = median_time(lambda: con.execute(statement, list(params)).fetchall(), args.repeat)
        sqlite_rows = sorted(
            (str(r[0]), *[int(x) for x in r[1:]]) for r in _sqlite_rows(db, statement, params)
        )
        same = sorted((str(r[0]), *[int(x) for x in r[1:]]) for r in duck_rows) == sqlite_rows

    def line(label: str, sec: float) -> list[str]:
        return [label, f"{sec:.3f}", f"{args.n / sec:,.0f}", f"{sec / t_duck:.1f}×"]

    rows = [
        ["measure", "seconds", "residents/s", "vs DuckDB"],
        line("SQL engine, first run (cold file)", t_sql_cold),
        line("SQL engine (query.py)", t_sql),
        line("snapshot: build the copy (first use)", t_build),
        line("snapshot: compute (warm)", t_snap),
        line("render = compute (auto) + xlsx", t_render),
        line(f"snapshot after 1 committed change ({t_change * 1000:.0f} ms write)", t_after),
        line(f"DuckDB {duckdb.__version__}, the SQL engine's statement", t_duck),
    ]
    print()
    print(table(rows))
    print()
    print(
        f"form: {len(result.rows) - 1} town rows + 合计, {len(form.columns)} indicators; "
        f"合计 户籍人口 {total[0]:,}, 低保 {total[8]:,}; checks failed: {len(fails)}; "
        f"xlsx {len(data):,} bytes"
    )
    print(f"DuckDB returned the same numbers as SQLite: {same}; snapshot = SQL engine: {engines_agree}")
    print("SQLite plan: " + " | ".join(plan))
    ok_time, ok_ratio = t_render < GOAL_S, t_render <= GOAL_RATIO * t_duck
    print(
        f"goal render < {GOAL_S:.0f} s: {'met' if ok_time else 'NOT met'}; "
        f"goal ≤ {GOAL_RATIO:.0f}× DuckDB: {'met' if ok_ratio else 'NOT met'} ({t_render / t_duck:.1f}×)"
    )
    return 0 if same and engines_agree and not fails else 1


def one_change(engine: Engine, actor: Any) -> float:
    """Register one GENERATED 低保 resident through the registry service and commit; returns seconds.
    (The bench's rows have no change log, so a new person is added rather than one updated.)"""
    from zhizhi.registry import service as registry

    with session_factory(engine)() as s:
        grid = s.execute(text("SELECT grid_code FROM resident_version WHERE id = 7")).scalar_one()
        body = "500118" + "19550505" + "999"
        with Stopwatch() as sw:
            registry.upsert_resident(
                s, actor, {"citizen_id": body + check_char(body), "name": "新测试", "grid_code": grid,
                           "tags": ["dibao"], "generated": True}, "dept:MZJ", valid_from=date(2026, 11, 15),
            )  # fmt: skip
            s.commit()
    return sw.seconds


def _sqlite_rows(db: Path, statement: str, params: Any) -> list[Any]:
    import sqlite3

    con = sqlite3.connect(db)
    try:
        return con.execute(statement, params).fetchall()
    finally:
        con.close()


if __name__ == "__main__":
    sys.exit(main())
