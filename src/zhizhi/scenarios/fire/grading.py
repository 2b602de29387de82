"""Forest fire grades (森林火灾等级) and response levels (应急响应级别), as data (``data/grading.yaml``).

Pure functions over plain values; no database. A fire's grade follows 《森林防火条例》 (2008) 第四十条:
by damaged forest area (受害森林面积, ha), deaths and serious injuries (重伤), each a lower bound
inclusive ("以上包括本数"); the fire takes the highest grade any one criterion reaches, and every forest
fire is at least 一般. The response level proposed for a grade is data too (Ⅳ … Ⅰ); the record of a
fire may set another (see data/grading.yaml).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from zhizhi.scenarios.fire.rules import load_policy_file

GRADING_FILE = Path(__file__).parent / "data" / "grading.yaml"
CRITERIA = ("area_ha", "deaths", "serious_injuries")
CRITERION_ZH = {"area_ha": "受害森林面积", "deaths": "死亡", "serious_injuries": "重伤"}
CRITERION_UNIT = {"area_ha": "公顷", "deaths": "人", "serious_injuries": "人"}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Minimum(_Model):
    """The lower bounds (inclusive) of one grade: area ha, deaths, serious injuries."""

    area_ha: float = Field(ge=0)
    deaths: int = Field(ge=0)
    serious_injuries: int = Field(ge=0)


class GradeSpec(_Model):
    """One grade: key, Chinese name, lower bounds, default response level (1 = Ⅰ highest … 4 = Ⅳ)."""

    key: str = Field(pattern=r"^[a-z][a-z_]*$", max_length=20)
    name: str = Field(min_length=1, max_length=20)
    min: Minimum
    response_level: int = Field(ge=1, le=4)


class ResponseLevel(_Model):
    """One response level: 1 (Ⅰ) … 4 (Ⅳ), its name and who leads."""

    level: int = Field(ge=1, le=4)
    name: str = Field(min_length=1, max_length=20)
    lead: str = Field(min_length=1)


class GradingPolicy(_Model):
    """The whole ``data/grading.yaml``: grades lowest first, response levels."""

    version: int
    grades: list[GradeSpec] = Field(min_length=1)
    response_levels: list[ResponseLevel] = Field(min_length=1)

    @model_validator(mode="after")
    def _ordered(self) -> GradingPolicy:
        if self.grades[0].min.area_ha != 0:
            raise ValueError("grades: the lowest grade must start at area_ha 0 (every fire has a grade)")
        for a, b in zip(self.grades, self.grades[1:], strict=False):
            for c in CRITERIA:
                if not getattr(b.min, c) > getattr(a.min, c):
                    raise ValueError(
                        f"grades: {b.key}.min.{c} must be greater than {a.key}.min.{c} (grades lowest first)"
                    )
        keys = [g.key for g in self.grades]
        if len(set(keys)) != len(keys):
            raise ValueError("grades: keys must be unique")
        levels = [r.level for r in self.response_levels]
        if len(set(levels)) != len(levels):
            raise ValueError("response_levels: levels must be unique")
        for g in self.grades:
            if g.response_level not in levels:
                why = f"grades: {g.key}.response_level {g.response_level} is not in response_levels"
                raise ValueError(why)
        return self

    def grade(self, key: str) -> GradeSpec:
        """The grade with ``key``; raises ValueError naming the known keys."""
        for g in self.grades:
            if g.key == key:
                return g
        raise ValueError(f'unknown grade "{key}"; known: {", ".join(x.key for x in self.grades)}')

    def level(self, level: int) -> ResponseLevel:
        """The response level ``level`` (1-4); raises ValueError for one not in the table."""
        for r in self.response_levels:
            if r.level == level:
                return r
        known = ", ".join(str(r.level) for r in self.response_levels)
        raise ValueError(f"unknown response level {level}; known: {known}")


def load_grading_policy(path: str | Path | None = None) -> GradingPolicy:
    """Load and check a grading table (default: the shipped ``data/grading.yaml``). Raises PolicyError
    (a ValueError) naming the file, the key and the reason."""
    p = Path(path) if path is not None else GRADING_FILE
    return load_policy_file(GradingPolicy, p)


@lru_cache(maxsize=1)
def default_grading_policy() -> GradingPolicy:
    """The shipped ``data/grading.yaml``, loaded once."""
    return load_grading_policy()


@dataclass(frozen=True)
class Grading:
    """A fire's grade: its key and name, the proposed response level, and the reasons (one sentence per
    criterion that reaches the grade, in Chinese; empty for the floor grade reached by area alone)."""

    key: str
    name: str
    response_level: int
    reasons: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "response_level": self.response_level,
            "reasons": list(self.reasons),
        }


def _count(name: str, v: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise ValueError(f"{name} must be a whole number >= 0, got {v!r}")
    return v


def fire_grade(
    area_ha: float, deaths: int = 0, serious_injuries: int = 0, policy: GradingPolicy | None = None
) -> Grading:
    """The grade of a forest fire (森林火灾等级).

    area_ha: damaged forest area (受害森林面积), hectares, finite and >= 0. deaths: persons killed, whole
    number >= 0. serious_injuries: persons seriously injured (重伤), whole number >= 0. policy: the
    grading table (default ``data/grading.yaml``).

    Each grade's bounds are lower bounds, inclusive; the fire takes the highest grade any criterion
    reaches (area ≥ 1 ha → 较大, deaths ≥ 3 → 较大, …), at least the lowest grade. Returns a
    :class:`Grading` with the grade's default response level. Raises ValueError for a negative, NaN or
    infinite area or a negative or non-integer count.

    Source: 《森林防火条例》 (国务院令第541号, 2008) 第四十条 ("以上"包括本数，"以下"不包括本数).
    Example: 1.0 ha, nobody hurt → 较大森林火灾 (the 1 ha bound is inclusive); 0.99 ha and 2 deaths
    → 一般森林火灾.
    """
    pol = policy or default_grading_policy()
    if isinstance(area_ha, bool) or not isinstance(area_ha, (int, float)) or not math.isfinite(area_ha):
        raise ValueError(f"area_ha must be a finite number of hectares >= 0, got {area_ha!r}")
    if area_ha < 0:
        raise ValueError(f"area_ha must be >= 0 ha, got {area_ha}")
    values: dict[str, float] = {
        "area_ha": float(area_ha),
        "deaths": _count("deaths", deaths),
        "serious_injuries": _count("serious_injuries", serious_injuries),
    }
    best = 0
    for i, g in enumerate(pol.grades):
        if i and any(values[c] >= getattr(g.min, c) for c in CRITERIA):
            best = i
    g = pol.grades[best]
    reasons: list[str] = []
    if best:
        for c in CRITERIA:
            bound = getattr(g.min, c)
            if values[c] >= bound:
                shown = f"{values[c]:g}" if c == "area_ha" else str(int(values[c]))
                unit = CRITERION_UNIT[c]
                reasons.append(f"{CRITERION_ZH[c]} {shown} {unit} ≥ {bound:g} {unit}")
    return Grading(g.key, g.name, g.response_level, tuple(reasons))


def level_numeral(level: int) -> str:
    """Roman numeral of a response level as Chinese documents write it: 1 → Ⅰ … 4 → Ⅳ."""
    numerals = {1: "Ⅰ", 2: "Ⅱ", 3: "Ⅲ", 4: "Ⅳ"}
    if level not in numerals:
        raise ValueError(f"response level must be 1-4, got {level!r}")
    return numerals[level]
