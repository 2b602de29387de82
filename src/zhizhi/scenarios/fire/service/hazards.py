"""Fire hazard ledger (森林火灾隐患台账) with close-out (销号), and ranger patrols (护林员巡护记录).

Scope (core.access.scope_of). A hazard or patrol is in an actor's scope by its place: a district role
sees its district, a town role its town, a grid role its grid, a department (unit scope) its district
(fire prevention is every department's business, as the danger ratings are); everyone also sees the
hazards they found and the patrols they walked. Out of scope is "not found" (404).

Who may do what (core/data/permissions.yaml). Putting a hazard on the ledger (登记) and starting its
rectification (整改) need ``fire.hazard``; recording a ranger's patrol needs ``fire.record`` (and
``fire.hazard`` too when hazards found on it come with it, as they go on the ledger). Closing (销号) needs
``fire.hazard`` AND a role whose data scope is one of data/hazards.yaml ``close.scopes`` (town,
district): the town or district checks the rectification, the grid worker who found it does not close
it himself; the hazard must be in scope by place (a hazard one only found is not enough). Reading
needs ``fire.read``.
Services flush; the caller commits.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

import numpy as np
import shapely
from sqlalchemy import ColumnElement, false, or_, select
from sqlalchemy.orm import Session

from zhizhi.core import time as ztime
from zhizhi.core.access import Actor, Scope, require, scope_of
from zhizhi.core.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from zhizhi.org import rules as org_rules
from zhizhi.org import service as org
from zhizhi.org.models import OrgUnit, Staff
from zhizhi.scenarios.fire import hazards as rules
from zhizhi.scenarios.fire.hazard_schemas import HazardIn, HazardRead, PatrolIn, PatrolRead
from zhizhi.scenarios.fire.models import FireHazard, FirePatrol

MAX_LIST = 5000
FUTURE_SLACK = timedelta(minutes=5)  # clocks of phones differ: a time this far ahead is accepted


def _where(actor: Actor, district: Any, town: Any, grid: Any) -> ColumnElement[bool]:
    """The row condition of the actor's scope by place, over the three columns given."""
    sc: Scope = scope_of(actor)
    if sc.kind == "town":
        return cast(ColumnElement[bool], town == sc.code)
    if sc.kind == "grid":
        return cast(ColumnElement[bool], grid == sc.code)
    code = sc.code if sc.kind == "district" else actor.district_code
    return cast(ColumnElement[bool], district == code)


def _in_scope(actor: Actor, district: str, town: str | None, grid: str | None) -> bool:
    """Whether a place (district, town, grid codes) is in the actor's scope, as :func:`_where`."""
    sc: Scope = scope_of(actor)
    if sc.kind == "town":
        return town == sc.code
    if sc.kind == "grid":
        return grid == sc.code
    return district == (sc.code if sc.kind == "district" else actor.district_code)


def hazard_scope(actor: Actor, own: bool = True) -> ColumnElement[bool]:
    """The hazards ``actor`` may see: by place (module docstring), and with ``own`` those they found."""
    place = _where(actor, FireHazard.district_code, FireHazard.town_code, FireHazard.grid_code)
    mine = FireHazard.found_by_id == actor.id if own and actor.id is not None else false()
    return or_(place, mine)


def patrol_scope(actor: Actor) -> ColumnElement[bool]:
    """The patrols ``actor`` may see: by the ranger's grid, and those they walked."""
    place = _where(actor, FirePatrol.district_code, FirePatrol.town_code, FirePatrol.grid_code)
    mine = FirePatrol.ranger_id == actor.id if actor.id is not None else false()
    return or_(place, mine)


def hazard_read(h: FireHazard, as_of: datetime | None = None) -> HazardRead:
    """The API view of a hazard, with its kind's and status's names and whether it is overdue."""
    pol = rules.default_hazard_policy()
    try:
        kind_name = pol.kind(h.kind).name
    except ValueError:
        kind_name = h.kind  # a kind since removed from the data keeps its key
    return HazardRead(
        id=h.id,
        kind=h.kind,
        kind_name=kind_name,
        description=h.description,
        lon=round(h.lon, 6),
        lat=round(h.lat, 6),
        address=h.address,
        district_code=h.district_code,
        town_code=h.town_code,
        grid_code=h.grid_code,
        found_by=h.found_by,
        found_at=h.found_at,
        deadline=h.deadline,
        status=h.status,
        status_name=rules.STATUS_ZH.get(h.status, h.status),
        overdue=rules.is_overdue(h.status, h.deadline, as_of or ztime.utcnow()),
        patrol_id=h.patrol_id,
        rectify_at=h.rectify_at,
        rectify_by=h.rectify_by,
        rectify_note=h.rectify_note,
        closed_at=h.closed_at,
        closed_by=h.closed_by,
        evidence=h.evidence,
    )


def _bad(field: str, why: str) -> InvalidInput:
    return InvalidInput(why, [FieldError(field, why)])


def _staff(
    session: Session, actor: Actor, username: str | None, what: str
) -> tuple[int | None, str, Staff | None]:
    """(staff id, name, row) of ``username`` (active, in the actor's district), or the actor itself."""
    if username is None or username == actor.username:
        if actor.id is None and username is None:
            raise _bad(what, f"say who ({what}: a staff username)")
        if actor.id is not None:
            return actor.id, actor.name, session.get(Staff, actor.id)
    st = session.scalar(select(Staff).where(Staff.username == username, Staff.active.is_(True)))
    unit = session.get(OrgUnit, st.org_unit_id) if st is not None else None
    if st is None or unit is None or unit.district_code != actor.district_code:
        raise _bad(what, f'unknown staff "{username}" in district {actor.district_code}')
    return st.id, st.name, st


def _aware(name: str, t: datetime, now: datetime) -> datetime:
    u = ztime.to_utc(t)
    if u > now + FUTURE_SLACK:
        raise _bad(name, f"{name} {t.isoformat()} is in the future")
    return u


# --- hazards -------------------------------------------------------------------------------------------


def add_hazard(
    session: Session, actor: Actor, data: HazardIn, *, patrol: FirePatrol | None = None
) -> FireHazard:
    """Put a hazard on the ledger (隐患登记), status open. The point must be in the actor's district;
    its town and grid are where it falls. Needs ``fire.hazard``. Raises InvalidInput for an unknown
    kind or finder, a point outside the district, a time in the future, a deadline before the day
    found, an unknown patrol; NotFound for a patrol out of scope."""
    require(actor, "fire.hazard")
    pol = rules.default_hazard_policy()
    try:
        kind = pol.kind(data.kind)
    except ValueError as e:
        raise _bad("kind", str(e)) from None
    lon, lat = (data.lon, data.lat) if data.crs == "wgs84" else org_rules.gcj02_to_wgs84(data.lon, data.lat)
    place = org.locator(session).locate(lon, lat)
    if place.district_code != actor.district_code:
        where = f"district {place.district_code}" if place.district_code else "no loaded district"
        why = f"({lon:.6f}, {lat:.6f}) is outside district {actor.district_code} (it falls in {where})"
        raise InvalidInput(why, [FieldError("lon", why), FieldError("lat", why)])
    now = ztime.utcnow()
    found_at = _aware("found_at", data.found_at, now) if data.found_at is not None else now
    sid, sname, _ = _staff(session, actor, data.found_by, "found_by")
    deadline = data.deadline or rules.default_deadline(found_at, kind.days)
    if deadline < found_at.astimezone(ztime.LOCAL_TZ).date():
        raise _bad("deadline", f"deadline {deadline} is before the day the hazard was found")
    if patrol is None and data.patrol_id is not None:
        patrol = session.scalar(
            select(FirePatrol).where(FirePatrol.id == data.patrol_id, patrol_scope(actor))
        )
        if patrol is None:
            raise NotFound(f"patrol {data.patrol_id} not found")
    h = FireHazard(
        kind=kind.key,
        description=data.description,
        lon=lon,
        lat=lat,
        address=data.address,
        district_code=actor.district_code,
        town_code=place.town_code,
        grid_code=place.grid_code,
        found_by=sname,
        found_by_id=sid,
        found_at=found_at,
        deadline=deadline,
        status="open",
        patrol_id=patrol.id if patrol is not None else None,
        rectify_note="",
        evidence="",
        created_at=now,
    )
    session.add(h)
    session.flush()
    return h


def get_hazard(session: Session, actor: Actor, hazard_id: int, own: bool = True) -> FireHazard:
    """The hazard ``hazard_id`` in the actor's scope (``own``: counting those they found); NotFound
    otherwise. Needs ``fire.read``."""
    require(actor, "fire.read")
    h = session.scalar(select(FireHazard).where(FireHazard.id == hazard_id, hazard_scope(actor, own)))
    if h is None:
        raise NotFound(f"hazard {hazard_id} not found")
    return h


def list_hazards(
    session: Session,
    actor: Actor,
    *,
    status: str | None = None,
    kind: str | None = None,
    town_code: str | None = None,
    overdue: bool | None = None,
    limit: int = 1000,
    as_of: datetime | None = None,
) -> list[HazardRead]:
    """Hazards in the actor's scope, newest found first, filtered by status, kind (key or name), town
    and overdue. Needs ``fire.read``. Raises InvalidInput for an unknown status or kind."""
    require(actor, "fire.read")
    now = as_of or ztime.utcnow()
    q = select(FireHazard).where(hazard_scope(actor))
    if status is not None:
        if status not in rules.STATUS_ZH:
            raise _bad("status", f'unknown status "{status}"; known: {", ".join(rules.STATUS_ZH)}')
        q = q.where(FireHazard.status == status)
    if kind is not None:
        try:
            q = q.where(FireHazard.kind == rules.default_hazard_policy().kind(kind).key)
        except ValueError as e:
            raise _bad("kind", str(e)) from None
    if town_code is not None:
        q = q.where(FireHazard.town_code == town_code)
    if overdue is not None:
        today = now.astimezone(ztime.LOCAL_TZ).date()
        late = (FireHazard.status != "closed") & (FireHazard.deadline < today)
        q = q.where(late if overdue else ~late)
    rows = session.scalars(q.order_by(FireHazard.found_at.desc(), FireHazard.id.desc()).limit(limit)).all()
    return [hazard_read(h, now) for h in rows]


def _move(h: FireHazard, action: str) -> None:
    try:
        h.status = rules.next_status(h.status, action)
    except ValueError as e:
        raise Conflict(f"hazard {h.id}: {e}") from None


def start_rectification(session: Session, actor: Actor, hazard_id: int, note: str) -> FireHazard:
    """Mark a hazard as being rectified (整改中) with what is being done. Needs ``fire.hazard`` and the
    hazard in scope (or found by the actor). Conflict unless it is open."""
    require(actor, "fire.hazard")
    h = get_hazard(session, actor, hazard_id)
    _move(h, "rectify")
    h.rectify_at, h.rectify_by, h.rectify_note = ztime.utcnow(), actor.name, note
    session.flush()
    return h


def close_hazard(session: Session, actor: Actor, hazard_id: int, evidence: str) -> FireHazard:
    """Close a hazard out (销号) with the evidence of its rectification. Needs ``fire.hazard`` and a
    role of a scope in data/hazards.yaml ``close.scopes`` (Forbidden otherwise, for every hazard
    alike), and the hazard in scope by place (NotFound otherwise). Conflict when already closed."""
    require(actor, "fire.hazard")
    pol = rules.default_hazard_policy()
    sc = scope_of(actor)
    if sc.kind not in pol.close.scopes:
        who = " or ".join(pol.close.scopes)
        raise Forbidden(
            f'role "{actor.role}" may not close hazards out (销号 is done by a {who} role after checking '
            "the rectification)"
        )
    h = get_hazard(session, actor, hazard_id, own=False)
    if len(evidence.strip()) < 2:
        raise _bad("evidence", "say what was done (the evidence of the rectification)")
    _move(h, "close")
    h.closed_at, h.closed_by, h.closed_by_id, h.evidence = ztime.utcnow(), actor.name, actor.id, evidence
    session.flush()
    return h


# --- patrols -------------------------------------------------------------------------------------------


def _track(data: PatrolIn, max_points: int) -> list[tuple[float, float]]:
    raw = data.points
    if data.track is not None:
        if data.track.get("type") != "LineString":
            raise _bad("track", f"track must be a GeoJSON LineString, got {data.track.get('type')!r}")
        raw = data.track.get("coordinates")
    try:
        pts = rules.check_track(raw, max_points)
    except ValueError as e:
        raise _bad("track" if data.track is not None else "points", str(e)) from None
    if data.crs == "gcj02":
        a = np.asarray(pts)
        lo, la = org_rules.gcj02_to_wgs84_array(a[:, 0], a[:, 1])
        pts = list(zip(lo.tolist(), la.tolist(), strict=True))
    return pts


def patrol_read(session: Session, p: FirePatrol, with_track: bool = False) -> PatrolRead:
    """The API view of a patrol (the track only with ``with_track``)."""
    ids = session.scalars(select(FireHazard.id).where(FireHazard.patrol_id == p.id).order_by(FireHazard.id))
    track = None
    if with_track:
        line = shapely.from_wkb(p.track)
        track = {"type": "LineString", "coordinates": [[round(x, 6), round(y, 6)] for x, y in line.coords]}
    return PatrolRead(
        id=p.id,
        ranger_name=p.ranger_name,
        district_code=p.district_code,
        town_code=p.town_code,
        grid_code=p.grid_code,
        started_at=p.started_at,
        ended_at=p.ended_at,
        hours=round((p.ended_at - p.started_at).total_seconds() / 3600, 3),
        length_km=round(p.length_km, 3),
        n_points=p.n_points,
        note=p.note,
        hazard_ids=list(ids),
        track=track,
    )


def add_patrol(session: Session, actor: Actor, data: PatrolIn) -> FirePatrol:
    """Record a ranger's patrol (巡护记录) and the hazards found on it, in one go.

    The ranger (a staff username; default the actor) must hold a role of data/hazards.yaml
    ``patrol.ranger_roles`` (a grid worker) and work in a grid of the actor's scope; the patrol
    belongs to that grid. Times: no zone = Beijing time; the end after the start, within
    ``patrol.max_hours``, not in the future. The track: 2 or more WGS-84 points (GCJ-02 with
    ``crs``); its length is the sum of great-circle distances. Each hazard is recorded as
    :func:`add_hazard` does, found by the ranger at the end of the patrol unless it says otherwise.
    Needs ``fire.record``, and ``fire.hazard`` when ``data.hazards`` is not empty (Forbidden naming the
    permission, before anything is read). Raises InvalidInput, NotFound (a ranger out of scope)."""
    require(actor, "fire.record")
    if data.hazards:
        require(actor, "fire.hazard")
    pol = rules.default_hazard_policy().patrol
    sid, sname, st = _staff(session, actor, data.ranger, "ranger")
    if st is None or st.role not in pol.ranger_roles:
        raise _bad("ranger", f"the ranger must be one of {', '.join(pol.ranger_roles)}; {sname} is not")
    grid = session.get(OrgUnit, st.org_unit_id)
    if grid is None or grid.level != "grid":
        raise _bad("ranger", f"{sname} is not attached to a grid")
    if not _in_scope(actor, grid.district_code, grid.town_code, grid.code) and st.id != actor.id:
        raise NotFound(f'unknown ranger "{data.ranger}"')
    now = ztime.utcnow()
    start, end = _aware("started_at", data.started_at, now), _aware("ended_at", data.ended_at, now)
    if not end > start:
        raise _bad("ended_at", "the patrol must end after it starts")
    if end - start > timedelta(hours=pol.max_hours):
        raise _bad("ended_at", f"a patrol lasts at most {pol.max_hours:g} h")
    pts = _track(data, pol.max_points)
    assert sid is not None
    p = FirePatrol(
        ranger_id=sid,
        ranger_name=sname,
        district_code=grid.district_code,
        town_code=grid.town_code,
        grid_code=grid.code,
        started_at=start,
        ended_at=end,
        track=shapely.to_wkb(shapely.LineString(pts)),
        n_points=len(pts),
        length_km=rules.track_length_km(pts),
        note=data.note,
        created_at=now,
        created_by=actor.name,
    )
    session.add(p)
    session.flush()
    ranger_username = st.username
    for i, hz in enumerate(data.hazards):
        item = hz.model_copy(
            update={
                "found_by": hz.found_by or ranger_username,
                "found_at": hz.found_at or end,
            }
        )
        try:
            add_hazard(session, actor, item, patrol=p)
        except InvalidInput as e:
            raise InvalidInput(
                f"hazards[{i}]: {e.detail}",
                [FieldError(f"hazards[{i}].{fe.field}", fe.reason) for fe in e.errors],
            ) from None
    return p


def get_patrol(session: Session, actor: Actor, patrol_id: int) -> FirePatrol:
    """The patrol ``patrol_id`` in the actor's scope (or walked by the actor); NotFound otherwise.
    Needs ``fire.read``."""
    require(actor, "fire.read")
    p = session.scalar(select(FirePatrol).where(FirePatrol.id == patrol_id, patrol_scope(actor)))
    if p is None:
        raise NotFound(f"patrol {patrol_id} not found")
    return p


def list_patrols(
    session: Session,
    actor: Actor,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    grid_code: str | None = None,
    limit: int = 1000,
) -> list[PatrolRead]:
    """Patrols in the actor's scope started in [since, until) (no zone = Beijing time), newest first,
    without their tracks. Needs ``fire.read``."""
    require(actor, "fire.read")
    q = select(FirePatrol).where(patrol_scope(actor))
    if since is not None:
        q = q.where(FirePatrol.started_at >= ztime.to_utc(since))
    if until is not None:
        q = q.where(FirePatrol.started_at < ztime.to_utc(until))
    if grid_code is not None:
        q = q.where(FirePatrol.grid_code == grid_code)
    rows = session.scalars(q.order_by(FirePatrol.started_at.desc(), FirePatrol.id.desc()).limit(limit)).all()
    return [patrol_read(session, p) for p in rows]
