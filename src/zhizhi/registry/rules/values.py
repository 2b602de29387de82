"""Plain-value cleaning of non-identifier fields (字段清洗): free text, dates, numbers."""

from __future__ import annotations

import math
import re
from datetime import date, datetime

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(value: object, what: str, max_len: int) -> str | None:
    """A free-text field (name, address): stripped; "" → None. Raises ValueError for a non-text value,
    control characters, or more than ``max_len`` characters. Names and addresses are not width-folded
    (only identifier fields are)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{what}: expected text, got {type(value).__name__}")
    s = value.strip()
    if _CONTROL.search(s):
        raise ValueError(f"{what}: contains control characters")
    if len(s) > max_len:
        raise ValueError(f"{what}: {len(s)} characters, at most {max_len}")
    return s or None


def parse_date(value: object, what: str) -> date | None:
    """A date field from a ``date`` (a datetime is refused: say the day) or ISO text ``YYYY-MM-DD``;
    None or "" → None. Raises ValueError."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        raise ValueError(f"{what}: give a date, not a date and time")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"{what}: {str(value)[:30]!r} is not a date (YYYY-MM-DD)")


def parse_number(value: object, what: str, lo: float, hi: float, integer: bool = False) -> float | int | None:
    """A number within ``[lo, hi]`` (None or "" → None); ``integer`` refuses fractions.
    Raises ValueError naming the field and the range."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"{what}: expected a number")
    if not isinstance(value, int | float | str):
        raise ValueError(f"{what}: expected a number, got {type(value).__name__}")
    try:
        x = float(value) if not isinstance(value, int) else value
    except ValueError:
        raise ValueError(f"{what}: {str(value)[:20]!r} is not a number") from None
    if isinstance(x, float) and not math.isfinite(x):
        raise ValueError(f"{what}: not a finite number")
    if integer:
        if isinstance(x, float) and not x.is_integer():
            raise ValueError(f"{what}: expected a whole number")
        x = int(x)
    if not lo <= x <= hi:
        raise ValueError(f"{what}: {x} is outside {lo:g}..{hi:g}")
    return x
