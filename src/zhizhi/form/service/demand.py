"""Demands for data made outside the catalogue (表外要数): a town reports who asked, what, when and
through which channel; the reports are listed and counted in the burden statistics, so the district
sees which askers go around the catalogue.

Permissions: reporting needs ``form.submit`` (the town clerk's and duty officer's), listing
``form.read``. A town reports and sees its own; the district reports for any of its towns and sees
all; a department sees the demands attributed to it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhizhi.core import time as ztime
from zhizhi.core.access import Actor, mask_text, require, scope_of
from zhizhi.core.errors import FieldError, Forbidden, InvalidInput
from zhizhi.form.models import OutsideDemand
from zhizhi.form.rules import task as tr
from zhizhi.form.service.task import READ, SUBMIT, department_of, district_towns, today, town_names
from zhizhi.org import service as org

EARLIEST = date(2000, 1, 1)


def _bad(field: str, e: Exception | str) -> InvalidInput:
    return InvalidInput(str(e), [FieldError(field, str(e))])


def report(
    session: Session,
    actor: Actor,
    requester: str,
    what: str,
    asked_on: date,
    channel: str,
    town_code: str | None = None,
    requester_unit: str | None = None,
    items: int | None = None,
    minutes: int | None = None,
) -> dict[str, Any]:
    """Record one demand made outside the catalogue (表外要数) for ``town_code`` (default: the
    actor's town): ``requester`` (who asked, e.g. 区某局某科), ``requester_unit`` (the department's
    abbreviation when the asker is one, org/data/departments.yaml), ``what`` was asked, ``asked_on``
    (local date, not in the future), ``channel`` (form/data/workflow.yaml), ``items`` asked for and
    ``minutes`` it took (optional). Returns the row as :func:`view` shows it. Raises InvalidInput,
    Forbidden (a grid or department; another town)."""
    require(actor, SUBMIT)
    sc = scope_of(actor)
    if sc.kind == "town":
        town = sc.code if town_code is None else str(town_code).strip()
        if town != sc.code:
            raise Forbidden(f"you report for your own town {sc.code}")
    elif sc.kind == "district":
        if not town_code:
            raise _bad("town_code", "town_code: give the town the demand was made to")
        town = str(town_code).strip()
        if town not in dict(district_towns(session, actor.district_code)):
            msg = f'town_code: "{town[:20]}" is not a town of district {actor.district_code}'
            raise _bad("town_code", msg)
    else:
        raise Forbidden("a town reports the demands made to it outside the catalogue")
    field = "requester"
    try:
        who = tr.check_text(requester, "requester", 2, 100)
        field = "what"
        text = tr.check_text(what, "what", 2, 2000)
        field = "channel"
        how = tr.check_channel(channel)
    except ValueError as e:
        raise _bad(field, e) from None
    if not EARLIEST <= asked_on <= today():
        raise _bad("asked_on", f"asked_on {asked_on}: a date from 2000-01-01 to today")
    unit = None
    if requester_unit:
        unit = str(requester_unit).strip().upper()
        if unit not in {d["abbr"] for d in org.departments()}:
            raise _bad("requester_unit", f'requester_unit "{unit[:16]}" is not a department abbreviation')
    for name, n in (("items", items), ("minutes", minutes)):
        if n is not None and not (isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= 100_000):
            raise _bad(name, f"{name}: a whole number from 0 to 100000")
    row = OutsideDemand(
        district_code=actor.district_code, town_code=town, requester=who, requester_unit=unit, what=text,
        asked_on=asked_on, channel=how, items=items, minutes=minutes, reported_by=actor.username,
        reported_at=ztime.utcnow(),
    )  # fmt: skip
    session.add(row)
    session.flush()
    return view(row, town_names(session, [town]))


def view(d: OutsideDemand, names: dict[str, str]) -> dict[str, Any]:
    """One report as listed: free text masked (an ID or phone number typed in it never leaves)."""
    return {
        "id": d.id,
        "town_code": d.town_code,
        "town_name": names.get(d.town_code, d.town_code),
        "requester": mask_text(d.requester),
        "requester_unit": d.requester_unit,
        "what": mask_text(d.what),
        "asked_on": d.asked_on,
        "channel": d.channel,
        "channel_label": tr.workflow().channels.get(d.channel, d.channel),
        "items": d.items,
        "minutes": d.minutes,
        "reported_by": d.reported_by,
        "reported_at": d.reported_at,
    }


def scoped(
    session: Session, actor: Actor, start: date | None = None, end: date | None = None
) -> list[OutsideDemand]:
    """The reports the actor sees, asked between ``start`` and ``end`` (local dates, included), by
    date then id. Grid scope sees none."""
    sc = scope_of(actor)
    q = select(OutsideDemand).where(OutsideDemand.district_code == actor.district_code)
    if sc.kind == "town":
        q = q.where(OutsideDemand.town_code == sc.code)
    elif sc.kind == "unit":
        q = q.where(OutsideDemand.requester_unit == department_of(actor))
    elif sc.kind != "district":
        return []
    if start is not None:
        q = q.where(OutsideDemand.asked_on >= start)
    if end is not None:
        q = q.where(OutsideDemand.asked_on <= end)
    return list(session.scalars(q.order_by(OutsideDemand.asked_on, OutsideDemand.id)))


def list_demands(session: Session, actor: Actor, period: str | None = None) -> list[dict[str, Any]]:
    """The reports the actor sees (:func:`scoped`), asked within ``period`` (a month, quarter or
    year; None: all). Raises InvalidInput for a bad period."""
    require(actor, READ)
    start = end = None
    if period is not None:
        try:
            p = tr.parse_any_period(period)
        except ValueError as e:
            raise _bad("period", e) from None
        start, end = p.start, p.end
    rows = scoped(session, actor, start, end)
    names = town_names(session, [d.town_code for d in rows])
    return [view(d, names) for d in rows]
