"""Rate limits on sign-in and on public Open311 reports (issue 3)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from zhizhi.core.http import RateLimiter


def test_token_bucket() -> None:
    lim = RateLimiter(per_minute=10, burst=5)
    assert [lim.retry_after("a", now=100.0) for _ in range(5)] == [0.0] * 5
    assert lim.retry_after("a", now=100.0) == pytest.approx(6.0)  # one token every 6 s
    assert lim.retry_after("b", now=100.0) == 0.0  # another client is not affected
    assert lim.retry_after("a", now=106.0) == 0.0


def test_sign_in_is_rate_limited(client: TestClient) -> None:
    codes = [
        client.post("/api/v1/auth/login", json={"username": "x", "password": "y"}).status_code
        for _ in range(6)
    ]
    assert codes == [401] * 5 + [429]
    r = client.post("/api/v1/auth/login", json={"username": "x", "password": "y"})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert "too many sign-in attempts" in r.json()["detail"]


def test_open311_reports_are_rate_limited(client: TestClient) -> None:
    form = {"service_code": "0101", "lat": "29.352365", "long": "105.898213", "description": "垃圾"}
    codes = [client.post("/open311/v2/requests.json", data=form).status_code for _ in range(11)]
    assert codes == [201] * 10 + [429]
    r = client.post("/open311/v2/requests.json", data=form)
    assert r.status_code == 429 and r.json()[0]["code"] == 429 and "Retry-After" in r.headers
