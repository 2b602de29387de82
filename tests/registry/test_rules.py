"""Pure register rules: citizen-ID facts and ages, code tables, tags, statuses, the conflict rule and
the valid-time timeline. No database. People and IDs here are GENERATED (see conftest)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from zhizhi.registry import rules
from zhizhi.registry.rules import Decision, FieldChange

from .conftest import gen_id

GB_EXAMPLE = "11010519491231002X"  # GB 11643-1999 Annex A example (北京市朝阳区, 1949-12-31, female)


def test_facts_from_the_standard_example() -> None:
    assert rules.birth_date_of(GB_EXAMPLE) == date(1949, 12, 31)
    assert rules.sex_of(GB_EXAMPLE) == "female"
    assert rules.sex_of(gen_id("19800101", 1)) == "male"
    assert rules.mask_citizen_id(GB_EXAMPLE) == "110105********002X"


@pytest.mark.parametrize(
    ("birth", "on", "age"),
    [
        (date(1949, 12, 31), date(2026, 12, 30), 76),
        (date(1949, 12, 31), date(2026, 12, 31), 77),
        (date(2000, 2, 29), date(2001, 2, 28), 0),  # born on 29 Feb: a year older on 1 March
        (date(2000, 2, 29), date(2001, 3, 1), 1),
        (date(2000, 2, 29), date(2004, 2, 29), 4),
        (date(2026, 1, 1), date(2026, 1, 1), 0),
    ],
)
def test_age_on(birth: date, on: date, age: int) -> None:
    assert rules.age_on(birth, on) == age


def test_birth_cutoff_is_exactly_the_age_test() -> None:
    """age_on(b, on) >= a  ⇔  b <= birth_cutoff(on, a), over every birth day of 1999-2001 and query
    days around the 29 February of 2024 and 2025."""
    births = [date(1999, 1, 1) + timedelta(days=i) for i in range(3 * 366)]
    for on in (date(2024, 2, 28), date(2024, 2, 29), date(2024, 3, 1), date(2025, 2, 28), date(2025, 3, 1)):
        for a in (23, 24, 25, 26):
            cut = rules.birth_cutoff(on, a)
            assert all((rules.age_on(b, on) >= a) == (b <= cut) for b in births), (on, a)


def test_code_tables() -> None:
    c = rules.codes()
    assert len(c.ethnicity) == 58 and c.ethnicity["01"] == "汉族" and c.ethnicity["46"] == "德昂族"
    assert len(rules.relations()) == 84 and rules.relations()["02"] == "户主"
    assert rules.parse_code("汉族", c.ethnicity, "ethnicity") == "01"
    assert rules.parse_code(1, c.ethnicity, "ethnicity") == "01"
    assert rules.parse_code("3", c.ethnicity, "ethnicity") == "03"
    assert rules.parse_code("妻", rules.relations(), "relation") == "12"
    with pytest.raises(ValueError, match='ethnicity: "99" is not a known code'):
        rules.parse_code("99", c.ethnicity, "ethnicity")


@pytest.mark.parametrize(
    ("value", "code"), [("C3011", "C3011"), ("3011", "C3011"), ("c30", "C30"), ("K", "K"), ("7010", "K7010")]
)
def test_industry_codes(value: str, code: str) -> None:
    assert rules.parse_industry(value) == code


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("A3011", "division 30 belongs to section C, not A"),
        ("9910", "division 99 is in no GB/T 4754-2017 section"),
        ("Z", "is not a GB/T 4754 code"),
        ("C30111", "is not a GB/T 4754 code"),
    ],
)
def test_industry_codes_refused(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        rules.parse_industry(value)


def test_tag_catalogue_and_rules() -> None:
    tags = rules.tag_catalogue()
    assert {
        "dibao",
        "tekun",
        "gaoling",
        "shineng",
        "canji",
        "tuiyi",
        "liushou",
        "dujv",
        "yunchanfu",
        "manbing",
    } <= set(tags)
    assert tags["dibao"].sensitive and not tags["gaoling"].sensitive
    assert rules.tags_of_department("MZJ") == [
        "dibao",
        "tekun",
        "gaoling",
        "shineng",
        "canji",
        "liushou",
        "dujv",
    ]
    on = date(2026, 11, 30)
    assert rules.tag_rule_error(tags["gaoling"], "male", date(1946, 11, 30), on) is None  # 80 today
    assert rules.tag_rule_error(tags["gaoling"], "male", date(1946, 12, 1), on) == (
        "高龄 (gaoling) needs age 80 or more; the person is 79 on 2026-11-30"
    )
    assert rules.tag_rule_error(tags["liushou"], "female", date(2010, 11, 30), on) == (
        "留守儿童 (liushou) needs age 15 or less; the person is 16 on 2026-11-30"
    )
    assert rules.tag_rule_error(tags["yunchanfu"], "male", date(1990, 1, 1), on) == (
        "孕产妇 (yunchanfu) applies to female persons only"
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"tags": []}, "needs a 'tags' list"),
        (
            {"tags": [{"code": "X", "label": "a", "name": "a", "departments": ["MZJ"], "sensitive": True}]},
            "code",
        ),
        (
            {"tags": [{"code": "ab", "label": "a", "name": "a", "departments": ["MZJ"], "sensitive": "yes"}]},
            "tag ab.sensitive: true or false",
        ),
        (
            {"tags": [{"code": "ab", "label": "a", "name": "a", "departments": [], "sensitive": True}]},
            "tag ab.departments",
        ),
        (
            {
                "tags": [
                    {
                        "code": "ab",
                        "label": "a",
                        "name": "a",
                        "departments": ["M"],
                        "sensitive": True,
                        "rule": {"x": 1},
                    }
                ]
            },
            "tag ab.rule: unknown key x",
        ),
    ],
)
def test_bad_tag_catalogue_is_refused(raw: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        rules.parse_tags(raw, "t.yaml")


def test_tags_text_form() -> None:
    assert rules.encode_tags(["gaoling", "dibao", "dibao"]) == "|dibao|gaoling|"
    assert rules.encode_tags([]) == ""
    assert rules.decode_tags("|dibao|gaoling|") == ["dibao", "gaoling"]


def test_status_transitions() -> None:
    assert rules.parse_status("死亡") == "deceased" and rules.parse_status("active") == "active"
    with pytest.raises(ValueError, match="not one of 在册/迁出/死亡"):
        rules.parse_status("失踪")
    assert rules.status_transition_error(None, "deceased") is None
    assert rules.status_transition_error("active", "moved_out") is None
    assert rules.status_transition_error("moved_out", "active") is None
    assert rules.status_transition_error("moved_out", "deceased") is None
    assert rules.status_transition_error("deceased", "active") == "status cannot change from 死亡 to 在册"
    assert rules.status_transition_error("deceased", "moved_out") == "status cannot change from 死亡 to 迁出"


def test_sources() -> None:
    assert rules.parse_source("import:mzj-dibao") == "import:mzj-dibao"
    assert rules.parse_source("grid:500118001001001") == "grid:500118001001001"
    for bad in ("mzj", "phone:1", "import:", "import:a b", 5):
        with pytest.raises(ValueError, match="is not kind:key"):
            rules.parse_source(bad)


@pytest.mark.parametrize(
    ("current", "current_source", "proposed", "source", "decision"),
    [
        ("a", "dept:MZJ", "a", "grid:1", Decision.SAME),  # the same value from anyone
        (None, None, None, "grid:1", Decision.SAME),
        (None, "dept:MZJ", "", "grid:1", Decision.SAME),  # empty either way
        (None, None, "a", "grid:1", Decision.APPLY),  # the field was empty
        ("", "dept:MZJ", "a", "grid:1", Decision.APPLY),
        (False, "dept:MZJ", True, "grid:1", Decision.APPLY),  # an unset tag is empty
        ("a", "grid:1", "b", "grid:1", Decision.APPLY),  # a source updates its own value
        ("a", "grid:1", None, "grid:1", Decision.APPLY),  # ... or clears it
        ("a", "dept:MZJ", "b", "grid:1", Decision.CONFLICT),  # another source's value
        ("a", "dept:MZJ", None, "grid:1", Decision.CONFLICT),  # clearing another source's value
        (True, "dept:MZJ", False, "grid:1", Decision.CONFLICT),  # removing another source's tag
    ],
)
def test_conflict_rule(
    current: object, current_source: str | None, proposed: object, source: str, decision: Decision
) -> None:
    assert rules.decide(current, current_source, proposed, source) is decision  # type: ignore[arg-type]


D1, D2, D3 = date(2026, 1, 1), date(2026, 6, 1), date(2026, 9, 1)


def test_timeline_backdated_and_same_day_changes() -> None:
    changes = [
        FieldChange("address", "A", D1, 1, "import:gongan"),
        FieldChange("phone", "p1", D1, 1, "import:gongan"),
        FieldChange("address", "C", D3, 2, "grid:1"),
        FieldChange("address", "B", D2, 3, "grid:1"),  # recorded later, valid earlier: only until D3
        FieldChange("phone", "p2", D1, 4, "import:gongan"),  # same day, recorded later: wins
    ]
    segs = rules.timeline(changes)
    assert [(s.valid_from, s.valid_to) for s in segs] == [(D1, D2), (D2, D3), (D3, None)]
    assert [s.values for s in segs] == [
        {"address": "A", "phone": "p2"},
        {"address": "B", "phone": "p2"},
        {"address": "C", "phone": "p2"},
    ]
    assert segs[1].setters["address"].seq == 3 and segs[2].setters["phone"].seq == 4
    assert rules.segment_at(segs, date(2025, 12, 31)) is None
    assert rules.segment_at(segs, date(2026, 8, 31)) is segs[1]
    assert rules.timeline([]) == []


def test_check_change_judges_the_value_in_force() -> None:
    segs = rules.timeline(
        [FieldChange("address", "A", D1, 1, "import:gongan"), FieldChange("address", "C", D3, 2, "grid:1")]
    )
    assert rules.check_change(segs, "address", "B", "grid:1", D2) is Decision.CONFLICT  # A is gongan's
    assert rules.check_change(segs, "address", "D", "grid:1", D3) is Decision.APPLY  # C is the grid's own
    assert (
        rules.check_change(segs, "address", "Z", "grid:1", date(2025, 1, 1)) is Decision.APPLY
    )  # nothing yet
    assert rules.check_change(segs, "phone", "p", "grid:1", D2) is Decision.APPLY  # empty field
    assert rules.next_value(segs, "address", D2) == (True, "C")
    assert rules.next_value(segs, "address", D3) == (False, None)


@pytest.mark.parametrize(
    ("text", "band"), [("0-17", (0, 17)), ("80+", (80, None)), ("60~79", (60, 79)), ("80岁以上", (80, None))]
)
def test_age_bands(text: str, band: tuple[int, int | None]) -> None:
    assert rules.parse_age_band(text) == band


def test_bad_age_bands() -> None:
    for bad in ("old", "59-18", "-5"):
        with pytest.raises(ValueError, match="age band"):
            rules.parse_age_band(bad)


def test_plain_value_cleaning() -> None:
    assert rules.clean_text("  张测试 ", "name", 64) == "张测试"
    assert rules.clean_text("  ", "name", 64) is None
    with pytest.raises(ValueError, match="name: contains control characters"):
        rules.clean_text("张\x00", "name", 64)
    with pytest.raises(ValueError, match="name: 65 characters, at most 64"):
        rules.clean_text("张" * 65, "name", 64)
    with pytest.raises(ValueError, match="name: expected text, got int"):
        rules.clean_text(5, "name", 64)
    assert rules.parse_date("2026-03-01", "d") == date(2026, 3, 1)
    with pytest.raises(ValueError, match="is not a date"):
        rules.parse_date("2026年3月1日", "d")
    assert rules.parse_number("12", "floors", 0, 200, integer=True) == 12
    with pytest.raises(ValueError, match="floors: 201 is outside 0..200"):
        rules.parse_number(201, "floors", 0, 200, integer=True)
    with pytest.raises(ValueError, match="floors: expected a whole number"):
        rules.parse_number(2.5, "floors", 0, 200, integer=True)
    with pytest.raises(ValueError, match="lon: not a finite number"):
        rules.parse_number("nan", "lon", -180, 180)
