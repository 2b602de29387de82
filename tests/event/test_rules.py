"""State machine, colours and similarity rules (no database)."""

import pytest

from zhizhi.event import rules
from zhizhi.event.rules import Node, TransitionError, check_transition


def test_the_standard_loop_is_allowed_for_the_right_roles() -> None:
    path = [
        ("accept", "reported", "center_duty", "accepted"),
        ("register", "accepted", "town_duty", "registered"),
        ("dispatch", "registered", "center_duty", "dispatched"),
        ("sign", "dispatched", "dept_handler", "signed"),
        ("handle", "signed", "dept_handler", "handled"),
        ("verify_pass", "handled", "grid_worker", "verified"),
        ("close", "verified", "center_duty", "closed"),
        ("evaluate", "closed", "center_duty", "evaluated"),
    ]
    given = {"comment": "x", "unit_code": "U", "satisfaction": 5}
    for action, node, role, target in path:
        tr = check_transition(action, node, role, given)
        assert tr.target == Node(target)


@pytest.mark.parametrize(
    ("action", "node", "role", "status", "needle"),
    [
        ("close", "signed", "center_duty", 409, 'at node "signed"'),
        ("dispatch", "registered", "grid_worker", 403, 'role "grid_worker" may not 派遣'),
        ("return", "dispatched", "dept_handler", 422, 'needs "comment"'),
        ("fly", "reported", "center_duty", 422, 'unknown action "fly"'),
        ("accept", "reported", "leader", 403, "may not 受理"),
    ],
)
def test_illegal_moves_are_refused_with_a_clear_reason(
    action: str, node: str, role: str, status: int, needle: str
) -> None:
    with pytest.raises(TransitionError) as exc:
        check_transition(action, node, role, {})
    assert exc.value.status == status
    assert needle in str(exc.value)


def test_return_goes_back_to_the_dispatcher_and_rework_back_to_handling() -> None:
    assert rules.TRANSITIONS["return"].target == Node.REGISTERED
    assert rules.TRANSITIONS["verify_fail"].target == Node.SIGNED
    assert rules.TRANSITIONS["reopen"].target == Node.DISPATCHED


def test_allowed_actions_for_buttons() -> None:
    assert rules.allowed_actions("dispatched", "dept_handler") == ["sign", "return", "request_extension"]
    assert rules.allowed_actions("closed", "leader") == []


@pytest.mark.parametrize(
    ("used", "limit", "colour"),
    [
        (0, 4, "green"),
        (1.99, 4, "green"),
        (2, 4, "blue"),
        (3.2, 4, "yellow"),
        (4, 4, "orange"),
        (5.99, 4, "orange"),
        (6, 4, "red"),
        (3, None, "green"),
        (3, 0, "green"),
    ],
)
def test_five_colours(used: float, limit: float | None, colour: str) -> None:
    assert rules.colour(used, limit) == colour


def test_haversine_and_similarity() -> None:
    # 0.0005° of latitude ≈ 55.6 m
    d = rules.haversine_m(105.9, 29.35, 105.9, 29.3505)
    assert d == pytest.approx(55.6, abs=0.2)
    assert rules.is_similar("0101", "0101", 49.9, 23.9)
    assert not rules.is_similar("0101", "0101", 50.1, 1)
    assert not rules.is_similar("0101", "0101", 10, 24.1)
    assert not rules.is_similar("0101", "0102", 1, 1)


def test_next_check_is_the_next_moment_something_can_change() -> None:
    from datetime import datetime, timedelta

    from zhizhi.core.time import LOCAL_TZ

    t0 = datetime(2026, 11, 3, 9, 0, tzinfo=LOCAL_TZ)
    deadline = t0 + timedelta(minutes=30)

    def at(minutes: float) -> datetime:
        return t0 + timedelta(minutes=minutes)

    def nxt(minutes: float) -> datetime | None:
        return rules.next_check(t0, deadline, at(minutes), 0.5, "continuous", minutes / 30, 0.8)

    assert nxt(0) == at(15)  # blue at 50 %
    assert nxt(15) == at(24)  # 预警 at 80 %
    assert nxt(25) == at(30)  # orange at 100 %
    assert nxt(30) == at(30) + timedelta(microseconds=1)  # overdue just after the deadline
    assert nxt(31) == at(45)  # red at 150 %
    assert nxt(50) == at(60)  # escalation at 200 %
    assert nxt(61) is None  # nothing left to change
