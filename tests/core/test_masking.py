"""Masking of personal identifiers in free text (core.access.mask_text)."""

from __future__ import annotations

import pytest

from zhizhi.core.access import citizen_id_checks, mask_phone, mask_text

# 11010519491231002X is the example ID of GB 11643-1999; its check character is X:
# sum(d*w) = 1*7+1*9+0*10+1*5+0*8+5*4+1*2+9*1+4*6+9*3+1*7+2*9+3*10+1*5+0*8+0*4+2*2 = 167, 167 % 11 = 2 → "X"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("我的电话13812345678，身份证11010519491231002X", "我的电话138****5678，身份证110105********002X"),
        ("身份证号11010519491231002x。", "身份证号110105********002x。"),
        ("+86 138-1234-5678 联系", "+86 138-****-5678 联系"),
        ("回电 0086 13812345678", "回电 0086 138****5678"),
        # typed with a Chinese input method: full-width digits and X, dots as separators
        ("手机１３８１２３４５６７８", "手机１３８****５６７８"),
        ("138.1234.5678", "138.****.5678"),
        ("身份证１１０１０５１９４９１２３１００２Ｘ", "身份证１１０１０５********００２Ｘ"),
        ("座机023-49851234 请回电", "座机023-****1234 请回电"),
        ("老身份证号110105491231002", "老身份证号110105*****1002"),
        # a bare 15-digit number is a code (grid 500118001001001), not a legacy ID
        ("网格 500118001001001 巡查", "网格 500118001001001 巡查"),
        # not personal identifiers: left as they are
        ("工单号 20240301123456789012", "工单号 20240301123456789012"),
        ("拨打12345热线", "拨打12345热线"),
        ("编号110105194912310021", "编号110105194912310021"),  # wrong check character: not an ID
        ("面积 1381234567 平方米", "面积 1381234567 平方米"),  # 10 digits: not a mobile number
        ("", ""),
    ],
)
def test_mask_text(text: str, masked: str) -> None:
    assert mask_text(text) == masked


def test_none_stays_none() -> None:
    assert mask_text(None) is None and mask_phone(None) is None


def test_citizen_id_check_character() -> None:
    assert citizen_id_checks("11010519491231002X")
    assert not citizen_id_checks("110105194912310021")
    assert not citizen_id_checks("110105491331002")  # month 13


def test_log_lines_are_masked(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from zhizhi.core.access import install_log_masking

    install_log_masking()
    install_log_masking()  # idempotent
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        logging.getLogger("uvicorn.access").info(
            '%s - "%s %s HTTP/1.1" %d', "127.0.0.1", "GET", "/api/v1/events?q=13812345678", 200
        )
    assert caplog.records[-1].getMessage() == '127.0.0.1 - "GET /api/v1/events?q=138****5678 HTTP/1.1" 200'
    assert len(logging.getLogger("uvicorn.access").filters) == 1
