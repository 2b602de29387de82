"""The command line (命令行): bad input is one ``error:`` line and exit code 2, an internal error one
line and exit code 1 with the traceback in ``ZHIZHI_DATA_DIR/zhizhi-cli.log``; never a traceback.

Commands run in-process through typer's CliRunner against the test database (the ``engine`` fixture
sets ZHIZHI_DATABASE_URL), and a few in a real process."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
from alembic.util import CommandError
from pydantic import BaseModel, ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from zhizhi.cli import app, run
from zhizhi.core import time as ztime
from zhizhi.core.config import get_settings
from zhizhi.core.errors import FieldError, InvalidInput
from zhizhi.event.models import Event, RoutingRule

# 中山路社区居民委员会 (500118001001): a real village point from villages_points.csv
LON, LAT = 105.898213, 29.352365
GRID = "500118001001001"  # first generated grid of that village
NOW_YEAR = ztime.to_local(ztime.utcnow()).year


class Result:
    """What a command did: ``code``, ``out`` (stdout) and ``err`` (stderr)."""

    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err


def zz(*args: str) -> Result:
    """Run ``zhizhi ARGS`` in-process; asserts no exception escaped the CLI."""
    r = CliRunner().invoke(app, list(args), prog_name="zhizhi")
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    return Result(r.exit_code, r.stdout, r.stderr)


def n_events(session: Session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Event)) or 0


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --- run(): what is a user error -----------------------------------------------------------------


class _Model(BaseModel):
    n: int


def _validation_error() -> ValidationError:
    try:
        _Model.model_validate({"n": "x"})
    except ValidationError as e:
        return e
    raise AssertionError("no error")


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh ZHIZHI_DATA_DIR for this test (the settings are re-read before and after)."""
    d = tmp_path / "data"
    monkeypatch.setenv("ZHIZHI_DATA_DIR", str(d))
    get_settings.cache_clear()
    yield d
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.mark.parametrize(("exc", "line"), [
    (InvalidInput("unit_code: unknown unit", [FieldError("unit_code", "unknown")]),
     "error: unit_code: unknown unit"),
    (InvalidInput("two\n  lines"), "error: two lines"),
    (ValueError("level must be town"), "error: level must be town"),
    (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
     "error: 'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"),
    (_validation_error(),
     "error: _Model: n: Input should be a valid integer, unable to parse string as an integer"),
    (FileNotFoundError(2, "No such file or directory", "/data/x.csv"),
     "error: /data/x.csv: No such file or directory"),
    (IsADirectoryError(21, "Is a directory", "/data"), "error: /data: Is a directory"),
    (PermissionError("denied"), "error: denied"),
    (CommandError("Can't locate revision identified by 'x'"),
     "error: Can't locate revision identified by 'x'"),
])
def test_user_errors_are_one_line_and_exit_2(exc: Exception, line: str, data_dir: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    def body() -> None:
        raise exc

    with pytest.raises(typer.Exit) as ei:
        run(body)
    assert ei.value.exit_code == 2
    assert capsys.readouterr() == ("", line + "\n")
    assert not data_dir.exists()  # nothing logged


def test_import_row_errors_follow_the_error_line(capsys: pytest.CaptureFixture[str]) -> None:
    rows = [FieldError("lon", f"bad {i}", line=i + 2, column="lon") for i in range(52)]

    def body() -> None:
        raise InvalidInput("f.csv: 52 bad row(s), nothing imported", rows)

    with pytest.raises(typer.Exit) as ei:
        run(body)
    assert ei.value.exit_code == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "error: f.csv: 52 bad row(s), nothing imported"
    assert err[1:3] == ["  line 2, column lon: bad 0", "  line 3, column lon: bad 1"]
    assert err[50:] == ["  line 51, column lon: bad 49", "  … and 2 more"]


def test_internal_error_is_one_line_exit_1_and_a_logged_traceback(
        data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def body() -> None:
        raise KeyError("boom")

    with pytest.raises(typer.Exit) as ei:
        run(body)
    assert ei.value.exit_code == 1
    log = (data_dir / "zhizhi-cli.log").resolve()
    assert capsys.readouterr() == (
        "", f"error: internal error (KeyError); please report it (the traceback is in {log})\n")
    text = log.read_text(encoding="utf-8")
    assert text.startswith("--- ") and "Traceback (most recent call last):" in text
    assert "raise KeyError(\"boom\")" in text and text.rstrip().endswith("KeyError: 'boom'")


def test_internal_error_in_a_command(engine: object, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from zhizhi.org import service as org

    def broken(_s: Session) -> Any:
        raise RuntimeError("stats exploded")

    monkeypatch.setattr(org, "stats", broken)
    r = zz("org", "stats")
    log = (data_dir / "zhizhi-cli.log").resolve()
    assert (r.code, r.out, r.err) == (
        1, "", f"error: internal error (RuntimeError); please report it (the traceback is in {log})\n")
    assert "RuntimeError: stats exploded" in log.read_text(encoding="utf-8")
    # an exception outside a command body is caught by the root command
    from zhizhi.ops import cli as ops_cli

    monkeypatch.setattr(ops_cli, "check_period", broken)
    r = zz("ops", "kpis")
    assert (r.code, r.err) == (
        1, f"error: internal error (RuntimeError); please report it (the traceback is in {log})\n")
    assert log.read_text(encoding="utf-8").count("RuntimeError: stats exploded") == 2


# --- usage errors and help -----------------------------------------------------------------------


@pytest.mark.parametrize(("args", "line"), [
    (["event", "routing-add"], "error: Missing option '--unit' (see: zhizhi event routing-add --help)"),
    (["ops", "nope"], "error: No such command 'nope' (see: zhizhi ops --help)"),
    (["event", "routing-add", "--unit", "500118-CGJ", "--priority", "99999999999999999999"],
     "error: Invalid value for '--priority': Input should be less than or equal to 1000 "
     "(see: zhizhi event routing-add --help)"),
    (["event", "routing-add", "--unit", "500118-CGJ", "--priority", "-1001"],
     "error: Invalid value for '--priority': Input should be greater than or equal to -1000 "
     "(see: zhizhi event routing-add --help)"),
    (["event", "routing-add", "--unit", "500118-CGJ", "--priority", "abc"],
     "error: Invalid value for '--priority': Input should be a valid integer, unable to parse string as an "
     "integer (see: zhizhi event routing-add --help)"),
    (["demo", "replay", "--limit", "0"],
     "error: Invalid value for '--limit': Input should be greater than or equal to 1 "
     "(see: zhizhi demo replay --help)"),
    (["org", "import-boundaries", "x.geojson", "--level", "county"],
     "error: Invalid value for '--level': 'county' is not one of 'town', 'village', 'grid' "
     "(see: zhizhi org import-boundaries --help)"),
])
def test_usage_errors_are_one_line(args: list[str], line: str) -> None:
    r = zz(*args)
    assert (r.code, r.out, r.err) == (2, "", line + "\n")


def _commands(group: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    for name, cmd in getattr(group, "commands", {}).items():
        yield from _commands(cmd, (*path, name))


def test_help_shows_flags_as_flags() -> None:
    paths = list(_commands(typer.main.get_command(app)))
    assert len(paths) == 86  # the root, 16 groups, 69 commands
    for path in paths:
        r = zz(*path, "--help")
        assert r.code == 0, path
        assert "<bool>" not in r.out, path
        assert re.search(r"^  --help\s{2,}Show this message and exit\.$", r.out, re.M), path
    imp = zz("event", "import", "--help").out
    assert re.search(r"^  --skip-invalid\s{2,}import the good rows", imp, re.M)
    assert ('lines that were not JSON objects come last as they were. Import ignores an "error" column or '
            'key.') in " ".join(imp.split())
    assert re.search(r"^  --json\s{2,}print the full result as JSON$", zz("ops", "kpis", "--help").out, re.M)
    assert re.search(r"^  --replay / --no-replay\s{2,}replay", zz("setup", "--help").out, re.M)
    rank = zz("ops", "rankings", "--help").out
    assert re.search(r"^  --period <str>\s+YYYY, YYYY-MM or YYYY-Qn, from 2000 \(omit: all time\)$", rank,
                     re.M)


# --- ops: periods and the sweep time -------------------------------------------------------------


@pytest.mark.parametrize("command", ["kpis", "rankings"])
@pytest.mark.parametrize(("period", "line"), [
    ("0001", f'error: --period "0001": the year must be 2000 to {NOW_YEAR}'),
    ("9999", f'error: --period "9999": the year must be 2000 to {NOW_YEAR}'),
    ("9999-Q4", f'error: --period "9999-Q4": the year must be 2000 to {NOW_YEAR}'),
    ("1999-12", f'error: --period "1999-12": the year must be 2000 to {NOW_YEAR}'),
    (str(NOW_YEAR + 1), f'error: --period "{NOW_YEAR + 1}": the year must be 2000 to {NOW_YEAR}'),
    ("2026-13", 'error: --period "2026-13": month must be 01-12'),
    ("26-11", 'error: --period "26-11" must be YYYY, YYYY-MM or YYYY-Qn (e.g. 2026-11, 2026-Q4)'),
])
def test_periods_out_of_range_are_refused(engine: object, command: str, period: str, line: str) -> None:
    r = zz("ops", command, "--period", period, "--json")
    assert (r.code, r.out, r.err) == (2, "", line + "\n")


def test_period_starting_after_now_is_refused_and_a_past_one_works(engine: object) -> None:
    now = ztime.to_local(ztime.utcnow())
    nxt = f"{now.year}-{now.month + 1:02d}" if now.month < 12 else f"{now.year + 1}-01"
    r = zz("ops", "kpis", "--period", nxt)
    why = "starts in the future" if now.month < 12 else f"the year must be 2000 to {now.year}"
    assert (r.code, r.err) == (2, f'error: --period "{nxt}"' + (" " if now.month < 12 else ": ") + why + "\n")
    r = zz("ops", "kpis", "--period", "2000", "--json")
    assert r.code == 0 and json.loads(r.out)["period"] == "2000"
    r = zz("ops", "rankings", "--json")  # omitted: all time
    assert r.code == 0 and json.loads(r.out)["period"] == "all"


@pytest.mark.parametrize(("as_of", "line"), [
    ("0001-01-01T00:00:00", 'error: --as-of "0001-01-01T00:00:00": before 2000-01-01; the sweep judges '
                            "deadlines from then to now"),
    ("1999-12-31T23:59:59", 'error: --as-of "1999-12-31T23:59:59": before 2000-01-01; the sweep judges '
                            "deadlines from then to now"),
    ("9999-12-31T23:59:59-12:00", 'error: --as-of "9999-12-31T23:59:59-12:00": the sweep judges deadlines '
                                  "up to now; --as-of cannot be in the future"),
    ("2099-01-01", 'error: --as-of "2099-01-01": the sweep judges deadlines up to now; --as-of cannot be '
                   "in the future"),
    ("yesterday", 'error: --as-of "yesterday" is not an ISO date-time (e.g. 2026-11-03T09:00, Beijing time)'),
])
def test_sweep_time_out_of_range_is_refused(engine: object, as_of: str, line: str) -> None:
    r = zz("ops", "sweep", "--as-of", as_of)
    assert (r.code, r.out, r.err) == (2, "", line + "\n")


def test_sweep_in_the_near_future_or_past_runs(engine: object) -> None:
    soon = (ztime.utcnow() + timedelta(seconds=30)).isoformat()
    later = (ztime.utcnow() + timedelta(minutes=2)).isoformat()
    assert zz("ops", "sweep", "--as-of", later).code == 2
    for as_of in (soon, "2026-01-01T08:00", "2000-01-02T00:00:00+08:00"):
        r = zz("ops", "sweep", "--as-of", as_of)
        assert r.code == 0, r.err
        keys = {"checked", "due_soon", "overdue", "reminded", "supervised", "escalated"}
        assert set(json.loads(r.out)) >= keys


# --- db, org, routing, demo ----------------------------------------------------------------------


def test_db_upgrade_bad_revision(engine: object) -> None:
    r = zz("db", "upgrade", "nonsense")
    line = "error: revision \"nonsense\": Can't locate revision identified by 'nonsense'\n"
    assert (r.code, r.out, r.err) == (2, "", line)
    r = zz("db", "upgrade")
    assert r.code == 0 and r.out.startswith("database at head: ")


def test_import_boundaries_bad_input(engine: object, tmp_path: Path) -> None:
    csv_file = write(tmp_path / "towns.csv", "code,name\n500118001000,中山路街道\n")
    array = write(tmp_path / "arr.geojson", "[1, 2]")
    point = write(tmp_path / "pt.geojson", json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [LON, LAT]}}]}))
    cases = [
        (tmp_path / "nope.geojson", f"{tmp_path / 'nope.geojson'}: no such file"),
        (tmp_path, f"{tmp_path}: is a directory, not a GeoJSON file"),
        (csv_file, f"{csv_file}: not valid UTF-8 JSON: Expecting value: line 1 column 1 (char 0)"),
        (array, f"{array}: expected a GeoJSON FeatureCollection or Feature, got 'list'"),
        (point, f"{point}: feature 0: geometry type 'Point' not in ['MultiPolygon', 'Polygon']"),
    ]
    for path, line in cases:
        r = zz("org", "import-boundaries", str(path), "--level", "town")
        assert (r.code, r.out, r.err) == (2, "", f"error: {line}\n"), path


def test_routing_priority_bounds(engine: object, session: Session) -> None:
    for p in ("1000", "-1000"):
        r = zz("event", "routing-add", "--unit", "500118-CGJ", "--category", "0101", "--priority", p)
        assert r.code == 0, r.err
        assert json.loads(r.out)["priority"] == int(p)
    r = zz("event", "routing-add", "--unit", "500118-CGJ", "--priority", "1001")
    assert r.code == 2
    session.expire_all()
    assert sorted(session.scalars(select(RoutingRule.priority))) == [-1000, 1000]


def test_demo_replay_counts_the_database(engine: object, session: Session) -> None:
    r = zz("demo", "replay", "--limit", "2")
    assert r.code == 0, r.err
    res = json.loads(r.out)
    assert list(res) == ["file", "replayed", "skipped_existing", "events_in_database", "note"]
    assert (res["replayed"], res["skipped_existing"], res["events_in_database"]) == (2, 0, 2)
    r = zz("demo", "replay", "--limit", "3")
    res = json.loads(r.out)
    assert (res["replayed"], res["skipped_existing"], res["events_in_database"]) == (1, 2, 3)
    assert n_events(session) == 3


# --- event import: dates, reject files -----------------------------------------------------------


def test_import_refuses_dates_before_2000_and_after_now(engine: object, session: Session,
                                                        tmp_path: Path) -> None:
    p = write(tmp_path / "old.csv", "\n".join([
        "category_code,title,lon,lat,reported_at",
        f"0101,公元一年,{LON},{LAT},0001-01-01 00:00",
        f"0101,千年虫,{LON},{LAT},1999-12-31T23:59:59+08:00",
        f"0101,最后一刻,{LON},{LAT},9999-12-31T23:59:59-12:00",
        f"0101,刚好,{LON},{LAT},2000-01-01 00:00",
    ]) + "\n")
    r = zz("event", "import", str(p))
    assert (r.code, r.out) == (2, "")
    err = r.err.splitlines()
    assert err[:3] == [
        f"error: {p}: 3 bad row(s), nothing imported; first: line 2, column reported_at: must be on or after "
        "2000-01-01",
        "  line 2, column reported_at: must be on or after 2000-01-01",
        "  line 3, column reported_at: must be on or after 2000-01-01",
    ]
    # 9999-12-31 at UTC-12 is year 10000 in UTC: EventCreate's validator overflows converting it (caught
    # by intake as "date out of range") or, compared without converting, finds it "in the future"
    assert err[3:] in (["  line 4, column reported_at: date out of range"],
                       ["  line 4, column reported_at: in the future"])
    assert n_events(session) == 0


def bad_csv(tmp_path: Path) -> tuple[Path, str]:
    text = "\n".join([
        "category_code,title,description,lon,lat,reported_at,external_id",  # line 1
        f"0101,好的一行,,{LON},{LAT},,C-1",                                 # line 2: good
        f"0101,经度不是数,,abc,{LAT},,C-2",                                 # line 3: lon
        f'0101,"多行\n标题",远古,{LON},{LAT},0001-01-01 00:00,C-3',           # lines 4-5: reported_at
        f"0101,多一列,,{LON},{LAT},,C-4,extra",                             # line 6: too many values
        f"9999,未知分类,,{LON},{LAT},,C-5",                                 # line 7: category
    ]) + "\n"
    return write(tmp_path / "calls.csv", text), text


def test_reject_file_cannot_be_the_input_or_a_directory(engine: object, session: Session,
                                                        tmp_path: Path) -> None:
    p, text = bad_csv(tmp_path)
    (tmp_path / "sub").mkdir()
    link = tmp_path / "link.csv"
    link.symlink_to(p)
    same = "is the input file; the rejects would overwrite it, give another name"
    for reject, why in [
        (p, same),
        (tmp_path / "sub" / ".." / "calls.csv", same),
        (link, same),
        (tmp_path / "sub", "is a directory; give a file name"),
    ]:
        r = zz("event", "import", str(p), "--skip-invalid", "--reject-file", str(reject))
        assert (r.code, r.out, r.err) == (2, "", f"error: --reject-file {reject}: {why}\n")
    r = zz("event", "import", str(p), "--reject-file", str(tmp_path / "r.csv"))
    assert (r.code, r.out, r.err) == (2, "", "error: --reject-file needs --skip-invalid\n")
    assert p.read_text(encoding="utf-8") == text  # the input is untouched
    assert n_events(session) == 0
    assert not (tmp_path / "r.csv").exists()
    # the library refuses too
    from zhizhi.event import intake

    with pytest.raises(InvalidInput) as ei:
        intake.import_file(session, p, "500118", skip_invalid=True, reject_path=link)
    assert ei.value.detail == f"reject file {link}: {same}"


def test_csv_reject_file_can_be_fixed_and_imported_as_it_is(engine: object, session: Session,
                                                            tmp_path: Path) -> None:
    p, _ = bad_csv(tmp_path)
    r = zz("event", "import", str(p), "--skip-invalid")
    assert r.code == 0, r.err
    res = json.loads(r.out)
    rej = tmp_path / "calls.rejects.csv"
    assert (res["rows"], res["imported"], res["rejected_rows"], res["reject_file"]) == (5, 1, 4, str(rej))
    raw = rej.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: spreadsheets read it as UTF-8
    assert raw.decode("utf-8-sig") == "\n".join([
        "error,category_code,title,description,lon,lat,reported_at,external_id",
        f'"line 3, column lon: Input should be a valid number, unable to parse string as a number",'
        f"0101,经度不是数,,abc,{LAT},,C-2",
        f'"line 4, column reported_at: must be on or after 2000-01-01",0101,"多行\n标题",远古,{LON},{LAT},'
        "0001-01-01 00:00,C-3",
        f'"line 6, column row: 8 values for 7 columns",0101,多一列,,{LON},{LAT},,C-4,extra',
        f'"line 7, column category_code: unknown category ""9999""",9999,未知分类,,{LON},{LAT},,C-5',
    ]) + "\n"
    # the clerk fixes the cells and imports the reject file as it is: the error column is ignored
    fixed = (raw.decode("utf-8-sig").replace(",abc,", f",{LON},").replace("0001-01-01", "2026-01-15")
             .replace(",extra", "").replace(",9999,", ",0102,"))
    rej.write_text(fixed, encoding="utf-8-sig")
    r = zz("event", "import", str(rej))
    assert r.code == 0, r.err
    res = json.loads(r.out)
    assert (res["rows"], res["imported"], res["rejected_rows"], res["reject_file"]) == (4, 4, 0, None)
    session.expire_all()
    q = select(Event.external_id, Event.title, Event.category_code).order_by(Event.id)
    rows = session.execute(q).all()
    assert [tuple(x) for x in rows] == [("C-1", "好的一行", "0101"), ("C-2", "经度不是数", "0101"),
                                        ("C-3", "多行\n标题", "0101"), ("C-4", "多一列", "0101"),
                                        ("C-5", "未知分类", "0102")]


def test_jsonl_reject_file_can_be_fixed_and_imported_as_it_is(engine: object, session: Session,
                                                              tmp_path: Path) -> None:
    lines = [
        json.dumps({"category_code": "0101", "title": "好", "lon": LON, "lat": LAT}, ensure_ascii=False),
        '{"category_code": "0101", "title": "坏的 JSON",',
        json.dumps({"category_code": "0101", "title": "没有位置", "error": "旧的"}, ensure_ascii=False),
        json.dumps({"category_code": "0101", "title": "多余的键", "lon": LON, "lat": LAT, "colour": "red"},
                   ensure_ascii=False),
    ]
    p = write(tmp_path / "calls.jsonl", "\n".join(lines) + "\n")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    rej = out_dir / "rej.jsonl"
    r = zz("event", "import", str(p), "--skip-invalid", "--reject-file", str(rej))
    assert r.code == 0, r.err
    res = json.loads(r.out)
    assert (res["rows"], res["imported"], res["rejected_rows"], res["reject_file"]) == (4, 1, 3, str(rej))
    got = rej.read_text(encoding="utf-8").splitlines()
    assert [json.loads(x) for x in got[:2]] == [
        {"error": "line 3, column lon: give lon/lat or an area code", "category_code": "0101",
         "title": "没有位置"},
        {"error": "line 4, column colour: Extra inputs are not permitted", "category_code": "0101",
         "title": "多余的键", "lon": LON, "lat": LAT, "colour": "red"},
    ]
    assert got[2:] == ['{"category_code": "0101", "title": "坏的 JSON",']  # unreadable lines last, as read
    fixed = [
        json.dumps({**json.loads(got[0]), "grid_code": GRID}, ensure_ascii=False),
        json.dumps({k: v for k, v in json.loads(got[1]).items() if k != "colour"}, ensure_ascii=False),
        got[2] + ' "lon": 105.9, "lat": 29.35}',
    ]
    rej.write_text("\n".join(fixed) + "\n", encoding="utf-8")
    r = zz("event", "import", str(rej))
    assert r.code == 0, r.err
    assert json.loads(r.out)["imported"] == 3
    session.expire_all()
    assert list(session.scalars(select(Event.title).order_by(Event.id))) == ["好", "没有位置", "多余的键",
                                                                             "坏的 JSON"]


def test_default_reject_file_name(engine: object, tmp_path: Path) -> None:
    p = write(tmp_path / "calls", f'{{"category_code": "0101", "title": "x", "lon": {LON}}}\n')
    r = zz("event", "import", str(p), "--skip-invalid")
    assert r.code == 0, r.err
    assert json.loads(r.out)["reject_file"] == str(tmp_path / "calls.rejects.jsonl")


# --- a real process ------------------------------------------------------------------------------


def test_real_process_never_prints_a_traceback(engine: object, db_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "ZHIZHI_DATABASE_URL": db_url, "ZHIZHI_DATA_DIR": str(tmp_path / "data")}
    exe = [sys.executable, "-c", "from zhizhi.cli import main; main()"]
    cases = [
        (["ops", "rankings", "--period", "0001"], {}, 2,
         f'error: --period "0001": the year must be 2000 to {NOW_YEAR}\n'),
        (["db", "upgrade", "nonsense"], {}, 2,
         "error: revision \"nonsense\": Can't locate revision identified by 'nonsense'\n"),
        (["org", "import-boundaries", str(tmp_path), "--level", "town"], {}, 2,
         f"error: {tmp_path}: is a directory, not a GeoJSON file\n"),
        (["event", "routing-add", "--unit", "x", "--priority", "99999999999999999999"], {}, 2,
         "error: Invalid value for '--priority': Input should be less than or equal to 1000 "
         "(see: zhizhi event routing-add --help)\n"),
        (["org", "stats"], {"ZHIZHI_MERGE_RADIUS_M": "far"}, 2,
         "error: settings (ZHIZHI_* environment variables): ZHIZHI_MERGE_RADIUS_M: Input should be a valid "
         "number, unable to parse string as a number\n"),
    ]
    for args, extra, code, err in cases:
        r = subprocess.run([*exe, *args], env={**env, **extra}, capture_output=True, text=True, timeout=60)
        # the real program name is "-c" here
        assert (r.returncode, r.stdout, r.stderr.replace("-c event", "zhizhi event")) == (code, "", err), args


def test_a_command_run_against_a_database_that_was_never_set_up_says_so(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "zhizhi"
    env = {**os.environ, "ZHIZHI_DATABASE_URL": "sqlite:///var/zhizhi.db", "ZHIZHI_DATA_DIR": str(tmp_path)}
    r = subprocess.run(
        [str(exe), "registry", "count"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith(
        f"error: the database sqlite:///var/zhizhi.db (relative to this directory: {tmp_path.resolve()}"
        "/var/zhizhi.db) has no zhizhi tables: run the command in the project directory after `make run`"
    ), r.stderr
    assert "Traceback" not in r.stderr
