"""Open311 GeoReport v2 (https://wiki.open311.org/GeoReport_v2) as a civic-reporting client uses it:
form-encoded POSTs, .json and .xml reads, and GeoReport error lists (never a 500)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest
from fastapi.testclient import TestClient

from zhizhi.event import service

# 中山路社区居民委员会 (500118001001): a real village point from villages_points.csv
LON, LAT = 105.898213, 29.352365
BASE = "/open311/v2"


def post(client: TestClient, fmt: str = "json", **form: str) -> Any:
    body = {"service_code": "0101", "lat": str(LAT), "long": str(LON), "description": "路口垃圾桶满溢",
            "phone": "13812345678", "first_name": "小明", "last_name": "王", **form}
    return client.post(f"{BASE}/requests.{fmt}", data={k: v for k, v in body.items() if v is not None})


def ids(client: TestClient, query: str) -> list[str]:
    return [x["service_request_id"] for x in client.get(f"{BASE}/requests.json?{query}").json()]


def is_georeport_error(r: Any, status: int) -> str:
    """Assert a GeoReport JSON error list with ``status``; returns its description."""
    assert r.status_code == status, r.text
    body = r.json()
    assert isinstance(body, list) and len(body) == 1
    assert body[0]["code"] == status
    return str(body[0]["description"])


def test_services_list_every_catalogue_leaf(client: TestClient) -> None:
    leaves = service.catalogue().leaves()
    r = client.get(f"{BASE}/services.json")
    assert r.status_code == 200
    rows = r.json()
    assert [s["service_code"] for s in rows] == [leaf.code for leaf in leaves]
    first = rows[0]
    assert first["service_code"] == "0101" and first["service_name"] == "暴露垃圾"
    assert first["metadata"] is False and first["type"] == "realtime"  # a JSON boolean, not "false"
    assert set(first) == {"service_code", "service_name", "description", "metadata", "type", "keywords",
                          "group"}

    x = client.get(f"{BASE}/services.xml")
    assert x.status_code == 200 and x.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(x.content)
    assert root.tag == "services"
    codes = [s.findtext("service_code") for s in root.findall("service")]
    assert codes == [leaf.code for leaf in leaves]
    assert root.find("service/service_name").text == "暴露垃圾"  # type: ignore[union-attr]
    assert root.findtext("service/metadata") == "false"


def test_service_definition(client: TestClient) -> None:
    assert client.get(f"{BASE}/services/0101.json").json() == {"service_code": "0101", "attributes": []}
    root = ET.fromstring(client.get(f"{BASE}/services/0101.xml").content)
    assert root.tag == "service_definition" and root.findtext("service_code") == "0101"
    assert is_georeport_error(client.get(f"{BASE}/services/9999.json"), 404) == 'unknown service_code "9999"'
    assert is_georeport_error(client.get(f"{BASE}/services/01.json"), 404) == 'unknown service_code "01"'


def test_post_then_read_back(client: TestClient) -> None:
    r = post(client)
    assert r.status_code == 201, r.text
    [ack] = r.json()
    rid = ack["service_request_id"]
    assert rid.isdigit() and ack["service_notice"]

    [row] = client.get(f"{BASE}/requests/{rid}.json").json()
    assert row["service_request_id"] == rid
    assert (row["status"], row["status_notes"], row["service_code"]) == ("open", "reported", "0101")
    assert row["service_name"] == "暴露垃圾"
    assert row["description"] == "路口垃圾桶满溢"
    assert row["agency_responsible"] == "500118-CGJ"
    assert (row["lat"], row["long"]) == (LAT, LON)
    assert row["requested_datetime"].endswith("+08:00")

    # the event behind it: source open311, the reporter kept (masked on read), at node reported
    from tests.conftest import as_user

    ev = client.get(f"/api/v1/events/{rid}", headers=as_user("500118.duty")).json()
    assert (ev["source"], ev["node"], ev["town_code"]) == ("open311", "reported", "500118001000")
    assert ev["reporter_phone"] == "138****5678" and ev["reporter_name"] == "王**"

    # status filter: open lists it, closed does not
    assert ids(client, "status=open") == [rid]
    assert ids(client, "status=closed") == []
    assert ids(client, "service_code=0101") == [rid]
    assert client.get(f"{BASE}/requests.json?service_code=0102").json() == []


def test_xml_post_and_reads_parse(client: TestClient) -> None:
    r = post(client, fmt="xml", description="井盖 <缺失> & 破损")
    assert r.status_code == 201
    root = ET.fromstring(r.content)
    assert root.tag == "service_requests"
    rid = root.findtext("request/service_request_id")
    assert rid is not None and rid.isdigit()
    one = ET.fromstring(client.get(f"{BASE}/requests/{rid}.xml").content)
    assert one.findtext("request/description") == "井盖 <缺失> & 破损"
    assert one.findtext("request/status") == "open"
    assert one.findtext("request/service_code") == "0101"
    many = ET.fromstring(client.get(f"{BASE}/requests.xml?status=open").content)
    assert [e.findtext("service_request_id") for e in many.findall("request")] == [rid]


def test_closed_status_once_the_loop_closes(client: TestClient) -> None:
    from tests.conftest import as_user

    rid = post(client).json()[0]["service_request_id"]
    duty, cgj = as_user("500118.duty"), as_user("500118-CGJ.handler")
    for who, action, extra in ((duty, "accept", {}), (duty, "register", {}),
                               (duty, "dispatch", {"unit_code": "auto"}), (cgj, "sign", {}),
                               (cgj, "handle", {"comment": "已清运"}),
                               (duty, "verify_pass", {}), (duty, "close", {})):
        r = client.post(f"/api/v1/events/{rid}/transitions", json={"action": action, **extra}, headers=who)
        assert r.status_code == 200, r.text
    [row] = client.get(f"{BASE}/requests/{rid}.json").json()
    assert (row["status"], row["status_notes"]) == ("closed", "closed")
    assert ids(client, "status=open") == []
    assert ids(client, "status=closed") == [rid]


@pytest.mark.parametrize(("form", "needle"), [
    ({"service_code": None}, "service_code is required"),
    ({"service_code": ""}, "service_code is required"),
    ({"lat": None, "long": None}, "lat and long"),
    ({"lat": "abc"}, "lat and long must be decimal degrees"),
    ({"long": "105,89"}, "lat and long must be decimal degrees"),
    ({"service_code": "9999"}, 'unknown category "9999"'),
    ({"service_code": "01"}, '"01"'),
    ({"lat": "30.67", "long": "104.06"}, "outside every loaded district"),  # Chengdu
    ({"lat": "500"}, "lat: Input should be less than or equal to 90"),
    ({"long": "-181"}, "long: Input should be greater than or equal to -180"),
    ({"lat": "nan"}, "lat and long must be finite decimal degrees"),
    ({"long": "inf"}, "lat and long must be finite decimal degrees"),
    ({"phone": "call me"}, "phone: Value error, phone must be 5-20 digits"),
    ({"description": "x" * 20_001}, "description: String should have at most 20000 characters"),
    ({"address_string": "中山路1号", "lat": None, "long": None}, "addresses alone cannot be placed"),
    ({"crs": "bd09"}, 'crs must be wgs84 or gcj02, not "bd09"'),
    ({"description": "井盖\x00缺失"}, "description: control characters (U+0000-U+001F other than tab"),
    ({"first_name": "小\x1b明"}, "first_name: control characters"),
    ({"last_name": "\x07"}, "last_name: control characters"),
    ({"address_string": "中山路\x0b1号"}, "address_string: control characters"),
    ({"description": "a\x01", "address_string": "b\x1f", "email": "a\x0c@b.cn"},
     "description, address_string, email: control characters"),
])
def test_bad_posts_are_georeport_400s(client: TestClient, form: dict[str, str | None], needle: str) -> None:
    r = post(client, **form)  # type: ignore[arg-type]
    assert needle in is_georeport_error(r, 400)
    rx = post(client, fmt="xml", **form)  # type: ignore[arg-type]
    assert rx.status_code == 400
    root = ET.fromstring(rx.content)
    assert root.tag == "errors" and root.findtext("error/code") == "400"
    assert needle in (root.findtext("error/description") or "")
    assert client.get(f"{BASE}/requests.json").json() == []  # nothing stored


def test_reporter_name_and_blank_description(client: TestClient, session: Any) -> None:
    from zhizhi.event.models import Event

    a = post(client, description="   ").json()[0]["service_request_id"]
    b = post(client, first_name="John", last_name="Smith").json()[0]["service_request_id"]
    ea, eb = session.get(Event, int(a)), session.get(Event, int(b))
    assert (ea.title, ea.description, ea.reporter_name) == ("0101", "", "王小明")
    assert ea.reporter_phone == "13812345678" and ea.source == "open311"
    assert eb.reporter_name == "John Smith"


def test_json_body_is_refused_not_crashed(client: TestClient) -> None:
    r = client.post(f"{BASE}/requests.json", json={"service_code": "0101", "lat": LAT, "long": LON})
    assert "service_code is required" in is_georeport_error(r, 400)


@pytest.mark.parametrize(("url", "status", "needle"), [
    ("/requests/999999.json", 404, 'service request "999999" not found'),
    ("/requests/abc.json", 404, 'service request "abc" not found'),
    ("/requests.json?status=pending", 400, "status must be open or closed"),
    ("/requests.json?service_request_id=1,x", 400, "service_request_id must be"),
    ("/requests.json?start_date=yesterday", 400, "start_date must be an ISO 8601"),
    ("/requests.json?end_date=2026-13-01", 400, "end_date must be an ISO 8601"),
])
def test_bad_reads_are_georeport_errors(client: TestClient, url: str, status: int, needle: str) -> None:
    assert needle in is_georeport_error(client.get(BASE + url), status)


def test_unknown_format_is_a_georeport_404(client: TestClient) -> None:
    r = client.get(f"{BASE}/services.csv")
    assert 'format must be json or xml, not "csv"' in is_georeport_error(r, 404)
    r = client.post(f"{BASE}/requests.yaml", data={"service_code": "0101"})
    assert 'not "yaml"' in is_georeport_error(r, 404)


def test_date_filters_and_ids(client: TestClient) -> None:
    a = post(client).json()[0]["service_request_id"]
    b = post(client, service_code="0102", description="建筑垃圾").json()[0]["service_request_id"]
    got = client.get(f"{BASE}/requests.json?service_request_id={a},{b}").json()
    assert sorted(x["service_request_id"] for x in got) == sorted([a, b])
    assert client.get(f"{BASE}/requests.json?start_date=2000-01-01T00:00:00Z&end_date=2000-01-02T00:00:00Z"
                      ).json() == []
    assert len(client.get(f"{BASE}/requests.json?start_date=2000-01-01T00:00:00%2B08:00").json()) == 2


def test_default_window_is_the_last_90_days(client: TestClient, session: Any) -> None:
    from datetime import timedelta

    from zhizhi.core import time as ztime
    from zhizhi.event.schemas import EventCreate

    old_at = ztime.utcnow() - timedelta(days=100)
    old = service.create_event(session, service.system_actor("500118"), EventCreate(
        source="open311", category_code="0101", title="旧诉求", lon=LON, lat=LAT, reported_at=old_at))
    session.commit()
    new = post(client).json()[0]["service_request_id"]
    assert [x["service_request_id"] for x in client.get(f"{BASE}/requests.json").json()] == [new]
    assert [x["service_request_id"] for x in client.get(f"{BASE}/requests.json?service_request_id={old.id}"
                                                         ).json()] == [str(old.id)]
    since = ztime.to_local(old_at - timedelta(days=1)).date().isoformat()
    got = client.get(f"{BASE}/requests.json?start_date={since}T00:00:00%2B08:00").json()
    assert [x["service_request_id"] for x in got] == [new, str(old.id)]  # newest first
    until = ztime.to_local(old_at + timedelta(days=1)).date().isoformat()
    got = client.get(f"{BASE}/requests.json?end_date={until}T00:00:00%2B08:00").json()
    assert [x["service_request_id"] for x in got] == [str(old.id)]


def test_confidential_matters_are_not_published(client: TestClient) -> None:
    # 9401 其他举报 and 2302 涉黑涉恶线索 are confidential: visible to the handling chain only
    public = post(client).json()[0]["service_request_id"]
    secret = post(client, service_code="9401", description="举报某商户偷排污水，联系人李四",
                  address_string="中山路88号").json()[0]["service_request_id"]
    assert [x["service_request_id"] for x in client.get(f"{BASE}/requests.json").json()] == [public]
    assert ids(client, "service_code=9401") == []
    # not even by id: the public API must not confirm that a 举报 or 未成年人保护 case exists
    r = client.get(f"{BASE}/requests/{secret}.json")
    assert r.status_code == 404
    assert r.json() == [{"code": 404, "description": f'service request "{secret}" not found'}]
    assert ids(client, f"service_request_id={public},{secret}") == [public]
    xml = client.get(f"{BASE}/requests/{secret}.xml").text
    assert "李四" not in xml and "中山路88号" not in xml and "9401" not in xml
    # the handling chain sees it in full
    from tests.conftest import as_user

    ev = client.get(f"/api/v1/events/{secret}", headers=as_user("500118.duty")).json()
    assert ev["description"] == "举报某商户偷排污水，联系人李四" and ev["address"] == "中山路88号"


# ----------------------------------------------------------------------------- ids that cannot exist
MAX_ID = 2**63 - 1


@pytest.mark.parametrize(("raw", "shown"), [
    ("%C2%B2", "²"),  # superscript two: str.isdigit() is True, int() refuses it
    ("%D9%A3", "٣"),  # Arabic-Indic three: int() would accept it, ^[0-9]+$ does not
    (str(MAX_ID + 1), str(MAX_ID + 1)),
    ("9" * 30, "9" * 30),
    (str(MAX_ID), str(MAX_ID)),  # the largest id a client may name
    (str(2**31), str(2**31)),  # beyond a PostgreSQL INTEGER: never sent to the database
    ("0", "0"),
    ("-1", "-1"),
    ("+1", "+1"),
    ("1e3", "1e3"),
    ("%201", " 1"),
])
def test_ids_that_cannot_exist_are_georeport_404s(client: TestClient, raw: str, shown: str) -> None:
    r = client.get(f"{BASE}/requests/{raw}.json")
    assert is_georeport_error(r, 404) == f'service request "{shown}" not found'
    rx = client.get(f"{BASE}/requests/{raw}.xml")
    assert rx.status_code == 404
    root = ET.fromstring(rx.content)
    assert (root.tag, root.findtext("error/code")) == ("errors", "404")
    assert root.findtext("error/description") == f'service request "{shown}" not found'


def test_leading_zeros_still_name_the_request(client: TestClient) -> None:
    rid = post(client).json()[0]["service_request_id"]
    [row] = client.get(f"{BASE}/requests/000{rid}.json").json()
    assert row["service_request_id"] == rid


LIST_ERROR = f"service_request_id must be a comma-separated list of integers from 0 to {MAX_ID}"


@pytest.mark.parametrize("value", [
    str(MAX_ID + 1), "9" * 5000, "%C2%B2", "1,%D9%A3", "1,-2", "1.0", ",", " , ",
])
def test_bad_id_lists_are_georeport_400s(client: TestClient, value: str) -> None:
    r = client.get(f"{BASE}/requests.json?service_request_id={value}")
    assert is_georeport_error(r, 400) == LIST_ERROR


def test_id_lists_at_the_limits(client: TestClient) -> None:
    rid = post(client).json()[0]["service_request_id"]
    assert ids(client, f"service_request_id={MAX_ID}") == []
    assert ids(client, f"service_request_id={MAX_ID},{rid}") == [rid]
    assert ids(client, f"service_request_id={2**31},{2**31 - 1},{rid}") == [rid]
    assert ids(client, f"service_request_id= {rid} ,") == [rid]
    assert ids(client, "service_request_id=") == [rid]  # blank = absent: the default search
    many = ",".join(str(MAX_ID - i) for i in range(1000))
    assert ids(client, f"service_request_id={many}") == []
    r = client.get(f"{BASE}/requests.json?service_request_id={many},{rid}")
    assert is_georeport_error(r, 400) == "service_request_id lists at most 1000 ids"


# ------------------------------------------------------------------------------------------- dates
@pytest.mark.parametrize(("query", "description"), [
    ("start_date=0001-01-01T00:00:00%2B08:00", "start_date must be between 1900-01-01 and 2099-12-31"),
    ("start_date=0001-01-01", "start_date must be between 1900-01-01 and 2099-12-31"),
    ("end_date=0001-01-01T00:00:00Z", "end_date must be between 1900-01-01 and 2099-12-31"),
    ("end_date=9999-12-31T23:59:59-08:00", "end_date must be between 1900-01-01 and 2099-12-31"),
    ("start_date=9999-12-31", "start_date must be between 1900-01-01 and 2099-12-31"),
    ("start_date=1899-12-31T23:59:59Z", "start_date must be between 1900-01-01 and 2099-12-31"),
    ("end_date=2100-01-01", "end_date must be between 1900-01-01 and 2099-12-31"),
    ("start_date=2026-13-01", "start_date must be an ISO 8601 date-time"),
    ("end_date=2026-01-01T00:00:00%00", "end_date must be an ISO 8601 date-time"),
    ("start_date=2026-02-01T00:00:00%2B08:00&end_date=2026-01-31T23:59:59%2B08:00",
     "start_date must not be after end_date"),
    ("start_date=2026-01-01T00:00:01Z&end_date=2026-01-01T08:00:00%2B08:00",
     "start_date must not be after end_date"),
])
def test_out_of_range_dates_are_georeport_400s(client: TestClient, query: str, description: str) -> None:
    assert is_georeport_error(client.get(f"{BASE}/requests.json?{query}"), 400) == description
    root = ET.fromstring(client.get(f"{BASE}/requests.xml?{query}").content)
    assert (root.findtext("error/code"), root.findtext("error/description")) == ("400", description)


def test_dates_at_the_limits_are_accepted(client: TestClient) -> None:
    rid = post(client).json()[0]["service_request_id"]
    assert ids(client, "start_date=1900-01-01T00:00:00%2B08:00&end_date=2099-12-31T23:59:59-08:00") == [rid]
    assert ids(client, "start_date=1900-01-01") == [rid]
    assert ids(client, "end_date=1900-01-01T00:00:00Z") == []  # default start: 90 days before, 1899
    assert ids(client, "start_date=2099-12-31T23:59:59Z") == []
    # equal start and end is a valid (one-instant) window
    assert ids(client, "start_date=2026-01-01T00:00:00Z&end_date=2026-01-01T08:00:00%2B08:00") == []


# --------------------------------------------------------------------------------------- crs on POST
def test_gcj02_points_are_converted_to_wgs84(client: TestClient, session: Any) -> None:
    from zhizhi.event.models import Event
    from zhizhi.org.rules import gcj02_to_wgs84, wgs84_to_gcj02

    g_lon, g_lat = wgs84_to_gcj02(LON, LAT)
    assert abs(g_lon - LON) > 1e-3  # the GCJ-02 offset here is hundreds of metres
    w_lon, w_lat = gcj02_to_wgs84(g_lon, g_lat)
    for crs in ("gcj02", "GCJ02"):
        r = post(client, lat=repr(g_lat), long=repr(g_lon), crs=crs)
        assert r.status_code == 201, r.text
        ev = session.get(Event, int(r.json()[0]["service_request_id"]))
        assert (ev.lon, ev.lat) == (w_lon, w_lat)
        assert ev.lon == pytest.approx(LON, abs=1e-9) and ev.lat == pytest.approx(LAT, abs=1e-9)
        assert ev.village_code == "500118001001"  # 中山路社区, as for the WGS-84 point
    plain = post(client, lat=repr(g_lat), long=repr(g_lon), crs="wgs84").json()[0]["service_request_id"]
    assert (session.get(Event, int(plain)).lon, session.get(Event, int(plain)).lat) == (g_lon, g_lat)
    default = post(client).json()[0]["service_request_id"]
    assert (session.get(Event, int(default)).lon, session.get(Event, int(default)).lat) == (LON, LAT)


def test_tab_and_newline_are_kept(client: TestClient, session: Any) -> None:
    from zhizhi.event.models import Event

    rid = post(client, description="第一行\n第二行\t完\r\n结束").json()[0]["service_request_id"]
    assert session.get(Event, int(rid)).description == "第一行\n第二行\t完\r\n结束"


# ------------------------------------------------------------------------------- well-formed XML
def test_xml_drops_characters_xml_forbids_from_old_rows(client: TestClient, session: Any) -> None:
    from zhizhi.event.models import Event

    rid = post(client).json()[0]["service_request_id"]
    nul = "\x00" if session.get_bind().dialect.name == "sqlite" else ""  # PostgreSQL text has no NUL
    ev = session.get(Event, int(rid))
    ev.description = f"井盖{nul}\x01缺失\x08\x0b\x0c\x1b\ufffe\uffff & <破损>\t\n"
    ev.address = "中山路\x1f1号"
    session.commit()
    for url in (f"{BASE}/requests.xml", f"{BASE}/requests/{rid}.xml",
                f"{BASE}/requests.xml?service_request_id={rid}"):
        r = client.get(url)
        assert r.status_code == 200
        root = ET.fromstring(r.content)  # well-formed
        assert root.findtext("request/description") == "井盖缺失 & <破损>\t\n"
        assert root.findtext("request/address") == "中山路1号"
    # JSON can carry them escaped: it keeps the stored text exactly
    [row] = client.get(f"{BASE}/requests/{rid}.json").json()
    assert row["description"] == ev.description and row["address"] == "中山路\x1f1号"


def test_xml_errors_echoing_the_path_stay_well_formed(client: TestClient) -> None:
    root = ET.fromstring(client.get(f"{BASE}/requests/a%00%01b.xml").content)
    assert root.findtext("error/description") == 'service request "ab" not found'
    r = client.get(f"{BASE}/requests/a%00b.json")
    assert is_georeport_error(r, 404) == 'service request "a\x00b" not found'


# ------------------------------------------------------------------------- every error a GeoReport list
def test_unknown_paths_and_methods_are_georeport_errors(client: TestClient) -> None:
    r = client.get(f"{BASE}/nope.json")
    assert is_georeport_error(r, 404) == 'no GeoReport v2 endpoint at "/open311/v2/nope.json"'
    assert is_georeport_error(client.get(BASE), 404) == 'no GeoReport v2 endpoint at "/open311/v2"'
    r = client.delete(f"{BASE}/requests.json")
    assert is_georeport_error(r, 405) == "DELETE is not allowed here; use GET, POST"
    assert r.headers["allow"] == "GET, POST"
    rx = client.put(f"{BASE}/requests/1.xml")
    assert rx.status_code == 405 and rx.headers["allow"] == "GET"
    root = ET.fromstring(rx.content)
    assert (root.findtext("error/code"), root.findtext("error/description")) == (
        "405", "PUT is not allowed here; use GET")
    r = client.post(f"{BASE}/services.json")
    assert is_georeport_error(r, 405) == "POST is not allowed here; use GET"


def _bare_client(engine: Any) -> TestClient:
    """The Open311 router alone, without the application's error handlers: an exception it let
    escape would be raised here by the test client."""
    from fastapi import FastAPI

    from zhizhi.event import open311

    app = FastAPI()
    app.state.engine = engine
    app.include_router(open311.router)
    return TestClient(app, raise_server_exceptions=True)


def test_a_duplicate_row_is_a_georeport_409(client: TestClient, engine: Any, session: Any,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy import func, select, text

    from zhizhi.event.models import Event

    real = service.create_event

    def create_twice(s: Any, actor: Any, data: Any) -> Any:  # a real unique-key clash in the database
        ev = real(s, actor, data)
        s.execute(text("INSERT INTO event SELECT * FROM event WHERE id = :id"), {"id": ev.id})
        return ev

    monkeypatch.setattr(service, "create_event", create_twice)
    for c in (client, _bare_client(engine)):
        r = post(c)
        assert r.json() == [{"code": 409, "description":
                             "the request conflicts with a stored record; nothing was stored"}]
        assert r.status_code == 409
        rx = post(c, fmt="xml")
        assert rx.status_code == 409
        root = ET.fromstring(rx.content)
        assert (root.tag, root.findtext("error/code")) == ("errors", "409")
    assert session.scalar(select(func.count()).select_from(Event)) == 0  # rolled back


def test_unexpected_errors_are_georeport_500s_without_internals(client: TestClient, engine: Any, session: Any,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy import func, select

    from zhizhi.event.models import Event

    def boom(*_a: Any, **_k: Any) -> Any:
        raise RuntimeError("secret dsn postgresql://admin:pw@db")

    real = service.create_event

    def create_then_fail(s: Any, actor: Any, data: Any) -> Any:
        real(s, actor, data)
        s.flush()
        raise RuntimeError("secret dsn postgresql://admin:pw@db")

    want = [{"code": 500, "description": "internal error; it has been logged"}]
    for c in (client, _bare_client(engine)):
        monkeypatch.setattr(service, "create_event", create_then_fail)
        r = post(c)
        assert (r.status_code, r.json()) == (500, want)
        monkeypatch.setattr(service, "catalogue", boom)
        for url in ("/services.json", "/requests.json", "/services/0101.json"):
            r = c.get(BASE + url)
            assert (r.status_code, r.json()) == (500, want), url
        rx = c.get(f"{BASE}/services.xml")
        assert rx.status_code == 500 and "secret" not in rx.text
        root = ET.fromstring(rx.content)
        assert (root.findtext("error/code"), root.findtext("error/description")) == (
            "500", "internal error; it has been logged")
        monkeypatch.undo()
    assert session.scalar(select(func.count()).select_from(Event)) == 0  # the failed POST left nothing
