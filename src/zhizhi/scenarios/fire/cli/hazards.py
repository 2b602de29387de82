"""``zhizhi fire hazards …`` and ``zhizhi fire patrols …``: the hazard ledger (隐患台账) with
close-out (销号), and ranger patrols (护林员巡护)."""

from __future__ import annotations

import typer

from zhizhi.cli import _typer, fail, out, run
from zhizhi.core.time import LOCAL_TZ
from zhizhi.scenarios.fire.cli.common import (
    ID_MAX,
    Crs,
    IdUsage,
    fire_app,
    parse_day,
    staff_actor,
    table_lines,
)

hazards_app: typer.Typer = _typer("Fire hazard ledger (隐患台账): list, add, rectify, close out (销号).")
fire_app.add_typer(hazards_app, name="hazards")
patrols_app: typer.Typer = _typer("Ranger patrols (护林员巡护记录): list.")
fire_app.add_typer(patrols_app, name="patrols")


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
        for line in table_lines(table, right={0}):
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
    due = parse_day(deadline, "--deadline") if deadline else None
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
            actor = staff_actor(s, d6, by)
            res = svc.hazard_read(svc.add_hazard(s, actor, data))
        out(res.model_dump(mode="json"))

    run(body)


@hazards_app.command("rectify", cls=IdUsage)
def hazards_rectify(
    hazard_id: int = typer.Argument(..., min=1, max=ID_MAX, metavar="ID", help="hazard id"),
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
            actor = staff_actor(s, district or get_settings().district_code, by)
            res = svc.hazard_read(svc.start_rectification(s, actor, hazard_id, note))
        out(res.model_dump(mode="json"))

    run(body)


@hazards_app.command("close", cls=IdUsage)
def hazards_close(
    hazard_id: int = typer.Argument(..., min=1, max=ID_MAX, metavar="ID", help="hazard id"),
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
            actor = staff_actor(s, district or get_settings().district_code, by)
            res = svc.hazard_read(svc.close_hazard(s, actor, hazard_id, evidence))
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

    start = datetime.combine(parse_day(since, "--since"), datetime.min.time()) if since else None
    end = datetime.combine(parse_day(until, "--until"), datetime.min.time()) if until else None

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
        for line in table_lines(table, right={0, 4, 5}):
            typer.echo(line)

    run(body)
