"""The reject workbook (退回表): the refused rows in an ``.xlsx`` the clerk can fix and import again.

One sheet per input sheet that had refused rows, with the input's name. Row 1 holds the input's
column headers (a merged two-row header is written as its joined text, ``家庭成员/姓名``, which
the importer maps to the same fields) followed by two columns the importer reads over:
``错误原因`` (the row's reasons, ``column C (公民身份号码): …; …``) and ``原行号`` (the row number in the
input). The columns keep their letters, so a reason's column letter is the same in both files.
Every cell is written as text in a text-formatted cell (``@``): IDs keep every digit and leading
zeros, and an ID that had gone through a number comes back in the number's rendering
(``4.4052418800101e+17``), which is refused again until it is retyped. The values are not masked:
it is the clerk's own data coming back to them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from zhizhi.registry.intake.rows import BadRow, SheetPlan
from zhizhi.registry.intake.values import report_text

REASON_HEADER = "错误原因"
ROW_HEADER = "原行号"


def default_reject_path(path: Path) -> Path:
    """``<name>.rejects.xlsx`` beside ``path`` (the whole file name, so ``a.xlsx`` and ``a.csv`` do not
    overwrite each other's rejects)."""
    return path.with_name(f"{path.name}.rejects.xlsx")


def reject_path_problem(path: Path, reject: Path) -> str | None:
    """Why ``reject`` cannot take the report of importing ``path`` (it is the input, or a directory),
    or None."""
    if reject.is_dir():
        return "is a directory; give a file name"
    same = reject.resolve() == path.resolve()
    if not same and reject.exists() and path.exists():
        try:
            same = reject.samefile(path)
        except OSError:
            same = False
    return "is the input file; the report would overwrite it, give another name" if same else None


def reasons_text(bad: BadRow) -> str:
    """A row's reasons for the ``错误原因`` cell."""
    parts = []
    for i in bad.issues:
        where = f"column {i.letter} ({i.header})" if i.letter else (f"field {i.field}" if i.field else "row")
        parts.append(f"{where}: {i.reason}")
    return "; ".join(parts)


def write_rejects(target: Path, plans: Sequence[SheetPlan], bad: Sequence[BadRow]) -> None:
    """Write the refused rows to ``target`` (see module docstring). Raises OSError if it cannot."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    by_sheet: dict[int, list[BadRow]] = {}
    for b in bad:
        by_sheet.setdefault(b.sheet, []).append(b)
    for si in sorted(by_sheet):
        plan = plans[si]
        ws = wb.create_sheet(title=_sheet_title(plan.name))
        texts = list(plan.header.texts) if plan.header else []
        width = max([len(texts), *(len(b.cells) for b in by_sheet[si])])
        texts += [""] * (width - len(texts))

        def cell(value: str | int, ws: object = ws) -> WriteOnlyCell:
            c = WriteOnlyCell(ws, value=value)  # type: ignore[arg-type]
            c.number_format = "@"
            return c

        ws.append([cell(t) for t in texts] + [cell(REASON_HEADER), cell(ROW_HEADER)])
        for b in sorted(by_sheet[si], key=lambda b: b.row):
            values = [report_text(v) for v in b.cells] + [""] * (width - len(b.cells))
            ws.append([cell(v) if v else None for v in values] + [cell(reasons_text(b)), cell(str(b.row))])
    target.parent.mkdir(parents=True, exist_ok=True)
    wb.save(str(target))


def _sheet_title(name: str) -> str:
    """A valid sheet title (31 characters, none of ``[]:*?/\\``)."""
    for ch in "[]:*?/\\":
        name = name.replace(ch, "_")
    return name[:31] or "Sheet1"


__all__ = ["REASON_HEADER", "ROW_HEADER", "default_reject_path", "reject_path_problem", "write_rejects"]
