"""Pydantic models of the registry API (台账): identifier validation."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StringConstraints, model_validator

IdentifierKind = Literal["citizen-id", "uscc", "org-code", "phone", "division"]
MAX_BATCH = 1000
"""Values in one batch request."""
MAX_VALUE_CHARS = 1024

RawValue = (
    Annotated[str, StringConstraints(strict=True, max_length=MAX_VALUE_CHARS)]
    | StrictInt
    | StrictFloat
    | None
)
"""A field as the client has it: text, or a number (which a citizen ID or credit code must never be:
it is refused with "stored as a number, last digits lost"), or null."""


class ValidateRequest(BaseModel):
    """Either one ``value`` or a batch of ``values`` (at most :data:`MAX_BATCH`), with an optional
    ``kind``; without it each value's kind is guessed."""

    model_config = ConfigDict(extra="forbid")

    value: RawValue = Field(None, description="one identifier as written")
    values: list[RawValue] | None = Field(
        None, min_length=1, max_length=MAX_BATCH, description=f"up to {MAX_BATCH} identifiers"
    )
    kind: IdentifierKind | None = Field(None, description="omit to let each value's kind be guessed")

    @model_validator(mode="after")
    def _one_form(self) -> ValidateRequest:
        given = {"value", "values"} & self.model_fields_set
        if len(given) != 1:
            raise ValueError('give either "value" (one identifier) or "values" (a list), not both or neither')
        if "values" in given and self.values is None:
            raise ValueError('"values" must be a list')
        return self


class IdentifierCheck(BaseModel):
    """The result for one value: ``valid`` (no error; warnings allowed), ``normalized`` (the value to
    store, null unless valid), ``errors``, ``warnings``, ``kind`` and ``guessed``, then the facts the
    value carries (only those that apply are present)."""

    model_config = ConfigDict(extra="allow")

    valid: bool
    normalized: str | None
    errors: list[str]
    warnings: list[str]
    kind: IdentifierKind | None
    guessed: bool
    # citizen-id
    birth_date: str | None = Field(None, description="citizen-id: ISO date")
    sex: Literal["male", "female"] | None = Field(None, description="citizen-id: from the 17th digit")
    legacy_15: bool | None = Field(None, description="citizen-id: converted from 15 digits")
    region_code: str | None = Field(None, description="GB/T 2260 code in the value")
    region_name: str | None = None
    region_status: Literal["current", "retired", "grouping", "statistical"] | None = None
    masked: str | None = Field(None, description="citizen-id, phone: the form to show in lists")
    # uscc / org-code
    authority_code: str | None = None
    authority: str | None = Field(None, description="uscc: 登记管理部门")
    org_type: str | None = Field(None, description="uscc: 机构类别")
    org_code: str | None = Field(None, description="uscc, org-code: GB 11714 code XXXXXXXX-X")
    # phone
    line_type: Literal["mobile", "landline", "service"] | None = None
    operator: str | None = Field(None, description="phone: original operator of the segment")
    segment_kind: Literal["mobile", "resale", "satellite"] | None = None
    area_code: str | None = None
    # division
    level: Literal["province", "prefecture", "county", "town", "village"] | None = None
    town_type: str | None = None
    village_type: str | None = None
    name: str | None = Field(None, description="division: name (shipped districts and GB/T 2260 levels)")
    town_name: str | None = None


class ValidateBatchResult(BaseModel):
    """Results of a batch, in the order of ``values``, with counts."""

    results: list[IdentifierCheck]
    total: int
    valid: int
    invalid: int
