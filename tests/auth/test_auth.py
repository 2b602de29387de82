"""Accounts, sign-in, sessions with CSRF, API tokens (issue 3, first step)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from zhizhi.auth import rules, service
from zhizhi.core import http
from zhizhi.core import time as ztime
from zhizhi.core.config import get_settings
from zhizhi.core.errors import InvalidInput, Unauthorized
from zhizhi.org.models import Staff

GOOD = "Yongchuan2026safe"


@pytest.mark.parametrize(
    ("pw", "problems"),
    [
        ("short1", ["at least 12 characters"]),
        ("onlyletterslong", ["both letters and digits"]),
        ("123456789012", ["both letters and digits"]),
        ("xyz.clerk2026abc", ["must not contain the username"]),
        (GOOD, []),
    ],
)
def test_password_policy(pw: str, problems: list[str]) -> None:
    assert rules.password_problems(pw, "xyz.clerk") == problems


def test_lockout_backs_off_exponentially() -> None:
    assert [rules.lock_for(n) for n in (1, 4)] == [None, None]
    assert [rules.lock_for(n) for n in (5, 6, 7)] == [
        timedelta(minutes=1),
        timedelta(minutes=2),
        timedelta(minutes=4),
    ]
    assert rules.lock_for(50) == timedelta(hours=1)


def add(
    session: Session, username: str = "clerk.a", role: str = "town_duty", org: str = "500118001000-ZHZX"
) -> Staff:
    u = service.add_user(session, username, "测试", role, org, GOOD)
    session.commit()
    return u


@pytest.fixture
def no_header(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "trust_user_header", False)
    http._actors.clear()


def test_add_user_refuses_bad_input_by_name(session: Session) -> None:
    with pytest.raises(InvalidInput, match='unknown role "boss"'):
        service.add_user(session, "x1", "", "boss", "500118-CYZX")
    with pytest.raises(InvalidInput, match='unknown org unit "nowhere"'):
        service.add_user(session, "x1", "", "leader", "nowhere")
    with pytest.raises(InvalidInput, match="username"):
        service.add_user(session, "bad name!", "", "leader", "500118-CYZX")
    with pytest.raises(InvalidInput, match="password needs: at least 12 characters"):
        service.add_user(session, "x2", "", "leader", "500118-CYZX", "short1")


def test_one_message_for_every_failed_sign_in_and_lockout(session: Session) -> None:
    add(session, "clerk.b")
    for who, pw in (("nobody", GOOD), ("clerk.b", "WrongPassword1")):
        with pytest.raises(Unauthorized) as e:
            service.authenticate(session, who, pw)
        assert e.value.detail == service.BAD_LOGIN
    now = ztime.utcnow()
    for _ in range(4):  # 5 failures in all
        with pytest.raises(Unauthorized):
            service.authenticate(session, "clerk.b", "WrongPassword1", now)
    with pytest.raises(Unauthorized) as e:  # right password, but locked for a minute
        service.authenticate(session, "clerk.b", GOOD, now + timedelta(seconds=30))
    assert e.value.detail == service.BAD_LOGIN
    actor = service.authenticate(session, "clerk.b", GOOD, now + timedelta(minutes=2))
    assert (actor.username, actor.role, actor.town_code) == ("clerk.b", "town_duty", "500118001000")
    u = session.query(Staff).filter_by(username="clerk.b").one()
    assert (u.failed_logins, u.locked_until) == (0, None)
    assert u.password_hash is not None and u.password_hash.startswith("$argon2id$")


def test_browser_session_with_csrf(client: TestClient, session: Session, no_header: None) -> None:
    add(session, "clerk.c")
    r = client.post("/api/v1/auth/login", json={"username": "clerk.c", "password": "nope-nope-123"})
    assert r.status_code == 401 and r.json()["detail"] == service.BAD_LOGIN
    r = client.post("/api/v1/auth/login", json={"username": "clerk.c", "password": GOOD})
    assert r.status_code == 200
    cookie = r.headers["set-cookie"]
    assert "zz_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    csrf = r.json()["csrf_token"]
    assert client.get("/api/v1/auth/me").json()["username"] == "clerk.c"
    body = {"category_code": "0101", "title": "x", "lon": 105.898213, "lat": 29.352365}
    r = client.post("/api/v1/events", json=body)
    assert r.status_code == 403 and "X-CSRF-Token" in r.json()["detail"]
    assert client.post("/api/v1/events", json=body, headers={"X-CSRF-Token": csrf}).status_code == 201
    assert client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert client.get("/api/v1/auth/me").status_code == 401


def test_bearer_tokens_work_until_revoked(client: TestClient, session: Session, no_header: None) -> None:
    add(session, "clerk.d")
    t, secret = service.create_token(session, "clerk.d", "script")
    session.commit()
    assert secret.startswith("zz_") and t.token_hash == rules.digest(secret) and secret not in t.token_hash
    auth = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/auth/me", headers=auth).json()["username"] == "clerk.d"
    service.revoke_token(session, t.id)
    session.commit()
    http._actors.clear()  # the few-second cache (ACTOR_TTL_S) would otherwise still know it
    r = client.get("/api/v1/auth/me", headers=auth)
    assert r.status_code == 401 and "revoked" in r.json()["detail"]
    assert client.get("/api/v1/auth/me", headers={"Authorization": "Basic abc"}).status_code == 401


def test_the_user_header_is_ignored_unless_trusted(client: TestClient, no_header: None) -> None:
    r = client.get("/api/v1/events", headers={"X-Zhizhi-User": "500118.duty"})
    assert r.status_code == 401 and "sign in" in r.json()["detail"]


def test_disabling_a_user_ends_tokens_and_sign_in(
    client: TestClient, session: Session, no_header: None
) -> None:
    add(session, "clerk.e")
    _, secret = service.create_token(session, "clerk.e", "s")
    service.disable_user(session, "clerk.e")
    session.commit()
    assert client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    with pytest.raises(Unauthorized):
        service.authenticate(session, "clerk.e", GOOD)


def test_sign_ins_are_audited_and_the_chain_verifies(
    client: TestClient, session: Session, no_header: None
) -> None:
    from zhizhi.core import audit

    add(session, "clerk.f")
    assert (
        client.post(
            "/api/v1/auth/login", json={"username": "clerk.f", "password": "Wrong-pass-123"}
        ).status_code
        == 401
    )
    assert (
        client.post("/api/v1/auth/login", json={"username": "clerk.f", "password": GOOD}).status_code == 200
    )
    rows = audit.search(session, actor="clerk.f")
    assert [r.action for r in rows][:2] == ["login", "login_failed"]
    assert audit.verify(session).ok
    # only auditors read the log
    assert client.get("/api/v1/audit").status_code == 403  # clerk.f's session: a town duty officer
    _, secret = service.create_token(session, "500118.chief", "audit")
    session.commit()
    r = client.get(
        "/api/v1/audit", params={"actor": "clerk.f"}, headers={"Authorization": f"Bearer {secret}"}
    )
    assert r.status_code == 200 and [i["action"] for i in r.json()["items"]][:2] == ["login", "login_failed"]
    v = client.get("/api/v1/audit/verify", headers={"Authorization": f"Bearer {secret}"}).json()
    assert v["ok"] is True and v["first_bad_id"] is None


def test_full_view_of_personal_data_needs_the_role_and_a_reason_and_is_audited(
    client: TestClient, session: Session
) -> None:
    from zhizhi.core import audit

    body = {
        "category_code": "0101",
        "title": "x",
        "lon": 105.898213,
        "lat": 29.352365,
        "reporter_name": "王小明",
        "reporter_phone": "13812345678",
    }
    ev = client.post("/api/v1/events", json=body, headers={"X-Zhizhi-User": "500118.duty"}).json()
    assert (ev["reporter_name"], ev["reporter_phone"]) == ("王**", "138****5678")
    url = f"/api/v1/events/{ev['id']}/personal"
    r = client.post(url, json={"reason": "回访核实"}, headers={"X-Zhizhi-User": "500118.duty"})
    assert r.status_code == 403
    chief = {"X-Zhizhi-User": "500118.chief"}
    assert client.post(url, json={}, headers=chief).status_code == 422
    r = client.post(url, json={"reason": "回访核实诉求"}, headers=chief)
    assert r.status_code == 200
    assert (r.json()["reporter_name"], r.json()["reporter_phone"]) == ("王小明", "13812345678")
    row = audit.search(session, action="personal.full_view", object_id=str(ev["id"]))[0]
    assert (row.actor, row.reason, row.object_type) == ("500118.chief", "回访核实诉求", "event")
    assert (
        client.post("/api/v1/events/2147483000/personal", json={"reason": "xxxx"}, headers=chief).status_code
        == 404
    )
