"""Statistical division codes (统计用区划代码, NBS): 12 digits = county (GB/T 2260, 6) + town (乡级, 3)
+ village (村级, 3); the 6- and 9-digit prefixes name a county and a town."""

from __future__ import annotations

import re

from zhizhi.registry.identifiers import tables
from zhizhi.registry.identifiers.common import IdentifierResult, prepare

KIND = "division"
TOWN_TYPES = ((1, 99, "街道"), (100, 199, "镇"), (200, 399, "乡"), (400, 599, "政企合一等类似乡级单位"))
"""Town part ranges (GB/T 10114 县以下行政区划代码编制规则, as used in the NBS lists)."""
VILLAGE_TYPES = (
    (1, 199, "居民委员会"),
    (200, 399, "村民委员会"),
    (400, 499, "类似居委会"),
    (500, 599, "类似村委会"),
)
"""Village part ranges (NBS 统计用区划代码编制规则)."""


def _type(part: str, ranges: tuple[tuple[int, int, str], ...]) -> str | None:
    n = int(part)
    return next((name for lo, hi, name in ranges if lo <= n <= hi), None)


def _level(code: str) -> str:
    if code[6:] != "000000":
        return "village" if code[9:] != "000" else "town"
    reg_code = code[:6]
    if reg_code.endswith("0000"):
        return "province"
    return "prefecture" if reg_code.endswith("00") else "county"


def validate_division(value: object) -> IdentifierResult:
    """Validate a statistical division code (统计用区划代码).

    value: 6, 9 or 12 digits (a number cell is accepted with a warning when no digit was lost).
    Returns an :class:`IdentifierResult`: normalized is the 12-digit code (shorter ones padded with
    zeros, as the NBS lists and the org units do); facts: ``level`` (province | prefecture | county
    | town | village), ``region_code``/``region_name``/``region_status`` (the GB/T 2260 part),
    ``town_type``/``village_type``, and ``name`` for the districts the project ships (永川区 500118).
    Errors: wrong length or characters, a 6-digit part in no GB/T 2260 edition, a village part under
    no town, town or village parts outside their ranges, and — within a shipped district — a town
    or village that is not in its NBS 2023 list. A retired 6-digit part is a warning; so is a town
    or village of a district whose list is not shipped (its existence is not checked). Never raises.
    Source: NBS 统计用区划代码和城乡划分代码编制规则; GB/T 10114; GB/T 2260; NBS 2023 list for 500118.
    """
    result = IdentifierResult(KIND)
    text, result.errors, result.warnings = prepare(value, max_number_digits=12)
    if text is None:
        return result
    s = text
    if not re.fullmatch(r"[0-9]+", s) or len(s) not in (6, 9, 12):
        result.errors.append(
            f"a division code is 6, 9 or 12 digits: got {len(s)} characters (区划代码位数错误)"
        )
        return result
    code = s.ljust(12, "0")
    town, village = code[6:9], code[9:]
    level = _level(code)
    result.facts["level"] = level
    reg = tables.region(code[:6])
    result.facts["region_code"] = code[:6]
    if reg is None:
        result.errors.append(f"{code[:6]} is in no edition of GB/T 2260 (县级代码不存在)")
    else:
        result.facts["region_name"] = reg.name
        result.facts["region_status"] = reg.status
        if reg.status == "retired":
            when = f"last listed in {reg.last_year}" if reg.last_year else "no longer listed"
            result.warnings.append(f"{code[:6]} ({reg.name}) is retired: {when} (历史行政区划代码)")
    if town == "000" and village != "000":
        result.errors.append("a village part without a town part (村级代码缺乡级)")
        return result
    if town != "000":
        town_type = _type(town, TOWN_TYPES)
        if town_type is None:
            result.errors.append(f"town part {town} is outside 001-599 (乡级代码超出范围)")
        else:
            result.facts["town_type"] = town_type
        if reg is not None and reg.level != "county":
            result.errors.append(f"a town part under {code[:6]}, a {reg.level} code (乡级代码须在县级之下)")
    if village != "000":
        village_type = _type(village, VILLAGE_TYPES)
        if village_type is None:
            result.errors.append(f"village part {village} is outside 001-599 (村级代码超出范围)")
        else:
            result.facts["village_type"] = village_type
    if level in ("town", "village"):
        _shipped(code, level, result)
    elif reg is not None:
        result.facts["name"] = reg.name
    if not result.errors:
        result.normalized = code
    return result


def _shipped(code: str, level: str, result: IdentifierResult) -> None:
    district = code[:6]
    if district not in tables.SHIPPED_DISTRICTS:
        result.warnings.append(
            f"towns and villages of {district} are not checked against a list (only "
            f"{', '.join(sorted(tables.SHIPPED_DISTRICTS))} is shipped)"
        )
        return
    found = tables.divisions().get(code)
    if found is None or found.level != level:
        result.errors.append(f"{code} is not a {level} of {district} in the NBS 2023 list (区划代码不存在)")
        return
    result.facts["name"] = found.name
    if level == "village":
        parent = tables.divisions().get(found.parent_code)
        if parent is not None:
            result.facts["town_name"] = parent.name
