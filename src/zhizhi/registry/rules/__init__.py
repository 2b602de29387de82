"""Pure rules of the registers (台账规则): code tables, facts derived from a citizen ID, tag eligibility,
status transitions, the conflict rule and the valid-time timeline of one entity.

No database here: plain values in, plain values out (docs/adr/0005-register-history.md explains how
the service stores what these functions compute).

Modules: ``codes`` (code tables), ``tags`` (resident tags), ``people`` (citizen ID facts, ages,
status), ``history`` (sources, the conflict rule, the timeline), ``values`` (cleaning plain fields).
Everything public is re-exported here.
"""

from zhizhi.registry.identifiers import mask_citizen_id
from zhizhi.registry.rules.codes import Codes, codes, parse_code, parse_industry, relations
from zhizhi.registry.rules.codes import _load_yaml as _load_yaml  # used by rules_relation
from zhizhi.registry.rules.history import (
    SOURCE_KINDS,
    Decision,
    FieldChange,
    Segment,
    Value,
    check_change,
    decide,
    next_value,
    parse_source,
    segment_at,
    timeline,
)
from zhizhi.registry.rules.people import (
    DEFAULT_AGE_BANDS,
    STATUSES,
    age_on,
    birth_cutoff,
    birth_date_of,
    parse_age_band,
    parse_status,
    sex_of,
    status_transition_error,
)
from zhizhi.registry.rules.tags import (
    Tag,
    decode_tags,
    encode_tags,
    parse_tags,
    tag_catalogue,
    tag_rule_error,
    tags_of_department,
)
from zhizhi.registry.rules.values import clean_text, parse_date, parse_number

__all__ = [
    "DEFAULT_AGE_BANDS",
    "SOURCE_KINDS",
    "STATUSES",
    "Codes",
    "Decision",
    "FieldChange",
    "Segment",
    "Tag",
    "Value",
    "age_on",
    "birth_cutoff",
    "birth_date_of",
    "check_change",
    "clean_text",
    "codes",
    "decide",
    "decode_tags",
    "encode_tags",
    "mask_citizen_id",
    "next_value",
    "parse_age_band",
    "parse_code",
    "parse_date",
    "parse_industry",
    "parse_number",
    "parse_source",
    "parse_status",
    "parse_tags",
    "relations",
    "segment_at",
    "sex_of",
    "status_transition_error",
    "tag_catalogue",
    "tag_rule_error",
    "tags_of_department",
    "timeline",
]
