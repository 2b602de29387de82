"""Form tasks and answers (报表任务与填报), pure: the states of a town's answer and the moves between
them, deadlines and lateness, cell adjustments laid over computed figures, what counts as filled by
the platform vs typed by hand (burden statistics, 减报表/减时间), catalogue admission and demands made
outside the catalogue (表外要数). No database, no web framework.

Answer states (form/data/workflow.yaml for the words)::

    issued ──compute──▶ computed ──adjust──▶ adjusted ──sign──▶ signed ──submit──▶ submitted
                  ▲ compute ┘        ▲ adjust ┘  compute ┘   └─ sign ─▲   adjust (signature withdrawn)

* ``compute`` (生成) reads the registers again; allowed until signed; adjustments stay laid over it.
* ``adjust`` (调整) changes one cell with a reason; a signed answer goes back to adjusted (the
  signature no longer covers the figures).
* ``sign`` (审核签字) needs every check of the form to pass or be skipped (a blank manual column).
* ``submit`` (报送) is final; it is late when the local date is after the due date.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

import yaml

from zhizhi.form.rules.definition import Column, FormDef
from zhizhi.form.rules.period import PERIOD_KINDS, Period, parse_period
from zhizhi.form.rules.result import Cell, ResultRow, apply_formulas

STATES = ("issued", "computed", "adjusted", "signed", "submitted")
"""States of an answer, in order."""

MOVES: dict[str, dict[str, str]] = {
    "compute": {"issued": "computed", "computed": "computed", "adjusted": "adjusted"},
    "adjust": {"computed": "adjusted", "adjusted": "adjusted", "signed": "adjusted"},
    "sign": {"computed": "signed", "adjusted": "signed"},
    "submit": {"signed": "submitted"},
}
"""move → {state it may start from → state it leads to}."""

_HINTS = {
    ("compute", "signed"): "it is signed; adjust a cell to reopen it, or submit it",
    ("compute", "submitted"): "it is submitted",
    ("adjust", "issued"): "compute it first",
    ("adjust", "submitted"): "it is submitted",
    ("sign", "issued"): "compute it first",
    ("sign", "signed"): "it is signed already",
    ("sign", "submitted"): "it is submitted",
    ("submit", "issued"): "compute and sign it first",
    ("submit", "computed"): "sign it first",
    ("submit", "adjusted"): "sign it first",
    ("submit", "submitted"): "it is submitted already",
}

TOTAL_ROW = "total"
"""The row code of 合计 in adjustments and cell addresses."""


class AnswerStateError(ValueError):
    """A move the answer's state does not allow (HTTP 409)."""


def next_state(move: str, state: str) -> str:
    """The state an answer in ``state`` reaches by ``move`` (compute | adjust | sign | submit).

    Raises ValueError for an unknown move and :class:`AnswerStateError` when the state does not
    allow it, saying why (e.g. ``cannot submit an answer that is computed: sign it first``)."""
    if move not in MOVES:
        raise ValueError(f'unknown move "{move}"; known: {", ".join(MOVES)}')
    to = MOVES[move].get(state)
    if to is None:
        hint = _HINTS.get((move, state), "")
        raise AnswerStateError(f"cannot {move} an answer that is {state}" + (f": {hint}" if hint else ""))
    return to


# --- deadlines ----------------------------------------------------------------------------------------


def is_late(submitted_on: date, due: date) -> bool:
    """Whether a submission on local date ``submitted_on`` is late for ``due`` (the due date is
    included: submitting on it is on time)."""
    return submitted_on > due


def deadline_status(state: str, due: date, today: date, submitted_on: date | None = None) -> str:
    """How an answer stands against its due date: ``on_time`` or ``late`` once submitted (by the
    submission's local date), else ``overdue`` after the due date, else ``open``."""
    if state == "submitted":
        if submitted_on is None:
            raise ValueError("a submitted answer needs its submission date")
        return "late" if is_late(submitted_on, due) else "on_time"
    return "overdue" if today > due else "open"


def check_due(due: date, issued_on: date) -> None:
    """Refuse (ValueError) a due date before the day the task is issued (local dates)."""
    if due < issued_on:
        raise ValueError(f"due date {due} is before today ({issued_on})")


def parse_any_period(text: object) -> Period:
    """A month (``2026-11``), quarter (``2026-Q4``) or year (``2026``), told by its shape. Used by
    the burden statistics, which count by the day things happened, whatever the forms' periods.
    Raises ValueError saying which shapes are accepted."""
    s = str(text).strip() if isinstance(text, str) else ""
    kind = "quarter" if "q" in s.lower() else "year" if re.fullmatch(r"\d{4}", s) else "month"
    try:
        return parse_period(s, kind)
    except ValueError:
        raise ValueError(
            f'period "{s[:20]}": give a month (2026-11), a quarter (2026-Q4) or a year (2026)'
        ) from None


# --- catalogue admission ------------------------------------------------------------------------------


def admission_basis(form: FormDef, legal_basis: str | None) -> str:
    """The legal basis (法定依据) a form enters the catalogue with: ``legal_basis`` when given, else
    the definition's. A form without one is not admitted (报表准入: every form in the catalogue
    names the law, regulation or statistical system it rests on). Raises ValueError."""
    basis = (legal_basis or "").strip() or (form.legal_basis or "").strip()
    if len(basis) < 4:
        raise ValueError(
            f'form "{form.id}" has no legal basis (法定依据); give one (at least 4 characters) to admit it'
        )
    if not basis.isprintable():
        raise ValueError("legal basis: control characters are not allowed")
    return basis


def issuable(form: FormDef) -> None:
    """Refuse (ValueError) a form that cannot be issued to towns as a task: a roster (花名册, rows are
    people) is rendered on demand, never copied into stored answers."""
    if form.rows == "person":
        raise ValueError(
            f'form "{form.id}" is a roster (花名册): its rows are people; render it (zhizhi form render), '
            "it is not issued as a task"
        )


def check_text(value: object, what: str, min_len: int, max_len: int) -> str:
    """``value`` stripped, between ``min_len`` and ``max_len`` characters, printable. Raises
    ValueError naming ``what``."""
    s = value.strip() if isinstance(value, str) else ""
    if len(s) < min_len:
        raise ValueError(f"{what}: give at least {min_len} characters")
    if len(s) > max_len:
        raise ValueError(f"{what}: at most {max_len} characters")
    if not s.isprintable():
        raise ValueError(f"{what}: control characters are not allowed")
    return s


# --- cells ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredRow:
    """A row of an answer as stored: unit code (None for 合计), name, 合计 or not, values by column."""

    code: str | None
    name: str
    total: bool
    values: tuple[Cell, ...]

    @property
    def key(self) -> str:
        """The row's address in adjustments: its code, or :data:`TOTAL_ROW`."""
        return TOTAL_ROW if self.total or self.code is None else self.code


def rows_to_json(rows: Sequence[ResultRow]) -> list[dict[str, Any]]:
    """Computed rows as stored in ``form_answer.rows``."""
    return [{"code": r.code, "name": r.name, "total": r.total, "values": list(r.values)} for r in rows]


def rows_from_json(raw: Any, form: FormDef) -> list[StoredRow]:
    """Stored rows back; ValueError when they no longer fit the definition (a column was added or
    removed since: compute the answer again)."""
    rows = []
    for r in raw or []:
        values = tuple(r["values"])
        if len(values) != len(form.columns):
            raise ValueError(
                f'the stored answer has {len(values)} columns, form "{form.id}" now has {len(form.columns)}: '
                "compute it again"
            )
        rows.append(StoredRow(r.get("code"), str(r["name"]), bool(r.get("total")), values))
    return rows


def find_column(form: FormDef, column: object) -> Column:
    """The column addressed by number (``3``, ``"3"``, ``"col3"``) or key (``persons``). A formula
    column cannot be adjusted (it follows the columns it is computed from). Raises ValueError."""
    text = str(column).strip().lower() if isinstance(column, str | int) else ""
    m = re.fullmatch(r"(?:col|c)?(\d{1,3})", text)
    found = None
    if m:
        no = int(m.group(1))
        found = form.column(no) if 1 <= no <= len(form.columns) else None
    else:
        found = next((c for c in form.columns if c.key.lower() == text), None)
    if found is None:
        raise ValueError(
            f'column "{str(column)[:30]}": form "{form.id}" has columns 1-{len(form.columns)} '
            "(by number or key)"
        )
    if found.formula is not None:
        raise ValueError(
            f"column {found.no} ({found.label}) is computed from other columns ({found.formula_text}); "
            "adjust those"
        )
    return found


def find_row(rows: Sequence[StoredRow], row: object) -> StoredRow:
    """The row addressed by its unit code or ``total`` / ``合计``. Raises ValueError listing a few."""
    text = str(row).strip() if isinstance(row, str | int) else ""
    key = TOTAL_ROW if text.lower() == TOTAL_ROW or text == "合计" else text
    for r in rows:
        if r.key == key:
            return r
    some = ", ".join(r.key for r in rows[:4])
    raise ValueError(f'row "{text[:30]}" is not in this answer (rows: {some}{" …" if len(rows) > 4 else ""})')


def check_value(value: object) -> float:
    """A figure typed for a cell: a finite number (not true/false). Raises ValueError."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError("value: give a number")
    if abs(value) >= 1e15:
        raise ValueError("value: too large")
    return float(value)


def as_cell(value: float) -> int | float:
    """A stored figure as shown: whole numbers as int."""
    return int(value) if float(value).is_integer() else value


def effective_rows(
    form: FormDef, rows: Sequence[StoredRow], adjusted: Mapping[tuple[str, int], float]
) -> list[ResultRow]:
    """The answer as it stands: the computed ``rows`` with the latest adjusted value of each cell
    (``adjusted``: (row key, column number) → value) laid over them, formula columns evaluated again.
    Returns :class:`ResultRow` objects ready for :func:`rules.run_checks` and rendering."""
    out = []
    for r in rows:
        values: list[Cell] = list(r.values)
        for (key, no), v in adjusted.items():
            if key == r.key:
                values[no - 1] = as_cell(v)
        out.append(ResultRow(r.code, r.name, values, total=r.total))
    apply_formulas(form, out)
    return out


@dataclass(frozen=True)
class CellTally:
    """Cells of an answer: ``auto`` filled by the platform (computed, formula), ``typed`` by hand
    (every cell of a manual column, whether typed in the platform or on paper, and every adjusted
    cell of a computed column); ``adjusted`` of those typed, the cells changed in the platform."""

    auto: int
    typed: int
    adjusted: int

    @property
    def total(self) -> int:
        """All cells (rows × columns)."""
        return self.auto + self.typed


def tally_cells(form: FormDef, row_keys: Iterable[str], adjusted: Iterable[tuple[str, int]]) -> CellTally:
    """Count the cells of an answer with rows ``row_keys`` (合计 included) and adjusted cells
    ``adjusted`` ((row key, column number)) as filled automatically vs typed by hand (see
    :class:`CellTally`). The 合计 row counts: without the platform it is added up by hand too."""
    keys = list(row_keys)
    manual = {c.no for c in form.columns if c.source == "manual"}
    changed = {(k, n) for k, n in adjusted if k in set(keys)}
    typed_manual = len(keys) * len(manual)
    typed_adjusted = sum(1 for _, n in changed if n not in manual)
    total = len(keys) * len(form.columns)
    typed = typed_manual + typed_adjusted
    return CellTally(auto=total - typed, typed=typed, adjusted=len(changed))


def auto_share(auto: int, typed: int) -> float | None:
    """Share of cells filled automatically, in % with one decimal; None when there are no cells."""
    total = auto + typed
    return None if total == 0 else round(100.0 * auto / total, 1)


# --- policy data ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Workflow:
    """form/data/workflow.yaml: zh-CN labels of the answer states, the channels of a demand made
    outside the catalogue (code → label), the shortest reason of an adjustment."""

    states: Mapping[str, str]
    channels: Mapping[str, str]
    min_reason: int


def parse_workflow(raw: Any, source: str = "workflow.yaml") -> Workflow:
    """Check and build :class:`Workflow` from its parsed YAML. Raises ValueError naming ``source``
    and the key: a state missing or unknown, a channel code that is not a lower-case ASCII key, a
    label missing, ``min_reason`` not an integer from 1 to 50."""
    if not isinstance(raw, dict):
        raise ValueError(f"{source}: needs states, channels and min_reason")
    states = raw.get("states")
    if not isinstance(states, dict) or set(states) != set(STATES):
        raise ValueError(f"{source}: states: give a label for each of {', '.join(STATES)}")
    channels = raw.get("channels")
    if not isinstance(channels, dict) or not channels:
        raise ValueError(f"{source}: channels: needs a mapping of code → label")
    for table, where in ((states, "states"), (channels, "channels")):
        for k, v in table.items():
            if not isinstance(k, str) or not re.fullmatch(r"[a-z][a-z0-9_]{1,15}", k):
                raise ValueError(f"{source}: {where}.{k}: a lower-case ASCII key of 2-16 characters")
            if not isinstance(v, str) or not v.strip():
                raise ValueError(f"{source}: {where}.{k}: needs a zh-CN label")
    mr = raw.get("min_reason")
    if not isinstance(mr, int) or isinstance(mr, bool) or not 1 <= mr <= 50:
        raise ValueError(f"{source}: min_reason: an integer from 1 to 50")
    return Workflow(dict(states), dict(channels), mr)


@cache
def workflow() -> Workflow:
    """The packaged form/data/workflow.yaml, read and checked once."""
    text = resources.files("zhizhi.form").joinpath("data/workflow.yaml").read_text("utf-8")
    return parse_workflow(yaml.safe_load(text), "form/data/workflow.yaml")


def check_channel(channel: object) -> str:
    """A channel code of :func:`workflow` (表外要数: how the demand came). Raises ValueError."""
    channels = workflow().channels
    if not isinstance(channel, str) or channel not in channels:
        raise ValueError(f'channel "{str(channel)[:20]}": use one of {", ".join(channels)}')
    return channel


__all__ = [
    "MOVES",
    "PERIOD_KINDS",
    "STATES",
    "TOTAL_ROW",
    "AnswerStateError",
    "CellTally",
    "StoredRow",
    "Workflow",
    "admission_basis",
    "as_cell",
    "auto_share",
    "check_channel",
    "check_due",
    "check_text",
    "check_value",
    "deadline_status",
    "effective_rows",
    "find_column",
    "find_row",
    "is_late",
    "issuable",
    "next_state",
    "parse_any_period",
    "parse_workflow",
    "rows_from_json",
    "rows_to_json",
    "tally_cells",
    "workflow",
]
