from functools import cache

from rapport.core.notifications import selectors as notifications
from rapport.identity import policy


def navigation(request):
    """What the navigation shows depends on the user's grants."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        # Counted only if the page shows the bell, once however often it is asked for.
        "unread_notifications": cache(lambda: notifications.unread_count(user)),
        "nav": {
            "accounts": policy.has_grant(user, "customers.account", "view"),
            "contacts": policy.has_grant(user, "customers.contact", "view"),
            "tasks": policy.has_grant(user, "customers.interaction", "view"),
            "users": policy.has_grant(user, "identity.user", "manage"),
            "roles": policy.has_grant(user, "identity.role", "view"),
            "tags": policy.has_grant(user, "core.tag", "manage"),
            "audit": policy.has_grant(user, "audit.event", "view"),
            "alerts": policy.has_grant(user, "audit.alert", "view"),
            "automation": policy.has_grant(user, "automation.rule", "manage"),
            "backups": policy.has_grant(user, "dataops.backup", "manage"),
            "privacy": policy.has_grant(user, "dataops.subjectrequest", "view"),
            "retention": policy.has_grant(user, "dataops.retention", "manage"),
            "quality_rules": policy.has_grant(user, "dataops.quality", "manage"),
            "calendars": policy.has_grant(user, "service.calendar", "manage"),
            "tickets": policy.has_grant(user, "service.ticket", "view"),
            "knowledge": policy.has_grant(user, "service.article", "view"),
            "satisfaction": policy.has_grant(user, "service.survey", "view"),
            "ticket_categories": policy.has_grant(user, "service.ticketcategory", "manage"),
            "sla_policies": policy.has_grant(user, "service.slapolicy", "manage"),
            "complaint_causes": policy.has_grant(user, "service.complaintcause", "manage"),
            "service_queues": policy.has_grant(user, "service.queue", "manage"),
            "article_categories": policy.has_grant(user, "service.article", "manage"),
            "leads": policy.has_grant(user, "sales.lead", "view"),
            "opportunities": policy.has_grant(user, "sales.opportunity", "view"),
            "quotes": policy.has_grant(user, "sales.quote", "view"),
            "orders": policy.has_grant(user, "sales.order", "view"),
            "invoices": policy.has_grant(user, "sales.invoice", "view"),
            "contracts": policy.has_grant(user, "sales.contract", "view"),
            "products": policy.has_grant(user, "sales.product", "view"),
            "stock": policy.has_grant(user, "sales.inventory", "view"),
            "sales_targets": policy.has_grant(user, "sales.target", "view"),
            "target_admin": policy.has_grant(user, "sales.target", "manage"),
            "lead_pools": policy.has_grant(user, "sales.leadpool", "manage"),
            "pipelines": policy.has_grant(user, "sales.pipeline", "manage"),
            "sales_settings": policy.has_grant(user, "sales.settings", "manage"),
        },
    }
