"""Interface strings: every key a template or script asks for exists, the labels cover every node,
colour, urgency, source and clock the API can send, and a bad messages file is refused by name."""

from __future__ import annotations

import re
import typing
from pathlib import Path
from typing import Any

import pytest

from zhizhi.core.time import ClockType
from zhizhi.event import rules
from zhizhi.event.schemas import SOURCES, Urgency
from zhizhi.web import i18n

WEB = Path(i18n.__file__).parent
PAGE_OF_SCRIPT = {"login.js": "login", "screen.js": "screen", "console.js": "console", "event.js": "console",
                  "event_view.js": "console", "m.js": "m", "m_map.js": "m", "zz.js": None, "kpis.js": "kpis",
                  "fire.js": "fire", "registry.js": "registry"}  # fmt: skip
PAGE_OF_TEMPLATE = {"login.html": "login", "screen.html": "screen", "console.html": "console",
                    "event.html": "console", "m.html": "m", "base.html": None, "kpis.html": "kpis",
                    "fire.html": "fire", "registry.html": "registry", "not_found.html": None}  # fmt: skip


def lookup(messages: dict[str, Any], key: str) -> Any:
    node: Any = messages
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def pages_of(page: str | None) -> list[str]:
    return list(i18n.PAGES) if page is None else [page]


def test_every_script_and_template_is_checked() -> None:
    assert {p.name for p in (WEB / "static" / "js").glob("*.js")} == set(PAGE_OF_SCRIPT)
    assert {p.name for p in (WEB / "templates").glob("*.html")} == set(PAGE_OF_TEMPLATE)


@pytest.mark.parametrize("script", sorted(PAGE_OF_SCRIPT))
def test_every_key_a_script_asks_for_exists(script: str) -> None:
    text = (WEB / "static" / "js" / script).read_text("utf-8")
    keys = set(re.findall(r'ZZ\.t\("([a-z_.]+)"', text)) | set(re.findall(r'\bt\("([a-z_.]+)"', text))
    # ZZ.t(x ? "a.b" : "a.c")
    for pair in re.findall(r'\? "([a-z_]+\.[a-z_.]*)" : "([a-z_]+\.[a-z_.]*)"', text):
        keys |= set(pair)
    keys = {k for k in keys if not k.endswith((".", "_"))}  # "node." + value: checked below
    assert keys
    for page in pages_of(PAGE_OF_SCRIPT[script]):
        missing = [k for k in sorted(keys) if not isinstance(lookup(i18n.messages(page), k), str)]
        assert missing == [], (script, page)


@pytest.mark.parametrize("template", sorted(PAGE_OF_TEMPLATE))
def test_every_key_a_template_asks_for_exists(template: str) -> None:
    text = (WEB / "templates" / template).read_text("utf-8")
    keys = {k.removesuffix(".items") for k in re.findall(r"\bt\.([a-z_]+(?:\.[a-z_]+)*)", text)}
    assert keys
    for page in pages_of(PAGE_OF_TEMPLATE[template]):
        missing = [k for k in sorted(keys) if lookup(i18n.messages(page), k) is None]
        assert missing == [], (template, page)


def test_labels_cover_every_value_the_api_sends() -> None:
    m = i18n.messages("console")
    assert set(m["node"]) == {n.value for n in rules.Node}
    assert set(m["colour"]) == {name for _, name in rules.COLOUR_THRESHOLDS}
    assert set(m["urgency"]) == set(typing.get_args(Urgency))
    assert set(m["source"]) == set(SOURCES)
    assert set(m["clock"]) == {c.value for c in ClockType}
    assert m["node"]["reported"] == "待受理" and m["colour"]["red"] == "红（严重超期）"


def test_a_page_gets_the_common_strings_and_its_own() -> None:
    m = i18n.messages("screen")
    assert m["app_name"] == "智治" and m["kpi"]["ontime_close_rate"] == "本月按期结案率"
    assert "report" not in m  # the phone page's strings stay on the phone page
    with pytest.raises(ValueError, match='unknown page "water"'):
        i18n.messages("water")


def test_kpi_labels_cover_every_count_and_rate_the_api_sends() -> None:
    from zhizhi.ops import rules as ops_rules

    m = i18n.messages("kpis")
    assert list(m["count"]) == list(ops_rules.COUNT_FIELDS)
    assert list(m["rate"]) == list(ops_rules.kpi_rates(dict.fromkeys(ops_rules.COUNT_FIELDS, 1.0)))
    assert m["rate"]["ontime_close_rate"] == "按期结案率"


def test_verification_outcomes_are_the_fire_policys() -> None:
    from zhizhi.scenarios.fire.service import hotspot_config

    shipped = {o.key: o.name for o in hotspot_config().outcomes}
    assert i18n.messages("fire")["outcome"] == shipped


def test_drill_states_cover_every_node_status() -> None:
    from zhizhi.scenarios.fire.drill import STATUS_ZH

    assert set(i18n.messages("fire")["drill"]["state"]) == set(STATUS_ZH)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"title": ""}, r"x\.title: needs a non-empty string"),
        ({"title": 3}, r"x\.title: needs a non-empty string, not 3"),
        ({"kpi": {"bad-key": "y"}}, r"x\.kpi: key 'bad-key' must be an identifier"),
    ],
)
def test_a_bad_string_is_refused_naming_file_and_key(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        i18n._check(raw, "x")


def test_no_message_is_cut_short_by_a_yaml_comment() -> None:
    """In YAML an unquoted value ends at `` #``: ``done: 事件 #{id} 已立`` reads as ``事件``. A message
    with ``#`` must be quoted; a bare value line may carry no `` #`` at all."""
    bare_value = re.compile(r"^\s*[\w.-]+:\s+[^\"'|>#\s].*\s#")
    cut = [
        f"{path.name}:{n}: {line.strip()}"
        for path in sorted((WEB / "messages").rglob("*.yaml"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if bare_value.match(line)
    ]
    assert cut == [], "quote these values (a ' #' starts a YAML comment):\n" + "\n".join(cut)
