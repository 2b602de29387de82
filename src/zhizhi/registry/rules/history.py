"""Sources, the conflict rule and the valid-time timeline of one entity (来源、冲突规则与有效时间线)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

Value = str | int | float | bool | None
"""A field value as stored in the change log (JSON): dates are ISO strings."""


SOURCE_KINDS = ("import", "grid", "dept", "town", "district", "system")
_SOURCE = re.compile(r"(" + "|".join(SOURCE_KINDS) + r"):[^\s:|]{1,72}")


def parse_source(value: object) -> str:
    """A source of register data (数据来源) as ``kind:key``: ``import:<feed>`` (a named recurring file,
    e.g. ``import:mzj-dibao``), ``grid:<grid code>`` (the grid's workers), ``dept:<abbr>``,
    ``town:<code>``, ``district:<code>`` or ``system:<job>``. The source is the *supplier* the
    conflict rule compares; a particular file or batch goes in the change's ``ref``.
    Raises ValueError when the text does not have that form."""
    if isinstance(value, str) and _SOURCE.fullmatch(value.strip()):
        return value.strip()
    raise ValueError(
        f"source: {str(value)[:40]!r} is not kind:key with kind one of {', '.join(SOURCE_KINDS)}"
    )


class Decision(StrEnum):
    """What to do with one proposed field value: nothing (same value), apply it, or record a conflict."""

    SAME = "same"
    APPLY = "apply"
    CONFLICT = "conflict"


def _empty(v: Value) -> bool:
    return v is None or v == "" or v is False


def decide(current: Value, current_source: str | None, proposed: Value, proposed_source: str) -> Decision:
    """The conflict rule for one field (冲突规则): the proposed value equal to the current one → SAME;
    the field empty (None, "" or an unset tag) → APPLY; set by the same source → APPLY (a source
    updates its own values); set by another source → CONFLICT, for a person to resolve. Nothing a
    source did not set is ever silently overwritten."""
    if proposed == current or (_empty(proposed) and _empty(current)):
        return Decision.SAME
    if _empty(current) or current_source == proposed_source:
        return Decision.APPLY
    return Decision.CONFLICT


# --- the timeline of one entity (有效时间线) --------------------------------------------------------


@dataclass(frozen=True)
class FieldChange:
    """One field set by one recorded change: the value in force from ``valid_from`` (a local date);
    ``seq`` orders changes by recording (the change row id); ``source`` supplied it."""

    field: str
    value: Value
    valid_from: date
    seq: int
    source: str


@dataclass
class Segment:
    """The state of an entity over ``[valid_from, valid_to)`` (valid_to None: open): ``values`` per
    field and ``setters`` the :class:`FieldChange` that set each value (field-level provenance)."""

    valid_from: date
    valid_to: date | None
    values: dict[str, Value] = field(default_factory=dict)
    setters: dict[str, FieldChange] = field(default_factory=dict)


def timeline(changes: Iterable[FieldChange]) -> list[Segment]:
    """Replay the changes of one entity into consecutive segments of valid time.

    A field holds the value of the change with the latest ``valid_from`` not after the day, and among
    changes of the same day the latest recorded (highest ``seq``): a backdated change applies until
    the next change of the same field. One segment starts at each distinct ``valid_from``; the
    first segment starts at the earliest change (before it the entity did not exist).
    Returns segments in date order; an empty list for no changes.
    """
    ordered = sorted(changes, key=lambda c: (c.valid_from, c.seq))
    segments: list[Segment] = []
    values: dict[str, Value] = {}
    setters: dict[str, FieldChange] = {}
    for c in ordered:
        if segments and segments[-1].valid_from == c.valid_from:
            seg = segments[-1]
        else:
            if segments:
                segments[-1].valid_to = c.valid_from
            seg = Segment(c.valid_from, None, dict(values), dict(setters))
            segments.append(seg)
        seg.values[c.field] = values[c.field] = c.value
        seg.setters[c.field] = setters[c.field] = c
    return segments


def segment_at(segments: Sequence[Segment], on: date) -> Segment | None:
    """The segment in force on date ``on``, or None before the first one."""
    found = None
    for s in segments:
        if s.valid_from <= on:
            found = s
        else:
            break
    return found


def check_change(
    segments: Sequence[Segment], name: str, value: Value, source: str, valid_from: date
) -> Decision:
    """:func:`decide` for setting field ``name`` to ``value`` from ``valid_from`` on. The change replaces
    the value in force on ``valid_from`` until the next change of the field (:func:`timeline`), so it is
    judged against that value and the source that set it; before the entity's first segment the
    field is empty."""
    seg = segment_at(segments, valid_from)
    setter = seg.setters.get(name) if seg else None
    current = seg.values.get(name) if seg else None
    return decide(current, setter.source if setter else None, value, source)


def next_value(segments: Sequence[Segment], name: str, after: date) -> tuple[bool, Value]:
    """``(True, value)`` of the first change of field ``name`` valid after date ``after`` (the value a
    backdated change runs into), or ``(False, None)`` when there is none."""
    for s in segments:
        setter = s.setters.get(name)
        if s.valid_from > after and setter is not None and setter.valid_from == s.valid_from:
            return True, s.values.get(name)
    return False, None
