"""The demo population generator: :func:`generate` draws people, households and houses in grids and
returns them as plain dicts (:class:`Population`) in the registry service's input form.

Pure code: numpy RNG with a seed → plain dicts, no database. Every row is GENERATED.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from zhizhi.registry.demo.households import _ages, _birth_dates, _compose
from zhizhi.registry.demo.persons import _given_names, _tags, citizen_ids
from zhizhi.registry.demo.tables import Census, _f, census

Arr = np.ndarray

SOURCE = "system:demo-generated"
"""Provenance source of every generated value (rules.parse_source: ``system:<job>``)."""
NUMBER_PREFIX = "DEMO"
"""Household numbers (户号) and house codes of generated rows start with this, so they never look real."""


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
