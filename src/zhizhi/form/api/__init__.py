"""HTTP routes of the form domain (报表): the shipped forms and their xlsx render (:mod:`.render`), the
catalogue, form tasks, answers, completion, demands outside the catalogue and burden statistics
(:mod:`.task`), and, for now, the data quality of the registers (:mod:`.quality`, ``/api/v1/registry/
quality``: it belongs with the registry's routes and moves there with one include line).

The shipped definitions are loaded and checked when this package is imported, so the web app does
not start with a form whose definition is invalid (the error names the file and the field).
"""

from __future__ import annotations

from fastapi import APIRouter

from zhizhi.form import service
from zhizhi.form.api import quality, render, task

service.catalogue()  # refuse to start with an invalid definition (FormDefinitionError: file, field)

router = APIRouter()
router.include_router(render.router)
router.include_router(task.router)
router.include_router(quality.router)

__all__ = ["router"]
