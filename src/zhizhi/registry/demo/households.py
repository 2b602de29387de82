"""Households (家庭户) of the demo generator: ages, sexes and birth dates drawn from the census
pyramid, and family persons placed into households with GB/T 4761 relations (与户主关系).

Pure code: numpy RNG → arrays, no database. Every person is GENERATED.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from zhizhi.registry import rules
from zhizhi.registry.demo.tables import MAX_AGE, Census, _f

Arr = np.ndarray


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
