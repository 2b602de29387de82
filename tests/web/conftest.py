"""Web test fixtures: a real server (uvicorn in a thread, free loopback port) on its own fresh SQLite
file with Yongchuan loaded and users who sign in with passwords, and Debian's chromium driven by
Playwright (never a downloaded browser).

The server does not use the suite's shared database (``engine`` fixture, PostgreSQL on the second
pass): browser flows commit through real HTTP and need their own. Users are GENERATED test accounts
(names say so) attached to real Yongchuan units; passwords are made up.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine

from zhizhi.core.config import get_settings
from zhizhi.core.db import make_engine, session_factory
from zhizhi.core.migrate import upgrade

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
HOME = (105.898213, 29.352365)  # 中山路社区 (500118001001): a real village point, town 500118001000
TOWN = "500118001000"
PASSWORD = "测试口令-web-2026"


@pytest.fixture(autouse=True)
def _fresh_summaries() -> Iterator[None]:
    """Each test starts without cached screen summaries (the suite empties tables behind the cache's
    back, without the change notices that drop its entries)."""
    from zhizhi.web.cache import MONTHS, SUMMARIES

    SUMMARIES.clear()
    MONTHS.clear()
    yield
    SUMMARIES.clear()
    MONTHS.clear()


@dataclass
class Live:
    """The running server: its base URL, engine and the test users (role → username)."""

    url: str
    engine: Engine
    users: dict[str, str]
    grid: str
    other_grid: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    if os.environ.get("ZHIZHI_TEST_DATABASE_URL"):
        pytest.skip("the real-server tests run on the SQLite pass only (they use their own SQLite file)")
    import uvicorn

    from zhizhi.auth import service as auth
    from zhizhi.org import service as org

    tmp = tmp_path_factory.mktemp("web")
    saved = {
        k: os.environ.get(k)
        for k in ("ZHIZHI_DATA_DIR", "ZHIZHI_SWEEP_INTERVAL_S", "ZHIZHI_LOGIN_PER_MINUTE")
    }
    os.environ.update(
        {
            "ZHIZHI_DATA_DIR": str(tmp / "data"),
            "ZHIZHI_SWEEP_INTERVAL_S": "0",
            "ZHIZHI_LOGIN_PER_MINUTE": "600",  # several sign-ins a minute from 127.0.0.1
        }
    )
    get_settings.cache_clear()
    engine = make_engine(f"sqlite:///{tmp / 'web.db'}")
    upgrade(engine)
    with session_factory(engine)() as s:
        org.load_district(s, "500118", with_staff=False)
        loc = org.locator(s).locate(*HOME)
        grid = str(loc.grid_code)
        other = org.locator(s).locate(105.95, 29.30).grid_code  # a grid of another town
        users = {
            "grid_worker": ("web.worker", "网格员(测试生成)", "grid_worker", grid),
            "other_worker": ("web.worker2", "另一网格员(测试生成)", "grid_worker", str(other)),
            "town_duty": ("web.duty", "镇街值班员(测试生成)", "town_duty", f"{TOWN}-ZHZX"),
            "board_staff": ("web.handler", "民生板块处置人(测试生成)", "board_staff", f"{TOWN}-MS"),
            "leader": ("web.leader", "区领导(测试生成)", "leader", "500118-CYZX"),
            "center_duty": ("web.center", "城运中心值班员(测试生成)", "center_duty", "500118-CYZX"),
        }
        for username, name, role, unit in users.values():
            auth.add_user(s, username, name, role, unit, PASSWORD)
        s.commit()
    from zhizhi.app import create_app

    config = uvicorn.Config(
        create_app(engine),
        host="127.0.0.1",
        port=_free_port(),
        log_level="warning",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{config.port}"
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise AssertionError("the test server did not start")
        time.sleep(0.05)
    assert httpx.get(url + "/healthz", timeout=5).status_code == 200
    yield Live(url, engine, {k: v[0] for k, v in users.items()}, grid, str(other))
    server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's chromium through Playwright; the tests are skipped, saying why, when either is missing."""
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium); browser tests skipped")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (Python package) not installed")
    with sync_api.sync_playwright() as p:
        # as root (CI containers) chromium refuses to start without --no-sandbox
        args = ["--no-sandbox"] if os.geteuid() == 0 else []
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        yield b
        b.close()


class Console:
    """Console errors and uncaught exceptions of every page of a browser context."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.contexts: list[Any] = []

    def watch(self, page: Any) -> Any:
        page.on(
            "console", lambda m: self.errors.append(f"{page.url}: {m.text}") if m.type == "error" else None
        )
        page.on("pageerror", lambda e: self.errors.append(f"{page.url}: uncaught {e}"))
        return page


@pytest.fixture
def console() -> Iterator[Console]:
    """Collects every page's console errors; the test fails if there are any."""
    c = Console()
    yield c
    for ctx in c.contexts:  # close the pages (and their live streams) before the server stops
        ctx.close()
    assert c.errors == [], "pages logged console errors"


def sign_in(browser: Any, live: Live, console: Console, role: str, **context: Any) -> Any:
    """A new browser context signed in as the test user of ``role`` through the sign-in form."""
    ctx = browser.new_context(base_url=live.url, locale="zh-CN", **context)
    console.contexts.append(ctx)
    page = console.watch(ctx.new_page())
    page.goto("/login")
    page.get_by_label("用户名").fill(live.users[role])
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(lambda u: "/login" not in u)
    return page


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where screenshots go (``test-artifacts/web``, ignored by git)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
