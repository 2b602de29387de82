"""Find unmasked citizen IDs and mobile numbers in free text (exports, logs) to catch leaks."""

from __future__ import annotations

import re
from dataclasses import dataclass

from zhizhi.core.access import mask_phone
from zhizhi.registry.identifiers import tables
from zhizhi.registry.identifiers.citizen_id import check_char, plausible_birth_date, validate_citizen_id
from zhizhi.registry.identifiers.common import mask_citizen_id

# full-width digits and Latin letters folded one for one, so positions stay those of the input
_FOLD = {0xFF10 + i: ord("0") + i for i in range(10)} | {0xFF38: ord("X"), 0xFF58: ord("x")}
_ID = re.compile(r"(?<![0-9A-Za-z])([0-9]{17}[0-9Xx]|[0-9]{15})(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<![0-9+])(?:(?:\+|00)?86[- ]?)?(1[3-9][0-9](?:[- ]?[0-9]{4}){2})(?![0-9])")


@dataclass(frozen=True)
class FoundIdentifier:
    """One identifier found in text: ``kind`` citizen-id | phone; ``start``/``end`` its span in the
    text (Python slice); ``value`` the normalized identifier; ``masked`` the form that may be shown."""

    kind: str
    start: int
    end: int
    value: str
    masked: str


def find_identifiers(text: str) -> list[FoundIdentifier]:
    """Unmasked citizen IDs and mobile numbers in ``text``, in order of position.

    A citizen ID counts when its check character is right and its birth date real and plausible
    (18 digits), or — 15 digits, no check character — when its birth date is real and its region
    code existed before 2000. A mobile number counts when its segment is allocated (with optional
    +86 and hyphens or spaces in the 3-4-4 places). Digit runs glued to other digits or letters are
    not split. Masked values (``500118********123X``, ``138****5678``) are not matches.
    text: any string (full-width digits are recognised); returns a list (empty when clean).
    Never raises.
    """
    if not isinstance(text, str):
        return []
    folded = text.translate(_FOLD)
    found = []
    for m in _ID.finditer(folded):
        s = m.group(1).upper()
        if len(s) == 18:
            leaked = check_char(s[:17]) == s[17] and plausible_birth_date(s[6:14]) is not None
            value = s
        else:
            r = validate_citizen_id(s)
            leaked, value = r.valid, r.normalized or s
        if leaked:
            found.append(FoundIdentifier("citizen-id", m.start(1), m.end(1), value, mask_citizen_id(value)))
    for m in _MOBILE.finditer(folded):
        number = re.sub(r"[- ]", "", m.group(1))
        if tables.segment(number) is not None:
            found.append(FoundIdentifier("phone", m.start(), m.end(), number, mask_phone(number) or ""))
    return sorted(found, key=lambda f: f.start)
