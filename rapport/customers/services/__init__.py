"""Every write to customers: accounts and contacts (`records`), interactions and tasks
(`interactions`). Callers use `rapport.customers.services.<name>`."""

from .anonymize import (
    Anonymized,
    consents_strip_evidence,
    contact_anonymize,
    interactions_purge,
    interactions_redact,
)
from .attachments import (
    attachment_downloaded,
    attachment_remove,
    attachments_add,
)
from .consent import consent_record, consent_withdraw
from .creating import accounts_create_many, contacts_create_many
from .interactions import (
    INTERACTION_FIELDS,
    interaction_delete,
    interaction_log,
    interaction_update,
    task_complete,
    task_create,
    task_reminders_send,
    task_reopen,
)
from .merge import merge_undo, merged_values, records_merge
from .records import (
    ACCOUNT_FIELDS,
    CONTACT_FIELDS,
    RESTORABLE,
    account_create,
    account_deactivate,
    account_reactivate,
    account_update,
    contact_create,
    contact_deactivate,
    contact_reactivate,
    contact_role_set,
    contact_update,
    record_assign,
    record_restore,
    record_viewed,
)

__all__ = [
    "Anonymized",
    "consents_strip_evidence",
    "contact_anonymize",
    "interactions_purge",
    "interactions_redact",
    "attachment_downloaded",
    "attachment_remove",
    "attachments_add",
    "ACCOUNT_FIELDS",
    "CONTACT_FIELDS",
    "INTERACTION_FIELDS",
    "RESTORABLE",
    "account_create",
    "accounts_create_many",
    "account_deactivate",
    "account_reactivate",
    "account_update",
    "consent_record",
    "consent_withdraw",
    "contact_create",
    "contacts_create_many",
    "contact_deactivate",
    "contact_reactivate",
    "contact_role_set",
    "contact_update",
    "interaction_delete",
    "interaction_log",
    "interaction_update",
    "record_assign",
    "record_restore",
    "record_viewed",
    "task_complete",
    "task_create",
    "task_reopen",
    "task_reminders_send",
    "records_merge",
    "merge_undo",
    "merged_values",
]
