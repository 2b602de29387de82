"""Pydantic models of the form API (报表)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class FormSource(BaseModel):
    """The real form a definition is modelled on (shared/data/forms id or domain/forms.md section)."""

    form: str = Field(examples=["F02"])
    title: str
    url: str


class FormSummary(BaseModel):
    """One form of the catalogue as listed by ``GET /api/v1/forms``."""

    id: str = Field(examples=["mz-dibao-monthly"])
    title: str
    form_number: str | None = Field(None, description="表号, when the source form has one")
    department: str = Field(description="issuing department (org/data/departments.yaml abbr)")
    department_name: str
    period: str = Field(description="month | quarter | year")
    rows: str = Field(description="row level: village | town | grid | person (a roster)")
    org_levels: list[str] = Field(description="org-unit levels the form can be rendered for")
    modelled_on: FormSource
    columns: int
    computed: int = Field(description="columns filled from the registers and events")
    manual: int = Field(description="columns left for manual entry (the registers do not hold them)")
    checks: int = Field(description="cross-column rules (勾稽关系) declared on the form")
