"""Commands of the fire scenario: ``zhizhi fire …``."""

from __future__ import annotations

import typer

from zhizhi.cli import _typer

fire_app: typer.Typer = _typer("Forest fire (森林防灭火): FWI, danger rating, satellite hotspots.")


# --- fwi: Canadian Fire Weather Index from a weather CSV ------------------------------------------

from enum import StrEnum  # noqa: E402  (this section's imports stay in this section)
from pathlib import Path  # noqa: E402

from zhizhi.cli import fail, run  # noqa: E402


class FFMCCoefficient(StrEnum):
    """FFMC ↔ moisture coefficient choices of ``zhizhi fire fwi``."""

    exact = "exact"
    legacy = "147.2"


class WindUnit(StrEnum):
    """Wind-speed unit choices of ``zhizhi fire fwi``."""

    kmh = "km/h"
    ms = "m/s"


@fire_app.command("fwi")
def fire_fwi(
    input_csv: Path = typer.Argument(..., help="weather CSV (layouts below)"),
    output: Path | None = typer.Option(None, "-o", "--output", help="write the CSV here (default: stdout)"),
    ffmc0: float = typer.Option(85.0, "--ffmc0", min=0, max=101, help="start-up FFMC (yesterday's value)"),
    dmc0: float = typer.Option(6.0, "--dmc0", min=0, help="start-up DMC"),
    dc0: float = typer.Option(15.0, "--dc0", min=0, help="start-up DC"),
    lat_adjust: bool = typer.Option(
        True, "--lat-adjust/--no-lat-adjust", help="day-length factors by latitude band (cffdrs lat.adjust)"
    ),
    ffmc_coefficient: FFMCCoefficient = typer.Option(
        FFMCCoefficient.exact,
        "--ffmc-coefficient",
        help="exact = 250*59.5/101 (cffdrs >= 1.9.2); 147.2 = Van Wagner & Pickett 1985, cffdrs <= 1.8.18",
    ),
    wind_unit: WindUnit = typer.Option(WindUnit.kmh, "--wind-unit", help="unit of the ws column"),
    lat: float | None = typer.Option(
        None, "--lat", min=-90, max=90, help="latitude for a file without a lat column (Yongchuan: 29.35)"
    ),
) -> None:
    """Compute the Canadian Fire Weather Index System (FFMC, DMC, DC, ISI, BUI, FWI, DSR).

    INPUT_CSV holds daily noon weather, one row per day (and station), in either layout (column
    names in any case, extra columns kept):

      long,lat,yr,mon,day,temp,rh,ws,prec   (the cffdrs layout; optional id = station)

      date,temp,rh,ws,prec[,lat][,station]  (date as YYYY-MM-DD)

    Units: temp °C, rh % (0-100), ws km/h (or m/s with --wind-unit m/s), prec mm in 24 h. Each
    station is chained in date order from the start-up codes; its dates must be consecutive. The
    output is the input columns plus ffmc,dmc,dc,isi,bui,fwi,dsr (7 significant digits).
    """
    import io
    import sys

    from zhizhi.core.errors import InvalidInput
    from zhizhi.scenarios.fire import indices
    from zhizhi.scenarios.fire import weather as fw

    exact = ffmc_coefficient is FFMCCoefficient.exact
    coefficient = indices.FFMC_COEFFICIENT if exact else indices.FFMC_COEFFICIENT_1985

    def body() -> None:
        try:
            table = fw.read_weather_csv(input_csv, wind_unit=wind_unit.value)
            result = fw.compute_fwi(
                table,
                lat=lat,
                ffmc0=ffmc0,
                dmc0=dmc0,
                dc0=dc0,
                lat_adjust=lat_adjust,
                ffmc_coefficient=coefficient,
            )
        except InvalidInput as e:
            if len(e.errors) <= 1:  # the detail already says it all: one line
                fail(e.detail)
            raise
        if output is None:
            buf = io.StringIO()
            fw.write_fwi_csv(table, result, buf)
            sys.stdout.write(buf.getvalue())
            return
        with output.open("w", encoding="utf-8", newline="") as fh:
            fw.write_fwi_csv(table, result, fh)
        n_st = len(set(table.station))
        typer.echo(f"{len(table.rows)} rows, {n_st} station{'s' if n_st != 1 else ''} → {output}", err=True)

    run(body)


# --- danger: daily fire danger ratings (森林火险等级) per town and grid -------------------------------


def _cells_width(text: str) -> int:
    """Terminal columns of ``text``: East Asian wide and full-width characters take two."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _table(rows: list[list[str]], right: set[int]) -> list[str]:
    """Rows as aligned text lines (columns in ``right`` aligned right)."""
    widths = [max(_cells_width(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for r in rows:
        cells = []
        for i, c in enumerate(r):
            pad = " " * (widths[i] - _cells_width(c))
            cells.append(pad + c if i in right else c + pad)
        lines.append("  ".join(cells).rstrip())
    return lines


def _num(v: float | None, fmt: str = "{:.1f}") -> str:
    return "—" if v is None else fmt.format(v)


@fire_app.command("danger")
def fire_danger(
    weather_csv: Path = typer.Argument(
        ..., metavar="WEATHER.csv", help="daily station weather (layout below)"
    ),
    day: str | None = typer.Option(
        None, "--date", metavar="YYYY-MM-DD", help="the day to rate (default: the file's last date)"
    ),
    wind_unit: WindUnit = typer.Option(
        WindUnit.ms, "--wind-unit", help="unit of the wind_max and ws columns"
    ),
    max_km: float | None = typer.Option(
        None, "--max-km", min=0, help="leave towns and grids farther than this from every station unrated"
    ),
    as_json: bool = typer.Option(False, "--json", help="print the run summary as JSON instead of the table"),
) -> None:
    """Rate the fire danger (森林火险等级) of every town and grid on one day, store it, show the towns.

    WEATHER.csv holds daily station weather, one row per station and day (column names in any
    case; extra columns ignored):

      station,lon,lat,date,tmax,rh_min,rain,wind_max[,temp,rh,ws[,prec]][,green_cover][,snow_cover]

    lon/lat WGS-84 degrees; date YYYY-MM-DD, each station's dates consecutive; tmax daily maximum
    temperature °C; rh_min daily minimum relative humidity %; rain the day's rain mm; wind_max daily
    maximum wind (m/s, or km/h with --wind-unit km/h). Optional: noon temp/rh/ws (and prec, the 24 h
    rain to noon) for the Canadian FWI; green_cover/snow_cover % for the phenology correction.

    Each station is rated with the Chinese HTZ level 一级…五级 (fire/data/danger.yaml; dry days counted
    over the file's days) and the FWI chained over the file's days — both continuing from the
    station's stored rating of the day before its first row, if any. Every town and grid of the
    loaded districts takes the rating of its NEAREST station (straight-line distance from its
    centroid; terrain not considered). Re-running a day replaces that day's ratings.
    """
    from datetime import date as _date

    from zhizhi.cli import out
    from zhizhi.core.config import get_settings
    from zhizhi.core.db import session_scope
    from zhizhi.core.errors import InvalidInput
    from zhizhi.event.service import system_actor
    from zhizhi.scenarios.fire import service

    try:
        rated_day = _date.fromisoformat(day) if day is not None else None
    except ValueError:
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
                    s, actor, raw, weather_csv.name, rated_day, wind_unit=wind_unit.value, max_km=max_km
                )
        except InvalidInput as e:
            if len(e.errors) <= 1:  # the detail already says it all: one line
                fail(e.detail)
            raise
        if as_json:
            out(res.model_dump(mode="json"))
            return
        n_st = len(res.stations)
        typer.echo(
            f"森林火险等级 {res.date.isoformat()} · {res.file} · {n_st} station{'s' if n_st != 1 else ''}; "
            "each town and grid rated from its nearest station (straight-line distance)"
        )
        head = ["code", "镇街", "等级", "火险", "颜色", "HTZ", "FWI", "station", "km"]
        rows = [head] + [
            [
                r.unit_code,
                r.unit_name,
                r.label,
                r.name,
                f"{r.colour_name} {r.colour}",
                f"{r.htz:g}",
                _num(r.fwi.fwi),
                r.station,
                f"{r.distance_km:.1f}",
            ]
            for r in res.town_ratings
        ]
        for line in _table(rows, right={5, 6, 8}):
            typer.echo(line)
        levels = ", ".join(f"{service.level_label(k)} {v}" for k, v in sorted(res.town_levels.items()))
        typer.echo(
            f"{res.towns} towns ({levels}), {res.grids} grids rated; {res.unrated} unrated; "
            f"{res.replaced} earlier rows of the day replaced (run {res.run_id})"
        )
        for st in res.stations:
            open_note = " or more (the file starts in the dry spell)" if st.dry_days_open else ""
            typer.echo(
                f"  station {st.station}: {service.level_label(st.level)} HTZ {st.htz:g} "
                f"(Tmax {st.tmax:g} °C, RHmin {st.rh_min:g} %, rain {st.rain:g} mm, wind force "
                f"{st.wind_force}, dry days {st.dry_days}{open_note}); FWI {_num(st.fwi.fwi)} "
                f"({st.fwi_start or 'no noon data'}); {st.towns} towns, {st.grids} grids"
            )
        if res.stations_skipped:
            typer.echo(f"  no row for {res.date.isoformat()}: {', '.join(res.stations_skipped)}")

    run(body)


# --- hotspots: satellite hotspots (卫星热点) from NASA FIRMS -----------------------------------------

from zhizhi.cli import out  # noqa: E402  (Path, fail and run are imported above)

hotspots_app: typer.Typer = _typer(
    "Satellite hotspots (卫星热点): import NASA FIRMS files, record verification outcomes, static sources."
)
fire_app.add_typer(hotspots_app, name="hotspots")


@hotspots_app.command("import")
def hotspots_import(
    file: Path = typer.Argument(
        ..., metavar="FILE", help="NASA FIRMS active-fire CSV: MODIS C6.1 or VIIRS 375 m, NRT or standard"
    ),
    skip_bad_rows: bool = typer.Option(
        False, "--skip-bad-rows", help="import the good rows and list the bad ones (default: refuse the file)"
    ),
    drill: bool = typer.Option(False, "--drill", help="an exercise (演练): its events never count in KPIs"),
) -> None:
    """Import satellite hotspots and alert the loaded districts, in one transaction.

    Accepts the FIRMS static NRT files, Area-API responses and archive downloads (confidence as
    0-100 or l/n/h / low/nominal/high; acq_time with or without leading zeros; optional instrument
    and type columns). Detections within the loaded districts plus 5 km are kept, static heat sources
    snoozed, detections of one fire clustered; each new cluster opens one 卫星热点核查 event (2207)
    routed to its town and grid, with a 1 h verification deadline (fire/data/hotspots.yaml); later
    detections of it add a step to that event. Re-importing a file opens nothing. Prints a JSON
    summary: rows_read, parsed, in_area, snoozed, clusters, events_opened, events_updated, …
    """
    from zhizhi.core.db import session_scope
    from zhizhi.scenarios.fire import service

    def body() -> None:
        if file.is_dir():
            fail(f"{file}: is a directory, not a CSV file")
        if not file.exists():
            fail(f"{file}: no such file")
        with session_scope() as s:
            res = service.import_file(s, file, skip_bad_rows=skip_bad_rows, drill=drill)
        out(res.model_dump(mode="json"))

    run(body)


@hotspots_app.command("verify")
def hotspots_verify(
    cluster_id: int = typer.Argument(..., min=1, metavar="CLUSTER_ID", help="hotspot cluster id"),
    outcome: str = typer.Option(..., "--outcome", help="真实火情 | 农事用火 | 工业热源 | 其他热源 | 误报"),
    note: str = typer.Option("", "--note", help="what was found on site"),
    by: str = typer.Option("系统", "--by", help="who verified (recorded with the outcome)"),
) -> None:
    """Record the verification outcome (核查结论) of a hotspot cluster; 工业热源 proposes a static
    heat source there. Prints the cluster as JSON (times in UTC)."""
    from dataclasses import replace

    from zhizhi.core.db import session_scope
    from zhizhi.event.service import system_actor
    from zhizhi.scenarios.fire import service

    def body() -> None:
        with session_scope() as s:
            cl = service.get_cluster(s, cluster_id)
            actor = replace(system_actor(cl.district_code), name=by.strip() or "系统")
            res = service.cluster_read(service.record_outcome(s, actor, cluster_id, outcome, note))
        out(res.as_dict())

    run(body)


@hotspots_app.command("static")
def hotspots_static(
    accept: int | None = typer.Option(None, "--accept", metavar="ID", help="accept this proposed source"),
    reject: int | None = typer.Option(None, "--reject", metavar="ID", help="reject this proposed source"),
    until: str | None = typer.Option(
        None, "--until", help="with --accept: snooze until this date (YYYY-MM-DD)"
    ),
) -> None:
    """List static heat sources (固定热源: proposed, active, rejected), or accept / reject a proposal.
    Accepted sources snooze their detections (until --until, Beijing time, if given)."""
    from datetime import date, datetime

    from sqlalchemy import select

    from zhizhi.core import time as ztime
    from zhizhi.core.config import get_settings
    from zhizhi.core.db import session_scope
    from zhizhi.event.service import system_actor
    from zhizhi.scenarios.fire import service
    from zhizhi.scenarios.fire.models import StaticHeatSource

    if accept is not None and reject is not None:
        fail("give --accept or --reject, not both")
    if until is not None and accept is None:
        fail("--until needs --accept")
    try:
        end = (
            ztime.to_utc(datetime.combine(date.fromisoformat(until), datetime.min.time())) if until else None
        )
    except ValueError:
        fail(f'--until "{until}": not a date YYYY-MM-DD')

    def body() -> None:
        with session_scope() as s:
            if accept is not None or reject is not None:
                sid = accept if accept is not None else reject
                assert sid is not None
                src = s.get(StaticHeatSource, sid)
                actor = system_actor(
                    src.district_code if src and src.district_code else get_settings().district_code
                )
                service.decide_static_source(s, actor, sid, accept is not None, end)
            rows = s.scalars(select(StaticHeatSource).order_by(StaticHeatSource.id)).all()
            out(
                [
                    {
                        "id": r.id,
                        "status": r.status,
                        "name": r.name,
                        "kind": r.kind,
                        "origin": r.origin,
                        "district_code": r.district_code,
                        "lon": round(r.lon, 6),
                        "lat": round(r.lat, 6),
                        "radius_m": r.radius_m,
                        "distinct_days": r.distinct_days,
                        "reason": r.reason,
                        "snoozed_until": r.snoozed_until.isoformat() if r.snoozed_until else None,
                    }
                    for r in rows
                ]
            )

    run(body)


# --- bulletin, drill, kpis: warnings, drills (实战演练) and fire KPIs ----------------------------------

from datetime import date as _date  # noqa: E402  (this section's imports stay in this section)


class BulletinFormat(StrEnum):
    """Output formats of ``zhizhi fire bulletin``."""

    cap = "cap"
    geojson = "geojson"


class CapStatus(StrEnum):
    """CAP ``<status>`` of a bulletin: Actual (real), Exercise (drill 演练), Test."""

    actual = "Actual"
    exercise = "Exercise"
    test = "Test"


def _day(text: str, option: str) -> _date:
    try:
        return _date.fromisoformat(text)
    except ValueError:
        fail(f'{option} "{text}": not a date YYYY-MM-DD')


@fire_app.command("bulletin")
def fire_bulletin(
    day: str = typer.Option(
        ..., "--date", metavar="YYYY-MM-DD", help="the day whose stored ratings to issue"
    ),
    fmt: BulletinFormat = typer.Option(
        BulletinFormat.cap, "--format", help="cap (OASIS CAP 1.2 XML) or geojson"
    ),
    output: Path = typer.Option(..., "-o", "--output", help="write the bulletin to this file"),
    status: CapStatus = typer.Option(CapStatus.actual, "--status", help="Actual | Exercise | Test"),
    tasks: bool = typer.Option(
        True, "--tasks/--no-tasks", help="open the prevention tasks of high-rated towns (Actual only)"
    ),
    district: str | None = typer.Option(
        None, "--district", help="6-digit district (default: the configured one)"
    ),
) -> None:
    """Issue the daily fire danger bulletin (森林火险气象等级日报) from the ratings stored for --date.

    cap: one OASIS CAP 1.2 <alert> with one <info> per town (zh-CN; level, colour and QX/T 77
    wording; geocodes GB/T 2260 county code and NBS town code; valid period), valid against
    CAP-v1.2.xsd. geojson: the towns' polygons with level, label, colour (#RRGGBB) and valid period.

    A town rated 四级 or above (fire/data/bulletin.yaml) gets one prevention task (森林防火预防任务)
    dispatched to its town center, naming its high-rated grids; once per day and town, so issuing
    the bulletin again opens nothing new. Exercise/Test bulletins open no tasks. Prints a JSON
    summary (towns per level, the tasks).
    """
    from collections import Counter

    from zhizhi.core.config import get_settings
    from zhizhi.core.db import session_scope
    from zhizhi.event.service import system_actor
    from zhizhi.scenarios.fire.service import bulletin as svc

    d = _day(day, "--date")
    if output.is_dir():
        fail(f"{output}: is a directory; give a file name")

    def body() -> None:
        d6 = district or get_settings().district_code
        with session_scope() as s:
            actor = system_actor(d6)
            data, dr = svc.bulletin(s, actor, d, fmt.value, status=status.value, district6=d6)  # type: ignore[arg-type]
            pol = svc.default_bulletin_policy().prevention
            high = [t for t in dr.towns if t.level >= pol.min_level]
            opened: list[dict[str, object]] = []
            if tasks and status is CapStatus.actual and high:
                opened = [t.as_dict() for t in svc.open_prevention_tasks(s, actor, dr)]
            output.write_bytes(data)
        levels = Counter(t.level for t in dr.towns)
        out(
            {
                "file": str(output),
                "format": fmt.value,
                "status": status.value,
                "date": d.isoformat(),
                "district_code": dr.district_code,
                "towns": len(dr.towns),
                "towns_per_level": {str(k): levels.get(k, 0) for k in range(1, 6)},
                "prevention_min_level": pol.min_level,
                "prevention_tasks": opened,
            }
        )

    run(body)


def _delays(items: list[str]) -> dict[str, float]:
    """``--delay MOVE=SECONDS`` options as {move mark: seconds}; MOVE is a mark of data/drill.yaml
    ``simulate`` (step:sign, task:grid …) or its part after the colon (sign, grid …)."""
    from zhizhi.scenarios.fire import drill

    moves = [m.move for m in drill.default_drill_policy().simulate]
    out_: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        match = [m for m in moves if name.strip() in (m, m.split(":", 1)[1])]
        if not sep or len(match) != 1:
            fail(f'--delay "{item}": give MOVE=SECONDS with MOVE one of {", ".join(moves)}')
        try:
            secs = float(value)
        except ValueError:
            fail(f'--delay "{item}": "{value}" is not a number of seconds')
        if not 0 <= secs <= 86_400:
            fail(f'--delay "{item}": seconds must be 0-86400')
        out_[match[0]] = secs
    return out_


@fire_app.command("drill")
def fire_drill(
    town: str | None = typer.Option(
        None, "--town", metavar="CODE", help="start a drill in this town (12-digit NBS)"
    ),
    report_id: int | None = typer.Option(
        None, "--report", metavar="EVENT_ID", min=1, help="show a drill's times"
    ),
    simulate: bool = typer.Option(
        False, "--simulate", help="the platform makes every move on a simulated clock (ends at once)"
    ),
    delay: list[str] = typer.Option(
        [], "--delay", metavar="MOVE=SECONDS", help="with --simulate: seconds before MOVE (e.g. sign=50)"
    ),
    cap_file: Path | None = typer.Option(
        None, "--cap", metavar="FILE", help="write the CAP alert (Exercise)"
    ),
    as_json: bool = typer.Option(False, "--json", help="print JSON instead of the text report"),
) -> None:
    """Forest fire drill (森林火情实战演练): inject a simulated hotspot and time the response.

    --town CODE injects a simulated satellite hotspot at a point inside the town (its polygon's
    representative point) through the hotspot import, flagged as a drill: its 卫星热点核查 event (2207)
    never counts in KPIs or Open311, and its CAP alert (--cap) has status Exercise. The platform
    accepts, registers and dispatches the event to the town center and starts the pre-plan
    森林火情处置预案. Then, by default (live), people make the moves that time the nodes, from the
    alarm (the event's report time):

    \b
      接警签收 alarm seen       the town center signs (签收) the event: ≤ 1:00
      到达现场 on site          the grid's pre-plan task is done: ≤ 3:00
      扑火队出动 team out       the town center's pre-plan task is done: ≤ 5:00
      火势控制 under control    处置反馈 (handle) of the event: timed

    and --report EVENT_ID shows the times so far. With --simulate the platform makes every move
    itself on a simulated clock (delays in fire/data/drill.yaml, --delay to change one), so the
    command ends at once with the full report. Targets and delays are data (fire/data/drill.yaml).
    """
    from zhizhi.core.db import session_scope
    from zhizhi.event.service import system_actor
    from zhizhi.scenarios.fire import drill
    from zhizhi.scenarios.fire.service import drill as svc

    if (town is None) == (report_id is None):
        fail("give --town CODE to start a drill, or --report EVENT_ID to show one")
    if report_id is not None and (simulate or delay or cap_file):
        fail("--simulate, --delay and --cap go with --town, not --report")
    if delay and not simulate:
        fail("--delay needs --simulate")
    if town is not None and (len(town) != 12 or not town.isdigit()):
        fail(f'--town "{town}": give the town\'s 12-digit NBS code (e.g. 500118118000 朱沱镇)')
    delays = _delays(delay)

    def body() -> None:
        from zhizhi.core.config import get_settings

        with session_scope() as s:
            if town is not None:
                run_ = svc.start_drill(s, system_actor(town[:6]), town, simulate=simulate, delays=delays)
                mode = "模拟" if simulate else "实战"
                title = f"森林火情实战演练 事件 {run_.event_id}（{run_.town_name}，{mode}）"
                res, data = run_.result, run_.as_dict()
                if cap_file is not None:
                    cap_file.write_bytes(run_.cap_xml)
                    data["cap_file"] = str(cap_file)
            else:
                assert report_id is not None
                ev, res = svc.drill_report(s, system_actor(get_settings().district_code), report_id)
                title = svc.drill_title(s, ev)
                data = {"event_id": ev.id, "town_code": ev.town_code, "node": ev.node, **res.as_dict()}
        if as_json:
            out(data)
            return
        lines = drill.report_lines(res, title)
        if town is not None and not simulate:
            lines.append(
                f"下一步：镇街指挥中心签收事件 {data['event_id']}，网格员/护林员与镇街完成预案任务，"
                f"镇街处置反馈；进度：zhizhi fire drill --report {data['event_id']}"
            )
        typer.echo("\n".join(lines))

    run(body)


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


# --- resources, hazards, patrols: fire resources, hazard ledger (隐患台账), ranger patrols ----------------

resources_app: typer.Typer = _typer(
    "Fire resources (防火资源): import the district's ledgers (CSV or GeoJSON), list them."
)
fire_app.add_typer(resources_app, name="resources")
hazards_app: typer.Typer = _typer("Fire hazard ledger (隐患台账): list, add, rectify, close out (销号).")
fire_app.add_typer(hazards_app, name="hazards")
patrols_app: typer.Typer = _typer("Ranger patrols (护林员巡护记录): list.")
fire_app.add_typer(patrols_app, name="patrols")


class Crs(StrEnum):
    """Coordinate systems of point input."""

    wgs84 = "wgs84"
    gcj02 = "gcj02"


def _staff_actor(session: object, district6: str, username: str) -> object:
    """The platform acting for staff ``username`` (its id and name on the rows written)."""
    from dataclasses import replace

    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from zhizhi.event.service import system_actor
    from zhizhi.org.models import Staff

    assert isinstance(session, Session)
    st = session.scalar(select(Staff).where(Staff.username == username, Staff.active.is_(True)))
    if st is None:
        fail(f'--by "{username}": no such active staff (see `zhizhi user list`)')
    return replace(system_actor(district6), id=st.id, name=st.name, username=st.username)


@resources_app.command("import")
def resources_import(
    file: Path = typer.Argument(..., metavar="FILE", help="resource ledger: .csv or .geojson"),
    kind: str | None = typer.Option(
        None, "--kind", help="the kind of every row when the file has no kind column (team, water, …)"
    ),
    crs: Crs = typer.Option(Crs.wgs84, "--crs", help="gcj02: the file's points are GCJ-02 (AMap/Tencent)"),
    district: str | None = typer.Option(None, "--district", help="6-digit district (default: configured)"),
) -> None:
    """Import fire resources (防火资源) into a district, all or nothing; prints a JSON summary.

    Kinds: team (扑火队伍), water (水源/取水点), lookout (瞭望塔/林火视频监控), checkpoint (防火检查站/卡口),
    depot (物资库), drone_dock (无人机机场). CSV: a header of column names (English or Chinese) —

    \b
      kind,code,name,lon,lat,owner,contact_name,contact_phone,address,note  (kind, code … optional)
      team:       type (professional|semi_professional), people, equipment (a;b;c); owner required
      water:      type (pond|tank|reservoir|hydrant|aviation), capacity_m3
      lookout:    type (tower|camera), height_m, range_km
      checkpoint: type (station|gate), staffed (是/否)
      depot:      type (district|town|village), items (风力灭火机:20:台;二号工具:100:把)
      drone_dock: drones, model, range_km

    GeoJSON: a FeatureCollection of Points with the same names as properties. owner: a 12-digit town
    code (its town center), a department abbreviation (LYJ) or a unit code. A row whose code is
    already a resource of the district updates it. Any bad cell refuses the file: every error is
    listed with its line and column. No resource ships with zhizhi: import the district's own.
    """
    from zhizhi.core.config import get_settings
    from zhizhi.core.db import session_scope
    from zhizhi.event.service import system_actor
    from zhizhi.scenarios.fire.service import resources as svc

    def body() -> None:
        if file.is_dir():
            fail(f"{file}: is a directory, not a file")
        if not file.exists():
            fail(f"{file}: no such file")
        d6 = district or get_settings().district_code
        with session_scope() as s:
            res = svc.import_resources(
                s,
                system_actor(d6),
                file.read_bytes(),
                file.name,
                kind=kind,
                crs=crs.value,  # type: ignore[arg-type]
            )
        out(res.model_dump(mode="json"))

    run(body)


@resources_app.command("list")
def resources_list(
    kind: str | None = typer.Option(None, "--kind", help="only this kind"),
    district: str | None = typer.Option(None, "--district", help="6-digit district (default: configured)"),
    as_json: bool = typer.Option(False, "--json", help="print JSON (contacts masked)"),
) -> None:
    """List the fire resources of a district: id, kind, type, name, town, owner unit, point."""
    from zhizhi.core.config import get_settings
    from zhizhi.core.db import session_scope
    from zhizhi.event.service import system_actor
    from zhizhi.scenarios.fire.service import resources as svc

    def body() -> None:
        with session_scope() as s:
            rows = svc.list_resources(s, system_actor(district or get_settings().district_code), kind)
        if as_json:
            out([r.model_dump(mode="json") for r in rows])
            return
        if not rows:
            typer.echo("no fire resources (import the district's ledger: zhizhi fire resources import FILE)")
            return
        head = ["id", "kind", "type", "name", "town", "owner", "lon", "lat"]
        table = [head] + [
            [str(r.id), r.kind, r.type_name, r.name, r.town_code or "—", r.owner_unit_code or "—",
             f"{r.lon:.6f}", f"{r.lat:.6f}"]
            for r in rows
        ]  # fmt: skip
        for line in _table(table, right={0, 6, 7}):
            typer.echo(line)

    run(body)


@hazards_app.command("list")
def hazards_list(
    status: str | None = typer.Option(None, "--status", help="open | rectifying | closed"),
    kind: str | None = typer.Option(
        None, "--kind", help="a kind key or Chinese name (fire/data/hazards.yaml)"
    ),
    town: str | None = typer.Option(None, "--town", metavar="CODE", help="12-digit town code"),
    overdue: bool = typer.Option(False, "--overdue", help="only hazards past their deadline (逾期)"),
    district: str | None = typer.Option(None, "--district", help="6-digit district (default: configured)"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """The hazard ledger (隐患台账), newest found first: status (待整改 / 整改中 / 已销号), deadline,
    overdue (逾期)."""
    from zhizhi.core.config import get_settings
    from zhizhi.core.db import session_scope
    from zhizhi.event.service import system_actor
    from zhizhi.scenarios.fire.service import hazards as svc

    def body() -> None:
        with session_scope() as s:
            rows = svc.list_hazards(
                s,
                system_actor(district or get_settings().district_code),
                status=status,
                kind=kind,
                town_code=town,
                overdue=True if overdue else None,
            )
        if as_json:
            out([r.model_dump(mode="json") for r in rows])
            return
        if not rows:
            typer.echo("no hazards")
            return
        head = ["id", "状态", "种类", "镇街", "发现人", "发现时间", "整改期限", "逾期"]
        table = [head] + [
            [str(h.id), h.status_name, h.kind_name, h.town_code or "—", h.found_by,
             f"{h.found_at.astimezone(LOCAL_TZ):%Y-%m-%d %H:%M}", h.deadline.isoformat(),
             "是" if h.overdue else ""]
            for h in rows
        ]  # fmt: skip
        for line in _table(table, right={0}):
            typer.echo(line)

    run(body)


@hazards_app.command("add")
def hazards_add(
    kind: str = typer.Option(..., "--kind", help="a kind key or Chinese name (fire/data/hazards.yaml)"),
    lon: float = typer.Option(..., "--lon", min=-180, max=180, help="longitude, degrees"),
    lat: float = typer.Option(..., "--lat", min=-90, max=90, help="latitude, degrees"),
    description: str = typer.Option(..., "--description", help="what was found"),
    by: str = typer.Option(..., "--by", metavar="USERNAME", help="who found it (a staff username)"),
    crs: Crs = typer.Option(Crs.wgs84, "--crs", help="gcj02: the point is GCJ-02 (AMap/Tencent)"),
    found_at: str | None = typer.Option(
        None, "--found-at", metavar="ISO", help="when found (default now; no zone: Beijing time)"
    ),
    deadline: str | None = typer.Option(
        None, "--deadline", metavar="YYYY-MM-DD", help="rectification deadline (default: the kind's days)"
    ),
    address: str | None = typer.Option(None, "--address", help="where, in words"),
    district: str | None = typer.Option(None, "--district", help="6-digit district (default: configured)"),
) -> None:
    """Put a fire hazard on the ledger (隐患登记): it is placed in its town and grid; prints it as JSON."""
    from datetime import datetime

    from pydantic import ValidationError

    from zhizhi.core.config import get_settings
    from zhizhi.core.db import session_scope
    from zhizhi.scenarios.fire.hazard_schemas import HazardIn
    from zhizhi.scenarios.fire.service import hazards as svc

    try:
        at = datetime.fromisoformat(found_at) if found_at else None
    except ValueError:
        fail(f'--found-at "{found_at}": not an ISO 8601 time (e.g. 2026-11-30T09:30)')
    due = _day(deadline, "--deadline") if deadline else None
    try:
        data = HazardIn(
            kind=kind, lon=lon, lat=lat, crs=crs.value, description=description, address=address,
            found_at=at, deadline=due, found_by=by,
        )  # fmt: skip
    except ValidationError as e:
        err = e.errors()[0]
        fail(f"--{'-'.join(str(x) for x in err['loc'])}: {err['msg']}")

    def body() -> None:
        d6 = district or get_settings().district_code
        with session_scope() as s:
            actor = _staff_actor(s, d6, by)
            res = svc.hazard_read(svc.add_hazard(s, actor, data))  # type: ignore[arg-type]
        out(res.model_dump(mode="json"))

    run(body)


@hazards_app.command("rectify")
def hazards_rectify(
    hazard_id: int = typer.Argument(..., min=1, metavar="ID", help="hazard id"),
    note: str = typer.Option(..., "--note", help="what is being done"),
    by: str = typer.Option(..., "--by", metavar="USERNAME", help="who records it (a staff username)"),
    district: str | None = typer.Option(None, "--district", help="6-digit district (default: configured)"),
) -> None:
    """Mark a hazard as being rectified (整改中); prints it as JSON."""
    from zhizhi.core.config import get_settings
    from zhizhi.core.db import session_scope
    from zhizhi.scenarios.fire.service import hazards as svc

    def body() -> None:
        with session_scope() as s:
            actor = _staff_actor(s, district or get_settings().district_code, by)
            res = svc.hazard_read(svc.start_rectification(s, actor, hazard_id, note))  # type: ignore[arg-type]
        out(res.model_dump(mode="json"))

    run(body)


@hazards_app.command("close")
def hazards_close(
    hazard_id: int = typer.Argument(..., min=1, metavar="ID", help="hazard id"),
    evidence: str = typer.Option(..., "--evidence", help="the evidence of the rectification (整改佐证)"),
    by: str = typer.Option(
        ..., "--by", metavar="USERNAME", help="who checked and closes it (a town or district staff username)"
    ),
    district: str | None = typer.Option(None, "--district", help="6-digit district (default: configured)"),
) -> None:
    """Close a hazard out (销号) after checking its rectification. --by must be staff of a town or
    district role (fire/data/hazards.yaml close.scopes); a grid worker may not close what he found."""
    from sqlalchemy import select

    from zhizhi.core.access import permission_table
    from zhizhi.core.config import get_settings
    from zhizhi.core.db import session_scope
    from zhizhi.org.models import Staff
    from zhizhi.scenarios.fire import hazards as rules
    from zhizhi.scenarios.fire.service import hazards as svc

    def body() -> None:
        with session_scope() as s:
            st = s.scalar(select(Staff).where(Staff.username == by, Staff.active.is_(True)))
            spec = permission_table().roles.get(st.role) if st is not None else None
            scopes = rules.default_hazard_policy().close.scopes
            if spec is not None and spec.scope not in scopes:
                who = " or ".join(scopes)
                fail(f'--by "{by}": a {spec.label} may not close hazards out (销号 needs a {who} role)')
            actor = _staff_actor(s, district or get_settings().district_code, by)
            res = svc.hazard_read(svc.close_hazard(s, actor, hazard_id, evidence))  # type: ignore[arg-type]
        out(res.model_dump(mode="json"))

    run(body)


@patrols_app.command("list")
def patrols_list(
    since: str | None = typer.Option(
        None, "--since", metavar="YYYY-MM-DD", help="started on or after this day"
    ),
    until: str | None = typer.Option(None, "--until", metavar="YYYY-MM-DD", help="started before this day"),
    grid: str | None = typer.Option(None, "--grid", metavar="CODE", help="only this grid's"),
    district: str | None = typer.Option(None, "--district", help="6-digit district (default: configured)"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Ranger patrols (护林员巡护), newest first: ranger, grid, start, hours, track length (km, straight
    segments between the track's points), hazards found. Days are Beijing time."""
    from datetime import datetime

    from zhizhi.core.config import get_settings
    from zhizhi.core.db import session_scope
    from zhizhi.event.service import system_actor
    from zhizhi.scenarios.fire.service import hazards as svc

    start = datetime.combine(_day(since, "--since"), datetime.min.time()) if since else None
    end = datetime.combine(_day(until, "--until"), datetime.min.time()) if until else None

    def body() -> None:
        with session_scope() as s:
            rows = svc.list_patrols(
                s,
                system_actor(district or get_settings().district_code),
                since=start,
                until=end,
                grid_code=grid,
            )
        if as_json:
            out([r.model_dump(mode="json") for r in rows])
            return
        if not rows:
            typer.echo("no patrols")
            return
        head = ["id", "护林员", "网格", "开始", "时长h", "里程km", "隐患"]
        table = [head] + [
            [str(p.id), p.ranger_name, p.grid_code, f"{p.started_at.astimezone(LOCAL_TZ):%Y-%m-%d %H:%M}",
             f"{p.hours:.1f}", f"{p.length_km:.2f}", ",".join(map(str, p.hazard_ids)) or "—"]
            for p in rows
        ]  # fmt: skip
        for line in _table(table, right={0, 4, 5}):
            typer.echo(line)

    run(body)


from zhizhi.core.time import LOCAL_TZ  # noqa: E402  (this section's import, used when a command runs)
