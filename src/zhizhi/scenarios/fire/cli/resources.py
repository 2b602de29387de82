"""``zhizhi fire resources …``: fire resources (防火资源): import the district's ledgers, list them."""

from __future__ import annotations

from pathlib import Path

import typer

from zhizhi.cli import _typer, fail, out, run
from zhizhi.scenarios.fire.cli.common import Crs, PlainUsage, fire_app, loaded_district, table_lines

resources_app: typer.Typer = _typer(
    "Fire resources (防火资源): import the district's ledgers (CSV or GeoJSON), list them."
)
fire_app.add_typer(resources_app, name="resources")


@resources_app.command("import", cls=PlainUsage)
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
        with session_scope() as s:
            d6 = loaded_district(s, district or get_settings().district_code)
            res = svc.import_resources(
                s,
                system_actor(d6),
                file.read_bytes(),
                file.name,
                kind=kind,
                crs=crs.value,
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
            d6 = loaded_district(s, district or get_settings().district_code)
            rows = svc.list_resources(s, system_actor(d6), kind)
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
        for line in table_lines(table, right={0, 6, 7}):
            typer.echo(line)

    run(body)
