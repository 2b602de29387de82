"""A columnar copy of the resident register (人口台账) for computing forms fast (列存快照).

Counting 20 indicators over 1.1 M residents in SQLite is a row-by-row scan and join (about 1 µs a
row: 2 s for Yongchuan, bench/form_render.py). Forms are computed far more often than the register
changes between two of them, so the form service keeps, per database, the **currently believed**
resident version rows (``superseded_at IS NULL``) with the resident's sex and birth date as numpy
arrays, and evaluates each indicator as vectorised masks and ``bincount`` (milliseconds).

Correctness rules:

- Only committed data: the copy is read on a connection of its own, never the caller's session
  (a transaction's uncommitted writes never reach a copy other requests use).
- Fresh on every use: before each computation the register's fingerprint is read (row count, last
  version id and its recording instant, last change id: four indexed lookups). If rows were added,
  the residents concerned (by the change log, and by version rows past the last id) are re-read and
  replaced; if rows disappeared, an id was reused, or the count does not add up, the copy is
  rebuilt. So a form computed now sees exactly the committed register, as SQL would.
- Past knowledge (``known_at``) is not in the copy (superseded rows are left out): the service
  computes such forms with SQL (query.py), which is also the reference the tests compare against.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from sqlalchemy import String, cast, func, select
from sqlalchemy.engine import Connection, Engine

from zhizhi.form import rules
from zhizhi.registry.models import RegisterChange, Resident, ResidentVersion
from zhizhi.registry.rules import birth_cutoff, tag_catalogue

OPEN = np.iinfo(np.int32).max
"""``valid_to`` of an open-ended row; also "no date" for a status date (days since 1970-01-01)."""
NONE = -1
"""Place index of a missing code, household id of a resident without a household."""
STATUS = {"active": 1, "moved_out": 2, "deceased": 3}
CHUNK = 500
"""Resident ids per ``IN`` list when re-reading changed residents."""


def day(d: date) -> int:
    """Days since 1970-01-01 of a date (the unit of the copy's date columns)."""
    return int(np.datetime64(d, "D").astype(np.int64))


def _days(values: Sequence[str | None], missing: int) -> np.ndarray:
    """ISO dates (text) as days since 1970-01-01; ``missing`` for None. Each distinct text is parsed
    once (a register has tens of thousands of distinct dates, not millions)."""
    distinct = [v for v in set(values) if v is not None]
    parsed = np.array(distinct, dtype="datetime64[D]").astype(np.int64).tolist() if distinct else []
    lookup: dict[str | None, int] = dict(zip(distinct, parsed, strict=True))
    lookup[None] = missing
    return np.fromiter(map(lookup.__getitem__, values), dtype=np.int32, count=len(values))


@dataclass(frozen=True)
class Fingerprint:
    """What identifies the register's state: version rows (count, last id and its recording instant)
    and the last change id."""

    count: int
    last_id: int
    last_recorded: str
    last_change: int


@dataclass(frozen=True)
class Columns:
    """The believed resident version rows as arrays (one entry per row, aligned)."""

    resident: np.ndarray  # int64
    household: np.ndarray  # int64, NONE without
    valid_from: np.ndarray  # int32 days
    valid_to: np.ndarray  # int32 days, OPEN
    district: np.ndarray  # int32 place index
    town: np.ndarray
    village: np.ndarray
    grid: np.ndarray
    male: np.ndarray  # bool
    birth: np.ndarray  # int32 days
    minority: np.ndarray  # bool: ethnicity recorded and not 01
    status: np.ndarray  # int8 (STATUS, 0 none)
    status_date: np.ndarray  # int32 days, OPEN without
    tags: np.ndarray  # int64 bit mask (tag catalogue order)

    def __len__(self) -> int:
        return len(self.resident)

    def take(self, keep: np.ndarray) -> Columns:
        return Columns(**{k: getattr(self, k)[keep] for k in self.__dataclass_fields__})

    @staticmethod
    def concat(parts: Sequence[Columns]) -> Columns:
        return Columns(
            **{k: np.concatenate([getattr(p, k) for p in parts]) for k in Columns.__dataclass_fields__}
        )


class Places:
    """Org-unit codes as small integers (the copy stores indexes, not strings)."""

    def __init__(self) -> None:
        self.codes: list[str] = []
        self.index: dict[str, int] = {}

    def ids(self, codes: Sequence[str | None]) -> np.ndarray:
        for c in set(codes):
            if c is not None and c not in self.index:
                self.index[c] = len(self.codes)
                self.codes.append(c)
        lookup: dict[str | None, int] = {k: i for k, i in self.index.items()}
        lookup[None] = NONE
        return np.fromiter(map(lookup.__getitem__, codes), dtype=np.int32, count=len(codes))


@dataclass(frozen=True)
class Snapshot:
    """One database's copy: the columns, its place table, tag bits and the fingerprint it matches."""

    columns: Columns
    places: Places
    bits: dict[str, int]
    fingerprint: Fingerprint


_CACHE: dict[str, Snapshot] = {}
_LOCK = threading.Lock()


def _select() -> Any:
    """The believed version rows with the resident's sex and birth date; dates as ISO text (no
    per-value conversion on the way). District and town are not read: they are the first 6 and 9
    digits of the village code (registry.service.history.location_codes)."""
    v, r = ResidentVersion, Resident
    return (
        select(
            v.resident_id,
            v.household_id,
            cast(v.valid_from, String),
            cast(v.valid_to, String),
            v.village_code,
            v.grid_code,
            r.sex,
            cast(r.birth_date, String),
            v.ethnicity,
            v.status,
            cast(v.status_date, String),
            v.tags,
        )  # fmt: skip
        .join(r, r.id == v.resident_id)
        .where(v.superseded_at.is_(None))
    )


def _columns(rows: Sequence[Any], places: Places, bits: dict[str, int]) -> Columns:
    """Build the arrays from fetched rows (see :func:`_select` for the column order). Values that
    repeat (codes, tags, dates, sex) are converted once per distinct value."""
    n = len(rows)
    if not n:
        return Columns(*(np.zeros(0, dtype=t) for t in (
            np.int64, np.int64, np.int32, np.int32, np.int32, np.int32, np.int32, np.int32, bool,
            np.int32, bool, np.int8, np.int32, np.int64)))  # fmt: skip
    cols = list(zip(*rows, strict=True))

    def mapped(values: Sequence[Any], convert: Any, dtype: Any) -> np.ndarray:
        lookup = {v: convert(v) for v in set(values)}
        return np.fromiter(map(lookup.__getitem__, values), dtype=dtype, count=n)

    def tag_mask(text: str | None) -> int:
        m = 0
        for t in (text or "").split("|"):
            if t in bits:
                m |= 1 << bits[t]
        return m

    village = places.ids(cols[4])
    town, district = _parents(village, places)
    return Columns(
        resident=np.fromiter(cols[0], dtype=np.int64, count=n),
        household=np.fromiter((NONE if h is None else h for h in cols[1]), dtype=np.int64, count=n),
        valid_from=_days(cols[2], OPEN),
        valid_to=_days(cols[3], OPEN),
        district=district,
        town=town,
        village=village,
        grid=places.ids(cols[5]),
        male=mapped(cols[6], lambda v: v == "male", bool),
        birth=_days(cols[7], OPEN),
        minority=mapped(cols[8], lambda v: v is not None and v != "01", bool),
        status=mapped(cols[9], lambda v: STATUS.get(v or "", 0), np.int8),
        status_date=_days(cols[10], OPEN),
        tags=mapped(cols[11], tag_mask, np.int64),
    )


def _parents(village: np.ndarray, places: Places) -> tuple[np.ndarray, np.ndarray]:
    """Town and district place indexes of each row, from its village (12-digit NBS code: town = the
    first 9 digits + 000, district = the first 6)."""
    present = [int(i) for i in np.unique(village) if i != NONE]
    codes = [places.codes[i] for i in present]
    towns = places.ids([c[:9] + "000" for c in codes])
    districts = places.ids([c[:6] for c in codes])
    size = len(places.codes) + 1
    lut_t, lut_d = np.full(size, NONE, dtype=np.int32), np.full(size, NONE, dtype=np.int32)
    lut_t[present], lut_d[present] = towns, districts
    return lut_t[village], lut_d[village]  # NONE (-1) picks the last slot, which stays NONE


def _fetch(conn: Connection, stmt: Any) -> list[Any]:
    """Rows of ``stmt`` as plain tuples through the DB-API cursor (no result-row objects: a
    million rows come back about three times faster)."""
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params()
    positional = getattr(compiled, "positiontup", None)
    args: Any = tuple(params[k] for k in positional) if positional is not None else params
    cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cur.execute(str(compiled), args)
        return list(cur.fetchall())
    finally:
        cur.close()


def fingerprint(conn: Connection) -> Fingerprint:
    """The register's fingerprint, read on ``conn`` (four indexed lookups)."""
    v = ResidentVersion
    count = conn.scalar(select(func.count()).select_from(v)) or 0
    last = conn.execute(select(v.id, cast(v.recorded_at, String)).order_by(v.id.desc()).limit(1)).first()
    change = conn.scalar(select(func.max(RegisterChange.id))) or 0
    return Fingerprint(count, last[0] if last else 0, str(last[1]) if last else "", change)


def _load(conn: Connection, fp: Fingerprint) -> Snapshot:
    places, bits = Places(), {code: i for i, code in enumerate(tag_catalogue())}
    if len(bits) > 63:
        raise ValueError(
            "registry/data/tags.yaml has more than 63 tags: the copy's bit masks cannot hold them"
        )
    rows = _fetch(conn, _select())
    return Snapshot(_columns(rows, places, bits), places, bits, fp)


def _refresh(conn: Connection, old: Snapshot, fp: Fingerprint) -> Snapshot | None:
    """``old`` brought up to ``fp`` by re-reading the residents changed since, or None when only a
    rebuild is safe (rows deleted, an id reused)."""
    before = old.fingerprint
    if fp.last_id < before.last_id or (
        fp.last_id == before.last_id and fp.last_recorded != before.last_recorded
    ):
        return None
    if fp.last_change < before.last_change:
        return None
    v = ResidentVersion
    added = conn.scalar(select(func.count()).select_from(v).where(v.id > before.last_id)) or 0
    if fp.count != before.count + added:
        return None  # rows were deleted
    changed = set(
        conn.scalars(
            select(RegisterChange.entity_id).where(
                RegisterChange.id > before.last_change, RegisterChange.entity == "resident"
            )
        )
    )
    changed |= set(conn.scalars(select(v.resident_id).where(v.id > before.last_id)))
    if not changed:
        return Snapshot(old.columns, old.places, old.bits, fp)
    ids = sorted(changed)
    rows: list[Any] = []
    for i in range(0, len(ids), CHUNK):
        rows += _fetch(conn, _select().where(v.resident_id.in_(ids[i : i + CHUNK])))
    keep = ~np.isin(old.columns.resident, np.array(ids, dtype=np.int64))
    fresh = _columns(rows, old.places, old.bits)
    return Snapshot(Columns.concat([old.columns.take(keep), fresh]), old.places, old.bits, fp)


def current(engine: Engine) -> Snapshot:
    """The up-to-date copy of ``engine``'s committed register (built or refreshed as needed)."""
    key = engine.url.render_as_string(hide_password=False)
    with _LOCK, engine.connect() as conn:
        fp = fingerprint(conn)
        old = _CACHE.get(key)
        if old is not None and old.fingerprint == fp:
            return old
        snap = _refresh(conn, old, fp) if old is not None else None
        if snap is None:
            snap = _load(conn, fp)
        _CACHE[key] = snap
        return snap


def clear() -> None:
    """Forget every copy (tests; a process that replaced its database)."""
    with _LOCK:
        _CACHE.clear()


# --- counting ------------------------------------------------------------------------------------------


class Counter:
    """Vectorised indicators over one snapshot for one form computation (one org unit, one date)."""

    def __init__(
        self,
        snap: Snapshot,
        frame: Any,
        scope: tuple[str, str],
        dept_tags: Sequence[str],
        areas: dict[str, list[str]],
    ) -> None:
        self.snap, self.c, self.frame = snap, snap.columns, frame
        self.areas = areas
        p = snap.places.index
        level_col = {"district": self.c.district, "town": self.c.town, "village": self.c.village}.get(
            frame.org_level, self.c.grid
        )
        self.located = level_col == p.get(frame.org_code, -2)
        kind, code = scope
        if kind == "unit":
            self.located &= (self.c.tags & self._mask(dept_tags)) != 0
        elif kind in ("district", "town", "grid"):
            col = {"district": self.c.district, "town": self.c.town, "grid": self.c.grid}[kind]
            self.located &= col == p.get(code, -2)
        self.unit = {"village": self.c.village, "town": self.c.town}.get(frame.row_level, self.c.grid)

    def _mask(self, tags: Sequence[str]) -> int:
        m = 0
        for t in tags:
            m |= 1 << self.snap.bits[t]
        return m

    def valid(self, on: date) -> np.ndarray:
        d = day(on)
        return (self.c.valid_from <= d) & (self.c.valid_to > d) & (self.c.birth <= d)

    def person(self, p: rules.PersonFilter, on: date, area: str | None) -> np.ndarray:
        """Rows meeting filter ``p`` on date ``on`` (same meaning as query.person_conds)."""
        c, per = self.c, self.frame.period
        m = np.ones(len(c), dtype=bool)
        if p.status is not None:
            m &= c.status == STATUS[p.status]
        if p.status_in_period:
            m &= (c.status_date >= day(per.start)) & (c.status_date <= day(self.frame.as_of))
        if p.born_in_period:
            m &= (c.birth >= day(per.start)) & (c.birth <= day(self.frame.as_of))
        if p.tags:
            all_ = self._mask(p.tags)
            m &= (c.tags & all_) == all_
        if p.any_tags:
            m &= (c.tags & self._mask(p.any_tags)) != 0
        if p.no_tags:
            m &= (c.tags & self._mask(p.no_tags)) == 0
        if p.sex:
            m &= c.male if p.sex == "male" else ~c.male
        if p.age:
            lo, hi = p.age
            m &= c.birth <= day(birth_cutoff(on, lo))
            if hi is not None:
                m &= c.birth > day(birth_cutoff(on, hi + 1))
        if p.minority:
            m &= c.minority
        if area is not None:
            idx = [self.snap.places.index[v] for v in self.areas[area] if v in self.snap.places.index]
            m &= np.isin(c.village, np.array(idx, dtype=np.int32))
        return m

    def by_unit(self, mask: np.ndarray) -> dict[str | None, float]:
        keys = self.unit[mask]
        out: dict[str | None, float] = {}
        if not len(keys):
            return out
        missing = int((keys == NONE).sum())
        counts = np.bincount(keys[keys != NONE], minlength=len(self.snap.places.codes))
        for i in np.nonzero(counts)[0]:
            out[self.snap.places.codes[i]] = float(counts[i])
        if missing:
            out[None] = float(missing)
        return out

    def households(self, mask: np.ndarray) -> tuple[dict[str | None, float], float]:
        """Distinct households of the rows in ``mask``, by unit, and in total."""
        hh = self.c.household
        m = mask & (hh != NONE)
        keys = self.unit[m].astype(np.int64)
        pairs = np.unique(np.stack([keys, hh[m]], axis=1), axis=0) if m.any() else np.zeros((0, 2), np.int64)
        out: dict[str | None, float] = {}
        for k, n in zip(*np.unique(pairs[:, 0], return_counts=True), strict=True):
            out[None if k == NONE else self.snap.places.codes[k]] = float(n)
        return out, float(len(np.unique(hh[m])))

    def flow(self, m: rules.Measure) -> dict[str | None, float]:
        """Same meaning as query.resident_flow: entered (期末 in, 期初 not) or exited."""
        assert m.person is not None
        start, end = self.frame.period.before_start, self.frame.as_of
        here, there = (end, start) if m.flow == "entered" else (start, end)
        inside = self.valid(here) & self.located & self.person(m.person, here, m.area)
        level_col = {"district": self.c.district, "town": self.c.town, "village": self.c.village}.get(
            self.frame.org_level, self.c.grid
        )
        was = self.valid(there) & (level_col == self.snap.places.index.get(self.frame.org_code, -2))
        was &= self.person(m.person, there, m.area)
        inside &= ~np.isin(self.c.resident, self.c.resident[was])
        return self.by_unit(inside)


def residents(
    snap: Snapshot,
    frame: Any,
    columns: Sequence[rules.Column],
    scope: tuple[str, str],
    dept_tags: Sequence[str],
    areas: dict[str, list[str]],
) -> tuple[dict[int, dict[str | None, float]], dict[int, float]]:
    """Resident and household-with-members columns from the copy: values by unit per column, and the
    whole-org totals of the household columns (as query.residents + query.household_totals)."""
    k = Counter(snap, frame, scope, dept_tags, areas)
    base = k.valid(frame.as_of) & k.located
    out: dict[int, dict[str | None, float]] = {}
    totals: dict[int, float] = {}
    for c in columns:
        m = c.measure
        assert m is not None and m.person is not None
        if m.flow is not None:
            out[c.no] = k.flow(m)
            continue
        mask = base & k.person(m.person, frame.as_of, m.area)
        if m.kind == "households":
            out[c.no], totals[c.no] = k.households(mask)
        else:
            out[c.no] = k.by_unit(mask)
    return out, totals
