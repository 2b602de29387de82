"""Bulk intake (批量导入): CSV and JSONL through ``intake.import_file`` and ``zhizhi event import``.

All or nothing: one bad row means nothing is written and every bad row is listed with its line and
column; ``skip_invalid`` imports the good rows and writes the bad ones to a reject file."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from zhizhi.cli import app
from zhizhi.core.errors import InvalidInput
from zhizhi.event import intake, service
from zhizhi.event.models import Event, EventStep
from zhizhi.event.schemas import TransitionIn

# 中山路社区居民委员会 (500118001001): a real village point from villages_points.csv
LON, LAT = 105.898213, 29.352365
GRID = "500118001001001"  # first generated grid of that village
HEADER = "category_code,title,description,lon,lat,grid_code,reported_at,external_id,reporter_phone"


def n_events(session: Session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Event)) or 0


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def good_csv(tmp_path: Path) -> Path:
    return write(tmp_path, "good.csv", "\n".join([
        HEADER,
        f"0101,路边暴露垃圾,,{LON},{LAT},,2026-11-03 09:00,H-1,138-1234-5678",
        f'0102,建筑垃圾,"工地门口\n堆放渣土",,,{GRID},2026-11-03T10:15:00+08:00,H-2,',
        "",  # a blank line: skipped, still counted
        f"0401,路面积水,下穿道积水,{LON},{LAT},,,H-3,",
    ]) + "\n")


def test_csv_import_places_routes_and_times_every_row(session: Session, tmp_path: Path) -> None:
    res = intake.import_file(session, good_csv(tmp_path), "500118")
    session.commit()
    assert (res.rows, res.imported, res.errors, res.reject_file) == (3, 3, [], None)
    a, b, c = (session.get(Event, i) for i in res.event_ids)
    assert a is not None and b is not None and c is not None
    assert (a.category_code, a.title, a.description, a.source, a.external_id) == (
        "0101", "路边暴露垃圾", "", "hotline_import", "H-1")
    assert (a.town_code, a.village_code, a.node, a.suggested_unit_code, a.dispatch_mode) == (
        "500118001000", "500118001001", "reported", "500118-CGJ", "horizontal")
    assert a.grid_code is not None and a.grid_code.startswith("500118001001")
    assert a.reporter_phone == "13812345678"
    # naive times are Beijing time: 09:00 +08:00 is 01:00 UTC; 受理 limit 30 continuous minutes
    assert a.reported_at == datetime(2026, 11, 3, 1, 0, tzinfo=UTC)
    assert (a.node_limit, a.node_deadline) == ("0.5 continuous", datetime(2026, 11, 3, 1, 30, tzinfo=UTC))
    assert (a.node_seq, a.version, a.urgency) == (1, 1, "normal")
    assert (a.dispatch_count, a.return_count, a.rework_count, a.escalation_level) == (0, 0, 0, 0)
    assert (a.due_soon, a.overdue, a.ever_overdue, a.parked, a.is_drill, a.colour) == (
        False, False, False, False, False, "green")
    # placed by its grid code: village and town follow from the tree
    assert (b.grid_code, b.village_code, b.town_code, b.lon, b.lat) == (GRID, "500118001001", "500118001000",
                                                                        None, None)
    assert b.description == "工地门口\n堆放渣土"
    assert b.reported_at == datetime(2026, 11, 3, 2, 15, tzinfo=UTC)
    # 路面积水 is urgency high
    assert (c.urgency, c.suggested_unit_code, c.unit_code) == ("high", "500118-CGJ", None)
    steps = session.scalars(select(EventStep).where(EventStep.event_id.in_(res.event_ids))
                            .order_by(EventStep.event_id)).all()
    assert [(s.action, s.to_node, s.at) for s in steps] == [
        ("report", "reported", a.reported_at), ("report", "reported", b.reported_at),
        ("report", "reported", c.reported_at)]
    # imported events go round the loop like reported ones
    sys_ = service.system_actor("500118")
    for action, kw in (("accept", {}), ("register", {}), ("dispatch", {"unit_code": "auto"})):
        service.transition(session, sys_, a.id, TransitionIn(action=action, **kw))
    assert (a.node, a.unit_code, a.dispatch_count, a.version) == ("dispatched", "500118-CGJ", 1, 4)


def test_jsonl_import_keeps_line_separators_inside_strings(session: Session, tmp_path: Path) -> None:
    rows = [
        {"category_code": "0101", "title": "垃圾\u2028堆放", "lon": LON, "lat": LAT, "reporter_name": "张三",
         "description": None},
        {"category_code": "0101", "title": "按网格上报", "grid_code": GRID, "urgency": "urgent",
         "source": "web"},
    ]
    p = write(tmp_path, "good.jsonl", "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n\n")
    res = intake.import_file(session, p, "500118")
    assert (res.rows, res.imported, res.errors) == (2, 2, [])
    a, b = (session.get(Event, i) for i in res.event_ids)
    assert a is not None and b is not None
    assert (a.title, a.description, a.reporter_name) == ("垃圾\u2028堆放", "", "张三")
    assert (b.source, b.urgency, b.grid_code) == ("web", "urgent", GRID)


def bad_csv(tmp_path: Path) -> Path:
    return write(tmp_path, "bad.csv", "\n".join([
        HEADER,                                                   # line 1
        f"0101,好的一行,,{LON},{LAT},,,,",                         # line 2: good
        f"0101,经度不是数,,abc,{LAT},,,,",                         # line 3: lon
        "",                                                       # line 4: blank
        f'0101,"多行\n描述",,{LON},{LAT},,,,',                     # lines 5-6: good
        f"9999,未知分类,,{LON},{LAT},,,,",                         # line 7: category
        "0101,成都的点,,104.06,30.67,,,,",                         # line 8: outside the district
        f"0101,,没有标题,{LON},{LAT},,,,",                         # line 9: title
        "0101,只有经度,,105.9,,,,,",                              # line 10: lat
        f"0101,未来时间,,{LON},{LAT},,2099-01-01 00:00,,",          # line 11: reported_at
        f"0101,多一列,,{LON},{LAT},,,,,extra",                     # line 12: too many values
        "0101,未知网格,,,,500118999999999,,,",                    # line 13: grid_code
        f"0101,电话不对,,{LON},{LAT},,,,abc",                      # line 14: reporter_phone
    ]) + "\n")


BAD_ROWS = [(3, "lon"), (7, "category_code"), (8, "lon"), (9, "title"), (10, "lat"), (11, "reported_at"),
            (12, "row"), (13, "grid_code"), (14, "reporter_phone")]


def test_one_bad_row_means_nothing_is_written_and_every_bad_row_is_listed(session: Session,
                                                                         tmp_path: Path) -> None:
    before = n_events(session)
    p = bad_csv(tmp_path)
    with pytest.raises(InvalidInput) as ei:
        intake.import_file(session, p, "500118")
    session.rollback()
    assert n_events(session) == before
    err = ei.value
    assert err.detail.startswith(f"{p}: 9 bad row(s), nothing imported; first: line 3, column lon: ")
    assert [(e.line, e.column) for e in err.errors] == BAD_ROWS
    reasons = {e.line: e.reason for e in err.errors}
    assert reasons[3] == "Input should be a valid number, unable to parse string as a number"
    assert reasons[7] == 'unknown category "9999"'
    assert reasons[9] == "Field required"
    assert reasons[8] == "outside every loaded district"
    assert reasons[10] == "give both lon and lat"
    assert reasons[11] == "in the future"
    assert reasons[12] == "10 values for 9 columns"
    assert reasons[13] == 'unknown grid "500118999999999"'
    assert not (tmp_path / "bad.rejects.jsonl").exists()


def test_skip_invalid_imports_the_good_rows_and_writes_the_rejects(session: Session, tmp_path: Path) -> None:
    before = n_events(session)
    p = bad_csv(tmp_path)
    res = intake.import_file(session, p, "500118", skip_invalid=True)
    session.commit()
    assert (res.rows, res.imported) == (11, 2)
    assert n_events(session) == before + 2
    titles = [session.get(Event, i).title for i in res.event_ids]  # type: ignore[union-attr]
    assert titles == ["好的一行", "多行\n描述"]
    # the rejects are a CSV like the input, with the reasons in a first column "error"
    assert res.reject_file == str(tmp_path / "bad.rejects.csv")
    with open(res.reject_file, encoding="utf-8-sig", newline="") as fh:
        rejects = list(csv.DictReader(fh))
    assert [int(r["error"].split(",")[0].removeprefix("line ")) for r in rejects] == [n for n, _ in BAD_ROWS]
    assert rejects[0]["lon"] == "abc" and rejects[0]["error"].startswith("line 3, column lon: ")
    assert rejects[2]["title"] == "成都的点"
    extra = rejects[6][None]  # type: ignore[index]  # DictReader puts the surplus value under None
    assert (rejects[6]["title"], rejects[6]["reporter_phone"], extra) == ("多一列", "", ["extra"])
    s = res.summary()
    assert (s["imported"], s["rejected_rows"], s["reject_file"]) == (2, 9, res.reject_file)
    # the reject file can go elsewhere
    other = tmp_path / "out" / "rej.csv"
    other.parent.mkdir()
    res2 = intake.import_file(session, p, "500118", skip_invalid=True, reject_path=other)
    assert res2.reject_file == str(other) and len(other.read_text(encoding="utf-8").splitlines()) == 1 + 9


def test_jsonl_bad_lines_are_row_errors(session: Session, tmp_path: Path) -> None:
    lines = [
        json.dumps({"category_code": "0101", "title": "好", "lon": LON, "lat": LAT}),
        '{"category_code": "0101", "title": "坏的 JSON",',
        "[1, 2]",
        json.dumps({"category_code": "0101", "title": "多余的键", "lon": LON, "lat": LAT, "colour": "red"}),
        json.dumps({"title": "没有分类", "lon": LON, "lat": LAT}),
    ]
    p = write(tmp_path, "bad.jsonl", "\n".join(lines))
    with pytest.raises(InvalidInput) as ei:
        intake.import_file(session, p, "500118")
    assert [(e.line, e.column) for e in ei.value.errors] == [(2, "json"), (3, "json"), (4, "colour"),
                                                             (5, "category_code")]
    assert ei.value.errors[0].reason.startswith("invalid JSON at column ")
    assert ei.value.errors[1].reason == "each line must be a JSON object"
    assert ei.value.errors[2].reason == "Extra inputs are not permitted"
    assert ei.value.errors[3].reason == "Field required"
    session.rollback()
    res = intake.import_file(session, p, "500118", skip_invalid=True)
    assert (res.rows, res.imported) == (5, 1)
    # JSONL rejects: the objects with an "error" key first, then the unreadable lines as they were
    rejects = Path(res.reject_file or "").read_text(encoding="utf-8").splitlines()
    assert [json.loads(x)["error"] for x in rejects[:2]] == [
        "line 4, column colour: Extra inputs are not permitted",
        "line 5, column category_code: Field required",
    ]
    assert rejects[2:] == [lines[1], lines[2]]


def test_duplicate_external_ids_are_row_errors_not_a_crash(session: Session, tmp_path: Path) -> None:
    first = intake.import_file(session, good_csv(tmp_path), "500118")
    session.commit()
    p = write(tmp_path, "again.csv", "\n".join([
        "category_code,title,lon,lat,external_id",
        f"0101,重复的旧编号,{LON},{LAT},H-1",
        f"0101,新编号,{LON},{LAT},H-9",
        f"0101,文件内重复,{LON},{LAT},H-9",
        f"0101,再次重复,{LON},{LAT},H-1",
    ]))
    with pytest.raises(InvalidInput) as ei:
        intake.import_file(session, p, "500118")
    assert [(e.line, e.column, e.reason) for e in ei.value.errors] == [
        (2, "external_id", f'hotline_import report "H-1" already exists as event {first.event_ids[0]}'),
        (4, "external_id", '"H-9" repeats line 3'),
        (5, "external_id", '"H-1" repeats line 2'),
    ]
    session.rollback()
    # a different source is a different numbering
    q = write(tmp_path, "web.csv",
              f"category_code,title,lon,lat,external_id,source\n0101,网页,{LON},{LAT},H-1,web\n")
    assert intake.import_file(session, q, "500118").imported == 1


@pytest.mark.parametrize(("name", "content", "encoding", "needle"), [
    ("unknown.csv", "category_code,title,colour\n0101,x,red\n", "utf-8",
     "line 1: unknown column(s) colour; known: "),
    ("missing.csv", "category_code,description\n0101,x\n", "utf-8",
     'line 1: required column "title" is missing'),
    ("dup.csv", "category_code,title,title\n0101,x,y\n", "utf-8", "line 1: duplicate column(s) title"),
    ("empty.csv", "", "utf-8", "the file is empty"),
    ("blank.jsonl", "\n  \n", "utf-8", "the file is empty"),
    ("gbk.csv", "category_code,title\n0101,暴露垃圾\n", "gbk", "not UTF-8 text (byte 25); save it as UTF-8"),
    ("array.json", '[{"category_code": "0101"}]', "utf-8", "a JSON array; write one JSON object per line"),
    ("quote.csv", 'category_code,title\n0101,x\n0101,"never closed\n0101,y\n', "utf-8",
     "line 3: malformed CSV (unexpected end of data)"),
    ("junk.csv", 'category_code,title\n0101,"x"y\n', "utf-8",
     "line 2: malformed CSV (',' expected after '\"')"),
])
def test_file_level_problems_name_the_file(session: Session, tmp_path: Path, name: str, content: str,
                                           encoding: str, needle: str) -> None:
    p = write(tmp_path, name, content, encoding)
    with pytest.raises(InvalidInput) as ei:
        intake.import_file(session, p, "500118")
    assert ei.value.detail.startswith(f"{p}: ")
    assert needle in ei.value.detail
    assert n_events(session) == 0


def test_missing_file_names_it(session: Session, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as ei:
        intake.import_file(session, tmp_path / "nope.csv", "500118")
    assert ei.value.detail == f"{tmp_path / 'nope.csv'}: cannot read the file (No such file or directory)"


def test_header_only_imports_nothing(session: Session, tmp_path: Path) -> None:
    res = intake.import_file(session, write(tmp_path, "h.csv", HEADER + "\n"), "500118")
    assert (res.rows, res.imported, res.event_ids) == (0, 0, [])


# --- the CLI ------------------------------------------------------------------------------------------

def test_cli_import_prints_the_summary(engine: object, session: Session, tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["event", "import", str(good_csv(tmp_path))])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert (out["rows"], out["imported"], out["rejected_rows"], out["errors"]) == (3, 3, 0, [])
    assert n_events(session) == 3


def test_cli_import_error_is_exit_2_without_traceback(engine: object, session: Session,
                                                      tmp_path: Path) -> None:
    p = bad_csv(tmp_path)
    r = CliRunner().invoke(app, ["event", "import", str(p)])
    assert r.exit_code == 2
    assert r.exception is None or isinstance(r.exception, SystemExit)
    lines = r.stderr.splitlines()
    assert lines[0].startswith(f"error: {p}: 9 bad row(s), nothing imported; first: line 3, column lon:")
    assert [x.split(":")[0].strip() for x in lines[1:]] == [f"line {n}, column {c}" for n, c in BAD_ROWS]
    assert r.stdout == ""
    assert n_events(session) == 0
    r = CliRunner().invoke(app, ["event", "import", str(write(tmp_path, "e.csv", ""))])
    assert (r.exit_code, r.stderr) == (2, f"error: {tmp_path / 'e.csv'}: the file is empty\n")
    r = CliRunner().invoke(app, ["event", "import", str(p), "--skip-invalid"])
    assert r.exit_code == 0 and json.loads(r.stdout)["imported"] == 2
    assert n_events(session) == 2


def test_cli_in_a_real_process(engine: object, db_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "ZHIZHI_DATABASE_URL": db_url}
    exe = [sys.executable, "-c", "from zhizhi.cli import main; main()"]
    bad = write(tmp_path, "bad.csv", "category_code,title,colour\n0101,x,red\n")
    r = subprocess.run([*exe, "event", "import", str(bad)], env=env, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2
    assert r.stderr.startswith(f"error: {bad}: line 1: unknown column(s) colour; known: ")
    assert "Traceback" not in r.stderr and r.stdout == ""
    gbk = write(tmp_path, "gbk.csv", "category_code,title\n0101,暴露垃圾\n", "gbk")
    r = subprocess.run([*exe, "event", "import", str(gbk)], env=env, capture_output=True, text=True,
                       timeout=60)
    assert (r.returncode, r.stderr) == (2, f"error: {gbk}: not UTF-8 text (byte 25); save it as UTF-8\n")


def test_unwritable_reject_file_is_a_clear_error(engine: object, session: Session, tmp_path: Path) -> None:
    p = bad_csv(tmp_path)
    nowhere = tmp_path / "missing-dir" / "rej.jsonl"
    with pytest.raises(InvalidInput) as ei:
        intake.import_file(session, p, "500118", skip_invalid=True, reject_path=nowhere)
    assert ei.value.detail == (f"{nowhere}: cannot write the reject file (No such file or directory); "
                               "nothing imported")
    session.rollback()
    r = CliRunner().invoke(app, ["event", "import", str(p), "--skip-invalid", "--reject-file", str(nowhere)])
    assert (r.exit_code, r.stderr) == (2, f"error: {ei.value.detail}\n")
    assert n_events(session) == 0
