"""与户主关系 of an import, row by row (关系校验): the spellings that need the person's sex, and a relation
that places nobody in a household. Pure; used by :mod:`.rows` on each chunk of a sheet.

* 子女 (and 独生子女, 养子女 …: ``by_sex`` of ``registry/data/relations.yaml``) becomes 20 子 or 30 女
  (21/31, 27/37) by the person's sex: from the citizen ID (GB 11643 §4.4), else from 性别; refused
  when neither says (no valid ID and no 性别).
* A relation given without 户号 is accepted with a warning: the person is not placed in a household.
  With a 户号 column, each row whose 户号 is empty gets its warning; a sheet without a 户号 column gets
  one warning, on the first such row, counting the rows (a roster of heads of household without 户号
  is common, and a warning on each of a million rows would say the same thing a million times).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from zhizhi.registry import rules
from zhizhi.registry.intake.source import Cell
from zhizhi.registry.rules_relation import BySex, parse_sex

UNPLACED = "与户主关系 given without 户号: the person is not placed in a household"
"""The warning of a row whose relation places the person in no household."""

Issue = Callable[..., Any]
"""``issue(row_no, field, column index, cell, reason, level="error")`` → a RowIssue (rows.py)."""


class RelationCheck:
    """The relation checks of one sheet. ``pos``: field → position in a chunk's parsed columns;
    ``index``: field → column index in the sheet; ``issue`` builds a row issue."""

    def __init__(self, pos: dict[str, int], index: dict[str, int], issue: Issue) -> None:
        self.rel, self.cid, self.sex = pos.get("relation"), pos.get("citizen_id"), pos.get("sex")
        self.house = pos.get("household_number")
        self.where = index.get("relation", 0)
        self.house_at = index.get("household_number")
        self.issue = issue
        self.unplaced: list[Any] | None = None
        """Without a 户号 column: [first row number, its cell, rows with a relation]."""

    def check(
        self,
        rows: list[int],
        cols: list[tuple[Cell, ...]],
        columns: list[list[Any]],
        issues: dict[int, list[Any]],
        warnings: list[Any],
    ) -> None:
        """Check one chunk: ``rows`` its row numbers, ``cols`` its cells column by column, ``columns``
        the parsed values (the relation column is settled in place), ``issues`` the row issues by
        position in the chunk; warnings are appended to ``warnings``."""
        if self.rel is None:
            return
        rel = columns[self.rel]
        raw = cols[self.where] if self.where < len(cols) else ("",) * len(rel)
        if BySex in set(map(type, rel)):
            for j, v in enumerate(rel):
                if type(v) is BySex:
                    rel[j] = self._by_sex(v, j, columns)
                    if rel[j] is None:
                        issues.setdefault(j, []).append(
                            self.issue(rows[j], "relation", self.where, raw[j], v.unknown_sex())
                        )
        if self.house is None:
            n = len(rel) - rel.count(None)
            if n:
                if self.unplaced is None:
                    j = next(j for j, v in enumerate(rel) if v is not None)
                    self.unplaced = [rows[j], raw[j], 0]
                self.unplaced[2] += n
            return
        at = self.house_at if self.house_at is not None else len(cols)
        house = cols[at] if at < len(cols) else ("",) * len(rel)
        if "" not in house:
            return
        for j, v in enumerate(rel):
            if v is not None and house[j] == "":
                warnings.append(self.issue(rows[j], "relation", self.where, raw[j], UNPLACED, "warning"))

    def _by_sex(self, v: BySex, j: int, columns: list[list[Any]]) -> str | None:
        cid = columns[self.cid][j] if self.cid is not None else None
        sex = rules.sex_of(cid) if isinstance(cid, str) and len(cid) == 18 else None
        if sex is None and self.sex is not None:
            sex = parse_sex(columns[self.sex][j])
        return v.code(sex) if sex is not None else None

    def finish(self, warnings: list[Any]) -> None:
        """The sheet is read: without a 户号 column, its one warning (if any row gave a relation)."""
        if self.unplaced is None:
            return
        row, cell, n = self.unplaced
        why = UNPLACED + " (the sheet has no 户号 column)"
        if n > 1:
            why = (
                f"与户主关系 given without 户号 in {n} rows, from this one on: the sheet has no 户号 column, "
                "so these people are not placed in a household"
            )
        warnings.append(self.issue(row, "relation", self.where, cell, why, "warning"))
        self.unplaced = None


__all__ = ["UNPLACED", "RelationCheck"]
