"""Pydantic models of the fire scenario: hotspot policy (``data/hotspots.yaml``), known static heat
sources (``data/static_sources.yaml``), import summaries and cluster views."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from zhizhi.scenarios.fire.resource_schemas import RespondRead

# --- hotspot policy (data/hotspots.yaml) ------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class HotspotArea(_Strict):
    """Which detections concern the loaded districts."""

    buffer_km: float = Field(
        ge=0, le=100, description="kept within this distance outside a loaded district, km"
    )


class HotspotClustering(_Strict):
    """Same-fire linking (see hotspots.cluster_labels)."""

    gap_km: float = Field(ge=0, le=50, description="link distance beyond the pixel half-diagonals, km")
    window_h: float = Field(gt=0, le=24 * 30, description="largest time between linked detections, h")


class HotspotVerification(_Strict):
    """The verification (核查) deadline of a new cluster."""

    deadline_h: float = Field(gt=0, le=72, description="hours from the alert to a recorded outcome")
    live_max_age_h: float = Field(
        default=48,
        gt=0,
        description="a cluster whose newest detection is older than this at import opens no event "
        "(an archive file, not a fire to check now); it is kept and counted as historical",
    )


class HotspotStatic(_Strict):
    """Persistent-location proposals (see hotspots.static_candidates)."""

    radius_km: float = Field(gt=0, le=10)
    min_days: int = Field(ge=2, le=366)
    min_span_days: int = Field(ge=0, le=3660)
    lookback_days: int = Field(ge=1, le=3660)
    min_radius_m: float = Field(ge=0, le=20_000, description="smallest radius of a proposed source, m")


StaticKind = Literal[
    "power_plant", "steel", "cement", "kiln", "chemical", "refinery", "landfill", "industrial", "other"
]
"""Kinds of static heat source (固定热源类型). ``industrial`` (工业热源): industrial, type not yet
known — what a 工业热源 verification proposes until a person names the plant's type."""


class HotspotOutcome(_Strict):
    """One verification outcome (核查结论). ``keeps_cluster_open``: later detections still join the
    cluster (a real fire may go on burning); otherwise a later detection there is a new fire and opens
    a new event. ``proposes_static``: recording it proposes a static heat source at the cluster, of
    kind ``static_kind`` (:data:`StaticKind`; ``other`` unless the outcome names one)."""

    key: str = Field(pattern=r"^[a-z][a-z_]*$", max_length=16)
    name: str = Field(min_length=1, max_length=16)
    description: str = ""
    keeps_cluster_open: bool = False
    proposes_static: bool = False
    static_kind: StaticKind = "other"


class HotspotConfig(_Strict):
    """The hotspot policy, as shipped in ``data/hotspots.yaml``."""

    version: Literal[1]
    area: HotspotArea
    clustering: HotspotClustering
    verification: HotspotVerification
    static: HotspotStatic
    outcomes: list[HotspotOutcome] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_outcomes(self) -> HotspotConfig:
        for attr in ("key", "name"):
            seen = [getattr(o, attr) for o in self.outcomes]
            dup = sorted({v for v in seen if seen.count(v) > 1})
            if dup:
                raise ValueError(f"outcome {attr}s must be unique, repeated: {', '.join(dup)}")
        return self

    def outcome(self, key_or_name: str) -> HotspotOutcome:
        """The outcome with this key or Chinese name; raises ValueError listing the valid ones."""
        v = key_or_name.strip()
        for o in self.outcomes:
            if v in (o.key, o.name):
                return o
        valid = " / ".join(f"{o.name} ({o.key})" for o in self.outcomes)
        raise ValueError(f'unknown outcome "{v}"; one of: {valid}')


# --- known static heat sources (data/static_sources.yaml) ------------------------------------------


class StaticSourceEntry(_Strict):
    """A known static heat source (固定热源: factory, kiln, power plant) whose detections are snoozed.

    Give a point (``lon``/``lat``, WGS-84) with ``radius_m``, or a ``polygon`` ([[lon, lat], ...],
    WGS-84, closed or not) optionally widened by ``radius_m``. ``source`` says where the location comes
    from; ``snoozed_until`` (a date, Beijing time) is the snooze's last day (inclusive), none means
    until removed."""

    name: str = Field(min_length=1, max_length=100)
    kind: StaticKind
    lon: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)
    polygon: list[tuple[float, float]] | None = Field(default=None, min_length=3)
    radius_m: float = Field(default=0.0, ge=0, le=20_000)
    reason: str = ""
    source: str = Field(min_length=1)
    snoozed_until: date | None = None

    @model_validator(mode="after")
    def _where(self) -> StaticSourceEntry:
        point = self.lon is not None and self.lat is not None
        if point == (self.polygon is not None):
            raise ValueError("give either lon and lat (with radius_m) or a polygon")
        if point and self.radius_m <= 0:
            raise ValueError("a point source needs radius_m > 0")
        for lon, lat in self.polygon or []:
            if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                raise ValueError(f"polygon vertex {lon}, {lat} is not WGS-84 lon/lat")
        return self


class StaticSourceList(_Strict):
    """``data/static_sources.yaml``: ``version`` and the ``sources`` list (may be empty)."""

    version: Literal[1]
    sources: list[StaticSourceEntry] = Field(default_factory=list)


# --- results -----------------------------------------------------------------------------------------


class HotspotEventRef(BaseModel):
    """An event opened for a cluster: ``role`` primary (where the fire is) or neighbour (邻区通报)."""

    event_id: int
    cluster_id: int
    role: Literal["primary", "neighbour"]
    district_code: str
    town_code: str | None
    grid_code: str | None


class HotspotImportSummary(BaseModel):
    """What one ``zhizhi fire hotspots import`` did.

    rows_read = parsed + bad_rows; parsed = out_of_area + in_area; in_area = dropped_type +
    duplicates + snoozed + new. ``duplicates`` were stored by an earlier import (or earlier in this
    file) and open nothing; ``upgraded`` of them were NRT rows now replaced by standard values;
    ``same_pass`` of them were merged into a better row of the same satellite pass (overlapping scans,
    hotspots.same_pass_best: the higher confidence, then FRP, then the first row is stored).
    """

    file: str
    import_id: int
    instrument: str
    drill: bool
    rows_read: int
    parsed: int
    bad_rows: int
    out_of_area: int
    in_area: int
    dropped_type: int
    duplicates: int
    same_pass: int = 0
    upgraded: int
    snoozed: int
    new: int
    clusters: int
    clusters_new: int
    clusters_updated: int
    clusters_historical: int = 0
    events_opened: int
    events_updated: int
    neighbour_alerts: int
    static_proposed: int
    events: list[HotspotEventRef] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list, description="bad rows skipped (with --skip-bad-rows)")


ClusterVerification = Literal["awaiting", "verified", "historical", "drill_ended"]
"""The verification states of a cluster (:class:`ClusterRead` ``verification``)."""


def is_historical(drill: bool, event_id: int | None) -> bool:
    """Whether a cluster is historical (历史热点): a real cluster that opened no event, which happens
    only to a new cluster whose newest detection was older than ``verification.live_max_age_h`` at
    import (service/hotspots.py, counted as ``clusters_historical``). Every other new cluster opens
    its primary event in the same import, and a historical one never grows (only open clusters take
    new detections)."""
    return not drill and event_id is None


class ClusterRead(BaseModel):
    """A hotspot cluster (热点簇) as shown to people; times are aware UTC (shown in Beijing time).

    ``verification`` (核查状态), whether an outcome is still awaited: ``awaiting`` (待核查; overdue,
    核查逾期, once ``verify_due_at`` has passed), ``verified`` (an outcome is recorded), ``historical``
    (an archive detection imported after ``verification.live_max_age_h``: it opened no event and
    nobody is asked to verify it, so ``verify_due_at`` is None) or ``drill_ended`` (a drill cluster
    without an outcome whose drill event has ended: set by the cluster views, service/clusters.py).
    Only ``awaiting`` is pending or overdue, anywhere."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    district_code: str
    lon: float
    lat: float
    first_seen: datetime
    last_seen: datetime
    n_detections: int
    max_frp: float
    max_confidence: int
    event_id: int | None
    opened_at: datetime
    verify_due_at: datetime | None
    outcome: str | None
    outcome_note: str
    verified_at: datetime | None
    verified_by: str | None
    verified_on_time: bool | None
    drill: bool
    verification: ClusterVerification = "awaiting"

    @model_validator(mode="after")
    def _verification(self) -> ClusterRead:
        if self.outcome is not None:
            self.verification = "verified"
        elif is_historical(self.drill, self.event_id):
            self.verification = "historical"
        if is_historical(self.drill, self.event_id):
            self.verify_due_at = None  # no live verification was asked for: no deadline to miss
        return self

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class ClusterAlertRead(BaseModel):
    """An event opened for a cluster in one district (``role`` primary or neighbour 邻区通报).
    ``event_id`` is None when that event is outside the caller's scope."""

    district_code: str
    role: str
    event_id: int | None
    distance_m: float


class HotspotRead(BaseModel):
    """One stored detection (卫星热点); ``acq_at`` aware UTC; brightness K, scan/track km, FRP MW."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    cluster_id: int | None
    status: str
    snooze_reason: str | None
    lon: float
    lat: float
    acq_at: datetime
    instrument: str
    satellite: str
    version: str
    nrt: bool
    confidence: int
    confidence_class: str
    frp: float
    scan: float
    track: float
    daynight: str
    fire_type: int | None
    district_code: str
    distance_m: float
    drill: bool


class ClusterView(ClusterRead):
    """A cluster with the town and grid of its primary event and its alerts; with ``hotspots`` (its
    detections, oldest first) when one cluster is read. ``fire_event_id``: the 森林火情 (2206) event
    opened when it was verified as 真实火情 (its 2207 check event is merged into it), when in the
    caller's scope; None otherwise."""

    town_code: str | None = None
    grid_code: str | None = None
    fire_event_id: int | None = None
    alerts: list[ClusterAlertRead] = Field(default_factory=list)
    hotspots: list[HotspotRead] | None = None


class VerifyRead(ClusterView):
    """The answer to a verification: the cluster, and for 真实火情 the 森林火情 event opened
    (``fire_event_id``) with the response started on it by policy (``response``: its tasks, the
    nearest team's first) or why it could not start (``response_note``); both None when the policy
    leaves the response to the one click (``hint``). On a historical cluster an outcome is recorded
    for the record only: 真实火情 opens no event and ``response_note`` says so."""

    response: RespondRead | None = None
    response_note: str | None = None
    hint: str | None = None


class VerifyIn(BaseModel):
    """A verification outcome (核查结论) by key or Chinese name, what was found on site, and
    optionally who checked on site (``by``, 核查人; default: the signed-in user), as the CLI's
    ``--by``."""

    model_config = ConfigDict(extra="forbid")

    outcome: str = Field(min_length=1, max_length=40)
    note: str = Field(default="", max_length=2000)
    by: str | None = Field(default=None, max_length=64, description="the on-site verifier (核查人)")


class StaticSourceRead(BaseModel):
    """A static heat source (固定热源) as stored; ``snoozed_until`` aware UTC or None."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: str
    district_code: str | None
    lon: float
    lat: float
    radius_m: float
    status: str
    origin: str
    reason: str
    cluster_id: int | None
    distinct_days: int | None
    snoozed_until: datetime | None
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None


class StaticDecisionIn(BaseModel):
    """Accepting a proposed static heat source: snooze its detections through ``until`` (a date,
    Beijing time, inclusive: snoozed to the end of that day; none = until retired)."""

    model_config = ConfigDict(extra="forbid")

    until: date | None = None


# --- daily fire danger ratings (森林火险等级) ---------------------------------------------------------


class FWIValues(BaseModel):
    """The FWI System components of a day (None without noon weather)."""

    ffmc: float | None = None
    dmc: float | None = None
    dc: float | None = None
    isi: float | None = None
    bui: float | None = None
    fwi: float | None = None
    dsr: float | None = None


class DangerRatingRead(BaseModel):
    """The danger rating of one town or grid on one day: the HTZ level 1-5 with its label (一级),
    name (较高火险), colour name and ``#RRGGBB`` colour, HTZ and its factor scores, the FWI
    components of the station, its 5-level scale and EFFIS class, and the nearest station used
    with its straight-line distance (km)."""

    date: date
    unit_code: str
    unit_level: Literal["town", "grid"]
    unit_name: str
    district_code: str
    town_code: str | None
    level: int
    label: str
    name: str
    colour_name: str
    colour: str
    htz: float
    scores: dict[str, float]
    fwi: FWIValues
    fwi_level: int | None
    effis_class: int | None
    station: str
    distance_km: float
    computed_at: datetime
    source_file: str


class StationRatingRead(BaseModel):
    """A station's rating on the day rated: its inputs (wind m/s and Beaufort force), consecutive
    dry days (``dry_days_open``: the file starts inside the dry spell, the count may be larger),
    HTZ, level, factor scores, FWI and where the FWI chain started (``startup`` or ``stored
    YYYY-MM-DD``), and how many towns and grids it rates."""

    station: str
    lon: float
    lat: float
    line: int
    tmax: float
    rh_min: float
    rain: float
    wind_ms: float
    wind_force: int
    dry_days: int
    dry_days_open: bool
    htz: float
    level: int
    scores: dict[str, float]
    fwi: FWIValues
    fwi_start: str | None
    towns: int = 0
    grids: int = 0


class DangerRunSummary(BaseModel):
    """What one ``zhizhi fire danger`` run did: the day, the file, the stations rated and skipped
    (no row for the day), the towns and grids rated (each from its nearest station) or left
    unrated (farther than ``max_km``), the rows of that day it replaced, town counts per level,
    the towns' ratings, and the warnings about the input."""

    run_id: int
    date: date
    file: str
    wind_unit: str
    computed_at: datetime
    stations: list[StationRatingRead]
    stations_skipped: list[str]
    towns: int
    grids: int
    unrated: int
    replaced: int
    max_distance_km: float
    town_levels: dict[int, int]
    town_ratings: list[DangerRatingRead]
    warnings: list[str] = Field(default_factory=list)
    """Plausibility warnings (windcheck.py): implausible wind or wind in the wrong unit, towns rated
    from a far station; the run is stored all the same."""
    rh_clamped: int = 0
    """RH values (rh_min, rh) in (100, 101] % read as 100 (``--clamp-rh``, sensor rounding)."""
