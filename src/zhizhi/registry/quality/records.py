"""The records the quality checks see (质量检查的记录): plain frozen dataclasses, values in force on the
check date, filled by registry/service/quality.py."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Place:
    """Where a record is: town, village and grid codes (None when unknown)."""

    town: str | None = None
    village: str | None = None
    grid: str | None = None


@dataclass(frozen=True)
class Person:
    """A resident as the checks see it (values in force on the check date). ``sex``/``birth`` are the
    identity row's, which should be those of the ID. ``status``: active | moved_out | deceased."""

    id: int
    citizen_id: str
    sex: str
    birth: date
    name: str | None = None
    phone: str | None = None
    ethnicity: str | None = None
    household: int | None = None
    status: str = "active"
    tags: tuple[str, ...] = ()
    address: str | None = None
    place: Place = Place()


@dataclass(frozen=True)
class Household:
    """A household (户): its number (户号, not personal), head (resident id), kind and status."""

    id: int
    number: str
    head: int | None = None
    kind: str | None = None
    status: str | None = "active"
    place: Place = Place()


@dataclass(frozen=True)
class House:
    """A house (房屋) by its code, with use and structure codes (GB/T 17986.1)."""

    id: int
    code: str
    use: str | None = None
    structure: str | None = None
    address: str | None = None
    status: str | None = "active"
    place: Place = Place()


@dataclass(frozen=True)
class Unit:
    """A unit (单位) with its credit code and/or organisation code, name and industry (GB/T 4754)."""

    id: int
    uscc: str | None = None
    org_code: str | None = None
    name: str | None = None
    industry: str | None = None
    address: str | None = None
    status: str | None = "active"
    place: Place = Place()


@dataclass(frozen=True)
class Registers:
    """What is checked: the records of the area, and for cross checks the people of the whole
    district they refer to (``people_elsewhere``: household heads living outside the area, and
    namesakes — same name, sex and birth date — anywhere in the district)."""

    people: Sequence[Person] = ()
    households: Sequence[Household] = ()
    houses: Sequence[House] = ()
    units: Sequence[Unit] = ()
    people_elsewhere: Sequence[Person] = ()
