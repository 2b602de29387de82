"""A computed form (报表结果): its rows and the outcome of its checks, independent of the database
and of the file format (render.py writes it as xlsx)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from zhizhi.form.rules.definition import AREAS, FLOWS, Column, FormDef, Measure, PersonFilter
from zhizhi.form.rules.expr import check_chain, evaluate
from zhizhi.form.rules.period import Period

Cell = int | float | str | None


@dataclass
class ResultRow:
    """One row: the unit's code and name (or a person's row number), the values by column (index 0 is
    column 1; None: not available, e.g. a manual column), and whether it is the 合计 row."""

    code: str | None
    name: str
    values: list[Cell]
    total: bool = False


@dataclass(frozen=True)
class CheckOutcome:
    """One check on one row: ``status`` pass | fail | skipped (a value it needs is missing, e.g. a manual
    column), the values of its terms, the rule's basis and note."""

    rule: str
    row: str
    status: str
    values: tuple[float | None, ...]
    basis: str
    note: str | None = None


@dataclass
class FormResult:
    """A form computed for an org unit and period: statistical date ``as_of`` (local), the instant the
    registers were read as known at (``known_at``, UTC), rows (合计 first for an aggregate form;
    persons for a roster), check outcomes, and who rendered it when (printed in the footer)."""

    form: FormDef
    org_code: str
    org_name: str
    org_level: str
    period: Period
    as_of: date
    known_at: datetime
    rows: list[ResultRow]
    checks: list[CheckOutcome] = field(default_factory=list)
    full_view: bool = False
    rendered_by: str = ""
    rendered_at: datetime | None = None

    @property
    def failures(self) -> list[CheckOutcome]:
        """The checks that failed."""
        return [c for c in self.checks if c.status == "fail"]

    def tally(self) -> dict[str, int]:
        """Number of checks by status: ``{"pass": …, "fail": …, "skipped": …}``."""
        out = {"pass": 0, "fail": 0, "skipped": 0}
        for c in self.checks:
            out[c.status] += 1
        return out


def apply_formulas(form: FormDef, rows: list[ResultRow]) -> None:
    """Fill the formula columns of every row (合计 included) from the row's other values, rounded to
    the column's ``decimals`` (default 2); None where a value is missing or a divisor is 0."""
    formulas = [c for c in form.columns if c.formula is not None]
    for row in rows:
        for c in formulas:
            assert c.formula is not None
            v = evaluate(c.formula, _numbers(row))
            row.values[c.no - 1] = None if v is None else round(v, 2 if c.decimals is None else c.decimals)


def _numbers(row: ResultRow) -> dict[int, float | None]:
    return {i: (float(v) if isinstance(v, int | float) else None) for i, v in enumerate(row.values, start=1)}


def run_checks(form: FormDef, rows: list[ResultRow]) -> list[CheckOutcome]:
    """Evaluate the form's checks (勾稽关系) on each row they apply to, then, for an aggregate form,
    合计 = sum of the unit rows for every additive column (行间平衡).

    rows: the computed rows (合计 marked ``total``). A check touching a missing value (manual column
    left blank) is ``skipped``, not passed. Rows of a roster are named by their number, never by
    the person. Returns the outcomes in check order, then the row checks by column."""
    out: list[CheckOutcome] = []
    roster = form.rows == "person"
    for chk in form.checks:
        for i, row in enumerate(rows, start=1):
            if roster and row.total:
                continue
            if chk.rows == "total" and not row.total or chk.rows == "units" and row.total:
                continue
            ok, vals = check_chain(chk.chain, _numbers(row), chk.tolerance)
            label = f"第{i - (1 if rows and rows[0].total else 0)}行" if roster else row.name
            status = "skipped" if ok is None else "pass" if ok else "fail"
            out.append(CheckOutcome(chk.text, label, status, tuple(vals), chk.basis, chk.note))
    if roster:
        return out
    total = next((r for r in rows if r.total), None)
    units = [r for r in rows if not r.total]
    if total is None:
        return out
    for c in form.columns:
        if not c.additive:
            continue
        t = total.values[c.no - 1]
        parts = [r.values[c.no - 1] for r in units]
        if not isinstance(t, int | float) or not all(isinstance(p, int | float) for p in parts):
            pair: tuple[float | None, ...] = (None, None)
            status = "skipped"
        else:
            s = float(sum(p for p in parts if isinstance(p, int | float)))
            pair, status = (float(t), s), ("pass" if abs(float(t) - s) <= 1e-9 else "fail")
        out.append(
            CheckOutcome(
                f"合计 = 各行之和 (第{c.no}列 {c.label})",
                "合计",
                status,
                pair,
                "stated",
                "统计报表制度: 合计行等于各单位行之和",
            )  # fmt: skip
        )
    return out


# --- words for the 说明 sheet -----------------------------------------------------------------------

_SEX = {"male": "男", "female": "女"}
_STATUS = {"active": "在册", "moved_out": "迁出", "deceased": "死亡"}
_URGENCY = {"low": "低", "normal": "一般", "high": "高", "urgent": "紧急"}


def describe_person(p: PersonFilter, tag_labels: Mapping[str, str]) -> str:
    """A person filter in words (zh-CN), e.g. ``在册; 标签: 低保; 女; 60周岁及以上``."""

    def labels(codes: tuple[str, ...]) -> str:
        return "、".join(tag_labels.get(t, t) for t in codes)

    parts = [_STATUS[p.status] if p.status else "任何状态"]
    if p.status_in_period:
        parts.append("状态变更发生在报告期内")
    if p.born_in_period:
        parts.append("出生在报告期内")
    if p.tags:
        parts.append(f"标签: {labels(p.tags)}" + ("(同时具有)" if len(p.tags) > 1 else ""))
    if p.any_tags:
        parts.append(f"标签任一: {labels(p.any_tags)}")
    if p.no_tags:
        parts.append(f"不含标签: {labels(p.no_tags)}")
    if p.sex:
        parts.append(_SEX[p.sex])
    if p.age:
        lo, hi = p.age
        parts.append(f"{lo}周岁及以上" if hi is None else f"{lo}-{hi}周岁")
    if p.minority:
        parts.append("少数民族")
    return "; ".join(parts)


def describe(m: Measure, tag_labels: Mapping[str, str]) -> str:
    """How a computed column is obtained, in words (zh-CN), for the form's 说明 sheet."""
    area = f"; {AREAS[m.area]}村(社区)" if m.area else ""
    if m.kind == "residents":
        assert m.person is not None
        flow = f"; {FLOWS[m.flow]}(期初不符、期末符合)" if m.flow == "entered" else (
            f"; {FLOWS[m.flow]}(期初符合、期末不符)" if m.flow else "")  # fmt: skip
        return f"人口台账, 统计时点人数: {describe_person(m.person, tag_labels)}{area}{flow}"
    if m.kind == "households":
        if m.person is not None:
            who = describe_person(m.person, tag_labels)
            return f"人口台账, 有符合条件成员的户数(按户号去重): {who}{area}"
        return f"户台账, 统计时点正常户数{'; ' + m.household_kind if m.household_kind else ''}{area}"
    if m.kind == "houses":
        return f"房屋台账, 统计时点在用房屋数{'; 用途 ' + ','.join(m.house_use) if m.house_use else ''}{area}"
    if m.kind in ("units", "employees"):
        what = "存续单位数" if m.kind == "units" else "存续单位从业人员之和"
        ind = f"; 行业 {','.join(m.industry)}" if m.industry else ""
        mn = f"; 从业人员≥{m.min_employees}" if m.min_employees is not None else ""
        return f"单位台账, {what}{ind}{mn}{area}"
    if m.kind == "events":
        bits = ["事件闭环, 件数", "报告期内上报" if m.reported == "in_period" else "截至期末上报"]
        if m.categories:
            bits.append(f"分类 {','.join(m.categories)}")
        if m.closed:
            bits.append({"in_period": "报告期内结案", "by_period_end": "期末前已结案",
                         "not_by_period_end": "期末未结案"}[m.closed])  # fmt: skip
        if m.urgency:
            bits.append("紧急程度 " + "/".join(_URGENCY[u] for u in m.urgency))
        if m.overdue is not None:
            bits.append("曾超期" if m.overdue else "未超期")
        if m.parked is not None:
            bits.append("挂账" if m.parked else "未挂账")
        return "; ".join(bits) + "; 不含演练与被合并的重复件"
    return "组织架构: 网格数"


def column_basis(c: Column, tag_labels: Mapping[str, str]) -> str:
    """One line saying where a column's figures come from (computed, formula, roster field, manual)."""
    if c.measure is not None:
        return "自动: " + describe(c.measure, tag_labels)
    if c.formula_text is not None:
        return f"自动: 计算列 {c.formula_text}"
    if c.field is not None:
        return f"自动: 人口台账字段 {c.field}" + (f" ({'/'.join(c.bands)})" if c.bands else "")
    return f"人工填报: {c.manual}"
