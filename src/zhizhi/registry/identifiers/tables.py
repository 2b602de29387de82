"""Reference tables of the identifier validators, shipped as data and checked when first loaded.

- ``registry/data/gbt2260_codes.csv``: GB/T 2260 county-level and higher codes (行政区划代码) with their
  years, current and retired (see ``registry/data/SOURCES.md``).
- ``registry/data/mobile_segments.csv``: mobile number segments (号段) allocated by MIIT.
- ``registry/data/uscc_categories.csv``: GB 32100 registering-authority and organisation-type codes.
- ``org/data/yongchuan/divisions.csv``: the NBS 2023 towns and villages of the districts the project
  ships (today 永川区 500118), read as data (no import of the org domain).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable

DATA = resources.files("zhizhi.registry") / "data"
ORG_DATA = resources.files("zhizhi.org") / "data"
SHIPPED_DISTRICTS = {"500118": ORG_DATA / "yongchuan" / "divisions.csv"}
"""Districts whose towns and villages are checked code by code (NBS 2023 list)."""

REGION_STATUSES = ("current", "retired", "grouping", "statistical")
NATIONAL = "100000"
"""Code of the whole country (全国), used by national registering authorities in credit codes."""


@dataclass(frozen=True)
class RegionPeriod:
    """One name of a code over a span of years: ``first_year`` None means already in the earliest
    list (1980), ``last_year`` None still in force in the latest list used."""

    name: str
    first_year: int | None
    last_year: int | None
    status: str
    source: str


@dataclass(frozen=True)
class Region:
    """A 6-digit GB/T 2260 code: ``status`` current | retired | grouping (汇总码 such as 市辖区) |
    statistical (an NBS-only area such as a development zone); ``name`` the current name, else the
    latest one; ``last_year`` the last year a retired code was listed (None if unknown)."""

    code: str
    status: str
    name: str
    last_year: int | None
    periods: tuple[RegionPeriod, ...]

    @property
    def level(self) -> str:
        """province | prefecture | county, from the code's structure (GB/T 2260 §4)."""
        if self.code.endswith("0000"):
            return "province"
        if self.code.endswith("00"):
            return "prefecture"
        return "county"

    def existed_by(self, year: int) -> bool:
        """Whether one of the code's names was in force in or before ``year``."""
        return any(p.first_year is None or p.first_year <= year for p in self.periods)


@dataclass(frozen=True)
class Segment:
    """A mobile number segment (号段): 3 or 4 leading digits, its operator and kind: mobile |
    resale (移动转售, virtual operators) | satellite (卫星移动)."""

    prefix: str
    operator: str
    kind: str


@dataclass(frozen=True)
class Division:
    """A town (乡级) or village (村级) of a shipped district, NBS 2023."""

    code: str
    name: str
    level: str
    parent_code: str


def _rows(path: Traversable, columns: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows of a shipped CSV with their line numbers; raises ValueError naming the file when a
    column is missing."""
    text = path.read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in columns if c not in (reader.fieldnames or [])]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
    yield from enumerate(reader, start=2)


def _bad(path: Traversable, line: int, column: str, why: str) -> ValueError:
    return ValueError(f"{path}: line {line}, column {column}: {why}")


def _year(path: Traversable, line: int, column: str, text: str) -> int | None:
    if not text:
        return None
    if not re.fullmatch(r"19[4-9]\d|20\d\d", text):
        raise _bad(path, line, column, f'"{text}" is not a year')
    return int(text)


@lru_cache(maxsize=1)
def regions() -> dict[str, Region]:
    """All GB/T 2260 codes by code. Raises ValueError (file, line, column, reason) on a bad row."""
    path = DATA / "gbt2260_codes.csv"
    periods: dict[str, list[RegionPeriod]] = {}
    for line, r in _rows(path, ("code", "name", "first_year", "last_year", "status", "source")):
        code = r["code"]
        if not re.fullmatch(r"[1-9]\d{5}", code):
            raise _bad(path, line, "code", f'"{code}" is not a 6-digit code')
        if r["status"] not in REGION_STATUSES:
            raise _bad(path, line, "status", f'"{r["status"]}" is not one of {", ".join(REGION_STATUSES)}')
        if not r["name"]:
            raise _bad(path, line, "name", "empty")
        first = _year(path, line, "first_year", r["first_year"])
        last = _year(path, line, "last_year", r["last_year"])
        periods.setdefault(code, []).append(RegionPeriod(r["name"], first, last, r["status"], r["source"]))
    out = {}
    for code, ps in periods.items():
        by_status = {s: [p for p in ps if p.status == s] for s in REGION_STATUSES}
        status = next(s for s in REGION_STATUSES if by_status[s])
        chosen = by_status[status]
        if status == "retired":
            latest = max(chosen, key=lambda p: p.last_year or 0)
            name, last = latest.name, latest.last_year
        else:
            name, last = chosen[-1].name, None
        out[code] = Region(code, status, name, last, tuple(ps))
    return out


def region(code: str) -> Region | None:
    """The GB/T 2260 code ``code`` (6 digits), or None when it is in no list, current or past."""
    return regions().get(code)


@lru_cache(maxsize=1)
def segments() -> dict[str, Segment]:
    """Mobile segments by prefix (3 or 4 digits). Raises ValueError on a bad row."""
    path = DATA / "mobile_segments.csv"
    out = {}
    for line, r in _rows(path, ("prefix", "operator", "kind")):
        if not re.fullmatch(r"1[3-9]\d{1,2}", r["prefix"]):
            raise _bad(path, line, "prefix", f'"{r["prefix"]}" is not a 3- or 4-digit mobile prefix')
        if r["kind"] not in ("mobile", "resale", "satellite"):
            raise _bad(path, line, "kind", f'"{r["kind"]}" is not mobile, resale or satellite')
        out[r["prefix"]] = Segment(r["prefix"], r["operator"], r["kind"])
    return out


def segment(number: str) -> Segment | None:
    """The segment of an 11-digit mobile number (longest matching prefix), or None."""
    table = segments()
    return table.get(number[:4]) or table.get(number[:3])


@lru_cache(maxsize=1)
def uscc_categories() -> dict[str, tuple[str, dict[str, str]]]:
    """GB 32100 codes: ``{authority: (authority_name, {type: type_name})}``. Raises ValueError on a
    bad row."""
    path = DATA / "uscc_categories.csv"
    out: dict[str, tuple[str, dict[str, str]]] = {}
    for line, r in _rows(path, ("authority", "authority_name", "type", "type_name")):
        for col in ("authority", "type"):
            if not re.fullmatch(r"[0-9A-HJ-NP-RTUW-Y]", r[col]):
                raise _bad(path, line, col, f'"{r[col]}" is not one GB 32100 character')
        name, types = out.setdefault(r["authority"], (r["authority_name"], {}))
        types[r["type"]] = r["type_name"]
    return out


@lru_cache(maxsize=1)
def divisions() -> dict[str, Division]:
    """Towns and villages (12-digit NBS codes) of the shipped districts. Raises ValueError on a bad
    row."""
    out = {}
    for district, path in SHIPPED_DISTRICTS.items():
        for line, r in _rows(path, ("code", "name", "level", "parent_code")):
            if not re.fullmatch(r"\d{12}", r["code"]):
                raise _bad(path, line, "code", f'"{r["code"]}" is not a 12-digit code')
            if r["level"] in ("town", "village") and r["code"].startswith(district):
                out[r["code"]] = Division(r["code"], r["name"], r["level"], r["parent_code"])
    return out
