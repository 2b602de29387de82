"""Code tables (代码表): ethnicity, house use and structure, household kind, relations to the head,
GB/T 4754 industry codes; parsing a code or its label."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml


def _load_yaml(name: str) -> Any:
    text = resources.files("zhizhi.registry").joinpath(f"data/{name}").read_text("utf-8")
    return yaml.safe_load(text)


def _code_table(raw: Any, where: str) -> dict[str, str]:
    if not isinstance(raw, dict) or not raw:
        raise ValueError(f"{where}: needs a mapping of code → label")
    out: dict[str, str] = {}
    for k, v in raw.items():
        if not isinstance(k, str) or not isinstance(v, str) or not v.strip():
            raise ValueError(f"{where}.{k}: codes are quoted strings with a zh-CN label")
        out[k] = v
    return out


@dataclass(frozen=True)
class Codes:
    """The code tables of ``data/codes.yaml`` (ethnicity GB 3304, house use and structure GB/T 17986.1,
    household kind) and the GB/T 4754-2017 sections with their division ranges."""

    ethnicity: dict[str, str]
    house_use: dict[str, str]
    house_structure: dict[str, str]
    household_kind: dict[str, str]
    industry_sections: dict[str, tuple[str, int, int]]


@cache
def codes() -> Codes:
    """The packaged code tables (read and checked once). Raises ValueError naming the bad key."""
    raw = _load_yaml("codes.yaml")
    sections: dict[str, tuple[str, int, int]] = {}
    for letter, spec in raw["industry_sections"].items():
        lo, hi = spec["divisions"]
        sections[str(letter)] = (str(spec["name"]), int(lo), int(hi))
    return Codes(
        ethnicity=_code_table(raw.get("ethnicity"), "codes.yaml: ethnicity"),
        house_use=_code_table(raw.get("house_use"), "codes.yaml: house_use"),
        house_structure=_code_table(raw.get("house_structure"), "codes.yaml: house_structure"),
        household_kind=_code_table(raw.get("household_kind"), "codes.yaml: household_kind"),
        industry_sections=sections,
    )


@cache
def relations() -> dict[str, str]:
    """GB/T 4761-2008 relation-to-head codes (家庭关系代码) → zh-CN label, from ``data/relations.yaml``."""
    return _code_table(_load_yaml("relations.yaml").get("relations"), "relations.yaml: relations")


def parse_code(value: object, table: Mapping[str, str], what: str) -> str:
    """The code of ``value`` in ``table``: the code itself (an integer is zero-padded to the table's
    code width, ``1`` → ``"01"``) or its exact zh-CN label (``汉族`` → ``"01"``).
    Raises ValueError saying what was expected."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{what}: expected a code or label")
    width = max(len(c) for c in table)
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        value = str(int(value)).zfill(width)
    if not isinstance(value, str):
        raise ValueError(f"{what}: expected a code or label, got {type(value).__name__}")
    s = value.strip()
    if s.isdigit() and len(s) < width:
        s = s.zfill(width)
    if s in table:
        return s
    for code, label in table.items():
        if s == label:
            return code
    raise ValueError(f'{what}: "{s[:40]}" is not a known code or label')


def parse_industry(value: object) -> str:
    """A GB/T 4754-2017 industry code (行业代码) as ``letter + 0/2/3/4 digits`` (``C3011``). Digits alone
    (``3011``) get their section letter; a letter that does not match the digits is refused.
    Raises ValueError with the reason."""
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise ValueError("industry: expected a GB/T 4754 code such as C3011")
    s = str(value).strip().upper()
    m = re.fullmatch(r"([A-T])?(\d{2}|\d{3}|\d{4})?", s)
    if not s or m is None:
        raise ValueError(f'industry: "{s[:20]}" is not a GB/T 4754 code (letter and 2-4 digits)')
    letter, digits = m.group(1), m.group(2)
    sections = codes().industry_sections
    if digits is None:
        return str(letter)
    division = int(digits[:2])
    found = next((k for k, (_, lo, hi) in sections.items() if lo <= division <= hi), None)
    if found is None:
        raise ValueError(f"industry: division {digits[:2]} is in no GB/T 4754-2017 section")
    if letter and letter != found:
        raise ValueError(f"industry: division {digits[:2]} belongs to section {found}, not {letter}")
    return found + digits
