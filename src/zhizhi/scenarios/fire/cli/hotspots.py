"""``zhizhi fire hotspots …``: satellite hotspots (卫星热点) from NASA FIRMS: import, verification
outcomes, static heat sources."""

from __future__ import annotations

from pathlib import Path

import typer

from zhizhi.cli import _typer, fail, out, run
from zhizhi.scenarios.fire.cli.common import PlainUsage, fire_app

hotspots_app: typer.Typer = _typer(
    "Satellite hotspots (卫星热点): import NASA FIRMS files, record verification outcomes, static sources."
)
fire_app.add_typer(hotspots_app, name="hotspots")


@hotspots_app.command("import", cls=PlainUsage)
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
    detections of it add a note (备注) to that event. With --drill the events' titles start with
    【演练】. Re-importing a file opens nothing. Prints a JSON
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


@hotspots_app.command("verify", cls=PlainUsage)
def hotspots_verify(
    cluster_id: int = typer.Argument(..., min=1, metavar="CLUSTER_ID", help="hotspot cluster id"),
    outcome: str = typer.Option(..., "--outcome", help="真实火情 | 农事用火 | 工业热源 | 其他热源 | 误报"),
    note: str = typer.Option("", "--note", help="what was found on site"),
    by: str | None = typer.Option(
        None,
        "--by",
        metavar="NAME",
        help="required: the person who verified on site (recorded with the outcome)",
    ),
) -> None:
    """Record the verification outcome (核查结论) of a hotspot cluster.

    --by is required: a verification names the person who checked (the command has no signed user).
    The outcome shows on the cluster's events' timelines as a note (核查结论：农事用火 …, by --by);
    工业热源 proposes a static heat source there. A non-fire outcome ends the event (不予受理);
    真实火情 opens a 森林火情 (2206) event: the JSON then has ``fire_event_id`` and a ``hint`` on
    starting its response (POST /api/v1/fire/events/ID/respond). Prints the cluster as JSON (UTC)."""
    from dataclasses import replace

    from zhizhi.core.db import session_scope
    from zhizhi.event.service import system_actor
    from zhizhi.scenarios.fire import service

    who = (by or "").strip()
    if not who:
        fail("--by is required: name the person who verified the hotspot on site (e.g. --by 张三)")

    def body() -> None:
        with session_scope() as s:
            cl = service.get_cluster(s, cluster_id)
            actor = replace(system_actor(cl.district_code), name=who)
            got = service.record_outcome(s, actor, cluster_id, outcome, note)
            res = service.cluster_read(got).as_dict()
            fire = service.fire_event_id(s, got)
        if fire is not None:  # 真实火情: the 森林火情 event; its response stays a separate start
            res["fire_event_id"] = fire
            res["hint"] = (
                f"森林火情事件 {fire} 已立；启动扑救响应（预案）: POST /api/v1/fire/events/{fire}/respond"
            )
        out(res)

    run(body)


@hotspots_app.command("static")
def hotspots_static(
    accept: int | None = typer.Option(None, "--accept", metavar="ID", help="accept this proposed source"),
    reject: int | None = typer.Option(None, "--reject", metavar="ID", help="reject this proposed source"),
    until: str | None = typer.Option(
        None,
        "--until",
        metavar="YYYY-MM-DD",
        help="with --accept: snooze through this Beijing date, inclusive (alerts resume the day after)",
    ),
) -> None:
    """List static heat sources (固定热源: proposed, active, rejected), or accept / reject a proposal.

    Accepted sources snooze their detections; with --until D through the end of day D, Beijing time
    (--until 2027-06-30: snoozed to 2027-06-30 24:00 Beijing = 16:00 UTC; alerts resume on 07-01).
    A source proposed by a 工业热源 verification has kind "industrial" (type to be named)."""
    from sqlalchemy import select

    from zhizhi.core.config import get_settings
    from zhizhi.core.db import session_scope
    from zhizhi.event.service import system_actor
    from zhizhi.scenarios.fire import service
    from zhizhi.scenarios.fire.csvfields import parse_iso_date
    from zhizhi.scenarios.fire.models import StaticHeatSource
    from zhizhi.scenarios.fire.service.static import snooze_end

    if accept is not None and reject is not None:
        fail("give --accept or --reject, not both")
    if until is not None and accept is None:
        fail("--until needs --accept")
    day = parse_iso_date(until) if until is not None else None
    if until is not None and day is None:
        fail(f'--until "{until}": not a date YYYY-MM-DD')
    end = snooze_end(day) if day else None

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
