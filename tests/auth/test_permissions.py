"""The permission table as data (角色权限表, issue 3) and the access matrix generated from it.

Every route of the OpenAPI schema either is public, needs only a signed-in user, or declares one
permission (``core.http.permit``). For every such route and every role of the table, a user of that
role is refused with 403 naming the permission exactly when the table does not grant it. For every
role, an event in its data scope is visible and one outside it is never returned, counted or
changed (404, not 403).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

from zhizhi.core import http
from zhizhi.core.access import (
    Actor,
    has_permission,
    load_permission_table,
    parse_permission_table,
    permission_table,
    require,
    scope_of,
)
from zhizhi.core.db import session_factory
from zhizhi.core.errors import Forbidden
from zhizhi.event import rules

SRC = Path(__file__).resolve().parents[2] / "src" / "zhizhi"
HOME = {"lon": 105.898213, "lat": 29.352365}  # a point in 中山路街道 (500118001000)
HOME_TOWN, OTHER_TOWN = "500118001000", "500118002000"

# Routes open without credentials, and routes for any signed-in user whatever their role.
PUBLIC = {
    ("POST", "/api/v1/auth/login"),
    ("GET", "/api/v1/org/stats"),
    ("GET", "/api/v1/org/units"),
    ("GET", "/api/v1/org/units/{code}"),
    ("GET", "/api/v1/org/locate"),
    ("GET", "/api/v1/categories"),
    ("GET", "/api/v1/transitions"),
    ("GET", "/api/v1/preplans"),
    ("GET", "/open311/v2/services.{fmt}"),
    ("GET", "/open311/v2/services/{code}.{fmt}"),
    ("POST", "/open311/v2/requests.{fmt}"),
    ("GET", "/open311/v2/requests.{fmt}"),
    ("GET", "/open311/v2/requests/{request_id}.{fmt}"),
}
SIGNED_IN = {("POST", "/api/v1/auth/logout"), ("GET", "/api/v1/auth/me")}

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def route_permission(dependant: Any) -> str | None:
    """The permission a route declares through ``permit(...)`` (searched through its dependencies)."""
    stack = list(dependant.dependencies)
    while stack:
        d = stack.pop()
        p = getattr(d.call, "permission", None)
        if p:
            return str(p)
        stack.extend(d.dependencies)
    return None


def _flat_routes(app: Any) -> Iterator[tuple[str, set[str], Any, bool]]:
    """Every API route of ``app`` as (path, methods, dependant, in schema). FastAPI ≥ 0.165 keeps an
    included router as one ``_IncludedRouter`` entry whose ``effective_route_contexts()`` are its
    routes with the prefixes applied, so walking ``app.routes`` alone would miss them."""
    for r in app.routes:
        if isinstance(r, APIRoute):
            yield r.path, set(r.methods), r.dependant, r.include_in_schema
        elif hasattr(r, "effective_route_contexts"):
            for c in r.effective_route_contexts():
                if c.methods and c.dependant is not None:
                    yield c.path, set(c.methods), c.dependant, bool(c.include_in_schema)


def routes(client: TestClient) -> dict[tuple[str, str], str | None]:
    """Every route in the OpenAPI schema with the permission it declares (None: none). Fails if the
    routes found and the schema's operations differ: the matrix must never silently test less."""
    out: dict[tuple[str, str], str | None] = {}
    for path, methods, dependant, in_schema in _flat_routes(client.app):
        if in_schema:
            for m in methods - {"HEAD", "OPTIONS"}:
                out[(m, path)] = route_permission(dependant)
    schema = {(m.upper(), p) for p, ops in client.app.openapi()["paths"].items() for m in ops}  # type: ignore[attr-defined]
    assert set(out) == schema, (sorted(schema - set(out))[:5], sorted(set(out) - schema)[:5])
    return out


def call(client: TestClient, method: str, path: str, headers: dict[str, str], eid: int = 1) -> Any:
    """Call ``path`` with plausible arguments (event ``eid``; other ids 1)."""
    url = re.sub(
        r"\{(\w+)\}",
        lambda m: {
            "event_id": str(eid),
            "code": "waterlogging",
            "fmt": "json",
            "form_id": "mz-dibao-monthly",
        }.get(m.group(1), "1"),
        path,
    )
    kw: dict[str, Any] = {"headers": headers}
    if path == "/api/v1/forms/{form_id}/render":
        url += f"?org={HOME_TOWN}&period=2026-11"
    if method == "POST":
        if path.endswith("/attachments"):
            kw["files"] = {"file": ("p.png", PNG, "image/png")}
        elif path.endswith("/merge"):
            url += f"?parent_id={eid}"
        elif path.endswith("/transitions"):
            kw["json"] = {"action": "accept"}
        elif path.endswith("/personal"):
            kw["json"] = {"reason": "核实诉求"}
        elif path.endswith("/reply"):
            kw["json"] = {"reply": "已处理"}
        elif path == "/api/v1/events":
            kw["json"] = {"category_code": "0101", "title": "x", **HOME}
        elif path == "/api/v1/routing-rules":
            kw["json"] = {"unit_code": "500118-CGJ", "category_code": "0101"}
        elif path.startswith("/api/v1/registry/conflicts/"):
            kw["json"] = {"accept": False}
        elif path.startswith("/api/v1/registry/") and path.count("/") == 4 and not path.endswith("/validate"):
            kw["json"] = {"source": "import:access-matrix"}  # no identifier: refused (422), nothing stored
        else:
            kw["json"] = {"value": "11010519491231002X"}
    return client.request(method, url, **kw)


@pytest.fixture(scope="module")
def role_users(engine: Engine) -> dict[str, str]:
    """One user per role of the table (the generated demo staff plus a grid leader and an admin)."""
    from zhizhi.auth import service as auth
    from zhizhi.org.models import OrgUnit, Staff
    from zhizhi.org.service import locator

    with session_factory(engine)() as s:
        grid = locator(s).locate(HOME["lon"], HOME["lat"]).grid_code
        center = s.scalar(
            select(OrgUnit.code).where(
                OrgUnit.district_code == "500118", OrgUnit.level == "center", OrgUnit.town_code.is_(None)
            )
        )
        for name, role, unit in (
            ("m.gridleader", "grid_leader", grid),
            ("m.admin", "admin", center),
            ("m.clerk", "clerk", f"{HOME_TOWN}-ZHZX"),
        ):
            if s.scalar(select(Staff).where(Staff.username == name)) is None:
                auth.add_user(s, name, name, role, str(unit))
        s.commit()
    users = {
        "grid_worker": f"{grid}.worker",
        "grid_leader": "m.gridleader",
        "town_duty": f"{HOME_TOWN}.duty",
        "board_staff": f"{HOME_TOWN}-MS.staff",
        "clerk": "m.clerk",
        "dept_handler": "500118-CGJ.handler",
        "center_duty": "500118.duty",
        "center_chief": "500118.chief",
        "leader": "500118.leader",
        "admin": "m.admin",
        "system": "500118.system",
    }
    assert set(users) == set(permission_table().roles), "a role of the table has no test user"
    return users


def as_(username: str) -> dict[str, str]:
    return {"X-Zhizhi-User": username}


@pytest.fixture
def fresh_actors() -> Iterator[None]:
    http._actors.clear()
    yield
    http._actors.clear()


# --- the table itself ------------------------------------------------------------------------------


def test_every_transition_and_role_is_in_the_table() -> None:
    t = permission_table()
    assert {tr.permission for tr in rules.TRANSITIONS.values()} <= set(t.permissions)
    from zhizhi.auth.service import ROLES

    assert set(ROLES) | {"system"} == set(t.roles)
    assert set(rules.Role) <= set(t.roles)


def test_every_permission_of_the_table_is_checked_somewhere() -> None:
    code = "\n".join(p.read_text("utf-8") for p in SRC.rglob("*.py"))
    transition_perms = {tr.permission for tr in rules.TRANSITIONS.values()}
    unchecked = [
        p for p in permission_table().permissions if p not in transition_perms and f'"{p}"' not in code
    ]
    assert unchecked == [], f"permissions nobody checks: {unchecked}"


def test_transition_roles_come_from_the_table() -> None:
    t = permission_table()
    assert rules.TRANSITIONS["dispatch"].roles == {"center_duty", "center_chief", "town_duty", "system"}
    assert rules.TRANSITIONS["supervise"].roles == {"center_duty", "center_chief", "leader", "system"}
    for tr in rules.TRANSITIONS.values():
        assert tr.roles == t.roles_with(tr.permission)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({}, "needs a 'permissions' mapping of name → label"),
        ({"permissions": {"a.b": "甲"}}, "needs a 'roles' mapping"),
        ({"permissions": {"a.b": ""}, "roles": {"r": {}}}, "permissions.a.b: needs a zh-CN label"),
        (
            {
                "permissions": {"a.b": "甲"},
                "roles": {"r": {"label": "乙", "scope": "planet", "permissions": []}},
            },
            "roles.r.scope: 'planet' is not one of district, town, grid, unit",
        ),
        (
            {
                "permissions": {"a.b": "甲"},
                "roles": {"r": {"label": "乙", "scope": "town", "permissions": ["a.c"]}},
            },
            'roles.r.permissions: unknown permission "a.c"',
        ),
        (
            {"permissions": {"a.b": "甲"}, "roles": {"r": {"scope": "town", "permissions": []}}},
            "roles.r.label: missing",
        ),
    ],
)
def test_a_broken_table_is_refused_naming_the_key(raw: Any, message: str) -> None:
    with pytest.raises(ValueError) as e:
        parse_permission_table(raw, "perm.yaml")
    assert str(e.value) == f"perm.yaml: {message}"


def test_a_table_file_that_is_not_yaml_names_the_file(tmp_path: Path) -> None:
    p = tmp_path / "p.yaml"
    p.write_text("roles: [unclosed", "utf-8")
    with pytest.raises(ValueError, match=rf"^{re.escape(str(p))}: not valid YAML"):
        load_permission_table(p)


def test_groups_flatten_and_star_means_everything() -> None:
    t = parse_permission_table(
        {
            "permissions": {"a.x": "1", "a.y": "2", "b.z": "3"},
            "roles": {
                "r": {"label": "R", "scope": "grid", "permissions": [["a.x", "a.y"], "b.z"]},
                "s": {"label": "S", "scope": "district", "permissions": ["*"]},
            },
        }
    )
    assert t.roles["r"].permissions == {"a.x", "a.y", "b.z"} == t.roles["s"].permissions
    assert t.roles_with("a.x") == {"r", "s"}


def test_scope_follows_the_table_and_token_scopes_narrow_it() -> None:
    a = Actor(1, "w", "w", "grid_worker", "G1", "500118", "500118001000")
    assert scope_of(a).kind == "grid" and scope_of(a).code == "G1"
    assert has_permission(a, "event.handle") and not has_permission(a, "event.dispatch")
    narrow = Actor(1, "w", "w", "grid_worker", "G1", "500118", None, scopes=frozenset({"event.read"}))
    assert has_permission(narrow, "event.read") and not has_permission(narrow, "event.handle")
    with pytest.raises(Forbidden, match='scopes do not include "event.report"'):
        require(narrow, "event.report")
    wide = Actor(1, "w", "w", "grid_worker", "G1", "500118", None, scopes=frozenset({"event.*"}))
    assert has_permission(wide, "event.handle") and not has_permission(wide, "ops.kpis")
    # a token scope never adds what the role lacks
    assert not has_permission(wide, "event.dispatch")
    with pytest.raises(ValueError, match='role "ghost" has no data scope'):
        scope_of(Actor(1, "g", "g", "ghost", "X", "500118"))


# --- every route × every role ---------------------------------------------------------------------


def test_every_route_is_public_signed_in_or_declares_a_permission(client: TestClient) -> None:
    undeclared = [
        k for k, p in routes(client).items() if p is None and k not in PUBLIC and k not in SIGNED_IN
    ]
    assert undeclared == [], "new endpoint: give it Depends(permit(...)) or list it as PUBLIC/SIGNED_IN"
    declared = {k: p for k, p in routes(client).items() if p is not None}
    assert not (set(declared) & (PUBLIC | SIGNED_IN)), "a public route must not declare a permission"
    for p in declared.values():
        assert p in permission_table().permissions, p


def test_every_role_is_refused_exactly_the_routes_its_permissions_do_not_cover(
    client: TestClient, role_users: dict[str, str]
) -> None:
    t = permission_table()
    wrong = []
    for (method, path), perm in sorted(routes(client).items()):
        if perm is None:
            continue
        for role, user in role_users.items():
            r = call(client, method, path, as_(user))
            refused = r.status_code == 403 and f"({perm})" in r.json().get("detail", "")
            if refused == t.allows(role, perm) or r.status_code in (401, 500):
                wrong.append((method, path, role, perm, r.status_code, r.text[:120]))
    assert wrong == []


# --- every role × a row in scope and one out of scope ---------------------------------------------


def _event(client: TestClient, **where: Any) -> dict[str, Any]:
    r = client.post(
        "/api/v1/events",
        json={"category_code": "0101", "title": "矩阵", **where},
        headers=as_("500118.system"),
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def _dispatch(client: TestClient, eid: int, unit: str) -> None:
    for body in ({"action": "accept"}, {"action": "register"}, {"action": "dispatch", "unit_code": unit}):
        r = client.post(f"/api/v1/events/{eid}/transitions", json=body, headers=as_("500118.system"))
        assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    "role",
    ["grid_worker", "grid_leader", "town_duty", "board_staff", "dept_handler"],
)
def test_a_row_out_of_scope_is_never_returned_counted_or_changed(
    client: TestClient, role_users: dict[str, str], role: str
) -> None:
    user = role_users[role]
    inside = _event(client, **HOME)
    outside = _event(client, town_code=OTHER_TOWN)
    if role in ("dept_handler", "board_staff"):
        unit = "500118-CGJ" if role == "dept_handler" else f"{HOME_TOWN}-MS"
        _dispatch(client, inside["id"], unit)
    listed = client.get("/api/v1/events", headers=as_(user)).json()
    ids = [e["id"] for e in listed["items"]]
    assert inside["id"] in ids and outside["id"] not in ids and listed["total"] == len(ids)
    kpis = client.get("/api/v1/kpis", params={"by": "town"}, headers=as_(user)).json()
    assert kpis["total"]["counts"]["reported"] == listed["total"]
    assert client.get(f"/api/v1/events/{outside['id']}", headers=as_(user)).status_code == 404
    for method, path in (
        ("POST", "/api/v1/events/{event_id}/transitions"),
        ("POST", "/api/v1/events/{event_id}/attachments"),
        ("POST", "/api/v1/events/{event_id}/merge"),
        ("POST", "/api/v1/events/{event_id}/preplans/{code}"),
        ("POST", "/api/v1/events/{event_id}/personal"),
    ):
        r = call(client, method, path, as_(user), outside["id"])
        by_role = r.status_code == 403 and f'role "{role}"' in r.json()["detail"]
        assert r.status_code == 404 or by_role, (method, path, r.status_code, r.text)
    after = client.get(f"/api/v1/events/{outside['id']}", headers=as_("500118.system")).json()
    assert (after["node"], after["version"], len(after["timeline"]), after["attachments"]) == (
        "reported",
        outside["version"],
        1,
        [],
    )


@pytest.mark.parametrize("role", ["center_duty", "center_chief", "leader", "admin", "system"])
def test_district_roles_see_every_town(client: TestClient, role_users: dict[str, str], role: str) -> None:
    a, b = _event(client, **HOME), _event(client, town_code=OTHER_TOWN)
    listed = client.get("/api/v1/events", headers=as_(role_users[role])).json()
    assert {a["id"], b["id"]} <= {e["id"] for e in listed["items"]}


# --- confidential categories and personal grants --------------------------------------------------


def test_a_confidential_category_needs_a_grant_even_within_scope(
    client: TestClient, engine: Engine, role_users: dict[str, str], fresh_actors: None
) -> None:
    from zhizhi.auth import service as auth
    from zhizhi.event.service import confidential_codes

    worker = role_users["grid_worker"]
    r = client.post(
        "/api/v1/events",
        json={"category_code": "2404", "title": "未成年人保护线索", **HOME},
        headers=as_("500118.duty"),
    )
    secret = r.json()["id"]
    plain = _event(client, **HOME)["id"]
    ids = {e["id"] for e in client.get("/api/v1/events", headers=as_(worker)).json()["items"]}
    assert plain in ids and secret not in ids
    assert client.get(f"/api/v1/events/{secret}", headers=as_(worker)).status_code == 404
    try:
        with session_factory(engine)() as s:
            auth.set_grant(s, worker, "2404", True, confidential_codes())
            s.commit()
        http._actors.clear()
        ids = {e["id"] for e in client.get("/api/v1/events", headers=as_(worker)).json()["items"]}
        assert secret in ids
        # a grant does not widen the scope: the same category in another town stays hidden
        far = client.post(
            "/api/v1/events",
            json={"category_code": "2404", "title": "外镇", "town_code": OTHER_TOWN},
            headers=as_("500118.duty"),
        ).json()["id"]
        assert client.get(f"/api/v1/events/{far}", headers=as_(worker)).status_code == 404
    finally:
        with session_factory(engine)() as s:
            auth.set_grant(s, worker, "2404", False, confidential_codes())
            s.commit()


def test_only_confidential_categories_can_be_granted(engine: Engine, role_users: dict[str, str]) -> None:
    from zhizhi.auth import service as auth
    from zhizhi.core.errors import InvalidInput, NotFound
    from zhizhi.event.service import confidential_codes

    with session_factory(engine)() as s:
        with pytest.raises(InvalidInput, match='"0101" is not a confidential category'):
            auth.set_grant(s, role_users["grid_worker"], "0101", True, confidential_codes())
        with pytest.raises(NotFound, match='unknown user "nobody"'):
            auth.set_grant(s, "nobody", "2404", True, confidential_codes())
        s.rollback()


# --- API tokens with scopes -----------------------------------------------------------------------


def test_a_token_with_scopes_may_do_only_those(
    client: TestClient, engine: Engine, role_users: dict[str, str]
) -> None:
    from zhizhi.auth import service as auth
    from zhizhi.core.errors import InvalidInput

    with session_factory(engine)() as s:
        _, read_only = auth.create_token(s, "500118.duty", "ro", scopes=["event.read"])
        _, events = auth.create_token(s, "500118.duty", "ev", scopes=["event.*"])
        with pytest.raises(InvalidInput, match='scope "audit.read" is not a permission of role center_duty'):
            auth.create_token(s, "500118.duty", "x", scopes=["audit.read"])
        with pytest.raises(InvalidInput, match='scope "nothing.*"'):
            auth.create_token(s, "500118.duty", "x", scopes=["nothing.*"])
        s.commit()
    ro = {"Authorization": f"Bearer {read_only}"}
    ev = {"Authorization": f"Bearer {events}"}
    eid = _event(client, **HOME)["id"]
    assert client.get("/api/v1/events", headers=ro).status_code == 200
    r = client.post("/api/v1/events", json={"category_code": "0101", "title": "x", **HOME}, headers=ro)
    assert r.status_code == 403 and 'scopes do not include "event.report"' in r.json()["detail"]
    r = client.post(f"/api/v1/events/{eid}/transitions", json={"action": "accept"}, headers=ro)
    assert r.status_code == 403 and 'scopes do not include "event.accept"' in r.json()["detail"]
    assert client.get(f"/api/v1/events/{eid}", headers=ro).json()["node"] == "reported"
    assert client.get("/api/v1/kpis", headers=ev).status_code == 403
    r = client.post(f"/api/v1/events/{eid}/transitions", json={"action": "accept"}, headers=ev)
    assert r.status_code == 200 and r.json()["node"] == "accepted"
