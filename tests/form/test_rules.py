"""Pure rules of the form domain (no database): definitions load and broken ones are refused naming
the file and field; periods; formulas and cross-column checks; 合计 row checks; department scope."""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from zhizhi.form import rules, service

CTX = rules.Context(
    tags={"dibao": "低保", "canji": "残疾", "manbing": "慢病", "gaoling": "高龄"},
    departments={"MZJ": "永川区民政局", "YJJ": "永川区应急管理局"},
    categories=frozenset({"22", "2201", "2202"}),
    house_use=frozenset({"1", "3"}),
    household_kinds=frozenset({"family", "collective"}),
    industry_sections=frozenset({"B", "C"}),
)
MINIMAL: dict[str, Any] = {
    "id": "t-form",
    "title": "测试表",
    "department": "MZJ",
    "period": "month",
    "rows": "village",
    "source": {"form": "F02", "title": "城乡居民最低生活保障统计表", "url": "http://yongtai.gov.cn/x.htm"},
    "columns": [
        {
            "key": "persons",
            "label": "低保人数",
            "unit": "人",
            "value": {"count": "residents", "tags": ["dibao"]},
        },
        {"key": "old", "label": "老年人", "value": {"count": "residents", "tags": ["dibao"], "age": "60+"}},
        {"key": "money", "label": "资金", "unit": "万元", "manual": "不在台账"},
        {"key": "share", "label": "老年人占比", "unit": "%", "formula": "old / persons * 100", "decimals": 1},
    ],
    "checks": [{"rule": "col2 <= col1", "basis": "inferred"}],
}


def parse(raw: dict[str, Any]) -> rules.FormDef:
    return rules.parse_form(raw, "forms/t-form.yaml", CTX, expected_id="t-form")


def test_the_shipped_catalogue_loads_with_at_least_ten_forms_each_modelled_on_a_source() -> None:
    forms = service.load_definitions()
    assert len(forms) >= 10
    shared = Path("/work/shared/data/forms/grassroots_form_layouts.csv")
    urls = set()
    if shared.exists():
        import csv

        with shared.open(encoding="utf-8") as fh:
            urls = {r["source_url"] for r in csv.DictReader(fh)}
    for f in forms.values():
        assert f.source.url and f.source.form and f.title and f.department_name
        assert f.computed, f.id
        for c in f.manual:
            assert c.manual and len(c.manual) >= 4, (f.id, c.key)  # manual columns say why
        if urls and f.source.form.startswith("F"):
            assert f.source.url in urls, (f.id, f.source.url)  # the source URL from the CSV
    assert {f.rows for f in forms.values()} == {"village", "town", "grid", "person"}
    assert {f.period for f in forms.values()} == {"month", "quarter", "year"}


def test_a_minimal_definition_parses() -> None:
    f = parse(MINIMAL)
    assert [c.no for c in f.columns] == [1, 2, 3, 4]
    assert [c.source for c in f.columns] == ["computed", "computed", "manual", "formula"]
    assert f.columns[1].measure == rules.Measure(
        "residents", rules.PersonFilter(tags=("dibao",), age=(60, None))
    )
    assert f.columns[3].additive is False and f.columns[2].additive is True
    assert f.checks[0].text == "col2 <= col1"


def broken(path: str, value: Any) -> dict[str, Any]:
    raw = copy.deepcopy(MINIMAL)
    target: Any = raw
    keys = path.split("/")
    for k in keys[:-1]:
        target = target[int(k)] if k.isdigit() else target[k]
    last = keys[-1]
    if value is KeyError:
        del target[last]
    elif last.isdigit():
        target[int(last)] = value
    else:
        target[last] = value
    return raw


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("colour", "red", "colour: unknown field (known: id, title"),
        ("department", "XYZ", 'department: "XYZ" is not a department of org/data/departments.yaml'),
        ("period", "week", "period: 'week' is not one of month, quarter, year"),
        ("rows", "street", "rows: 'street' is not one of village, town, grid, person"),
        ("id", "other-form", 'id: "other-form" differs from the file name ("t-form")'),
        ("title", KeyError, "title: required"),
        ("source/url", "see the binder", "source.url: needs the address of the public page"),
        (
            "columns/0/value/tags",
            ["dibo"],
            "columns.persons.value.tags: unknown tag (registry/data/tags.yaml) 'dibo'",
        ),
        (
            "columns/0/value/age",
            "sixty",
            'columns.persons.value.age: age band "sixty": write it as "18-59" or "80+"',
        ),
        ("columns/0/value/sexx", "female", "columns.persons.value.sexx: unknown field (known: count, tags"),
        ("columns/0/value/count", "people", "columns.persons.value.count: 'people' is not one of residents"),
        (
            "columns/1/value",
            {"count": "events", "categories": ["9999"]},
            "columns.old.value.categories: unknown event category code (event/data/categories.yaml) '9999'",
        ),
        ("columns/1/key", "persons", 'columns[2].key: duplicate key "persons"'),
        ("columns/1/key", "col2", "columns[2].key: lower-case ASCII key (not colN/cN)"),
        ("columns/2/manual", KeyError, "columns.money: needs exactly one of value, formula, field or manual"),
        ("columns/3/formula", "old / nobody", 'columns.share.formula: "nobody" is not a column key or colN'),
        ("columns/3/formula", "share * 2", "columns.share.formula: refers to itself"),
        ("columns/3/formula", "old / (persons", 'columns.share.formula: missing ")"'),
        ("checks/0/rule", "col2 + col1", "checks[1].rule: a check needs a comparison"),
        ("checks/0/rule", "col9 = col1", "checks[1].rule: col9: there is no column 9 (the form has 4)"),
        ("checks/0/basis", "rumour", "checks[1].basis: 'rumour' is not one of stated, inferred"),
        ("columns/0/field", "name", "columns.persons: needs exactly one of value, formula, field or manual"),
        ("population", {"tags": ["dibao"]}, "population: only a roster (rows: person) has a population"),
        ("notes", "one line", "notes: needs a list of text lines"),
    ],
)
def test_a_broken_definition_is_refused_naming_the_file_and_field(
    path: str, value: Any, message: str
) -> None:
    with pytest.raises(rules.FormDefinitionError) as e:
        parse(broken(path, value))
    assert str(e.value).startswith(f"forms/t-form.yaml: {message}"), str(e.value)
    assert e.value.source == "forms/t-form.yaml"


def test_a_roster_needs_a_population_and_field_columns() -> None:
    raw = {**copy.deepcopy(MINIMAL), "rows": "person", "checks": []}
    with pytest.raises(rules.FormDefinitionError, match="population: required for a roster"):
        parse(raw)
    raw["population"] = {"tags": ["gaoling"], "age": "80+"}
    with pytest.raises(
        rules.FormDefinitionError, match=r"columns.persons.value: a roster \(rows: person\) has field"
    ):
        parse(raw)
    raw["columns"] = [
        {"key": "id", "label": "公民身份号码", "field": "citizen_id"},
        {"key": "age", "label": "年龄", "field": "age"},
        {"key": "band", "label": "年龄段", "field": "age_band", "bands": ["80-89", "90+"]},
    ]
    raw["checks"] = [{"rule": "age >= 80"}]
    f = parse(raw)
    assert f.columns[0].text is True and f.population == rules.PersonFilter(tags=("gaoling",), age=(80, None))
    raw["checks"] = [{"rule": "id >= 80"}]
    with pytest.raises(rules.FormDefinitionError, match=r"checks\[1\].rule: column 1 \(id\) is not a number"):
        parse(raw)


def test_a_shipped_file_that_is_not_yaml_names_the_line(tmp_path: Path) -> None:
    p = tmp_path / "t-form.yaml"
    p.write_text("id: t-form\ncolumns: [unclosed\n", encoding="utf-8")
    with pytest.raises(rules.FormDefinitionError, match=rf"^{p}: line 3: not valid YAML"):
        service.parse_file(p)
    p.write_text(yaml.safe_dump({**MINIMAL, "department": "NOPE"}, allow_unicode=True), encoding="utf-8")
    with pytest.raises(rules.FormDefinitionError, match=rf'^{p}: department: "NOPE"'):
        service.parse_file(p)
    bad = tmp_path / "dir"
    bad.mkdir()
    (bad / "t-form.yaml").write_text(p.read_text("utf-8"), encoding="utf-8")
    with pytest.raises(rules.FormDefinitionError):  # one bad file refuses the whole catalogue
        service.load_definitions(bad)


@pytest.mark.parametrize(
    ("text", "kind", "start", "end", "label"),
    [
        ("2026-11", "month", date(2026, 11, 1), date(2026, 11, 30), "2026年11月"),
        ("2024-2", "month", date(2024, 2, 1), date(2024, 2, 29), "2024年2月"),
        ("2026-12", "month", date(2026, 12, 1), date(2026, 12, 31), "2026年12月"),
        ("2026-Q4", "quarter", date(2026, 10, 1), date(2026, 12, 31), "2026年第四季度"),
        ("2026q1", "quarter", date(2026, 1, 1), date(2026, 3, 31), "2026年第一季度"),
        ("2026", "year", date(2026, 1, 1), date(2026, 12, 31), "2026年"),
    ],
)
def test_periods(text: str, kind: str, start: date, end: date, label: str) -> None:
    p = rules.parse_period(text, kind)
    assert (p.start, p.end, p.label) == (start, end, label)
    assert rules.default_as_of(p, date(2026, 11, 15)) == min(end, date(2026, 11, 15))


@pytest.mark.parametrize(
    ("text", "kind", "message"),
    [
        ("2026-13", "month", "the month must be 01-12"),
        ("2026-Q4", "month", "this form is a 月报; give YYYY-MM"),
        ("2026-11", "quarter", "this form is a 季报; give YYYY-Qn"),
        ("1999", "year", "the year must be between 2000 and 2100"),
        ("", "year", "give YYYY"),
    ],
)
def test_bad_periods_are_refused(text: str, kind: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        rules.parse_period(text, kind)


def test_formulas_and_checks() -> None:
    names = {"a": 1, "b": 2, "c": 3}

    def res(n: str) -> int:
        if n in names:
            return names[n]
        if n.startswith("col"):
            return int(n[3:])
        raise ValueError(n)

    node = rules.parse_formula("(a + b) * 2 - c / 4", res)
    assert rules.evaluate(node, {1: 1, 2: 2, 3: 8}) == 4.0
    assert rules.evaluate(node, {1: 1, 2: None, 3: 8}) is None  # a blank manual value
    assert rules.evaluate(rules.parse_formula("a / b", res), {1: 5, 2: 0}) is None  # no division by zero
    assert rules.evaluate(rules.parse_formula("-a + 10", res), {1: 3}) == 7.0
    chain = rules.parse_check("col1 = col2 + col3 = 10", res)
    assert rules.check_chain(chain, {1: 10, 2: 4, 3: 6}) == (True, [10.0, 10.0, 10.0])
    assert rules.check_chain(chain, {1: 10, 2: 4, 3: 5})[0] is False
    assert rules.check_chain(chain, {1: 10, 2: None, 3: 5})[0] is None
    le = rules.parse_check("col13 + col14 <= col24 + col25", lambda n: int(n[3:]))
    assert rules.check_chain(le, {13: 1, 14: 2, 24: 3, 25: 0})[0] is True
    near = rules.parse_check("a == b", res)
    assert rules.check_chain(near, {1: 33.33, 2: 33.3}, tolerance=0.05)[0] is True
    assert rules.check_chain(near, {1: 33.4, 2: 33.3}, tolerance=0.05)[0] is False
    for bad, msg in (("a +", "ends too early"), ("a $ b", 'unexpected "\\$'), ("a = ", "ends too early")):
        with pytest.raises(ValueError, match=msg):
            rules.parse_check(bad, res)


def test_row_checks_total_equals_the_sum_of_rows_and_checks_skip_manual_blanks() -> None:
    f = parse(MINIMAL)
    rows = [
        rules.ResultRow(None, "合计", [10, 4, None, None], total=True),
        rules.ResultRow("v1", "甲村", [6, 3, None, None]),
        rules.ResultRow("v2", "乙村", [3, 1, None, None]),
    ]
    rules.apply_formulas(f, rows)
    assert [r.values[3] for r in rows] == [40.0, 50.0, 33.3]
    out = rules.run_checks(f, rows)
    by = {(c.rule, c.row): c.status for c in out}
    assert by[("col2 <= col1", "合计")] == "pass" and by[("col2 <= col1", "乙村")] == "pass"
    assert (
        by[("合计 = 各行之和 (第1列 低保人数)", "合计")] == "fail"
    )  # 10 != 6 + 3: someone outside every row
    assert by[("合计 = 各行之和 (第2列 老年人)", "合计")] == "pass"
    assert by[("合计 = 各行之和 (第3列 资金)", "合计")] == "skipped"  # manual, blank
    assert not any("第4列" in c.rule for c in out)  # a ratio is not additive


def test_department_gaps() -> None:
    f = parse(MINIMAL)
    assert rules.department_gaps(f, ["dibao", "canji"]) == []
    assert rules.department_gaps(f, ["canji"]) == [
        "column 1 (低保人数) counts beyond your department's tags",
        "column 2 (老年人) counts beyond your department's tags",
    ]
    raw = copy.deepcopy(MINIMAL)
    raw["columns"][1]["value"] = {"count": "residents", "tags": ["dibao"], "no_tags": ["manbing"]}
    assert len(rules.department_gaps(parse(raw), ["dibao"])) == 1  # looks at a tag it may not see
