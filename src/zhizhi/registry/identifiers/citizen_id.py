"""Citizen identity numbers (公民身份号码, GB 11643-1999) and the pre-1999 15-digit numbers."""

from __future__ import annotations

import re
from datetime import date
from operator import mul

from zhizhi.core import time as ztime
from zhizhi.registry.identifiers import tables
from zhizhi.registry.identifiers.common import IdentifierResult, mask_citizen_id, prepare

KIND = "citizen-id"
WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
"""W_i = 2^(18-i) mod 11 for positions i = 1..17: 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2 (GB 11643 §4.5)."""
CHECK_CHARS = "10X98765432"
"""The check character for S mod 11 = 0..10 (ISO 7064 MOD 11-2: (12 - S mod 11) mod 11, 10 → X)."""
EARLIEST_BIRTH = date(1890, 1, 1)
"""Birth dates before this are refused as implausible for a living register."""
LAST_15_DIGIT_YEAR = 1999
"""15-digit numbers (GB 11643-1989) were assigned until the 18-digit ones came in (1999-10-01): their
region code must have existed by then."""

_17 = re.compile(r"[0-9]{17}")
_18 = re.compile(r"[0-9]{17}[0-9X]")
_15 = re.compile(r"[0-9]{15}")


def check_char(body17: str) -> str:
    """The GB 11643 check character of the first 17 digits.

    body17: 17 ASCII digits. Returns one of ``0-9`` or ``X``.
    Raises ValueError if body17 is not 17 digits.
    Source: GB 11643-1999 §4.5 and Annex B; ISO 7064:1983 MOD 11-2.
    """
    if not _17.fullmatch(body17):
        raise ValueError("the body of a citizen ID is 17 digits")
    return CHECK_CHARS[sum(map(mul, map(int, body17), WEIGHTS)) % 11]


def upgrade_15(number15: str) -> str:
    """The 18-digit number of a 15-digit one (GB 11643-1989): century ``19`` inserted before the
    2-digit year and the check character appended. number15: 15 ASCII digits. Raises ValueError
    otherwise."""
    if not _15.fullmatch(number15):
        raise ValueError("a 15-digit citizen ID is 15 digits")
    body = number15[:6] + "19" + number15[6:]
    return body + check_char(body)


def _region_findings(code: str, legacy: bool, result: IdentifierResult) -> None:
    reg = tables.region(code)
    result.facts["region_code"] = code
    if reg is None:
        result.errors.append(f"region code {code} is in no edition of GB/T 2260 (地址码不存在)")
        return
    result.facts["region_name"] = reg.name
    result.facts["region_status"] = reg.status
    if reg.status == "retired":
        when = f"last listed in {reg.last_year}" if reg.last_year else "no longer listed"
        result.warnings.append(f"region code {code} ({reg.name}) is retired: {when} (历史行政区划代码)")
    elif reg.status == "grouping":
        result.warnings.append(f"region code {code} ({reg.name}) is a grouping code, not a county (汇总码)")
    elif reg.status == "statistical":
        result.warnings.append(
            f"region code {code} ({reg.name}) is an NBS statistical area, not a GB/T 2260 division"
        )
    elif code.endswith("00"):  # a current province or prefecture (a county never ends in 00)
        result.warnings.append(f"region code {code} ({reg.name}) is a {reg.level} code, not a county")
    if legacy and not reg.existed_by(LAST_15_DIGIT_YEAR):
        result.errors.append(
            f"region code {code} ({reg.name}) did not exist before 2000, when 15-digit numbers were "
            "last assigned (一代身份证号码不可能使用该地址码)"
        )


def validate_citizen_id(
    value: object, *, today: date | None = None, earliest: date = EARLIEST_BIRTH
) -> IdentifierResult:
    """Validate a citizen identity number (公民身份号码).

    value: the field as read (text; numbers are refused: "stored as a number, last digits lost").
    today: the date births may not follow (default: today in Beijing time); earliest: births before
    it are refused (default 1890-01-01).
    Returns an :class:`IdentifierResult`: normalized is the 18-character number (a 15-digit number
    is converted, with a warning; a lower-case ``x`` becomes ``X``); facts: ``birth_date`` (ISO),
    ``sex`` (male: 17th digit odd, female: even), ``region_code``, ``region_name``, ``region_status``,
    ``masked``, and ``legacy_15`` for converted numbers.
    Errors: wrong length or characters, check character, a birth date that does not exist, lies in
    the future or before ``earliest``, a region code in no edition of GB/T 2260 (a retired one is a
    warning), a 15-digit number whose region code was created after 1999. Never raises.
    Source: GB 11643-1999 §4 (structure, check character, Annex A examples); GB 11643-1989 (15 digits);
    GB/T 2260 editions 1980-2020 and NBS 2023 (registry/data/gbt2260_codes.csv).
    """
    result = IdentifierResult(KIND)
    text, result.errors, result.warnings = prepare(value)
    if text is None:
        return result
    s = text.upper()
    legacy = len(s) == 15
    if legacy:
        if not _15.fullmatch(s):
            result.errors.append(f"a 15-digit citizen ID has digits only: found {_first_bad(s, 15)}")
            return result
        s = upgrade_15(s)
        result.warnings.append(
            "15-digit number (GB 11643-1989) converted to 18 digits (一代身份证号码已升位)"
        )
        result.facts["legacy_15"] = True
    elif len(s) != 18:
        result.errors.append(
            f"wrong length: {len(s)} characters; a citizen ID has 18 (or 15 before 1999) (位数错误)"
        )
        return result
    elif not _18.fullmatch(s):
        result.errors.append(
            f"a citizen ID is 17 digits and a digit or X: found {_first_bad(s, 18)} (含非法字符)"
        )
        return result
    expected = check_char(s[:17])
    if not legacy and s[17] != expected:
        result.errors.append(f"check character is {s[17]}, expected {expected} (校验码错误)")
    _birth_findings(s[6:14], today, earliest, result)
    _region_findings(s[:6], legacy, result)
    result.facts["sex"] = "male" if int(s[16]) % 2 else "female"
    result.facts["masked"] = mask_citizen_id(s)
    if not result.errors:
        result.normalized = s
    return result


def _first_bad(s: str, length: int) -> str:
    for i, ch in enumerate(s, start=1):
        ok = ch.isascii() and (ch.isdigit() or (ch == "X" and i == length == 18))
        if not ok:
            return f'"{ch}" at position {i}'
    return "nothing"  # pragma: no cover - called only on a mismatch


def plausible_birth_date(
    yyyymmdd: str, today: date | None = None, earliest: date = EARLIEST_BIRTH
) -> date | None:
    """The birth date coded as ``YYYYMMDD`` when it exists and lies between ``earliest`` and
    ``today`` (default: today in Beijing time), else None. Never raises."""
    probe = IdentifierResult(KIND)
    if re.fullmatch(r"[0-9]{8}", yyyymmdd):
        _birth_findings(yyyymmdd, today, earliest, probe)
    born = probe.facts.get("birth_date")
    return date.fromisoformat(born) if born and not probe.errors else None


def _birth_findings(yyyymmdd: str, today: date | None, earliest: date, result: IdentifierResult) -> None:
    y, m, d = int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:])
    shown = f"{y:04d}-{m:02d}-{d:02d}"
    try:
        born = date(y, m, d)
    except ValueError:
        result.errors.append(f"birth date {shown} does not exist (出生日期不存在)")
        return
    result.facts["birth_date"] = born.isoformat()
    today = today or ztime.to_local(ztime.utcnow()).date()
    if born > today:
        result.errors.append(f"birth date {shown} is in the future (出生日期晚于今天)")
    elif born < earliest:
        result.errors.append(
            f"birth date {shown} is before {earliest.isoformat()}: implausible (出生日期过早)"
        )
