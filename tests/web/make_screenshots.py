"""Screenshots for the README (run by hand): the big screen, the duty console and the phone page, taken
in Debian's chromium from the real replayed citizen messages.

    .venv/bin/python tests/web/make_screenshots.py            # writes docs/img/*.png
    .venv/bin/python tests/web/make_screenshots.py --out /tmp/shots --day 2018-12-25 --db /tmp/shots.db

What it does, in a temporary folder removed afterwards (nothing touches var/zhizhi.db):

1. a fresh SQLite database migrated to head, Yongchuan loaded (generated boundaries, flagged so);
2. all 2,816 real messages of ``event/data/teddycup2020c_messages_replies.csv`` replayed through the
   loop (``zhizhi.event.replay``: real text, real message and reply times; GENERATED categories,
   locations and intermediate node times, flagged so on the timeline);
3. three GENERATED accounts (a district leader, a district duty officer, the grid worker of the grid
   with the most replayed messages) and the application served on a free loopback port;
4. ``/screen?as_of=<day>`` (default 2018-11-14, the day with the most messages) at 1920×1080, the
   ``/console`` queue at 1366×768 and the phone page's "本网格事件" tab at 375×812, each saved as a
   PNG under ``--out`` (the screen scaled by ``--scale``, default 2/3, to keep each file small).
   Each file's size is printed; a file over 300 KB is reported.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "截图-generated-2026"
LIMIT_BYTES = 300 * 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(db: Path) -> tuple[object, str]:
    """The database with the replayed messages and the accounts (made unless ``db`` has them from an
    earlier run); returns (engine, busiest grid)."""
    from sqlalchemy import func, select

    from zhizhi.auth import service as auth
    from zhizhi.core.db import make_engine, session_factory
    from zhizhi.core.migrate import upgrade
    from zhizhi.event import replay
    from zhizhi.event.models import Event
    from zhizhi.org import service as org
    from zhizhi.org.models import Staff

    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    with session_factory(engine)() as s:
        if not org.is_loaded(s, "500118"):
            org.load_district(s, "500118", with_staff=False)
            s.commit()
        t = time.perf_counter()
        done = replay.replay(s, "500118")  # skips what an earlier run replayed
        s.commit()
        print(f"replayed {done['replayed']:,} real messages in {time.perf_counter() - t:.0f} s")
        grid = s.execute(
            select(Event.grid_code, func.count()).group_by(Event.grid_code).order_by(func.count().desc())
        ).first()
        assert grid is not None
        for username, name, role, unit in (
            ("shot.leader", "区领导(生成)", "leader", "500118-CYZX"),
            ("shot.center", "城运中心值班员(生成)", "center_duty", "500118-CYZX"),
            ("shot.worker", "网格员(生成)", "grid_worker", str(grid[0])),
        ):
            if s.scalar(select(Staff).where(Staff.username == username)) is None:
                auth.add_user(s, username, name, role, unit, PASSWORD)
        s.commit()
    return engine, str(grid[0])


def shoot(url: str, out: Path, day: str, scale: float) -> list[Path]:
    """The three screenshots; returns their paths."""
    from playwright.sync_api import sync_playwright

    files = []
    errors: list[str] = []
    with sync_playwright() as p:
        args = ["--no-sandbox"] if os.geteuid() == 0 else []
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)

        def context(username: str, **kw: object) -> object:
            ctx = browser.new_context(base_url=url, locale="zh-CN", **kw)  # type: ignore[arg-type]
            r = ctx.request.post("/api/v1/auth/login", data={"username": username, "password": PASSWORD})
            assert r.ok, r.text()
            page = ctx.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            return page

        screen = context("shot.leader", viewport={"width": 1920, "height": 1080}, device_scale_factor=scale)
        screen.goto(f"/screen?as_of={day}")  # type: ignore[attr-defined]
        screen.wait_for_selector("body[data-painted]")  # type: ignore[attr-defined]
        time.sleep(1.5)  # let the chart animations finish
        files.append(out / "screen.png")
        screen.screenshot(path=str(files[-1]))  # type: ignore[attr-defined]

        console = context("shot.center", viewport={"width": 1366, "height": 768})
        console.goto("/console?state=all")  # type: ignore[attr-defined]  (the replay closed them all)
        console.wait_for_selector("body[data-loaded]")  # type: ignore[attr-defined]
        files.append(out / "console.png")
        console.screenshot(path=str(files[-1]))  # type: ignore[attr-defined]

        phone = context(
            "shot.worker", viewport={"width": 375, "height": 812}, is_mobile=True, has_touch=True,
            device_scale_factor=1,
        )  # fmt: skip
        phone.goto("/m")  # type: ignore[attr-defined]
        phone.get_by_role("tab", name="本网格事件").click()  # type: ignore[attr-defined]
        phone.wait_for_selector("#area li[data-id]")  # type: ignore[attr-defined]
        files.append(out / "m.png")
        phone.screenshot(path=str(files[-1]))  # type: ignore[attr-defined]
        browser.close()
    if errors:
        print("console errors:", *errors, sep="\n  ")
    return files


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "img")
    ap.add_argument("--day", default="2018-11-14", help="the replayed day the big screen shows")
    ap.add_argument("--scale", type=float, default=2 / 3, help="device scale of the 1920×1080 screen shot")
    ap.add_argument("--db", type=Path, help="keep the prepared database in this file (reused next time)")
    a = ap.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"error: {CHROMIUM} is not installed (apt-get install chromium)", file=sys.stderr)
        return 2
    a.out.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="zhizhi-shots-"))
    os.environ.update({"ZHIZHI_DATA_DIR": str(folder / "data"), "ZHIZHI_SWEEP_INTERVAL_S": "0"})
    os.environ["ZHIZHI_LOGIN_PER_MINUTE"] = "600"
    try:
        import uvicorn

        from zhizhi.app import create_app
        from zhizhi.core.config import get_settings

        get_settings.cache_clear()
        engine, grid = prepare(a.db or folder / "shots.db")
        print(f"phone page: the grid worker of {grid}")
        config = uvicorn.Config(create_app(engine), host="127.0.0.1", port=free_port(), log_level="warning")  # type: ignore[arg-type]
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        try:
            files = shoot(f"http://127.0.0.1:{config.port}", a.out, a.day, a.scale)
        finally:
            server.should_exit = True
            thread.join(timeout=10)
        big = False
        for f in files:
            size = f.stat().st_size
            big |= size > LIMIT_BYTES
            print(f"{f}  {size / 1024:.0f} KB{'  (over 300 KB)' if size > LIMIT_BYTES else ''}")
        return 1 if big else 0
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
