"""Event category catalogue (事件分类, 立结案标准) and message classification (no database).

Real data: the shipped catalogue, org/data/departments.yaml and boards.yaml, and the 泰迪杯 2020 C
问政 messages in event/data (see SOURCES.md there).
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from zhizhi.event import catalogue as cat
from zhizhi.event.catalogue import NODES, CatalogueError, load_catalogue
from zhizhi.event.message_rules import classify_message, load_message_rules

DATA = Path(cat.__file__).resolve().parent / "data"

# Measured on the 495 labeled messages with category_l1 withheld: 450/495 = 0.9091
# (docs/domains/catalogue.md). The floor leaves a margin of about 2 points for rule edits.
LABELED_ACCURACY_FLOOR = 0.89


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _messages(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


# --- the shipped catalogue ------------------------------------------------------------------------


def test_shipped_catalogue_loads_with_its_three_roots() -> None:
    c = load_catalogue()
    assert [r.key for r in c.roots] == ["urban", "governance", "hotline"]
    per_root = {r.key: sum(len(c.groups[g].leaf_codes) for g in r.group_codes) for r in c.roots}
    assert per_root == {"urban": 35, "governance": 77, "hotline": 5}
    assert len(c.leaves()) == 117
    assert c.roots[0].group_codes == ("01", "02", "03", "04", "05", "06", "07", "08")
    assert c.roots[2].group_codes == ("91", "92", "93", "94", "95")
    assert c.group("01").name == "市容环境"
    assert c.group("22").name == "安全隐患"


def test_default_load_is_cached() -> None:
    assert load_catalogue() is load_catalogue()
    assert load_message_rules() is load_message_rules()


def test_every_leaf_is_complete_after_defaults() -> None:
    c = load_catalogue()
    depts = {d["abbr"] for d in _yaml(cat.DEPARTMENTS_PATH)["departments"]}
    boards = {b["key"] for b in _yaml(cat.BOARDS_PATH)["boards"]}
    for leaf in c.leaves():
        assert tuple(leaf.limits) == NODES, leaf.code
        for node in NODES:
            amount, clock = c.limit(leaf.code, node)
            assert amount > 0 and clock in cat.CLOCKS, (leaf.code, node)
        assert len(leaf.code) == 4 and leaf.code.startswith(leaf.group_code)
        assert leaf.board in boards
        assert leaf.default_unit == "town" or leaf.default_unit in depts
        assert leaf.register_conditions and leaf.close_conditions
        assert leaf.urgency in cat.URGENCIES


def test_real_limits_from_the_cited_local_rules() -> None:
    c = load_catalogue()
    assert c.limit("0101", "handle") == (4.0, "working_hours")  # 暴露垃圾 4 工作时
    assert c.limit("0102", "handle") == (4.0, "working_hours")  # 建筑垃圾 4 工作时
    assert c.limit("0103", "handle") == (2.0, "working_days")  # 渣土 2 工作日
    assert c.limit("0104", "handle") == (2.0, "working_hours")  # 道路保洁 2 工作时
    assert c.limit("0303", "handle") == (4.0, "working_hours")  # 私搭乱建 停工 4 工作时
    assert c.limit("0304", "handle") == (20.0, "working_days")  # 违法建设 拆除 20 工作日
    assert c.limit("0401", "handle") == (4.0, "working_hours")  # 路面积水 4 工作时
    assert c.limit("0801", "handle") == (4.0, "working_hours")  # 绿地保洁 4 工作时
    assert c.limit("0802", "handle") == (5.0, "working_days")  # 绿地养护 5 工作日
    assert c.limit("0602", "handle") == (1.0, "working_days")  # 3 盏路灯不亮 1 工作日
    assert c.limit("0502", "sign") == (1.0, "continuous")  # 露天烧烤 1 h 到场
    assert c.limit("0502", "handle") == (2.0, "continuous")  # 露天烧烤 2 h 办结
    assert c.limit("9101", "handle") == (3.0, "working_days")  # 12345 咨询
    assert c.limit("9301", "handle") == (13.0, "working_days")  # 12345 投诉
    assert c.limit("9501", "handle") == (13.0, "working_days")  # 12345 建议
    assert c.limit("2404", "handle") == (3.0, "natural_days")  # 强制报告 3 日程序性答复
    assert c.limit("2206", "accept") == (1 / 60, "continuous")  # 林火 1 min 查看
    assert c.limit("2206", "sign") == (3 / 60, "continuous")  # 3 min 到场
    assert c.limit("2206", "dispatch") == (5 / 60, "continuous")  # 5 min 出动
    # 卫星热点核查: every node up to the verification feedback adds up to the fire scenario's 1 h
    assert c.limit("2207", "handle") == (35 / 60, "continuous")
    assert sum(c.limit("2207", n)[0] for n in ("accept", "register", "dispatch", "sign", "handle")) == 1.0
    for code in ("0101", "0104", "0303", "0802"):
        assert c.leaf(code).source is not None and "renrendoc" in str(c.leaf(code).source)


def test_defaults_and_urgency_fallback() -> None:
    c = load_catalogue()
    # a normal leaf without own limits gets default_limits
    assert c.leaf("2101").own_limits == frozenset()
    assert [c.limit("2101", n) for n in NODES] == [
        (0.5, "continuous"), (0.5, "working_hours"), (0.5, "working_hours"), (1.0, "working_hours"),
        (5.0, "working_days"), (2.0, "working_hours"), (1.0, "working_hours"),
    ]
    # an urgent leaf gets urgency_limits.urgent, and its own values win over both
    assert c.leaf("0402").urgency == "urgent"
    assert c.limit("0402", "accept") == (10 / 60, "continuous")
    assert c.limit("0402", "handle") == (24.0, "continuous")
    assert c.limit("0402", "verify") == (1.0, "continuous")
    assert c.limit("0601", "handle") == (2.0, "continuous")
    assert c.limit("0601", "accept") == (10 / 60, "continuous")


def test_special_leaves() -> None:
    c = load_catalogue()
    minors = c.leaf("2404")
    assert (minors.name, minors.confidential, minors.default_unit) == ("未成年人保护", True, "MZJ")
    fire = c.find_by_name("森林火情")
    assert fire is not None and (fire.code, fire.group_name, fire.urgency) == ("2206", "安全隐患", "urgent")
    hotspot = c.find_by_name("卫星热点核查")
    assert hotspot is not None and hotspot.default_unit == "LYJ" and hotspot.allow_out_of_area
    assert c.leaf("0101").root == "urban" and c.leaf("0101").board == "livelihood"
    assert c.leaf("0303").default_unit == "town"
    assert [c.leaf(f"9{i}01").group_name for i in range(1, 6)] == ["咨询", "求助", "投诉", "举报", "建议"]
    found = c.find_by_name(" 暴露垃圾 ")
    assert found is not None and found.code == "0101"
    assert c.find_by_name("没有这个") is None


def test_unknown_lookups_raise_catalogue_error() -> None:
    c = load_catalogue()
    with pytest.raises(CatalogueError) as e:
        c.leaf("9999")
    assert str(e.value) == 'unknown category "9999"'
    assert isinstance(e.value, ValueError)
    with pytest.raises(CatalogueError, match=r'^unknown category "01"$'):
        c.limit("01", "handle")
    with pytest.raises(CatalogueError) as e:
        c.limit("0101", "archive")
    assert str(e.value) == ('unknown node "archive" (expected one of accept, register, dispatch, sign, '
                            'handle, verify, close)')
    with pytest.raises(CatalogueError, match=r'^unknown category group "99"$'):
        c.group("99")


def test_tree_is_json_ready() -> None:
    tree = load_catalogue().tree()
    back = json.loads(json.dumps(tree, ensure_ascii=False))
    assert back == tree
    assert [r["key"] for r in tree] == ["urban", "governance", "hotline"]
    first = tree[0]["groups"][0]["leaves"][0]
    assert first["code"] == "0101" and first["name"] == "暴露垃圾"
    assert first["limits"]["handle"] == {"amount": 4.0, "clock": "working_hours"}
    assert sum(len(g["leaves"]) for r in tree for g in r["groups"]) == 117


def test_departments_and_boards_data() -> None:
    depts = _yaml(cat.DEPARTMENTS_PATH)["departments"]
    abbrs = [d["abbr"] for d in depts]
    assert len(abbrs) == len(set(abbrs)) == 36
    assert all(a.isascii() and a.isupper() for a in abbrs)
    assert {d["kind"] for d in depts} == {"department"}
    by = {d["abbr"]: d["name"] for d in depts}
    assert by["CGJ"] == "永川区城市管理局" and by["STHJ"] == "永川区生态环境局"
    assert by["XFB"] == "永川区信访办公室" and by["TYJ"] == "永川区退役军人事务局"
    boards = _yaml(cat.BOARDS_PATH)["boards"]
    assert [(b["key"], b["name"], b["suffix"]) for b in boards] == [
        ("party_building", "党的建设", "DJ"), ("economy", "经济发展", "JJ"),
        ("livelihood", "民生服务", "MS"), ("safety", "平安法治", "PA"),
    ]
    assert all(len(b["posts"]) >= 4 and all(isinstance(p, str) for p in b["posts"]) for b in boards)


# --- invalid catalogues are refused with exact messages -------------------------------------------

_LEAF: dict[str, object] = {
    "code": "0101", "name": "暴露垃圾", "register_conditions": ["有暴露垃圾"], "close_conditions": ["已清理"],
    "board": "livelihood", "default_unit": "CGJ", "urgency": "normal",
}
_DEFAULTS = {n: {"amount": 1, "clock": "working_hours"} for n in NODES}


def _doc(*leaves: dict[str, object], defaults: dict[str, object] | None = None) -> dict[str, object]:
    group: dict[str, object] = {"code": "01", "name": "市容环境", "leaves": list(leaves) or [dict(_LEAF)]}
    if defaults is not None:
        group["defaults"] = defaults
    return {"version": 1, "default_limits": _DEFAULTS,
            "roots": [{"key": "urban", "name": "城市管理", "groups": [group]}]}


def _write(tmp_path: Path, doc: object) -> Path:
    p = tmp_path / "categories.yaml"
    p.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return p


def _refused(tmp_path: Path, doc: object) -> str:
    p = _write(tmp_path, doc)
    with pytest.raises(CatalogueError) as e:
        load_catalogue(p)
    return str(e.value).removeprefix(f"{p}: ")


def test_a_minimal_catalogue_loads_and_is_not_cached(tmp_path: Path) -> None:
    p = _write(tmp_path, _doc())
    c = load_catalogue(p)
    assert c.path == str(p) and [leaf.code for leaf in c.leaves()] == ["0101"]
    assert c.limit("0101", "close") == (1.0, "working_hours")
    assert c is not load_catalogue(p) and c is not load_catalogue()
    assert c.leaf("0101").allow_out_of_area is False and c.leaf("0101").confidential is False


def test_unknown_board_is_refused(tmp_path: Path) -> None:
    msg = _refused(tmp_path, _doc({**_LEAF, "board": "parks"}))
    assert msg == ('category "0101" field "board": unknown board "parks" '
                   '(expected one of economy, livelihood, party_building, safety)')


def test_unknown_department_is_refused(tmp_path: Path) -> None:
    msg = _refused(tmp_path, _doc({**_LEAF, "default_unit": "XYZ"}))
    assert msg == ('category "0101" field "default_unit": unknown department abbr "XYZ" '
                   '(not in departments.yaml, and not "town")')


def test_department_list_is_taken_from_the_given_file(tmp_path: Path) -> None:
    depts = tmp_path / "departments.yaml"
    depts.write_text("departments:\n  - {abbr: ZJW, name: 住建委, kind: department}\n", encoding="utf-8")
    p = _write(tmp_path, _doc())
    with pytest.raises(CatalogueError, match='unknown department abbr "CGJ"'):
        load_catalogue(p, departments_path=depts)
    ok = _write(tmp_path, _doc({**_LEAF, "default_unit": "ZJW"}))
    assert load_catalogue(ok, departments_path=depts).leaf("0101").default_unit == "ZJW"


def test_unknown_clock_is_refused(tmp_path: Path) -> None:
    msg = _refused(tmp_path, _doc({**_LEAF, "limits": {"handle": {"amount": 4, "clock": "hours"}}}))
    assert msg == ('category "0101" field "limits.handle.clock": unknown clock "hours" '
                   '(expected one of continuous, working_hours, working_days, natural_days)')


def test_negative_and_zero_amounts_are_refused(tmp_path: Path) -> None:
    msg = _refused(tmp_path, _doc({**_LEAF, "limits": {"handle": {"amount": -4, "clock": "working_hours"}}}))
    assert msg == 'category "0101" field "limits.handle.amount": negative amount -4'
    msg = _refused(tmp_path, _doc({**_LEAF, "limits": {"sign": {"amount": 0, "clock": "continuous"}}}))
    assert msg == 'category "0101" field "limits.sign.amount": amount must be greater than 0'
    msg = _refused(tmp_path, _doc({**_LEAF, "limits": {"sign": {"amount": "1h", "clock": "continuous"}}}))
    assert msg == "category \"0101\" field \"limits.sign.amount\": must be a number, not '1h'"


def test_unknown_node_and_unit_mismatch_are_refused(tmp_path: Path) -> None:
    msg = _refused(tmp_path, _doc({**_LEAF, "limits": {"archive": {"amount": 1, "clock": "continuous"}}}))
    assert msg.startswith('category "0101" field "limits.archive": unknown node "archive" '
                          '(expected one of accept,')
    msg = _refused(tmp_path, _doc({**_LEAF, "limits": {"handle": {"amount": 30, "unit": "minutes",
                                                                 "clock": "working_days"}}}))
    assert msg == ('category "0101" field "limits.handle.unit": '
                   'unit "minutes" does not fit clock "working_days"')


def test_minutes_become_hours(tmp_path: Path) -> None:
    p = _write(tmp_path, _doc({**_LEAF, "limits": {"accept": {"amount": 15, "unit": "minutes",
                                                              "clock": "continuous"}}}))
    assert load_catalogue(p).limit("0101", "accept") == (0.25, "continuous")


def test_duplicate_code_and_name_are_refused(tmp_path: Path) -> None:
    msg = _refused(tmp_path, _doc(dict(_LEAF), {**_LEAF, "name": "另一个"}))
    assert msg == 'category "0101" field "code": duplicate code'
    msg = _refused(tmp_path, _doc(dict(_LEAF), {**_LEAF, "code": "0102"}))
    assert msg == 'category "0102" field "name": duplicate name "暴露垃圾" (also 0101)'


def test_leaf_code_must_be_prefixed_by_its_group(tmp_path: Path) -> None:
    msg = _refused(tmp_path, _doc({**_LEAF, "code": "0201"}))
    assert msg == 'category "0201" field "code": leaf code is not prefixed by its group code "01"'


def test_unquoted_code_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "categories.yaml"
    text = yaml.safe_dump(_doc(), allow_unicode=True).replace("code: '0101'", "code: 0101")
    p.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogueError) as e:
        load_catalogue(p)
    # YAML 1.1 reads 0101 as the octal integer 65
    assert str(e.value) == (f'{p}: category "65" field "code": '
                            'a leaf code must be a quoted string of 4 digits (in group 01)')


def test_missing_default_node_and_unknown_keys_are_refused(tmp_path: Path) -> None:
    doc = _doc()
    doc["default_limits"] = {n: v for n, v in _DEFAULTS.items() if n != "verify"}
    assert _refused(tmp_path, doc) == 'field "default_limits": missing node "verify"'
    msg = _refused(tmp_path, _doc({**_LEAF, "colour": "red"}))
    assert msg.startswith('category "0101" field "(leaf)": unknown key "colour" (allowed: ')
    msg = _refused(tmp_path, _doc({**_LEAF, "urgency": "asap"}))
    assert msg == ('category "0101" field "urgency": unknown urgency "asap" '
                   '(expected one of low, normal, high, urgent)')
    leaf = dict(_LEAF)
    del leaf["board"]
    msg = _refused(tmp_path, _doc(leaf))
    assert msg == 'category "0101" field "board": missing (set it on the leaf or in the group defaults)'
    msg = _refused(tmp_path, _doc({**_LEAF, "close_conditions": []}))
    assert msg == 'category "0101" field "close_conditions": must be a non-empty list of strings'


def test_group_defaults_apply_and_leaf_values_win(tmp_path: Path) -> None:
    leaf = {k: v for k, v in _LEAF.items() if k not in ("board", "default_unit", "urgency")}
    doc = _doc(leaf, {**leaf, "code": "0102", "name": "建筑垃圾", "default_unit": "town",
                      "confidential": True},
               defaults={"board": "safety", "default_unit": "CGJ", "urgency": "urgent"})
    doc["urgency_limits"] = {"urgent": {"accept": {"amount": 10, "unit": "minutes", "clock": "continuous"}}}
    c = load_catalogue(_write(tmp_path, doc))
    a, b = c.leaf("0101"), c.leaf("0102")
    assert (a.board, a.default_unit, a.urgency, a.confidential) == ("safety", "CGJ", "urgent", False)
    assert (b.default_unit, b.confidential) == ("town", True)
    assert c.limit("0102", "accept") == (10 / 60, "continuous")
    assert c.limit("0102", "sign") == (1.0, "working_hours")


def test_unreadable_and_invalid_yaml_files_are_refused(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(CatalogueError, match=r"nope\.yaml: cannot read file"):
        load_catalogue(missing)
    bad = tmp_path / "bad.yaml"
    bad.write_text("roots: [\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match=r"bad\.yaml: invalid YAML"):
        load_catalogue(bad)
    msg = _refused(tmp_path, ["not", "a", "mapping"])
    assert msg == "the file must hold a mapping with version, default_limits, roots"


# --- message rules ----------------------------------------------------------------------------------


def _rules_file(tmp_path: Path, **over: object) -> Path:
    doc: dict[str, object] = {
        "l1_groups": {"环境保护": ["30"]}, "l1_fallback": {"环境保护": "3007"},
        "rules": [{"leaf": "0101", "keywords": ["垃圾"]}], "default_leaf": "9301",
    }
    doc.update(over)
    p = tmp_path / "rules.yaml"
    p.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return p


def test_invalid_rules_are_refused(tmp_path: Path) -> None:
    p = _rules_file(tmp_path, rules=[{"leaf": "0199", "keywords": ["垃圾"]}])
    with pytest.raises(CatalogueError) as e:
        load_message_rules(p)
    assert str(e.value) == f'{p}: category "0199" field "rules[0].leaf": unknown category "0199"'
    p = _rules_file(tmp_path, l1_fallback={"环境保护": "0101"})
    with pytest.raises(CatalogueError) as e:
        load_message_rules(p)
    assert str(e.value) == (f'{p}: category "0101" field "l1_fallback.环境保护": '
                            'fallback leaf is not accepted for "环境保护"')
    p = _rules_file(tmp_path, rules=[{"leaf": "0101", "keywords": []}])
    with pytest.raises(CatalogueError, match=r'field "rules\[0\]\.keywords": must be a non-empty list'):
        load_message_rules(p)
    p = _rules_file(tmp_path, l1_groups={"环境保护": ["77"]})
    with pytest.raises(CatalogueError, match='unknown category "77" \\(neither a group nor a leaf\\)'):
        load_message_rules(p)


def test_rule_order_and_fallbacks(tmp_path: Path) -> None:
    rules = load_message_rules(_rules_file(
        tmp_path,
        rules=[{"leaf": "0101", "keywords": ["垃圾"]},
               {"leaf": "0601", "keywords": ["井盖+丢"], "title_only": True},
               {"leaf": "3003", "keywords": ["噪音"], "unless": ["施工"]}],
        hotline_rules=[{"leaf": "9101", "keywords": ["咨询"]}]))
    assert rules.classify("路边垃圾和噪音", "") == "0101"  # first rule in order wins
    assert rules.classify("井盖丢了", "") == "0601"  # "A+B" needs both parts
    assert rules.classify("井盖坏了", "") == "9301"
    assert rules.classify("反映问题", "井盖丢了") == "9301"  # title_only rules skip the detail
    assert rules.classify("反映问题", "楼下很多垃圾") == "0101"  # detail pass
    assert rules.classify("施工噪音", "") == "9301"  # unless vetoes
    assert rules.classify("反映问题", "", "环境保护") == "3007"  # class fallback
    assert rules.classify("咨询问题", "") == "9101"  # hotline type from the title
    assert rules.agrees("3001", "环境保护") and not rules.agrees("0101", "环境保护")
    with pytest.raises(CatalogueError, match='unknown message class "政法"'):
        rules.agrees("0101", "政法")


@pytest.mark.parametrize(
    ("title", "detail", "l1", "leaf"),
    [
        # real titles from the replies file
        ("A5区雅礼洋湖实验中学附近垃圾箱长期未清理", "", None, "0101"),
        ("A市交通运输局外十字路口红绿灯不亮，交通事故频发", "", None, "0702"),
        ("投诉F9市铁汉项目部源力公司拖欠农民工工资", "", None, "2501"),
        ("K市潇楚佳苑小区对面工地施工噪音大，业主多次投诉仍未果", "", None, "0301"),
        ("咨询A7县黄花镇机场路拆迁问题", "", None, "2904"),
        ("咨询外地车过户到G市的手续问题", "", None, "3207"),
        ("投诉K9县幸运星网吧允许未成年人通宵上网", "", None, "3501"),
        ("咨询K9县住房公积金提取的相关问题", "", None, "2906"),
        ("请求取缔K1区渔池头村的非法养猪场", "", None, "3005"),
        ("投诉A7县泉塘街道魅惑酒吧深夜噪音扰民", "", None, "3003"),
        ("反映A7县开元东路路面沉坑的问题", "", None, "0404"),
        ("投诉J2区郴江路附近一酒店私搭乱建违规烟道", "", None, "0303"),
        ("J6县珠泉社区居民咨询怎样能拿到低保？", "", None, "2401"),
        # full-width letters are folded
        ("举报F市奇家岭海之澜ＫＴＶ无证经营", "", None, "3003"),
        # forest fire, detail pass, class fallback, hotline types
        ("黄瓜山林区起火，浓烟很大", "", None, "2206"),
        ("反映一个问题", "小区门口的井盖丢了好几天", None, "0601"),
        ("关于某事", "", "环境保护", "3007"),
        ("关于某事的咨询", "", None, "9101"),
        ("举报某某", "", None, "9401"),
        ("希望某某", "", None, "9501"),
        ("请帮帮我", "", None, "9201"),
        ("某某事", "", None, "9301"),
    ],
)
def test_classify_examples(title: str, detail: str, l1: str | None, leaf: str) -> None:
    assert classify_message(title, detail, l1) == leaf


def test_labeled_messages_agree_with_the_human_class() -> None:
    rows = _messages("teddycup2020c_messages_labeled.csv")
    assert len(rows) == 495
    c, rules = load_catalogue(), load_message_rules()
    leaves = [classify_message(r["title"], r["detail"]) for r in rows]
    assert all(c.has_leaf(code) for code in leaves)
    hits = sum(rules.agrees(code, r["category_l1"]) for code, r in zip(leaves, rows, strict=True))
    assert hits / len(rows) >= LABELED_ACCURACY_FLOOR, hits
    with_l1 = sum(rules.agrees(classify_message(r["title"], r["detail"], r["category_l1"]), r["category_l1"])
                  for r in rows)
    assert with_l1 >= hits


def test_reply_messages_spread_over_the_catalogue() -> None:
    rows = _messages("teddycup2020c_messages_replies.csv")
    assert len(rows) == 2816
    c = load_catalogue()
    counts = Counter(classify_message(r["title"], r["detail"]) for r in rows)
    assert all(c.has_leaf(code) for code in counts)
    code, top = counts.most_common(1)[0]
    assert top / len(rows) <= 0.40, (code, top)
    hotline = sum(n for code, n in counts.items() if c.leaf(code).root == "hotline")
    assert hotline / len(rows) < 0.05
    assert len(counts) >= 100
