"""How the audit events of an account or contact read to people: the action in words and
each changed field by its label. Shared by the History tab and the data-subject access
bundle, so both name things alike, in the reader's language."""

from __future__ import annotations

from django.db import models
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import ConsentChannel, ConsentPurpose

ACTION_LABELS = {
    "create": gettext_lazy("Created"),
    "update": gettext_lazy("Changed"),
    "view": gettext_lazy("Viewed"),
    "deactivate": gettext_lazy("Deactivated"),
    "reactivate": gettext_lazy("Reactivated"),
    "assign": gettext_lazy("Owner changed"),
    "record.reassign": gettext_lazy("Owner changed"),
    "consent": gettext_lazy("Consent changed"),
    "consent.strip": gettext_lazy("Consent evidence removed"),
    "merge": gettext_lazy("Another record merged into this one"),
    "merged_into": gettext_lazy("Merged into another record"),
    "merge_undo": gettext_lazy("Merge undone"),
    "anonymize": gettext_lazy("Anonymized"),
    "redact": gettext_lazy("Personal data removed from text"),
    "purge": gettext_lazy("Deleted by a retention policy"),
    "export": gettext_lazy("Exported"),
    "export.download": gettext_lazy("Export downloaded"),
    "attach": gettext_lazy("File attached"),
    "detach": gettext_lazy("File removed"),
    "download": gettext_lazy("File downloaded"),
    "complete": gettext_lazy("Marked done"),
    "reopen": gettext_lazy("Reopened"),
}


def action_label(action: str) -> str:
    """The action of an audit event in words (an unknown code as it is)."""
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action


def field_label(model: type[models.Model], name: str) -> str:
    """A changed field's label: the model field's name, or what the special keys mean."""
    if name == "tags":
        return _("Tags")
    if name == "account_role":
        return _("Role at account")
    if name.startswith("consent."):  # consent.<channel>.<purpose>
        _prefix, channel, purpose = (name.split(".") + ["", ""])[:3]
        return _("Consent: %(channel)s, %(purpose)s") % {
            "channel": dict(ConsentChannel.choices).get(channel, channel),
            "purpose": dict(ConsentPurpose.choices).get(purpose, purpose),
        }
    try:
        return str(capfirst(model._meta.get_field(name).verbose_name))
    except Exception:  # a field that no longer exists still has history
        return name
