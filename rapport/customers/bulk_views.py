"""Bulk actions of the list pages beside bulk tagging: assign an owner (accounts, contacts) and
change the lifecycle stage (accounts).

The chosen records are read through `restrict(view)`; the bulk services call the one-record
services (permission per record, one audit event each) in one transaction, so one refused
record stores nothing and the message names it.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from rapport.core import errors
from rapport.identity.models import Action, User

from . import options as account_options
from .models import Account
from .services import bulk
from .tag_views import MODELS, RecordIdsField, _back


class AssignRecordsForm(forms.Form):
    records = RecordIdsField(label=gettext_lazy("Records"))
    owner = forms.ModelChoiceField(
        label=gettext_lazy("New owner"),
        queryset=User.objects.none(),
        error_messages={
            "required": gettext_lazy("Choose a new owner."),
            "invalid_choice": gettext_lazy("Choose an active user you can see."),
        },
    )

    def __init__(self, *args, user: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = User.objects.restrict(user, Action.VIEW).filter(
            is_active=True
        )


class StageRecordsForm(forms.Form):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["lifecycle_stage"].choices = account_options.choices("lifecycle_stage")

    records = RecordIdsField(label=gettext_lazy("Records"))
    lifecycle_stage = forms.ChoiceField(
        label=gettext_lazy("Lifecycle stage"),
        choices=(),
        error_messages={
            "required": gettext_lazy("Choose a lifecycle stage."),
            "invalid_choice": gettext_lazy("Choose a lifecycle stage."),
        },
    )


def _form_errors(request: HttpRequest, form: forms.Form) -> None:
    for field_errors in form.errors.values():
        for message in field_errors:
            messages.error(request, message)


def _chosen(request: HttpRequest, model, ids: list[int]) -> list | None:
    """The records in the order chosen, or None (with a message) when one is out of sight."""
    records = list(model.objects.restrict(request.user, Action.VIEW).filter(pk__in=ids))
    if len(records) != len(ids):
        messages.error(
            request,
            _(
                "Some of the chosen records no longer exist or are not yours to see; nothing was changed."
            ),
        )
        return None
    order = {pk: index for index, pk in enumerate(ids)}
    records.sort(key=lambda record: order[record.pk])
    return records


def _run(request: HttpRequest, change) -> list | None:
    try:
        return change()
    except errors.DomainError as error:
        messages.error(request, str(error.message))
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    return None


@login_required
@require_POST
def records_assign(request: HttpRequest, kind: str) -> HttpResponse:
    """Hand the chosen records to one owner, all or nothing."""
    model = MODELS[kind]
    form = AssignRecordsForm(request.POST, user=request.user)
    if not form.is_valid():
        _form_errors(request, form)
        return _back(request, kind)
    records = _chosen(request, model, form.cleaned_data["records"])
    if records is None:
        return _back(request, kind)
    owner = form.cleaned_data["owner"]
    changed = _run(
        request, lambda: bulk.records_assign(actor=request.user, records=records, owner=owner)
    )
    if changed is not None:
        messages.success(
            request,
            ngettext(
                "%(count)d record now belongs to %(owner)s.",
                "%(count)d records now belong to %(owner)s.",
                len(changed),
            )
            % {"count": len(changed), "owner": owner},
        )
    return _back(request, kind)


@login_required
@require_POST
def accounts_stage(request: HttpRequest) -> HttpResponse:
    """Move the chosen accounts to one lifecycle stage, all or nothing."""
    form = StageRecordsForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _back(request, "accounts")
    accounts = _chosen(request, Account, form.cleaned_data["records"])
    if accounts is None:
        return _back(request, "accounts")
    stage = form.cleaned_data["lifecycle_stage"]
    changed = _run(
        request,
        lambda: bulk.accounts_set_stage(actor=request.user, accounts=accounts, stage=stage),
    )
    if changed is not None:
        messages.success(
            request,
            ngettext(
                "%(count)d account is now at stage “%(stage)s”.",
                "%(count)d accounts are now at stage “%(stage)s”.",
                len(changed),
            )
            % {"count": len(changed), "stage": account_options.label("lifecycle_stage", stage)},
        )
    return _back(request, "accounts")
