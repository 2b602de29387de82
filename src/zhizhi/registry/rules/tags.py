"""Resident tags (人员标签): the catalogue of ``data/tags.yaml``, eligibility, the stored form."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

from zhizhi.registry.rules.codes import _load_yaml
from zhizhi.registry.rules.people import age_on


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
