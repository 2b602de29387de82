"""What every identifier validator shares: the result, text cleaning and the refusal of numbers.

Cleaning applies to identifier fields only (证件号码、代码、电话): width folding (全角→半角, Unicode NFKC)
and removal of invisible characters and whitespace. Names and addresses must not go through it.
"""

from __future__ import annotations

import math
import numbers
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

MAX_RAW_CHARS = 1024
"""A raw field longer than this is refused before any work is done on it."""
MAX_CLEAN_CHARS = 64
"""No identifier handled here is longer than this once cleaned (an 18-character code with a
country prefix and separators is well under it)."""

NUMBER_LOST = (
    "stored as a number, last digits lost (以数字存储，末几位已丢失): "
    "format the column as text and enter the value again"
)
"""The refusal of an identifier that went through a spreadsheet number: Excel keeps 15 significant
digits, so an 18-digit ID shown as ``4.40524E+17`` or ``440524188001010000`` has lost its end."""
EMPTY = "empty (空值)"
STORED_AS_NUMBER = "stored as a number (以数字存储): keep the column as text so leading zeros are not lost"

# categories removed by clean_identifier: format characters (zero-width space/joiners, LRM/RLM,
# word joiner, BOM, soft hyphen, bidi controls), control characters, and every kind of space
_DROP_CATEGORIES = frozenset({"Cf", "Cc", "Zs", "Zl", "Zp"})
_ASCII_DROP = dict.fromkeys([*range(0x21), 0x7F])  # ASCII controls and space
_SCIENTIFIC = re.compile(r"[+-]?\d+(?:\.\d*)?E[+-]?\d+", re.IGNORECASE)
_DECIMAL_ZERO = re.compile(r"(\d+)\.0+")
_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3}){2,}")


@dataclass
class IdentifierResult:
    """The outcome of one validation.

    ``kind``: citizen-id | uscc | org-code | phone | division, or None when it could not be told;
    ``normalized``: the value to store, set only when valid; ``errors`` make the value invalid,
    ``warnings`` do not; ``facts``: what the value says (birth date, sex, region, operator …), filled
    as far as the value could be parsed, even when it is invalid; ``guessed``: the kind was guessed.
    """

    kind: str | None
    normalized: str | None = None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    guessed: bool = False

    @property
    def valid(self) -> bool:
        """True when there is no error (warnings allowed) and a normalized value."""
        return not self.errors and self.normalized is not None

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of the CLI and the API: valid, normalized, errors, warnings, kind, guessed,
        then the facts."""
        return {
            "valid": self.valid,
            "normalized": self.normalized if self.valid else None,
            "errors": list(self.errors),
            "warnings": list(self.warnings),
            "kind": self.kind,
            "guessed": self.guessed,
            **self.facts,
        }


def clean_identifier(text: object) -> str:
    """Identifier text as a machine reads it: full-width characters folded to half-width (NFKC, e.g.
    ``１１０１０５`` → ``110105``, ``Ｘ`` → ``X``), invisible characters removed (zero-width space and
    joiners U+200B–U+200F, word joiner U+2060, BOM U+FEFF, soft hyphen, bidi controls, control
    characters) and every space removed (ASCII, NBSP, ideographic space U+3000, line breaks), then
    a leading apostrophe (Excel's "store as text" marker) dropped. Case is kept.

    text: any value; None gives "", anything else that is not a str is converted with ``str()``.
    Returns the cleaned string (possibly empty). Never raises.
    Source: Unicode Standard Annex #15 (NFKC); general categories Cf, Cc, Zs, Zl, Zp (UAX #44).
    """
    if text is None:
        return ""
    s = text if isinstance(text, str) else str(text)
    if s.isascii():  # the common case: NFKC changes no ASCII character
        if not s.isalnum():
            s = s.translate(_ASCII_DROP)
    else:
        s = unicodedata.normalize("NFKC", s)
        s = "".join(ch for ch in s if unicodedata.category(ch) not in _DROP_CATEGORIES)
    return s[1:] if s.startswith("'") else s


def _number_text(value: numbers.Number, max_digits: int) -> str | None:
    """An integral number's digits when it has at most ``max_digits`` of them (and at most 15, the
    digits a spreadsheet keeps), else None."""
    if isinstance(value, numbers.Integral):
        n = int(value)
    elif isinstance(value, numbers.Real):
        try:
            f = float(value)
        except (OverflowError, ValueError):
            return None
        if not math.isfinite(f) or not f.is_integer():
            return None
        n = int(f)
    else:
        return None
    text = str(abs(n))
    return text if n >= 0 and len(text) <= min(max_digits, 15) else None


def _is_nan(value: numbers.Number) -> bool:
    if isinstance(value, numbers.Integral) or not isinstance(value, numbers.Real):
        return False
    try:
        return math.isnan(float(value))
    except (OverflowError, ValueError):
        return False


def prepare(value: object, max_number_digits: int = 0) -> tuple[str | None, list[str], list[str]]:
    """Turn a raw field into cleaned identifier text, or refuse it.

    value: the field as read (str, number, None, anything). max_number_digits: numbers with at most
    this many digits are accepted (with a warning), e.g. a phone number typed into a number cell;
    0 refuses every number (citizen IDs and credit codes).
    Returns ``(text, errors, warnings)``; text is None when refused (then errors says why).
    Refused: None/empty, a bool or other non-text value, numbers (:data:`NUMBER_LOST`), text that is
    a number's rendering (``4.40524E+17``, ``440524188001010000.0``, ``440,524,188,001,010,000``),
    text over :data:`MAX_RAW_CHARS` raw or :data:`MAX_CLEAN_CHARS` cleaned characters.
    """
    warnings: list[str] = []
    if value is None:
        return None, [EMPTY], warnings
    if isinstance(value, bool):
        return None, ["not text: a true/false value (不是文本)"], warnings
    if isinstance(value, numbers.Number):
        if _is_nan(value):
            return None, [EMPTY], warnings  # an empty spreadsheet cell read as NaN
        text = _number_text(value, max_number_digits) if max_number_digits else None
        if text is None:
            return None, [NUMBER_LOST], warnings
        return text, [], [STORED_AS_NUMBER]
    if not isinstance(value, str):
        return None, [f"not text: a {type(value).__name__} value (不是文本)"], warnings
    if len(value) > MAX_RAW_CHARS:
        return None, [f"too long for an identifier: {len(value)} characters (过长)"], warnings
    s = clean_identifier(value)
    if not s:
        return None, [EMPTY], warnings
    if len(s) > MAX_CLEAN_CHARS:
        return None, [f"too long for an identifier: {len(s)} characters (过长)"], warnings
    if not s.isalnum() or "E" in s or "e" in s:  # only then can it be a number's rendering
        return _number_rendering(s, max_number_digits)
    return s, [], warnings


def _number_rendering(s: str, max_number_digits: int) -> tuple[str | None, list[str], list[str]]:
    """:func:`prepare` for cleaned text that may be a number's rendering (``4.40524E+17``,
    ``440524188001010000.0``, ``440,524,188,001,010,000``)."""
    warnings: list[str] = []
    if _SCIENTIFIC.fullmatch(s) or _THOUSANDS.fullmatch(s):
        return None, [NUMBER_LOST], warnings
    m = _DECIMAL_ZERO.fullmatch(s)
    if m:
        digits = m.group(1)
        if len(digits) > min(max_number_digits, 15):
            return None, [NUMBER_LOST], warnings
        return digits, [], [STORED_AS_NUMBER]
    return s, [], warnings


def mask_citizen_id(value: str) -> str:
    """A citizen ID masked for lists and logs: the 6-digit region and the last 4 characters kept,
    ``500118********123X`` (18 digits) or ``500118*****1234`` (15 digits); any other text keeps
    only its last 2 characters. Source: issue 4 §6 (masking rule of the registers)."""
    if len(value) in (15, 18):
        return value[:6] + "*" * (len(value) - 10) + value[-4:]
    return "*" * max(0, len(value) - 2) + value[-2:]
