"""Benchmark: importing residents from one xlsx (台账导入), against python-calamine alone reading it.

What runs, in one run (each measured step in its own fresh Python process, so that its wall time
and peak memory — ``ru_maxrss``, which counts calamine's Rust memory too — are its own):

1. a temporary SQLite file migrated to head and loaded with Yongchuan (towns, 267 villages, 3,157
   generated grids);
2. a GENERATED xlsx of ``--n`` residents written with openpyxl: a title row, a 2-row header with a
   merged parent (``家庭成员`` over 姓名/公民身份号码/与户主关系), then one row per person — 12 columns:
   序号, 姓名, 公民身份号码 (text, valid GB 11643 check character, prefix 500118, unique), 与户主关系,
   性别, 出生日期 (a date cell), 民族, 联系电话 (138 block), 住址, 所属村 (a real Yongchuan village
   name, without 居民委员会), 网格 (第N网格 of that village), 人员类别 (about 8 % tagged 低保/高龄 …);
   invented names and addresses;
3. **calamine**: ``CalamineWorkbook.from_path(f).get_sheet_by_index(0).to_python()`` — the baseline;
4. **check**: the importer's reading and checking without the database (intake.source → header →
   rows: every ID validated, dates, tags, places) — the part of the import this module owns;
5. **import**: ``zhizhi.registry.intake.import_file`` as the platform, committed: check + write
   through the registry service (created residents, version rows, change log).

Printed: seconds (wall and CPU: the CPU figure is the steadier one on a shared machine), rows/s and
peak RSS of each, and the ratios check/calamine and import/calamine.
Goals (issue 4): import ≤ 2× calamine, peak < 2 GB, for 1,100,000 residents (Yongchuan).

    .venv/bin/python bench/registry_import.py                 # 100,000 residents
    .venv/bin/python bench/registry_import.py --n 1100000     # the issue's target
    .venv/bin/python bench/registry_import.py --skip-import   # calamine and check only
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import numpy as np
from _common import DISTRICT, machine, migrated_engine, table
from _common import temp_dir as make_temp_dir

GOAL_RATIO = 2.0
GOAL_PEAK_MB = 2048.0
HERE = Path(__file__).resolve().parent
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥建国文辉力"
TAGS = ["低保", "高龄", "残疾", "特困", "退役军人", "慢病"]
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = "10X98765432"


def _villages(engine: object) -> list[tuple[str, str, int]]:
    """(village code, short name, grid count) of Yongchuan from the loaded org tree."""
    from sqlalchemy import func, select

    from zhizhi.core.db import session_scope
    from zhizhi.org.models import OrgUnit
    from zhizhi.registry.intake.location import place_name

    with session_scope(engine) as s:  # type: ignore[arg-type]
        grids: dict[str, int] = dict(
            s.execute(
                select(func.substr(OrgUnit.code, 1, 12), func.count())
                .where(OrgUnit.level == "grid", OrgUnit.district_code == DISTRICT)
                .group_by(func.substr(OrgUnit.code, 1, 12))
            ).all()
        )
        rows = s.execute(
            select(OrgUnit.code, OrgUnit.name).where(
                OrgUnit.level == "village", OrgUnit.district_code == DISTRICT
            )
        ).all()
    names: dict[str, int] = {}
    for _, n in rows:
        names[place_name(n)] = names.get(place_name(n), 0) + 1
    # a name two villages share would need a 镇街 column: keep the unique ones
    return [(c, place_name(n), grids[c]) for c, n in rows if grids.get(c) and names[place_name(n)] == 1]


def write_xlsx(path: Path, villages: list[tuple[str, str, int]], n: int, seed: int) -> None:
    """Write ``n`` GENERATED residents (see module docstring)."""
    from openpyxl import Workbook

    rng = np.random.default_rng(seed)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("花名册")
    ws.append(["永川区实有人口花名册(生成数据 GENERATED)"])
    ws.append(
        [
            "序号",
            "家庭成员",
            None,
            None,
            "性别",
            "出生日期",
            "民族",
            "联系电话",
            "住址",
            "所属村",
            "网格",
            "人员类别",
        ]
    )
    ws.append([None, "姓名", "公民身份号码", "与户主关系", None, None, None, None, None, None, None, None])
    start = date(1930, 1, 1)
    days = rng.integers(0, (date(2025, 12, 31) - start).days, n)
    vill = rng.integers(0, len(villages), n)
    gridn = rng.random(n)
    tag = rng.random(n)
    sur = rng.integers(0, len(SURNAMES), n)
    giv = rng.integers(0, len(GIVEN), (n, 2))
    seq_of: dict[int, int] = {}
    for i in range(n):
        d = start + timedelta(days=int(days[i]))
        k = int(days[i])
        seq = seq_of.get(k, 0) + 1  # unique sequence number per birth date (up to 999)
        seq_of[k] = seq
        body = f"500118{d:%Y%m%d}{seq:03d}"
        cid = body + CHECK[sum(int(c) * w for c, w in zip(body, WEIGHTS, strict=True)) % 11]
        code, vname, ng = villages[int(vill[i])]
        t = tag[i]
        tags = "" if t > 0.08 else TAGS[int(t * 100) % len(TAGS)]
        if (tags == "高龄" and d > date(1945, 1, 1)) or (tags == "退役军人" and d > date(2008, 1, 1)):
            tags = "低保"  # the tags' age rules (registry/data/tags.yaml)
        male = seq % 2 == 1
        ws.append(
            [
                i + 1,
                SURNAMES[sur[i]] + GIVEN[giv[i, 0]] + ("" if i % 3 else GIVEN[giv[i, 1]]),
                cid,
                "户主" if i % 4 == 0 else "子" if male else "女",
                "男" if male else "女",
                d,
                "汉族",
                f"138{i % 100_000_000:08d}",
                f"重庆市永川区{vname}{i % 300 + 1}号",
                vname,
                f"第{int(gridn[i] * ng) + 1}网格",
                tags,
            ]
        )
    wb.save(str(path))
    _merge_header(path)


def _merge_header(path: Path) -> None:
    """Add the title and header merges to the sheet XML (openpyxl's write-only mode cannot)."""
    import shutil
    import zipfile

    tmp = path.with_suffix(".tmp.xlsx")
    cells = "".join(f'<mergeCell ref="{r}"/>' for r in ("A1:L1", "B2:D2", "A2:A3"))
    merges = f'<mergeCells count="3">{cells}</mergeCells>'
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"</sheetData>", b"</sheetData>" + merges.encode(), 1)
            dst.writestr(item, data)
    shutil.move(tmp, path)


# --- the measured steps (each in a child process) -------------------------------------------------------


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def step_calamine(xlsx: Path) -> dict[str, float]:
    from python_calamine import CalamineWorkbook

    t, c = time.perf_counter(), time.process_time()
    rows = CalamineWorkbook.from_path(str(xlsx)).get_sheet_by_index(0).to_python()
    secs, cpu = time.perf_counter() - t, time.process_time() - c
    return {"seconds": secs, "cpu": cpu, "rows": len(rows), "peak_mb": _peak_mb()}


def step_check(xlsx: Path, db: Path) -> dict[str, float]:
    from zhizhi.core.db import make_engine, session_scope
    from zhizhi.registry.intake.header import synonyms
    from zhizhi.registry.intake.rows import plan_sheets, prepare_rows
    from zhizhi.registry.intake.service import places
    from zhizhi.registry.intake.source import read_workbook

    with session_scope(make_engine(f"sqlite:///{db}")) as s:
        where = places(s, DISTRICT, None)
    t, c = time.perf_counter(), time.process_time()
    syn = synonyms()["resident"]
    wb = read_workbook(xlsx)
    prep = prepare_rows(plan_sheets(wb, syn), syn, where)
    wb.close()
    secs, cpu = time.perf_counter() - t, time.process_time() - c
    return {"seconds": secs, "cpu": cpu, "rows": prep.rows_read, "bad": len(prep.bad), "peak_mb": _peak_mb()}


def step_import(xlsx: Path, db: Path) -> dict[str, float]:
    from zhizhi.core.db import make_engine, session_scope
    from zhizhi.registry.intake import import_file, platform_actor

    engine = make_engine(f"sqlite:///{db}")
    t, c = time.perf_counter(), time.process_time()
    with session_scope(engine) as s:
        res = import_file(s, platform_actor(DISTRICT), xlsx, "resident", source="bench", skip_invalid=True)
    secs, cpu = time.perf_counter() - t, time.process_time() - c
    return {
        "seconds": secs,
        "cpu": cpu,
        "rows": res.rows_read,
        "bad": res.invalid,
        "created": res.created,
        "peak_mb": _peak_mb(),
    }


def _child(step: str, *args: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, str(Path(__file__)), "--step", step, *map(str, args)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--n", type=int, default=100_000, help="residents in the generated xlsx")
    ap.add_argument("--seed", type=int, default=4)
    ap.add_argument("--skip-import", action="store_true", help="measure calamine and the check only")
    ap.add_argument("--step", help=argparse.SUPPRESS)
    ap.add_argument("paths", nargs="*", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.step:
        steps: dict[str, Callable[..., dict[str, float]]] = {
            "calamine": step_calamine,
            "check": step_check,
            "import": step_import,
        }
        fn = steps[a.step]
        print(json.dumps(fn(*map(Path, a.paths))))
        return
    print(f"registry import benchmark: {a.n:,} GENERATED residents; {machine()}")
    with make_temp_dir() as d:
        db, xlsx = d / "bench.db", d / "residents.xlsx"
        engine = migrated_engine(db)
        t = time.perf_counter()
        write_xlsx(xlsx, _villages(engine), a.n, a.seed)
        engine.dispose()
        print(
            f"wrote {xlsx.stat().st_size / 1e6:.1f} MB xlsx in {time.perf_counter() - t:.1f} s (not measured)"
        )
        results = {"calamine": _child("calamine", xlsx), "check": _child("check", xlsx, db)}
        if not a.skip_import:
            results["import"] = _child("import", xlsx, db)
    base = results["calamine"]["seconds"]
    base_cpu = results["calamine"]["cpu"]
    rows = [["step", "seconds", "CPU s", "rows/s", "peak RSS MB", "× calamine", "× calamine (CPU)"]]
    for name, r in results.items():
        rows.append(
            [
                name,
                f"{r['seconds']:.2f}",
                f"{r['cpu']:.2f}",
                f"{a.n / r['seconds']:,.0f}",
                f"{r['peak_mb']:,.0f}",
                f"{r['seconds'] / base:.2f}",
                f"{r['cpu'] / base_cpu:.2f}",
            ]
        )
    print(table(rows))
    if results["check"].get("bad"):
        print(f"warning: the check refused {results['check']['bad']:.0f} generated rows")
    if "import" in results:
        r = results["import"]
        write = r["seconds"] - results["check"]["seconds"]
        write_cpu = r["cpu"] - results["check"]["cpu"]
        print(f"write step through the registry service (import − check): {write:.2f} s, "
              f"{a.n / max(write, 1e-9):,.0f} rows/s; CPU {write_cpu:.2f} s, "
              f"{a.n / max(write_cpu, 1e-9):,.0f} rows per CPU s")  # fmt: skip
        ok = r["seconds"] / base <= GOAL_RATIO and r["peak_mb"] < GOAL_PEAK_MB
        print(
            f"import: {r['created']:.0f} created; goal ≤ {GOAL_RATIO:g}× calamine and "
            f"< {GOAL_PEAK_MB:,.0f} MB: {'met' if ok else 'NOT met'}"
        )


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
