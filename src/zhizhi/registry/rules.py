"""Pure rules of the registers (台账规则): code tables, facts derived from a citizen ID, tag eligibility,
status transitions, the conflict rule and the valid-time timeline of one entity.

No database here: plain values in, plain values out (docs/adr/0005-register-history.md explains how
the service stores what these functions compute).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any

import yaml

from zhizhi.registry.identifiers import mask_citizen_id

__all__ = [
    "STATUSES",
    "Decision",
    "FieldChange",
    "Segment",
    "Tag",
    "age_on",
    "birth_cutoff",
    "birth_date_of",
    "check_change",
    "codes",
    "decide",
    "mask_citizen_id",
    "parse_source",
    "relations",
    "sex_of",
    "status_transition_error",
    "tag_catalogue",
    "tag_rule_error",
    "timeline",
]

Value = str | int | float | bool | None
"""A field value as stored in the change log (JSON): dates are ISO strings."""


# --- code tables (代码表) ------------------------------------------------------------------------------


def _load_yaml(name: str) -> Any:
    text = resources.files("zhizhi.registry").joinpath(f"data/{name}").read_text("utf-8")
    return yaml.safe_load(text)


def _code_table(raw: Any, where: str) -> dict[str, str]:
    if not isinstance(raw, dict) or not raw:
        raise ValueError(f"{where}: needs a mapping of code → label")
    out: dict[str, str] = {}
    for k, v in raw.items():
        if not isinstance(k, str) or not isinstance(v, str) or not v.strip():
            raise ValueError(f"{where}.{k}: codes are quoted strings with a zh-CN label")
        out[k] = v
    return out


@dataclass(frozen=True)
class Codes:
    """The code tables of ``data/codes.yaml`` (ethnicity GB 3304, house use and structure GB/T 17986.1,
    household kind) and the GB/T 4754-2017 sections with their division ranges."""

    ethnicity: dict[str, str]
    house_use: dict[str, str]
    house_structure: dict[str, str]
    household_kind: dict[str, str]
    industry_sections: dict[str, tuple[str, int, int]]


@cache
def codes() -> Codes:
    """The packaged code tables (read and checked once). Raises ValueError naming the bad key."""
    raw = _load_yaml("codes.yaml")
    sections: dict[str, tuple[str, int, int]] = {}
    for letter, spec in raw["industry_sections"].items():
        lo, hi = spec["divisions"]
        sections[str(letter)] = (str(spec["name"]), int(lo), int(hi))
    return Codes(
        ethnicity=_code_table(raw.get("ethnicity"), "codes.yaml: ethnicity"),
        house_use=_code_table(raw.get("house_use"), "codes.yaml: house_use"),
        house_structure=_code_table(raw.get("house_structure"), "codes.yaml: house_structure"),
        household_kind=_code_table(raw.get("household_kind"), "codes.yaml: household_kind"),
        industry_sections=sections,
    )


@cache
def relations() -> dict[str, str]:
    """GB/T 4761-2008 relation-to-head codes (家庭关系代码) → zh-CN label, from ``data/relations.yaml``."""
    return _code_table(_load_yaml("relations.yaml").get("relations"), "relations.yaml: relations")


def parse_code(value: object, table: Mapping[str, str], what: str) -> str:
    """The code of ``value`` in ``table``: the code itself (an integer is zero-padded to the table's
    code width, ``1`` → ``"01"``) or its exact zh-CN label (``汉族`` → ``"01"``).
    Raises ValueError saying what was expected."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{what}: expected a code or label")
    width = max(len(c) for c in table)
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        value = str(int(value)).zfill(width)
    if not isinstance(value, str):
        raise ValueError(f"{what}: expected a code or label, got {type(value).__name__}")
    s = value.strip()
    if s.isdigit() and len(s) < width:
        s = s.zfill(width)
    if s in table:
        return s
    for code, label in table.items():
        if s == label:
            return code
    raise ValueError(f'{what}: "{s[:40]}" is not a known code or label')


def parse_industry(value: object) -> str:
    """A GB/T 4754-2017 industry code (行业代码) as ``letter + 0/2/3/4 digits`` (``C3011``). Digits alone
    (``3011``) get their section letter; a letter that does not match the digits is refused.
    Raises ValueError with the reason."""
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise ValueError("industry: expected a GB/T 4754 code such as C3011")
    s = str(value).strip().upper()
    m = re.fullmatch(r"([A-T])?(\d{2}|\d{3}|\d{4})?", s)
    if not s or m is None:
        raise ValueError(f'industry: "{s[:20]}" is not a GB/T 4754 code (letter and 2-4 digits)')
    letter, digits = m.group(1), m.group(2)
    sections = codes().industry_sections
    if digits is None:
        return str(letter)
    division = int(digits[:2])
    found = next((k for k, (_, lo, hi) in sections.items() if lo <= division <= hi), None)
    if found is None:
        raise ValueError(f"industry: division {digits[:2]} is in no GB/T 4754-2017 section")
    if letter and letter != found:
        raise ValueError(f"industry: division {digits[:2]} belongs to section {found}, not {letter}")
    return found + digits


# --- tags (人员标签) ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tag:
    """One resident tag of ``data/tags.yaml``: ``code``, zh-CN ``label`` and ``name``, the department
    abbreviations that use it, whether it is sensitive personal information (PIPL Art. 28), and its
    eligibility (``min_age``/``max_age`` in whole years, ``sex``)."""

    code: str
    label: str
    name: str
    departments: tuple[str, ...]
    sensitive: bool
    min_age: int | None = None
    max_age: int | None = None
    sex: str | None = None


def parse_tags(raw: Any, source: str = "tags.yaml") -> dict[str, Tag]:
    """Check and build the tag catalogue from its parsed YAML (``{"tags": [{code, label, name,
    departments, sensitive, rule?}]}``). Raises ValueError naming ``source``, the tag and the key for a
    missing or wrong key, a duplicate code, or an unknown rule."""
    if not isinstance(raw, dict) or not isinstance(raw.get("tags"), list) or not raw["tags"]:
        raise ValueError(f"{source}: needs a 'tags' list")
    out: dict[str, Tag] = {}
    for i, t in enumerate(raw["tags"], start=1):
        where = f"{source}: tag {i}"
        if not isinstance(t, dict):
            raise ValueError(f"{where}: needs a mapping")
        code = t.get("code")
        if not isinstance(code, str) or not re.fullmatch(r"[a-z][a-z0-9_]{1,23}", code):
            raise ValueError(f"{where}.code: lower-case ASCII key of 2-24 characters")
        where = f"{source}: tag {code}"
        if code in out:
            raise ValueError(f"{where}: duplicate code")
        for key in ("label", "name"):
            if not isinstance(t.get(key), str) or not t[key].strip():
                raise ValueError(f"{where}.{key}: missing")
        deps = t.get("departments")
        if not isinstance(deps, list) or not deps or not all(isinstance(d, str) for d in deps):
            raise ValueError(f"{where}.departments: needs a list of department abbreviations")
        if not isinstance(t.get("sensitive"), bool):
            raise ValueError(f"{where}.sensitive: true or false")
        rule = t.get("rule") or {}
        unknown = set(rule) - {"min_age", "max_age", "sex"}
        if unknown:
            raise ValueError(f"{where}.rule: unknown key {sorted(unknown)[0]}")
        if rule.get("sex") not in (None, "male", "female"):
            raise ValueError(f"{where}.rule.sex: male or female")
        out[code] = Tag(
            code, t["label"], t["name"], tuple(deps), t["sensitive"],
            rule.get("min_age"), rule.get("max_age"), rule.get("sex"),
        )  # fmt: skip
    return out


@cache
def tag_catalogue() -> dict[str, Tag]:
    """The packaged tag catalogue (``data/tags.yaml``), read and checked once."""
    return parse_tags(_load_yaml("tags.yaml"))


def tags_of_department(abbr: str) -> list[str]:
    """Codes of the tags department ``abbr`` (e.g. ``MZJ``) uses, in catalogue order."""
    return [t.code for t in tag_catalogue().values() if abbr in t.departments]


def tag_rule_error(tag: Tag, sex: str, birth: date, on: date) -> str | None:
    """Why ``tag`` cannot be set on a person of ``sex`` (male|female) born ``birth`` on date ``on``, or
    None when it can. Ages are whole years (:func:`age_on`)."""
    age = age_on(birth, on)
    if tag.min_age is not None and age < tag.min_age:
        return f"{tag.label} ({tag.code}) needs age {tag.min_age} or more; the person is {age} on {on}"
    if tag.max_age is not None and age > tag.max_age:
        return f"{tag.label} ({tag.code}) needs age {tag.max_age} or less; the person is {age} on {on}"
    if tag.sex is not None and sex != tag.sex:
        return f"{tag.label} ({tag.code}) applies to {tag.sex} persons only"
    return None


def encode_tags(codes_: Iterable[str]) -> str:
    """Tags as stored on a version row: sorted codes between bars (``|dibao|gaoling|``), so that a tag
    filter is ``LIKE '%|dibao|%'`` on both SQLite and PostgreSQL; no tag → ``""``."""
    s = sorted(set(codes_))
    return f"|{'|'.join(s)}|" if s else ""


def decode_tags(text: str | None) -> list[str]:
    """The codes of :func:`encode_tags` text."""
    return [t for t in (text or "").split("|") if t]


# --- citizen ID facts, ages ------------------------------------------------------------------------


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


# --- sources and the conflict rule (来源与冲突) ------------------------------------------------------

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


# --- plain-value cleaning of non-identifier fields ---------------------------------------------------

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
