"""The big screen for a past day (``?as_of=``): nodes, 五色 colours and 超期 rebuilt from the timelines
(web/history.py), and the summary of a day of the real replayed citizen messages (2018-12-25).

Data: the real messages of ``event/data/teddycup2020c_messages_replies.csv`` (the first 60, replayed
through the loop by ``zhizhi.event.replay``: real text and times, GENERATED locations and intermediate
node times, see event/data/SOURCES.md) and, for the timeline rules, events made here (GENERATED).
"""

from __future__ import annotations

import csv
from datetime import date, datetime, timedelta
from importlib import resources
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from tests.conftest import as_user
from zhizhi.core import time as ztime
from zhizhi.core.db import session_factory
from zhizhi.event import replay
from zhizhi.event import service as events
from zhizhi.event.schemas import EventCreate, TransitionIn
from zhizhi.web import history

SYSTEM = events.system_actor("500118")
LEADER = as_user("500118.leader")
REPLAYED = 60
DAY = date(2018, 12, 25)  # 5 of the first 60 real messages were written that day


def local(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ztime.LOCAL_TZ)


def report(session: Session, at: datetime) -> int:
    ev = events.create_event(
        session,
        SYSTEM,
        EventCreate(category_code="0101", title="回放规则(生成)", town_code="500118001000", reported_at=at),
        propose_merges=False,
    )
    return int(ev.id)


def move(session: Session, eid: int, action: str, at: datetime, **kw: Any) -> None:
    events.transition(session, SYSTEM, eid, TransitionIn(action=action, **kw), at=ztime.to_utc(at))


def known(session: Session, eid: int) -> history.Known:
    ev = events.get_event(session, SYSTEM, eid)
    return history.Known(ev.id, ev.node, ev.node_entered_at, ev.node_limit, ev.reported_at)


def test_the_state_at_an_instant_comes_from_the_timeline(session: Session) -> None:
    # 0101 暴露垃圾: 受理 within 0.5 h (continuous), 立案 within 0.5 working hours
    r = local(2025, 3, 3, 9, 0)  # a Monday
    a = report(session, r)
    move(session, a, "remind", r + timedelta(minutes=15), comment="催办")  # same node: entry unchanged
    move(session, a, "accept", r + timedelta(minutes=50))  # 20 min late
    move(session, a, "register", r + timedelta(minutes=55))
    b = report(session, r)  # never moved: still 待受理
    session.flush()
    ka, kb = known(session, a), known(session, b)

    def at(minutes: int) -> dict[int, history.StateAt]:
        return history.states_at(session, [ka, kb], ztime.to_utc(r + timedelta(minutes=minutes)))

    assert at(10)[a] == history.StateAt("reported", "green", False)  # 10 of 30 min
    assert at(20)[a] == history.StateAt("reported", "blue", False)  # 2/3 of the limit
    assert at(28)[a] == history.StateAt("reported", "yellow", False)  # > 80 %
    assert at(40)[a] == history.StateAt("reported", "orange", True)  # 40 of 30 min: 超期
    assert at(52)[a] == history.StateAt("accepted", "green", False)  # 2 min of 0.5 working hours
    assert at(60 * 24)[a].node == "registered"  # the current node, with the event's own limit
    assert at(120)[b] == history.StateAt("reported", "red", True)  # 4 × its limit
    assert at(-5)[a] == history.StateAt("reported", "green", False)  # before the report: no clock yet
    assert not history.StateAt("closed", "green", False).open and history.StateAt("signed", "red", True).open


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("0.5 working_hours", (0.5, ztime.ClockType.working_hours)),
        ("3 natural_days", (3.0, ztime.ClockType.natural_days)),
        (None, None),
        ("", None),
        ("0.5", None),
        ("half working_hours", None),
        ("1 lunar_days", None),
    ],
)
def test_a_stored_limit_is_parsed_or_ignored(text: str | None, parsed: Any) -> None:
    assert history.parse_limit(text) == parsed


@pytest.fixture
def replayed(engine: Engine) -> list[dict[str, str]]:
    """The first :data:`REPLAYED` real messages replayed through the loop (committed)."""
    with session_factory(engine)() as s:
        replay.replay(s, "500118", limit=REPLAYED)
        s.commit()
    path = resources.files("zhizhi.event") / "data" / replay.SOURCE_FILE
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))[:REPLAYED]


def test_a_day_of_the_replayed_messages_as_it_stood_at_its_end(
    client: TestClient, replayed: list[dict[str, str]]
) -> None:
    end = datetime.combine(DAY + timedelta(days=1), datetime.min.time())  # 北京时间, naive as the file
    on_day = [r for r in replayed if r["created_at"][:10] == DAY.isoformat()]
    when = datetime.fromisoformat
    open_then = [r for r in replayed if when(r["created_at"]) < end <= when(r["replied_at"])]
    closed_on_day = [r for r in replayed if r["replied_at"][:10] == DAY.isoformat()]
    assert (len(on_day), len(open_then)) == (5, 24)  # counted from the file itself

    s = client.get("/api/v1/screen/summary", params={"as_of": DAY.isoformat()}, headers=LEADER).json()
    assert (s["day"], s["replay"], s["as_of"]) == ("2018-12-25", True, "2018-12-25T23:59:59+08:00")
    assert s["today"]["reported"] == 5 and s["today"]["closed"] == len(closed_on_day)
    assert s["today"]["open"] == len(open_then) and s["today"]["urgent"] == 0
    assert 0 <= s["today"]["overdue"] <= s["today"]["open"]
    assert s["trend"]["days"][-1] == "2018-12-25" and s["trend"]["reported"][-1] == 5
    assert s["month"]["period"] == "2018-12"
    assert sum(t["today"] for t in s["towns"].values()) == 5
    assert len(s["points"]) == 5  # located (generated points), reported that day
    # the latest reports up to the day's end, each at the node it was in then (from its timeline)
    assert [r["reported_at"][:10] for r in s["recent"][:5]] == ["2018-12-25"] * 5
    for item in s["recent"]:
        ev = client.get(f"/api/v1/events/{item['id']}", headers=LEADER).json()
        then = [st for st in ev["timeline"] if when(st["at"]) < end.replace(tzinfo=ztime.LOCAL_TZ)]
        assert item["node"] == then[-1]["to_node"], item
        assert ev["node"] == "closed"  # today they are all closed
    assert {r["node"] for r in s["recent"]} != {"closed"}  # …but not all were then

    after = client.get("/api/v1/screen/summary", params={"as_of": "2020-06-01"}, headers=LEADER).json()
    assert after["today"] == {"reported": 0, "closed": 0, "open": 0, "overdue": 0, "urgent": 0}
    assert {r["node"] for r in after["recent"]} == {"closed"} and len(after["recent"]) == 12
    before = client.get("/api/v1/screen/summary", params={"as_of": "2011-01-01"}, headers=LEADER).json()
    assert before["recent"] == [] and before["today"]["open"] == 0


def test_as_of_must_be_a_day_from_2000_to_today(client: TestClient) -> None:
    tomorrow = ztime.to_local(ztime.utcnow()).date() + timedelta(days=1)
    for bad in (tomorrow.isoformat(), "1999-12-31"):
        r = client.get("/api/v1/screen/summary", params={"as_of": bad}, headers=LEADER)
        assert r.status_code == 422 and "as_of" in r.text
    url = "/api/v1/screen/summary"
    assert client.get(url, params={"as_of": "2018-13-01"}, headers=LEADER).status_code == 422
    day = ztime.to_local(ztime.utcnow()).date().isoformat()
    today = client.get(url, params={"as_of": day}, headers=LEADER).json()
    assert today["replay"] is False  # today is live
