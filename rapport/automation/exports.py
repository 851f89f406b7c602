"""Exports as a guarded action: an approval process for "exports" decides whether a list
export (`rapport.dataops.exporting`) runs — e.g. any export of more than 5,000 records, or of
contacts. The export job waits, locked, until the approval ends; approved, it is sent to the
worker; rejected, it is cancelled. Conditions read the job: its size (`total`), record type,
format and who asked.

(Automation and dataops are independent: the job is a core Job, and what happens when the
approval ends is dataops' handler, reached through `core.guards`.)
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from rapport.core import filterlang as fl
from rapport.core import guards

from . import registry

TYPE = "dataops.export"
KIND = "dataops.export"  # the Job kind of exports


def _refuse_update(actor, record, values):
    raise ValidationError(gettext("Exports are not changed by rules."), code="guarded")


def _fields(user) -> list[fl.FilterField]:
    return [
        fl.FilterField("total", _("Records exported"), fl.NUMBER, path="total"),
        fl.FilterField(
            "record_type",
            _("Record type"),
            fl.CHOICE,
            path="params__type",
            choices=(("customers.account", _("Accounts")), ("customers.contact", _("Contacts"))),
        ),
        fl.FilterField(
            "format",
            _("Format"),
            fl.CHOICE,
            path="params__format",
            choices=(("csv", "CSV"), ("xlsx", "Excel")),
        ),
        fl.FilterField("requested_by", _("Asked by"), fl.USER, path="created_by_id"),
    ]


def _restrict(actor, action: str = "view"):
    """Every export job for the automation actor (it checks conditions) and for auditors of
    exports; anyone else their own."""
    from rapport.core.models import Job
    from rapport.identity import policy

    from . import actor as system_actor

    jobs = Job.objects.filter(kind=KIND)
    if actor is None or not actor.is_authenticated:
        return jobs.none()
    if actor.username == system_actor.USERNAME or policy.has_grant(actor, "audit.event", "view"):
        return jobs
    return jobs.filter(created_by=actor) if action == "view" else jobs.none()


def _decided(actor, job, approved: bool, comment: str):
    """The export app starts the job, or cancels it (`core.guards.register_action`)."""
    guards.decided(TYPE, job, actor=actor, approved=approved, comment=comment)


def register() -> None:
    from rapport.core.models import Job

    registry.register(
        TYPE,
        model=Job,
        label=_("exports"),
        noun=_("export"),
        update=_refuse_update,
        guarded=True,
        decided=_decided,
        restrict_with=_restrict,
    )
    fl.register_fields(TYPE, _fields)
