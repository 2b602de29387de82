"""Data quality of the registers (数据治理, issue 4 §5), pure: quality rules as data
(``data/quality_rules.yaml``), checks over plain records, the problems found and a score per area.
No database here (registry/service/quality.py reads the records and sends problems as tasks).

Dimensions (数据质量维度, after GB/T 36344-2018 《信息技术 数据质量评价指标》, which names completeness
完整性, validity/normativeness 规范性, consistency 一致性, accuracy, timeliness and accessibility; the
three that can be checked from the registers alone are used): completeness — a field the register needs is
filled; validity — an identifier passes its standard (GB 11643, GB 32100, GB 11714, mobile number
plan); consistency — records agree with each other and with the identifiers (sex and birth date of the
ID, tag eligibility, household heads, benefit tags after death or move-out, duplicates).

Score of an area (数据质量得分): ``100 × (1 − Σ weight·failed / Σ weight·checked)`` over every (record,
rule) pair checked in it, one decimal; None when nothing was checked. Problem details mask names and
identifiers (``张**``, ``500118********123X``).

Modules: ``records`` (what is checked), ``ruleset`` (the rules file), ``checks`` (one function per
check kind), ``report`` (:func:`check`, problems and scores). Everything public is re-exported here.
"""

from zhizhi.registry.quality.checks import CHECKS, RECORDS, Outcome
from zhizhi.registry.quality.records import House, Household, Person, Place, Registers, Unit
from zhizhi.registry.quality.report import Problem, Report, Tally, check, parse_key
from zhizhi.registry.quality.ruleset import (
    APPLIES,
    CHECK_REGISTER,
    DIMENSIONS,
    REGISTERS,
    REQUIRED_FIELDS,
    SEVERITIES,
    Rule,
    load_rules,
    parse_rules,
    rule_by_code,
)

__all__ = [
    "APPLIES",
    "CHECKS",
    "CHECK_REGISTER",
    "DIMENSIONS",
    "RECORDS",
    "REGISTERS",
    "REQUIRED_FIELDS",
    "SEVERITIES",
    "House",
    "Household",
    "Outcome",
    "Person",
    "Place",
    "Problem",
    "Registers",
    "Report",
    "Rule",
    "Tally",
    "Unit",
    "check",
    "load_rules",
    "parse_key",
    "parse_rules",
    "rule_by_code",
]
