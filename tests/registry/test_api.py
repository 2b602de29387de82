"""POST /api/v1/registry/validate: one value or a batch, signed-in users only, problems as RFC 9457."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from zhizhi.core import http
from zhizhi.core.config import get_settings

URL = "/api/v1/registry/validate"
USER = {"X-Zhizhi-User": "500118001000.duty"}


def test_one_value_with_a_guessed_kind(client: TestClient) -> None:
    r = client.post(URL, json={"value": "11010519491231002x"}, headers=USER)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    assert r.json() == {
        "valid": True,
        "normalized": "11010519491231002X",
        "errors": [],
        "warnings": [],
        "kind": "citizen-id",
        "guessed": True,
        "birth_date": "1949-12-31",
        "sex": "female",
        "region_code": "110105",
        "region_name": "朝阳区",
        "region_status": "current",
        "masked": "110105********002X",
    }


def test_one_value_with_a_kind(client: TestClient) -> None:
    r = client.post(URL, json={"value": "11500383009338112H", "kind": "uscc"}, headers=USER).json()
    assert (r["valid"], r["kind"], r["guessed"], r["org_code"]) == (True, "uscc", False, "00933811-2")
    assert r["warnings"] == [
        "region code 500383 (永川市) was last listed in 2005, before credit codes began in 2015 "
        "(历史行政区划代码)"
    ]


def test_a_number_is_refused_as_stored_as_a_number(client: TestClient) -> None:
    # a JSON number cannot carry 18 digits safely (JavaScript rounds it): refused, not cast
    r = client.post(URL, json={"value": 440524188001010014, "kind": "citizen-id"}, headers=USER).json()
    assert r["valid"] is False and r["normalized"] is None
    assert r["errors"][0].startswith("stored as a number, last digits lost")


def test_a_batch_keeps_the_order_and_counts(client: TestClient) -> None:
    values = ["11010519491231002X", "4.40524E+17", "+86 138 0013 8000", "500118001001", "hello", None]
    r = client.post(URL, json={"values": values}, headers=USER)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["total"], body["valid"], body["invalid"]) == (6, 3, 3)
    assert [x["kind"] for x in body["results"]] == [
        "citizen-id",
        "citizen-id",
        "phone",
        "division",
        None,
        None,
    ]
    assert [x["valid"] for x in body["results"]] == [True, False, True, True, False, False]
    assert body["results"][2]["normalized"] == "13800138000"
    assert body["results"][3]["name"] == "中山路社区居民委员会"
    assert body["results"][5]["errors"] == ["empty (空值)"]
    # a batch with a kind applies it to every value
    body = client.post(
        URL, json={"values": ["023-49851234", "13800138000"], "kind": "phone"}, headers=USER
    ).json()
    assert [x["guessed"] for x in body["results"]] == [False, False] and body["valid"] == 2


@pytest.mark.parametrize(
    ("payload", "field", "reason"),
    [
        ({}, "body", 'give either "value" (one identifier) or "values" (a list), not both or neither'),
        (
            {"value": "1", "values": ["2"]},
            "body",
            'give either "value" (one identifier) or "values" (a list), not both or neither',
        ),
        ({"values": []}, "values", "List should have at least 1 item after validation, not 0"),
        (
            {"values": ["1"] * 1001},
            "values",
            "List should have at most 1000 items after validation, not 1001",
        ),
        (
            {"value": "1", "kind": "passport"},
            "kind",
            "Input should be 'citizen-id', 'uscc', 'org-code', 'phone' or 'division'",
        ),
        ({"value": "1", "other": 1}, "other", "Extra inputs are not permitted"),
        ({"value": ["1"]}, "value", None),
        ({"value": "1" * 1025}, "value", "String should have at most 1024 characters"),
    ],
)
def test_a_bad_body_is_a_422_problem(
    client: TestClient, payload: dict[str, object], field: str, reason: str | None
) -> None:
    r = client.post(URL, json=payload, headers=USER)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert (problem["status"], problem["title"], problem["instance"]) == (422, "Invalid input", URL)
    assert any(e["field"].startswith(field) for e in problem["errors"]), problem
    if reason is not None:
        assert any(e["reason"] == reason for e in problem["errors"]), problem


def test_malformed_json_is_a_problem(client: TestClient) -> None:
    r = client.post(URL, content=b'{"value": ', headers={**USER, "Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body"


def test_unauthenticated_is_401(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "trust_user_header", False)
    http._actors.clear()
    r = client.post(URL, json={"value": "11010519491231002X"}, headers=USER)
    assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"
    assert "valid" not in r.json()
