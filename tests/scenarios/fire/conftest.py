"""Fixtures of the fire tests.

The real FIRMS files are archives (2022, 2023, 2025): by the shipped policy a detection older than
``verification.live_max_age_h`` (48 h) opens no live verification event. Most tests exercise the
event path with those real files, so they run with the age rule lifted; tests whose name contains
``historical`` run with the shipped policy.
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _real_archive_files_count_as_live(
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    if "historical" in request.node.name:
        return
    from zhizhi.scenarios.fire.service import config
    from zhizhi.scenarios.fire.service import hotspots as h

    cfg = config.hotspot_config()
    lifted = cfg.model_copy(
        update={"verification": cfg.verification.model_copy(update={"live_max_age_h": 1e9})}
    )
    monkeypatch.setattr(h, "hotspot_config", lambda: lifted)
