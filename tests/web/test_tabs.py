"""The tabs of the phone page (/m) and the 一表通 page (/registry), shared as ZZ.tabs (zz.js), in a real
browser (Debian's chromium through Playwright): ←/→ move between the tabs as the WAI-ARIA tabs pattern
(wrapping round, focus follows, aria-selected and a roving tabIndex, only the selected tab's panel
shown) and a tab's loader runs when it is selected; the phone map's pin moves with the arrow keys and
fills the point (m_map.js)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.conftest import Console, Live, sign_in

pytestmark = pytest.mark.slow


def state(page: Any) -> list[tuple[str, str, int, bool]]:
    """Each tab's id, aria-selected, tabIndex and whether its panel is hidden."""
    return [
        tuple(x)
        for x in page.locator('[role="tab"]').evaluate_all(
            "ts => ts.map(t => [t.id, t.getAttribute('aria-selected'), t.tabIndex,"
            " document.getElementById(t.getAttribute('aria-controls')).hidden])"
        )
    ]


def only(selected: str, ids: list[str]) -> list[tuple[str, str, int, bool]]:
    return [(i, str(i == selected).lower(), 0 if i == selected else -1, i != selected) for i in ids]


def test_the_phone_tabs_follow_the_arrow_keys_and_load_their_lists(
    browser: Any, live_server: Live, console: Console
) -> None:
    page = sign_in(browser, live_server, console, "grid_worker", viewport={"width": 375, "height": 740})
    page.wait_for_selector("#r-map[data-ready]")
    ids = ["tab-report", "tab-tasks", "tab-area"]
    page.locator("#tab-report").focus()
    page.keyboard.press("ArrowRight")
    assert state(page) == only("tab-tasks", ids)
    assert page.evaluate("document.activeElement.id") == "tab-tasks"
    page.wait_for_selector("#tasks li")  # the loader ran
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")  # wraps round to the first
    assert state(page) == only("tab-report", ids)
    page.keyboard.press("ArrowLeft")  # and back to the last
    assert state(page) == only("tab-area", ids)
    page.wait_for_selector("#area li")
    page.keyboard.press("Enter")  # other keys do nothing
    assert state(page) == only("tab-area", ids)

    page.locator("#tab-report").click()
    assert page.get_by_label("经度").input_value() == ""
    page.locator("#r-map").focus()
    page.keyboard.press("ArrowUp")  # the pin appears mid-map, a 40th of the view north
    lon, lat = (float(page.get_by_label(x).input_value()) for x in ("经度", "纬度"))
    assert page.locator("#r-map [data-role=pin]").count() == 1 and lon and lat
    page.keyboard.press("ArrowRight")
    assert float(page.get_by_label("经度").input_value()) > lon
    assert float(page.get_by_label("纬度").input_value()) == pytest.approx(lat, abs=1e-6)


def test_the_registry_tabs_follow_the_arrow_keys_and_load_the_forms_once_chosen(
    browser: Any, live_server: Live, console: Console
) -> None:
    page = sign_in(browser, live_server, console, "town_duty", viewport={"width": 1280, "height": 900})
    page.goto("/registry")
    page.wait_for_selector("body[data-loaded]")
    ids = ["tab-residents", "tab-forms", "tab-import"]
    assert state(page) == only("tab-residents", ids)
    assert page.evaluate("document.body.dataset.forms") is None  # not loaded before it is chosen
    page.locator("#tab-residents").focus()
    page.keyboard.press("ArrowLeft")
    assert state(page) == only("tab-import", ids)
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert state(page) == only("tab-forms", ids)
    assert page.evaluate("document.activeElement.id") == "tab-forms"
    page.wait_for_selector("body[data-forms]")
