"""``registry conflicts | resolve | count | history`` (registry/cli_query.py) on a small typer app built
as the root command builds its groups: JSON on stdout, one ``error:`` line and exit 2 on bad input.

Every person here is GENERATED (see conftest)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from zhizhi.cli import OneLineErrors, _typer
from zhizhi.core.db import session_factory
from zhizhi.registry import service
from zhizhi.registry.cli_query import registry_query_commands

from .conftest import GRID1, GRID2, GRID_ACTOR, SYSTEM_ACTOR, TOWN, VILLAGE, gen_id

GONGAN = "import:gongan-hukou"


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    root = _typer("test root", cls=OneLineErrors)
    group = _typer("Registers")
    registry_query_commands(group)
    root.add_typer(group, name="registry")
    return root


def zz(app: typer.Typer, *args: str) -> tuple[int, Any, str]:
    r = CliRunner().invoke(app, ["registry", *args], prog_name="zhizhi")
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    body = json.loads(r.stdout) if r.exit_code == 0 and r.stdout.strip() else r.stdout
    return r.exit_code, body, r.stderr


@pytest.fixture
def stored(engine: Engine) -> Iterator[dict[str, int]]:
    """Two generated residents (grid 1 and grid 2) and one open conflict on the first one's name."""
    with session_factory(engine)() as s:
        ids = _store(s)
        s.commit()
    yield ids


def _store(s: Session) -> dict[str, int]:
    a = service.upsert_resident(
        s, SYSTEM_ACTOR, {"citizen_id": gen_id("19400501", 1), "name": "张测试", "grid_code": GRID1,
                          "phone": "13800001234", "tags": ["高龄"]}, GONGAN,
    ).id  # fmt: skip
    b = service.upsert_resident(
        s, SYSTEM_ACTOR, {"citizen_id": gen_id("19800101", 3), "name": "李测试", "grid_code": GRID2}, GONGAN
    ).id
    c = service.upsert_resident(
        s, GRID_ACTOR, {"citizen_id": gen_id("19400501", 1), "name": "张测试改"}, f"grid:{GRID1}"
    ).conflicts[0]
    return {"a": a, "b": b, "conflict": c}


def test_conflicts_then_resolve_as_a_person(app: typer.Typer, stored: dict[str, int]) -> None:
    code, body, err = zz(app, "conflicts")
    assert (code, err, body["total"]) == (0, "", 1)
    (c,) = body["items"]
    assert (c["id"], c["field"], c["current"], c["proposed"]) == (stored["conflict"], "name", "张**", "张***")
    assert zz(app, "conflicts", "--as", f"{GRID2}.worker")[1]["total"] == 0  # not in that grid
    cid = str(stored["conflict"])
    code, _, err = zz(app, "resolve", cid, "--accept")
    assert code == 2 and err.startswith("error: --as USERNAME is required")
    code, _, err = zz(app, "resolve", cid, "--accept", "--as", f"{GRID1}.worker")
    assert code == 2 and err.startswith('error: role "grid_worker" may not') and "(registry.resolve)" in err
    code, _, err = zz(app, "resolve", cid, "--as", f"{TOWN}.duty")
    assert (code, err) == (2, "error: say --accept or --reject\n")
    code, body, err = zz(app, "resolve", cid, "--reject", "--note", "户籍照片为准", "--as", f"{TOWN}.duty")
    assert (code, err) == (0, "")
    assert (body["status"], body["resolved_by"], body["note"]) == ("rejected", f"{TOWN}.duty", "户籍照片为准")
    code, _, err = zz(app, "resolve", cid, "--accept", "--as", f"{TOWN}.duty")
    assert code == 2 and "was already rejected" in err
    assert zz(app, "conflicts", "--status", "all")[1]["total"] == 1


def test_count_by_and_as_a_scoped_user(app: typer.Typer, stored: dict[str, int]) -> None:
    code, body, err = zz(app, "count", "--as-of", "2026-11-30")
    assert (code, err) == (0, "")
    assert body == {"as_of": "2026-11-30", "known_at": None, "by": "village", "counts": {VILLAGE: 2}}
    assert zz(app, "count", "--by", "grid")[1]["counts"] == {GRID1: 1, GRID2: 1}
    assert zz(app, "count", "--by", "grid", "--as", f"{GRID1}.worker")[1]["counts"] == {GRID1: 1}
    assert zz(app, "count", "--by", "total", "--tag", "gaoling", "--min-age", "80")[1]["counts"] == {
        "total": 1
    }
    ages = zz(app, "count", "--by", "age_band", "--as-of", "2026-11-30")[1]["counts"]
    assert ages == {"0-17": 0, "18-59": 1, "60-79": 0, "80+": 1}
    # before they were recorded, the register was empty: the same question, as known then
    code, body, _ = zz(app, "count", "--by", "total", "--known-at", "2026-01-01T08:00")
    assert code == 0 and body["counts"] == {"total": 0}
    assert body["known_at"] == "2026-01-01T00:00:00+00:00"  # 08:00 Beijing time
    assert zz(app, "count", "--by", "status")[1]["counts"] == {"active": 2}


def test_history_is_masked_and_scoped(app: typer.Typer, stored: dict[str, int]) -> None:
    code, body, err = zz(app, "history", "resident", str(stored["a"]))
    assert (code, err) == (0, "")
    assert [(h["source"], h["new"].get("name"), h["new"].get("phone")) for h in body] == [
        (GONGAN, "张**", "138****1234")
    ]
    code, _, err = zz(app, "history", "resident", str(stored["b"]), "--as", f"{GRID1}.worker")
    assert (code, err) == (2, f"error: resident {stored['b']} not found\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("count", "--by", "colour"), 'error: --by "colour": use one of total, town'),
        (("count", "--as-of", "2026-13-01"), 'error: --as-of "2026-13-01" is not a date (YYYY-MM-DD)'),
        (("count", "--as-of", "1800-01-01"), 'error: --as-of "1800-01-01": give a date from 1900-01-01'),
        (("count", "--known-at", "yesterday"), 'error: --known-at "yesterday" is not an ISO date-time'),
        (("count", "--status", "alive"), 'error: --status "alive": use one of active'),
        (("count", "--tag", "vip"), "error: tags: unknown tag 'vip'"),
        (("count", "--as", "nobody"), 'error: unknown or disabled user "nobody"'),
        (("history", "planet", "1"), 'error: kind "planet": use resident, household, house or unit'),
        (
            ("history", "resident", "0"),
            "error: Invalid value for 'ID': Input should be greater than or equal to 1",
        ),
        (("conflicts", "--status", "closed"), 'error: status: "closed" is not one of open'),
        (("conflicts", "--entity", "planet"), 'error: --entity "planet": use resident'),
        (("conflicts", "--as", "500118.leader"), 'error: role "leader" may not'),
    ],
)
def test_bad_input_is_one_error_line_and_exit_2(
    app: typer.Typer, engine: Engine, args: tuple[str, ...], message: str
) -> None:
    code, _, err = zz(app, *args)
    assert code == 2 and err.startswith(message), err
    assert err.count("\n") == 1
