"""``zhizhi fire kpis``: the fire KPIs of a period (森林防灭火考核指标)."""

from __future__ import annotations

import typer

from zhizhi.cli import out, run
from zhizhi.scenarios.fire.cli.common import fire_app


@fire_app.command("kpis")
def fire_kpis(
    period: str = typer.Option(..., "--period", help="YYYY, YYYY-MM or YYYY-Qn (Beijing time)"),
    burnt_area_ha: float | None = typer.Option(
        None, "--burnt-area-ha", min=0, help="damaged forest area, ha (default: sum of the fire records)"
    ),
    forest_area_ha: float | None = typer.Option(
        None, "--forest-area-ha", min=0, help="the district's forest area, ha (default fire/data/kpis.yaml)"
    ),
    district: str | None = typer.Option(
        None, "--district", help="6-digit district (default: the configured one)"
    ),
) -> None:
    """Fire KPIs of a period (drills never count), as JSON: hotspots verified on time (share of
    hotspot clusters whose 核查结论 was recorded by the deadline), fires out within 24 h (share of
    森林火情 events 2206 closed within 24 h of the report; target > 95 %), damage rate (damaged /
    forest area, ‰; target ≤ 0.3‰; the damaged forest area is the sum of the period's fire records —
    PUT /api/v1/fire/events/{id}/record — unless --burnt-area-ha gives it). Items still within their
    time are counted as pending."""
    from zhizhi.core.config import get_settings
    from zhizhi.core.db import session_scope
    from zhizhi.event.service import system_actor
    from zhizhi.scenarios.fire.service import kpis as svc

    def body() -> None:
        with session_scope() as s:
            res = svc.fire_kpis(
                s,
                system_actor(district or get_settings().district_code),
                period,
                burnt_area_ha=burnt_area_ha,
                forest_area_ha=forest_area_ha,
            )
        out(res)

    run(body)
