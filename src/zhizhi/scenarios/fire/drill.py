"""Forest fire drill timing (森林火情实战演练计时): node targets, the simulated clock, results.

Pure: plain values in and out, no database. The nodes (接警签收 alarm seen, 到达现场 on site,
扑火队出动 team out, 火势控制 under control), how the loop marks each one, their targets and the
simulated clock's delays are data in ``data/drill.yaml``. The service (``service/drill.py`` or
``drill_service.py``) reads the marks off the drill event's timeline and pre-plan tasks and calls
:func:`evaluate`.

Every node is timed from the alarm (the drill event's ``reported_at``): elapsed = mark − alarm.
Statuses: ``met`` (reached within the target), ``missed`` (reached after it), ``overdue`` (not reached
and the target has passed), ``pending`` (not reached, target not passed yet), ``done`` (reached, no
target), ``open`` (not reached, no target).

Source of the targets: 永川 drill of 2025-03-27 (alarm seen ≤ 1 min, on site ≤ 3 min) and 大足
practice (team out ≤ 5 min), as cited in event/data/categories.yaml (2206) and data/drill.yaml.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from zhizhi.core.time import LOCAL_TZ
from zhizhi.scenarios.fire.rules import load_policy_file

DRILL_FILE = Path(__file__).parent / "data" / "drill.yaml"
TEAM_NODE = "team_out"
"""The node timed on the nearest fire team's task (扑火队出动, service/response.py) when the drill has
one, instead of its mark's task (``task:town``, the town center's pre-plan task)."""
STEP_ACTIONS = ("accept", "register", "dispatch", "sign", "handle", "verify_pass", "close")
"""Loop actions a drill may mark or simulate (event.rules.TRANSITIONS, in loop order)."""
_MARK = re.compile(r"^(step:(?P<action>[a-z_]+)|task:(?P<unit>[A-Za-z0-9_]+))$")
NodeStatus = Literal["met", "missed", "overdue", "pending", "done", "open"]
STATUS_ZH: dict[str, str] = {
    "met": "达标",
    "missed": "超时",
    "overdue": "已超时未到",
    "pending": "进行中",
    "done": "已完成",
    "open": "未完成",
}


def parse_mark(mark: str) -> tuple[Literal["step", "task"], str]:
    """Split a mark ``step:<action>`` or ``task:<unit>`` into (kind, name). Raises ValueError for
    another form or an action not in :data:`STEP_ACTIONS`."""
    m = _MARK.match(mark)
    if m is None:
        raise ValueError(f'mark "{mark}": must be step:<action> or task:<unit>')
    if m.group("action") is not None:
        if m.group("action") not in STEP_ACTIONS:
            raise ValueError(f'mark "{mark}": action must be one of {", ".join(STEP_ACTIONS)}')
        return "step", m.group("action")
    return "task", m.group("unit")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DrillNode(_Model):
    """One timed node: key, Chinese name, the loop mark that reaches it, target seconds (or None)."""

    key: str = Field(pattern=r"^[a-z_]+$")
    name: str = Field(min_length=1)
    mark: str
    target_s: float | None = Field(default=None, gt=0)
    source: str = ""

    @field_validator("mark")
    @classmethod
    def _mark(cls, v: str) -> str:
        parse_mark(v)
        return v


class SimMove(_Model):
    """One move of the simulated clock: a mark, made ``after_s`` seconds after the previous move."""

    move: str
    after_s: float = Field(ge=0, le=86_400)

    @field_validator("move")
    @classmethod
    def _mark(cls, v: str) -> str:
        parse_mark(v)
        return v


class DrillPolicy(_Model):
    """The whole ``data/drill.yaml``."""

    version: int
    preplan: str = Field(min_length=1)
    nodes: list[DrillNode] = Field(min_length=1)
    simulate: list[SimMove] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> DrillPolicy:
        keys = [n.key for n in self.nodes]
        if len(set(keys)) != len(keys):
            raise ValueError(f"nodes: duplicate key in {keys}")
        moves = [m.move for m in self.simulate]
        if len(set(moves)) != len(moves):
            raise ValueError(f"simulate: a move appears twice in {moves}")
        steps = [parse_mark(m)[1] for m in moves if m.startswith("step:")]
        if steps != sorted(steps, key=STEP_ACTIONS.index):
            raise ValueError(f"simulate: loop moves must follow the loop order {', '.join(STEP_ACTIONS)}")
        missing = [n.mark for n in self.nodes if n.mark not in moves]
        if missing:
            raise ValueError(f"simulate: no move reaches the node mark(s) {', '.join(missing)}")
        return self

    def node(self, key: str) -> DrillNode:
        """The node ``key``; KeyError naming the known keys."""
        for n in self.nodes:
            if n.key == key:
                return n
        raise KeyError(f'unknown drill node "{key}" (known: {", ".join(n.key for n in self.nodes)})')


def load_drill_policy(path: str | Path | None = None) -> DrillPolicy:
    """Load and check a drill policy (default: the shipped ``data/drill.yaml``): node keys unique,
    marks ``step:<action>``/``task:<unit>``, targets > 0, simulated loop moves in loop order and
    reaching every node. Raises PolicyError (a ValueError) naming the file, the key and the reason."""
    p = Path(path) if path is not None else DRILL_FILE
    return load_policy_file(DrillPolicy, p)


@lru_cache(maxsize=1)
def default_drill_policy() -> DrillPolicy:
    """The shipped ``data/drill.yaml``, loaded once."""
    return load_drill_policy()


def schedule(
    start: datetime, moves: Sequence[SimMove], delays: Mapping[str, float] | None = None
) -> list[tuple[str, datetime]]:
    """The simulated clock: each move's time, advancing from ``start`` (the alarm) by each move's
    ``after_s`` (seconds; ``delays[move]`` overrides it). Returns [(mark, aware datetime)] in order.
    Raises ValueError for a negative delay or a delay for a move not in ``moves``."""
    over = dict(delays or {})
    known = {m.move for m in moves}
    for k, v in over.items():
        if k not in known:
            raise ValueError(
                f'delay for "{k}": not a simulated move (moves: {", ".join(m.move for m in moves)})'
            )
        if v < 0:
            raise ValueError(f'delay for "{k}": {v:g} s is negative')
    t, out = start, []
    for m in moves:
        t = t + timedelta(seconds=over.get(m.move, m.after_s))
        out.append((m.move, t))
    return out


@dataclass(frozen=True)
class NodeResult:
    """One node of a drill: when it was reached (aware datetime or None), seconds from the alarm,
    the target (s or None) and the status (see module doc)."""

    key: str
    name: str
    at: datetime | None
    elapsed_s: float | None
    target_s: float | None
    status: NodeStatus

    @property
    def met(self) -> bool | None:
        """True met, False missed or overdue, None while pending or without a target."""
        return {"met": True, "missed": False, "overdue": False}.get(self.status)


@dataclass(frozen=True)
class DrillResult:
    """A drill's node results, timed from ``alarm_at``, as seen at ``as_of``."""

    alarm_at: datetime
    as_of: datetime
    nodes: list[NodeResult]
    simulated: bool = False
    """Elapsed times are on the simulated clock (``zhizhi fire drill --simulate``, :func:`evaluate`
    ``simulated``); each node's ``at`` is then when the platform recorded it."""
    team_task: bool | None = None
    """:data:`TEAM_NODE` is timed on the nearest fire team's task (True) or on its mark's task, the
    town center's (False: no team task); None when not told (e.g. :func:`evaluate` alone)."""
    team_task_id: int | None = None
    """The team task's id when ``team_task``."""
    team_note: str = ""
    """Which task times :data:`TEAM_NODE`, in words (the team, or why there is no team task)."""

    @property
    def finished(self) -> bool:
        """Every node reached."""
        return all(n.at is not None for n in self.nodes)

    @property
    def all_met(self) -> bool:
        """Every node with a target reached within it."""
        return all(n.status == "met" for n in self.nodes if n.target_s is not None)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-able form (times ISO 8601 in Beijing time); ``team_task``, ``team_task_id`` and
        ``team_note`` when ``team_task`` is known."""
        team: dict[str, Any] = {}
        if self.team_task is not None:
            team = {
                "team_task": self.team_task,
                "team_task_id": self.team_task_id,
                "team_note": self.team_note,
            }
        return {
            "alarm_at": self.alarm_at.astimezone(LOCAL_TZ).isoformat(),
            "as_of": self.as_of.astimezone(LOCAL_TZ).isoformat(),
            "finished": self.finished,
            "all_met": self.all_met,
            "clock": "simulated" if self.simulated else "real",
            "nodes": [
                {
                    "key": n.key,
                    "name": n.name,
                    "at": n.at.astimezone(LOCAL_TZ).isoformat() if n.at else None,
                    "elapsed_s": n.elapsed_s,
                    "elapsed": mmss(n.elapsed_s) if n.elapsed_s is not None else None,
                    "target_s": n.target_s,
                    "target": mmss(n.target_s) if n.target_s is not None else None,
                    "status": n.status,
                    "met": n.met,
                }
                for n in self.nodes
            ],
            **team,
        }


def evaluate(
    alarm_at: datetime,
    marks: Mapping[str, datetime | None],
    as_of: datetime,
    policy: DrillPolicy | None = None,
    simulated: Mapping[str, float] | None = None,
) -> DrillResult:
    """Time each node of a drill against its target.

    Parameters
    ----------
    alarm_at : aware datetime of the alarm (the drill event's reported_at).
    marks : for each mark string of the policy's nodes (``step:sign``, ``task:grid`` …), when the loop
        recorded it (aware datetime) or None / absent when not yet.
    as_of : aware datetime "now", to tell pending from overdue nodes.
    policy : the nodes (default: the shipped ``data/drill.yaml``).
    simulated : for a simulated drill, the seconds from the alarm of each mark on the simulated clock
        (>= 0): a reached node's elapsed time is that, while its ``at`` stays when the loop recorded
        the mark (the platform makes the simulated moves at once, never at future times). The
        result's ``simulated`` is then True.

    Returns
    -------
    :class:`DrillResult` with one :class:`NodeResult` per node in policy order; elapsed in seconds
    (float), never negative (a mark before the alarm raises).

    Raises
    ------
    ValueError for a naive datetime, or a mark earlier than the alarm.
    """
    pol = policy or default_drill_policy()
    for name, v in [("alarm_at", alarm_at), ("as_of", as_of), *marks.items()]:
        if v is not None and (v.tzinfo is None or v.utcoffset() is None):
            raise ValueError(f"{name}: must be timezone-aware, got {v.isoformat()}")
    out = []
    for n in pol.nodes:
        at = marks.get(n.mark)
        elapsed = (at - alarm_at).total_seconds() if at is not None else None
        if simulated is not None and at is not None and n.mark in simulated:
            elapsed = float(simulated[n.mark])
            if not elapsed >= 0:
                raise ValueError(f"{n.mark}: simulated {elapsed:g} s from the alarm is negative")
        if elapsed is not None and elapsed < 0:
            raise ValueError(f"{n.mark}: at {at.isoformat()} is before the alarm {alarm_at.isoformat()}")  # type: ignore[union-attr]
        status: NodeStatus
        if n.target_s is None:
            status = "done" if at is not None else "open"
        elif elapsed is not None:
            status = "met" if elapsed <= n.target_s else "missed"
        else:
            status = "overdue" if (as_of - alarm_at).total_seconds() > n.target_s else "pending"
        out.append(NodeResult(n.key, n.name, at, elapsed, n.target_s, status))
    return DrillResult(alarm_at, as_of, out, simulated=simulated is not None)


def mmss(seconds: float) -> str:
    """Seconds as ``m:ss`` (``h:mm:ss`` from one hour), rounded to the second: 45 → ``0:45``,
    1455 → ``24:15``, 3725 → ``1:02:05``."""
    s = int(round(seconds))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def report_lines(result: DrillResult, title: str) -> list[str]:
    """A drill report as text lines: the title, then one line per node with its Beijing time, the time
    from the alarm, the target and the status in Chinese, then a summary line (and, for a simulated
    drill, a line saying the times are on the simulated clock). When ``team_task`` is known, a line
    before the summary says which task timed 扑火队出动 (``team_note``)."""
    lines = [title, f"报警时间 北京时间 {result.alarm_at.astimezone(LOCAL_TZ):%Y-%m-%d %H:%M:%S}"]
    for n in result.nodes:
        at = f"{n.at.astimezone(LOCAL_TZ):%H:%M:%S}" if n.at else "--:--:--"
        used = mmss(n.elapsed_s) if n.elapsed_s is not None else "-"
        target = f"≤ {mmss(n.target_s)}" if n.target_s is not None else "无目标"
        lines.append(f"  {n.name}（{n.key}）  {at}  用时 {used}  目标 {target}  {STATUS_ZH[n.status]}")
    if result.team_task is not None:
        lines.append(f"  {result.team_note}")
    timed = [n for n in result.nodes if n.target_s is not None]
    met = sum(n.status == "met" for n in timed)
    state = "演练完成" if result.finished else "演练进行中"
    lines.append(f"{state}：{met}/{len(timed)} 个节点达标")
    if result.simulated:
        lines.append("模拟时钟：用时按模拟时钟计（fire/data/drill.yaml simulate）；时刻为平台实际记录的时刻")
    return lines
