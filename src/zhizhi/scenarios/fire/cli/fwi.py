"""``zhizhi fire fwi``: the Canadian Fire Weather Index System from a weather CSV."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer

from zhizhi.cli import fail, report, run
from zhizhi.core.errors import InvalidInput
from zhizhi.scenarios.fire.cli.common import PlainUsage, WindUnit, fire_app, option_given

if TYPE_CHECKING:
    from zhizhi.scenarios.fire.windcheck import ImplausibleMedian

CLAMP_RH_HELP = (
    "take RH values in (100, 101] as 100 and say how many were clamped; "
    "values above 101 or below 0 are still refused"
)


def refuse_weather(e: InvalidInput) -> NoReturn:
    """Exit 2 for a refused weather file: ``error: …`` (one line for one error, else each bad row
    indented, as :func:`zhizhi.cli.report`), then the ``--clamp-rh`` hint when RH values just
    above 100 were among the reasons (csvread.clamp_hint)."""
    from zhizhi.scenarios.fire.csvread import clamp_hint

    hint = clamp_hint(e)
    if len(e.errors) <= 1:  # the detail already says it all: one line
        if hint is None:
            fail(e.detail)
        typer.echo(f"error: {e.detail}", err=True)
    else:
        report(e)
    if hint is not None:
        typer.echo(hint, err=True)
    raise typer.Exit(2)


def clamped_note(n: int) -> str:
    """The run's line about RH values clamped by ``--clamp-rh`` (``n`` of them)."""
    return f"rh: {n} value{'s' if n != 1 else ''} in (100, 101] % taken as 100 (--clamp-rh)"


def median_refusal(file: str, found: Sequence[ImplausibleMedian]) -> str:
    """The refusal of a file read as m/s whose ``ws`` median looks like km/h (windcheck.
    implausible_medians, non-empty ``found``), with this command's advice, the same as its --help:
    drop ``--wind-unit m/s`` (km/h is the default), or :data:`~windcheck.ACCEPT_OPTION`."""
    from zhizhi.scenarios.fire.windcheck import ACCEPT_OPTION

    cols = "; ".join(
        f"column {f.column}: the median over {f.rows} row{'s' if f.rows != 1 else ''} is {f.median:g} m/s"
        for f in found
    )
    return (
        f"{file}: {cols}, above {found[0].limit:g} m/s — the wind looks like km/h read as m/s; nothing "
        "computed or written. Drop --wind-unit m/s if the file is in km/h (km/h is the default), or "
        f"pass {ACCEPT_OPTION} to compute it as m/s all the same"
    )


class FFMCCoefficient(StrEnum):
    """FFMC ↔ moisture coefficient choices of ``zhizhi fire fwi``."""

    exact = "exact"
    legacy = "147.2"


@fire_app.command("fwi", cls=PlainUsage)
def fire_fwi(
    ctx: typer.Context,
    input_csv: Path = typer.Argument(..., metavar="INPUT.csv", help="weather CSV (layouts below)"),
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
    accept_implausible_wind: bool = typer.Option(
        False,
        "--accept-implausible-wind",
        help="compute a file whose median ws is above 15 m/s as m/s all the same (else refused)",
    ),
    lat: float | None = typer.Option(
        None, "--lat", min=-90, max=90, help="latitude for a file without a lat column (Yongchuan: 29.35)"
    ),
    clamp_rh: bool = typer.Option(False, "--clamp-rh", help=CLAMP_RH_HELP),
) -> None:
    """Compute the Canadian Fire Weather Index System (FFMC, DMC, DC, ISI, BUI, FWI, DSR).

    INPUT.csv holds daily noon weather, one row per day (and station), in either layout (column
    names in any case, extra columns kept):

      long,lat,yr,mon,day,temp,rh,ws,prec   (the cffdrs layout; optional id = station)

      date,temp,rh,ws,prec[,lat][,station]  (date as YYYY-MM-DD; 2026/08/13 is refused)

    Units: temp °C, rh % (0-100; up to 101 with --clamp-rh, taken as 100), ws km/h (or m/s with
    --wind-unit m/s), prec mm in 24 h. Each station is chained in date order from the start-up
    codes; its dates must be consecutive. The output is the input columns plus
    ffmc,dmc,dc,isi,bui,fwi,dsr (7 significant digits).

    Wind: this command's default is km/h (the FWI System's unit; `zhizhi fire danger` defaults to
    m/s). It says on stderr which unit it assumed, and warns (naming the rows) about wind above
    150 km/h, or 40 m/s with --wind-unit m/s; the warnings do not stop the run. A file read as m/s
    whose median wind is above 15 m/s (most likely km/h) is refused, exit 2, nothing written: drop
    --wind-unit m/s (km/h is the default), or pass --accept-implausible-wind to compute it as m/s
    all the same (then a warning). The refusal says the same.
    """
    import io
    import sys

    from zhizhi.scenarios.fire import indices, windcheck
    from zhizhi.scenarios.fire import weather as fw

    exact = ffmc_coefficient is FFMCCoefficient.exact
    coefficient = indices.FFMC_COEFFICIENT if exact else indices.FFMC_COEFFICIENT_1985

    def body() -> None:
        try:
            table = fw.read_weather_csv(input_csv, wind_unit=wind_unit.value, clamp_rh=clamp_rh)
            unit = wind_unit.value
            ws_name = table.header[table.columns["ws"]].strip()
            raw = [float(v) / fw.WIND_UNITS[unit] for v in table.ws]  # as written, in the file's unit
            found = windcheck.implausible_medians([(ws_name, raw)], unit)
            if found and not accept_implausible_wind:
                fail(median_refusal(str(input_csv), found))
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
            refuse_weather(e)
        given = option_given(ctx, "wind_unit")
        other = "--wind-unit m/s" if unit == "km/h" else "--wind-unit km/h"
        typer.echo(windcheck.unit_note(ws_name, unit, WindUnit.kmh.value, given, other), err=True)
        if clamp_rh:
            typer.echo(clamped_note(table.rh_clamped), err=True)
        rows = zip(table.lines, table.station, strict=True)
        where = [f"line {n}" + (f" (station {s})" if s else "") for n, s in rows]
        for w in windcheck.wind_warnings(raw, where, column=ws_name, unit=unit, other_option=other):
            typer.echo(f"warning: {w}", err=True)
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
