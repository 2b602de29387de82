"""Event use cases (事件): report, move along the loop, route, merge, supervise, pre-plans.

Every state change goes through :func:`transition`, which checks the role and node
(:mod:`zhizhi.event.rules`), the actor's data scope (:mod:`zhizhi.core.access`) and the optimistic lock,
appends a timeline row with the time used against the node's limit, and sets the next node's deadline
from the category catalogue (立结案标准). :func:`add_note` appends a note (备注) that moves nothing.
This package re-exports the public use cases.
"""

from zhizhi.event.service.attachments import add_attachment, check_open_for_attachments
from zhizhi.event.service.common import (
    SYSTEM,
    _parse_limit,
    catalogue,
    system_actor,
    validate_category,
)
from zhizhi.event.service.loop import merge, reply_supervision, transition
from zhizhi.event.service.notes import add_note
from zhizhi.event.service.preplan import (
    complete_task,
    ensure_preplans,
    list_tasks,
    shipped_preplans,
    start_preplan,
)
from zhizhi.event.service.read import (
    EventFilter,
    confidential_codes,
    confidential_condition,
    detail,
    get_event,
    list_events,
    scoped,
    to_read,
)
from zhizhi.event.service.report import create_event
from zhizhi.event.service.routing import (
    Router,
    add_routing_rule,
    delete_routing_rule,
    invalidate_routing,
    route,
    router_for,
)

__all__ = [
    "SYSTEM",
    "EventFilter",
    "Router",
    "_parse_limit",
    "add_attachment",
    "add_note",
    "add_routing_rule",
    "catalogue",
    "check_open_for_attachments",
    "complete_task",
    "confidential_codes",
    "confidential_condition",
    "create_event",
    "delete_routing_rule",
    "detail",
    "ensure_preplans",
    "get_event",
    "invalidate_routing",
    "list_events",
    "list_tasks",
    "merge",
    "reply_supervision",
    "route",
    "router_for",
    "scoped",
    "shipped_preplans",
    "start_preplan",
    "system_actor",
    "to_read",
    "transition",
    "validate_category",
]
