"""Where a row is (所属镇街/村/网格): the names and codes clerks write, resolved to the org tree's codes.

A ledger names its village as ``中山路社区`` (the org tree says ``中山路社区居民委员会``), ``兴隆村`` or the
12-digit NBS code, and its grid as ``第3网格``, ``3``, the full grid name or the 15-digit code. Pure:
the org units are given as plain tuples (the service reads them from the database).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from zhizhi.registry.identifiers import clean_identifier
from zhizhi.registry.intake.source import Cell
from zhizhi.registry.intake.values import plain_text

_SUFFIXES = ("居民委员会", "村民委员会", "居委会", "村委会")
_GRID_NUMBER = re.compile(r"第?0*(\d{1,3})(?:号)?(?:网格)?|网格0*(\d{1,3})")


class LocationError(ValueError):
    """A location cell that cannot be resolved: ``field`` (town, village or grid) and the reason."""

    def __init__(self, field_: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field_


def place_name(text: str) -> str:
    """A village or town name as compared: NFKC, spaces removed, and the committee suffix of a
    village (居民委员会, 村民委员会, 居委会, 村委会) dropped: ``中山路社区居民委员会`` → ``中山路社区``."""
    s = "".join(unicodedata.normalize("NFKC", text).split())
    for suffix in _SUFFIXES:
        if s.endswith(suffix) and len(s) > len(suffix):
            return s[: -len(suffix)]
    return s


@dataclass
class Places:
    """The towns, villages and grids of a district (``units``: ``(code, name, level)``) and the
    ``area`` an import is about (a town, village or grid code, or None for the whole district)."""

    units: Iterable[tuple[str, str, str]]
    area: str | None = None
    names: dict[str, str] = field(default_factory=dict)
    levels: dict[str, str] = field(default_factory=dict)
    towns: dict[str, list[str]] = field(default_factory=dict)
    villages: dict[str, list[str]] = field(default_factory=dict)
    grids: dict[str, str] = field(default_factory=dict)
    _cache: dict[tuple[str, str, str], tuple[str | None, str | None]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for code, name, level in self.units:
            self.names[code], self.levels[code] = name, level
            key = place_name(name)
            if level == "town":
                self.towns.setdefault(key, []).append(code)
            elif level == "village":
                self.villages.setdefault(key, []).append(code)
            elif level == "grid":
                self.grids[key] = code
        self.area_level = self.levels.get(self.area) if self.area else None

    # --- the area ----------------------------------------------------------------------------------

    def in_area(self, village: str, grid: str | None) -> bool:
        """Whether a village (and grid) lies in the import's area."""
        a, lv = self.area, self.area_level
        if a is None or lv == "district":
            return a is None or village.startswith(a)
        if lv == "town":
            return village[:9] == a[:9]
        if lv == "village":
            return village == a
        return grid == a if grid else village == a[:12]

    def area_name(self) -> str:
        return f"{self.names.get(self.area or '', self.area)} ({self.area})" if self.area else "the district"

    # --- resolving ---------------------------------------------------------------------------------

    def _code(self, raw: str, length: int) -> str | None:
        s = clean_identifier(raw)
        return s if len(s) == length and s.isdigit() else None

    def _town(self, raw: str) -> str:
        code = self._code(raw, 12)
        if code is not None:
            if self.levels.get(code) != "town":
                raise LocationError("town", f"{code} is not a town (镇街) code of this district")
            return code
        key = place_name(raw)
        for k in (key, key + "镇", key + "街道", key + "乡"):
            if k in self.towns:
                return self.towns[k][0]
        raise LocationError("town", f'"{raw[:20]}" is not a town (镇街) of this district')

    def _village(self, raw: str, town: str | None) -> str:
        code = self._code(raw, 12)
        if code is not None:
            if self.levels.get(code) != "village":
                raise LocationError("village", f"{code} is not a village (村/社区) code of this district")
            return code
        key = place_name(raw)
        found: list[str] = []
        for k in (key, key + "社区", key + "村"):
            found = self.villages.get(k, [])
            if found:
                break
        if town:
            found = [c for c in found if c[:9] == town[:9]]
        elif self.area and self.area_level != "district":
            found = [c for c in found if c[:9] == self.area[:9]] or found  # the area's town first
        if not found:
            where = f" in {self.names.get(town, town)}" if town else ""
            raise LocationError("village", f'"{raw[:20]}" is not a village (村/社区) of this district{where}')
        if len(found) > 1:
            towns = "、".join(self.names.get(c[:9] + "000", c[:9]) for c in found)
            raise LocationError(
                "village",
                f'"{raw[:20]}" is the name of {len(found)} villages (in {towns}): add a 镇街 '
                "column, write the village code, or import with --org TOWN_CODE",
            )  # fmt: skip
        return found[0]

    def _grid(self, raw: str, village: str | None) -> str:
        code = self._code(raw, 15)
        if code is not None:
            if self.levels.get(code) != "grid":
                raise LocationError("grid", f"{code} is not a grid (网格) code of this district")
            return code
        text = "".join(unicodedata.normalize("NFKC", raw).split())
        full = place_name(text)
        if full in self.grids:
            return self.grids[full]
        for v in [village] if village else []:
            prefix = place_name(self.names.get(v, ""))
            if text.startswith(prefix):
                text = text[len(prefix) :]
        m = _GRID_NUMBER.fullmatch(text)
        if m is None:
            raise LocationError(
                "grid", f'"{raw[:20]}" is not a grid: write 第3网格, 3 or the 15-digit grid code'
            )
        if village is None:
            raise LocationError(
                "grid", "a grid number needs the village: add a 所属村 column or use --org VILLAGE"
            )
        code = f"{village}{int(m.group(1) or m.group(2)):03d}"
        if self.levels.get(code) != "grid":
            raise LocationError("grid", f'{self.names.get(village, village)} has no grid "{raw[:20]}"')
        return code

    def resolve(self, town: Cell, village: Cell, grid: Cell) -> tuple[str | None, str | None]:
        """``(village_code, grid_code)`` of a row from its town, village and grid cells (``""`` when the
        file has no such column or the cell is empty). Without a village or grid the import's area
        gives them when it is a village or grid; else ``(None, None)``.
        Raises :class:`LocationError` naming the cell (unknown, ambiguous, outside the area, or a
        grid that is not in the row's village)."""
        t, v, g = (plain_text(x) or "" for x in (town, village, grid))
        key = (t, v, g)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        town_code = self._town(t) if t else None
        village_code = self._village(v, town_code) if v else None
        if village_code is None and self.area_level in ("village", "grid") and self.area:
            village_code = self.area[:12]
        grid_code = self._grid(g, village_code) if g else None
        if grid_code is None and self.area_level == "grid" and village_code == (self.area or "")[:12]:
            grid_code = self.area
        if grid_code is not None:
            if village_code is not None and grid_code[:12] != village_code:
                raise LocationError("grid", f"grid {grid_code} is not in {self.names.get(village_code)}")
            village_code = grid_code[:12]
        if town_code is not None and village_code is not None and village_code[:9] != town_code[:9]:
            raise LocationError(
                "village", f"{self.names.get(village_code)} is not in {self.names.get(town_code)}"
            )
        if village_code is not None and not self.in_area(village_code, grid_code):
            which = "grid" if g else "village" if v else "town"
            raise LocationError(
                which, f"{self.names.get(village_code)} is outside {self.area_name()} (--org)"
            )
        self._cache[key] = (village_code, grid_code)
        return village_code, grid_code


__all__ = ["LocationError", "Places", "place_name"]
