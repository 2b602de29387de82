"""``zhizhi fire drill``: forest fire drills (森林火情实战演练) and their node timings."""

from __future__ import annotations

from pathlib import Path

import typer

from zhizhi.cli import fail, out, run
from zhizhi.scenarios.fire.cli.common import ID_MAX, fire_app


def _delays(items: list[str]) -> dict[str, float]:
    """``--delay MOVE=SECONDS`` options as {move mark: seconds}; MOVE is a mark of data/drill.yaml
    ``simulate`` (step:sign, task:grid …) or its part after the colon (sign, grid …)."""
    from zhizhi.scenarios.fire import drill

    moves = [m.move for m in drill.default_drill_policy().simulate]
    out_: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        match = [m for m in moves if name.strip() in (m, m.split(":", 1)[1])]
        if not sep or len(match) != 1:
            fail(f'--delay "{item}": give MOVE=SECONDS with MOVE one of {", ".join(moves)}')
        try:
            secs = float(value)
        except ValueError:
            fail(f'--delay "{item}": "{value}" is not a number of seconds')
        if not 0 <= secs <= 86_400:
            fail(f'--delay "{item}": seconds must be 0-86400')
        out_[match[0]] = secs
    return out_


@fire_app.command("drill")
def fire_drill(
    town: str | None = typer.Option(
        None, "--town", metavar="CODE", help="start a drill in this town (12-digit NBS)"
    ),
    report_id: int | None = typer.Option(
        None, "--report", metavar="EVENT_ID", min=1, max=ID_MAX, help="show a drill's times"
    ),
    simulate: bool = typer.Option(
        False,
        "--simulate",
        help="the platform makes every move at once, timed on a simulated clock (no future times)",
    ),
    delay: list[str] = typer.Option(
        [],
        "--delay",
        metavar="MOVE=SECONDS",
        help="with --simulate: seconds from the previous move (the alarm, for the first) to MOVE, "
        "e.g. sign=50; repeatable",
    ),
    cap_file: Path | None = typer.Option(
        None, "--cap", metavar="FILE", help="write the CAP alert (Exercise)"
    ),
    as_json: bool = typer.Option(False, "--json", help="print JSON instead of the text report"),
) -> None:
    """Forest fire drill (森林火情实战演练): inject a simulated hotspot and time the response.

    --town CODE injects a simulated satellite hotspot at a point inside the town (its polygon's
    representative point) through the hotspot import, flagged as a drill: its 卫星热点核查 event (2207)
    never counts in KPIs or Open311, and its CAP alert (--cap) has status Exercise. The platform
    accepts, registers and dispatches the event to the town center and starts the response as
    `zhizhi fire respond` does: the pre-plan 森林火情处置预案 and, when the district has a fire team
    registered, the task 扑火队出动 for the nearest team's unit. Then, by default (live), people make
    the moves that time the nodes, from the alarm (the event's report time):

    \b
      接警签收 alarm seen       the town center signs (签收) the event: ≤ 1:00
      到达现场 on site          the grid's pre-plan task is done: ≤ 3:00
      扑火队出动 team out       the nearest team's task 扑火队出动 is done (without a team
                                registered: the town center's pre-plan task): ≤ 5:00
      火势控制 under control    处置反馈 (handle) of the event: timed

    and --report EVENT_ID shows the times so far. With --simulate the platform makes every move
    itself, at once, timed on a simulated clock (delays in fire/data/drill.yaml, --delay to change
    one), so the command ends at once with the full report. Each delay counts from the previous move,
    not from the alarm: --delay sign=50 puts 签收 50 s after 派遣 (dispatch), and every later move
    shifts too. No time is made up: the event's steps, tasks and times are the moments the platform
    made the moves (now, never in the future); the simulated clock is recorded beside them (a note
    演练模拟时钟 on the event, 模拟时钟 +m:ss in each move's comment) and the report's 用时 are on it,
    its clock times the real ones. Targets and delays are data (fire/data/drill.yaml).
    """
    from zhizhi.core.db import session_scope
    from zhizhi.event.service import system_actor
    from zhizhi.scenarios.fire import drill
    from zhizhi.scenarios.fire.service import drill as svc

    if (town is None) == (report_id is None):
        fail("give --town CODE to start a drill, or --report EVENT_ID to show one")
    if report_id is not None and (simulate or delay or cap_file):
        fail("--simulate, --delay and --cap go with --town, not --report")
    if delay and not simulate:
        fail("--delay needs --simulate")
    if town is not None and (len(town) != 12 or not town.isdigit()):
        fail(f'--town "{town}": give the town\'s 12-digit NBS code (e.g. 500118118000 朱沱镇)')
    delays = _delays(delay)

    def body() -> None:
        from zhizhi.core.config import get_settings

        with session_scope() as s:
            if town is not None:
                run_ = svc.start_drill(s, system_actor(town[:6]), town, simulate=simulate, delays=delays)
                mode = "模拟" if simulate else "实战"
                title = f"森林火情实战演练 事件 {run_.event_id}（{run_.town_name}，{mode}）"
                res, data = run_.result, run_.as_dict()
                if cap_file is not None:
                    cap_file.write_bytes(run_.cap_xml)
                    data["cap_file"] = str(cap_file)
            else:
                assert report_id is not None
                ev, res = svc.drill_report(s, system_actor(get_settings().district_code), report_id)
                title = svc.drill_title(s, ev)
                data = {"event_id": ev.id, "town_code": ev.town_code, "node": ev.node, **res.as_dict()}
        if as_json:
            out(data)
            return
        lines = drill.report_lines(res, title)
        if town is not None and not simulate:
            who = "网格员/护林员、镇街与扑火队所属单位" if res.team_task else "网格员/护林员与镇街"
            lines.append(
                f"下一步：镇街指挥中心签收事件 {data['event_id']}，{who}完成预案任务，"
                f"镇街处置反馈；进度：zhizhi fire drill --report {data['event_id']}"
            )
        typer.echo("\n".join(lines))

    run(body)
