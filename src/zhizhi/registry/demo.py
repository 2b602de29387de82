"""Synthetic population (生成的演示人口) of a district: households, residents and houses for demonstrations.

There is no public register of real people, and there must not be one: every person made here is
GENERATED. Names are drawn from published surname and given-name frequency lists, citizen IDs are
built to validate (GB 11643 structure, historical GB/T 2260 region code of Yongchuan for the birth
year, MOD 11-2 check character) but belong to nobody, and every row carries ``generated: True``; the
loader records them with the source :data:`SOURCE`.

Pure code: numpy RNG with a seed → plain dicts, no database. The statistical tables live in
``registry/data/census/`` (see its SOURCES.md: which numbers are published, derived or assumed):
age/sex pyramid, family-household sizes, collective households, ethnicity, tag rates, surnames and
given names.
"""

from __future__ import annotations

import csv
import gc
import io
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from zhizhi.registry import rules
from zhizhi.registry.identifiers import tables

Arr = np.ndarray

SOURCE = "system:demo-generated"
"""Provenance source of every generated value (rules.parse_source: ``system:<job>``)."""
NUMBER_PREFIX = "DEMO"
"""Household numbers (户号) and house codes of generated rows start with this, so they never look real."""
YONGCHUAN_NAMES = ("永川县", "永川市", "永川区")
"""Names of Yongchuan in the GB/T 2260 editions (region codes 512621 … 510229, 519005, 510281, 500383,
500118)."""
MAX_AGE = 99
_DIR = resources.files("zhizhi.registry") / "data" / "census"
_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])  # GB 11643-1999 §A.2
_CHECK = np.array(list("10X98765432"))
ELIGIBLE = (
    "age_80_plus", "age_60_plus_alone", "urban_age_60_plus_alone", "rural_age_60_plus_alone",
    "urban_family_household", "rural_family_household", "urban", "rural", "age_60_plus", "male_20_plus",
    "female_20_plus", "left_behind_child", "female_20_39", "age_35_plus", "age_18_plus", "age_18_69",
)  # fmt: skip
"""Who may carry a tag (``eligible`` column of tag_rates.csv); the meaning of each is in :func:`_masks`."""
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


# --- the generator -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Grid:
    """A grid (网格) to place households in: ``code`` (15 digits), ``place`` (the address prefix, e.g.
    ``重庆市永川区中山路街道中山路社区``), ``urban`` (its village is 城镇 in the NBS urban-rural code),
    ``polygon`` (WGS-84, None: no points), ``weight`` (relative share of the people)."""

    code: str
    place: str
    urban: bool
    polygon: BaseGeometry | None = None
    weight: float = 1.0


@dataclass
class Population:
    """Generated rows as plain dicts in the registry service's input form (every row ``generated``):
    ``households`` (number, kind, address, grid/village code), ``residents`` (citizen_id, name, sex,
    birth_date, ethnicity, household_number, relation, address, codes, status, tags), ``houses``
    (code, address, codes, use, structure, floors, lon/lat) and ``heads`` (household number → head's
    citizen ID)."""

    households: list[dict[str, Any]] = field(default_factory=list)
    residents: list[dict[str, Any]] = field(default_factory=list)
    houses: list[dict[str, Any]] = field(default_factory=list)
    heads: dict[str, str] = field(default_factory=dict)

    def tag_counts(self) -> Counter[str]:
        """Residents per tag."""
        return Counter(t for r in self.residents for t in r["tags"])


def _f(c: Census, key: str) -> float:
    return c.facts[key]


def _ages(rng: np.random.Generator, c: Census, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Ages (whole years) and sexes (True: male) of ``n`` people, drawn from the pyramid; ages uniform
    within a group."""
    lo = np.array([a[0] for a in c.age_sex] * 2)
    hi = np.array([a[1] for a in c.age_sex] * 2)
    p = np.array([a[2] for a in c.age_sex] + [a[3] for a in c.age_sex])
    cell = rng.choice(len(p), size=n, p=p / p.sum())
    age = lo[cell] + (rng.random(n) * (hi[cell] - lo[cell] + 1)).astype(int)
    return age, cell < len(c.age_sex)


def _birth_dates(rng: np.random.Generator, age: np.ndarray, on: date) -> np.ndarray:
    """Birth dates (datetime64[D]) of people aged ``age`` on ``on``: uniform over the year of dates that
    give that age (rules.age_on)."""
    out = np.empty(len(age), dtype="datetime64[D]")
    for a in np.unique(age):
        idx = np.flatnonzero(age == a)
        latest, earliest = (
            rules.birth_cutoff(on, int(a)),
            rules.birth_cutoff(on, int(a) + 1) + timedelta(days=1),
        )
        span = (latest - earliest).days + 1
        out[idx] = np.datetime64(earliest) + rng.integers(0, span, len(idx)).astype("timedelta64[D]")
    return out


class _Pools:
    """People not yet placed, by (sex, age): pick one of a sex near an age in O(1) amortized."""

    def __init__(self, rng: np.random.Generator, age: np.ndarray, male: np.ndarray, free: np.ndarray) -> None:
        idx = np.flatnonzero(free)
        key = male[idx].astype(int) * (MAX_AGE + 1) + age[idx]
        order = np.lexsort((rng.random(len(idx)), key))
        self.order = idx[order].tolist()
        keys = key[order]
        bounds = np.searchsorted(keys, np.arange(2 * (MAX_AGE + 1) + 1))
        self.ptr, self.end = bounds[:-1].tolist(), bounds[1:].tolist()
        self.used = ~free

    def pick(self, male: bool, age: int, window: int = 3) -> int:
        """A free person of that sex aged ``age`` (or the nearest within ``window`` years), -1 if none."""
        base = int(male) * (MAX_AGE + 1)
        for d in (0, 1, -1, 2, -2, 3, -3, 4, -4)[: 2 * window + 1]:
            a = age + d
            if not 0 <= a <= MAX_AGE:
                continue
            k = base + a
            p, e = self.ptr[k], self.end[k]
            while p < e and self.used[self.order[p]]:
                p += 1
            self.ptr[k] = p
            if p < e:
                i = self.order[p]
                self.used[i] = True
                self.ptr[k] = p + 1
                return i
        return -1


REL_SPOUSE = {True: "12", False: "11"}  # head male → wife 妻, head female → husband 夫 (GB/T 4761)
REL_CHILD = {True: "20", False: "30"}  # 子, 女
REL_GRANDCHILD = {True: "41", False: "42"}  # 孙子, 孙女
REL_CHILD_SPOUSE = {True: "28", False: "38"}  # the spouse of a daughter 女婿 / of a son 儿媳 (by spouse sex)
REL_PARENT = {True: "51", False: "52"}  # 父亲, 母亲


def _compose(
    rng: np.random.Generator, c: Census, age: Arr, male: Arr, hh_size: Arr, hh_rural: Arr, family: Arr
) -> tuple[Arr, list[str], Arr, Arr]:
    """Place the family persons (``family``) into households of sizes ``hh_size``: a head (headship
    weighted by age), a spouse, children, a three-generation family, grandchildren left with rural
    grandparents, the head's parents; people left over fill the remaining places with a relation
    that fits the ages. Returns (household of each person, relation of each person, the person
    whose surname each takes or -1, the other parent whose surname a child may take instead or -1)."""
    n, h = len(age), len(hh_size)
    hh_of = np.full(n, -1)
    rel = [""] * n
    kin = np.full(n, -1)  # whose surname the person takes (-1: own draw)
    alt = np.full(n, -1)  # a child's other parent (随母姓 when drawn)
    pools = _Pools(rng, age, male, family)
    adults = np.flatnonzero(family & (age >= 18))
    w = np.where(
        age[adults] < 25,
        _f(c, "headship_weight_18_24"),
        np.where(age[adults] < 30, _f(c, "headship_weight_25_29"), 1.0),
    )
    heads = adults[np.argsort(-(rng.random(len(adults)) ** (1 / w)))][:h]
    if len(heads) < h:
        raise ValueError(f"generate: {h} family households but only {len(heads)} adults")
    pools.used[heads] = True
    heads = heads[rng.permutation(h)].tolist()
    u = rng.random((h, 6)).tolist()
    gap = rng.integers(22, 37, (h, 4)).tolist()
    sex = (rng.random((h, 4)) < 0.5).tolist()
    p_spouse, p_three, p_skip = (
        _f(c, "spouse_share"),
        _f(c, "three_generation_share"),
        _f(c, "skip_generation_share"),
    )
    free_slots: list[list[int]] = []
    for hh in np.argsort(-hh_size, kind="stable").tolist():
        head = heads[hh]
        ha, hm, size = int(age[head]), bool(male[head]), int(hh_size[hh])
        members = [head]
        hh_of[head], rel[head] = hh, "02"

        def add(p: int, r: str, k: int = -1, a: int = -1, hh: int = hh, members: list[int] = members) -> None:
            members.append(p)
            hh_of[p], rel[p], kin[p], alt[p] = hh, r, k, a

        uu, g, s = u[hh], gap[hh], sex[hh]
        spouse = -1
        if size > 1 and ha >= 22 and uu[0] < p_spouse:
            spouse = pools.pick(not hm, ha + (-2 if hm else 2))
            if spouse >= 0:
                add(spouse, REL_SPOUSE[hm])
        father = head if hm else (spouse if spouse >= 0 else head)
        mother = (spouse if hm else head) if spouse >= 0 or not hm else -1
        if hh_rural[hh] and ha >= 50 and uu[1] < p_skip:  # grandchildren left with grandparents (留守)
            for j in range(min(size - len(members), 3)):
                p = pools.pick(s[j], ha - 23 - g[j], 2) if ha - 23 - g[j] < 16 else -1
                if p >= 0:
                    add(p, REL_GRANDCHILD[s[j]], father, mother)
        elif ha >= 55 and size - len(members) >= 2 and uu[2] < p_three:  # three generations
            ch = pools.pick(s[0], ha - g[0])
            if ch >= 0:
                add(ch, REL_CHILD[s[0]], father, mother)
                cs = pools.pick(not s[0], ha - g[0]) if size - len(members) >= 2 else -1
                if cs >= 0:
                    add(cs, REL_CHILD_SPOUSE[not s[0]])
                line, other = (ch, cs) if s[0] or cs < 0 else (cs, ch)
                for j in range(1, 4):
                    if len(members) < size and ha - g[0] - g[j] >= 0:
                        p = pools.pick(s[j], ha - g[0] - g[j])
                        if p >= 0:
                            add(p, REL_GRANDCHILD[s[j]], line, other)
        else:
            for j in range(4):
                if len(members) >= size or ha - g[j] < 0:
                    break
                p = pools.pick(s[j], ha - g[j])
                if p >= 0:
                    add(p, REL_CHILD[s[j]], father, mother)
        if len(members) < size and ha <= 55 and uu[3] < 0.5:
            for m in (True, False):
                if len(members) < size:
                    p = pools.pick(m, ha + g[3] + (2 if m else 0))
                    if p >= 0:
                        add(p, REL_PARENT[m], head if m else -1)
        free_slots.extend([[hh, ha, father, mother, head]] * (size - len(members)))
    _fill(rng, age, male, pools, free_slots, hh_of, rel, kin, alt)
    return hh_of, rel, kin, alt


def _fill(
    rng: np.random.Generator, age: Arr, male: Arr, pools: _Pools, slots: list[list[int]], hh_of: Arr,
    rel: list[str], kin: Arr, alt: Arr,
) -> None:  # fmt: skip
    """Put every family person not yet placed into a free place, preferring a household whose head's
    age fits a child (20-45 years older), a grandchild (45+ older), a sibling (±15) or a parent."""
    left = np.flatnonzero(~pools.used)
    if len(left) != len(slots):
        raise AssertionError(f"{len(left)} people for {len(slots)} places")  # pragma: no cover
    buckets: dict[int, list[list[int]]] = {}
    for sl in slots:
        buckets.setdefault(sl[1] // 5, []).append(sl)
    keys = sorted(buckets)
    for p in rng.permutation(left).tolist():
        a = int(age[p])
        want = (a + 30) // 5 if a < 18 else a // 5
        key = min((k for k in keys if buckets[k]), key=lambda k: (abs(k - want), k))
        hh, ha, father, mother, head = buckets[key].pop()
        d, m = ha - a, bool(male[p])
        k, o = (father, mother) if d >= 18 else (head, -1)
        if d >= 45:
            r = REL_GRANDCHILD[m]
        elif d >= 18:
            r = REL_CHILD[m]
        elif abs(d) <= 15 and a >= 16:
            r = ("71" if m else "75") if d < 0 else ("73" if m else "77")
        elif d <= -18:
            r, k = REL_PARENT[m], (head if m and head == father else -1)
        else:
            r, k = "97", -1
        hh_of[p], rel[p], kin[p], alt[p] = hh, r, k, o


def _given_names(rng: np.random.Generator, c: Census, birth_year: np.ndarray, male: np.ndarray) -> list[str]:
    """Given names by birth year and sex: a listed name, one character or two, from given_names.csv."""
    out = [""] * len(birth_year)
    cuts = sorted({r[3] for r in c.given} | {r[4] + 1 for r in c.given})
    band = np.searchsorted(cuts, birth_year, side="right")
    for b in np.unique(band):
        year = cuts[b - 1] if b > 0 else cuts[0] - 1
        for m in (True, False):
            idx = np.flatnonzero((band == b) & (male == m))
            if not len(idx):
                continue
            fits = [r for r in c.given if r[3] <= year <= r[4] and r[2] in ("any", "male" if m else "female")]
            names = [r for r in fits if r[0] == "name"]
            chars = [r for r in fits if r[0] == "char"]
            cw = np.array([r[5] for r in chars]) / sum(r[5] for r in chars)
            listed = _f(c, "given_name_listed_share_2015" if year >= 2015 else "given_name_listed_share")
            single = _f(c, "given_name_single_share_1990" if year >= 1990 else "given_name_single_share")
            u = rng.random(len(idx))
            a, z = rng.choice(len(chars), len(idx), p=cw), rng.choice(len(chars), len(idx), p=cw)
            nm = (
                rng.choice(len(names), len(idx), p=np.array([r[5] for r in names]) / sum(r[5] for r in names))
                if names
                else a
            )
            for i, p in enumerate(idx.tolist()):
                if names and u[i] < listed:
                    out[p] = names[nm[i]][1]
                elif u[i] < listed + single or a[i] == z[i]:
                    out[p] = chars[a[i]][1]
                else:
                    out[p] = chars[a[i]][1] + chars[z[i]][1]
    return out


def citizen_ids(birth: np.ndarray, male: np.ndarray, prefixes: Sequence[int] = range(1, 100)) -> list[str]:
    """GENERATED 18-character citizen IDs: Yongchuan's region code for the birth year
    (:func:`region_for_birth_year`), birth date, a sequence code (2 digits from ``prefixes``, the
    place of the 派出所 code, 1-99, then a digit odd for men and even for women) unique per birth
    date and sex, and the ISO 7064 MOD 11-2 check character (GB 11643-1999 §4). birth: (n,)
    datetime64[D]; male: (n,) bool. Raises ValueError when a prefix is outside 1-99 or more people
    share a birth date and sex than ``5 × len(prefixes)``."""
    if not prefixes or min(prefixes) < 1 or max(prefixes) > 99:
        raise ValueError("sequence prefixes must lie in 1-99")
    n = len(birth)
    key = birth.astype("int64") * 2 + male
    order = np.argsort(key, kind="stable")
    ks = key[order]
    start = np.r_[0, np.flatnonzero(ks[1:] != ks[:-1]) + 1]
    rank = np.empty(n, dtype=int)
    rank[order] = np.arange(n) - np.repeat(start, np.diff(np.r_[start, n]))
    if n and rank.max() >= 5 * len(prefixes):
        raise ValueError(
            f"more than {5 * len(prefixes)} people of one sex born on one day: give more prefixes"
        )
    pre = np.asarray(prefixes)[rank % len(prefixes)]
    seq = pre * 10 + 2 * (rank // len(prefixes)) + male
    years = birth.astype("datetime64[Y]").astype(int) + 1970
    regions = {y: region_for_birth_year(int(y)) for y in np.unique(years)}
    ymd = np.char.replace(birth.astype(str), "-", "")
    body = [
        regions[y] + d + f"{s:03d}"
        for y, d, s in zip(years.tolist(), ymd.tolist(), seq.tolist(), strict=True)
    ]
    digits = np.frombuffer("".join(body).encode(), dtype=np.uint8).reshape(n, 17) - 48
    check = _CHECK[(digits * _WEIGHTS).sum(1) % 11]
    return [b + ch for b, ch in zip(body, check.tolist(), strict=True)]


def _masks(age: Arr, male: Arr, rural: Arr, alone: Arr, family: Arr, left_behind: Arr) -> dict[str, Arr]:
    """The eligibility masks named in tag_rates.csv (:data:`ELIGIBLE`)."""
    return {
        "age_80_plus": age >= 80, "age_60_plus_alone": alone, "urban_age_60_plus_alone": alone & ~rural,
        "rural_age_60_plus_alone": alone & rural, "urban_family_household": family & ~rural,
        "rural_family_household": family & rural, "urban": ~rural, "rural": rural, "age_60_plus": age >= 60,
        "male_20_plus": male & (age >= 20), "female_20_plus": ~male & (age >= 20),
        "left_behind_child": left_behind,
        "female_20_39": ~male & (age >= 20) & (age <= 39), "age_35_plus": age >= 35, "age_18_plus": age >= 18,
        "age_18_69": (age >= 18) & (age <= 69),
    }  # fmt: skip


def _tags(
    rng: np.random.Generator,
    c: Census,
    age: Arr,
    male: Arr,
    rural: Arr,
    hh_of: Arr,
    hh_size: Arr,
    family_hh: Arr,
) -> list[list[str]]:
    """Tags per person at the rates of tag_rates.csv, rows in file order: ``round(rate × count(per))``
    persons drawn among the eligible ones (all of them when fewer); 低保 draws whole households and
    never one with a 特困 person (特困供养 and 低保 exclude each other)."""
    n = len(age)
    family = family_hh[hh_of]
    alone = family & (hh_size[hh_of] == 1) & (age >= 60)
    mid = np.bincount(hh_of, weights=(age >= 20) & (age <= 49), minlength=len(hh_size)) > 0
    child = rural & (age < 16)
    masks = _masks(age, male, rural, alone, family, child & family & ~mid[hh_of])
    per = {"all": np.ones(n, bool), "urban": ~rural, "rural": rural, "rural_child_under_16": child}
    out: list[list[str]] = [[] for _ in range(n)]
    has = {t: np.zeros(n, bool) for t in rules.tag_catalogue()}
    for tr in c.tag_rates:
        elig = masks[tr.eligible] & ~has[tr.tag]
        base = elig if tr.per == "eligible" else per[tr.per]
        target = min(int(round(tr.rate * base.sum())), int(elig.sum()))
        if target <= 0:
            continue
        if tr.tag == "dibao":
            blocked = np.bincount(hh_of, weights=has["tekun"], minlength=len(hh_size)) > 0
            cand = np.unique(hh_of[elig & ~blocked[hh_of]])
            cand = cand[rng.permutation(len(cand))]
            take = cand[np.cumsum(hh_size[cand]) <= target]
            chosen = np.flatnonzero(np.isin(hh_of, take) & elig)
        else:
            idx = np.flatnonzero(elig)
            w = np.where(age[idx] >= 60, tr.weight_60_plus, 1.0)
            chosen = rng.choice(idx, size=target, replace=False, p=w / w.sum())
        has[tr.tag][chosen] = True
        for p in chosen.tolist():
            out[p].append(tr.tag)
    return out


def _points(rng: np.random.Generator, poly: BaseGeometry | None, k: int) -> list[tuple[float, float] | None]:
    """``k`` random points inside ``poly`` (rejection sampling in its bounding box), None without one."""
    if poly is None or poly.is_empty:
        return [None] * k
    x0, y0, x1, y1 = poly.bounds
    shapely.prepare(poly)
    got: list[tuple[float, float]] = []
    for _ in range(100):
        if len(got) >= k:
            break
        xs = np.round(rng.uniform(x0, x1, 2 * k + 8), 6)  # 6 decimals (~0.1 m), rounded before the test
        ys = np.round(rng.uniform(y0, y1, 2 * k + 8), 6)
        inside = shapely.contains_xy(poly, xs, ys)
        got += list(zip(xs[inside].tolist(), ys[inside].tolist(), strict=True))
    rp = poly.representative_point()
    return (got + [(round(rp.x, 6), round(rp.y, 6))] * k)[:k]  # type: ignore[return-value]


def generate(size: int, grids: Sequence[Grid], *, seed: int, on: date,
             prefixes: Sequence[int] = range(1, 100)) -> Population:  # fmt: skip
    """Generate ``size`` people living in ``grids`` as of ``on``.

    Steps: ages and sexes from the pyramid (age_sex.csv); a share of people aged 16-59 in collective
    households (集体户, facts.csv: Chongqing 2020 share and mean size); the others in family
    households (家庭户) whose sizes follow household_size.csv, each in a grid drawn by ``Grid.weight``
    and composed by :func:`_compose` (relations: GB/T 4761 codes of registry/data/relations.yaml);
    names (surnames.csv, given_names.csv; children take the father's surname, 1 in 13 the
    mother's); GENERATED citizen IDs (:func:`citizen_ids`, sequence prefixes ``prefixes``);
    ethnicity per household (ethnicity.csv); tags (:func:`_tags`); one house per household at a
    random point inside its grid's polygon. Deterministic for a given seed and input.

    size: people (>= 1); grids: at least one; seed: RNG seed; on: the date ages refer to.
    Returns a :class:`Population`. Raises ValueError for an empty grid list or a bad size.
    """
    if size < 1 or not grids:
        raise ValueError("generate: give a size >= 1 and at least one grid")
    enabled = gc.isenabled()
    gc.disable()  # millions of new dicts would trigger the cyclic collector again and again (2x slower)
    try:
        return _generate(size, grids, seed, on, prefixes)
    finally:
        if enabled:
            gc.enable()


def _generate(size: int, grids: Sequence[Grid], seed: int, on: date, prefixes: Sequence[int]) -> Population:
    c = census()
    rng = np.random.default_rng(seed)
    age, male = _ages(rng, c, size)
    # collective households (集体户)
    share = _f(c, "chongqing_collective_household_persons") / _f(c, "chongqing_population")
    coll_mean = _f(c, "chongqing_collective_household_persons") / _f(c, "chongqing_collective_households")
    cand = np.flatnonzero((age >= _f(c, "collective_age_min")) & (age <= _f(c, "collective_age_max")))
    m = min(int(round(share * size)), len(cand))
    coll = rng.choice(cand, m, replace=False) if m else np.array([], dtype=int)
    cs = rng.geometric(1 / coll_mean, m + 1) if m else np.array([], dtype=int)
    cs = cs[: np.searchsorted(np.cumsum(cs), m) + 1] if m else cs
    if m:
        cs[-1] -= cs.sum() - m
    family = np.ones(size, bool)
    family[coll] = False
    # family households (家庭户)
    sizes, shares = c.household_size
    nf = int(family.sum())
    fs = rng.choice(sizes, nf // 2 + 2, p=shares)
    fs = fs[: np.searchsorted(np.cumsum(fs), nf) + 1]
    fs[-1] -= fs.sum() - nf
    hh_size = np.r_[fs, cs].astype(int)
    h, hf = len(hh_size), len(fs)
    family_hh = np.arange(h) < hf
    gw = np.array([g.weight for g in grids], float)
    grid_of = rng.choice(len(grids), h, p=gw / gw.sum())
    rural_hh = np.array([not g.urban for g in grids])[grid_of]
    adults = family & (age >= 18)
    if (fs > 0).sum() > adults.sum():
        raise ValueError("generate: more family households than adults; the tables are inconsistent")
    hh_of, rel, kin, alt = _compose(rng, c, age, male, hh_size[:hf], rural_hh[:hf], family)
    # collective members: the first is the head (户主), the others not related (非亲属)
    if m:
        starts = np.r_[0, np.cumsum(cs)[:-1]]
        hh_of[coll] = hf + np.repeat(np.arange(len(cs)), cs)
        first = set(starts.tolist())
        for i, p in enumerate(coll.tolist()):
            rel[p] = "02" if i in first else "99"
    rural = rural_hh[hh_of]
    birth = _birth_dates(rng, age, on)
    ids = citizen_ids(birth, male, prefixes)
    byear = birth.astype("datetime64[Y]").astype(int) + 1970
    given = _given_names(rng, c, byear, male)
    sn, sw = c.surnames
    own = rng.choice(len(sn), size, p=sw / sw.sum())
    src = np.where((alt >= 0) & (rng.random(size) < _f(c, "child_takes_mother_surname_ratio")), alt, kin)
    sur = own.copy()
    for _ in range(4):  # chains head → child → grandchild resolve in a few passes
        sur = np.where(src >= 0, sur[src], own)
    ec, es = c.ethnicity
    eth = np.array(ec)[rng.choice(len(ec), h, p=es / es.sum())]
    tags = _tags(rng, c, age, male, rural, hh_of, hh_size, family_hh)
    names = [sn[s] + g for s, g in zip(sur.tolist(), given, strict=True)]
    return _rows(rng, c, grids, grid_of, hh_size, family_hh, hh_of, rel, ids, male, birth, names, eth, tags)


def _rows(
    rng: np.random.Generator, c: Census, grids: Sequence[Grid], grid_of: Arr, hh_size: Arr, family_hh: Arr,
    hh_of: Arr, rel: list[str], ids: list[str], male: Arr, birth: Arr, names: list[str], eth: Arr,
    tags: list[list[str]],
) -> Population:  # fmt: skip
    """The generated rows as dicts (see :class:`Population`)."""
    pop = Population()
    h = len(hh_size)
    seq: Counter[int] = Counter()
    number, address = [""] * h, [""] * h
    floors_u = rng.integers(6, 34, h).tolist()
    floors_r = rng.integers(1, 4, h).tolist()
    u = rng.random((h, 2)).tolist()
    by_grid: dict[int, list[int]] = {}
    for hh in range(h):
        by_grid.setdefault(int(grid_of[hh]), []).append(hh)
    points: dict[int, tuple[float, float] | None] = {}
    for gi, hhs in by_grid.items():
        for hh, pt in zip(hhs, _points(rng, grids[gi].polygon, len(hhs)), strict=True):
            points[hh] = pt
    concrete, brick = _f(c, "urban_concrete_share"), _f(c, "rural_brick_wood_share")
    gof, fam = grid_of.tolist(), family_hh.tolist()
    for hh in range(h):
        g = grids[gof[hh]]
        seq[gof[hh]] += 1
        k = seq[gof[hh]]
        number[hh] = f"{NUMBER_PREFIX}{g.code}{k:05d}"
        if g.urban:
            address[hh] = (
                f"{g.place}第{g.code[-3:].lstrip('0')}网格{(k - 1) // 24 + 1}栋{(k - 1) % 24 + 1:02d}号"
            )
        else:
            address[hh] = f"{g.place}{(k - 1) // 40 + 1}组{k}号"
        pt = points[hh]
        structure = ("3" if u[hh][0] < concrete else "4") if g.urban else ("5" if u[hh][0] < brick else "4")
        pop.houses.append({
            "code": f"{NUMBER_PREFIX}-{g.code}-{k:05d}", "address": address[hh], "grid_code": g.code,
            "village_code": g.code[:12], "use": "1", "structure": structure,
            "floors": floors_u[hh] if g.urban else floors_r[hh],
            "lon": pt[0] if pt else None, "lat": pt[1] if pt else None, "generated": True,
        })  # fmt: skip
        pop.households.append({
            "number": number[hh], "kind": "family" if fam[hh] else "collective", "address": address[hh],
            "grid_code": g.code, "village_code": g.code[:12], "generated": True,
        })  # fmt: skip
    bd = np.datetime_as_string(birth).tolist()
    hof, ml, el = hh_of.tolist(), male.tolist(), eth.tolist()
    for p in np.argsort(hh_of, kind="stable").tolist():
        hh = hof[p]
        g = grids[gof[hh]]
        pop.residents.append({
            "citizen_id": ids[p], "name": names[p], "sex": "male" if ml[p] else "female", "birth_date": bd[p],
            "ethnicity": el[hh], "household_number": number[hh], "relation": rel[p],
            "address": address[hh], "grid_code": g.code, "village_code": g.code[:12], "status": "active",
            "tags": tags[p], "generated": True,
        })  # fmt: skip
        if rel[p] == "02":
            pop.heads[number[hh]] = ids[p]
    return pop
