from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DataopsConfig(AppConfig):
    name = "rapport.dataops"
    label = "dataops"
    verbose_name = _("Data operations")

    def ready(self) -> None:
        from rapport.core import duplicates, guards
        from rapport.customers.models import Account, Contact
        from rapport.identity import policy

        from . import exporting, matching

        duplicates.register(Account.security_type, matching.find_accounts)
        duplicates.register(Contact.security_type, matching.find_contacts)
        guards.register_action(exporting.KIND, exporting.on_approval)
        policy.register("dataops.duplicate", label=_("duplicate scans"), actions=["manage"])
        policy.register("dataops.backup", label=_("backups"), actions=["manage"])
        policy.register("dataops.quality", label=_("data quality"), actions=["manage"])
        policy.register(
            "dataops.subjectrequest",
            label=_("data-subject requests"),
            actions=["view", "manage"],
        )
        policy.register("dataops.retention", label=_("retention policies"), actions=["manage"])
        from rapport.core import locks
        from rapport.customers.services import anonymize

        from . import privacy, quality_panel

        quality_panel.register()
        # an anonymized contact takes no writes (the history tab's "restore" included)
        locks.register(anonymize.locked_reason, many=anonymize.locked_reasons)
        privacy.register_messages()
