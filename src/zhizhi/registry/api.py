"""HTTP routes of the registry domain (台账): ``/api/v1/registry/…``."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from zhizhi.core.access import Actor
from zhizhi.core.http import permit
from zhizhi.registry import identifiers
from zhizhi.registry.schemas import IdentifierCheck, ValidateBatchResult, ValidateRequest

router = APIRouter(prefix="/api/v1/registry", tags=["registry 台账"])


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
