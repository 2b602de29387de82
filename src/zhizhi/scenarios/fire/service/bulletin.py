"""The daily fire danger bulletin (森林火险气象等级日报): the stored town ratings of a day as OASIS CAP
1.2 or GeoJSON (cap/), and the prevention task (森林防火预防任务) a high rating opens for the town's
grids on the event loop (data/bulletin.yaml).

Reads the ratings the danger run stored (models.DangerRating, one row per day and town or grid) and
the town polygons of the org model. Services flush; the caller commits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import shapely
from pydantic import BaseModel, ConfigDict, Field
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhizhi.core import time as ztime
from zhizhi.core.access import Actor, require, scope_of
from zhizhi.core.errors import FieldError, InvalidInput, NotFound
from zhizhi.event import service as events
from zhizhi.event.catalogue import CatalogueError
from zhizhi.event.models import Event
from zhizhi.event.schemas import SOURCES, EventCreate, TransitionIn
from zhizhi.org import service as org
from zhizhi.org.models import OrgUnit
from zhizhi.scenarios.fire import cap
from zhizhi.scenarios.fire.models import DangerRating
from zhizhi.scenarios.fire.rules import PolicyError, default_policy, load_policy_file

BULLETIN_FILE = Path(__file__).resolve().parents[1] / "data" / "bulletin.yaml"
Format = Literal["cap", "geojson", "json"]
FORMATS = ("cap", "geojson", "json")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PreventionPolicy(_Model):
    min_level: int = Field(ge=1, le=5)
    category_code: str = Field(min_length=1, max_length=8)
    source: str
    title: str
    description: str
    max_grids_listed: int = Field(ge=1, le=1000)


class BulletinPolicy(_Model):
    """The whole ``data/bulletin.yaml``."""

    version: int
    prevention: PreventionPolicy


def load_bulletin_policy(path: str | Path | None = None) -> BulletinPolicy:
    """Load and check a bulletin policy (default: the shipped ``data/bulletin.yaml``). Raises
    PolicyError (a ValueError) naming the file, the key and the reason."""
    p = Path(path) if path is not None else BULLETIN_FILE
    pol = load_policy_file(BulletinPolicy, p)
    if pol.prevention.source not in SOURCES:
        raise PolicyError(f"{p}: prevention.source: must be one of {', '.join(SOURCES)}")
    return pol


@lru_cache(maxsize=1)
def default_bulletin_policy() -> BulletinPolicy:
    """The shipped ``data/bulletin.yaml``, loaded once."""
    return load_bulletin_policy()


# --- reading the day's ratings ------------------------------------------------------------------------


@dataclass(frozen=True)
class DayRatings:
    """A district's stored ratings of one day: the towns' (for the bulletin) and the grids' rows."""

    district_code: str
    district_name: str
    day: date
    towns: list[cap.TownRating]
    grids: list[DangerRating]


def _district(session: Session, actor: Actor, district6: str | None) -> str:
    d6 = district6 or actor.district_code
    if not d6:
        raise InvalidInput("give the district (6-digit code)", [FieldError("district", "required")])
    if actor.role != "system" and d6 != actor.district_code:
        raise NotFound(f"no bulletin for district {d6}")
    return d6


def town_in_scope(actor: Actor) -> str | None:
    """The one town whose bulletin ``actor`` may read, or None for all towns of its district: a town
    role its town, a grid role its grid's town; district roles, departments (unit scope: the danger
    ratings are weather information for every unit) and the platform the whole district — as the
    ratings' scope (danger.list_ratings)."""
    sc = scope_of(actor)
    if actor.role == "system" or sc.kind in ("district", "unit"):
        return None
    return sc.code if sc.kind == "town" else actor.town_code or "-"


def day_ratings(session: Session, actor: Actor, day: date, district6: str | None = None) -> DayRatings:
    """The stored ratings of ``day`` in the actor's scope (:func:`town_in_scope`; ``district6`` for
    the system): town rows as :class:`cap.TownRating` (index HTZ) in town-code order, and the grid
    rows of those towns. Needs ``fire.read``.

    Raises NotFound when no town of the district (in scope) was rated that day (naming the command
    that rates), or for a district outside the actor's scope.
    """
    require(actor, "fire.read")
    d6 = _district(session, actor, district6)
    town = town_in_scope(actor)
    q = select(DangerRating).where(DangerRating.day == day, DangerRating.district_code == d6)
    if town is not None:
        q = q.where(DangerRating.town_code == town)
    rows = session.scalars(q.order_by(DangerRating.unit_code)).all()
    towns = [
        cap.TownRating(
            town_code=r.unit_code,
            town_name=r.unit_name,
            day=r.day,
            level=r.level,
            index_name="HTZ",
            index_value=round(r.htz, 2),
        )
        for r in rows
        if r.unit_level == "town"
    ]
    if not towns:
        which = f"town {town} has no" if town is not None else f"no town of district {d6} has a"
        raise NotFound(
            f"{which} stored fire danger rating for {day.isoformat()}: rate the day first "
            f"(zhizhi fire danger WEATHER.csv --date {day.isoformat()})"
        )
    name = _name(session, f"{d6}000000") or d6
    return DayRatings(d6, name, day, towns, [r for r in rows if r.unit_level == "grid"])


def _name(session: Session, code: str) -> str | None:
    try:
        return org.get_unit(session, code).name
    except NotFound:
        return None


def town_geometries(
    session: Session, codes: list[str]
) -> tuple[dict[str, BaseGeometry | None], dict[str, bool]]:
    """The town polygons (WGS-84, shapely) of ``codes`` from the org model, and whether each is
    generated (zhizhi's approximation, not a surveyed boundary)."""
    geoms: dict[str, BaseGeometry | None] = {}
    generated: dict[str, bool] = {}
    for code, wkb, gen in session.execute(
        select(OrgUnit.code, OrgUnit.geom, OrgUnit.generated).where(OrgUnit.code.in_(codes))
    ):
        geoms[code] = shapely.from_wkb(wkb) if wkb is not None else None
        generated[code] = bool(gen)
    return geoms, generated


def bulletin(
    session: Session,
    actor: Actor,
    day: date,
    fmt: Format,
    *,
    status: cap.Status = "Actual",
    sent: datetime | None = None,
    district6: str | None = None,
) -> tuple[bytes, DayRatings]:
    """The bulletin of ``day`` as ``fmt`` (``cap``: OASIS CAP 1.2 XML; ``geojson``: town polygons with
    level and colour; ``json``: :func:`bulletin_json`), with the ratings it was built from, limited
    to the actor's scope (:func:`day_ratings`). ``sent`` defaults to now. Needs ``fire.read``. Opens
    no task (:func:`open_prevention_tasks` does). Raises NotFound (no ratings that day in scope),
    InvalidInput (unknown format)."""
    if fmt not in FORMATS:
        why = f'format "{fmt}": must be one of {", ".join(FORMATS)}'
        raise InvalidInput(why, [FieldError("format", why)])
    dr = day_ratings(session, actor, day, district6)
    if fmt == "cap":
        data = cap.bulletin_cap(
            dr.towns, district_name=dr.district_name, sent=sent or ztime.utcnow(), status=status
        )
    elif fmt == "geojson":
        geoms, gen = town_geometries(session, [t.town_code for t in dr.towns])
        data = cap.bulletin_geojson(dr.towns, geoms, generated=gen, status=status)
    else:
        body = json.dumps(bulletin_json(dr, status=status), ensure_ascii=False, indent=2)
        data = body.encode("utf-8")
    return data, dr


def bulletin_json(dr: DayRatings, *, status: cap.Status = "Actual") -> dict[str, Any]:
    """The bulletin as plain JSON: ``date``, ``status``, ``district_code``/``district_name``, the valid
    period (ISO 8601, Beijing time), ``towns_per_level`` ({"1": n, … "5": n}), ``prevention_min_level``
    (data/bulletin.yaml), and ``towns``: per town its code, name, level 1-5 with label, name, colour
    (#RRGGBB) and colour name, and the HTZ index it came from."""
    danger = default_policy()
    start, end = cap.valid_period(dr.day)
    towns = []
    for t in dr.towns:
        lv = danger.level(t.level)
        towns.append(
            {
                "town_code": t.town_code,
                "town_name": t.town_name,
                "level": t.level,
                "label": lv.label,
                "name": lv.name,
                "colour": lv.colour,
                "colour_name": lv.colour_name,
                "index_name": t.index_name,
                "index_value": t.index_value,
            }
        )
    return {
        "date": dr.day.isoformat(),
        "status": status,
        "district_code": dr.district_code,
        "district_name": dr.district_name,
        "valid_from": start.isoformat(),
        "valid_to": end.isoformat(),
        "towns_per_level": {str(k): sum(1 for t in dr.towns if t.level == k) for k in range(1, 6)},
        "prevention_min_level": default_bulletin_policy().prevention.min_level,
        "towns": towns,
    }


# --- prevention tasks (森林防火预防任务) -------------------------------------------------------------------


def check_prevention_category(policy: BulletinPolicy | None = None) -> None:
    """Refuse (InvalidInput) a prevention category the event catalogue does not have, saying where to
    add it (event/data/categories.yaml) or change it (fire/data/bulletin.yaml)."""
    pol = (policy or default_bulletin_policy()).prevention
    try:
        events.catalogue().leaf(pol.category_code)
    except CatalogueError:
        why = (
            f'prevention tasks need the event category "{pol.category_code}" (fire/data/bulletin.yaml '
            "prevention.category_code), which event/data/categories.yaml does not have: add that leaf "
            "(森林防火预防) or change the code; --no-tasks exports without opening tasks"
        )
        raise InvalidInput(why, [FieldError("prevention.category_code", why)]) from None


def external_id(day: date, town_code: str) -> str:
    """The prevention event's external id: one per day and town (idempotence)."""
    return f"fire-prevention-{day:%Y%m%d}-{town_code}"


@dataclass(frozen=True)
class PreventionTask:
    """A prevention task of the bulletin: its event, the town and level, the grids named, and whether
    this run opened it (False: it existed already)."""

    event_id: int
    town_code: str
    town_name: str
    level: int
    grids: list[str]
    opened: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "town_code": self.town_code,
            "town_name": self.town_name,
            "level": self.level,
            "grids": len(self.grids),
            "opened": self.opened,
        }


def _town_grids(session: Session, town_code: str) -> list[tuple[str, str]]:
    return [
        (c, n)
        for c, n in session.execute(
            select(OrgUnit.code, OrgUnit.name)
            .where(OrgUnit.level == "grid", OrgUnit.town_code == town_code)
            .order_by(OrgUnit.code)
        )
    ]


def tasks_skipped_because(
    day: date, as_of: datetime | None = None, *, status: cap.Status = "Actual"
) -> str | None:
    """Why the bulletin of ``day`` opens no prevention task, or None when it may: only an ``Actual``
    bulletin opens tasks (an ``Exercise`` 演练 or ``Test`` one never does, ``status`` being its CAP
    status), and tasks are for what is still ahead, the bulletin of today or tomorrow (Beijing time,
    as of ``as_of``, default now). A past day's bulletin (re-issued, or exported for the record) and
    one more than a day ahead open none; the reason says which and is printed by the CLI."""
    if status != "Actual":
        what = "an exercise (演练)" if status == "Exercise" else "a test"
        return f"the bulletin's status is {status}, {what}: only an Actual bulletin opens prevention tasks"
    today = (as_of or ztime.utcnow()).astimezone(ztime.LOCAL_TZ).date()
    if day < today:
        return (
            f"{day.isoformat()} is past (today is {today.isoformat()}, Beijing time): prevention tasks "
            "are opened only for today's or tomorrow's bulletin"
        )
    if (day - today).days > 1:
        return (
            f"{day.isoformat()} is more than a day ahead (today is {today.isoformat()}, Beijing time): "
            "prevention tasks are opened only for today's or tomorrow's bulletin"
        )
    return None


def open_prevention_tasks(
    session: Session,
    actor: Actor,
    dr: DayRatings,
    policy: BulletinPolicy | None = None,
    *,
    as_of: datetime | None = None,
) -> list[PreventionTask]:
    """Open one prevention task (森林防火预防任务) per town of ``dr`` rated at least
    ``prevention.min_level``: an event of ``prevention.category_code`` in the town, accepted,
    registered and dispatched at once to the town center by the platform, its description naming the
    town's grids rated at least that level (all its grids when no grid was rated that day). One per
    day and town (external id): a town that has one already is listed with ``opened`` False.

    Only for the bulletin of today or tomorrow (Beijing time, as of ``as_of``, default now): for any
    other day nothing is opened and the list is empty (:func:`tasks_skipped_because` says why).

    Needs ``fire.manage``. Raises InvalidInput when the category is not in the catalogue.
    """
    require(actor, "fire.manage")
    if tasks_skipped_because(dr.day, as_of) is not None:
        return []
    pol = (policy or default_bulletin_policy()).prevention
    check_prevention_category(policy)
    danger = default_policy()
    out: list[PreventionTask] = []
    platform = replace(events.system_actor(dr.district_code), name="系统（火险日报）")
    for t in dr.towns:
        if t.level < pol.min_level:
            continue
        ext = external_id(dr.day, t.town_code)
        rated = [g for g in dr.grids if g.town_code == t.town_code]
        grids: list[tuple[str, str, int | None]]
        if rated:
            grids = [(g.unit_code, g.unit_name, g.level) for g in rated if g.level >= pol.min_level]
        else:
            grids = [(c, n, None) for c, n in _town_grids(session, t.town_code)]
        have = session.scalar(select(Event.id).where(Event.source == pol.source, Event.external_id == ext))
        if have is not None:
            out.append(PreventionTask(have, t.town_code, t.town_name, t.level, [g[0] for g in grids], False))
            continue
        lv = danger.level(t.level)
        start, end = cap.valid_period(dr.day)
        words = {
            "district_name": dr.district_name,
            "town_name": t.town_name,
            "date": f"{dr.day.year}年{dr.day.month}月{dr.day.day}日",
            "md": f"{dr.day.month}月{dr.day.day}日",
            "label": lv.label,
            "name": lv.name,
            "colour_name": lv.colour_name,
            "service_text": lv.service_text,
            "valid_from": f"{start:%Y-%m-%d %H:%M}",
            "valid_to": f"{end:%Y-%m-%d %H:%M}",
        }
        text = "".join(line.strip() for line in pol.description.strip().splitlines()).format(**words)
        listed = [f"- {n}（{c}）" + (f"：{danger.level(lvl).label}" if lvl else "") for c, n, lvl in grids]
        if len(listed) > pol.max_grids_listed:
            listed = listed[: pol.max_grids_listed] + [f"- …另有 {len(grids) - pol.max_grids_listed} 个网格"]
        ev = events.create_event(
            session,
            platform,
            EventCreate(
                source=pol.source,  # type: ignore[arg-type]
                category_code=pol.category_code,
                title=pol.title.format(**words)[:200],
                description=text + "\n" + "\n".join(listed),
                town_code=t.town_code,
                external_id=ext,
                urgency="high" if t.level >= 5 else None,
            ),
            propose_merges=False,
        )
        center = f"{t.town_code}-{org.TOWN_CENTER_SUFFIX}"
        for action in ("accept", "register", "dispatch"):
            events.transition(
                session,
                platform,
                ev.id,
                TransitionIn(
                    action=action,
                    comment=f"火险日报：{lv.label}（{lv.name}）",
                    unit_code=center if action == "dispatch" else None,
                ),
            )
        out.append(PreventionTask(ev.id, t.town_code, t.town_name, t.level, [g[0] for g in grids], True))
    session.flush()
    return out
