"""Commands of the event domain: ``zhizhi event …`` and ``zhizhi demo replay``."""

from __future__ import annotations

from pathlib import Path

import typer
from sqlalchemy import select

from zhizhi.cli import _typer, fail, out, progress_bar, run
from zhizhi.cli_usage import PlainUsage
from zhizhi.core.config import get_settings
from zhizhi.core.db import session_scope

event_app: typer.Typer = _typer("Events on the closed loop: import, routing (权属配置).")
demo_app: typer.Typer = _typer("Demonstration data: replay real citizen messages, a generated population.")

# --- event -----------------------------------------------------------------------------------------


@event_app.command("import", cls=PlainUsage)
def event_import(
    file: Path = typer.Argument(
        ..., metavar="FILE", help="CSV or JSONL file (columns: see docs/domains/event.md)"
    ),
    skip_invalid: bool = typer.Option(
        False, "--skip-invalid", help="import the good rows, write the bad ones to a reject file"
    ),
    reject_file: Path | None = typer.Option(
        None,
        help="where the rejected rows go (needs --skip-invalid; default: beside FILE, e.g. "
        "calls.csv -> calls.rejects.csv); not FILE itself, not a directory",
    ),
    district: str | None = typer.Option(None, help="district for out-of-area rows"),
) -> None:
    """Bulk-import events from a CSV or JSONL file, in one transaction: any bad row means nothing is
    written, and every bad row is listed (line, column, reason).

    With --skip-invalid the good rows are imported and the bad ones written to a reject file in the
    format of FILE, so it can be fixed and imported as it is: a CSV gets FILE's columns after a first
    column "error" holding each row's reasons (UTF-8 with BOM, for spreadsheets); a JSONL line gets
    an "error" key, and lines that were not JSON objects come last as they were. Import ignores an
    "error" column or key.
    """
    from zhizhi.event import intake

    if reject_file is not None:
        if not skip_invalid:
            fail("--reject-file needs --skip-invalid")
        why = intake.reject_path_problem(file, reject_file)
        if why:
            fail(f"--reject-file {reject_file}: {why}")

    def body() -> None:
        with session_scope() as s, progress_bar("importing") as pb:
            res = intake.import_file(
                s, file, district or get_settings().district_code, skip_invalid, reject_file, pb
            )
        out(res.summary())

    run(body)


@event_app.command("routing-add")
def routing_add(
    unit: str = typer.Option(..., help="responsible unit code"),
    category: str | None = typer.Option(None, help="leaf or 大类 code (omit: any)"),
    area: str | None = typer.Option(None, help="town/village/grid code (omit: whole district)"),
    priority: int = typer.Option(
        0, min=-1000, max=1000, help="order among equally specific rules (higher wins)"
    ),
    note: str = typer.Option(""),
    district: str | None = typer.Option(None),
) -> None:
    """Add a 权属配置 rule: category × area → responsible unit."""
    from zhizhi.event import service

    def body() -> None:
        with session_scope() as s:
            r = service.add_routing_rule(
                s, district or get_settings().district_code, category, area, unit, priority, note
            )
            out(
                {
                    "id": r.id,
                    "category_code": r.category_code,
                    "area_code": r.area_code,
                    "unit_code": r.unit_code,
                    "mode": r.mode,
                    "priority": r.priority,
                }
            )

    run(body)


@event_app.command("routing-list")
def routing_list(district: str | None = typer.Option(None)) -> None:
    """List the 权属配置 rules."""
    from zhizhi.event.models import RoutingRule

    def body() -> None:
        with session_scope() as s:
            rows = s.scalars(
                select(RoutingRule)
                .where(RoutingRule.district_code == (district or get_settings().district_code))
                .order_by(RoutingRule.id)
            )
            out(
                [
                    {
                        "id": r.id,
                        "category_code": r.category_code,
                        "area_code": r.area_code,
                        "unit_code": r.unit_code,
                        "mode": r.mode,
                        "priority": r.priority,
                        "note": r.note,
                    }
                    for r in rows
                ]
            )

    run(body)


# --- demo ------------------------------------------------------------------------------------------


@demo_app.command("replay")
def demo_replay(
    limit: int | None = typer.Option(None, min=1, help="replay only the first N messages"),
) -> None:
    """Import the real citizen messages (2,816 with official replies) and run them through the loop
    with their real reply times; locations are generated (flagged)."""
    from zhizhi.event import replay

    def body() -> None:
        with session_scope() as s, progress_bar("replaying") as pb:
            res = replay.replay(s, get_settings().district_code, limit=limit, progress=pb)
        out(res)

    run(body)
