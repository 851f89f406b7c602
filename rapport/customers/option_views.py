"""The tiers and lifecycle stages page (administration): list, add, edit, reorder, retire.

Every write goes through `rapport.customers.services.options`, which checks the `manage`
grant on `customers.accountoption` again and audits the change.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from rapport.identity.models import Action
from rapport.identity.views._common import _admin_context, _call, _message_call, _require

from .models import Account, AccountOption, OptionField
from .option_forms import OptionForm
from .services import options as option_services

OPTION = AccountOption.security_type


def _usage(field: str) -> dict[str, int]:
    """{code: accounts carrying it} in one grouped query (walks the field's index)."""
    return dict(Account.objects.values(field).annotate(n=Count("id")).values_list(field, "n"))


@login_required
def option_list(request: HttpRequest) -> HttpResponse:
    _require(request.user, OPTION, Action.MANAGE)
    # One "add" form per field; `section` says which one was posted.
    posted_field = request.POST.get("section") if request.method == "POST" else None
    forms_by_field = {
        field: OptionForm(request.POST if posted_field == field else None, prefix=field)
        for field in OptionField.values
    }
    if posted_field in forms_by_field:
        form = forms_by_field[posted_field]
        if form.is_valid():
            option = _call(
                form,
                option_services.option_create,
                actor=request.user,
                field=posted_field,
                **form.service_values(),
            )
            if option:
                messages.success(request, _("“%(label)s” added.") % {"label": option.display_label})
                return redirect("customers:option_list")
    sections = []
    for field, title in OptionField.choices:
        usage = _usage(field)
        rows = [
            {"option": option, "accounts": usage.get(option.code, 0)}
            for option in AccountOption.objects.filter(field=field).order_by("position", "id")
        ]
        sections.append(
            {"field": field, "title": title, "rows": rows, "form": forms_by_field[field]}
        )
    return render(
        request,
        "customers/options/option_list.html",
        {**_admin_context(request, "account_options"), "sections": sections},
    )


@login_required
def option_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request.user, OPTION, Action.MANAGE)
    option = get_object_or_404(AccountOption, pk=pk)
    form = OptionForm(request.POST or None, option=option)
    if request.method == "POST" and form.is_valid():
        if _call(
            form,
            option_services.option_update,
            actor=request.user,
            option=option,
            **form.service_values(),
        ):
            messages.success(request, _("Saved."))
            return redirect("customers:option_list")
        option.refresh_from_db()
    return render(
        request,
        "customers/options/option_edit.html",
        {**_admin_context(request, "account_options"), "option": option, "form": form},
    )


@login_required
@require_POST
def option_move(request: HttpRequest, pk: int, direction: str) -> HttpResponse:
    _require(request.user, OPTION, Action.MANAGE)
    option = get_object_or_404(AccountOption, pk=pk)
    _message_call(
        request,
        option_services.option_move,
        actor=request.user,
        option=option,
        offset=-1 if direction == "up" else 1,
    )
    return redirect("customers:option_list")


@login_required
@require_POST
def option_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request.user, OPTION, Action.MANAGE)
    option = get_object_or_404(AccountOption, pk=pk)
    _done, ok = _message_call(
        request, option_services.option_deactivate, actor=request.user, option=option
    )
    if ok:
        messages.success(
            request,
            _("“%(label)s” is retired: no longer offered; accounts that have it keep it.")
            % {"label": option.display_label},
        )
    return redirect("customers:option_list")


@login_required
@require_POST
def option_reactivate(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request.user, OPTION, Action.MANAGE)
    option = get_object_or_404(AccountOption, pk=pk)
    _done, ok = _message_call(
        request, option_services.option_reactivate, actor=request.user, option=option
    )
    if ok:
        messages.success(
            request, _("“%(label)s” is offered again.") % {"label": option.display_label}
        )
    return redirect("customers:option_list")
