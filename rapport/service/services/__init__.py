"""Every write of the customer service app (`<entity>_<verb>(*, actor, …)`)."""

from .assignment import (
    agent_profile_update,
    queue_distribute,
    queue_settings_update,
    ticket_auto_assign,
)
from .calendars import (
    calendar_create,
    calendar_day_remove,
    calendar_day_set,
    calendar_update,
)
from .categories import category_create, category_update
from .complaints import (
    complaint_cause_create,
    complaint_cause_set_active,
    complaint_cause_update,
    complaint_update,
    complaints_redact,
)
from .merging import ticket_merge, ticket_split
from .sla_policies import sla_policy_create, sla_policy_update
from .tickets import (
    ticket_assign,
    ticket_attachment_downloaded,
    ticket_create,
    ticket_message_add,
    ticket_message_receive,
    ticket_set_status,
    ticket_update,
    tickets_redact,
)

__all__ = [
    "agent_profile_update",
    "queue_distribute",
    "queue_settings_update",
    "ticket_auto_assign",
    "calendar_create",
    "calendar_day_remove",
    "calendar_day_set",
    "calendar_update",
    "category_create",
    "category_update",
    "complaint_cause_create",
    "complaint_cause_set_active",
    "complaint_cause_update",
    "complaint_update",
    "complaints_redact",
    "sla_policy_create",
    "sla_policy_update",
    "ticket_assign",
    "ticket_attachment_downloaded",
    "ticket_create",
    "ticket_merge",
    "ticket_message_add",
    "ticket_message_receive",
    "ticket_set_status",
    "ticket_split",
    "ticket_update",
    "tickets_redact",
]
