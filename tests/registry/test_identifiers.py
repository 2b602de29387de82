"""Identifier validators (证照代码): tested against the standards' own examples, real published codes
and every pitfall of spreadsheets and hand typing.

Sources of the real values:
- 11010519491231002X: GB 11643-1999 Annex A (北京市朝阳区, female, born 1949-12-31), reproduced at
  https://zh.wikisource.org/wiki/GB_11643-1999_公民身份号码 (and many pages citing the standard).
- 440524188001010014: the standard's second Annex A example (广东省汕头市潮阳县, male, 1880-01-01), as
  cited with the first one in public validators' tests.
- 91350100M000100Y43: GB 32100-2015's worked example of the check character (the standard shows
  91350100M000100Y4Z being refused: its check character must be 3).
- 11500383009338112H: unified social credit code of 重庆市永川区来苏镇人民政府, published as the index
  prefix of its documents on www.cqyc.gov.cn (e.g. 来苏委发〔2021〕68号,
  索引号 11500383009338112H/2021-00021).
- 91512081MA62K0260E: a company code used in a public Q&A page explaining the check character
  (yizhanzhixiao.com/link/1796942066087784707.html), with letters in its organisation code.
Values marked "constructed" are made up for one rule and carry their hand-computed check character.
"""

from __future__ import annotations

import math
import random
from datetime import date
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from zhizhi.registry.identifiers import (
    NUMBER_LOST,
    check_char,
    clean_identifier,
    find_identifiers,
    guess_kind,
    org_check_char,
    tables,
    upgrade_15,
    uscc_check_char,
    validate,
    validate_citizen_id,
    validate_division,
    validate_org_code,
    validate_phone,
    validate_uscc,
)

TODAY = date(2026, 11, 29)


def ids(**kw: object) -> object:
    return validate_citizen_id(today=TODAY, **kw)  # type: ignore[arg-type]


# --- citizen ID (GB 11643-1999) --------------------------------------------------------------------


def test_the_standards_example_id() -> None:
    # 1 1 0 1 0 5 1 9 4 9 1 2 3 1 0 0 2 × 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2
    # = 7+9+0+5+0+20+2+9+24+27+7+18+30+5+0+0+4 = 167; 167 mod 11 = 2 → "10X98765432"[2] = X
    assert check_char("11010519491231002") == "X"
    r = validate_citizen_id("11010519491231002X", today=TODAY)
    assert r.valid and r.normalized == "11010519491231002X"
    assert (r.errors, r.warnings) == ([], [])
    assert r.facts == {
        "birth_date": "1949-12-31",
        "region_code": "110105",
        "region_name": "朝阳区",
        "region_status": "current",
        "sex": "female",  # 17th digit 2 is even
        "masked": "110105********002X",
    }


def test_lowercase_x_is_accepted_and_normalised() -> None:
    r = validate_citizen_id("11010519491231002x", today=TODAY)
    assert r.valid and r.normalized == "11010519491231002X"


def test_the_standards_1880_example_has_a_right_check_but_is_refused_as_implausible() -> None:
    # 4 4 0 5 2 4 1 8 8 0 0 1 0 1 0 0 1: 28+36+0+25+16+16+2+8+48+0+0+9+0+5+0+0+2 = 195;
    # 195 mod 11 = 8 → "10X98765432"[8] = 4
    assert check_char("44052418800101001") == "4"
    r = validate_citizen_id("440524188001010014", today=TODAY)
    assert r.errors == ["birth date 1880-01-01 is before 1890-01-01: implausible (出生日期过早)"]
    # 潮阳县 440524 was listed 1983-1992, then became 潮阳市: a retired code is only a warning
    assert r.warnings == ["region code 440524 (潮阳县) is retired: last listed in 1992 (历史行政区划代码)"]
    assert (r.facts["sex"], r.facts["birth_date"], r.facts["region_status"]) == (
        "male",
        "1880-01-01",
        "retired",
    )
    assert not r.valid and r.normalized is None
    # with an earlier plausibility limit the same number passes
    assert validate_citizen_id("440524188001010014", today=TODAY, earliest=date(1870, 1, 1)).valid


def test_a_retired_region_code_is_a_warning_not_an_error() -> None:
    # constructed: 永川市 500383 (1997-2005), born 1998-01-01, sequence 002 (female)
    # 5 0 0 3 8 3 1 9 9 8 0 1 0 1 0 0 2: 35+0+0+15+64+12+2+9+54+24+0+9+0+5+0+0+4 = 233;
    # 233 mod 11 = 2 → X
    r = validate_citizen_id("50038319980101002X", today=TODAY)
    assert r.valid and r.normalized == "50038319980101002X"
    assert r.warnings == ["region code 500383 (永川市) is retired: last listed in 2005 (历史行政区划代码)"]
    assert (r.facts["region_name"], r.facts["region_status"]) == ("永川市", "retired")


def test_an_unknown_region_code_is_an_error() -> None:
    # constructed: 990101 is in no edition; 9 9 0 1 0 1 1 9 9 0 0 1 0 1 0 0 1:
    # 63+81+0+5+0+4+2+9+54+0+0+9+0+5+0+0+2 = 234; 234 mod 11 = 3 → 9
    r = validate_citizen_id("990101199001010019", today=TODAY)
    assert r.errors == ["region code 990101 is in no edition of GB/T 2260 (地址码不存在)"]
    assert r.facts["birth_date"] == "1990-01-01" and "region_name" not in r.facts


def test_grouping_statistical_and_prefecture_codes_are_warnings() -> None:
    r = validate_citizen_id("50010019900101002X", today=TODAY)  # constructed, check computed
    assert r.valid
    assert r.warnings == ["region code 500100 (市辖区) is a grouping code, not a county (汇总码)"]
    r = validate_citizen_id("130171201001010018", today=TODAY)  # constructed
    assert r.valid and r.warnings == [
        "region code 130171 (石家庄高新技术产业开发区) is an NBS statistical area, not a GB/T 2260 division"
    ]
    body = "50000019900101003"
    r = validate_citizen_id(body + check_char(body), today=TODAY)
    assert r.valid and r.warnings == ["region code 500000 (重庆市) is a province code, not a county"]


def test_february_30_does_not_exist() -> None:
    # constructed: 5 0 0 1 1 8 1 9 9 0 0 2 3 0 0 0 1: 35+5+8+32+2+9+54+18+30+2 = 195 → 4
    r = validate_citizen_id("500118199002300014", today=TODAY)
    assert r.errors == ["birth date 1990-02-30 does not exist (出生日期不存在)"]
    assert "birth_date" not in r.facts


def test_february_29_only_in_leap_years() -> None:
    assert validate_citizen_id("500118198802290016", today=TODAY).valid
    r = validate_citizen_id("500118199002290012", today=TODAY)
    assert r.errors == ["birth date 1990-02-29 does not exist (出生日期不存在)"]


def test_a_birth_date_in_the_future_is_an_error() -> None:
    # constructed: 5 0 0 1 1 8 2 0 9 9 0 1 0 1 0 0 1: 35+5+8+32+4+54+27+9+5+2 = 181; 181 mod 11 = 5 → 7
    r = validate_citizen_id("500118209901010017", today=TODAY)
    assert r.errors == ["birth date 2099-01-01 is in the future (出生日期晚于今天)"]
    # the default "today" is today in Beijing time: 2099 is still in the future
    assert validate_citizen_id("500118209901010017").errors == r.errors
    # born today is fine
    body = "50011820261129001"
    assert validate_citizen_id(body + check_char(body), today=TODAY).valid


def test_a_wrong_check_character_is_an_error() -> None:
    r = validate_citizen_id("110105194912310021", today=TODAY)
    assert r.errors == ["check character is 1, expected X (校验码错误)"]
    assert not r.valid and r.facts["sex"] == "female"


def test_fifteen_digit_numbers_are_converted_with_a_warning() -> None:
    # the Annex A woman's number before 1999: 110105 491231 002 → insert 19, append X
    assert upgrade_15("110105491231002") == "11010519491231002X"
    r = validate_citizen_id("110105491231002", today=TODAY)
    assert r.valid and r.normalized == "11010519491231002X"
    assert r.warnings == ["15-digit number (GB 11643-1989) converted to 18 digits (一代身份证号码已升位)"]
    assert r.facts["legacy_15"] is True and r.facts["sex"] == "female"
    # 永川县 510229 (1983-1991): a Yongchuan number of the 1980s, retired code
    r = validate_citizen_id("510229850101004", today=TODAY)
    assert r.valid and r.normalized == "510229198501010048"
    assert r.warnings[1] == "region code 510229 (永川县) is retired: last listed in 1991 (历史行政区划代码)"


def test_a_fifteen_digit_number_cannot_carry_a_region_created_after_1999() -> None:
    # a grid code of this project (500118001001001) has 15 digits and a real-looking date
    r = validate_citizen_id("500118001001001", today=TODAY)
    assert r.errors == [
        "region code 500118 (永川区) did not exist before 2000, when 15-digit numbers were last "
        "assigned (一代身份证号码不可能使用该地址码)"
    ]


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (
            "1101051949123100",
            "wrong length: 16 characters; a citizen ID has 18 (or 15 before 1999) (位数错误)",
        ),
        (
            "11010519491231002X1",
            "wrong length: 19 characters; a citizen ID has 18 (or 15 before 1999) (位数错误)",
        ),
        (
            "1101051949123100XX",
            'a citizen ID is 17 digits and a digit or X: found "X" at position 17 (含非法字符)',
        ),
        (
            "11O105194912310021",
            'a citizen ID is 17 digits and a digit or X: found "O" at position 3 (含非法字符)',
        ),
        ("11010549123100X", 'a 15-digit citizen ID has digits only: found "X" at position 15'),
        (
            "١١٠١٠٥١٩٤٩١٢٣١٠٠٢X",
            'a citizen ID is 17 digits and a digit or X: found "١" at position 1 (含非法字符)',
        ),
    ],
)
def test_format_errors(value: str, error: str) -> None:
    r = validate_citizen_id(value, today=TODAY)
    assert r.errors == [error] and r.normalized is None and r.facts == {}


@pytest.mark.parametrize(
    "value",
    [
        440524188001010014,  # an int read from a number cell
        4.40524188001010e17,  # the float Excel really holds
        "4.40524E+17",  # what Excel shows in a General cell
        "4.40524188001E+17",
        "440524188001010000.0",  # pandas' rendering of that float
        "440,524,188,001,010,000",  # a number format with thousands separators
        Decimal("440524188001010014"),
    ],
)
def test_an_id_stored_as_a_number_is_refused(value: object) -> None:
    r = validate_citizen_id(value, today=TODAY)
    assert r.errors == [NUMBER_LOST] and not r.valid
    assert "stored as a number, last digits lost" in NUMBER_LOST


def test_full_width_digits_and_invisible_characters_are_cleaned() -> None:
    dirty = "\ufeff１１０１０５\u200b１９４９\u00a0１２３１\u3000００２ｘ\u2060\u200e"
    assert clean_identifier(dirty) == "11010519491231002x"
    r = validate_citizen_id(dirty, today=TODAY)
    assert r.valid and r.normalized == "11010519491231002X"
    assert clean_identifier(" '11010519491231002X\t\n") == "11010519491231002X"  # Excel's text apostrophe
    assert clean_identifier("\u200b\u200c\u200d\u200f") == ""
    assert clean_identifier(None) == "" and clean_identifier(12) == "12"


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (None, "empty (空值)"),
        ("", "empty (空值)"),
        ("  \u200b ", "empty (空值)"),
        (float("nan"), "empty (空值)"),
        (True, "not text: a true/false value (不是文本)"),
        (b"11010519491231002X", "not text: a bytes value (不是文本)"),
        (["11010519491231002X"], "not text: a list value (不是文本)"),
        ("1" * 2000, "too long for an identifier: 2000 characters (过长)"),
        ("1 " * 70, "too long for an identifier: 70 characters (过长)"),
    ],
)
def test_empty_and_non_text_values(value: object, error: str) -> None:
    for validator in (
        validate_citizen_id,
        validate_uscc,
        validate_org_code,
        validate_phone,
        validate_division,
    ):
        r = validator(value)
        assert r.errors == [error] and r.normalized is None and not r.valid, validator


def test_validators_never_raise_on_garbage() -> None:
    rng = random.Random(20261129)
    alphabet = "0123456789Xx-+() .,/、E\u200b\uff10\uff38年月日O I" + "".join(
        chr(rng.randrange(0x20, 0x3000)) for _ in range(40)
    )
    values: list[object] = [
        0,
        -1,
        1.5,
        -4.4e17,
        math.inf,
        -math.inf,
        10**40,
        10**400,
        Fraction(10**400, 3),
        Decimal("NaN"),
        Decimal("1e400"),
        complex(1, 2),
        object(),
        {},
        "-",
        "+86",
        "+",
        "0086",
        "86",
        "0",
        "00",
        "01",
        "400",
        "1" * 11,
        "0" * 12,
        "X" * 18,
        "-" * 10,
        "12345678-",
        "-12345678",
        "1.0",
        ".0",
        "E+17",
        "1E",
        "٣" * 18,
        "\U0001f600" * 18,
    ]
    for _ in range(3000):
        n = rng.choice([1, 6, 9, 10, 11, 12, 15, 17, 18, 19, 30])
        values.append("".join(rng.choice(alphabet) for _ in range(n)))
    for v in values:
        for validator in (
            validate_citizen_id,
            validate_uscc,
            validate_org_code,
            validate_phone,
            validate_division,
        ):
            r = validator(v)
            assert r.valid == (not r.errors and r.normalized is not None)
            assert r.valid or r.errors
        assert guess_kind(v) in (None, "citizen-id", "uscc", "org-code", "phone", "division")
        validate(v)
        find_identifiers(v if isinstance(v, str) else "")


# --- unified social credit code (GB 32100-2015) ----------------------------------------------------


def test_the_standards_example_credit_code() -> None:
    # GB 32100 example: Σ Ci×Wi over 91350100M000100Y4 = 9+3+27+135+0+26+0+0+420+0+0+0+8+0+0+900+112
    # = 1640; 1640 mod 31 = 28; C18 = 31 - 28 = 3
    assert uscc_check_char("91350100M000100Y4") == "3"
    r = validate_uscc("91350100M000100Y43")
    assert r.valid and r.normalized == "91350100M000100Y43" and r.warnings == []
    assert r.facts == {
        "authority_code": "9",
        "authority": "工商（市场监管）",
        "org_type": "企业",
        "region_code": "350100",
        "region_name": "福州市",
        # M000100Y: 22×3+0+0+0+1×5+0+0+34×2 = 139; 139 mod 11 = 7; 11 - 7 = 4
        "org_code": "M000100Y-4",
    }


def test_the_standards_refused_example() -> None:
    r = validate_uscc("91350100M000100Y4Z")
    assert r.errors == [
        '"Z" at position 18 is not a credit-code character (0-9 and A-Y without I, O, S, V, Z)'
    ]
    assert validate_uscc("91350100M000100Y44").errors == ["check character is 4, expected 3 (校验码错误)"]


def test_a_real_yongchuan_code_with_a_retired_region() -> None:
    # 来苏镇人民政府: 1 1 5 0 0 3 8 3 0 0 9 3 3 8 1 1 2 × 1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28
    # = 1+3+45+0+0+78+128+51+0+0+225+39+24+192+10+30+56 = 882; 882 mod 31 = 14; 31 - 14 = 17 → H
    assert uscc_check_char("11500383009338112") == "H"
    r = validate_uscc("11500383009338112H")
    assert r.valid
    assert (r.facts["authority"], r.facts["org_type"], r.facts["region_name"]) == (
        "机构编制",
        "机关",
        "永川市",
    )
    # 00933811: 0+0+81+30+15+64+4+2 = 196; 196 mod 11 = 9; 11 - 9 = 2
    assert r.facts["org_code"] == "00933811-2"
    assert r.warnings == [
        "region code 500383 (永川市) was last listed in 2005, before credit codes began in 2015 "
        "(历史行政区划代码)"
    ]


def test_a_real_company_code_with_letters_in_its_organisation_code() -> None:
    # MA62K026: 22×3+10×7+6×9+2×10+20×5+0×8+2×4+6×2 = 330; 330 mod 11 = 0; 11 - 0 = 11 → 0
    assert org_check_char("MA62K026") == "0"
    r = validate_uscc("91512081ma62k0260e")  # lower case accepted
    assert r.valid and r.normalized == "91512081MA62K0260E" and r.facts["region_name"] == "简阳市"


def test_credit_code_errors() -> None:
    # constructed bodies, check characters computed (sums: B… 1642 → 1; 94… 1649 → R; 9199… 1802 → U)
    assert validate_uscc("B1350100M000100Y41").errors == [
        "registering authority code B is not defined by GB 32100 (登记管理部门代码错误)"
    ]
    assert validate_uscc("94350100M000100Y4R").errors == [
        "organisation type 4 is not defined for authority 9 (工商（市场监管）) (机构类别代码错误)"
    ]
    assert validate_uscc("91990100M000100Y4U").errors == [
        "region code 990100 is in no edition of GB/T 2260 (行政区划码不存在)"
    ]
    # 91350100M000100Y5: 1640 + 28 = 1668; 1668 mod 31 = 25 → 6; but M000100Y-5 fails GB 11714
    assert validate_uscc("91350100M000100Y56").errors == [
        "organisation code in characters 9-17 M000100Y-5 fails GB 11714: check character should be 4 "
        "(组织机构代码校验码错误)"
    ]
    assert validate_uscc("91350100M000100Y4").errors == [
        "wrong length: 17 characters; a credit code has 18 (位数错误)"
    ]
    assert validate_uscc("9135O100M000100Y43").errors == [
        '"O" at position 5 is not a credit-code character (0-9 and A-Y without I, O, S, V, Z); '
        "with 0 for O the code would be valid"
    ]
    assert validate_uscc(91350100000100143).errors == [NUMBER_LOST]


def test_national_authority_region() -> None:
    body = "11100000M000100Y4"  # constructed: a national body (100000 = 全国)
    r = validate_uscc(body + uscc_check_char(body))
    assert r.valid and r.facts["region_name"] == "全国"


# --- organisation code (GB 11714-1997) -------------------------------------------------------------


@pytest.mark.parametrize("value", ["00933811-2", "009338112", "00933811—2", "００９３３８１１－２"])
def test_organisation_code_with_or_without_hyphen(value: str) -> None:
    r = validate_org_code(value)
    assert r.valid and r.normalized == "009338112" and r.facts == {"org_code": "00933811-2"}


def test_organisation_code_errors() -> None:
    assert validate_org_code("00933811-3").errors == [
        "check character 00933811-3 fails GB 11714: check character should be 2 (组织机构代码校验码错误)"
    ]
    assert validate_org_code("0093381").errors == [
        "an organisation code is 8 characters 0-9/A-Z and a check character 0-9/X, optionally with a "
        "hyphen before it: got 7 characters (格式错误)"
    ]
    assert validate_org_code("11500383009338112H").errors == [
        "this is a unified social credit code; its organisation code is 00933811-2 (统一社会信用代码)"
    ]
    # the leading zeros of an all-digit code are lost in a number cell
    r = validate_org_code(9338112)
    assert r.warnings == [
        "stored as a number (以数字存储): keep the column as text so leading zeros are not lost"
    ]
    assert r.errors == [
        "an organisation code is 8 characters 0-9/A-Z and a check character 0-9/X, optionally with a "
        "hyphen before it: got 7 characters (格式错误)"
    ]


def test_custom_range_is_a_warning() -> None:
    # PDY00001: 25×3+13×7+34×9+0+0+0+0+1×2 = 474; 474 mod 11 = 1; 11 - 1 = 10 → X
    r = validate_org_code("PDY00001-X")
    assert r.valid and r.warnings == [
        "organisation code in the custom range PDY00001-PDY99999 (自定义区): for internal use only"
    ]
    assert org_check_char("12345678") == "8"  # 3+14+27+40+25+48+28+16 = 201; 201 mod 11 = 3; 11 - 3 = 8


# --- phone numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "13800138000",
        "138 0013 8000",
        "138-0013-8000",
        "+86 138 0013 8000",
        "+86-13800138000",
        "0086 13800138000",
        "8613800138000",
        "(+86)13800138000",
        "１３８００１３８０００",
        13800138000,
        13800138000.0,
        "13800138000.0",
    ],
)
def test_mobile_numbers_are_normalised(value: object) -> None:
    r = validate_phone(value)
    assert r.valid and r.normalized == "13800138000"
    assert (r.facts["line_type"], r.facts["operator"], r.facts["masked"]) == (
        "mobile",
        "中国移动",
        "138****8000",
    )


def test_mobile_segments_come_from_the_miit_table() -> None:
    assert validate_phone("19212345678").facts["operator"] == "中国广电"
    r = validate_phone("17001234567")
    assert r.valid and (r.facts["operator"], r.facts["segment_kind"]) == ("中国电信", "resale")
    assert validate_phone("17041234567").facts["operator"] == "中国联通"
    r = validate_phone("13492123456")
    assert (
        r.valid and r.warnings == ["satellite phone number (卫星电话)"] and r.facts["operator"] == "中国电信"
    )
    assert validate_phone("13412345678").facts == {
        "line_type": "mobile",
        "operator": "中国移动",
        "segment_kind": "mobile",
        "masked": "134****5678",
    }
    for unallocated in ("15412345678", "19412345678", "16012345678", "12012345678"):
        assert validate_phone(unallocated).errors == [
            f"segment {unallocated[:3]} is not allocated to a mobile network (号段未分配)"
        ]


def test_landlines_are_recognised_with_a_warning() -> None:
    for value in ("023-49851234", "(023)49851234", "023 4985 1234", "02349851234", "+86 23 4985 1234"):
        r = validate_phone(value)
        assert r.valid and r.normalized == "023-49851234", value
        assert r.warnings == ["fixed line (固定电话), not a mobile number"]
        assert (r.facts["line_type"], r.facts["area_code"]) == ("landline", "023")
    assert validate_phone("0851-85551234").normalized == "0851-85551234"
    assert validate_phone("0851-1234567").errors == [
        "after area code 0851 a local number has 7 or 8 digits not starting with 0 or 1 (号码位数错误)"
    ]
    assert validate_phone("0234985").errors == [
        "a fixed-line number with its area code has 10-12 digits, this one 7 (号码位数错误)"
    ]
    assert validate_phone("023-49851234", mobile_only=True).errors == [
        "a fixed-line number, not a mobile number (不是手机号码)"
    ]
    assert validate_phone("010-1234567").errors == [
        "after area code 010 a local number has 8 digits not starting with 0 or 1 (号码位数错误)"
    ]


def test_local_numbers_and_service_numbers() -> None:
    r = validate_phone("49851234")
    assert (
        r.valid
        and r.normalized == "49851234"
        and r.warnings == ["fixed line (固定电话), not a mobile number; no area code (缺区号)"]
    )
    r = validate_phone("4985 1234", default_area_code="023")
    assert r.normalized == "023-49851234" and "area code 023 assumed" in r.warnings[0]
    assert validate_phone("49851234", mobile_only=True).errors == [
        "a 8-digit local fixed-line number, not a mobile number (不是手机号码)"
    ]
    r = validate_phone("400-810-8888")
    assert r.valid and r.normalized == "400-810-8888" and r.facts["line_type"] == "service"


def test_phone_errors() -> None:
    assert validate_phone("13800138000/13900139000").errors == [
        "2 numbers in one field: keep one number per field (一栏多个号码)"
    ]
    assert validate_phone("13800138000、023-49851234").errors[0].startswith("2 numbers in one field")
    assert validate_phone("1380013800").errors == [
        "a mobile number has 11 digits, this one 10 (手机号码位数错误)"
    ]
    assert validate_phone("138 0013 800O").errors == ['"O" is not part of a phone number (含非法字符)']
    assert validate_phone("00441234567890").errors == [
        "an international number (00…) other than +86 (非大陆号码)"
    ]
    assert validate_phone("12345").errors == ["a mobile number has 11 digits, this one 5 (手机号码位数错误)"]
    assert (
        validate_phone("+86").errors
        == validate_phone("--").errors
        == ["no digits: not a phone number (不是电话号码)"]
    )
    assert validate_phone("98765").errors == ["not a phone number: 5 digits starting with 9 (不是电话号码)"]
    assert validate_phone("1.38001E+10").errors == [NUMBER_LOST]
    r = validate_phone("013800138000")
    assert r.valid and r.warnings == ["leading 0 (long-distance prefix) removed from a mobile number"]


# --- division codes (统计用区划代码) ---------------------------------------------------------------


def test_yongchuan_codes_at_every_level() -> None:
    r = validate_division("500118001001")
    assert r.valid and r.normalized == "500118001001"
    assert r.facts == {
        "level": "village",
        "region_code": "500118",
        "region_name": "永川区",
        "region_status": "current",
        "town_type": "街道",
        "village_type": "居民委员会",
        "name": "中山路社区居民委员会",
        "town_name": "中山路街道",
    }
    r = validate_division("500118001")
    assert r.valid and r.normalized == "500118001000" and r.facts["name"] == "中山路街道"
    r = validate_division("500118")
    assert r.valid and r.normalized == "500118000000" and r.facts["level"] == "county"
    r = validate_division(500118003206)  # 黄瓜山村 typed into a number cell: no digit lost
    assert (
        r.valid and r.facts["village_type"] == "村民委员会" and r.warnings[0].startswith("stored as a number")
    )
    assert validate_division("500100000000").facts["name"] == "市辖区"
    assert validate_division("500000").facts["level"] == "province"


def test_division_errors() -> None:
    assert validate_division("500118050000").errors == [
        "500118050000 is not a town of 500118 in the NBS 2023 list (区划代码不存在)"
    ]
    assert validate_division("500118001099").errors == [
        "500118001099 is not a village of 500118 in the NBS 2023 list (区划代码不存在)"
    ]
    assert validate_division("500118999000").errors == [
        "town part 999 is outside 001-599 (乡级代码超出范围)",
        "500118999000 is not a town of 500118 in the NBS 2023 list (区划代码不存在)",
    ]
    assert validate_division("500118000001").errors == ["a village part without a town part (村级代码缺乡级)"]
    r = validate_division("500000001000")
    assert r.errors == ["a town part under 500000, a province code (乡级代码须在县级之下)"]
    assert r.warnings == [
        "towns and villages of 500000 are not checked against a list (only 500118 is shipped)"
    ]
    assert validate_division("990000").errors == ["990000 is in no edition of GB/T 2260 (县级代码不存在)"]
    for bad in ("50011", "5001180010", "50011800100A", "500118001001001"):
        assert validate_division(bad).errors[0].startswith("a division code is 6, 9 or 12 digits"), bad


def test_division_warnings_outside_the_shipped_district() -> None:
    r = validate_division("500383")
    assert r.valid and r.warnings == ["500383 (永川市) is retired: last listed in 2005 (历史行政区划代码)"]
    r = validate_division("110105001001")
    assert r.valid and r.warnings == [
        "towns and villages of 110105 are not checked against a list (only 500118 is shipped)"
    ]


# --- guessing, dispatch and the leak scanner --------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("11010519491231002X", "citizen-id"),
        ("11010519491231002x", "citizen-id"),
        ("110105491231002", "citizen-id"),
        ("4.40524E+17", "citizen-id"),
        (440524188001010014, "citizen-id"),
        ("91350100M000100Y43", "uscc"),
        ("91350100m000100y43", "uscc"),
        ("00933811-2", "org-code"),
        ("M000100Y4", "org-code"),
        ("009338112", "org-code"),
        ("13800138000", "phone"),
        (13800138000, "phone"),
        ("+86 138 0013 8000", "phone"),
        ("023-49851234", "phone"),
        ("49851234", "phone"),
        ("400-810-8888", "phone"),
        ("500118001001", "division"),
        ("500118001", "division"),
        ("500118", "division"),
        ("hello", None),
        ("", None),
        (None, None),
        (float("nan"), None),
    ],
)
def test_guess_kind(value: object, kind: str | None) -> None:
    assert guess_kind(value) == kind


def test_an_all_digit_credit_code_is_guessed_as_such() -> None:
    # constructed: a 农民专业合作社 of 500118, organisation code 00000000-0 (check 11 → 0);
    # 9+9+45+0+0+26+16+136 = 241; 241 mod 31 = 24; 31 - 24 = 7. As a citizen ID its "birth date"
    # 1800-00-00 does not exist, so the credit code wins.
    assert uscc_check_char("93500118000000000") == "7"
    assert validate_uscc("935001180000000007").valid
    assert guess_kind("935001180000000007") == "uscc"
    assert validate("935001180000000007").facts["org_type"] == "农民专业合作社"


def test_validate_dispatches_and_says_when_it_guessed() -> None:
    r = validate("11010519491231002X")
    assert (r.kind, r.guessed, r.valid) == ("citizen-id", True, True)
    r = validate("11010519491231002X", "uscc")
    assert (r.kind, r.guessed, r.valid) == ("uscc", False, False)
    r = validate("hello")
    assert (r.kind, r.errors) == (
        None,
        ["cannot tell which kind of identifier this is (无法判断类型): name the kind"],
    )
    assert validate(None).errors == ["empty (空值)"]
    with pytest.raises(ValueError, match="unknown identifier kind"):
        validate("x", "passport")
    d = validate("500118001001").as_dict()
    assert list(d)[:6] == ["valid", "normalized", "errors", "warnings", "kind", "guessed"]


def test_find_identifiers_in_text() -> None:
    text = (
        "张三 身份证11010519491231002x，电话138-0013-8000；李四 500118********123X 138****5678；"
        "订单 110105194912310021 网格 500118001001001 +86 13900139000 号码１３８００１３８０００ 15412345678"
    )
    found = find_identifiers(text)
    assert [(f.kind, f.value, f.masked) for f in found] == [
        ("citizen-id", "11010519491231002X", "110105********002X"),
        ("phone", "13800138000", "138****8000"),
        ("phone", "13900139000", "139****9000"),
        ("phone", "13800138000", "138****8000"),
    ]
    assert text[found[0].start : found[0].end] == "11010519491231002x"
    assert text[found[1].start : found[1].end] == "138-0013-8000"
    assert text[found[2].start : found[2].end] == "+86 13900139000"
    assert find_identifiers("") == [] and find_identifiers(None) == []  # type: ignore[arg-type]


def test_find_identifiers_checks_ids_and_ignores_glued_digits() -> None:
    # an 18-digit run with a right check and a real date counts even with an unknown region
    assert [f.value for f in find_identifiers("id 990101199001010019.")] == ["990101199001010019"]
    assert find_identifiers("x11010519491231002X") == []  # glued to a letter
    assert find_identifiers("211010519491231002X") == []  # part of a longer number
    assert [f.value for f in find_identifiers("旧号110105491231002")] == ["11010519491231002X"]


# --- the shipped tables -----------------------------------------------------------------------------


def test_the_gbt2260_table() -> None:
    regions = tables.regions()
    assert len(regions) == 7328
    assert sum(r.status == "current" for r in regions.values()) == 3214
    assert regions["500118"].status == "current" and regions["500118"].name == "永川区"
    assert (regions["500383"].status, regions["500383"].last_year) == ("retired", 2005)
    # 下城区 and 江干区 of Hangzhou were merged in 2021: current in the 2020 MCA list, gone in NBS 2023
    assert (regions["330103"].status, regions["330103"].last_year) == ("retired", 2020)
    assert regions["330113"].status == "current"  # 临平区, created 2021
    assert regions["120110"].name == "东丽区" and len(regions["120110"].periods) == 2  # was 东郊区
    assert regions["810000"].status == "current"  # Hong Kong: GB/T 2260 lists it, NBS does not
    assert regions["130171"].status == "statistical" and regions["500100"].status == "grouping"
    assert regions["500118"].level == "county" and regions["500100"].level == "prefecture"


def test_the_other_tables() -> None:
    assert tables.segment("13412345678").operator == "中国移动"  # type: ignore[union-attr]
    assert tables.segment("13492345678").kind == "satellite"  # type: ignore[union-attr]
    assert tables.segment("15412345678") is None
    assert sorted(tables.uscc_categories()) == ["1", "2", "3", "4", "5", "6", "7", "8", "9", "A", "N", "Y"]
    divs = tables.divisions()
    assert sum(d.level == "town" for d in divs.values()) == 23
    assert sum(d.level == "village" for d in divs.values()) == 267


def test_a_bad_table_is_refused_with_file_line_and_column(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "gbt2260_codes.csv").write_text(
        "code,name,first_year,last_year,status,source\n110000,北京市,,,current,mca\n11010,东城区,,,current,mca\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(tables, "DATA", tmp_path)
    tables.regions.cache_clear()
    try:
        with pytest.raises(
            ValueError, match=r"gbt2260_codes.csv: line 3, column code: \"11010\" is not a 6-digit code"
        ):
            tables.regions()
    finally:
        monkeypatch.undo()
        tables.regions.cache_clear()
    assert tables.region("110101") is not None
