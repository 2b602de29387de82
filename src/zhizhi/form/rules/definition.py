"""Form definitions (报表定义): one YAML file per form, parsed and checked into :class:`FormDef`.

A definition names the form (title, 表号, issuing department, legal basis, the real form it is
modelled on with its source URL), its period type, its row level (villages of a town, towns of the
district, grids, or persons for a roster 花名册) and its columns. Each column is exactly one of:

- ``value``: an indicator computed from the registers or the event loop (:class:`Measure`), e.g.
  ``{count: residents, tags: [dibao], age: "60+"}``;
- ``formula``: arithmetic over other columns of the same row (``col3 / col2 * 100``);
- ``field``: a person's attribute on a roster (name, citizen ID, age …);
- ``manual``: a figure the registers do not hold, left for the clerk, with the reason (never faked).

``checks`` are the form's cross-column rules (勾稽关系, :mod:`.expr`). Anything unknown or wrong is
refused with :class:`FormDefinitionError` naming the file and the field; nothing is ignored
(parsing: :mod:`.parse`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from zhizhi.form.rules.expr import Chain, Node

ROW_LEVELS: dict[str, tuple[str, ...]] = {
    "village": ("town",),
    "town": ("district",),
    "grid": ("town", "village"),
    "person": ("district", "town", "village", "grid"),
}
"""Row level of a form → the org-unit levels it may be rendered for (村 rows under a town, 乡镇 rows
under the district, 网格 rows under a town or village; a person roster for any area)."""
ROW_LABELS = {"village": "村(社区)名称", "town": "乡镇(街道)名称", "grid": "网格名称", "person": "姓名"}

PERSON_FIELDS = {
    "name": "姓名", "citizen_id": "公民身份号码", "sex": "性别", "age": "年龄(周岁)", "age_band": "年龄段",
    "ethnicity": "民族", "village": "村(社区)", "grid": "网格", "phone": "联系电话", "address": "住址",
}  # fmt: skip
"""Fields a roster column may show; ``name``, ``citizen_id``, ``phone`` and ``address`` are personal."""
NUMERIC_FIELDS = frozenset({"age"})
TEXT_FIELDS = frozenset({"citizen_id", "phone"})
"""Written as text cells in the xlsx (an 18-digit ID must never become a number)."""

STATUSES = ("active", "moved_out", "deceased", "any")
URGENCIES = ("low", "normal", "high", "urgent")
AREAS = {"urban": "城镇", "rural": "乡村", "unclassified": "未划分城乡"}
"""By the NBS 城乡划分代码 of the village (统计用城乡划分代码: 1xx 城镇, 2xx 乡村; villages created after the
2016 list have none: unclassified)."""
FLOWS = {"entered": "期内新增", "exited": "期内退出"}
REPORTED = ("in_period", "by_period_end")
CLOSED = ("in_period", "by_period_end", "not_by_period_end")

_PERSON_KEYS = (
    "tags", "any_tags", "no_tags", "sex", "age", "status", "status_in_period", "born_in_period", "minority",
)  # fmt: skip
MEASURE_KEYS: dict[str, tuple[str, ...]] = {
    "residents": (*_PERSON_KEYS, "area", "flow"),
    "households": ("members", "kind", "area"),
    "houses": ("use", "structure", "area"),
    "units": ("industry", "min_employees", "area"),
    "employees": ("industry", "min_employees", "area"),
    "events": ("categories", "reported", "closed", "urgency", "overdue", "parked"),
    "grids": (),
}
"""Allowed filters of each measure (``count: residents`` …, ``sum: employees``)."""


class FormDefinitionError(ValueError):
    """A form definition that cannot be used: ``"<file>: <field>: <reason>"``."""

    def __init__(self, source: str, field_: str, reason: str) -> None:
        super().__init__(f"{source}: {field_}: {reason}")
        self.source, self.field, self.reason = source, field_, reason


@dataclass(frozen=True)
class Context:
    """What definitions are checked against: tag codes → zh-CN label (registry/data/tags.yaml),
    department abbr → name (org/data/departments.yaml), event category codes (大类 and 小类), house use
    and structure codes (GB/T 17986.1), household kinds, GB/T 4754 section letters."""

    tags: Mapping[str, str]
    departments: Mapping[str, str]
    categories: frozenset[str]
    house_use: frozenset[str] = frozenset()
    house_structure: frozenset[str] = frozenset()
    household_kinds: frozenset[str] = frozenset()
    industry_sections: frozenset[str] = frozenset()


@dataclass(frozen=True)
class PersonFilter:
    """Who counts: all of ``tags``, any of ``any_tags``, none of ``no_tags``; ``sex``; ``age`` band
    (whole years on the statistical date, ``(lo, hi)`` with ``hi`` None for open-ended); ``status``
    (None: any; default 在册); ``status_in_period``: the status took effect within the period (a
    death or move-out of the month); ``born_in_period``: born within the period (出生);
    ``minority``: ethnicity recorded and not 汉族 (GB 3304 01)."""

    tags: tuple[str, ...] = ()
    any_tags: tuple[str, ...] = ()
    no_tags: tuple[str, ...] = ()
    sex: str | None = None
    age: tuple[int, int | None] | None = None
    status: str | None = "active"
    status_in_period: bool = False
    born_in_period: bool = False
    minority: bool | None = None

    def tag_codes(self) -> set[str]:
        """Every tag the filter looks at."""
        return set(self.tags) | set(self.any_tags) | set(self.no_tags)


@dataclass(frozen=True)
class Measure:
    """An indicator over the registers or the events (see :data:`MEASURE_KEYS`): ``kind`` is what is
    counted (``employees`` is summed); ``person`` filters residents (or a household's members);
    ``area`` keeps 城镇 or 乡村 villages; ``flow`` counts who entered or left the filter over the
    period (期初 = the day before the period, 期末 = the statistical date)."""

    kind: str
    person: PersonFilter | None = None
    area: str | None = None
    flow: str | None = None
    household_kind: str | None = None
    house_use: tuple[str, ...] = ()
    house_structure: tuple[str, ...] = ()
    industry: tuple[str, ...] = ()
    min_employees: int | None = None
    categories: tuple[str, ...] = ()
    reported: str = "in_period"
    closed: str | None = None
    urgency: tuple[str, ...] = ()
    overdue: bool | None = None
    parked: bool | None = None


@dataclass(frozen=True)
class Column:
    """One data column (numbered 1, 2, 3 … after the label columns 甲/乙). Exactly one of
    ``measure`` (computed), ``formula``, ``field`` (roster) or ``manual`` (the reason it is typed
    by hand) is set. ``additive``: the 合计 row is the sum of the unit rows (checked); ``text``: an
    xlsx text cell; ``decimals``: rounding of a formula."""

    no: int
    key: str
    label: str
    group: str | None = None
    unit: str | None = None
    code: str | None = None
    definition: str | None = None
    measure: Measure | None = None
    formula: Node | None = None
    formula_text: str | None = None
    field: str | None = None
    bands: tuple[str, ...] = ()
    manual: str | None = None
    additive: bool = True
    decimals: int | None = None
    text: bool = False

    @property
    def source(self) -> str:
        """``computed`` | ``formula`` | ``field`` | ``manual``."""
        if self.measure is not None:
            return "computed"
        if self.formula is not None:
            return "formula"
        return "field" if self.field is not None else "manual"


@dataclass(frozen=True)
class Check:
    """A cross-column rule (勾稽关系) checked on ``rows`` (all | units | total); ``basis`` says whether
    it is printed on the source form (stated) or derived from its definitions (inferred)."""

    text: str
    chain: Chain
    rows: str = "all"
    tolerance: float = 0.0
    basis: str = "inferred"
    note: str | None = None


@dataclass(frozen=True)
class SourceRef:
    """The real form a definition is modelled on: id in shared/data/forms (F02 …) or the section of
    domain/forms.md, its title, the public page it was read from, and how ours differs."""

    form: str
    title: str
    url: str
    note: str | None = None


@dataclass(frozen=True)
class FormDef:
    """A parsed, checked form definition (see the module docstring)."""

    id: str
    title: str
    department: str
    department_name: str
    period: str
    rows: str
    source: SourceRef
    columns: tuple[Column, ...]
    checks: tuple[Check, ...] = ()
    form_number: str | None = None
    legal_basis: str | None = None
    approved_by: str | None = None
    population: PersonFilter | None = None
    notes: tuple[str, ...] = ()
    file: str = ""
    _by_no: dict[int, Column] = field(default_factory=dict, compare=False, repr=False)

    def column(self, no: int) -> Column:
        """The column numbered ``no`` (1-based). Raises KeyError."""
        return self._by_no[no]

    @property
    def computed(self) -> list[Column]:
        """Columns filled from the registers or events (computed, formula or roster field)."""
        return [c for c in self.columns if c.source != "manual"]

    @property
    def manual(self) -> list[Column]:
        """Columns left for manual entry."""
        return [c for c in self.columns if c.source == "manual"]


# --- department scope -------------------------------------------------------------------------------


def department_gaps(form: FormDef, department_tags: Sequence[str]) -> list[str]:
    """Why a department-scoped user (部门, who sees only residents carrying its own tags) could not get
    the true figures of ``form``: one reason per column (or the roster population) that counts
    anything else. An empty list means every figure lies within the department's scope, so scoping
    the query to it changes nothing. department_tags: the tag codes the department uses."""
    own = set(department_tags)

    def person_ok(p: PersonFilter | None) -> bool:
        return (
            p is not None
            and bool(set(p.tags) & own or (p.any_tags and set(p.any_tags) <= own))
            and (p.tag_codes() <= own)
        )

    gaps = []
    if form.population is not None and not person_ok(form.population):
        gaps.append("population: lists people without one of your department's tags")
    for c in form.columns:
        m = c.measure
        if m is None:
            continue
        if m.kind not in ("residents", "households") or not person_ok(m.person):
            gaps.append(f"column {c.no} ({c.label}) counts beyond your department's tags")
    return gaps
