"""Tagging accounts and contacts from their pages: the list's bulk bar and the detail panel.

Both post here. The records are read through `restrict(view)`; the service checks `change`
on every one and stores nothing when one is refused, naming it in the message.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from rapport.core import errors
from rapport.core.tags import services as tag_services
from rapport.core.tags.models import Tag
from rapport.identity.models import Action

from .models import Account, Contact

MODELS: dict[str, type[Account] | type[Contact]] = {"accounts": Account, "contacts": Contact}
MAX_RECORDS = 500  # more than a page holds; bigger jobs belong in the API or CLI


class RecordIdsField(forms.Field):
    """Record ids from repeated checkboxes (`records=1&records=7`)."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {
        "required": gettext_lazy("Choose at least one record."),
        "invalid": gettext_lazy("Record numbers are whole numbers."),
        "too_many": gettext_lazy("Choose at most %(n)d records at a time."),
    }

    def to_python(self, value) -> list[int]:
        values = [str(item).strip() for item in (value or []) if str(item).strip()]
        if not all(item.isdigit() and len(item) <= 18 for item in values):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        ids = list(dict.fromkeys(int(item) for item in values))
        if len(ids) > MAX_RECORDS:
            raise ValidationError(
                self.error_messages["too_many"] % {"n": MAX_RECORDS}, code="too_many"
            )
        return ids


class TagRecordsForm(forms.Form):
    records = RecordIdsField(label=gettext_lazy("Records"))
    tag = forms.ModelChoiceField(
        label=gettext_lazy("Tag"),
        queryset=Tag.objects.all(),
        error_messages={
            "required": gettext_lazy("Choose a tag."),
            "invalid_choice": gettext_lazy("That tag does not exist."),
        },
    )
    op = forms.ChoiceField(
        choices=[("tag", gettext_lazy("Tag")), ("untag", gettext_lazy("Untag"))], initial="tag"
    )


def _back(request: HttpRequest, kind: str) -> HttpResponse:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect(reverse(f"customers:{kind[:-1]}_list"))


@login_required
@require_POST
def records_tag(request: HttpRequest, kind: str) -> HttpResponse:
    """Add (op=tag) or remove (op=untag) one tag on the chosen records, all or nothing."""
    user = request.user
    model = MODELS[kind]
    form = TagRecordsForm(request.POST)
    if not form.is_valid():
        for errors_of_field in form.errors.values():
            for message in errors_of_field:
                messages.error(request, message)
        return _back(request, kind)
    ids = form.cleaned_data["records"]
    tag = form.cleaned_data["tag"]
    records = list(model.objects.restrict(user, Action.VIEW).filter(pk__in=ids))
    if len(records) != len(ids):
        messages.error(
            request,
            _(
                "Some of the chosen records no longer exist or are not yours to see; nothing was changed."
            ),
        )
        return _back(request, kind)
    order = {pk: index for index, pk in enumerate(ids)}
    records.sort(key=lambda record: order[record.pk])
    remove = form.cleaned_data["op"] == "untag"
    service = tag_services.records_untag if remove else tag_services.records_tag
    try:
        changed = service(actor=user, records=records, tags=[tag])
    except errors.DomainError as error:
        messages.error(request, str(error.message))
        return _back(request, kind)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return _back(request, kind)
    values = {"tag": tag.label, "count": len(changed)}
    if remove:
        text = ngettext(
            "Tag “%(tag)s” removed from %(count)d record.",
            "Tag “%(tag)s” removed from %(count)d records.",
            len(changed),
        )
    else:
        text = ngettext(
            "Tag “%(tag)s” added to %(count)d record.",
            "Tag “%(tag)s” added to %(count)d records.",
            len(changed),
        )
    messages.success(request, text % values)
    return _back(request, kind)
