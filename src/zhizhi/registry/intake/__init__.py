"""Importing the files people really have (台账导入): ``zhizhi registry import FILE --kind …``.

The steps, each in its own module:

* :mod:`.source` — read ``.xlsx``/``.xls``/``.csv``/``.txt``, the type told by content, text encodings
  UTF-8 (with or without BOM), UTF-16 and GB18030/GBK found by strict decoding (pure);
* :mod:`.header` — find the header rows under a title, join merged two-row headers, map columns to
  fields by the synonyms of ``registry/data/header_synonyms.yaml`` (pure);
* :mod:`.values`, :mod:`.location`, :mod:`.fields`, :mod:`.relation`, :mod:`.fast`, :mod:`.rows` —
  turn every row into the registry service's mapping or into row issues: dates in five written
  forms, Excel serials and date cells; identifiers checked by registry.identifiers (an ID that went
  through a number is refused, never cast); tags; 与户主关系 (子女 by the person's sex, a warning
  without 户号); village and grid names (pure);
* :mod:`.report` — the reject workbook the clerk fixes and imports again; :mod:`.result` — the
  outcome and its text report;
* :mod:`.service` — remembered mappings, the org tree, one transaction; :mod:`.write` — the write
  through registry.service, and the refused rows checked further so that one run reports every
  error of every row (the two modules that touch the database).

docs/domains/registry.md ("Import") describes the behaviour for users.
"""

from __future__ import annotations

from zhizhi.registry.intake.service import (
    ImportRefused,
    ImportResult,
    audit_rejects,
    get_mapping,
    import_file,
    list_mappings,
    parse_column_options,
    platform_actor,
)

__all__ = [
    "ImportRefused",
    "ImportResult",
    "audit_rejects",
    "get_mapping",
    "import_file",
    "list_mappings",
    "parse_column_options",
    "platform_actor",
]
