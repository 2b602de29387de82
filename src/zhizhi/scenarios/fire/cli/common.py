"""Shared pieces of the fire commands (``zhizhi fire …``): the command group, option choices, aligned
tables, dates and the staff a command acts for."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperArgument

from zhizhi.cli import _typer, fail
from zhizhi.cli_usage import PlainUsage as PlainUsage  # re-exported: moved to zhizhi.cli_usage

if TYPE_CHECKING:  # imported when a command runs, not when the CLI starts
    from sqlalchemy.orm import Session

    from zhizhi.core.access import Actor

ID_MAX = 2_147_483_647
"""The largest id an id argument or option takes (typer ``max``): the largest 32-bit integer, the
range of the id columns; a larger number is refused by typer instead of overflowing the database."""


class IdUsage(PlainUsage):
    """A :class:`PlainUsage` command whose id argument (an int argument with ``min=1``, ``max=ID_MAX``)
    refuses a negative number as its range does (``Invalid value for 'CLUSTER_ID': -1 is not …``)
    instead of Click's ``No such option: -1`` (Click takes ``-1`` for an option)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # ctx: typer's click Context
        """Click's parsing, with a negative whole number where an option was expected refused as the
        id argument's value."""
        from typer._click.exceptions import BadParameter, NoSuchOption

        try:
            return super().parse_args(ctx, args)
        except NoSuchOption as e:
            ids = [p for p in self.params if isinstance(p, TyperArgument) and p.bare_type() == "int"]
            if not ids or not re.fullmatch(r"-\d+", e.option_name):
                raise
            raise BadParameter(
                f"Input should be greater than or equal to 1 (got {e.option_name}); an id is 1 to {ID_MAX}",
                ctx=ctx,
                param=ids[0],
            ) from None


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


def loaded_district(session: Session, district6: str, option: str = "--district") -> str:
    """``district6`` when it is a loaded district (组织 level ``district``); else a usage error (exit 2)
    naming ``option`` and the loaded districts, so that an unknown code is not taken for a district
    with nothing in it."""
    from sqlalchemy import select

    from zhizhi.org.models import OrgUnit

    loaded = session.execute(
        select(OrgUnit.district_code, OrgUnit.name).where(OrgUnit.level == "district").order_by(OrgUnit.code)
    ).all()
    if any(code == district6 for code, _ in loaded):
        return district6
    names = ", ".join(f"{code} {name}" for code, name in loaded) or "none (run `zhizhi org load` first)"
    fail(f'{option} "{district6}": not a loaded district; loaded: {names}')
