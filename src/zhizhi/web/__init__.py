"""The web front end (页面): big screen ``/screen``, duty console ``/console``, grid-worker phone page
``/m`` and ``/login``, served by the application itself (Jinja2 templates, small scripts, ECharts
vendored under ``static/vendor``: no CDN, no build step), plus the API they need beyond the domains'
(``/api/v1/screen/summary``, the live stream ``/api/v1/stream``). See docs/domains/web.md.

``app.py`` includes :data:`router` and mounts :func:`static_files` at :data:`STATIC_PATH`.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.staticfiles import StaticFiles

from zhizhi.web import api, pages

STATIC_PATH = "/static/web"
router = APIRouter()
router.include_router(pages.router)
router.include_router(api.router)


def static_files() -> StaticFiles:
    """The pages' stylesheets, scripts and vendored libraries (``web/static``)."""
    return StaticFiles(directory=pages.STATIC_DIR)


__all__ = ["STATIC_PATH", "router", "static_files"]
