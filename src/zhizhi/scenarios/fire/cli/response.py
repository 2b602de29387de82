"""``zhizhi fire nearest`` and ``zhizhi fire respond``: the response to a fire event (火情处置) — the
nearest resources of each kind, and the one-click start of the forest-fire pre-plan (预案启动) — as
``GET /api/v1/fire/events/{id}/nearest`` and ``POST …/respond`` do (service/response.py)."""

from __future__ import annotations

from datetime import datetime

import typer

from zhizhi.cli import fail, out, run
from zhizhi.core.time import LOCAL_TZ
from zhizhi.scenarios.fire.cli.common import ID_MAX, IdUsage, fire_app, table_lines


def _local(at: datetime | None) -> str:
    """An aware time as Beijing time ``YYYY-MM-DD HH:MM``, or an em dash."""
    return "—" if at is None else f"{at.astimezone(LOCAL_TZ):%Y-%m-%d %H:%M}"


@fire_app.command("nearest", cls=IdUsage)
def fire_nearest(
    event_id: int = typer.Argument(
        ..., min=1, max=ID_MAX, metavar="EVENT_ID", help="a 森林火情 (2206) or 卫星热点核查 (2207) event"
    ),
    kind: str | None = typer.Option(
        None,
        "--kind",
        help="only this kind: team | water | lookout | checkpoint | depot | drone_dock (or 中文名)",
    ),
    limit: int | None = typer.Option(
        None, "--limit", metavar="N", min=1, help="how many of each kind (default 3, data/resources.yaml)"
    ),
    as_json: bool = typer.Option(False, "--json", help="print JSON (as GET /api/v1/fire/events/ID/nearest)"),
) -> None:
    """The nearest fire resources (防火资源) of each kind to a fire event's point, nearest first.

    Distances are straight lines (great-circle): the road distance a team drives needs a road network,
    which zhizhi does not have. Only the event's district's resources count. Acts as the platform of
    the event's district; a non-fire event or one without a point is refused.
    """
    from zhizhi.core.config import get_settings
    from zhizhi.core.db import session_scope
    from zhizhi.event.models import Event
    from zhizhi.event.service import system_actor
    from zhizhi.scenarios.fire import resources as rules
    from zhizhi.scenarios.fire.service import response

    only = None
    if kind is not None:
        kinds = rules.default_resource_policy().kinds
        only = next((k.key for k in kinds if kind.strip() in (k.key, k.name)), None)
        if only is None:
            known = ", ".join(f"{k.key} ({k.name})" for k in kinds)
            fail(f'--kind "{kind}": unknown resource kind; known: {known}')

    def body() -> None:
        with session_scope() as s:
            ev = s.get(Event, event_id)
            d6 = ev.district_code if ev is not None else get_settings().district_code
            res = response.nearest(s, system_actor(d6), event_id, limit)
        if only is not None:
            res.kinds = [k for k in res.kinds if k.kind == only]
        if as_json:
            out(res.model_dump(mode="json"))
            return
        typer.echo(
            f"最近资源 event {res.event_id} ({res.category_code}) at {res.lon:.6f}, {res.lat:.6f}: "
            f"{res.per_kind} nearest of each kind"
        )
        head = ["种类", "id", "name", "type", "km", "town", "owner"]
        table = [head]
        for k in res.kinds:
            if not k.resources:
                table.append([k.name, "—", "(none registered)", "", "", "", ""])
            for r in k.resources:
                table.append([k.name, str(r.id), r.name, r.type_name, f"{r.distance_km:.3f}",
                              r.town_code or "—", r.owner_unit_code or "—"])  # fmt: skip
        for line in table_lines(table, right={1, 4}):
            typer.echo(line)
        typer.echo(f"distance: {res.distance}")

    run(body)


@fire_app.command("respond", cls=IdUsage)
def fire_respond(
    event_id: int = typer.Argument(
        ..., min=1, max=ID_MAX, metavar="EVENT_ID", help="a 森林火情 (2206) or 卫星热点核查 (2207) event"
    ),
    as_user: str = typer.Option(
        ...,
        "--as",
        metavar="USER",
        help="required: act as this user (username); its role needs event.preplan and the event in scope",
    ),
    as_json: bool = typer.Option(False, "--json", help="print JSON (as POST /api/v1/fire/events/ID/respond)"),
) -> None:
    """Start the forest-fire response (一键响应, 预案启动) on a fire event; prints the tasks dispatched.

    Starts the pre-plan 森林火情处置预案 (tasks for 林业局, the town center, the grid and 应急局) and
    gives the unit of the nearest team a task to send it (扑火队出动, with its straight-line distance).
    --as USER acts as that account, with its role and data scope, exactly as over HTTP: it needs
    event.preplan and fire.read and must see the event. Refused while the pre-plan already runs on
    the event, for a closed event, a non-fire event or one without a point or grid.
    """
    from sqlalchemy import select

    from zhizhi.auth.service import user_actor
    from zhizhi.core.db import session_scope
    from zhizhi.event.models import PrePlan
    from zhizhi.scenarios.fire.service import response

    def body() -> None:
        with session_scope() as s:
            res = response.respond(s, user_actor(s, as_user), event_id)
            plan = s.scalar(select(PrePlan.name).where(PrePlan.code == res.preplan)) or res.preplan
        if as_json:
            out(res.model_dump(mode="json"))
            return
        typer.echo(
            f"预案启动 {plan} ({res.preplan}) on event {res.event_id}: {len(res.tasks)} tasks dispatched"
        )
        if res.team is not None:
            typer.echo(
                f"扑火队: {res.team.name} ({res.team.type_name}, id {res.team.id}), "
                f"{res.team.distance_km:.3f} km straight line"
            )
        head = ["task", "unit", "role", "deadline", "任务"]
        table = [head] + [[str(t.id), t.unit_code, t.role, _local(t.deadline), t.task] for t in res.tasks]
        for line in table_lines(table, right={0}):
            typer.echo(line)
        for note in res.notes:
            typer.echo(f"note: {note}")
        typer.echo(f"distance: {res.distance}")

    run(body)
