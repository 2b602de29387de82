"""Organisation identifiers: the unified social credit code (统一社会信用代码, GB 32100-2015) and the
organisation code (组织机构代码, GB 11714-1997) that makes up its characters 9-17."""

from __future__ import annotations

import re

from zhizhi.registry.identifiers import tables
from zhizhi.registry.identifiers.common import IdentifierResult, prepare

USCC = "uscc"
ORG_CODE = "org-code"

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
"""The 31 characters of GB 32100 (no I, O, S, V, Z), valued 0-30 (GB 32100 Table 1)."""
USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
"""W_i = 3^(i-1) mod 31: 1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28 (GB 32100 §4.5, Table 2)."""
ORG_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
"""GB 11714 code characters valued 0-35 (digits, then A=10 … Z=35; GB 11714 Annex A)."""
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
"""GB 11714 §2.1.2 weights of body characters 1-8."""
_LOOKALIKE = {"O": "0", "I": "1", "Z": "2", "S": "5", "V": "U"}
_HYPHENS = "-‐‑‒–—"


def uscc_check_char(body17: str) -> str:
    """The GB 32100 check character of the first 17 characters: C18 = 31 - MOD(Σ Ci×Wi, 31), 31 → 0.

    body17: 17 characters of :data:`USCC_ALPHABET`. Returns one character of that alphabet.
    Raises ValueError otherwise. Source: GB 32100-2015 §4.5 and its worked example (91350100M000100Y4→3).
    """
    if len(body17) != 17 or any(c not in USCC_ALPHABET for c in body17):
        raise ValueError("the body of a credit code is 17 characters of the GB 32100 alphabet")
    s = sum(USCC_ALPHABET.index(c) * w for c, w in zip(body17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - s % 31) % 31]


def org_check_char(body8: str) -> str:
    """The GB 11714 check character of an 8-character organisation code body: C9 = 11 - MOD(Σ Ci×Wi,
    11), 10 → X, 11 → 0.

    body8: 8 characters ``0-9A-Z``. Returns ``0-9`` or ``X``. Raises ValueError otherwise.
    Source: GB 11714-1997 §2.1.2 and Annex A.
    """
    if len(body8) != 8 or any(c not in ORG_ALPHABET for c in body8):
        raise ValueError("the body of an organisation code is 8 characters 0-9 or A-Z")
    c9 = 11 - sum(ORG_ALPHABET.index(c) * w for c, w in zip(body8, ORG_WEIGHTS, strict=True)) % 11
    return {10: "X", 11: "0"}.get(c9, str(c9))


def _org_findings(code9: str, result: IdentifierResult, embedded: bool) -> None:
    """Check a 9-character organisation code (body and check) into ``result``."""
    body, check = code9[:8], code9[8]
    result.facts["org_code"] = f"{body}-{check}"
    expected = org_check_char(body)
    if check != expected:
        where = "organisation code in characters 9-17" if embedded else "check character"
        result.errors.append(
            f"{where} {body}-{check} fails GB 11714: check character should be {expected} "
            "(组织机构代码校验码错误)"
        )
    if body.startswith("PDY"):
        result.warnings.append(
            "organisation code in the custom range PDY00001-PDY99999 (自定义区): for internal use only"
        )


def validate_uscc(value: object) -> IdentifierResult:
    """Validate a unified social credit code (统一社会信用代码).

    value: the field as read (text; numbers are refused). Lower case is accepted and upper-cased.
    Returns an :class:`IdentifierResult`: normalized is the 18-character code; facts:
    ``authority_code``/``authority`` (登记管理部门), ``org_type`` (机构类别), ``region_code``/
    ``region_name`` (登记管理机关行政区划码), ``org_code`` (the embedded GB 11714 code, ``XXXXXXXX-X``).
    Errors: wrong length, a character outside the 31-character alphabet (hinting at look-alikes such
    as O for 0), the check character, an unknown authority or organisation-type code, a region code
    in no GB/T 2260 edition, an embedded organisation code failing GB 11714. A region code retired
    before 2015, when credit codes began, is a warning. Never raises.
    Source: GB 32100-2015 §4 (structure, Tables 1-2, Annex A codes as amended: A 军队, N 农业, Y 其他);
    GB 11714-1997; GB/T 2260.
    """
    result = IdentifierResult(USCC)
    text, result.errors, result.warnings = prepare(value)
    if text is None:
        return result
    s = text.upper()
    if len(s) != 18:
        result.errors.append(f"wrong length: {len(s)} characters; a credit code has 18 (位数错误)")
        return result
    bad = [(i, c) for i, c in enumerate(s, start=1) if c not in USCC_ALPHABET]
    if bad:
        i, c = bad[0]
        hint = ""
        if all(ch in _LOOKALIKE for _, ch in bad):
            fixed = "".join(_LOOKALIKE.get(ch, ch) for ch in s)
            if uscc_check_char(fixed[:17]) == fixed[17]:
                hint = f"; with {_LOOKALIKE[c]} for {c} the code would be valid"
        result.errors.append(
            f'"{c}" at position {i} is not a credit-code character (0-9 and A-Y without I, O, S, V, Z){hint}'
        )
        return result
    expected = uscc_check_char(s[:17])
    if s[17] != expected:
        result.errors.append(f"check character is {s[17]}, expected {expected} (校验码错误)")
    categories = tables.uscc_categories()
    result.facts["authority_code"] = s[0]
    if s[0] not in categories:
        result.errors.append(
            f"registering authority code {s[0]} is not defined by GB 32100 (登记管理部门代码错误)"
        )
    else:
        authority, types = categories[s[0]]
        result.facts["authority"] = authority
        if s[1] not in types:
            result.errors.append(
                f"organisation type {s[1]} is not defined for authority {s[0]} ({authority}) "
                "(机构类别代码错误)"
            )
        else:
            result.facts["org_type"] = types[s[1]]
    _uscc_region(s[2:8], result)
    _org_findings(s[8:17], result, embedded=True)
    if not result.errors:
        result.normalized = s
    return result


def _uscc_region(code: str, result: IdentifierResult) -> None:
    result.facts["region_code"] = code
    if code == tables.NATIONAL:
        result.facts["region_name"] = "全国"
        return
    reg = tables.region(code)
    if reg is None:
        result.errors.append(f"region code {code} is in no edition of GB/T 2260 (行政区划码不存在)")
        return
    result.facts["region_name"] = reg.name
    if reg.status == "retired" and reg.last_year is not None and reg.last_year < 2015:
        result.warnings.append(
            f"region code {code} ({reg.name}) was last listed in {reg.last_year}, before credit codes "
            "began in 2015 (历史行政区划代码)"
        )


def validate_org_code(value: object) -> IdentifierResult:
    """Validate an organisation code (组织机构代码): 8 body characters and a check character, with or
    without the hyphen before the check (``00933811-2`` or ``009338112``).

    value: the field as read (text; an all-digit code typed into a number cell is accepted with a
    warning when no digit was lost). Returns an :class:`IdentifierResult`: normalized is the
    9-character machine form (no hyphen); facts: ``org_code`` (``XXXXXXXX-X``). Errors: wrong
    length or characters, the check character; an 18-character credit code is pointed at its
    embedded organisation code. Never raises.
    Source: GB 11714-1997 §2 (structure, weights 3 7 9 10 5 8 4 2, MOD 11, custom range PDY).
    """
    result = IdentifierResult(ORG_CODE)
    text, result.errors, result.warnings = prepare(value, max_number_digits=9)
    if text is None:
        return result
    s = text.upper()
    if len(s) == 10 and s[8] in _HYPHENS:
        s = s[:8] + s[9]
    if len(s) == 18 and validate_uscc(s).valid:
        result.errors.append(
            f"this is a unified social credit code; its organisation code is {s[8:16]}-{s[16]} "
            "(统一社会信用代码)"
        )
        return result
    if not re.fullmatch(r"[0-9A-Z]{8}[0-9X]", s):
        result.errors.append(
            f"an organisation code is 8 characters 0-9/A-Z and a check character 0-9/X, "
            f"optionally with a hyphen before it: got {len(s)} characters (格式错误)"
        )
        return result
    _org_findings(s, result, embedded=False)
    if not result.errors:
        result.normalized = s
    return result
