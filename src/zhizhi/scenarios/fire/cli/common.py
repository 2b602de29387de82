"""Shared pieces of the fire commands (``zhizhi fire …``): the command group, option choices, aligned
tables, dates and the staff a command acts for."""

from __future__ import annotations

import unicodedata
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING

import typer

from zhizhi.cli import _typer, fail
from zhizhi.cli_usage import PlainUsage as PlainUsage  # re-exported: moved to zhizhi.cli_usage

if TYPE_CHECKING:  # imported when a command runs, not when the CLI starts
    from sqlalchemy.orm import Session

    from zhizhi.core.access import Actor

fire_app: typer.Typer = _typer("Forest fire (森林防灭火): FWI, danger rating, satellite hotspots.")


class WindUnit(StrEnum):
    """Wind-speed unit choices of ``zhizhi fire fwi`` and ``zhizhi fire danger``."""

    kmh = "km/h"
    ms = "m/s"


class Crs(StrEnum):
    """Coordinate systems of point input."""

    wgs84 = "wgs84"
    gcj02 = "gcj02"


def option_given(ctx: typer.Context, name: str) -> bool:
    """Whether the option of parameter ``name`` was given on the command line (or the environment),
    not taken from its default."""
    src = ctx.get_parameter_source(name)
    return src is not None and src.name not in ("DEFAULT", "DEFAULT_MAP")


def cells_width(text: str) -> int:
    """Terminal columns of ``text``: East Asian wide and full-width characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def table_lines(rows: list[list[str]], right: set[int]) -> list[str]:
    """Rows (the first is the header) as aligned text lines; columns in ``right`` aligned right."""
    widths = [max(cells_width(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for r in rows:
        cells = []
        for i, c in enumerate(r):
            pad = " " * (widths[i] - cells_width(c))
            cells.append(pad + c if i in right else c + pad)
        lines.append("  ".join(cells).rstrip())
    return lines


def num(v: float | None, fmt: str = "{:.1f}") -> str:
    """``v`` formatted with ``fmt``, or an em dash for a missing value."""
    return "—" if v is None else fmt.format(v)


def parse_day(text: str, option: str) -> date:
    """``text`` as a date YYYY-MM-DD; a one-line usage error naming ``option`` otherwise."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f'{option} "{text}": not a date YYYY-MM-DD')


def staff_actor(session: Session, district6: str, username: str) -> Actor:
    """The platform acting for staff ``username`` (its id and name on the rows written); a usage
    error when there is no such active staff."""
    from dataclasses import replace

    from sqlalchemy import select

    from zhizhi.event.service import system_actor
    from zhizhi.org.models import Staff

    st = session.scalar(select(Staff).where(Staff.username == username, Staff.active.is_(True)))
    if st is None:
        fail(f'--by "{username}": no such active staff (see `zhizhi user list`)')
    return replace(system_actor(district6), id=st.id, name=st.name, username=st.username)
