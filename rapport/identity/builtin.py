"""The built-in roles and their grants. `roles_sync_builtin` keeps the database in line."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

ACCOUNT = "customers.account"
CONTACT = "customers.contact"
USER = "identity.user"
ROLE = "identity.role"
AUDIT_EVENT = "audit.event"
AUDIT_ALERT = "audit.alert"
TAG = "core.tag"
CUSTOM_FIELD = "core.customfield"
INTERACTION = "customers.interaction"
ACCOUNT_OPTION = "customers.accountoption"
AUTOMATION_RULE = "automation.rule"
DUPLICATE_SCAN = "dataops.duplicate"
BACKUP = "dataops.backup"
SUBJECT_REQUEST = "dataops.subjectrequest"
RETENTION = "dataops.retention"
QUALITY = "dataops.quality"
BUSINESS_CALENDAR = "service.calendar"
TICKET = "service.ticket"
TICKET_CATEGORY = "service.ticketcategory"
SLA_POLICY = "service.slapolicy"
COMPLAINT_CAUSE = "service.complaintcause"
SERVICE_QUEUE = "service.queue"
SURVEY = "service.survey"
ARTICLE = "service.article"
LEAD = "sales.lead"
LEAD_POOL = "sales.leadpool"
OPPORTUNITY = "sales.opportunity"
PIPELINE = "sales.pipeline"
PRODUCT = "sales.product"
INVENTORY = "sales.inventory"
QUOTE = "sales.quote"
ORDER = "sales.order"
CONTRACT = "sales.contract"
INVOICE = "sales.invoice"
SALES_TARGET = "sales.target"
SALES_SETTINGS = "sales.settings"
SALES_DEALS = (OPPORTUNITY, QUOTE, ORDER, CONTRACT)

CUSTOMER_TYPES = (ACCOUNT, CONTACT)
ALL_ACTIONS = ("view", "add", "change", "delete", "export", "import", "assign", "approve", "manage")

ROLE_NAMES = {
    "administrator": _("Administrator"),
    "auditor": _("Auditor"),
    "sales_manager": _("Sales manager"),
    "sales_rep": _("Sales rep"),
    "customer_manager": _("Customer manager"),
    "service_agent": _("Service agent"),
    "service_manager": _("Service manager"),
    "marketer": _("Marketer"),
    "finance": _("Finance"),
}


def builtin_role_name(code: str) -> str:
    return str(ROLE_NAMES.get(code, code))


def _customer(actions: dict[str, str]) -> list[tuple[str, str, str]]:
    return [
        (object_type, action, scope)
        for object_type in CUSTOMER_TYPES
        for action, scope in actions.items()
    ]


def _sales(object_types, actions: dict[str, str]) -> list[tuple[str, str, str]]:
    """The same actions and scopes on several sales record types."""
    return [
        (object_type, action, scope)
        for object_type in object_types
        for action, scope in actions.items()
        if action in _SALES_ACTIONS[object_type]
    ]


_SALES_ACTIONS = {
    LEAD: ("view", "add", "change", "delete", "assign", "import", "export"),
    OPPORTUNITY: ("view", "add", "change", "delete", "assign", "export"),
    QUOTE: ("view", "add", "change", "delete", "export"),
    ORDER: ("view", "add", "change", "export"),
    CONTRACT: ("view", "add", "change", "export"),
    INVOICE: ("view", "add", "change", "export"),
}


def _interactions(actions: dict[str, str]) -> list[tuple[str, str, str]]:
    """Grants on interactions and tasks. Seeing them also follows from seeing their customer
    (controlled by parent); these grants add the ones the role's scope covers by owner."""
    return [(INTERACTION, action, scope) for action, scope in actions.items()]


# code -> list of (object type, action, scope); field rules: code -> [(type, field, rule)]
BUILTIN_GRANTS: dict[str, list[tuple[str, str, str]]] = {
    "administrator": [
        *[
            (t, a, "all")
            for t in CUSTOMER_TYPES
            for a in ("view", "add", "change", "delete", "export", "import", "assign")
        ],
        *[(USER, a, "all") for a in ("view", "add", "change", "manage")],
        *[(ROLE, a, "all") for a in ("view", "manage")],
        (AUDIT_EVENT, "view", "all"),
        (AUDIT_EVENT, "export", "all"),
        (AUDIT_ALERT, "view", "all"),
        (AUDIT_ALERT, "manage", "all"),
        *_interactions(
            dict.fromkeys(("view", "add", "change", "delete", "assign", "import"), "all")
        ),
        (TAG, "manage", "all"),
        (CUSTOM_FIELD, "manage", "all"),
        (ACCOUNT_OPTION, "manage", "all"),
        (AUTOMATION_RULE, "manage", "all"),
        (DUPLICATE_SCAN, "manage", "all"),
        (BACKUP, "manage", "all"),
        (SUBJECT_REQUEST, "view", "all"),
        (SUBJECT_REQUEST, "manage", "all"),
        (RETENTION, "manage", "all"),
        (QUALITY, "manage", "all"),
        (BUSINESS_CALENDAR, "manage", "all"),
        *[(TICKET, a, "all") for a in ("view", "add", "change", "assign")],
        (SURVEY, "view", "all"),
        (SURVEY, "manage", "all"),
        (TICKET_CATEGORY, "manage", "all"),
        (SLA_POLICY, "manage", "all"),
        (COMPLAINT_CAUSE, "manage", "all"),
        (SERVICE_QUEUE, "manage", "all"),
        *[(ARTICLE, a, "all") for a in ("view", "add", "change", "approve", "manage")],
        *_sales((LEAD, *SALES_DEALS, INVOICE), dict.fromkeys(ALL_ACTIONS, "all")),
        *[(t, "manage", "all") for t in (LEAD_POOL, PIPELINE, PRODUCT, INVENTORY, SALES_SETTINGS)],
        (PRODUCT, "view", "all"),
        (INVENTORY, "view", "all"),
        (INVENTORY, "change", "all"),
        (SALES_TARGET, "view", "all"),
        (SALES_TARGET, "manage", "all"),
    ],
    "auditor": [
        *_customer({"view": "all"}),
        (SURVEY, "view", "all"),
        *_interactions({"view": "all"}),
        (USER, "view", "all"),
        (ROLE, "view", "all"),
        (AUDIT_EVENT, "view", "all"),
        (AUDIT_EVENT, "export", "all"),
        (AUDIT_ALERT, "view", "all"),
        (AUDIT_ALERT, "manage", "all"),
        (TICKET, "view", "all"),
        (ARTICLE, "view", "all"),
        *_sales((LEAD, *SALES_DEALS, INVOICE), {"view": "all"}),
        (PRODUCT, "view", "all"),
        (INVENTORY, "view", "all"),
        (SALES_TARGET, "view", "all"),
    ],
    "sales_manager": [
        *_customer(
            {
                "view": "department",
                "add": "department",
                "change": "department",
                "delete": "department",
                "export": "department",
                "assign": "department",
            }
        ),
        *_interactions(
            {
                "view": "department",
                "add": "own",
                "change": "department",
                "delete": "department",
                "assign": "department",
            }
        ),
        (USER, "view", "department"),
        (ARTICLE, "view", "all"),  # published internal articles: answers for customers
        # the department's leads, deals and their documents; pools, pipelines and targets
        *_sales(
            (LEAD, *SALES_DEALS),
            dict.fromkeys(
                ("view", "add", "change", "delete", "assign", "import", "export"), "department"
            ),
        ),
        (INVOICE, "view", "department"),
        (LEAD_POOL, "manage", "all"),
        (PIPELINE, "manage", "all"),
        (PRODUCT, "view", "all"),
        (INVENTORY, "view", "all"),
        (SALES_TARGET, "view", "department"),
        (SALES_TARGET, "manage", "all"),
    ],
    "sales_rep": [
        *_customer({"view": "own", "add": "own", "change": "own"}),
        *_interactions({"view": "own", "add": "own", "change": "own", "delete": "own"}),
        (USER, "view", "own"),
        (ARTICLE, "view", "all"),
        # their own leads (and their team's pool: the pool is read through the pool's team),
        # deals and documents; the catalogue and the stock to quote from
        *_sales((LEAD, *SALES_DEALS), {"view": "own", "add": "own", "change": "own"}),
        (QUOTE, "delete", "own"),
        (INVOICE, "view", "own"),
        (PRODUCT, "view", "all"),
        (INVENTORY, "view", "all"),
        (SALES_TARGET, "view", "own"),
    ],
    "customer_manager": [
        *_customer(
            {"view": "team", "add": "team", "change": "team", "export": "team", "assign": "team"}
        ),
        *_interactions(
            {"view": "team", "add": "own", "change": "team", "delete": "own", "assign": "team"}
        ),
        (USER, "view", "team"),
        *_sales(SALES_DEALS, {"view": "team", "add": "own", "change": "own"}),
        (INVOICE, "view", "team"),
        (PRODUCT, "view", "all"),
        (INVENTORY, "view", "all"),
        (SALES_TARGET, "view", "team"),
    ],
    "service_agent": [
        *_customer({"view": "all"}),
        (CONTACT, "add", "own"),
        (CONTACT, "change", "own"),
        *_interactions({"view": "own", "add": "own", "change": "own"}),
        (USER, "view", "own"),
        # their own tickets and their teams' queues; they take tickets from the queue
        (TICKET, "view", "team"),
        (TICKET, "add", "team"),
        (TICKET, "change", "team"),
        (TICKET, "assign", "team"),
        # the surveys of their own and their queues' tickets, like the tickets themselves
        (SURVEY, "view", "team"),
        # the knowledge base: read what is published, write and submit their own drafts
        (ARTICLE, "view", "all"),
        (ARTICLE, "add", "own"),
        (ARTICLE, "change", "own"),
    ],
    "service_manager": [
        *_customer(
            {"view": "all", "add": "department", "change": "department", "assign": "department"}
        ),
        *_interactions(
            {"view": "department", "add": "own", "change": "department", "assign": "department"}
        ),
        (USER, "view", "department"),
        (BUSINESS_CALENDAR, "manage", "all"),
        *[(TICKET, a, "department") for a in ("view", "add", "change", "assign")],
        (SURVEY, "view", "department"),
        (SURVEY, "manage", "all"),  # send NPS surveys now
        (TICKET_CATEGORY, "manage", "all"),
        (SLA_POLICY, "manage", "all"),
        (COMPLAINT_CAUSE, "manage", "all"),
        (SERVICE_QUEUE, "manage", "all"),
        *[(ARTICLE, a, "all") for a in ("view", "add", "change", "approve", "manage")],
    ],
    "marketer": [
        *_customer({"view": "all", "export": "all"}),
        *_interactions({"view": "own", "add": "own", "change": "own"}),
        (USER, "view", "own"),
        # marketing brings leads in: from events, campaigns and imports
        *_sales((LEAD,), {"view": "all", "add": "all", "import": "all", "export": "all"}),
        (PRODUCT, "view", "all"),
    ],
    "finance": [
        (ACCOUNT, "view", "all"),
        (ACCOUNT, "export", "all"),
        (CONTACT, "view", "all"),
        *_interactions({"view": "own", "add": "own", "change": "own"}),
        (USER, "view", "own"),
        # finance closes the loop: invoices, credit notes, payments; reads orders and
        # contracts; ships confirmed orders' goods out of the warehouses
        *_sales((INVOICE,), dict.fromkeys(("view", "add", "change", "export"), "all")),
        *_sales((ORDER, CONTRACT), {"view": "all", "export": "all"}),
        (ORDER, "change", "all"),
        (PRODUCT, "view", "all"),
        (INVENTORY, "view", "all"),
        (INVENTORY, "change", "all"),
        (SALES_TARGET, "view", "all"),
    ],
}

BUILTIN_FIELD_RULES: dict[str, list[tuple[str, str, str]]] = {
    "auditor": [
        (CONTACT, "phones", "masked"),
        (CONTACT, "emails", "masked"),
        (CONTACT, "id_number", "masked"),
        (ACCOUNT, "phone", "masked"),
    ],
    "marketer": [(CONTACT, "phones", "masked"), (CONTACT, "id_number", "hidden")],
    "finance": [
        (CONTACT, "phones", "masked"),
        (CONTACT, "emails", "masked"),
        (CONTACT, "id_number", "masked"),
    ],
    "service_agent": [(ACCOUNT, "credit_code", "readonly"), (CONTACT, "id_number", "masked")],
    # ID numbers are entered by whoever owns the customer relationship (KYC); sales and
    # service managers see their shape only.
    "sales_rep": [(CONTACT, "id_number", "masked")],
    "sales_manager": [(CONTACT, "id_number", "masked")],
    "service_manager": [(CONTACT, "id_number", "masked")],
}
