"""Fire scenario use cases (森林防灭火). This package re-exports the public ones, so
``from zhizhi.scenarios.fire import service`` keeps working:

* ``hotspots`` — import NASA FIRMS files, place, snooze, cluster and alert (卫星热点);
* ``static`` — static heat sources (固定热源): proposals and decisions;
* ``verification`` — verification outcomes of clusters (核查结论), a real fire's 森林火情 event and its
  automatic response;
* ``danger`` — daily fire danger ratings per town and grid (森林火险等级);
* ``config`` — the hotspot policy data.

Services flush, never commit: the caller (the CLI's session scope or a request) commits.
"""

from zhizhi.scenarios.fire.service.clusters import (
    list_clusters,
    list_hotspots,
    list_static_sources,
    read_cluster,
)
from zhizhi.scenarios.fire.service.config import (
    CATEGORY,
    hotspot_config,
    load_hotspot_config,
    load_static_sources,
    static_sources,
)
from zhizhi.scenarios.fire.service.danger import (
    danger_geojson,
    latest_rated_day,
    level_label,
    list_ratings,
    rate_danger,
    rating_read,
)
from zhizhi.scenarios.fire.service.hotspots import import_bytes, import_file, place
from zhizhi.scenarios.fire.service.static import add_static_source, decide_static_source
from zhizhi.scenarios.fire.service.verification import (
    VerifyResult,
    cluster_read,
    fire_event_id,
    get_cluster,
    record_outcome,
    verify_cluster,
)

__all__ = [
    "CATEGORY",
    "VerifyResult",
    "add_static_source",
    "cluster_read",
    "danger_geojson",
    "decide_static_source",
    "fire_event_id",
    "get_cluster",
    "hotspot_config",
    "import_bytes",
    "import_file",
    "latest_rated_day",
    "level_label",
    "list_clusters",
    "list_hotspots",
    "list_ratings",
    "list_static_sources",
    "load_hotspot_config",
    "load_static_sources",
    "place",
    "rate_danger",
    "rating_read",
    "read_cluster",
    "record_outcome",
    "static_sources",
    "verify_cluster",
]
