"""Facts of a person (人员事实): birth date and sex from a citizen ID, ages and age bands, the
resident status and its transitions."""

from __future__ import annotations

import re
from datetime import date


def birth_date_of(citizen_id: str) -> date:
    """Birth date (出生日期) of a normalized 18-character citizen ID (positions 7-14, GB 11643-1999 §4.3).
    Raises ValueError if the digits are not a date."""
    return date(int(citizen_id[6:10]), int(citizen_id[10:12]), int(citizen_id[12:14]))


def sex_of(citizen_id: str) -> str:
    """``male`` when the 17th character (顺序码 last digit) is odd, else ``female`` (GB 11643-1999 §4.4)."""
    return "male" if int(citizen_id[16]) % 2 else "female"


def age_on(birth: date, on: date) -> int:
    """Age in whole years (周岁) on date ``on`` of a person born ``birth``: one more year on each
    birthday; someone born on 29 February turns a year older on 1 March in common years."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def birth_cutoff(on: date, age: int) -> date:
    """The latest birth date of a person aged ``age`` or more on ``on``: ``age_on(b, on) >= age`` exactly
    when ``b <= birth_cutoff(on, age)``. 29 February maps to 28 February in a common year."""
    y = on.year - age
    try:
        return on.replace(year=y)
    except ValueError:  # 29 Feb of a common year
        return date(y, 2, 28)


def parse_age_band(text: str) -> tuple[int, int | None]:
    """An age band (年龄段) written ``"18-59"`` (both ends included, whole years) or ``"80+"`` as
    ``(lowest, highest or None)``. Raises ValueError for any other form or a reversed range."""
    m = re.fullmatch(r"\s*(\d{1,3})\s*(?:([-~至])\s*(\d{1,3})|(\+|岁?以上))\s*", str(text))
    if m is None:
        raise ValueError(f'age band "{str(text)[:20]}": write it as "18-59" or "80+"')
    lo = int(m.group(1))
    hi = int(m.group(3)) if m.group(3) is not None else None
    if hi is not None and hi < lo:
        raise ValueError(f'age band "{text}": the upper age is below the lower one')
    return lo, hi


DEFAULT_AGE_BANDS = ("0-17", "18-59", "60-79", "80+")
"""Age bands of the registers' counts unless a form names its own: minors, working age, older people
(老年人 60+, 老年人权益保障法 Art. 2) and 高龄 (80+)."""


# --- status (人员状态) -----------------------------------------------------------------------------------

STATUSES = {"active": "在册", "moved_out": "迁出", "deceased": "死亡"}
"""Resident status codes and labels: 在册 (on the register), 迁出 (moved out), 死亡 (deceased)."""
_STATUS_FROM = {"active": {"moved_out", "deceased"}, "moved_out": {"active", "deceased"}, "deceased": set()}


def parse_status(value: object) -> str:
    """The status code of ``value``: a code (``active``) or its label (``在册``). Raises ValueError."""
    if isinstance(value, str):
        s = value.strip()
        if s in STATUSES:
            return s
        for code, label in STATUSES.items():
            if s == label:
                return code
    raise ValueError(f"status: {str(value)[:20]!r} is not one of 在册/迁出/死亡 ({', '.join(STATUSES)})")


def status_transition_error(old: str | None, new: str) -> str | None:
    """Why a resident may not go from status ``old`` to ``new``, or None. A new person (old None) may
    start in any status; 在册 → 迁出/死亡; 迁出 → 在册 (moved back) or 死亡; nothing leaves 死亡."""
    if old is None or old == new or new in _STATUS_FROM.get(old, set()):
        return None
    return f"status cannot change from {STATUSES.get(old, old)} to {STATUSES.get(new, new)}"
