"""Pure rules of the form domain (报表): definitions parsed and checked (:mod:`.definition`), report
periods (:mod:`.period`), formulas and cross-column checks (:mod:`.expr`), computed results and their
checks (:mod:`.result`). No database, no web framework."""

from __future__ import annotations

from zhizhi.form.rules import task
from zhizhi.form.rules.definition import (
    AREAS,
    MEASURE_KEYS,
    PERSON_FIELDS,
    ROW_LABELS,
    ROW_LEVELS,
    Check,
    Column,
    Context,
    FormDef,
    FormDefinitionError,
    Measure,
    PersonFilter,
    SourceRef,
    department_gaps,
)
from zhizhi.form.rules.expr import Chain, check_chain, evaluate, parse_check, parse_formula
from zhizhi.form.rules.parse import parse_form
from zhizhi.form.rules.period import (
    PERIOD_KINDS,
    Period,
    check_not_future,
    check_started,
    default_as_of,
    parse_period,
)
from zhizhi.form.rules.result import (
    Cell,
    CheckOutcome,
    FormResult,
    ResultRow,
    apply_formulas,
    column_basis,
    describe,
    run_checks,
)

__all__ = [
    "AREAS",
    "MEASURE_KEYS",
    "PERIOD_KINDS",
    "PERSON_FIELDS",
    "ROW_LABELS",
    "ROW_LEVELS",
    "Cell",
    "Chain",
    "Check",
    "CheckOutcome",
    "Column",
    "Context",
    "FormDef",
    "FormDefinitionError",
    "FormResult",
    "Measure",
    "Period",
    "PersonFilter",
    "ResultRow",
    "SourceRef",
    "apply_formulas",
    "check_chain",
    "check_not_future",
    "check_started",
    "column_basis",
    "default_as_of",
    "department_gaps",
    "describe",
    "evaluate",
    "parse_check",
    "parse_form",
    "parse_formula",
    "parse_period",
    "run_checks",
    "task",
]
