"""Replay of real citizen messages through the loop (真实留言回放): ``zhizhi demo replay``.

Input: ``event/data/teddycup2020c_messages_replies.csv`` — 2,816 real messages to local government
with the official reply and its time (see event/data/SOURCES.md; pseudonymised by the organiser and
scrubbed again). What is real: title, text, the time of the message and the time of the reply.
What is generated, and flagged: the category (keyword rules in message_category_rules.yaml, since
the file has none), the location (a deterministic point inside a Yongchuan grid, ``location_generated``)
and the times of the intermediate nodes (受理 … 核查), placed between the two real times and marked
"推算时间" in the timeline. 结案 takes the real reply time, so on-time rates come from real timings.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta
from importlib import resources
from typing import Any

import shapely
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhizhi.core import time as ztime
from zhizhi.core.errors import InvalidInput
from zhizhi.event import service
from zhizhi.event.message_rules import classify_message
from zhizhi.event.models import Event
from zhizhi.event.schemas import EventCreate, TransitionIn
from zhizhi.org.models import OrgUnit

SOURCE_FILE = "teddycup2020c_messages_replies.csv"
GENERATED = "推算时间 (generated timing between the real message and reply times)"


def _h(text: str) -> int:
    return int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:12], 16)


def _grid_points(session: Session, district6: str) -> list[tuple[str, float, float]]:
    """One deterministic generated point per grid (inside it), sorted by grid code."""
    rows = session.execute(
        select(OrgUnit.code, OrgUnit.geom)
        .where(OrgUnit.district_code == district6, OrgUnit.level == "grid", OrgUnit.geom.is_not(None))
        .order_by(OrgUnit.code)
    ).all()
    out = []
    for code, wkb in rows:
        p = shapely.from_wkb(wkb).representative_point()
        out.append((code, p.x, p.y))
    return out


def _times(category: str, created: datetime, replied: datetime) -> dict[str, datetime]:
    """Times of each move between the two real times: 受理/立案/派遣/签收 take a share of the lag but at
    most half of their node's limit, 处置 and 核查 fall minutes before the real reply, 结案 is the reply.
    So every lateness the KPIs show comes from the real reply time, none from generated steps."""
    lag = max(replied - created, timedelta(0))
    cat = service.catalogue()
    t: dict[str, datetime] = {}
    prev = created
    for action, node, share in (
        ("accept", "accept", 0.05),
        ("register", "register", 0.02),
        ("dispatch", "dispatch", 0.05),
        ("sign", "sign", 0.05),
    ):
        amount, clock = cat.limit(category, node)
        cap = ztime.deadline(prev, amount / 2, clock)
        prev = t[action] = min(prev + lag * share, cap, replied)
    step = min(lag * 0.01, timedelta(minutes=10))
    t["handle"] = max(prev, replied - 2 * step)
    t["verify_pass"] = max(t["handle"], replied - step)
    t["close"] = replied
    return t


def replay(
    session: Session,
    district6: str,
    limit: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Import the real messages and move each through 受理 → 立案 → 派遣 → 签收 → 处置 → 核查 → 结案.

    Idempotent: messages already imported (same ``external_id``) are skipped. Returns a summary with
    counts per category root and the KPI headline. Raises InvalidInput if the district has no grids.
    """
    grids = _grid_points(session, district6)
    if not grids:
        raise InvalidInput(f"district {district6} has no grids: run `zhizhi org load` first")
    path = resources.files("zhizhi.event") / "data" / SOURCE_FILE
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if limit is not None:
        rows = rows[:limit]
    have = set(session.scalars(select(Event.external_id).where(Event.source == "hotline_import")).all())
    actor = service.system_actor(district6)
    done = skipped = 0
    jitter = 0.0006  # ≈ 60 m, keeps several messages of one grid from sitting on one point
    for i, r in enumerate(rows):
        ext = f"teddycup2020c:{r['msg_id']}"
        if ext in have:
            skipped += 1
            continue
        have.add(ext)
        h = _h(r["msg_id"] + r["title"])
        code, gx, gy = grids[h % len(grids)]
        lon = gx + ((h >> 20) % 1000 / 1000 - 0.5) * jitter
        lat = gy + ((h >> 30) % 1000 / 1000 - 0.5) * jitter
        created = ztime.to_utc(datetime.fromisoformat(r["created_at"]))
        replied = ztime.to_utc(datetime.fromisoformat(r["replied_at"]))
        data = EventCreate(
            source="hotline_import",
            external_id=ext,
            category_code=classify_message(r["title"], r["detail"]),
            title=r["title"][:200],
            description=r["detail"][:20_000],
            grid_code=code,
            reporter_ref=r["user_id"],
            reported_at=created,
        )
        ev = service.create_event(session, actor, data, propose_merges=False)
        ev.lon, ev.lat, ev.location_generated = lon, lat, True
        for action, at in _times(data.category_code, created, replied).items():
            comment = {"handle": r["reply"][:5000], "close": "按官方答复时间结案 (real reply time)"}.get(
                action, GENERATED
            )
            service.transition(
                session,
                actor,
                ev.id,
                TransitionIn(
                    action=action, comment=comment, unit_code="auto" if action == "dispatch" else None
                ),
                at=at,
            )
        done += 1
        if progress and (i % 50 == 0 or i == len(rows) - 1):
            progress(i + 1, len(rows))
    session.flush()
    total = session.scalar(select(func.count()).select_from(Event).where(Event.source == "hotline_import"))
    return {
        "file": SOURCE_FILE,
        "replayed": done,
        "skipped_existing": skipped,
        "events_in_database": total,
        "note": "text and times are real; categories, locations and intermediate node times are generated",
    }
