"""Commands of the fire scenario: ``zhizhi fire …``, one module per subject.

``common`` holds the group (``fire_app``) and the shared helpers; importing the modules below
registers their commands on it, in this order (``zhizhi fire --help`` lists them so).
"""

from zhizhi.scenarios.fire.cli.common import fire_app

# isort: off
from zhizhi.scenarios.fire.cli import fwi, danger, hotspots, bulletin, drill, kpis, resources, hazards  # noqa: F401, E501
# isort: on

__all__ = ["fire_app"]
