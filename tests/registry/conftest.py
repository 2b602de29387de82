"""Registry test fixtures: register tables emptied after each test that used the database, actors of
each data scope, and GENERATED citizen IDs.

Every person in these tests is invented. Citizen IDs are built from the region prefix 500118 (a
real GB/T 2260 code: 永川区) with made-up birth dates and sequence numbers, and get their check
character from GB 11643 (so they validate); they belong to nobody. Names are common surnames with
"测试" given names; phones use the 138-0000 block.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from zhizhi.core.access import Actor
from zhizhi.registry.identifiers import check_char

REGISTER_TABLES = (
    "resident_version",
    "household_version",
    "house_version",
    "register_unit_version",
    "register_change",
    "register_conflict",
    "resident",
    "household",
    "house",
    "register_unit",
)
"""Deleted in this order (version rows before the identities they point at)."""


@pytest.fixture(autouse=True)
def _clean_registers(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "engine" not in request.fixturenames:
        return
    eng: Engine = request.getfixturevalue("engine")
    with eng.begin() as c:
        for t in REGISTER_TABLES:
            c.execute(text(f"DELETE FROM {t}"))


def gen_id(birth: str, seq: int, region: str = "500118") -> str:
    """A GENERATED 18-character citizen ID: region, birth YYYYMMDD, 3-digit sequence (odd: male), and
    the GB 11643 check character."""
    body = f"{region}{birth}{seq:03d}"
    return body + check_char(body)


TOWN = "500118001000"  # 中山路街道
VILLAGE = "500118001001"  # 中山路社区
GRID1, GRID2 = "500118001001001", "500118001001002"
VILLAGE2 = "500118001004"  # 汇龙路社区
GRID3 = "500118001004001"
OTHER_TOWN_VILLAGE, OTHER_TOWN_GRID = "500118002001", "500118002001001"  # 胜利路街道 张家坡社区

DISTRICT_ACTOR = Actor(None, "500118.duty", "城运中心值班员(生成)", "center_duty", "500118-CYZX", "500118")
SYSTEM_ACTOR = Actor(None, "system", "系统", "system", "500118-CYZX", "500118")
TOWN_ACTOR = Actor(None, f"{TOWN}.duty", "镇街值班员(生成)", "town_duty", f"{TOWN}-ZHZX", "500118", TOWN)
GRID_ACTOR = Actor(None, f"{GRID1}.worker", "网格员(生成)", "grid_worker", GRID1, "500118", TOWN)
MZJ_ACTOR = Actor(None, "500118-MZJ.handler", "民政局处置人(生成)", "dept_handler", "500118-MZJ", "500118")
