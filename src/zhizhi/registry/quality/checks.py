"""The check kinds (检查类型): one function per ``check`` of a rule, yielding every record the rule
applies to with its outcome (details still unmasked: :func:`..report.check` masks them)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from typing import Any

from zhizhi.core.access import mask_name, mask_phone
from zhizhi.registry import identifiers
from zhizhi.registry import rules as reg_rules
from zhizhi.registry.quality.records import House, Household, Person, Registers
from zhizhi.registry.quality.ruleset import Rule


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
