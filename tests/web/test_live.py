"""Live updates: who hears of a change (scope, confidential categories), the broadcaster's queues,
the post-commit hook of the event service (nothing announced for a rolled-back change), and the
server-sent event stream on a real server."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests.conftest import as_user
from tests.web.conftest import HOME, PASSWORD, TOWN, Live
from zhizhi.core.access import Actor
from zhizhi.event import service as events
from zhizhi.event.service import notify
from zhizhi.web import live

GRID = "500118001001003"


def actor(role: str, unit: str, town: str | None = None, **kw: Any) -> Actor:
    return Actor(
        id=kw.pop("id", 7),
        username="u",
        name="u",
        role=role,
        unit_code=unit,
        district_code="500118",
        town_code=town,
        **kw,
    )


def change(**kw: Any) -> dict[str, Any]:
    base = {
        "id": 1, "action": "report", "node": "reported", "version": 1, "district_code": "500118",
        "town_code": TOWN, "grid_code": GRID, "unit_code": None, "dispatch_count": 0, "reporter_id": None,
        "category_code": "0101", "colour": "green", "urgency": "normal", "overdue": False,
        "supervised": False, "is_drill": False, "lon": HOME[0], "lat": HOME[1],
    }  # fmt: skip
    return {**base, **kw}


def test_who_hears_of_a_change_follows_the_data_scope() -> None:
    c = change()
    assert live.visible(actor("center_duty", "500118-CYZX"), c)
    assert live.visible(actor("town_duty", f"{TOWN}-ZHZX", TOWN), c)
    assert not live.visible(actor("town_duty", "500118002000-ZHZX", "500118002000"), c)
    assert live.visible(actor("grid_worker", GRID, TOWN), c)
    assert not live.visible(actor("grid_worker", "500118001001001", TOWN), c)
    assert live.visible(
        actor("grid_worker", "500118001001001", TOWN, id=9), change(reporter_id=9)
    )  # own report
    handler = actor("dept_handler", "500118-CGJ")
    assert not live.visible(handler, c)
    # a unit holding a pre-plan task on another town's event hears of it (it may open the event)
    other_town = actor("town_duty", "500118002000-ZHZX", "500118002000")
    assert live.visible(other_town, change(task_units=["500118-LYJ", "500118002000-ZHZX"]))
    assert not live.visible(other_town, change(task_units=["500118-LYJ"]))
    assert live.visible(handler, change(task_units=["500118-CGJ"]))
    assert live.visible(handler, change(unit_code="500118-CGJ", dispatch_count=1))
    assert not live.visible(actor("center_duty", "500118-CYZX"), change(district_code="500101"))
    assert not live.visible(actor("center_duty", "500118-CYZX"), change(is_drill=True))


def test_a_confidential_category_reaches_only_its_handling_chain() -> None:
    secret = events.confidential_codes()[0]
    c = change(category_code=secret)
    assert live.visible(actor("center_duty", "500118-CYZX"), c)  # holds event.confidential
    assert not live.visible(actor("town_duty", f"{TOWN}-ZHZX", TOWN), c)
    assert live.visible(actor("town_duty", f"{TOWN}-ZHZX", TOWN, grants=frozenset({secret})), c)
    assert live.visible(
        actor("board_staff", f"{TOWN}-MS", TOWN),
        change(category_code=secret, unit_code=f"{TOWN}-MS", dispatch_count=1),
    )


def test_the_broadcaster_queues_filters_coalesces_and_resyncs() -> None:
    engine, other = object(), object()

    async def scenario() -> list[list[dict[str, Any]]]:
        b = live.Broadcaster()
        town = b.subscribe(actor("town_duty", f"{TOWN}-ZHZX", TOWN), engine)  # type: ignore[arg-type]
        far = b.subscribe(actor("town_duty", "500118002000-ZHZX", "500118002000"), engine)  # type: ignore[arg-type]
        elsewhere = b.subscribe(actor("town_duty", f"{TOWN}-ZHZX", TOWN), other)  # type: ignore[arg-type]
        # published from another thread, as after a commit in a request's worker thread
        t = threading.Thread(target=b.publish, args=(engine, [change(id=1), change(id=2, node="accepted")]))
        t.start()
        t.join()
        b.publish(engine, [change(id=i) for i in range(live.BULK + 1)])  # type: ignore[arg-type]
        await asyncio.sleep(0.05)
        got = []
        for sub in (town, far, elsewhere):
            msgs = []
            while not sub.queue.empty():
                msgs.append(sub.queue.get_nowait())
            got.append(msgs)
        # a subscriber that falls behind gets one resync
        for i in range(live.QUEUE_SIZE + 5):
            town.offer({"type": "change", "id": i})
        got.append([town.queue.get_nowait() for _ in range(town.queue.qsize())])
        b.unsubscribe(town)
        assert b.count == 2
        return got

    # in a thread of its own: the browser tests' Playwright keeps an event loop in the main thread
    result: list[list[list[dict[str, Any]]]] = []
    runner = threading.Thread(target=lambda: result.append(asyncio.run(scenario())))
    runner.start()
    runner.join(10)
    town, far, elsewhere, behind = result[0]
    assert [(m["type"], m.get("id"), m.get("node")) for m in town] == [
        ("change", 1, "reported"),
        ("change", 2, "accepted"),
        ("bulk", None, None),
    ]
    assert town[2]["count"] == live.BULK + 1
    assert set(town[0]) == {"type", *live.SENT_FIELDS}  # no reporter, unit or district sent
    assert far == [] and elsewhere == []
    assert behind == [{"type": "resync"}]


@pytest.fixture
def heard() -> Iterator[list[dict[str, Any]]]:
    got: list[dict[str, Any]] = []

    def listener(_engine: Engine, changes: list[dict[str, Any]]) -> None:
        got.extend(changes)

    notify.subscribe(listener)
    yield got
    notify.unsubscribe(listener)


def test_changes_are_announced_after_the_commit_and_never_for_a_rollback(
    client: TestClient, heard: list[dict[str, Any]]
) -> None:
    duty = as_user("500118.duty")
    r = client.post(
        "/api/v1/events",
        json={"category_code": "0101", "title": "通知", "lon": HOME[0], "lat": HOME[1]},
        headers=duty,
    )
    eid = r.json()["id"]
    assert [(c["id"], c["action"], c["node"], c["grid_code"]) for c in heard] == [
        (eid, "report", "reported", GRID)
    ]
    bad = client.post(f"/api/v1/events/{eid}/transitions", json={"action": "close"}, headers=duty)
    assert bad.status_code == 409 and len(heard) == 1
    ok = client.post(f"/api/v1/events/{eid}/transitions", json={"action": "accept"}, headers=duty)
    assert ok.status_code == 200
    assert [(c["id"], c["action"], c["node"], c["version"]) for c in heard[1:]] == [
        (eid, "accept", "accepted", 2)
    ]


# --- the stream on a real server ---------------------------------------------------------------------


def _sign_in(url: str, username: str) -> tuple[httpx.Client, str]:
    c = httpx.Client(base_url=url, timeout=10)
    r = c.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return c, str(r.json()["csrf_token"])


class Reader(threading.Thread):
    """Reads one SSE stream in the background, collecting (event, data) pairs."""

    def __init__(self, client: httpx.Client) -> None:
        super().__init__(daemon=True)
        self.client = client
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.status = 0
        self.ready = threading.Event()

    def run(self) -> None:
        with self.client.stream("GET", "/api/v1/stream") as r:
            self.status = r.status_code
            self.headers = r.headers
            kind = ""
            for line in r.iter_lines():
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    self.events.append((kind, json.loads(line[6:])))
                    if kind == "hello":
                        self.ready.set()
                    if kind == "change" and len([e for e in self.events if e[0] == "change"]) >= 1:
                        return

    def wait(self, kind: str, timeout: float) -> dict[str, Any]:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for k, d in self.events:
                if k == kind:
                    return d
            time.sleep(0.02)
        raise AssertionError(f"no {kind} within {timeout} s: {self.events}")


@pytest.mark.slow
def test_the_stream_needs_a_sign_in(live_server: Live) -> None:
    r = httpx.get(live_server.url + "/api/v1/stream", timeout=5)
    assert r.status_code == 401


@pytest.mark.slow
def test_a_change_reaches_the_streams_in_scope_within_2_s_and_no_other(live_server: Live) -> None:
    url = live_server.url
    leader, _ = _sign_in(url, live_server.users["leader"])
    other, other_csrf = _sign_in(url, live_server.users["other_worker"])
    worker, csrf = _sign_in(url, live_server.users["grid_worker"])
    readers = [Reader(leader), Reader(other)]
    for r in readers:
        r.start()
        assert r.ready.wait(5), r.events
    assert readers[0].headers["content-type"].startswith("text/event-stream")
    t0 = time.monotonic()
    ev = worker.post(
        "/api/v1/events",
        headers={"X-CSRF-Token": csrf},
        json={"category_code": "0101", "title": "推送", "lon": HOME[0], "lat": HOME[1]},
    ).json()
    got = readers[0].wait("change", 2.0)
    assert time.monotonic() - t0 < 2.0
    assert (got["id"], got["action"], got["node"], got["town_code"]) == (ev["id"], "report", "reported", TOWN)
    assert "title" not in got and "reporter_id" not in got
    # the worker of another town's grid heard nothing of it: its first change is its own report
    own = other.post(
        "/api/v1/events",
        headers={"X-CSRF-Token": other_csrf},
        json={"category_code": "0101", "title": "另一网格", "grid_code": live_server.other_grid},
    ).json()
    assert readers[1].wait("change", 2.0)["id"] == own["id"]
    for c in (leader, other, worker):
        c.close()
