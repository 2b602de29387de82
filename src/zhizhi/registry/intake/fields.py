"""Field parsers of an import (字段解析): each mapped column's parser, the service key it fills, and
the column-at-a-time runner with its memo and fast path. Pure."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from zhizhi.registry import identifiers, rules, rules_relation
from zhizhi.registry.intake.header import Synonyms
from zhizhi.registry.intake.source import Cell
from zhizhi.registry.intake.values import (
    coded_value,
    identifier_text,
    number_value,
    parse_date_cell,
    parse_tags,
    plain_text,
)

Parser = Callable[[Cell, list[str]], Any]


_FORMULA_TEXT = re.compile(r'\s*="(.*)"\s*')
"""``="500118…"``: the formula some systems write into CSV so that Excel keeps an ID as text."""


def _identifier(kind: str) -> Parser:
    def parse(value: Cell, warn: list[str]) -> Any:
        if value == "":
            return None
        if isinstance(value, str):
            m = _FORMULA_TEXT.fullmatch(value)
            value = m.group(1) if m else value
        r = identifiers.validate(value, kind)
        if not r.valid:
            raise ValueError("; ".join(r.errors) or "invalid")
        warn += r.warnings
        return r.normalized

    return parse


def _key(value: Cell, warn: list[str]) -> Any:
    text, warning = identifier_text(value)
    if warning:
        warn.append(warning)
    return text


def _text(value: Cell, _warn: list[str]) -> Any:
    return plain_text(value)


def _date(value: Cell, _warn: list[str]) -> Any:
    return parse_date_cell(value)


def _number(value: Cell, _warn: list[str]) -> Any:
    return number_value(value)


def _coded(aliases: Mapping[str, str], table: Mapping[str, str] | None = None) -> Parser:
    def parse(value: Cell, _warn: list[str]) -> Any:
        return None if value == "" else coded_value(value, aliases, table)

    return parse


def _relation(aliases: Mapping[str, str]) -> Parser:
    """与户主关系: a spelling that needs the sex (子女, rules_relation.by_sex) gives its
    :class:`~zhizhi.registry.rules_relation.BySex`, settled per row by the person's sex
    (rows.py); anything else as :func:`_coded`."""
    coded, needs_sex = _coded(aliases, rules.relations()), rules_relation.by_sex()

    def parse(value: Cell, warn: list[str]) -> Any:
        if isinstance(value, str) and value.strip() in needs_sex:
            return needs_sex[value.strip()]
        return coded(value, warn)

    return parse


def _tags(aliases: Mapping[str, str]) -> Parser:
    def parse(value: Cell, _warn: list[str]) -> Any:
        return parse_tags(value, aliases) or None

    return parse


def parsers(syn: Synonyms) -> dict[str, tuple[str, Parser, bool]]:
    """Field → (service key, parser, cacheable) for one kind. Cacheable parsers see the same values
    again and again (dates, codes, tags) and are memoised per column."""
    v, c, resident = syn.values, rules.codes(), syn.kind == "resident"
    out: dict[str, tuple[str, Parser, bool]] = {
        "citizen_id": ("citizen_id", _identifier("citizen-id"), False),
        "head_citizen_id": ("head_citizen_id", _identifier("citizen-id"), False),
        "phone": ("phone", _identifier("phone"), False),
        "uscc": ("uscc", _identifier("uscc"), False),
        "org_code": ("org_code", _identifier("org-code"), False),
        "number": ("number", _key, False),
        "code": ("code", _key, False),
        "household_number": ("household_number", _key, False),
        "name": ("name", _text, False),
        "legal_rep": ("legal_rep", _text, False),
        "address": ("address", _text, True),
        "industry": ("industry", _text, True),
        "sex": ("sex", _coded(v.get("sex", {})), True),
        "birth_date": ("birth_date", _date, True),
        "status_date": ("status_date", _date, True),
        "ethnicity": ("ethnicity", _coded(v.get("ethnicity", {}), c.ethnicity), True),
        "relation": ("relation", _relation(v.get("relation", {})), True),
        "status": ("status", _coded(v.get("status", {}), rules.STATUSES) if resident else _coded({}), True),
        "kind": ("kind", _coded(v.get("household_kind", {}), c.household_kind), True),
        "use": ("use", _coded(v.get("house_use", {}), c.house_use), True),
        "structure": ("structure", _coded(v.get("house_structure", {}), c.house_structure), True),
        "floors": ("floors", _number, True),
        "employees": ("employees", _number, True),
        "lon": ("lon", _number, True),
        "lat": ("lat", _number, True),
        "tags": ("tags", _tags(v.get("tags", {})), True),
    }
    return {f: p for f, p in out.items() if f in syn.canonical}


class Err:
    """A value a parser refused, with the reason (kept in column results instead of raising)."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


@dataclass
class Column:
    """One mapped column: its index, field, parser; ``cache`` memoises values seen before (None for
    columns whose values are all different, such as IDs); ``fast`` a fast path (fast.py)."""

    index: int
    name: str
    parse: Parser
    cache: dict[Cell, Any] | None
    fast: Callable[[object], str | None] | None = None

    def run(self, values: Sequence[Cell], warned: list[tuple[int, str]]) -> tuple[list[Any], list[int]]:
        """Parse a chunk of this column: the parsed values (``_Err`` for refused ones) and the
        positions of the refused ones; warnings are appended to ``warned`` as (position, text)."""
        cache = self.cache
        if cache is not None:
            refused = False
            for v in set(values).difference(cache):
                try:
                    cache[v] = self.parse(v, [])
                except ValueError as e:
                    cache[v] = Err(str(e))
                    refused = True
            out = list(map(cache.__getitem__, values))
            if refused or any(type(cache[v]) is Err for v in set(values)):
                return out, [j for j, x in enumerate(out) if type(x) is Err]
            return out, []
        out = list(map(self.fast, values)) if self.fast is not None else [None] * len(values)
        if None not in out:
            return out, []
        bad: list[int] = []
        parse = self.parse
        for j, x in enumerate(out):
            if x is not None:
                continue
            v = values[j]
            if v == "":
                continue
            warn: list[str] = []
            try:
                out[j] = parse(v, warn)
            except ValueError as e:
                out[j] = Err(str(e))
                bad.append(j)
                continue
            for w in warn:
                warned.append((j, w))
        return out, bad


def plain(value: object) -> str | None:
    """The fast path of a free-text cell: stripped text (None for anything else: ask plain_text)."""
    return (value.strip() or None) if type(value) is str else None


__all__ = ["Column", "Err", "Parser", "parsers", "plain"]
