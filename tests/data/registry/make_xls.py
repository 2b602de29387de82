"""Write ``residents_legacy.xls``: an Excel 97-2003 workbook of GENERATED residents, as a clerk's old
花名册 looks (title row, two-row header with a merged 家庭成员 group, a date cell, a date typed as a
General number, an ID cell that Excel turned into a number).

xlwt is not a dependency of zhizhi (only this fixture needs a writer of .xls); the file was made once:

    pip install --target /tmp/xlwt_target xlwt==1.3.0
    PYTHONPATH=/tmp/xlwt_target .venv/bin/python tests/data/registry/make_xls.py

Every person is invented: IDs with the 永川区 prefix 500118, made-up birth dates and sequence
numbers, and the GB 11643 check character; phones in the 138-0000 block.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import xlwt  # type: ignore[import-not-found]

from zhizhi.registry.identifiers import check_char


def gen_id(birth: str, seq: int) -> str:
    body = f"500118{birth}{seq:03d}"
    return body + check_char(body)


def main() -> None:
    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("花名册")
    date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    ws.write_merge(0, 0, 0, 9, "中山路社区实有人口花名册(生成数据)")
    ws.write_merge(1, 2, 0, 0, "序号")
    ws.write_merge(1, 1, 1, 3, "家庭成员")
    for col, text in enumerate(("性别", "出生日期", "联系电话", "所属村", "网格", "人员类别"), start=4):
        ws.write_merge(1, 2, col, col, text)
    for col, text in enumerate(("姓名", "公民身份号码", "与户主关系"), start=1):
        ws.write(2, col, text)
    serial = (date(1962, 3, 15) - date(1899, 12, 30)).days  # typed into a General cell
    rows = [
        (
            1,
            "赵测试",
            gen_id("19500101", 11),
            "户主",
            "男",
            date(1950, 1, 1),
            "13800000011",
            "中山路社区",
            "第1网格",
            "低保",
        ),
        (
            2,
            "钱测试",
            gen_id("19620315", 12),
            "配偶",
            "女",
            serial,
            "13800000012",
            "中山路社区",
            "第2网格",
            "",
        ),
        (
            3,
            "孙测试",
            float(gen_id("19900707", 13)[:17] + "0"),
            "子",
            "男",
            "1990-07-07",
            "13800000013",
            "中山路社区",
            "2",
            "",
        ),
    ]
    for r, values in enumerate(rows, start=3):
        for c, v in enumerate(values):
            if isinstance(v, date):
                ws.write(r, c, v, date_style)
            else:
                ws.write(r, c, v)
    wb.save(str(Path(__file__).with_name("residents_legacy.xls")))


if __name__ == "__main__":
    main()
