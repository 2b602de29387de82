"""Census tables (人口普查表) of the demo generator: loaded from ``registry/data/census/`` and checked,
and Yongchuan's historical region codes (GB/T 2260) for GENERATED citizen IDs.

Pure code, no database. See ``registry/data/census/SOURCES.md`` for which numbers are published,
derived or assumed.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

from zhizhi.registry import rules
from zhizhi.registry.identifiers import tables

YONGCHUAN_NAMES = ("永川县", "永川市", "永川区")
"""Names of Yongchuan in the GB/T 2260 editions (region codes 512621 … 510229, 519005, 510281, 500383,
500118)."""
MAX_AGE = 99
_DIR = resources.files("zhizhi.registry") / "data" / "census"
ELIGIBLE = (
    "age_80_plus", "age_60_plus_alone", "urban_age_60_plus_alone", "rural_age_60_plus_alone",
    "urban_family_household", "rural_family_household", "urban", "rural", "age_60_plus", "male_20_plus",
    "female_20_plus", "left_behind_child", "female_20_39", "age_35_plus", "age_18_plus", "age_18_69",
)  # fmt: skip
"""Who may carry a tag (``eligible`` column of tag_rates.csv); the meaning of each is in
:func:`.persons._masks`."""
PER = ("eligible", "all", "urban", "rural", "rural_child_under_16")
"""What a tag rate is a share of (``per`` column of tag_rates.csv)."""


# --- the tables --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TagRate:
    """One row of tag_rates.csv: ``rate`` of ``per`` persons get ``tag``, drawn among ``eligible``
    persons; a person aged 60+ is ``weight_60_plus`` times as likely to be drawn."""

    tag: str
    rate: float
    per: str
    eligible: str
    weight_60_plus: float


@dataclass(frozen=True)
class Census:
    """The tables of ``data/census`` (validated): ``age_sex`` rows (age_min, age_max, male, female),
    ``household_size`` (sizes, shares), ``facts`` by key, ``tag_rates``, ``ethnicity`` (codes, shares),
    ``surnames`` (names, shares), ``given`` rows (kind, text, sex, born_from, born_to, weight)."""

    age_sex: list[tuple[int, int, float, float]]
    household_size: tuple[np.ndarray, np.ndarray]
    facts: dict[str, float]
    tag_rates: list[TagRate]
    ethnicity: tuple[list[str], np.ndarray]
    surnames: tuple[list[str], np.ndarray]
    given: list[tuple[str, str, str, int, int, float]]


def _read(name: str, columns: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    text = _DIR.joinpath(name).read_text("utf-8")
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in columns if c not in (reader.fieldnames or [])]
    if missing:
        raise ValueError(f"registry/data/census/{name}: missing column(s) {', '.join(missing)}")
    return list(enumerate(reader, start=2))


def _num(name: str, line: int, col: str, text: str, lo: float = 0, hi: float = float("inf")) -> float:
    try:
        v = float(text)
    except ValueError:
        raise ValueError(
            f"registry/data/census/{name}: line {line}, column {col}: {text!r} is not a number"
        ) from None
    if not lo <= v <= hi:
        raise ValueError(f"registry/data/census/{name}: line {line}, column {col}: {v} outside [{lo}, {hi}]")
    return v


@cache
def census() -> Census:
    """Load and check the census tables. Raises ValueError naming file, line, column and reason."""
    age = []
    for ln, r in _read("age_sex.csv", ("age_min", "age_max", "male", "female", "source")):
        lo, hi = (int(_num("age_sex.csv", ln, c, r[c], 0, MAX_AGE)) for c in ("age_min", "age_max"))
        age.append(
            (
                lo,
                hi,
                _num("age_sex.csv", ln, "male", r["male"]),
                _num("age_sex.csv", ln, "female", r["female"]),
            )
        )
    if [a[0] for a in age] != [0] + [a[1] + 1 for a in age[:-1]] or age[-1][1] != MAX_AGE:
        raise ValueError(
            f"registry/data/census/age_sex.csv: age groups must run from 0 to {MAX_AGE} without gaps"
        )
    sizes = _read("household_size.csv", ("size", "share_pct", "source"))
    hs = np.array([int(_num("household_size.csv", ln, "size", r["size"], 1, 20)) for ln, r in sizes])
    hp = np.array([_num("household_size.csv", ln, "share_pct", r["share_pct"], 0, 100) for ln, r in sizes])
    facts = {
        r["key"]: _num("facts.csv", ln, "value", r["value"])
        for ln, r in _read("facts.csv", ("key", "value", "unit", "source"))
    }
    catalogue = rules.tag_catalogue()
    rates = []
    for ln, r in _read("tag_rates.csv", ("tag", "rate", "per", "eligible", "weight_60_plus", "source")):
        for col, allowed in (("tag", catalogue), ("per", PER), ("eligible", ELIGIBLE)):
            if r[col] not in allowed:
                raise ValueError(
                    f"registry/data/census/tag_rates.csv: line {ln}, column {col}: unknown {r[col]!r}"
                )
        rate = _num("tag_rates.csv", ln, "rate", r["rate"], 0, 1)
        w60 = _num("tag_rates.csv", ln, "weight_60_plus", r["weight_60_plus"], 0, 100)
        rates.append(TagRate(r["tag"], rate, r["per"], r["eligible"], w60))
    eth = _read("ethnicity.csv", ("code", "share", "source"))
    for ln, r in eth:
        if r["code"] not in rules.codes().ethnicity:
            raise ValueError(
                f"registry/data/census/ethnicity.csv: line {ln}, column code: not a GB 3304 code"
            )
    sur = _read("surnames.csv", ("rank", "surname", "share_pct", "source"))
    given = []
    for ln, r in _read(
        "given_names.csv", ("kind", "text", "sex", "born_from", "born_to", "weight", "source")
    ):
        if r["kind"] not in ("name", "char") or r["sex"] not in ("male", "female", "any") or not r["text"]:
            raise ValueError(
                f"registry/data/census/given_names.csv: line {ln}: kind name|char, sex male|female|any, text"
            )
        lo = int(_num("given_names.csv", ln, "born_from", r["born_from"] or "1800"))
        hi = int(_num("given_names.csv", ln, "born_to", r["born_to"] or "2200"))
        given.append(
            (r["kind"], r["text"], r["sex"], lo, hi, _num("given_names.csv", ln, "weight", r["weight"]))
        )
    eth_share = np.array([_num("ethnicity.csv", ln, "share", r["share"], 0, 1) for ln, r in eth])
    sur_share = np.array([_num("surnames.csv", ln, "share_pct", r["share_pct"]) for ln, r in sur])
    return Census(
        age, (hs, hp / hp.sum()), facts, rates, ([r["code"] for _, r in eth], eth_share),
        ([r["surname"] for _, r in sur], sur_share), given,
    )  # fmt: skip


@cache
def region_codes() -> list[tuple[int, int, str]]:
    """Yongchuan's county codes over time as ``(first_year, last_year, code)`` from the GB/T 2260 table
    (registry/data/gbt2260_codes.csv): 510229 永川县 1983-1991, 519005 永川市 1992-1994, 510281 永川市
    1995-1996, 500383 永川市 1997-2005, 500118 永川区 2006-."""
    out = []
    for code, reg in tables.regions().items():
        for p in reg.periods:
            if p.name in YONGCHUAN_NAMES and reg.level == "county":
                out.append((p.first_year or 1949, p.last_year or 9999, code))
    return sorted(out)


def region_for_birth_year(year: int) -> str:
    """The region code (地址码) a person born in ``year`` got: the code of Yongchuan in force when the
    number was first assigned, taken as the year of the first identity card (age 16) but not before
    1985 (first cards) and not after 1999 (the 公民身份号码 decision of 1999 gave every registered
    person a number, newborns at birth registration). An approximation: a number keeps the code it
    was given even after the division is renamed."""
    issued = year if year >= 1999 else min(max(year + 16, 1985), 1999)
    for first, last, code in region_codes():
        if first <= issued <= last:
            return code
    raise ValueError(f"no Yongchuan region code in force in {issued}")


def _f(c: Census, key: str) -> float:
    return c.facts[key]
