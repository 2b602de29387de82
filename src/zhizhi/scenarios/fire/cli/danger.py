"""``zhizhi fire danger``: daily fire danger ratings (森林火险等级) per town and grid."""

from __future__ import annotations

from pathlib import Path

import typer

from zhizhi.cli import fail, run
from zhizhi.scenarios.fire.cli.common import (
    PlainUsage,
    WindUnit,
    fire_app,
    num,
    option_given,
    table_lines,
)
from zhizhi.scenarios.fire.cli.fwi import CLAMP_RH_HELP, clamped_note, refuse_weather

DEFAULT_MAX_KM = 150.0
"""--max-km's default: service.danger.DEFAULT_MAX_KM, written here so that the CLI starts without
importing the service (a test checks they agree)."""


@fire_app.command("danger", cls=PlainUsage)
def fire_danger(
    ctx: typer.Context,
    weather_csv: Path = typer.Argument(
        ..., metavar="WEATHER.csv", help="daily station weather (layout below)"
    ),
    day: str | None = typer.Option(
        None, "--date", metavar="YYYY-MM-DD", help="the day to rate (default: the file's last date)"
    ),
    wind_unit: WindUnit = typer.Option(
        WindUnit.ms, "--wind-unit", help="unit of the wind_max and ws columns"
    ),
    max_km: float = typer.Option(
        DEFAULT_MAX_KM,
        "--max-km",
        min=0,
        help="leave towns and grids farther than this (km) from every station unrated; when that leaves "
        "none, refuse and keep the day's stored ratings",
    ),
    warn_km: float = typer.Option(
        50.0, "--warn-km", min=0, help="warn about towns rated from a station farther than this (km)"
    ),
    accept_implausible_wind: bool = typer.Option(
        False,
        "--accept-implausible-wind",
        help="rate a file whose median wind is above 15 m/s as m/s all the same (else refused)",
    ),
    clamp_rh: bool = typer.Option(False, "--clamp-rh", help=CLAMP_RH_HELP),
    as_json: bool = typer.Option(False, "--json", help="print the run summary as JSON instead of the table"),
) -> None:
    """Rate the fire danger (森林火险等级) of every town and grid on one day, store it, show the towns.

    WEATHER.csv holds daily station weather, one row per station and day (column names in any
    case; extra columns ignored):

      station,lon,lat,date,tmax,rh_min,rain,wind_max[,temp,rh,ws[,prec]][,green_cover][,snow_cover]

    lon/lat WGS-84 degrees; date YYYY-MM-DD (2026/08/13 is refused), each station's dates
    consecutive; tmax daily maximum temperature °C; rh_min daily minimum relative humidity % (0-100;
    100-101 with --clamp-rh, taken as 100, also for rh; the summary counts them); rain
    the day's rain mm; wind_max daily maximum wind (m/s, or km/h with --wind-unit km/h).
    Optional: noon temp/rh/ws (and prec, the 24 h rain to noon) for the Canadian FWI;
    green_cover/snow_cover % for the phenology correction. (A `zhizhi fire fwi` file,
    long,lat,yr,mon,day,…, is refused, naming this layout.)

    Each station is rated with the Chinese HTZ level 一级…五级 (fire/data/danger.yaml; dry days counted
    over the file's days) and the FWI chained over the file's days — both continuing from the
    station's stored rating of the day before its first row, if any. Every town and grid of the
    loaded districts takes the rating of its NEAREST station (straight-line distance from its
    centroid; terrain not considered) — within --max-km (default 150 km): farther ones stay unrated,
    and a file whose stations are all that far from every town (wrong coordinates, another
    province's station) is refused, exit 2, the stored ratings kept. Re-running a day replaces that
    day's ratings.

    Wind: this command's default is m/s (Chinese station data; `zhizhi fire fwi` defaults to km/h).
    It says which unit it assumed and warns (naming line and station) about wind above 40 m/s, or
    150 km/h with --wind-unit km/h, and about towns rated from a station farther than --warn-km
    (default 50 km). Warnings go to stderr (and into the JSON) and do not stop the run. A file read
    as m/s whose median wind_max or ws is above 15 m/s (most likely km/h) is refused, exit 2,
    nothing stored: pass --wind-unit km/h, or --accept-implausible-wind to rate it as m/s anyway
    (then a warning).
    """
    from zhizhi.cli import out
    from zhizhi.core.config import get_settings
    from zhizhi.core.db import session_scope
    from zhizhi.core.errors import InvalidInput
    from zhizhi.event.service import system_actor
    from zhizhi.scenarios.fire import service, windcheck
    from zhizhi.scenarios.fire.weather import parse_iso_date

    rated_day = parse_iso_date(day) if day is not None else None
    if day is not None and rated_day is None:
        fail(f'--date "{day}": not a date YYYY-MM-DD')

    def body() -> None:
        if weather_csv.is_dir():
            fail(f"{weather_csv}: is a directory, not a CSV file")
        if not weather_csv.exists():
            fail(f"{weather_csv}: no such file")
        raw = weather_csv.read_bytes()
        try:
            with session_scope() as s:
                actor = system_actor(get_settings().district_code)
                res = service.rate_danger(
                    s,
                    actor,
                    raw,
                    weather_csv.name,
                    rated_day,
                    wind_unit=wind_unit.value,
                    max_km=max_km,
                    warn_km=warn_km,
                    accept_implausible_wind=accept_implausible_wind,
                    clamp_rh=clamp_rh,
                )
        except InvalidInput as e:
            refuse_weather(e)
        unit = wind_unit.value
        given = option_given(ctx, "wind_unit")
        other = "--wind-unit km/h" if unit == "m/s" else "--wind-unit m/s"
        note = windcheck.unit_note("wind_max and ws", unit, WindUnit.ms.value, given, other)
        for w in res.warnings:
            typer.echo(f"warning: {w}", err=True)
        if as_json:
            typer.echo(note, err=True)
            out(res.model_dump(mode="json"))
            return
        n_st = len(res.stations)
        typer.echo(
            f"森林火险等级 {res.date.isoformat()} · {res.file} · {n_st} station{'s' if n_st != 1 else ''}; "
            "each town and grid rated from its nearest station (straight-line distance)"
        )
        typer.echo(note)
        head = ["code", "镇街", "等级", "火险", "颜色", "HTZ", "FWI", "station", "km"]
        rows = [head] + [
            [
                r.unit_code,
                r.unit_name,
                r.label,
                r.name,
                f"{r.colour_name} {r.colour}",
                f"{r.htz:g}",
                num(r.fwi.fwi),
                r.station,
                f"{r.distance_km:.1f}",
            ]
            for r in res.town_ratings
        ]
        for line in table_lines(rows, right={5, 6, 8}):
            typer.echo(line)
        levels = ", ".join(f"{service.level_label(k)} {v}" for k, v in sorted(res.town_levels.items()))
        typer.echo(
            f"{res.towns} towns ({levels}), {res.grids} grids rated; {res.unrated} unrated; "
            f"{res.replaced} earlier rows of the day replaced (run {res.run_id})"
        )
        if clamp_rh:
            typer.echo(clamped_note(res.rh_clamped))
        for st in res.stations:
            open_note = " or more (the file starts in the dry spell)" if st.dry_days_open else ""
            typer.echo(
                f"  station {st.station}: {service.level_label(st.level)} HTZ {st.htz:g} "
                f"(Tmax {st.tmax:g} °C, RHmin {st.rh_min:g} %, rain {st.rain:g} mm, wind force "
                f"{st.wind_force}, dry days {st.dry_days}{open_note}); FWI {num(st.fwi.fwi)} "
                f"({st.fwi_start or 'no noon data'}); {st.towns} towns, {st.grids} grids"
            )
        if res.stations_skipped:
            typer.echo(f"  no row for {res.date.isoformat()}: {', '.join(res.stations_skipped)}")

    run(body)
