"""Persons of the demo generator: given names, GENERATED citizen IDs (公民身份号码) and tags (标签).

Pure code: numpy RNG → arrays and lists, no database. Every person is GENERATED; the IDs validate
but belong to nobody.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from zhizhi.registry import rules
from zhizhi.registry.demo.tables import Census, _f, region_for_birth_year

Arr = np.ndarray
_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])  # GB 11643-1999 §A.2
_CHECK = np.array(list("10X98765432"))


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
