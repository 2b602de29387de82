"""Citizen-message classification (留言分类): :func:`classify_message` maps a free-text citizen
message (title, detail) onto a leaf of the category catalogue (``event/catalogue.py``), using the
ordered keyword rules in ``event/data/message_category_rules.yaml``. Pure module; the default rules
are loaded once and cached.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from zhizhi.event.catalogue import (
    _HERE,
    Catalogue,
    CatalogueError,
    _Checker,
    _default_catalogue,
    _read_yaml,
)

RULES_PATH = _HERE / "data" / "message_category_rules.yaml"

# ---------------------------------------------------------------------------------------------------
# message classification


def _fold(text: str) -> str:
    """Text as the rules compare it: NFKC (full-width → half-width) and case-folded."""
    return unicodedata.normalize("NFKC", text).casefold()


def _has(text: str, keyword: str) -> bool:
    """``keyword`` occurs in ``text``; "A+B" means both A and B occur (in any order)."""
    return all(part in text for part in keyword.split("+"))


@dataclass(frozen=True, slots=True)
class MessageRule:
    """One ordered keyword rule: any of ``keywords`` in the text (and none of ``unless``) → ``leaf``.
    A keyword "A+B" needs both parts. ``title_only`` rules are skipped on the detail pass. Keywords are
    stored folded (see :func:`_fold`) and :meth:`matches` expects folded text."""

    leaf: str
    keywords: tuple[str, ...]
    unless: tuple[str, ...] = ()
    title_only: bool = False

    def matches(self, text: str) -> bool:
        """Whether the rule fires on ``text``."""
        return any(_has(text, k) for k in self.keywords) and not any(_has(text, u) for u in self.unless)


@dataclass(frozen=True)
class MessageRules:
    """Validated message → leaf rules. Build them with :func:`load_message_rules`."""

    path: str
    rules: tuple[MessageRule, ...]
    detail_chars: int
    l1_groups: Mapping[str, frozenset[str]]
    l1_fallback: Mapping[str, str]
    hotline_rules: tuple[MessageRule, ...]
    default_leaf: str

    def classify(self, title: str, detail: str = "", category_l1: str | None = None) -> str:
        """Leaf code for one message; see :func:`classify_message`."""
        title = _fold(title or "")
        for rule in self.rules:
            if rule.matches(title):
                return rule.leaf
        head = _fold((detail or "")[: self.detail_chars])
        for rule in self.rules:
            if not rule.title_only and rule.matches(head):
                return rule.leaf
        if category_l1 is not None and category_l1 in self.l1_fallback:
            return self.l1_fallback[category_l1]
        for rule in self.hotline_rules:
            if rule.matches(title):
                return rule.leaf
        return self.default_leaf

    def agrees(self, leaf_code: str, category_l1: str) -> bool:
        """Whether the competition class ``category_l1`` accepts ``leaf_code``: its 大类 or the leaf itself
        is listed in ``l1_groups``. Raises CatalogueError for an unknown class."""
        try:
            accepted = self.l1_groups[category_l1]
        except KeyError:
            raise CatalogueError(f'unknown message class "{category_l1}"') from None
        return leaf_code[:2] in accepted or leaf_code in accepted


def _rule(ck: _Checker, raw: Any, fld: str, catalogue: Catalogue) -> MessageRule:
    m = ck.mapping(raw, None, fld)
    ck.keys(m, frozenset({"leaf", "keywords", "unless", "title_only"}), None, fld)
    leaf = m.get("leaf")
    if not isinstance(leaf, str) or not catalogue.has_leaf(leaf):
        raise ck.fail(str(leaf), f"{fld}.leaf", f'unknown category "{leaf}"')
    unless = m.get("unless", [])
    return MessageRule(
        leaf=leaf, keywords=tuple(_fold(k) for k in ck.texts(m.get("keywords"), leaf, f"{fld}.keywords")),
        unless=tuple(_fold(k) for k in ck.texts(unless, leaf, f"{fld}.unless")) if unless else (),
        title_only=ck.flag(m.get("title_only", False), leaf, f"{fld}.title_only"),
    )


def _build_rules(path: Path, catalogue: Catalogue) -> MessageRules:
    ck = _Checker(path)
    doc = ck.mapping(_read_yaml(path), None, "(top level)")
    ck.keys(doc, frozenset({"version", "detail_chars", "l1_groups", "l1_fallback", "rules", "hotline_rules",
                            "default_leaf"}), None, "(top level)")
    raw_rules = doc.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        raise ck.fail(None, "rules", "must be a non-empty list")
    rules = tuple(_rule(ck, r, f"rules[{i}]", catalogue) for i, r in enumerate(raw_rules))
    detail_chars = doc.get("detail_chars", 200)
    if isinstance(detail_chars, bool) or not isinstance(detail_chars, int) or detail_chars < 0:
        raise ck.fail(None, "detail_chars", f"must be a non-negative integer, not {detail_chars!r}")
    l1_groups: dict[str, frozenset[str]] = {}
    for l1, codes in ck.mapping(doc.get("l1_groups"), None, "l1_groups").items():
        cs = ck.texts(codes, None, f"l1_groups.{l1}")
        for c in cs:
            if c not in catalogue.groups and not catalogue.has_leaf(c):
                raise ck.fail(c, f"l1_groups.{l1}", f'unknown category "{c}" (neither a group nor a leaf)')
        l1_groups[str(l1)] = frozenset(cs)
    l1_fallback: dict[str, str] = {}
    for l1, leaf in ck.mapping(doc.get("l1_fallback", {}), None, "l1_fallback").items():
        if not isinstance(leaf, str) or not catalogue.has_leaf(leaf):
            raise ck.fail(str(leaf), f"l1_fallback.{l1}", f'unknown category "{leaf}"')
        if l1 not in l1_groups:
            raise ck.fail(leaf, f"l1_fallback.{l1}", f'message class "{l1}" has no l1_groups entry')
        if leaf[:2] not in l1_groups[l1] and leaf not in l1_groups[l1]:
            raise ck.fail(leaf, f"l1_fallback.{l1}", f'fallback leaf is not accepted for "{l1}"')
        l1_fallback[str(l1)] = leaf
    hotline = tuple(_rule(ck, r, f"hotline_rules[{i}]", catalogue)
                    for i, r in enumerate(doc.get("hotline_rules") or []))
    default_leaf = doc.get("default_leaf")
    if not isinstance(default_leaf, str) or not catalogue.has_leaf(default_leaf):
        raise ck.fail(str(default_leaf), "default_leaf", f'unknown category "{default_leaf}"')
    return MessageRules(str(path), rules, detail_chars, l1_groups, l1_fallback, hotline, default_leaf)


@lru_cache(maxsize=1)
def _default_rules() -> MessageRules:
    return _build_rules(RULES_PATH, _default_catalogue())


def load_message_rules(path: str | Path | None = None, catalogue: Catalogue | None = None) -> MessageRules:
    """Load and validate the message → leaf keyword rules (留言分类规则).

    ``path`` None means the shipped ``event/data/message_category_rules.yaml``. ``catalogue`` None means
    the default catalogue. The default pair is cached. Raises CatalogueError, naming the file, the leaf
    and the field, for an unknown leaf or group, an empty keyword list or an unknown key.
    """
    if path is None and catalogue is None:
        return _default_rules()
    return _build_rules(Path(path) if path is not None else RULES_PATH, catalogue or _default_catalogue())


def classify_message(title: str, detail: str = "", category_l1: str | None = None) -> str:
    """Map a citizen message (群众留言) onto a catalogue leaf code.

    Parameters
    ----------
    title : 留言主题, free text.
    detail : 留言详情, free text. Only its first ``detail_chars`` characters (rules file) are read.
    category_l1 : optional 一级分类 of the 问政 board, one of the 7 competition classes (城乡建设,
        环境保护, 交通运输, 教育文体, 劳动和社会保障, 商贸旅游, 卫生计生). It is used only when no
        keyword rule fires.

    Returns
    -------
    str
        A 4-digit leaf code of the default catalogue. The order is: first rule whose keywords occur in
        the title; else the first rule (not title-only) whose keywords occur in the head of the detail;
        else the class fallback; else the 12345 type read from the title (咨询/求助/投诉/举报/建议);
        else the default hotline leaf.

    Source: rules written for, and measured on, the 泰迪杯 2020 C 问政 messages
    (event/data/SOURCES.md); docs/domains/catalogue.md gives the accuracy.
    """
    return _default_rules().classify(title, detail, category_l1)

