"""Identifier validators (证照代码校验) of the registers: pure functions over text, no database.

Kinds: ``citizen-id`` (公民身份号码, GB 11643), ``uscc`` (统一社会信用代码, GB 32100), ``org-code``
(组织机构代码, GB 11714), ``phone`` (手机/固定电话) and ``division`` (统计用区划代码, NBS). Each
validator takes the raw field (any value), never raises, and returns an :class:`IdentifierResult`
with the normalized value, errors, warnings and parsed facts. :func:`validate` dispatches on a kind
or guesses it (:func:`guess_kind`); :func:`find_identifiers` scans free text for leaks.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable

from zhizhi.registry.identifiers import tables
from zhizhi.registry.identifiers.citizen_id import check_char, upgrade_15, validate_citizen_id
from zhizhi.registry.identifiers.common import (
    NUMBER_LOST,
    IdentifierResult,
    clean_identifier,
    mask_citizen_id,
    prepare,
)
from zhizhi.registry.identifiers.credit_code import (
    org_check_char,
    uscc_check_char,
    validate_org_code,
    validate_uscc,
)
from zhizhi.registry.identifiers.division import validate_division
from zhizhi.registry.identifiers.phone import validate_phone
from zhizhi.registry.identifiers.scan import FoundIdentifier, find_identifiers

__all__ = [
    "KINDS",
    "NUMBER_LOST",
    "FoundIdentifier",
    "IdentifierResult",
    "check_char",
    "clean_identifier",
    "find_identifiers",
    "guess_kind",
    "mask_citizen_id",
    "org_check_char",
    "upgrade_15",
    "uscc_check_char",
    "validate",
    "validate_citizen_id",
    "validate_division",
    "validate_org_code",
    "validate_phone",
    "validate_uscc",
]

VALIDATORS: dict[str, Callable[[object], IdentifierResult]] = {
    "citizen-id": validate_citizen_id,
    "uscc": validate_uscc,
    "org-code": validate_org_code,
    "phone": validate_phone,
    "division": validate_division,
}
KINDS = tuple(VALIDATORS)
"""The identifier kinds, as named in the CLI (``--kind``) and the API (``kind``)."""
UNKNOWN_KIND = "cannot tell which kind of identifier this is (无法判断类型): name the kind"

_PHONE_CHARS = re.compile(r"\+?[0-9()\-‐‑‒–—.·]+")


def _guess_digits(n_digits: int, first: str) -> str | None:
    """The kind of a value that is only a number of ``n_digits`` digits starting with ``first``."""
    if n_digits >= 15:
        return "citizen-id"
    if n_digits == 11 and first == "1":
        return "phone"
    if n_digits in (6, 12):
        return "division"
    return None


def guess_kind(value: object) -> str | None:
    """Which kind of identifier ``value`` most likely is, or None.

    Rules, in order, on the cleaned text (:func:`clean_identifier`, upper-cased): a number or a
    number's rendering (``4.40524E+17``) goes by its digit count (15+ → citizen-id, which then
    refuses it); 15 digits, or 17 digits and a digit/X → citizen-id (an 18-character value that
    fails the citizen-ID check but passes the credit-code one → uscc); other 18 characters of the
    credit-code alphabet → uscc; 8 characters, hyphen and check → org-code; a +86 prefix, 11 digits
    starting with 1, 10-12 digits starting with 0, 400/800 numbers and 7-8 digit local numbers
    → phone; 6 or 12 digits → division; 9 digits → division when the first 6 are a GB/T 2260 code
    and the last 3 fail as an organisation code's check, else org-code.
    value: any; returns one of :data:`KINDS` or None. Never raises.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, numbers.Number):
        try:
            digits = str(abs(int(value)))  # type: ignore[call-overload]
        except (TypeError, ValueError, OverflowError):  # NaN, infinity, complex
            return None
        return _guess_digits(len(digits), digits[0])
    if not isinstance(value, str) or len(value) > 1024:
        return None
    s = clean_identifier(value).upper()
    if not s:
        return None
    m = re.fullmatch(r"[+-]?(\d+)(?:\.(\d*))?E\+?(\d+)", s)
    if m:  # Excel's scientific notation: digits = integer digits + exponent
        return _guess_digits(len(m.group(1)) + int(m.group(3)), m.group(1)[0])
    if re.fullmatch(r"\d{1,3}(?:,\d{3}){2,}|\d+\.0+", s):
        digits = re.sub(r"\D", "", s.split(".")[0])
        return _guess_digits(len(digits), digits[0])
    if re.fullmatch(r"[0-9]{15}", s):
        return "citizen-id"
    if len(s) == 18:
        if re.fullmatch(r"[0-9]{17}[0-9X]", s):
            if not validate_citizen_id(s).valid and validate_uscc(s).valid:
                return "uscc"
            return "citizen-id"
        return "uscc" if all(c.isascii() and c.isalnum() for c in s) else None
    if re.fullmatch(r"[0-9A-Z]{8}[-‐‑‒–—][0-9X]", s) or (
        re.fullmatch(r"[0-9A-Z]{8}[0-9X]", s) and not s.isdigit()
    ):
        return "org-code"
    if _PHONE_CHARS.fullmatch(s):
        digits = re.sub(r"\D", "", s)
        if s.startswith(("+86", "0086", "(86)", "(+86)")):
            return "phone"
        if len(digits) == 11 and digits[0] == "1":
            return "phone"
        if digits[:1] == "0" and 10 <= len(digits) <= 12:
            return "phone"
        if len(digits) == 10 and digits.startswith(("400", "800")):
            return "phone"
        if len(digits) in (7, 8) and digits == s:
            return "phone"
        if digits == s and len(s) in (6, 12):
            return "division"
        if digits == s and len(s) == 9:
            known = tables.region(s[:6]) is not None
            return "division" if known and org_check_char(s[:8]) != s[8] else "org-code"
        if len(digits) in (7, 8, 11):
            return "phone"
    return None


def validate(value: object, kind: str | None = None) -> IdentifierResult:
    """Validate ``value`` as ``kind`` (one of :data:`KINDS`), or as the kind :func:`guess_kind` finds
    (then ``guessed`` is True; when nothing fits, the result has kind None and one error).
    Raises ValueError for a kind that is not one of :data:`KINDS` (a programming error, not bad
    text); never raises on the value.
    """
    if kind is not None and kind not in VALIDATORS:
        raise ValueError(f'unknown identifier kind "{kind}": use one of {", ".join(KINDS)}')
    guessed = kind is None
    kind = kind or guess_kind(value)
    if kind is None:
        _, errors, _ = prepare(value, max_number_digits=15)
        return IdentifierResult(None, errors=errors or [UNKNOWN_KIND], guessed=True)
    result = VALIDATORS[kind](value)
    result.guessed = guessed
    return result
