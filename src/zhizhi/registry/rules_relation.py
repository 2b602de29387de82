"""Relation to the head of household (与户主关系, GB/T 4761-2008 家庭关系代码) written without the sex.

Clerks write 子女 ("child") where the standard has two groups, 20 子 (son) and 30 女 (daughter)
(likewise 独生子女 → 21/31, 养子女 → 27/37). The spellings and their codes per sex are data:
``by_sex`` in ``registry/data/relations.yaml``. The person's sex picks the code: from the citizen ID
(GB 11643 §4.4, :func:`zhizhi.registry.rules.sex_of`), else from a 性别 cell (:func:`parse_sex`).
Pure: no database.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from zhizhi.registry.rules import _load_yaml, relations

SEXES = ("male", "female")
_SEX_WORDS = {
    "男": "male", "男性": "male", "1": "male", "male": "male", "m": "male",
    "女": "female", "女性": "female", "2": "female", "female": "female", "f": "female",
}  # fmt: skip
"""How a 性别 cell says the sex: 男/女 (GB/T 2261.1: 1 男, 2 女), 男性/女性, male/female, M/F."""


@dataclass(frozen=True, slots=True)
class BySex:
    """A relation spelling that needs the person's sex: the ``text`` as written and the code per sex
    (``male``, ``female``), e.g. ``BySex("子女", "20", "30")``."""

    text: str
    male: str
    female: str

    def code(self, sex: str) -> str:
        """The GB/T 4761 code for a person of ``sex`` (``male`` | ``female``)."""
        return self.male if sex == "male" else self.female

    def unknown_sex(self) -> str:
        """The refusal when the sex is not known (no valid citizen ID and no 性别)."""
        table = relations()
        return (
            f'"{self.text}" does not say son or daughter, and the person\'s sex is unknown (no valid '
            f"公民身份号码, no 性别): fix the ID, fill in 性别, or write {table[self.male]} ({self.male}) "
            f"or {table[self.female]} ({self.female})"
        )


@cache
def by_sex() -> dict[str, BySex]:
    """The spellings of ``relations.yaml`` ``by_sex`` → :class:`BySex`, read and checked once.
    Raises ValueError naming the spelling when a code is not one of the relation codes or a sex is
    missing."""
    raw = _load_yaml("relations.yaml").get("by_sex") or {}
    table = relations()
    out: dict[str, BySex] = {}
    for text, codes in raw.items():
        where = f"relations.yaml: by_sex.{text}"
        if not isinstance(codes, dict) or set(codes) != set(SEXES):
            raise ValueError(f"{where}: needs exactly male and female codes")
        for sex in SEXES:
            if codes[sex] not in table:
                raise ValueError(f"{where}.{sex}: {codes[sex]!r} is not a GB/T 4761 code of relations")
        out[str(text)] = BySex(str(text), codes["male"], codes["female"])
    return out


def parse_sex(value: object) -> str | None:
    """``male`` or ``female`` from a 性别 cell (男, 女, 男性, 女性, 1, 2, male, female, M, F), or None
    when the cell does not say (empty, or anything else)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return _SEX_WORDS.get(str(value).strip().lower())


__all__ = ["SEXES", "BySex", "by_sex", "parse_sex"]
