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

Modules: ``tables`` (the census tables, region codes), ``households`` (ages, birth dates, household
composition), ``persons`` (given names, citizen IDs, tags), ``generator`` (:func:`generate`, the rows).
Everything public is re-exported here.
"""

from zhizhi.registry.demo.generator import NUMBER_PREFIX, SOURCE, Grid, Population, generate
from zhizhi.registry.demo.households import (
    REL_CHILD,
    REL_CHILD_SPOUSE,
    REL_GRANDCHILD,
    REL_PARENT,
    REL_SPOUSE,
    Arr,
)
from zhizhi.registry.demo.persons import citizen_ids
from zhizhi.registry.demo.tables import (
    _DIR,
    ELIGIBLE,
    MAX_AGE,
    PER,
    YONGCHUAN_NAMES,
    Census,
    TagRate,
    census,
    region_codes,
    region_for_birth_year,
)

__all__ = [
    "ELIGIBLE",
    "MAX_AGE",
    "NUMBER_PREFIX",
    "PER",
    "REL_CHILD",
    "REL_CHILD_SPOUSE",
    "REL_GRANDCHILD",
    "REL_PARENT",
    "REL_SPOUSE",
    "SOURCE",
    "YONGCHUAN_NAMES",
    "_DIR",
    "Arr",
    "Census",
    "Grid",
    "Population",
    "TagRate",
    "census",
    "citizen_ids",
    "generate",
    "region_codes",
    "region_for_birth_year",
]
