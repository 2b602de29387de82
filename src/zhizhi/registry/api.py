"""HTTP routes of the registry domain (台账): ``/api/v1/registry/…``.

Each route declares its permission (``permit``; core/data/permissions.yaml): validate
``registry.validate``; writes ``registry.write``; reads ``registry.read``; conflict decisions
``registry.resolve``; the full view of a person ``personal.full_view``. The service applies the data
scope on top: a record outside it is 404 on reads (as if it did not exist) and the one out-of-scope
refusal (403) on writes. Citizen IDs, names and phones are masked in every response except the
audited full view.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy.orm import Session

from zhizhi.core.access import Actor
from zhizhi.core.errors import FieldError, InvalidInput
from zhizhi.core.http import get_session, permit
from zhizhi.registry import identifiers, service
from zhizhi.registry.schemas import (
    EARLIEST,
    LATEST,
    ChangeOut,
    ConflictOut,
    ConflictPage,
    CountsOut,
    FullViewIn,
    HouseholdIn,
    HouseIn,
    IdentifierCheck,
    PersonalOut,
    RegisterWrite,
    ResidentDetail,
    ResidentIn,
    ResidentPage,
    ResolveIn,
    UnitIn,
    UpsertOut,
    ValidateBatchResult,
    ValidateRequest,
)
from zhizhi.registry.service import UpsertResult
from zhizhi.registry.service.write import today

router = APIRouter(prefix="/api/v1/registry", tags=["registry 台账"])

MAX_ID = 2**31 - 1  # ids are INTEGER (32-bit on PostgreSQL)
ResidentId = Annotated[int, Path(ge=1, le=MAX_ID, description="resident id")]
ConflictId = Annotated[int, Path(ge=1, le=MAX_ID, description="conflict id")]
AsOf = Annotated[
    date | None, Query(ge=EARLIEST, le=LATEST, description="YYYY-MM-DD, default today (Beijing time)")
]
KnownAt = Annotated[
    datetime | None,
    Query(description="ISO 8601 with offset: the register as it was known then (default now)"),
]
Code = Annotated[str | None, Query(max_length=16, pattern=r"^\d{12,15}$")]
STATUSES = ("active", "moved_out", "deceased", "any")


@router.post(
    "/validate",
    response_model=IdentifierCheck | ValidateBatchResult,
    response_model_exclude_unset=True,
)
def validate_identifiers(
    body: ValidateRequest,
    response: Response,
    actor: Actor = Depends(permit("registry.validate")),
) -> IdentifierCheck | ValidateBatchResult:
    """Validate one identifier (``value``) or up to 1000 (``values``): citizen ID, credit code,
    organisation code, phone or division code. ``kind`` is guessed when omitted (``guessed``: true).

    Any signed-in user whose role holds ``registry.validate`` (every role today). The caller sent
    the values, so they come back normalized (with a ``masked`` form for display); nothing is stored
    or logged, and the response is marked ``no-store``.
    """
    response.headers["Cache-Control"] = "no-store"
    if "values" in body.model_fields_set and body.values is not None:
        results = [IdentifierCheck(**identifiers.validate(v, body.kind).as_dict()) for v in body.values]
        ok = sum(r.valid for r in results)
        return ValidateBatchResult(results=results, total=len(results), valid=ok, invalid=len(results) - ok)
    return IdentifierCheck(**identifiers.validate(body.value, body.kind).as_dict())


# --- writes ----------------------------------------------------------------------------------------------


def _written(r: UpsertResult, response: Response) -> UpsertOut:
    response.status_code = 201 if r.created else 200
    return UpsertOut(**asdict(r))


def _write(upsert: Any, session: Session, actor: Actor, body: RegisterWrite, response: Response) -> UpsertOut:
    r = upsert(session, actor, body.record(), body.source, valid_from=body.valid_from, ref=body.ref)
    return _written(r, response)


@router.post("/residents", response_model=UpsertOut, status_code=200)
def upsert_resident(
    body: ResidentIn,
    response: Response,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("registry.write")),
) -> UpsertOut:
    """Create or update one resident (人口), deduplicated by citizen ID.

    201 when the record was created, 200 when it existed. Fields another source set are not
    overwritten: ``conflicts`` lists the conflicts recorded for a person to resolve. 422 names every
    bad field; 403 without ``registry.write`` or for a record (stored or proposed) outside the
    caller's data scope: the same answer in both cases, naming only the caller's scope."""
    return _write(service.upsert_resident, session, actor, body, response)


@router.post("/households", response_model=UpsertOut, status_code=200)
def upsert_household(
    body: HouseholdIn,
    response: Response,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("registry.write")),
) -> UpsertOut:
    """Create or update one household (户), deduplicated by 户号.

    201 when the record was created, 200 when it existed. Fields another source set are not
    overwritten: ``conflicts`` lists the conflicts recorded for a person to resolve. 422 names every
    bad field; 403 without ``registry.write`` or for a record (stored or proposed) outside the
    caller's data scope: the same answer in both cases, naming only the caller's scope."""
    return _write(service.upsert_household, session, actor, body, response)


@router.post("/houses", response_model=UpsertOut, status_code=200)
def upsert_house(
    body: HouseIn,
    response: Response,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("registry.write")),
) -> UpsertOut:
    """Create or update one house (房屋), deduplicated by house code.

    201 when the record was created, 200 when it existed. Fields another source set are not
    overwritten: ``conflicts`` lists the conflicts recorded for a person to resolve. 422 names every
    bad field; 403 without ``registry.write`` or for a record (stored or proposed) outside the
    caller's data scope: the same answer in both cases, naming only the caller's scope."""
    return _write(service.upsert_house, session, actor, body, response)


@router.post("/units", response_model=UpsertOut, status_code=200)
def upsert_unit(
    body: UnitIn,
    response: Response,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("registry.write")),
) -> UpsertOut:
    """Create or update one unit (单位), deduplicated by credit or organisation code.

    201 when the record was created, 200 when it existed. Fields another source set are not
    overwritten: ``conflicts`` lists the conflicts recorded for a person to resolve. 422 names every
    bad field; 403 without ``registry.write`` or for a record (stored or proposed) outside the
    caller's data scope: the same answer in both cases, naming only the caller's scope."""
    return _write(service.upsert_unit, session, actor, body, response)


# --- reads -----------------------------------------------------------------------------------------------


def _filters(
    status: str | None,
    village: str | None,
    grid: str | None,
    tag: list[str] | None,
    min_age: int | None,
    max_age: int | None,
    default_status: str | None = "active",
) -> service.ResidentFilter:
    if status is not None and status not in STATUSES:
        why = f'"{status}" is not one of {", ".join(STATUSES)}'
        raise InvalidInput(f"status: {why}", [FieldError("status", why)])
    chosen = default_status if status is None else None if status == "any" else status
    return service.ResidentFilter(
        status=chosen,
        village_code=village,
        grid_code=grid,
        tags=tuple(tag or ()),
        min_age=min_age,
        max_age=max_age,
    )


Status = Annotated[str | None, Query(description="active (在册, default) | moved_out | deceased | any")]
Tags = Annotated[list[str] | None, Query(max_length=12, description="tag codes; any of them")]
Age = Annotated[int | None, Query(ge=0, le=150, description="whole years on as_of")]


@router.get("/residents", response_model=ResidentPage)
def list_residents(
    as_of: AsOf = None,
    known_at: KnownAt = None,
    village: Code = None,
    grid: Code = None,
    tag: Tags = None,
    min_age: Age = None,
    max_age: Age = None,
    status: Status = None,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=10**9),
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("registry.read")),
) -> dict[str, Any]:
    """Residents on the register on ``as_of`` (as known at ``known_at``) in the caller's data scope,
    by id, with filters; masked (citizen ID, name, phone), ages instead of birth dates."""
    f = _filters(status, village, grid, tag, min_age, max_age)
    page = service.residents_as_of(session, actor, as_of, f, known_at=known_at, limit=limit, offset=offset)
    return {**page, "limit": limit, "offset": offset}


@router.get("/residents/{resident_id}", response_model=ResidentDetail)
def get_resident(
    resident_id: ResidentId,
    as_of: AsOf = None,
    known_at: KnownAt = None,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("registry.read")),
) -> dict[str, Any]:
    """One resident as of a date (masked), with the source of each field. 404 when not on the
    register that day or outside the caller's scope (the same answer)."""
    return service.resident_detail(session, actor, resident_id, as_of, known_at=known_at)


@router.get("/residents/{resident_id}/history", response_model=list[ChangeOut])
def resident_history(
    resident_id: ResidentId,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("registry.read")),
) -> list[dict[str, Any]]:
    """Every recorded change of one resident, oldest first: who, when, source, the values set and
    the values before (personal values masked). 404 outside the caller's scope."""
    return service.history_of(session, actor, "resident", resident_id)


@router.post("/residents/{resident_id}/personal", response_model=PersonalOut)
def resident_full_view(
    resident_id: ResidentId,
    data: FullViewIn,
    request: Request,
    response: Response,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("personal.full_view")),
) -> dict[str, Any]:
    """The unmasked citizen ID, name, phone and address of one resident (personal.full_view): only
    roles that hold it, only for a person in scope, only with a stated reason; every view writes an
    audit row. The response is marked ``no-store``."""
    response.headers["Cache-Control"] = "no-store"
    client = request.client.host if request.client else None
    return service.resident_personal(session, actor, resident_id, data.reason, client)


@router.get("/counts", response_model=CountsOut)
def counts(
    by: str = Query("village", description=" | ".join(service.COUNT_BY)),
    as_of: AsOf = None,
    known_at: KnownAt = None,
    village: Code = None,
    grid: Code = None,
    tag: Tags = None,
    min_age: Age = None,
    max_age: Age = None,
    status: Status = None,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("registry.read")),
) -> dict[str, Any]:
    """Count residents on ``as_of`` in the caller's scope, by village, grid, town, tag, age band
    (0-17, 18-59, 60-79, 80+), status, sex or total. A form computed with the same ``as_of`` and
    ``known_at`` gives the same numbers whenever it is asked again. ``status`` defaults to 在册,
    except with ``by=status`` (all statuses)."""
    f = _filters(status, village, grid, tag, min_age, max_age, None if by == "status" else "active")
    day = as_of or today()
    n = service.count_residents(session, actor, day, by, f, known_at=known_at)
    return {
        "as_of": day.isoformat(),
        "known_at": known_at.isoformat() if known_at else None,
        "by": by,
        "counts": n,
    }


# --- conflicts -------------------------------------------------------------------------------------------


@router.get("/conflicts", response_model=ConflictPage)
def list_conflicts(
    status: str = Query("open", description="open | accepted | rejected | all"),
    entity: str | None = Query(None, pattern="^(resident|household|house|unit)$"),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=10**9),
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("registry.read")),
) -> dict[str, Any]:
    """Conflicts between sources in the caller's scope (a department: those on its own tags), oldest
    first, personal values masked."""
    page = service.list_conflicts(
        session, actor, None if status == "all" else status, entity, limit=limit, offset=offset
    )
    return {**page, "limit": limit, "offset": offset}


@router.post("/conflicts/{conflict_id}/resolve", response_model=ConflictOut)
def resolve_conflict(
    conflict_id: ConflictId,
    data: ResolveIn,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("registry.resolve")),
) -> dict[str, Any]:
    """Decide one open conflict: ``accept`` records the proposed value (its provenance is the
    proposing source, the actor is the caller), else the current value stays. 404 outside the
    caller's scope; 409 when already decided or when the current value changed since (look again)."""
    return service.resolve_conflict(session, actor, conflict_id, data.accept, data.note)
