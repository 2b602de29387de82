"""Telephone numbers: mainland mobile numbers (手机号码) and fixed lines (固定电话)."""

from __future__ import annotations

import re

from zhizhi.core.access import mask_phone
from zhizhi.registry.identifiers import tables
from zhizhi.registry.identifiers.common import IdentifierResult, prepare

KIND = "phone"
_SEPARATORS = re.compile(r"[-‐‑‒–—().·]")
_MANY = re.compile(r"[/,;，；、|]|或")
_LANDLINE = "fixed line (固定电话), not a mobile number"


def _strip_country(s: str) -> tuple[str, bool]:
    """``s`` without a +86 / 0086 / 86 prefix (and whether one was there). A bare ``86`` is taken as
    the country code only when 11 (mobile) or 10-11 (fixed line without its 0) digits follow."""
    for prefix in ("+86", "0086"):
        if s.startswith(prefix):
            return s[len(prefix) :], True
    if s.startswith("86") and (re.fullmatch(r"861\d{10}", s) or re.fullmatch(r"86[2-9]\d{9,10}", s)):
        return s[2:], True
    return s, False


def validate_phone(
    value: object, *, mobile_only: bool = False, default_area_code: str | None = None
) -> IdentifierResult:
    """Validate a telephone number.

    value: the field as read; separators (spaces, hyphens, dots, brackets) and a +86 / 0086 / 86
    country prefix are removed; a number typed into a number cell is accepted with a warning.
    mobile_only: refuse fixed lines (a "手机号" field); default_area_code: e.g. ``"023"``, put in
    front of a 7-8 digit local number.
    Returns an :class:`IdentifierResult`. A mobile number is normalized to its 11 digits and must
    start with a segment MIIT has allocated (facts ``line_type`` "mobile", ``operator`` — the
    segment's original operator: numbers can be ported —, ``segment_kind`` mobile | resale |
    satellite, ``masked``). A fixed line is recognised as ``line_type`` "landline", normalized to
    ``0AA-LLLLLLLL`` (area code with its 0, hyphen, 7-8 digit local number) and is valid with a
    warning (an error with ``mobile_only``); 400/800 service numbers likewise ("service"). Errors:
    two numbers in one field, other characters, wrong lengths, an unallocated mobile segment.
    Never raises.
    Source: MIIT 我国公众移动通信网网号及H0分配情况 (to 2023-03, registry/data/mobile_segments.csv);
    电信网编号计划 (2017年版) for fixed-line area codes (010, 02X: 8-digit local numbers; 0XXX: 7-8).
    """
    result = IdentifierResult(KIND)
    text, result.errors, result.warnings = prepare(value, max_number_digits=13)
    if text is None:
        return result
    parts = [p for p in _MANY.split(text) if sum(c.isdigit() for c in p) >= 7]
    if len(parts) > 1:
        result.errors.append(f"{len(parts)} numbers in one field: keep one number per field (一栏多个号码)")
        return result
    s = _SEPARATORS.sub("", text)
    s, international = _strip_country(s)
    if not s:
        result.errors.append("no digits: not a phone number (不是电话号码)")
        return result
    if not re.fullmatch(r"[0-9]+", s):
        bad = next(c for c in s if not ("0" <= c <= "9"))
        result.errors.append(f'"{bad}" is not part of a phone number (含非法字符)')
        return result
    if international and s[0] != "1" and s[0] != "0":
        s = "0" + s  # +86 23 4985 1234: the area code loses its 0 abroad
    if len(s) == 12 and s.startswith("01") and tables.segment(s[1:]) is not None:
        s = s[1:]
        result.warnings.append("leading 0 (long-distance prefix) removed from a mobile number")
    if s.startswith("1"):
        _mobile(s, result)
    elif s.startswith(("400", "800")) and len(s) == 10:
        result.facts["line_type"] = "service"
        result.warnings.append("national service number (400/800 客服号码), not a personal number")
        if mobile_only:
            result.errors.append("a 400/800 service number, not a mobile number (不是手机号码)")
        result.normalized = f"{s[:3]}-{s[3:6]}-{s[6:]}" if not result.errors else None
    elif s.startswith("0"):
        _landline(s, result, mobile_only)
    elif len(s) in (7, 8) and s[0] in "23456789":
        result.facts["line_type"] = "landline"
        if mobile_only:
            result.errors.append(
                f"a {len(s)}-digit local fixed-line number, not a mobile number (不是手机号码)"
            )
        elif default_area_code and re.fullmatch(r"0[1-9]\d{1,2}", default_area_code):
            s = f"{default_area_code}-{s}"
            result.warnings.append(f"{_LANDLINE}; area code {default_area_code} assumed (区号)")
        else:
            result.warnings.append(f"{_LANDLINE}; no area code (缺区号)")
        if not result.errors:
            result.normalized = s
    else:
        result.errors.append(f"not a phone number: {len(s)} digits starting with {s[0]} (不是电话号码)")
    return result


def _mobile(s: str, result: IdentifierResult) -> None:
    result.facts["line_type"] = "mobile"
    if len(s) != 11:
        result.errors.append(f"a mobile number has 11 digits, this one {len(s)} (手机号码位数错误)")
        return
    seg = tables.segment(s)
    if seg is None:
        result.errors.append(f"segment {s[:3]} is not allocated to a mobile network (号段未分配)")
        return
    result.facts["operator"] = seg.operator
    result.facts["segment_kind"] = seg.kind
    result.facts["masked"] = mask_phone(s)
    if seg.kind == "satellite":
        result.warnings.append("satellite phone number (卫星电话)")
    result.normalized = s


def _landline(s: str, result: IdentifierResult, mobile_only: bool) -> None:
    result.facts["line_type"] = "landline"
    if s.startswith("00"):
        result.errors.append("an international number (00…) other than +86 (非大陆号码)")
        return
    if not 10 <= len(s) <= 12:
        result.errors.append(
            f"a fixed-line number with its area code has 10-12 digits, this one {len(s)} (号码位数错误)"
        )
        return
    area_len = 3 if s[1] in "12" else 4
    area, local = s[:area_len], s[area_len:]
    wanted = (8,) if area_len == 3 else (7, 8)
    if len(local) not in wanted or local[0] in "01":
        sizes = " or ".join(map(str, wanted))
        result.errors.append(
            f"after area code {area} a local number has {sizes} digits not starting with 0 or 1 "
            "(号码位数错误)"
        )
        return
    result.facts["area_code"] = area
    if mobile_only:
        result.errors.append("a fixed-line number, not a mobile number (不是手机号码)")
        return
    result.warnings.append(_LANDLINE)
    result.normalized = f"{area}-{local}"
    result.facts["masked"] = mask_phone(result.normalized)
