"""Problems and scores (问题与得分): :func:`check` runs the rules over the records and tallies a score
per area; :func:`parse_key` reads a problem key."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from zhizhi.core.access import mask_text
from zhizhi.registry.quality.checks import CHECKS, _subject
from zhizhi.registry.quality.records import Place, Registers
from zhizhi.registry.quality.ruleset import DIMENSIONS, Rule, load_rules


@dataclass(frozen=True)
class Problem:
    """One failed check of one record: the rule, the record (register and internal id — never a
    personal identifier), where it is, and what is wrong in words with names and IDs masked.
    ``key`` identifies the problem across runs (``rule:register:id``)."""

    rule: str
    register: str
    entity_id: int
    place: Place
    subject: str
    detail: str

    @property
    def key(self) -> str:
        """``<rule>:<register>:<id>``, stable while the problem lasts."""
        return f"{self.rule}:{self.register}:{self.entity_id}"


@dataclass
class Tally:
    """Checks of one area: (record, rule) pairs checked and failed, plain and weighted, failures by
    dimension."""

    checked: int = 0
    failed: int = 0
    weight_checked: float = 0.0
    weight_failed: float = 0.0
    by_dimension: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DIMENSIONS, 0))

    def add(self, other: Tally) -> None:
        """Add ``other``'s counts to this tally (an area made of parts)."""
        self.checked += other.checked
        self.failed += other.failed
        self.weight_checked += other.weight_checked
        self.weight_failed += other.weight_failed
        for k, v in other.by_dimension.items():
            self.by_dimension[k] = self.by_dimension.get(k, 0) + v

    @property
    def score(self) -> float | None:
        """100 × (1 − weighted failed / weighted checked), one decimal; None when nothing was checked."""
        if self.weight_checked == 0:
            return None
        return round(100.0 * (1.0 - self.weight_failed / self.weight_checked), 1)


@dataclass
class Report:
    """The outcome of :func:`check`: problems in rule order then record id, a :class:`Tally` per area
    code (the ``area`` function's key) and one for everything."""

    problems: list[Problem]
    areas: dict[str | None, Tally]
    total: Tally


def check(
    data: Registers,
    on: date,
    area: Callable[[Place], str | None],
    rules: Sequence[Rule] | None = None,
) -> Report:
    """Run ``rules`` (default: :func:`load_rules`) over ``data`` on date ``on`` (ages, tag
    eligibility): every record a rule applies to is checked once by it.

    area: the key a record's :class:`Place` is tallied under (e.g. its village code).
    Returns the :class:`Report`: problems (masked details) in rule order then record id, a tally
    per area and in total. Never raises on bad data: bad data is what it reports."""
    problems: list[Problem] = []
    areas: dict[str | None, Tally] = defaultdict(Tally)
    total = Tally()
    for rule in rules if rules is not None else load_rules():
        found: list[Problem] = []
        for record, detail in CHECKS[rule.check](rule, data, on):
            for t in (areas[area(record.place)], total):
                t.checked += 1
                t.weight_checked += rule.weight
                if detail is not None:
                    t.failed += 1
                    t.weight_failed += rule.weight
                    t.by_dimension[rule.dimension] += 1
            if detail is not None:
                found.append(
                    Problem(
                        rule.code,
                        rule.register,
                        record.id,
                        record.place,
                        _subject(record),
                        mask_text(detail) or "",
                    )  # fmt: skip
                )
        problems += sorted(found, key=lambda p: p.entity_id)
    return Report(problems, dict(areas), total)


def parse_key(key: object) -> tuple[str, str, int]:
    """``(rule, register, id)`` of a problem key ``rule:register:id``; ValueError otherwise."""
    m = re.fullmatch(r"([a-z][a-z0-9_]{2,29}):(resident|household|house|unit):(\d{1,10})", str(key).strip())
    if m is None:
        raise ValueError(f'problem key "{str(key)[:60]}": give rule:register:id (as listed)')
    return m.group(1), m.group(2), int(m.group(3))
