"""Interface strings (界面文字) of the pages, kept as data for translation: one YAML file per page under
``web/messages/<locale>/`` plus ``common.yaml`` shared by all. Templates read them as ``t``; scripts
receive the same dict as JSON (``ZZ.t("key.sub")``)."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml

LOCALE = "zh-CN"
PAGES = ("login", "screen", "console", "m", "kpis", "fire", "registry")


def _check(value: Any, where: str) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str) or not k.isidentifier():
                raise ValueError(f"{where}: key {k!r} must be an identifier (letters, digits, _)")
            _check(v, f"{where}.{k}")
    elif not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: needs a non-empty string, not {value!r}")


def _read(locale: str, name: str) -> dict[str, Any]:
    source = f"web/messages/{locale}/{name}.yaml"
    try:
        text = resources.files("zhizhi.web").joinpath(f"messages/{locale}/{name}.yaml").read_text("utf-8")
    except FileNotFoundError:
        raise ValueError(f"{source}: missing") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ValueError(f"{source}: not valid YAML: {e}") from None
    if not isinstance(raw, dict):
        raise ValueError(f"{source}: needs a mapping of key → text")
    _check(raw, source)
    return raw


@cache
def messages(page: str, locale: str = LOCALE) -> dict[str, Any]:
    """The strings of ``page`` (one of :data:`PAGES`) merged over ``common``, read once.

    Raises ValueError naming the file and key for a missing file, bad YAML, an empty or non-string
    value, a key that is not an identifier, or a page key that repeats a common one."""
    if page not in PAGES:
        raise ValueError(f'unknown page "{page}"; one of {", ".join(PAGES)}')
    common = _read(locale, "common")
    own = _read(locale, page)
    clash = sorted(set(common) & set(own))
    if clash:
        raise ValueError(f"web/messages/{locale}/{page}.yaml: keys {', '.join(clash)} repeat common.yaml")
    return {**common, **own}


def check_all(locale: str = LOCALE) -> None:
    """Load every page's strings (at start-up), so a bad edit stops the server with its location."""
    for page in PAGES:
        messages(page, locale)
