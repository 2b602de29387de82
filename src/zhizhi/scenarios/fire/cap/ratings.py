"""The bulletin's inputs (日报输入): a town's daily rating, its default valid period and the checks of
a bulletin's ratings."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from zhizhi.core.time import LOCAL_TZ
from zhizhi.scenarios.fire.cap.policy import CapPolicy, default_cap_policy
from zhizhi.scenarios.fire.rules import LEVELS

_TOWN = re.compile(r"^\d{12}$")
_COUNTY = re.compile(r"^\d{6}$")


@dataclass(frozen=True)
class TownRating:
    """One town's daily fire danger rating (森林火险气象等级), as the bulletin needs it.

    town_code: 12-digit NBS code (统计用区划代码) of the town (镇/街道); its first 6 digits are the
    GB/T 2260 county code. day: the date the rating is for (Beijing time). level: 1-5 (一级…五级).
    index_name/index_value: optionally the index the level came from (e.g. ``HTZ`` 78, ``FWI`` 23.4).
    valid_from/valid_to: aware datetimes of the valid period; default from ``data/cap.yaml`` ``valid``.
    """

    town_code: str
    town_name: str
    day: date
    level: int
    index_name: str | None = None
    index_value: float | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None

    @property
    def county_code(self) -> str:
        """The 6-digit GB/T 2260 county (district) code."""
        return self.town_code[:6]


def valid_period(day: date, policy: CapPolicy | None = None) -> tuple[datetime, datetime]:
    """The default valid period (有效期) of a rating for ``day``: from ``valid.start`` Beijing time on
    that day for ``valid.hours`` hours (data/cap.yaml). Returns two aware Asia/Shanghai datetimes."""
    pol = policy or default_cap_policy()
    start = datetime.combine(day, pol.valid.start, tzinfo=LOCAL_TZ)
    return start, start + timedelta(hours=pol.valid.hours)


def check_ratings(ratings: Sequence[TownRating]) -> None:
    """Check a bulletin's ratings: at least one; every town code 12 digits; every level 1-5; one day
    and one county for all; no town twice; valid_to after valid_from. Raises ValueError naming the
    index and the field."""
    if not ratings:
        raise ValueError("ratings: a bulletin needs at least one town rating")
    seen: set[str] = set()
    first = ratings[0]
    for i, r in enumerate(ratings):
        if not _TOWN.match(r.town_code):
            raise ValueError(f"ratings[{i}].town_code: {r.town_code!r} is not a 12-digit NBS code")
        if r.level not in LEVELS or isinstance(r.level, bool):
            raise ValueError(f"ratings[{i}].level: {r.level!r} is not a level 1-5")
        if not r.town_name.strip():
            raise ValueError(f"ratings[{i}].town_name: empty")
        if r.day != first.day:
            raise ValueError(f"ratings[{i}].day: {r.day} differs from the bulletin's day {first.day}")
        if r.county_code != first.county_code:
            raise ValueError(
                f"ratings[{i}].town_code: {r.town_code} is in county {r.county_code}, "
                f"the bulletin's is {first.county_code}"
            )
        if r.town_code in seen:
            raise ValueError(f"ratings[{i}].town_code: {r.town_code} is rated twice")
        seen.add(r.town_code)
        if (r.valid_from is None) != (r.valid_to is None):
            raise ValueError(f"ratings[{i}]: give both valid_from and valid_to, or neither")
        if r.valid_from is not None and r.valid_to is not None:
            for name, v in (("valid_from", r.valid_from), ("valid_to", r.valid_to)):
                if v.tzinfo is None or v.utcoffset() is None:
                    raise ValueError(f"ratings[{i}].{name}: must be timezone-aware")
            if r.valid_to <= r.valid_from:
                raise ValueError(f"ratings[{i}].valid_to: not after valid_from")
