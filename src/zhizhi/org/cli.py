"""Commands of the organisation domain: ``zhizhi org …``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import typer

from zhizhi.cli import _typer, fail, out, progress_bar, run
from zhizhi.cli_usage import PlainUsage
from zhizhi.core.db import session_scope

org_app: typer.Typer = _typer("Organisation: districts, towns, villages, grids, units, staff.")

# --- org -------------------------------------------------------------------------------------------


@org_app.command("load")
def org_load(code: str = typer.Option("500118", "--code", help="6-digit district code (Chongqing)")) -> None:
    """Load a district from the shipped data (Yongchuan in detail; other Chongqing districts at
    district level)."""
    from zhizhi.org import service as org

    def body() -> None:
        with session_scope() as s, progress_bar(f"loading {code}") as pb:
            out(org.load_district(s, code, progress=lambda _l, d, t: pb(d, t)))

    run(body)


@org_app.command("stats")
def org_stats() -> None:
    """Print the loaded organisation as JSON (counts per level, generated or real boundaries)."""
    from zhizhi.org import service as org

    def body() -> None:
        with session_scope() as s:
            out(org.stats(s))

    run(body)


@org_app.command("import-boundaries", cls=PlainUsage)
def org_import_boundaries(
    file: Path = typer.Argument(
        ..., metavar="FILE.geojson", help="GeoJSON FeatureCollection (WGS-84 lon/lat, UTF-8)"
    ),
    level: Literal["town", "village", "grid"] = typer.Option(..., help="the level the features are"),
) -> None:
    """Replace generated boundaries with real ones (match by code or name; reports what did not match)."""
    from zhizhi.org import service as org

    if file.is_dir():
        fail(f"{file}: is a directory, not a GeoJSON file")
    if not file.exists():
        fail(f"{file}: no such file")

    def body() -> None:
        try:
            with session_scope() as s:
                out(org.import_boundaries(s, file, level))
        except ValueError as e:  # the GeoJSON reader names the file by its bare name
            msg = str(e)
            fail(f"{file}: {msg.removeprefix(file.name + ': ')}")

    run(body)
