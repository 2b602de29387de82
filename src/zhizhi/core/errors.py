"""Errors (错误) carried to clients as RFC 9457 problem details and to the CLI as one line.

Services raise these; the API turns them into ``application/problem+json`` responses and the CLI
prints ``error: <detail>`` and exits with code 2. Nothing else should reach a client.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class FieldError:
    """One problem with one input: ``field`` is a dotted path or a column name; ``line`` is 1-based."""

    field: str
    reason: str
    line: int | None = None
    column: str | None = None
    value: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}

    def __str__(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column or self.field:
            where.append(f"column {self.column or self.field}")
        return f"{', '.join(where)}: {self.reason}"


@dataclass
class ZhizhiError(Exception):
    """Base error: ``status`` is the HTTP status; ``detail`` a sentence for a person (English).

    ``code`` (optional) is a stable identifier of the kind of error, dotted lower-case
    (``"event.outside_grid"``), for clients that show their own text: the pages look it up under
    ``problem.<code>`` in their messages (web/messages/zh-CN) and fill the placeholders from
    ``extra["params"]``; an unknown code falls back to ``detail``. A code once published keeps its
    meaning."""

    detail: str
    errors: list[FieldError] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    status: int = 400
    title: str = "Bad request"
    type: str = "about:blank"
    code: str | None = None

    def __str__(self) -> str:
        return self.detail

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        if self.code:
            body["code"] = self.code
        if self.errors:
            body["errors"] = [e.as_dict() for e in self.errors]
        body.update(self.extra)
        return body


@dataclass
class InvalidInput(ZhizhiError):
    """The input is well formed but a field is wrong (422)."""

    status: int = 422
    title: str = "Invalid input"


@dataclass
class NotFound(ZhizhiError):
    """The object does not exist or is outside the caller's scope (404)."""

    status: int = 404
    title: str = "Not found"


@dataclass
class Conflict(ZhizhiError):
    """The object changed meanwhile, or the transition is not allowed from its node (409)."""

    status: int = 409
    title: str = "Conflict"


@dataclass
class Forbidden(ZhizhiError):
    """The caller's role may not do this (403)."""

    status: int = 403
    title: str = "Forbidden"


@dataclass
class Unauthorized(ZhizhiError):
    """No or unknown caller identity (401)."""

    status: int = 401
    title: str = "Unauthorized"


@dataclass
class TooManyRequests(ZhizhiError):
    """Too many requests from one client (429); ``extra["retry_after"]`` says when to retry, s."""

    status: int = 429
    title: str = "Too many requests"
