"""Quality rules as data (质量规则): the dimensions, registers and check kinds, and the rules of
``data/quality_rules.yaml`` read and checked."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml

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


def rule_by_code(code: str, rules: Sequence[Rule] | None = None) -> Rule:
    """The rule ``code``; KeyError naming it."""
    for r in rules if rules is not None else load_rules():
        if r.code == code:
            return r
    raise KeyError(f'unknown quality rule "{code}"')
