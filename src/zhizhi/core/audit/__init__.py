"""Audit log (审计日志): an append-only, hash-chained record of sensitive acts.

Every full view (完整查看) or export (导出) of personal data, every sign-in (登录) and failed sign-in,
every token issued, writes one :class:`AuditRow` through :func:`record`. Each row carries the
SHA-256 of its predecessor (``prev_hash``) and its own ``hash``, so changing, inserting or deleting a
row anywhere breaks the chain, which :func:`verify` finds and names. Design, canonical form and the
PostgreSQL privileges that make the table append-only in production: docs/adr/0004-audit-hash-chain.md.

Canonical form (规范形式) of a row, the bytes that are hashed
----------------------------------------------------------------
``hash = lowercase hex SHA-256 of (prev_hash as 64 ASCII hex digits) + (canonical JSON, UTF-8)``;
the first row's ``prev_hash`` is :data:`GENESIS` (64 zeros). The canonical JSON is one object with
exactly the keys of :data:`HASHED_FIELDS` (``id`` to ``detail``; ``prev_hash`` and ``hash`` are not
in it), absent values as ``null``, written as Python's
``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)``:
keys sorted by code point, no whitespace, non-ASCII characters as themselves (UTF-8), ``id`` a JSON
integer, ``object_id`` a string, ``at`` the UTC instant as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (always
six fraction digits). ``detail`` is JSON made of objects, arrays, strings, integers, booleans and
null only: floats are refused (their text differs between languages), so every tool that writes
compact sorted JSON recomputes the same bytes.

Modules: ``canonical`` (the canonical form and hash, pure), ``models`` (:class:`AuditRow`,
:class:`Action`), ``write`` (:func:`record`), ``read`` (:func:`search`, :func:`verify`). Everything
public is re-exported here.
"""

from zhizhi.core.audit.canonical import GENESIS, HASHED_FIELDS, canonical_json, chain_hash, format_at
from zhizhi.core.audit.models import Action, AuditRow
from zhizhi.core.audit.read import VerifyResult, search, verify
from zhizhi.core.audit.write import LOCK_KEY, record

__all__ = [
    "GENESIS",
    "HASHED_FIELDS",
    "LOCK_KEY",
    "Action",
    "AuditRow",
    "VerifyResult",
    "canonical_json",
    "chain_hash",
    "format_at",
    "record",
    "search",
    "verify",
]
