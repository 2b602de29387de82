"""Live updates (实时推送) for the pages: an in-process broadcaster of event changes, sent to browsers as
server-sent events (SSE, ``text/event-stream``).

How a change reaches a page: the event use cases hold a notice on the database session
(:mod:`zhizhi.event.service.notify`); after the commit the notice is handed to :meth:`Broadcaster.publish`
(in the committing thread), which puts a small message on the queue of every subscriber allowed to
see that event (:func:`visible`); each page's ``GET /api/v1/stream`` request drains its queue.

Limits (on purpose, for a first version):

- One server process: a change committed by another process (a CLI import, a second worker) is not
  pushed; pages also refresh their figures every minute, so they catch up.
- Visibility is decided from the notice alone (no query per message): district, town and grid scopes
  exactly as the event list; a department (unit scope) hears of events currently assigned to it and
  its own reports, not of events it handled earlier or is tasked with by a pre-plan; confidential
  categories (保密类事件) reach only those who may read them. It may leave out a message, never
  leaks one.
- A subscriber that falls behind by :data:`QUEUE_SIZE` messages gets one ``resync`` message instead
  of the rest; a commit with more than :data:`BULK` changes becomes one ``bulk`` message.
- A stream lasts at most :data:`STREAM_SECONDS`; the browser's EventSource reconnects by itself
  after :data:`RETRY_MS`, which re-checks the sign-in, and the page reloads its figures on
  reconnecting (a change during the gap is not lost). Stopping the server waits for open streams
  to end (at most :data:`STREAM_SECONDS`; a second Ctrl-C stops at once).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine

from zhizhi.core.access import Actor, has_permission, scope_of
from zhizhi.event import service as events
from zhizhi.event.service import notify

QUEUE_SIZE = 256
BULK = 50
HEARTBEAT_SECONDS = 15.0
STREAM_SECONDS = 60.0
RETRY_MS = 1000
SENT_FIELDS = (
    "id",
    "action",
    "node",
    "version",
    "town_code",
    "grid_code",
    "category_code",
    "colour",
    "urgency",
    "overdue",
    "supervised",
    "lon",
    "lat",
)
"""What a browser receives of a change: no free text, no reporter, no unit."""


def visible(actor: Actor, change: dict[str, Any]) -> bool:
    """Whether ``actor`` may hear of ``change`` (a notice of :func:`zhizhi.event.service.notify.changed`).

    Mirrors :func:`zhizhi.event.service.scoped` for district, town and grid scopes; for a unit scope,
    only events assigned to the unit now (or reported by the actor); every unit also hears of the
    events it holds a pre-plan task on (``task_units``). Drills are left out (the pages
    show real figures). Confidential categories need ``event.confidential``, a personal grant, or
    being the reporter or the assigned unit."""
    if change.get("is_drill"):
        return False
    mine = actor.id is not None and change.get("reporter_id") == actor.id
    assigned = change.get("unit_code") == actor.unit_code and (change.get("dispatch_count") or 0) > 0
    tasked = actor.unit_code in (change.get("task_units") or ())
    try:
        sc = scope_of(actor)
    except ValueError:
        return False
    if sc.kind == "district":
        inside = change.get("district_code") == sc.code
    elif sc.kind == "town":
        inside = change.get("town_code") == sc.code or mine
    elif sc.kind == "grid":
        inside = change.get("grid_code") == sc.code or mine
    else:
        inside = assigned or mine
    if not (inside or tasked):
        return False
    cat = change.get("category_code")
    if (
        cat in set(events.confidential_codes())
        and not has_permission(actor, "event.confidential")
        and cat not in actor.grants
    ):
        return mine or assigned or tasked
    return True


@dataclass(eq=False)
class Subscriber:
    """One open stream: whose it is, which database it listens to, and its queue (owned by ``loop``)."""

    actor: Actor
    engine: Engine
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    behind: bool = False

    def offer(self, message: dict[str, Any]) -> None:
        """Queue ``message`` (runs on ``loop``); when full, replace what is left by a ``resync``."""
        if self.behind:
            return
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.behind = True
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait({"type": "resync"})


class Broadcaster:
    """Fan out event changes to the open streams (thread-safe: :meth:`publish` is called from the
    thread that committed, subscribers live on the server's event loop)."""

    def __init__(self) -> None:
        self._subs: set[Subscriber] = set()
        self._lock = threading.Lock()

    def subscribe(self, actor: Actor, engine: Engine) -> Subscriber:
        """A new subscriber for ``actor`` on ``engine``'s database; call from the event loop."""
        sub = Subscriber(actor, engine, asyncio.get_running_loop())
        with self._lock:
            self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        """Forget ``sub`` (idempotent)."""
        with self._lock:
            self._subs.discard(sub)

    @property
    def count(self) -> int:
        """The number of open streams."""
        return len(self._subs)

    def publish(self, engine: Engine, changes: list[dict[str, Any]]) -> None:
        """Queue each change for every subscriber of ``engine`` allowed to see it (:func:`visible`):
        one ``change`` message each, or one ``bulk`` message with the count when there are more
        than :data:`BULK`."""
        with self._lock:
            subs = [s for s in self._subs if s.engine is engine]
        for sub in subs:
            seen = [c for c in changes if visible(sub.actor, c)]
            if not seen:
                continue
            if len(seen) > BULK:
                messages = [{"type": "bulk", "count": len(seen)}]
            else:
                messages = [{"type": "change", **{k: c.get(k) for k in SENT_FIELDS}} for c in seen]
            try:
                for m in messages:
                    sub.loop.call_soon_threadsafe(sub.offer, m)
            except RuntimeError:  # its event loop is closed: the server stopped
                self.unsubscribe(sub)


BROADCASTER = Broadcaster()
notify.subscribe(BROADCASTER.publish)


def sse(message: dict[str, Any]) -> str:
    """One server-sent event: ``event:`` is the message's type, ``data:`` its JSON."""
    return f"event: {message.get('type', 'message')}\ndata: {json.dumps(message, ensure_ascii=False)}\n\n"


async def stream(
    actor: Actor,
    engine: Engine,
    heartbeat_s: float = HEARTBEAT_SECONDS,
    lifetime_s: float = STREAM_SECONDS,
) -> AsyncIterator[str]:
    """The text of one SSE stream for ``actor`` on ``engine``'s database: a ``hello``, then each
    message as it comes, a comment line every ``heartbeat_s`` seconds (keeps proxies from closing
    it), until ``lifetime_s`` seconds have passed or the client goes away (the server cancels the
    iteration). Subscribes when the iteration starts and unsubscribes when it ends."""
    loop = asyncio.get_running_loop()
    end = loop.time() + lifetime_s
    sub = BROADCASTER.subscribe(actor, engine)
    try:
        yield f"retry: {RETRY_MS}\n" + sse({"type": "hello"})
        while True:
            left = end - loop.time()
            if left <= 0:
                return
            try:
                message = await asyncio.wait_for(sub.queue.get(), timeout=min(heartbeat_s, left))
            except TimeoutError:
                yield ": ping\n\n"
                continue
            if message.get("type") == "resync":
                sub.behind = False
            yield sse(message)
    finally:
        BROADCASTER.unsubscribe(sub)
