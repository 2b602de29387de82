"""Fast paths for the identifiers most rows carry, with exactly the validators' verdict.

A million-row import spends most of its checking time in registry.identifiers (about 9 µs per
citizen ID, 4 µs per mobile number). Most values are plain: 18 ASCII characters of a citizen ID,
11 ASCII digits of a mobile number. For those the validators' result depends on few things:

* citizen ID (GB 11643): the check character, the birth date (exists, not before 1890-01-01, not
  after today) and the 6-digit region code — whose findings (unknown, retired, grouping …) the
  validator derives from the code alone. Each region code is judged once, by the validator itself
  on a sample number with that code; the check character and birth date are computed here.
* mobile number: the segment (the number's first 3-4 digits) alone. Each 4-digit prefix is judged
  once, by the validator on a sample number with that prefix.

A value accepted by a fast path is exactly one the validator accepts with no warning, and its
normalized form is the value itself. Anything else (spaces, full-width digits, ``x``, numbers,
invalid values, values with warnings) goes to the validator, which gives the message.
tests/registry/test_intake.py checks the equivalence on thousands of values.
"""

from __future__ import annotations

from datetime import date
from operator import mul

from zhizhi.core import time as ztime
from zhizhi.registry.identifiers import check_char, validate_citizen_id, validate_phone
from zhizhi.registry.identifiers.citizen_id import EARLIEST_BIRTH

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_ZERO = 48 * sum(_WEIGHTS)
"""The weighted sum of 17 ``"0"`` bytes: the sum over bytes minus this is the sum over digits."""


class FastIdentifiers:
    """Memo of per-region and per-prefix verdicts for one import; ``today`` is the latest birth date
    (default: today in Beijing time, as the validator takes it)."""

    def __init__(self, today: date | None = None) -> None:
        self.today = today or ztime.to_local(ztime.utcnow()).date()
        self.lo = EARLIEST_BIRTH.strftime("%Y%m%d")
        self.hi = self.today.strftime("%Y%m%d")
        self.regions: dict[str, bool] = {}
        self.dates: dict[str, bool] = {}
        self.prefixes: dict[str, bool] = {}

    def _region_clean(self, code: str) -> bool:
        ok = self.regions.get(code)
        if ok is None:
            body = code + "19800101001"
            r = validate_citizen_id(body + check_char(body), today=self.today)
            ok = self.regions[code] = r.valid and not r.warnings
        return ok

    def citizen_id(self, value: object) -> str | None:
        """``value`` when it is a plain 18-character citizen ID the validator accepts without a
        warning, else None (ask the validator)."""
        if type(value) is not str or len(value) != 18 or not value.isascii():
            return None
        body = value[:17]
        if not body.isdigit():
            return None
        # the computed check character is one of 0-9 and X: equal to it, the 18th is one of those too
        if _CHECK[(sum(map(mul, body.encode(), _WEIGHTS)) - _ZERO) % 11] != value[17]:
            return None
        ymd = value[6:14]
        born = self.dates.get(ymd)
        if born is None:
            born = self.dates[ymd] = self._plausible(ymd)
        if not born:
            return None
        region = self.regions.get(value[:6])
        if region is None:
            region = self._region_clean(value[:6])
        return value if region else None

    def _plausible(self, ymd: str) -> bool:
        """A birth date the validator accepts: it exists, from 1890-01-01 to today."""
        if not self.lo <= ymd <= self.hi:
            return False
        try:
            date(int(ymd[:4]), int(ymd[4:6]), int(ymd[6:]))
        except ValueError:
            return False
        return True

    def mobile(self, value: object) -> str | None:
        """``value`` when it is 11 plain digits of a mobile number the validator accepts without a
        warning, else None (ask the validator)."""
        if type(value) is not str or len(value) != 11 or value[0] != "1" or not value.isascii():
            return None
        if not value.isdigit():
            return None
        prefix = value[:4]
        ok = self.prefixes.get(prefix)
        if ok is None:
            r = validate_phone(prefix + "0000000")
            ok = self.prefixes[prefix] = r.valid and not r.warnings and r.normalized == prefix + "0000000"
        return value if ok else None


__all__ = ["FastIdentifiers"]
