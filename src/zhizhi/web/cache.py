"""A shared cache of the big screen's aggregates (大屏汇总缓存).

Every wall screen, console and phone of a district asks for the same summary again after each change
(the live stream tells them all at once) and every minute. Computing it reads the event table several
times (today's counts, the month's KPIs and ranking, the 30-day trend): about 0.4 s at 100,000
events on a small server (bench/web.py). So it is computed once per *audience* and shared:

- the key is what the figures depend on: the data scope (kind and code), the district, and the
  confidential-category visibility; users who may see every confidential category share one entry
  per scope (a district's leaders and duty staff), others get their own (the exceptions for their
  own reports, unit and personal grants make their figures personal); plus the day shown;
- an entry is dropped as soon as any event change commits in this process (the same notices that
  feed the live stream, :mod:`zhizhi.event.service.notify`): a computation that started before the
  change is not kept;
- otherwise it lives :data:`LIVE_SECONDS` (changes the notices do not carry: the SLA sweep's
  recolouring, a CLI import, another worker process) or :data:`PAST_SECONDS` for a replayed past day;
- one computation per key at a time: concurrent requests for the same key wait for it instead of
  all computing (no thundering herd after a change).

The month's part (this month's 结案率 and 按期结案率, the towns' month figures and the 赛马比拼 ranking:
one pass over the month's events, 0.13 s at 1,000,000 events, docs/benchmarks.md) lives in
:data:`MONTHS`, kept up to :data:`MONTH_SECONDS` and dropped, like the summaries, when an event change
commits: the rates move with the counters they are made of (a screen showing 今日结案 1 shows the
month's 结案率 including it), instead of lagging them by up to half a minute.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine

from zhizhi.core.access import Actor, has_permission, scope_of
from zhizhi.event.service import notify

LIVE_SECONDS = 15.0
PAST_SECONDS = 300.0
MONTH_SECONDS = 30.0
MAX_ENTRIES = 512


def audience(actor: Actor) -> Hashable:
    """The part of the cache key that depends on who asks: scope, district, and who else would see
    exactly the same confidential events (everyone with ``event.confidential``, else only this user)."""
    sc = scope_of(actor)
    if has_permission(actor, "event.confidential"):
        seen: Hashable = "all"
    else:
        seen = (actor.id, actor.unit_code, tuple(sorted(actor.grants)))
    return (sc.kind, sc.code, actor.district_code, seen)


@dataclass
class _Entry:
    generation: int
    expires: float
    value: Any


class SummaryCache:
    """Values per ``(engine, key)``, dropped when an event change commits on that engine or when
    they expire. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._generation: dict[int, int] = {}
        self._entries: dict[tuple[int, Hashable], _Entry] = {}
        self._computing: dict[tuple[int, Hashable], threading.Lock] = {}

    def changed(self, engine: Engine, _changes: list[dict[str, Any]] | None = None) -> None:
        """Forget every value of ``engine`` (called after a commit that changed events)."""
        with self._lock:
            self._generation[id(engine)] = self._generation.get(id(engine), 0) + 1
            for k in [k for k in self._entries if k[0] == id(engine)]:
                del self._entries[k]

    def clear(self) -> None:
        """Forget everything (tests)."""
        with self._lock:
            self._entries.clear()
            self._generation.clear()

    def _fresh(self, k: tuple[int, Hashable]) -> _Entry | None:
        e = self._entries.get(k)
        if e is None or e.expires < time.monotonic() or e.generation != self._generation.get(k[0], 0):
            return None
        return e

    def get(self, engine: Engine, key: Hashable, ttl: float, compute: Callable[[], Any]) -> tuple[Any, bool]:
        """The value for ``key`` on ``engine``: cached if fresh, else ``compute()`` (one caller at a
        time per key; the others wait and share its result). Returns ``(value, hit)``."""
        k = (id(engine), key)
        with self._lock:
            e = self._fresh(k)
            if e is not None:
                return e.value, True
            gate = self._computing.setdefault(k, threading.Lock())
        with gate:
            with self._lock:
                e = self._fresh(k)
                if e is not None:
                    return e.value, True
                generation = self._generation.get(id(engine), 0)
            value = compute()
            with self._lock:
                if generation == self._generation.get(id(engine), 0):
                    if len(self._entries) >= MAX_ENTRIES:
                        self._entries.pop(next(iter(self._entries)))
                    self._entries[k] = _Entry(generation, time.monotonic() + ttl, value)
                self._computing.pop(k, None)
            return value, False


SUMMARIES = SummaryCache()
notify.subscribe(SUMMARIES.changed)
MONTHS = SummaryCache()
notify.subscribe(MONTHS.changed)  # the rates follow the counters (see the module's docstring)

__all__ = ["LIVE_SECONDS", "MONTHS", "MONTH_SECONDS", "PAST_SECONDS", "SUMMARIES", "SummaryCache", "audience"]
