"""The outcome of an import (导入结果): counts, the mapping used, the row issues, and the report as
text or JSON-ready data; :class:`ImportRefused` carries it when an all-or-nothing import is refused."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from zhizhi.core.errors import InvalidInput
from zhizhi.registry.intake.rows import RowIssue


@dataclass
class ImportResult:
    """What an import did (or, for a dry run or a refused import, would have done).

    Counts: ``rows_read`` data rows, ``valid`` / ``invalid`` rows, ``created`` / ``updated`` /
    ``unchanged`` entities, ``conflicts`` recorded (fields another source had set: kept, for a person
    to resolve) and ``rows_with_conflicts``; ``left_out`` blank/column-number/footer rows. ``issues``:
    refused rows' reasons, then warnings (masked values). ``written``: the rows are in the
    transaction (commit it); False for a dry run or a refused import.

    ``mapping_status``: ``remembered`` (the saved mapping, unchanged), ``saved`` (a new one, saved
    with the import), ``updated`` (new headers added to the saved one); and when nothing was written
    (a dry run, a refused import) ``proposed`` (a new one, not saved) or ``changed`` (new headers,
    not saved)."""

    file: str
    kind: str
    file_type: str = ""
    encoding: str | None = None
    source: str = ""
    source_defaulted: bool = False
    mapping_name: str = ""
    mapping_status: str = ""
    columns: list[dict[str, str]] = field(default_factory=list)
    sheets: list[dict[str, Any]] = field(default_factory=list)
    rows_read: int = 0
    left_out: int = 0
    valid: int = 0
    invalid: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    conflicts: int = 0
    rows_with_conflicts: int = 0
    issues: list[RowIssue] = field(default_factory=list)
    reject_file: str | None = None
    dry_run: bool = False
    written: bool = False

    def errors(self) -> list[RowIssue]:
        return [i for i in self.issues if i.level == "error"]

    def warnings(self) -> list[RowIssue]:
        return [i for i in self.issues if i.level == "warning"]

    def summary(self) -> dict[str, Any]:
        """The outcome as JSON-ready data (issues capped at 1000; values masked)."""
        return {
            "file": self.file, "kind": self.kind, "file_type": self.file_type, "encoding": self.encoding,
            "source": self.source, "mapping": {"name": self.mapping_name, "status": self.mapping_status,
                                               "columns": self.columns},
            "sheets": self.sheets, "rows_read": self.rows_read, "valid": self.valid, "invalid": self.invalid,
            "created": self.created, "updated": self.updated, "unchanged": self.unchanged,
            "conflicts": self.conflicts, "rows_with_conflicts": self.rows_with_conflicts,
            "left_out": self.left_out, "dry_run": self.dry_run, "written": self.written,
            "reject_file": self.reject_file, "issues": [i.as_dict() for i in self.issues[:1000]],
        }  # fmt: skip

    def counts_line(self) -> str:
        return (
            f"rows read {self.rows_read}, valid {self.valid}, invalid {self.invalid}, "
            f"created {self.created}, updated {self.updated}, unchanged {self.unchanged}, "
            f"conflicts {self.conflicts}"
        )

    def mapping_line(self) -> str:
        """What happened to the column mapping, in words: ``mapping NAME saved``, ``… updated``,
        ``… remembered (unchanged)``; in a dry run ``mapping would be saved as NAME``; for a refused
        import ``mapping not saved (nothing imported); it would be saved as NAME``."""
        name, status = self.mapping_name, self.mapping_status
        if status == "remembered":
            return f"mapping {name} remembered (unchanged)"
        if status in ("saved", "updated"):
            return f"mapping {name} {status}" + (" (new headers added)" if status == "updated" else "")
        update = " (new headers added to the remembered one)" if status == "changed" else ""
        if self.dry_run:
            return f"mapping would be saved as {name}{update}"
        return f"mapping not saved (nothing imported); it would be saved as {name}{update}"

    def text(self, max_issues: int = 200) -> list[str]:
        """The report as text lines: file and mapping, the counts, then one line per issue."""
        enc = f", {self.encoding}" if self.encoding else ""
        lines = [f"{self.file} ({self.file_type}{enc}): {self.kind} import, source {self.source}"]
        if self.source_defaulted:
            lines.append(
                "  (source from the file name: give --source NAME for a feed you import again, so "
                "that it updates its own values instead of raising conflicts)"
            )
        for s in self.sheets:
            if s.get("skipped"):
                lines.append(f"sheet {s['name']}: skipped, {s['skipped']}")
            else:
                lines.append(f"sheet {s['name']}: header rows {s['header_rows']}, data rows {s['rows_read']}")
        lines.append(self.mapping_line() + ":")
        for c in self.columns:
            lines.append(f"  {c['sheet']}!{c['column']} {c['header']} → {c['field']}")
        lines.append(
            self.counts_line() + (f", left out {self.left_out} (blank/footer)" if self.left_out else "")
        )
        shown = self.errors()[:max_issues] + self.warnings()[: max(0, max_issues - len(self.errors()))]
        for i in shown:
            lines.append(("warning: " if i.level == "warning" else "") + i.line())
        if len(self.issues) > len(shown):
            lines.append(f"… and {len(self.issues) - len(shown)} more (all in the reject workbook)")
        if self.reject_file:
            lines.append(f"refused rows with their reasons: {self.reject_file}")
        if self.dry_run:
            lines.append("dry run: nothing was written")
        return lines


@dataclass
class ImportRefused(InvalidInput):
    """An all-or-nothing import with refused rows: nothing was written; ``result`` has the report."""

    result: ImportResult | None = None


__all__ = ["ImportRefused", "ImportResult"]
