"""Benchmark: the register's bulk write path (service.bulk_upsert_residents) against the per-row path
(service.upsert_resident), on GENERATED residents.

In one run, on a temporary SQLite file with Yongchuan loaded (towns, villages, generated grids):

* N GENERATED residents (default 100,000): citizen IDs with the 永川区 prefix 500118, random birth
  dates 1930-2020 and sequence numbers, a valid GB 11643 check character; "测试" names; phones in the
  138-0000 block; grids drawn uniformly among Yongchuan's grids; 5% carry a tag (低保/残疾); all
  flagged ``generated``. They belong to nobody.
* **initial import**: all N new, through ``bulk_upsert_residents`` in calls of ``--call`` rows (as an
  importer would), as the system actor, source ``import:bench-hukou``;
* **re-import** (a later month's file of another feed): the same N people with a new phone (the field
  was empty: applied) and for 1% a different name (another source's value: a conflict), through
  ``bulk_upsert_residents`` again, source ``import:bench-phones``;
* **per-row path**: ``upsert_resident`` on a sample (``--sample`` rows of each kind), timed and
  scaled to N (its cost per row does not depend on N: a few indexed queries per row).

Printed: wall and CPU seconds (CPU time is the steadier figure on a shared machine), rows/s, and
the growth of the process's peak resident memory (ru_maxrss) during each bulk phase; the ratio of
bulk to per-row rows per CPU second.

    .venv/bin/python bench/registry_bulk.py              # 100,000 residents
    .venv/bin/python bench/registry_bulk.py --n 20000 --sample 1000
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Stopwatch, grids, machine, migrated_engine, table, temp_dir  # noqa: E402

from zhizhi.core.db import session_scope  # noqa: E402
from zhizhi.event.service import system_actor  # noqa: E402
from zhizhi.registry import service  # noqa: E402
from zhizhi.registry.identifiers import check_char  # noqa: E402
from zhizhi.registry.models import RegisterConflict, Resident, ResidentVersion  # noqa: E402

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"


def generated_people(n: int, grid_codes: np.ndarray, rng: np.random.Generator) -> list[dict[str, Any]]:
    """``n`` GENERATED residents with distinct citizen IDs (see the module docstring)."""
    days = (date(2020, 12, 31) - date(1930, 1, 1)).days
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    while len(out) < n:
        k = n - len(out)
        births = rng.integers(0, days, k)
        seqs = rng.integers(0, 1000, k)
        cells = rng.integers(0, len(grid_codes), k)
        tagged = rng.random(k)
        for b, q, c, t in zip(births, seqs, cells, tagged, strict=True):
            birth = date.fromordinal(date(1930, 1, 1).toordinal() + int(b))
            body = f"500118{birth:%Y%m%d}{int(q):03d}"
            cid = body + check_char(body)
            if cid in seen:
                continue
            seen.add(cid)
            row: dict[str, Any] = {
                "citizen_id": cid,
                "name": SURNAMES[len(out) % len(SURNAMES)] + "测试",
                "grid_code": str(grid_codes[c]),
                "generated": True,
            }
            if t < 0.05:
                row["tags"] = ["dibao" if t < 0.03 else "canji"]
            out.append(row)
    return out


def peak_mb() -> float:
    """The process's peak resident memory so far, MB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100_000, help="generated residents")
    ap.add_argument("--call", type=int, default=50_000, help="rows per bulk call")
    ap.add_argument("--sample", type=int, default=2_000, help="rows timed through the per-row path")
    ap.add_argument("--seed", type=int, default=11)
    a = ap.parse_args(argv)
    print(f"bench/registry_bulk.py  n={a.n:,}  rows per call={a.call:,}  machine: {machine()}")
    rng = np.random.default_rng(a.seed)
    actor = system_actor("500118")
    results: list[list[str]] = [
        ["phase", "rows", "wall s", "CPU s", "rows/s (wall)", "rows/CPU s", "peak RSS growth MB"]
    ]
    with temp_dir() as d:
        engine = migrated_engine(d / "registry.db")
        people = generated_people(a.n + a.sample, grids(engine).codes, rng)
        bulk_rows, sample_rows = people[: a.n], people[a.n :]

        def bulk(label: str, rows: list[dict[str, Any]], source: str, on: date) -> float:
            base, cpu = peak_mb(), time.process_time()
            with Stopwatch() as sw, session_scope(engine) as s:
                for i in range(0, len(rows), a.call):
                    service.bulk_upsert_residents(s, actor, rows[i : i + a.call], source, on)
            cpu = time.process_time() - cpu
            results.append(
                [label, f"{len(rows):,}", f"{sw.seconds:.1f}", f"{cpu:.1f}", f"{len(rows) / sw.seconds:,.0f}",
                 f"{len(rows) / cpu:,.0f}", f"{peak_mb() - base:,.0f}"]
            )  # fmt: skip
            return len(rows) / cpu

        def per_row(label: str, rows: list[dict[str, Any]], source: str, on: date) -> float:
            cpu = time.process_time()
            with Stopwatch() as sw, session_scope(engine) as s:
                for r in rows:
                    service.upsert_resident(s, actor, r, source, valid_from=on)
            cpu = time.process_time() - cpu
            rate, cpu_rate = len(rows) / sw.seconds, len(rows) / cpu
            results.append(
                [f"{label} (sample → {a.n:,})", f"{len(rows):,}", f"{a.n / rate:.1f}",
                 f"{a.n / cpu_rate:.1f}", f"{rate:,.0f}", f"{cpu_rate:,.0f}", "—"]
            )  # fmt: skip
            return cpu_rate

        def update(rows: list[dict[str, Any]], start: int) -> list[dict[str, Any]]:
            out = []
            for i, r in enumerate(rows, start=start):
                row = {"citizen_id": r["citizen_id"], "phone": f"138{i % 100_000_000:08d}"}
                if i % 100 == 0:
                    row["name"] = r["name"] + "改"
                out.append(row)
            return out

        new_bulk = bulk("initial import, bulk", bulk_rows, "import:bench-hukou", date(2026, 1, 1))
        new_row = per_row(
            "initial import, per row", sample_rows[: a.sample], "import:bench-hukou", date(2026, 1, 1)
        )
        # the per-row sample people are on the register too, so the re-import updates them all
        upd_bulk = bulk("re-import, bulk", update(bulk_rows, 0), "import:bench-phones", date(2026, 6, 1))
        upd_row = per_row(
            "re-import, per row",
            update(sample_rows[: a.sample], a.n),
            "import:bench-phones",
            date(2026, 6, 1),
        )
        with session_scope(engine) as s:
            n_people = s.scalar(select(func.count()).select_from(Resident))
            n_versions = s.scalar(select(func.count()).select_from(ResidentVersion))
            n_conflicts = s.scalar(select(func.count()).select_from(RegisterConflict))
    print(table(results))
    print(f"stored: {n_people:,} residents, {n_versions:,} version rows, {n_conflicts:,} conflicts")
    print(
        f"bulk / per-row rows per CPU second: initial import {new_bulk / new_row:.1f}x, "
        f"re-import {upd_bulk / upd_row:.1f}x (wall times vary with the machine's load)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
