"""``zhizhi fire ratings``: the stored daily fire danger ratings (森林火险等级) that ``zhizhi fire danger``
saved, as ``GET /api/v1/fire/danger`` returns them (service.list_ratings)."""

from __future__ import annotations

from enum import StrEnum

import typer

from zhizhi.cli import out, run
from zhizhi.scenarios.fire.cli.common import fire_app, loaded_district, num, parse_day, table_lines


class UnitLevel(StrEnum):
    """Which rated units ``zhizhi fire ratings`` lists: towns (镇街), grids (网格) or both."""

    all = "all"
    town = "town"
    grid = "grid"


@fire_app.command("ratings")
def fire_ratings(
    day: str | None = typer.Option(
        None, "--date", metavar="YYYY-MM-DD", help="the day rated (default: the latest rated day)"
    ),
    district: str | None = typer.Option(None, "--district", help="6-digit district (default: configured)"),
    level: int | None = typer.Option(
        None, "--level", metavar="N", min=1, max=5, help="only ratings of danger level N or higher (1-5)"
    ),
    unit: UnitLevel = typer.Option(UnitLevel.all, "--unit", help="only towns (镇街) or only grids (网格)"),
    as_json: bool = typer.Option(False, "--json", help="print JSON (as GET /api/v1/fire/danger)"),
) -> None:
    """The stored fire danger ratings (森林火险等级) of a day: towns, then grids.

    Each row: the town or grid, the level 一级…五级 with its name (低火险 … 极高火险), the HTZ index,
    the FWI, and the station it was rated from with the straight-line distance (km). The ratings are
    those `zhizhi fire danger WEATHER.csv` stored; by default the latest day rated in the district.
    --level 4 lists the towns and grids at 四级 or 五级 (高火险 and above).
    """
    from zhizhi.core.config import get_settings
    from zhizhi.core.db import session_scope
    from zhizhi.event.service import system_actor
    from zhizhi.scenarios.fire import service

    wanted = parse_day(day, "--date") if day is not None else None

    def body() -> None:
        with session_scope() as s:
            d6 = loaded_district(s, district or get_settings().district_code)
            actor = system_actor(d6)
            on = wanted or service.latest_rated_day(s, actor)
            rows = (
                service.list_ratings(s, actor, on, None if unit is UnitLevel.all else unit.value)
                if on is not None
                else []
            )
        rated = bool(rows)  # the day has ratings (of the --unit asked), whatever their level
        if level is not None:
            rows = [r for r in rows if r.level >= level]
        if as_json:
            out([r.model_dump(mode="json") for r in rows])
            return
        if on is None:
            typer.echo(
                f"no fire danger ratings in district {d6} "
                "(rate a day from station weather: zhizhi fire danger WEATHER.csv)"
            )
            return
        if not rows and rated:  # rated, but below --level
            what = {"all": "town or grid", "town": "town", "grid": "grid"}[unit.value]
            typer.echo(
                f"{on.isoformat()} was rated in district {d6}: no {what} reached level {level} or higher"
            )
            return
        if not rows:
            what = f" at level {level} or higher" if level is not None else ""
            typer.echo(
                f"no fire danger ratings{what} in district {d6} on {on.isoformat()} "
                "(rate that day: zhizhi fire danger WEATHER.csv --date YYYY-MM-DD)"
            )
            return
        towns = sum(1 for r in rows if r.unit_level == "town")
        typer.echo(
            f"森林火险等级 {on.isoformat()} · district {d6} · {towns} towns, {len(rows) - towns} grids; "
            "each rated from its nearest station (straight-line distance)"
        )
        head = ["code", "镇街/网格", "等级", "火险", "HTZ", "FWI", "station", "km"]
        table = [head] + [
            [r.unit_code, r.unit_name, r.label, r.name, f"{r.htz:g}", num(r.fwi.fwi), r.station,
             f"{r.distance_km:.1f}"]
            for r in rows
        ]  # fmt: skip
        for line in table_lines(table, right={4, 5, 7}):
            typer.echo(line)

    run(body)
