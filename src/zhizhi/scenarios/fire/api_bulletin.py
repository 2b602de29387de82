"""HTTP routes of the daily fire danger bulletin (森林火险气象等级日报) and the fire KPIs
(森林防灭火考核指标): ``GET /api/v1/fire/bulletin`` and ``GET /api/v1/fire/kpis``. Included by api.py's
router.

Both need ``fire.read`` and are limited to the caller's data scope: the bulletin to the towns the
caller may see (a town role its town, a grid role its grid's town, district roles and departments the
district; service/bulletin.town_in_scope), the KPIs to the events in scope (service/kpis.py). Reading
the bulletin opens no prevention task: that is ``zhizhi fire bulletin`` (``fire.manage``), and only for
today's or tomorrow's bulletin.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy.orm import Session

from zhizhi.core.access import Actor
from zhizhi.core.http import get_session, permit
from zhizhi.scenarios.fire.service import bulletin as bulletins
from zhizhi.scenarios.fire.service import kpis

router = APIRouter(tags=["fire 森林防灭火"])  # api.py includes it under /api/v1/fire

MEDIA_TYPES = {
    "cap": "application/cap+xml",
    "geojson": "application/geo+json",
    "json": "application/json",
}
"""Content type of each bulletin format (CAP: the OASIS-registered type; GeoJSON: RFC 7946)."""


@router.get(
    "/bulletin",
    response_class=Response,
    responses={200: {"content": {t: {} for t in MEDIA_TYPES.values()}}},
)
def bulletin(
    day: date = Query(..., alias="date", description="the day whose stored ratings to issue, YYYY-MM-DD"),
    fmt: Literal["json", "cap", "geojson"] = Query(
        "cap",
        alias="format",
        description="cap (OASIS CAP 1.2 XML, the default) | json | geojson (town polygons)",
    ),
    status: Literal["Actual", "Exercise", "Test"] = Query(
        "Actual", description="CAP status: Actual, Exercise (演练) or Test"
    ),
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("fire.read")),
) -> Response:
    """The daily fire danger bulletin of ``date`` from the stored town ratings, in the caller's
    scope: ``cap`` (the default, as the fire page's download link asks: one OASIS CAP 1.2
    ``<alert>``, one ``<info>`` per town, zh-CN, GB/T 2260 and NBS geocodes; valid against
    CAP-v1.2.xsd), ``json`` (towns with level, label, colour and HTZ, valid period) or ``geojson``
    (the towns' polygons for the map). 404 when no town in scope was
    rated that day (rate it: ``zhizhi fire danger``). Opens no task."""
    data, _ = bulletins.bulletin(session, actor, day, fmt, status=status)
    return Response(content=data, media_type=MEDIA_TYPES[fmt])


@router.get("/kpis")
def fire_kpis(
    first: date = Query(..., alias="from", description="first day, YYYY-MM-DD (Beijing time)"),
    last: date = Query(..., alias="to", description="last day, included, YYYY-MM-DD (Beijing time)"),
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("fire.read")),
) -> dict[str, Any]:
    """The fire KPIs of the days ``from`` to ``to`` (both included) in the caller's scope, drills
    never counted: hotspots verified on time, fires (森林火情 2206) out within 24 h, damage rate (‰,
    from the fire records over the district's forest area; not computed below district scope). The
    same figures as ``zhizhi fire kpis``. 422 when ``to`` is before ``from``."""
    return kpis.fire_kpis_between(session, actor, first, last)
