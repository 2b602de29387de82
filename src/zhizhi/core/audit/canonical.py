"""Canonical form (规范形式) of an audit row and its chain hash: pure code, no database.

The rules are in the package docstring of :mod:`zhizhi.core.audit`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64
"""``prev_hash`` of the first row (创世行): 64 zeros."""

HASHED_FIELDS = (
    "id",
    "at",
    "actor",
    "actor_role",
    "action",
    "object_type",
    "object_id",
    "scope",
    "reason",
    "client",
    "detail",
)
"""The keys of a row's canonical JSON (see the package docstring)."""

_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
"""``json.dumps`` with the canonical options, built once (verify calls it a million times)."""


def format_at(at: datetime) -> str:
    """The canonical text of a timestamp: ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC.

    Parameters
    ----------
    at : datetime
        Timezone-aware instant, any zone.

    Returns
    -------
    str
        E.g. ``2026-12-01T06:20:00.000000Z`` for 14:20 北京时间; always six fraction digits.

    Raises
    ------
    ValueError
        If ``at`` is naive.
    """
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"audit time must be timezone-aware, got naive {at.isoformat()}")
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def canonical_json(fields: Mapping[str, Any]) -> bytes:
    """The canonical JSON of a row's fields, UTF-8 encoded (the module docstring gives the rules).

    Parameters
    ----------
    fields : mapping
        The :data:`HASHED_FIELDS` of one row, ``at`` already formatted by :func:`format_at`.

    Returns
    -------
    bytes
        Compact JSON, keys sorted by code point, non-ASCII as UTF-8.

    Raises
    ------
    ValueError
        If a value is NaN/infinite, or a string cannot be encoded (a lone surrogate).
    TypeError
        If a value is not JSON-serialisable.
    """
    return _ENCODER.encode(fields).encode("utf-8")


def chain_hash(prev_hash: str, fields: Mapping[str, Any]) -> str:
    """A row's hash: SHA-256 of ``prev_hash`` (64 ASCII hex digits) followed by the canonical JSON.

    Parameters
    ----------
    prev_hash : str
        The predecessor's hash (lower-case hex), or :data:`GENESIS` for the first row.
    fields : mapping
        The row's canonical fields, as for :func:`canonical_json`.

    Returns
    -------
    str
        64 lower-case hex digits.

    Raises
    ------
    ValueError, TypeError
        As :func:`canonical_json`; ValueError if ``prev_hash`` is not ASCII.
    """
    return hashlib.sha256(prev_hash.encode("ascii") + canonical_json(fields)).hexdigest()
