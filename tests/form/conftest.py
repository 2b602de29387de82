"""Form test fixtures: a small GENERATED population of 青峰镇 (500118100000) created through the registry
service's upserts, and the expected figures computed from it independently in plain Python.

Every person, household, house and unit here is invented. Citizen IDs use the region prefix 500118
(永川区, a real GB/T 2260 code) with made-up birth dates and sequence numbers, and get their GB 11643
check character, so they validate and belong to nobody. Names are surnames with "测试" given names.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from zhizhi.core import time as ztime
from zhizhi.core.access import Actor
from zhizhi.core.db import session_factory
from zhizhi.registry import service as registry
from zhizhi.registry.identifiers import check_char, org_check_char
from zhizhi.registry.rules import age_on

FORM_TABLES = (
    "form_adjustment", "form_answer_step", "form_answer", "form_task", "form_outside_demand",
    "form_catalogue",
)  # fmt: skip
"""The form domain's own tables, emptied after every test that used the database (children first)."""
REGISTER_TABLES = (
    "resident_version", "household_version", "house_version", "register_unit_version", "register_change",
    "register_conflict", "resident", "household", "house", "register_unit",
)  # fmt: skip
TOWN = "500118100000"  # 青峰镇: 6 villages, 城镇 (121, 122) and 乡村 (220) by the 2016 城乡划分代码
OTHER_TOWN = "500118001000"  # 中山路街道
D0 = date(2026, 1, 1)  # everyone is on the register from this date
AS_OF = date(2026, 11, 30)  # end of the period 2026-11
SOURCE = "import:gongan-hukou"
SYSTEM = Actor(None, "system", "系统", "system", "500118-CYZX", "500118")
TOWN_ACTOR = Actor(None, f"{TOWN}.duty", "镇街值班员(生成)", "town_duty", f"{TOWN}-ZHZX", "500118", TOWN)
OTHER_TOWN_ACTOR = Actor(
    None, f"{OTHER_TOWN}.duty", "外镇值班员(生成)", "town_duty", f"{OTHER_TOWN}-ZHZX", "500118", OTHER_TOWN
)
MZJ_ACTOR = Actor(None, "500118-MZJ.handler", "民政局处置人(生成)", "dept_handler", "500118-MZJ", "500118")
CHIEF = Actor(None, "500118.chief", "城运中心值班长(生成)", "center_chief", "500118-CYZX", "500118")


def local_today() -> date:
    """Today in Beijing time, as the services see it."""
    return ztime.to_local(ztime.utcnow()).date()


def next_month() -> date:
    """The first day of next month (Beijing time): the start of a period that has not started yet."""
    return (local_today().replace(day=1) + timedelta(days=32)).replace(day=1)


def gen_id(birth: date, seq: int, region: str = "500118") -> str:
    """A GENERATED 18-character citizen ID (odd sequence: male) with its GB 11643 check character."""
    body = f"{region}{birth:%Y%m%d}{seq:03d}"
    return body + check_char(body)


@pytest.fixture(autouse=True)
def _clean_form_tables(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "engine" not in request.fixturenames:
        return
    eng: Engine = request.getfixturevalue("engine")
    with eng.begin() as c:
        for t in FORM_TABLES:
            c.execute(text(f"DELETE FROM {t}"))


@pytest.fixture
def clean_registers(engine: Engine) -> Iterator[None]:
    """Empty the register tables after the test (for tests that build their own people)."""
    yield
    _empty(engine)


def _empty(engine: Engine) -> None:
    with engine.begin() as c:
        for t in REGISTER_TABLES:
            c.execute(text(f"DELETE FROM {t}"))


@dataclass
class Person:
    """One generated resident as the tests expect to find it."""

    citizen_id: str
    sex: str
    birth: date
    village: str
    grid: str
    household: str
    tags: set[str] = field(default_factory=set)
    ethnicity: str = "01"
    status: str = "active"
    status_date: date | None = None

    def age(self, on: date) -> int:
        return age_on(self.birth, on)


@dataclass
class Population:
    """The generated town: people, households by village, houses and units (code, village, use or
    industry, employees), and helpers to count what a form should show."""

    people: list[Person]
    villages: list[str]
    grids: dict[str, list[str]]
    households: dict[str, str]  # number -> village
    houses: list[tuple[str, str, str]]  # code, grid, use
    units: list[tuple[str, str, str, int]]  # org code, grid, industry, employees

    def count(self, where: Callable[[Person], bool], village: str | None = None) -> int:
        return sum(1 for p in self.people if where(p) and (village is None or p.village == village))


SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"


def build_population(session: Session, seed: int = 20261130) -> Population:
    """Create the GENERATED population of :data:`TOWN` through the registry service (upserts by the
    system actor, valid from :data:`D0`), with a few deaths and move-outs later in 2026."""
    from zhizhi.org.models import OrgUnit

    rng = random.Random(seed)
    villages = list(
        session.scalars(
            select(OrgUnit.code)
            .where(OrgUnit.level == "village", OrgUnit.town_code == TOWN)
            .order_by(OrgUnit.code)
        )
    )
    grids = {
        v: list(
            session.scalars(
                select(OrgUnit.code)
                .where(OrgUnit.level == "grid", OrgUnit.code.like(f"{v}%"))
                .order_by(OrgUnit.code)
            )
        )[:2]
        for v in villages
    }
    rural = {v for v in villages if v.endswith(("203", "204"))}
    seqs: dict[date, int] = {}

    def new_id(birth: date, sex: str) -> str:
        n = seqs.get(birth, 0) + 1
        seqs[birth] = n
        return gen_id(birth, 2 * n - (1 if sex == "male" else 0))

    def birth_for(age: int) -> date:
        return date(D0.year - age - 1, rng.randint(1, 12), rng.randint(1, 28))

    people: list[Person] = []
    households: dict[str, str] = {}
    houses: list[tuple[str, str, str]] = []
    units: list[tuple[str, str, str, int]] = []
    for vi, v in enumerate(villages):
        for h in range(8):
            grid = grids[v][h % len(grids[v])]
            number = f"GEN{v[-6:]}{h:02d}"
            households[number] = v
            registry.upsert_household(
                session, SYSTEM, {"number": number, "grid_code": grid, "kind": "family", "generated": True},
                SOURCE, valid_from=D0,
            )  # fmt: skip
            head_age = rng.choice([28, 35, 42, 50, 58, 63, 67, 72, 78, 82, 86, 91])
            members = [("male" if rng.random() < 0.55 else "female", head_age)]
            if rng.random() < 0.7:
                members.append(
                    ("female" if members[0][0] == "male" else "male", max(20, head_age - rng.randint(0, 4)))
                )
            for _ in range(rng.choice([0, 0, 1, 2])):
                members.append(
                    (
                        rng.choice(["male", "female"]),
                        rng.randint(1, 14) if head_age < 60 else rng.randint(25, 40),
                    )
                )
            poor = rng.random() < 0.25
            for i, (sex, age) in enumerate(members):
                p = Person(new_id(birth_for(age), sex), sex, date(1900, 1, 1), v, grid, number)
                p.birth = date(int(p.citizen_id[6:10]), int(p.citizen_id[10:12]), int(p.citizen_id[12:14]))
                a = p.age(D0)
                if poor:
                    p.tags.add("dibao")
                if a >= 80:
                    p.tags.add("gaoling")
                if a >= 60 and len(members) == 1 and rng.random() < 0.6:
                    p.tags.add("dujv")
                if a >= 60 and len(members) == 1 and poor and rng.random() < 0.5:
                    p.tags.discard("dibao")
                    p.tags.add("tekun")
                if rng.random() < 0.08:
                    p.tags.add("canji")
                if sex == "male" and 40 <= a <= 80 and rng.random() < 0.15:
                    p.tags.add("tuiyi")
                if a < 14 and v in rural and rng.random() < 0.6:
                    p.tags.add("liushou")
                if a >= 35 and rng.random() < 0.2:
                    p.tags.add("manbing")
                if a >= 70 and rng.random() < 0.15:
                    p.tags.add("shineng")
                if 20 <= a <= 60 and rng.random() < 0.03:
                    p.tags.add("jingzhang")
                p.ethnicity = "15" if rng.random() < 0.1 else "01"
                registry.upsert_resident(
                    session, SYSTEM,
                    {"citizen_id": p.citizen_id, "name": f"{SURNAMES[(vi * 8 + h + i) % len(SURNAMES)]}测试",
                     "grid_code": grid, "household_number": number, "relation": "02" if i == 0 else "10",
                     "ethnicity": p.ethnicity, "tags": sorted(p.tags), "generated": True},
                    SOURCE, valid_from=D0,
                )  # fmt: skip
                people.append(p)
            head = next(p for p in people if p.household == number)
            registry.upsert_household(session, SYSTEM, {"number": number, "head_citizen_id": head.citizen_id},
                                      SOURCE, valid_from=D0)  # fmt: skip
        for k in range(3):
            code = f"GENH{v[-6:]}{k}"
            use = "1" if k < 2 else "3"
            registry.upsert_house(
                session, SYSTEM, {"code": code, "grid_code": grids[v][0], "use": use, "generated": True},
                SOURCE, valid_from=D0,
            )  # fmt: skip
            houses.append((code, grids[v][0], use))
        for k, industry in enumerate(["C3011", "F5211"][: 1 + vi % 2]):
            body = f"{97000000 + vi * 10 + k}"
            org_code = f"{body}-{org_check_char(body)}"
            employees = 5 + 7 * vi + k
            registry.upsert_unit(
                session,
                SYSTEM,
                {
                    "org_code": org_code,
                    "name": f"测试企业{vi}{k}(生成)",
                    "industry": industry,
                    "employees": employees,
                    "grid_code": grids[v][0],
                    "generated": True,
                },
                SOURCE,
                valid_from=D0,
            )
            units.append((org_code, grids[v][0], industry, employees))
    # later in the year: two deaths and one move-out (status changes, each from its date)
    for p, status, when in (
        (people[3], "deceased", date(2026, 5, 10)),
        (people[17], "moved_out", date(2026, 8, 1)),
        (people[40], "deceased", date(2026, 11, 20)),
    ):
        registry.upsert_resident(
            session,
            SYSTEM,
            {"citizen_id": p.citizen_id, "status": status, "status_date": when.isoformat()},
            SOURCE,
        )
        p.status, p.status_date = status, when
    return Population(people, villages, grids, households, houses, units)


@pytest.fixture(scope="module")
def population(engine: Engine) -> Iterator[Population]:
    """The generated 青峰镇, committed once per test module and removed after it."""
    _empty(engine)
    with session_factory(engine)() as s:
        pop = build_population(s)
        s.commit()
    yield pop
    _empty(engine)
