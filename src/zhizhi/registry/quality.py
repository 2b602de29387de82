"""Data quality of the registers (数据治理, issue 4 §5), pure: quality rules as data
(``data/quality_rules.yaml``), checks over plain records, the problems found and a score per area.
No database here (registry/service/quality.py reads the records and sends problems as tasks).

Dimensions (数据质量维度, after GB/T 36344-2018 《信息技术 数据质量评价指标》, which names completeness
完整性, validity/normativeness 规范性, consistency 一致性, accuracy, timeliness and accessibility; the
three that can be checked from the registers alone are used): completeness — a field the register needs is
filled; validity — an identifier passes its standard (GB 11643, GB 32100, GB 11714, mobile number
plan); consistency — records agree with each other and with the identifiers (sex and birth date of the
ID, tag eligibility, household heads, benefit tags after death or move-out, duplicates).

Score of an area (数据质量得分): ``100 × (1 − Σ weight·failed / Σ weight·checked)`` over every (record,
rule) pair checked in it, one decimal; None when nothing was checked. Problem details mask names and
identifiers (``张**``, ``500118********123X``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

import yaml

from zhizhi.core.access import mask_name, mask_phone, mask_text
from zhizhi.registry import identifiers
from zhizhi.registry import rules as reg_rules

DIMENSIONS = {"completeness": "完整性", "validity": "有效性", "consistency": "一致性"}
REGISTERS = ("resident", "household", "house", "unit")
APPLIES = ("active", "exited", "all")
SEVERITIES = ("error", "warning")
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "resident": ("name", "phone", "ethnicity", "household", "grid", "address"),
    "household": ("head", "kind", "grid"),
    "house": ("use", "structure", "grid", "address"),
    "unit": ("name", "industry", "grid", "address"),
}
"""Fields a ``required`` rule may name, per register."""


# --- records ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """Where a record is: town, village and grid codes (None when unknown)."""

    town: str | None = None
    village: str | None = None
    grid: str | None = None


@dataclass(frozen=True)
class Person:
    """A resident as the checks see it (values in force on the check date). ``sex``/``birth`` are the
    identity row's, which should be those of the ID. ``status``: active | moved_out | deceased."""

    id: int
    citizen_id: str
    sex: str
    birth: date
    name: str | None = None
    phone: str | None = None
    ethnicity: str | None = None
    household: int | None = None
    status: str = "active"
    tags: tuple[str, ...] = ()
    address: str | None = None
    place: Place = Place()


@dataclass(frozen=True)
class Household:
    """A household (户): its number (户号, not personal), head (resident id), kind and status."""

    id: int
    number: str
    head: int | None = None
    kind: str | None = None
    status: str | None = "active"
    place: Place = Place()


@dataclass(frozen=True)
class House:
    """A house (房屋) by its code, with use and structure codes (GB/T 17986.1)."""

    id: int
    code: str
    use: str | None = None
    structure: str | None = None
    address: str | None = None
    status: str | None = "active"
    place: Place = Place()


@dataclass(frozen=True)
class Unit:
    """A unit (单位) with its credit code and/or organisation code, name and industry (GB/T 4754)."""

    id: int
    uscc: str | None = None
    org_code: str | None = None
    name: str | None = None
    industry: str | None = None
    address: str | None = None
    status: str | None = "active"
    place: Place = Place()


@dataclass(frozen=True)
class Registers:
    """What is checked: the records of the area, and for cross checks the people of the whole
    district they refer to (``people_elsewhere``: household heads living outside the area, and
    namesakes — same name, sex and birth date — anywhere in the district)."""

    people: Sequence[Person] = ()
    households: Sequence[Household] = ()
    houses: Sequence[House] = ()
    units: Sequence[Unit] = ()
    people_elsewhere: Sequence[Person] = ()


# --- rules ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """One quality rule of data/quality_rules.yaml (see the file's header)."""

    code: str
    dimension: str
    register: str
    check: str
    label: str
    fix: str
    weight: float = 1.0
    severity: str = "error"
    applies: str = "active"
    params: Mapping[str, Any] = field(default_factory=dict)


CHECK_REGISTER = {
    "required": None, "citizen_id": "resident", "phone": "resident", "unit_code": "unit",
    "id_facts": "resident", "tag_age": "resident", "household_head": "household", "head_active": "household",
    "two_households": "household", "benefit_after_exit": "resident", "duplicate_person": "resident",
}  # fmt: skip
"""Check kinds and the register each works on (None: any, by its ``field``)."""


def parse_rules(raw: Any, tags: Iterable[str], source: str = "quality_rules.yaml") -> list[Rule]:
    """Check and build the rules from their parsed YAML. ``tags``: the known tag codes. Raises
    ValueError naming ``source``, the rule and the key: an unknown or missing key, a duplicate code,
    a dimension, register, check, applies or severity not in its list, a check on the wrong
    register, a weight outside (0, 10], a required field the register does not have, an unknown tag,
    a citizen_id level other than error/warning."""
    if not isinstance(raw, dict) or not isinstance(raw.get("rules"), list) or not raw["rules"]:
        raise ValueError(f"{source}: needs a 'rules' list")
    known = set(tags)
    keys = {
        "code",
        "dimension",
        "register",
        "check",
        "params",
        "applies",
        "weight",
        "severity",
        "label",
        "fix",
    }
    out: list[Rule] = []
    for i, r in enumerate(raw["rules"], start=1):
        where = f"{source}: rule {i}"
        if not isinstance(r, dict):
            raise ValueError(f"{where}: needs a mapping")
        code = r.get("code")
        if not isinstance(code, str) or not re.fullmatch(r"[a-z][a-z0-9_]{2,29}", code):
            raise ValueError(f"{where}.code: a snake_case key of 3-30 characters")
        where = f"{source}: rule {code}"
        if any(x.code == code for x in out):
            raise ValueError(f"{where}: duplicate code")
        extra = set(r) - keys
        if extra:
            raise ValueError(f"{where}: unknown key {sorted(extra)[0]}")
        for key, allowed in (
            ("dimension", tuple(DIMENSIONS)), ("register", REGISTERS), ("check", tuple(CHECK_REGISTER)),
            ("applies", APPLIES), ("severity", SEVERITIES),
        ):  # fmt: skip
            value = r.get(key, {"applies": "active", "severity": "error"}.get(key))
            if value not in allowed:
                raise ValueError(f"{where}.{key}: {value!r} is not one of {', '.join(allowed)}")
        for key in ("label", "fix"):
            if not isinstance(r.get(key), str) or not r[key].strip():
                raise ValueError(f"{where}.{key}: missing")
        w = r.get("weight", 1)
        if isinstance(w, bool) or not isinstance(w, int | float) or not 0 < w <= 10:
            raise ValueError(f"{where}.weight: a number above 0 and at most 10")
        on = CHECK_REGISTER[r["check"]]
        if on is not None and r["register"] != on:
            raise ValueError(f"{where}.register: check {r['check']} works on {on} records")
        params = r.get("params") or {}
        if not isinstance(params, dict):
            raise ValueError(f"{where}.params: needs a mapping")
        _check_params(where, r["check"], r["register"], params, known)
        out.append(
            Rule(
                code,
                r["dimension"],
                r["register"],
                r["check"],
                r["label"].strip(),
                r["fix"].strip(),
                float(w),
                r.get("severity", "error"),
                r.get("applies", "active"),
                dict(params),
            )  # fmt: skip
        )
    return out


def _check_params(where: str, check: str, register: str, params: Mapping[str, Any], tags: set[str]) -> None:
    allowed = {"required": {"field"}, "citizen_id": {"level"}, "benefit_after_exit": {"tags"}}.get(
        check, set()
    )
    extra = set(params) - allowed
    if extra:
        raise ValueError(f"{where}.params: unknown key {sorted(extra)[0]} for check {check}")
    if check == "required" and params.get("field") not in REQUIRED_FIELDS[register]:
        fields = ", ".join(REQUIRED_FIELDS[register])
        raise ValueError(f"{where}.params.field: {params.get('field')!r} is not one of {fields}")
    if check == "citizen_id" and params.get("level") not in SEVERITIES:
        raise ValueError(f"{where}.params.level: error or warning")
    if check == "benefit_after_exit":
        listed = params.get("tags")
        if not isinstance(listed, list) or not listed:
            raise ValueError(f"{where}.params.tags: needs a list of tag codes")
        unknown = [t for t in listed if t not in tags]
        if unknown:
            raise ValueError(f"{where}.params.tags: unknown tag {unknown[0]!r}")


@cache
def load_rules() -> tuple[Rule, ...]:
    """The packaged rules (data/quality_rules.yaml), read and checked once."""
    text = resources.files("zhizhi.registry").joinpath("data/quality_rules.yaml").read_text("utf-8")
    return tuple(
        parse_rules(yaml.safe_load(text), reg_rules.tag_catalogue(), "registry/data/quality_rules.yaml")
    )


# --- problems and scores ---------------------------------------------------------------------------------


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


def _who(p: Person) -> str:
    return f"{mask_name(p.name) or '(无姓名)'} {identifiers.mask_citizen_id(p.citizen_id)}"


def _applies(rule: Rule, status: str | None) -> bool:
    active = status in (None, "active")
    return rule.applies == "all" or (rule.applies == "active") == active


Outcome = tuple[Any, str | None]
"""(record, detail when the check failed else None); the record's masked subject is written only for
a failure (:func:`_subject`)."""


RECORDS = {"resident": "people", "household": "households", "house": "houses", "unit": "units"}
"""The :class:`Registers` attribute holding each register's records."""


def _required(rule: Rule, data: Registers, on: date) -> Iterator[Outcome]:
    name = rule.params["field"]
    attr = {"household": "household", "grid": "place", "head": "head"}.get(name, name)
    records: Sequence[Any] = getattr(data, RECORDS[rule.register])
    for r in records:
        if not _applies(rule, r.status):
            continue
        value = r.place.grid if name == "grid" else getattr(r, attr)
        empty = value is None or (isinstance(value, str) and not value.strip())
        yield r, (f"{name} 未填写" if empty else None)


def _subject(r: Any) -> str:
    if isinstance(r, Person):
        return _who(r)
    if isinstance(r, Household):
        return f"户号 {r.number}"
    if isinstance(r, House):
        return f"房屋 {r.code}"
    return f"单位 {r.name or ''} {r.uscc or r.org_code or ''}".strip()


def _citizen_id(rule: Rule, data: Registers, on: date) -> Iterator[Outcome]:
    for p in data.people:
        if not _applies(rule, p.status):
            continue
        res = identifiers.validate(p.citizen_id, "citizen-id")
        found = res.errors if rule.params["level"] == "error" else res.warnings
        yield p, ("; ".join(found) if found else None)


def _phone(rule: Rule, data: Registers, on: date) -> Iterator[Outcome]:
    for p in data.people:
        if not _applies(rule, p.status) or not p.phone:
            continue
        res = identifiers.validate(p.phone, "phone")
        yield p, (f"{mask_phone(p.phone)}: {'; '.join(res.errors)}" if not res.valid else None)


def _unit_code(rule: Rule, data: Registers, on: date) -> Iterator[Outcome]:
    for u in data.units:
        if not _applies(rule, u.status):
            continue
        if u.uscc:
            res = identifiers.validate(u.uscc, "uscc")
        elif u.org_code:
            res = identifiers.validate(u.org_code, "org-code")
        else:
            yield u, "无统一社会信用代码或组织机构代码"
            continue
        yield u, ("; ".join(res.errors) if not res.valid else None)


def _id_facts(rule: Rule, data: Registers, on: date) -> Iterator[Outcome]:
    for p in data.people:
        if not _applies(rule, p.status) or len(p.citizen_id) != 18:
            continue
        try:
            birth, sex = reg_rules.birth_date_of(p.citizen_id), reg_rules.sex_of(p.citizen_id)
        except ValueError:
            continue  # an ID whose digits are no date: citizen_id_invalid reports it
        wrong = []
        if birth != p.birth:
            wrong.append("出生日期与身份号码不符")
        if sex != p.sex:
            wrong.append("性别与身份号码不符")
        yield p, ("; ".join(wrong) if wrong else None)


def _tag_age(rule: Rule, data: Registers, on: date) -> Iterator[Outcome]:
    catalogue = reg_rules.tag_catalogue()
    for p in data.people:
        if not _applies(rule, p.status) or not p.tags:
            continue
        why = [
            w
            for t in p.tags
            if t in catalogue
            and (w := reg_rules.tag_rule_error(catalogue[t], p.sex, p.birth, on)) is not None
        ]
        yield p, ("; ".join(why) if why else None)


def _people_by_id(data: Registers) -> dict[int, Person]:
    return {p.id: p for p in (*data.people_elsewhere, *data.people)}


def _household_head(rule: Rule, data: Registers, on: date) -> Iterator[Outcome]:
    for h in data.households:
        if _applies(rule, h.status):
            yield h, ("未登记户主" if h.head is None else None)


def _head_active(rule: Rule, data: Registers, on: date) -> Iterator[Outcome]:
    people = _people_by_id(data)
    for h in data.households:
        if not _applies(rule, h.status) or h.head is None:
            continue
        head = people.get(h.head)
        if head is None:
            yield h, "户主不在人口台账中"
        elif head.status != "active":
            word = reg_rules.STATUSES.get(head.status, head.status)
            yield h, f"户主 {_who(head)} 已{word}"
        else:
            yield h, None


def _two_households(rule: Rule, data: Registers, on: date) -> Iterator[Outcome]:
    people = _people_by_id(data)
    numbers = {h.id: h.number for h in data.households}
    for h in data.households:
        if not _applies(rule, h.status) or h.head is None or h.head not in people:
            continue
        head = people[h.head]
        if head.status != "active" or head.household in (None, h.id):
            yield h, None
            continue
        other = numbers.get(head.household, f"#{head.household}")
        yield h, f"户主 {_who(head)} 登记在另一户 {other}"


def _benefit_after_exit(rule: Rule, data: Registers, on: date) -> Iterator[Outcome]:
    benefit = set(rule.params["tags"])
    labels = {t.code: t.label for t in reg_rules.tag_catalogue().values()}
    for p in data.people:
        if not _applies(rule, p.status):
            continue
        kept = [t for t in p.tags if t in benefit]
        word = reg_rules.STATUSES.get(p.status, p.status)
        detail = f"已{word}, 仍有标签: {'、'.join(labels.get(t, t) for t in kept)}" if kept else None
        yield p, detail


def _duplicate_person(rule: Rule, data: Registers, on: date) -> Iterator[Outcome]:
    by_key: dict[tuple[str, str, date], list[Person]] = defaultdict(list)
    for p in (*data.people, *data.people_elsewhere):
        if p.name and p.status == "active":
            by_key[(p.name, p.sex, p.birth)].append(p)
    for p in data.people:
        if not _applies(rule, p.status):
            continue
        same = by_key.get((p.name, p.sex, p.birth), []) if p.name else []
        twins = [o for o in same if o.id != p.id and o.place.village != p.place.village]
        seen = {o.id: o for o in twins}
        detail = None
        if seen:
            o = min(seen.values(), key=lambda x: x.id)
            more = f" 等 {len(seen)} 人" if len(seen) > 1 else ""
            detail = f"与 {o.place.village or '未知村'} 的 {_who(o)}{more} 同名同性别同生日"
        yield p, detail


CHECKS: dict[str, Callable[[Rule, Registers, date], Iterator[Outcome]]] = {
    "required": _required, "citizen_id": _citizen_id, "phone": _phone, "unit_code": _unit_code,
    "id_facts": _id_facts, "tag_age": _tag_age, "household_head": _household_head,
    "head_active": _head_active, "two_households": _two_households, "benefit_after_exit": _benefit_after_exit,
    "duplicate_person": _duplicate_person,
}  # fmt: skip
"""Check kind → the function yielding every record it applies to with its outcome."""


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


def rule_by_code(code: str, rules: Sequence[Rule] | None = None) -> Rule:
    """The rule ``code``; KeyError naming it."""
    for r in rules if rules is not None else load_rules():
        if r.code == code:
            return r
    raise KeyError(f'unknown quality rule "{code}"')


def parse_key(key: object) -> tuple[str, str, int]:
    """``(rule, register, id)`` of a problem key ``rule:register:id``; ValueError otherwise."""
    m = re.fullmatch(r"([a-z][a-z0-9_]{2,29}):(resident|household|house|unit):(\d{1,10})", str(key).strip())
    if m is None:
        raise ValueError(f'problem key "{str(key)[:60]}": give rule:register:id (as listed)')
    return m.group(1), m.group(2), int(m.group(3))
