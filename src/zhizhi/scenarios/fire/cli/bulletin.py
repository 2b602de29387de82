"""``zhizhi fire bulletin``: the daily fire danger bulletin (森林火险气象等级日报) as CAP or GeoJSON,
and the prevention tasks of high-rated towns."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from zhizhi.cli import fail, out, run
from zhizhi.scenarios.fire.cli.common import fire_app, parse_day


class BulletinFormat(StrEnum):
    """Output formats of ``zhizhi fire bulletin``."""

    cap = "cap"
    geojson = "geojson"


class CapStatus(StrEnum):
    """CAP ``<status>`` of a bulletin: Actual (real), Exercise (drill 演练), Test."""

    actual = "Actual"
    exercise = "Exercise"
    test = "Test"


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
    the bulletin again opens nothing new. Tasks are opened only for today's or tomorrow's bulletin
    (Beijing time): for a past --date (a re-issue, an export for the record) they are skipped and
    the command says so. Exercise/Test bulletins open no tasks, and say so too. Prints a JSON summary
    (towns per level, the tasks, prevention_skipped: why none were opened, or null when none were
    due or --no-tasks).
    """
    from collections import Counter

    from zhizhi.core.config import get_settings
    from zhizhi.core.db import session_scope
    from zhizhi.event.service import system_actor
    from zhizhi.scenarios.fire.rules import default_policy
    from zhizhi.scenarios.fire.service import bulletin as svc

    d = parse_day(day, "--date")
    if output.is_dir():
        fail(f"{output}: is a directory; give a file name")

    def body() -> None:
        d6 = district or get_settings().district_code
        with session_scope() as s:
            actor = system_actor(d6)
            data, dr = svc.bulletin(s, actor, d, fmt.value, status=status.value, district6=d6)
            pol = svc.default_bulletin_policy().prevention
            high = [t for t in dr.towns if t.level >= pol.min_level]
            opened: list[dict[str, object]] = []
            # an Exercise/Test bulletin says why it opens none even when no town is rated high
            ask = tasks and (bool(high) or status is not CapStatus.actual)
            skipped = svc.tasks_skipped_because(d, status=status.value) if ask else None
            if tasks and status is CapStatus.actual and high and skipped is None:
                opened = [t.as_dict() for t in svc.open_prevention_tasks(s, actor, dr)]
            output.write_bytes(data)
        if skipped is not None and high:
            typer.echo(
                f"note: prevention tasks skipped for {len(high)} town{'s' if len(high) != 1 else ''} "
                f"rated {default_policy().level(pol.min_level).label} or above: {skipped}",
                err=True,
            )
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
                "prevention_skipped": skipped,
            }
        )

    run(body)
