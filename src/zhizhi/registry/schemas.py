"""Pydantic models of the registry API (台账): identifier validation, register writes and reads."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StringConstraints,
    model_validator,
)

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


# --- register writes (台账录入) ----------------------------------------------------------------------------

EARLIEST, LATEST = date(1900, 1, 1), date(2199, 12, 31)
"""The dates the API takes (valid_from, as_of): the registers hold nobody before 1900."""


def _date_text(v: Any) -> Any:
    if isinstance(v, int | float):  # pydantic would read a number as a Unix time
        raise ValueError("write the date as YYYY-MM-DD")
    return v


ApiDate = Annotated[date, BeforeValidator(_date_text), Field(ge=EARLIEST, le=LATEST)]
"""A date written ``YYYY-MM-DD`` (a number is refused, not read as a Unix time)."""


class RegisterWrite(BaseModel):
    """What every register write carries besides the record: ``source`` (the supplier, ``kind:key``:
    ``grid:<grid code>``, ``dept:<abbr>``, ``town:<code>``, ``import:<feed>`` …), ``valid_from`` (the
    date the values hold from; default today, Beijing time), ``ref`` (file, batch or case number),
    ``clear`` (fields to empty) and ``generated`` (synthetic data). Record fields: absent, null or ""
    means "not supplied"; values are validated by the service, which names each bad field."""

    model_config = ConfigDict(extra="forbid")

    source: Annotated[str, StringConstraints(max_length=80)] = Field(description="supplier, kind:key")
    valid_from: ApiDate | None = Field(None, description="YYYY-MM-DD; default today")
    ref: Annotated[str, StringConstraints(max_length=200)] | None = None
    clear: list[Annotated[str, StringConstraints(max_length=40)]] | None = Field(None, max_length=30)
    generated: StrictBool | None = None

    def record(self) -> dict[str, Any]:
        """The record fields as the service takes them (the write's own fields left out)."""
        return self.model_dump(exclude_unset=True, exclude={"source", "valid_from", "ref"})


class ResidentIn(RegisterWrite):
    """One resident (人口): ``citizen_id`` required (18 characters, or 15 digits converted; a JSON number
    is refused: "stored as a number, last digits lost"); codes or zh-CN labels for ``ethnicity``
    (GB 3304), ``relation`` (GB/T 4761), ``status`` (在册/迁出/死亡); ``tags`` a list of codes or
    labels to set, or ``{code: true|false}``. A new resident needs ``name`` and a village or grid."""

    citizen_id: RawValue = None
    name: RawValue = None
    sex: RawValue = None
    birth_date: RawValue = None
    ethnicity: RawValue = None
    phone: RawValue = None
    household_number: RawValue = None
    relation: RawValue = None
    address: RawValue = None
    village_code: RawValue = None
    grid_code: RawValue = None
    status: RawValue = None
    status_date: RawValue = None
    tags: list[Annotated[str, StringConstraints(max_length=40)]] | dict[str, StrictBool] | None = Field(
        None, max_length=40
    )


class HouseholdIn(RegisterWrite):
    """One household (户), by ``number`` (户号): ``head_citizen_id`` (a resident), ``kind`` (家庭户/集体户),
    ``status`` (正常/注销), address and location."""

    number: RawValue = None
    head_citizen_id: RawValue = None
    kind: RawValue = None
    address: RawValue = None
    village_code: RawValue = None
    grid_code: RawValue = None
    status: RawValue = None


class HouseIn(RegisterWrite):
    """One house (房屋), by ``code`` (房屋编码): use and structure (GB/T 17986.1), floors, WGS-84
    ``lon``/``lat``, status (在用/已拆除), address and location."""

    code: RawValue = None
    address: RawValue = None
    village_code: RawValue = None
    grid_code: RawValue = None
    use: RawValue = None
    structure: RawValue = None
    floors: RawValue = None
    lon: RawValue = None
    lat: RawValue = None
    status: RawValue = None


class UnitIn(RegisterWrite):
    """One unit (单位), by ``uscc`` (统一社会信用代码) or, without one, ``org_code`` (组织机构代码): name,
    industry (GB/T 4754), legal representative, phone, employees, point, status (存续/注销)."""

    uscc: RawValue = None
    org_code: RawValue = None
    name: RawValue = None
    industry: RawValue = None
    legal_rep: RawValue = None
    phone: RawValue = None
    employees: RawValue = None
    address: RawValue = None
    village_code: RawValue = None
    grid_code: RawValue = None
    lon: RawValue = None
    lat: RawValue = None
    status: RawValue = None


class UpsertOut(BaseModel):
    """The outcome of one write: entity ``kind`` and ``id``, ``created``, the fields ``applied`` and
    ``unchanged``, the ``conflicts`` raised (ids; those fields kept the value another source set, for
    a person to resolve), the change ids written, validator ``warnings``."""

    kind: str
    id: int
    created: bool
    applied: list[str]
    unchanged: list[str]
    conflicts: list[int]
    changes: list[int]
    warnings: list[str]


# --- register reads (台账查询) ----------------------------------------------------------------------------


class ResidentItem(BaseModel):
    """One resident as shown: citizen ID, name and phone masked; age (whole years on ``as_of``)
    instead of the birth date; a department sees only its own tags."""

    id: int
    citizen_id: str
    name: str | None
    sex: str
    age: int
    ethnicity: str | None
    phone: str | None
    household_id: int | None
    relation: str | None
    address: str | None
    town_code: str | None
    village_code: str | None
    grid_code: str | None
    status: str | None
    status_date: str | None
    tags: list[str]
    valid_from: str
    valid_to: str | None
    generated: bool


class ResidentPage(BaseModel):
    """Residents on the register on ``as_of`` within the caller's scope: ``total`` and one page."""

    as_of: str
    total: int
    limit: int
    offset: int
    items: list[ResidentItem]


class Provenance(BaseModel):
    """Who supplied a field's value (字段来源): the change that set it."""

    source: str
    ref: str | None
    actor: str
    recorded_at: str
    valid_from: str
    change_id: int


class ResidentDetail(ResidentItem):
    """One resident as of a date, with the provenance of each field in force."""

    provenance: dict[str, Provenance]


class ChangeOut(BaseModel):
    """One recorded change: the fields it set (``new``) and their values before (``old``), personal
    values masked."""

    change_id: int
    valid_from: str
    recorded_at: str
    actor: str
    source: str
    ref: str | None
    conflict_id: int | None
    new: dict[str, Any]
    old: dict[str, Any]


class FullViewIn(BaseModel):
    """Why the full personal data is needed (事由), written to the audit log."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=4, max_length=500, description="why the full personal data is needed")


class PersonalOut(BaseModel):
    """The unmasked personal fields of one resident (audited)."""

    id: int
    citizen_id: str
    name: str | None
    phone: str | None
    address: str | None
    valid_from: str


class CountsOut(BaseModel):
    """Counts of residents on ``as_of`` (as known at ``known_at``, or now) within the caller's scope."""

    as_of: str
    known_at: str | None
    by: str
    counts: dict[str, int]


class ConflictOut(BaseModel):
    """A conflict between two sources (数据冲突), personal values masked."""

    model_config = ConfigDict(extra="allow")

    id: int
    entity: str
    entity_id: int
    field: str
    valid_from: str
    current: Any
    current_source: str | None
    proposed: Any
    proposed_source: str
    linked: dict[str, Any]
    status: str


class ConflictPage(BaseModel):
    """Conflicts in the caller's scope: ``total`` and one page, oldest first."""

    total: int
    limit: int
    offset: int
    items: list[ConflictOut]


class ResolveIn(BaseModel):
    """A decision on one open conflict: ``accept`` the proposed value (recorded with the proposing
    source as its provenance) or keep the current one; ``note`` the reason."""

    model_config = ConfigDict(extra="forbid")

    accept: StrictBool
    note: Annotated[str, StringConstraints(max_length=300)] | None = None
