"""``zhizhi fire hotspots …``: satellite hotspots (卫星热点) from NASA FIRMS: import, verification
outcomes, static heat sources, and views of the clusters (热点聚类) with their detections and routing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import typer

from zhizhi.cli import _typer, fail, out, run
from zhizhi.scenarios.fire.cli.common import ID_MAX, IdUsage, PlainUsage, fire_app, parse_day, table_lines

hotspots_app: typer.Typer = _typer(
    "Satellite hotspots (卫星热点): import NASA FIRMS files, list and show clusters, record verification "
    "outcomes, static sources."
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


@hotspots_app.command("verify", cls=IdUsage)
def hotspots_verify(
    cluster_id: int = typer.Argument(..., min=1, max=ID_MAX, metavar="CLUSTER_ID", help="hotspot cluster id"),
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
    真实火情 opens a 森林火情 (2206) event: the JSON then has ``fire_event_id`` and, by policy
    (fire/data/resources.yaml response.auto_respond_on_confirmed), the response started on it
    (``response``: the tasks dispatched) or why not (``response_note``), else a ``hint`` on starting
    it (POST /api/v1/fire/events/ID/respond). On a historical cluster (历史热点: an archive detection,
    no event) the outcome is recorded only: 真实火情 opens no event and starts nothing
    (``response_note``). Prints the cluster as JSON (UTC)."""
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
            got = service.verify_cluster(s, actor, cluster_id, outcome, note)
            res = service.cluster_read(got.cluster).as_dict()
        if got.fire_event_id is not None:  # 真实火情: the 森林火情 event and its response (or why not)
            res["fire_event_id"] = got.fire_event_id
            if got.response is not None:
                res["response"] = got.response.model_dump(mode="json")
            if got.hint is not None:
                res["hint"] = got.hint
        if got.response_note is not None:  # why no response (also: a historical cluster's 真实火情)
            res["response_note"] = got.response_note
        out(res)

    run(body)


@hotspots_app.command("static")
def hotspots_static(
    accept: int | None = typer.Option(
        None, "--accept", metavar="ID", min=1, max=ID_MAX, help="accept this proposed source"
    ),
    reject: int | None = typer.Option(
        None, "--reject", metavar="ID", min=1, max=ID_MAX, help="reject this proposed source"
    ),
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


# --- views of clusters (热点聚类), as GET /api/v1/fire/clusters[/{id}] -------------------------------------

CLUSTER_STATES = {
    "pending": "待核查",
    "overdue": "核查逾期",
    "verified": "已核查",
    "historical": "历史热点",
    "drill_ended": "演练已结束",
}
"""The verification states of a cluster ``--status`` takes besides an outcome: no outcome yet and the
deadline not passed (pending), passed (overdue), an outcome recorded (verified), an archive detection
nobody is asked to verify (historical, no deadline) and a drill cluster whose drill ended without an
outcome (drill_ended); only pending and overdue await a verification (schemas.ClusterRead)."""


def _cluster_state(view: Any, now: datetime) -> str:
    """The state key of a cluster view (:data:`CLUSTER_STATES`)."""
    if view.verification != "awaiting":
        return str(view.verification)
    return "overdue" if view.verify_due_at is not None and now > view.verify_due_at else "pending"


def _due_text(view: Any) -> str:
    """The verification deadline of a cluster view in Beijing time, or — without one (historical)."""
    from zhizhi.scenarios.fire import hotspots as hs

    return hs.beijing(view.verify_due_at) if view.verify_due_at is not None else "—"


def _status_filter(status: str | None) -> Callable[[Any, datetime], bool]:
    """A predicate on (cluster view, now) for ``--status``: a state of :data:`CLUSTER_STATES` (key or
    Chinese) or a verification outcome (key or Chinese name, data/hotspots.yaml); a usage error
    listing both otherwise."""
    from zhizhi.scenarios.fire import service

    if status is None:
        return lambda _v, _now: True
    want = status.strip()
    for key, zh in CLUSTER_STATES.items():
        if want in (key, zh):
            state = key
            return lambda v, now: _cluster_state(v, now) == state
    try:
        outcome = service.hotspot_config().outcome(want).key
    except ValueError as e:
        states = " | ".join(f"{k} ({zh})" for k, zh in CLUSTER_STATES.items())
        fail(f'--status "{want}": not a state ({states}) nor an outcome: {e}')
    return lambda v, _now: v.outcome == outcome


def _event_states(session: Any, ids: set[int]) -> dict[int, str]:
    """The node (环节) of each event id, with the event it was merged into (merged→ID)."""
    from sqlalchemy import select

    from zhizhi.event.models import Event

    if not ids:
        return {}
    rows = session.execute(select(Event.id, Event.node, Event.merged_into_id).where(Event.id.in_(ids)))
    return {i: f"merged→{m}" if node == "merged" and m else node for i, node, m in rows.all()}


def _outcome_text(view: Any) -> str:
    """The verification outcome of a cluster view: its Chinese name and whether on time, or —."""
    from zhizhi.scenarios.fire import service

    if view.outcome is None:
        return "—"
    name = service.hotspot_config().outcome(view.outcome).name
    if view.verified_on_time is None:
        return name  # no deadline (a historical cluster)
    return f"{name}（{'按时' if view.verified_on_time else '超时'}）"


@hotspots_app.command("clusters")
def hotspots_clusters(
    status: str | None = typer.Option(
        None,
        "--status",
        help="pending (待核查) | overdue (核查逾期) | verified (已核查) | historical | drill_ended, "
        "or an outcome (真实火情, 误报 …)",
    ),
    since: str | None = typer.Option(
        None, "--since", metavar="YYYY-MM-DD", help="last detected on or after this day (Beijing time)"
    ),
    district: str | None = typer.Option(None, "--district", help="6-digit district (default: configured)"),
    as_json: bool = typer.Option(False, "--json", help="print JSON (as GET /api/v1/fire/clusters; UTC)"),
) -> None:
    """Hotspot clusters (热点聚类) of a district, newest last detection first (at most 500).

    Each: id, first and last detection (北京时间), detections, highest confidence %, the town and grid
    (names) its 卫星热点核查 event was routed to, the event id and its node (环节), the 森林火情 event
    it was merged into once verified as 真实火情, the verification outcome (核查结论, on time or not)
    and deadline. Drill clusters (演练) are marked. One cluster with its
    detections and routing: zhizhi fire hotspots show CLUSTER_ID.
    """
    from zhizhi.core import time as ztime
    from zhizhi.core.config import get_settings
    from zhizhi.core.db import session_scope
    from zhizhi.event.service import system_actor
    from zhizhi.scenarios.fire import hotspots as hs
    from zhizhi.scenarios.fire import service

    keep = _status_filter(status)
    start = datetime.combine(parse_day(since, "--since"), datetime.min.time()) if since else None

    def body() -> None:
        d6 = district or get_settings().district_code
        now = ztime.utcnow()
        with session_scope() as s:
            every = service.list_clusters(s, system_actor(d6), since=start)
            rows = [v for v in every if keep(v, now)]
            states = _event_states(s, {v.event_id for v in rows if v.event_id is not None})
            names = _unit_names(s, [c for v in rows for c in (v.town_code, v.grid_code)])
        if as_json:
            out([v.as_dict() for v in rows])
            return
        if not rows:
            typer.echo(_none_text(d6, status, since, len(every)))
            return
        head = [
            "id",
            "首次发现",
            "最近发现",
            "热点",
            "置信度",
            "镇街",
            "网格",
            "事件",
            "环节",
            "森林火情",
            "状态",
            "核查结论",
            "核查期限",
        ]
        table = [head] + [
            [str(v.id), hs.beijing(v.first_seen), hs.beijing(v.last_seen), str(v.n_detections),
             f"{v.max_confidence}%", _named(v.town_code, names), _named(v.grid_code, names),
             str(v.event_id) if v.event_id is not None else "—",
             states.get(v.event_id, "—") if v.event_id is not None else "—",
             str(v.fire_event_id) if v.fire_event_id is not None else "—",
             CLUSTER_STATES[_cluster_state(v, now)] + (" 演练" if v.drill else ""),
             _outcome_text(v), _due_text(v)]
            for v in rows
        ]  # fmt: skip
        for line in table_lines(table, right={0, 3, 4, 7, 9}):
            typer.echo(line)
        typer.echo("times: 北京时间 (Beijing)")

    run(body)


def _named(code: str | None, names: dict[str, str]) -> str:
    """An org unit's name (its code when it has none loaded), or — without a code."""
    if not code:
        return "—"
    return names.get(code) or code


def _none_text(d6: str, status: str | None, since: str | None, total: int) -> str:
    """What ``clusters`` prints when no cluster is listed: none at all (import files), or none with
    this ``--status`` among ``total`` clusters (of the --since window)."""
    window = f" since {since}" if since else ""
    if total == 0:
        return (
            f"no hotspot clusters in district {d6}{window} "
            "(import NASA FIRMS files: zhizhi fire hotspots import FILE)"
        )
    states = " | ".join(CLUSTER_STATES)
    return (
        f"no clusters with status {status} in district {d6}{window} ({total} cluster"
        f"{'s' if total != 1 else ''} in total; --status {states} or an outcome to list others, "
        "no --status for all)"
    )


@hotspots_app.command("show", cls=IdUsage)
def hotspots_show(
    cluster_id: int = typer.Argument(..., min=1, max=ID_MAX, metavar="CLUSTER_ID", help="hotspot cluster id"),
    as_json: bool = typer.Option(False, "--json", help="print JSON (as GET /api/v1/fire/clusters/ID; UTC)"),
) -> None:
    """One hotspot cluster (热点聚类): its detections and where its alerts were routed.

    Detections: satellite/instrument, acquisition time (北京时间), lon/lat (WGS-84 pixel centre),
    confidence, FRP (MW). Routing: the district the cluster lies in, the town and grid its 卫星热点核查
    event was placed in (by point-in-polygon of the detection) and the unit the ownership rules
    (权属配置) suggest, and the neighbouring districts alerted (邻区通报, within the buffer of
    data/hotspots.yaml) with their events. Acts as the platform of the cluster's district.
    """
    from zhizhi.core import time as ztime
    from zhizhi.core.db import session_scope
    from zhizhi.event.models import Event
    from zhizhi.event.service import system_actor
    from zhizhi.scenarios.fire import hotspots as hs
    from zhizhi.scenarios.fire import service

    def body() -> None:
        with session_scope() as s:
            cl = service.get_cluster(s, cluster_id)
            v = service.read_cluster(s, system_actor(cl.district_code), cluster_id)
            ev = s.get(Event, v.event_id) if v.event_id is not None else None
            names = _unit_names(
                s,
                [
                    cl.district_code + "000000",
                    v.town_code,
                    v.grid_code,
                    ev.suggested_unit_code if ev else None,
                ],
            )
            states = _event_states(s, {a.event_id for a in v.alerts if a.event_id is not None})
            buffer_km = service.hotspot_config().area.buffer_km
        if as_json:
            out(v.as_dict())
            return
        now = ztime.utcnow()
        typer.echo(
            f"热点聚类 {v.id}{' (演练 drill)' if v.drill else ''} · district {v.district_code} · "
            f"{v.lon:.5f}, {v.lat:.5f} · {v.n_detections} detections, max confidence {v.max_confidence}%, "
            f"max FRP {v.max_frp:.1f} MW"
        )
        typer.echo(
            f"  first {hs.beijing(v.first_seen)}, last {hs.beijing(v.last_seen)} (北京时间); "
            f"{CLUSTER_STATES[_cluster_state(v, now)]}: 核查结论 {_outcome_text(v)}, "
            f"deadline {_due_text(v)}"
            + (f", by {v.verified_by} at {hs.beijing(v.verified_at)}" if v.verified_at else "")
        )
        if v.outcome_note:
            typer.echo(f"  note: {v.outcome_note}")
        typer.echo("detections:")
        head = ["id", "satellite", "北京时间", "lon", "lat", "置信度", "FRP MW", "状态"]
        table = [head] + [
            [str(h.id), f"{h.satellite}/{h.instrument}", hs.beijing(h.acq_at), f"{h.lon:.5f}", f"{h.lat:.5f}",
             f"{h.confidence}% {hs.CLASS_LABEL_ZH.get(h.confidence_class, h.confidence_class)}",
             f"{h.frp:.1f}", h.status]
            for h in v.hotspots or []
        ]  # fmt: skip
        for line in table_lines(table, right={0, 3, 4, 6}):
            typer.echo("  " + line)
        typer.echo("routing:")
        district_name = names.get(cl.district_code + "000000", "")
        typer.echo(f"  district {v.district_code} {district_name}: the cluster lies in it")
        if ev is not None:
            town = f"{v.town_code} {names.get(v.town_code or '', '')}".strip() if v.town_code else "—"
            grid = f"{v.grid_code} {names.get(v.grid_code or '', '')}".strip() if v.grid_code else "—"
            unit = ev.suggested_unit_code
            routed = (
                f"; suggested unit {unit} {names.get(unit, '')}".rstrip() + f" ({ev.dispatch_mode}, 权属配置)"
                if unit
                else ""
            )
            typer.echo(
                f"  event {ev.id} ({ev.node}): town {town}, grid {grid} — the detection's point lies in "
                f"them (point-in-polygon){routed}"
            )
        elif v.event_id is None:
            typer.echo("  no verification event (a historical detection, or out of this district's scope)")
        for a in v.alerts:
            if a.role == "primary":
                continue
            typer.echo(
                f"  邻区通报 district {a.district_code}: {a.distance_m / 1000:.1f} km from its boundary "
                f"(≤ {buffer_km:g} km buffer), event {a.event_id if a.event_id is not None else '—'}"
                + (f" ({states[a.event_id]})" if a.event_id in states else "")
            )

    run(body)


def _unit_names(session: Any, codes: list[str | None]) -> dict[str, str]:
    """The names of the org units with these codes (unknown codes left out)."""
    from sqlalchemy import select

    from zhizhi.org.models import OrgUnit

    want = {c for c in codes if c}
    if not want:
        return {}
    return dict(session.execute(select(OrgUnit.code, OrgUnit.name).where(OrgUnit.code.in_(want))).all())
