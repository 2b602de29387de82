"""Commands of the fire scenario: ``zhizhi fire …``, one module per subject.

``common`` holds the group (``fire_app``) and the shared helpers; importing the modules below
registers their commands on it, in this order (``zhizhi fire --help`` lists them so).
"""

from zhizhi.scenarios.fire.cli.common import fire_app

# isort: off
from zhizhi.scenarios.fire.cli import fwi, danger, ratings, hotspots, bulletin, drill  # noqa: F401
from zhizhi.scenarios.fire.cli import kpis, resources, response, hazards  # noqa: F401
# isort: on

__all__ = ["fire_app"]
