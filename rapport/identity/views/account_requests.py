"""Account request pages: ask for an account, approve or reject."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from rapport.core import locks

from .. import forms, policy, services
from ..models import AccountRequest, Action
from ._common import USER, _admin_context, _call, _message_call, _require, can_request_accounts


@login_required
def request_list(request):
    can_decide = policy.has_grant(request.user, USER, Action.MANAGE)
    can_request = can_request_accounts(request.user)
    if not (can_decide or can_request):
        raise PermissionDenied
    form = forms.AccountRequestForm(request.POST or None)
    if request.method == "POST" and can_request and form.is_valid():
        data = form.cleaned_data
        created = _call(
            form,
            services.account_request_create,
            actor=request.user,
            username=data["username"],
            email=data["email"],
            display_name=data["display_name"],
            department=data["department"],
            roles=list(data["roles"]),
            reason=data["reason"],
        )
        if created:
            if locks.lock_reason(created):
                messages.success(
                    request,
                    _("Your request is waiting for approval; you will be told the outcome."),
                )
            else:
                messages.success(request, _("Your request has been sent to the administrators."))
            return redirect("identity:request_list")
    requests_ = AccountRequest.objects.select_related(
        "requested_by", "department", "decided_by", "created_user"
    ).prefetch_related("roles")
    if not can_decide:
        requests_ = requests_.filter(requested_by=request.user)
    state = request.GET.get("state", "pending")
    if state in AccountRequest.State.values:
        requests_ = requests_.filter(state=state)
    requests_ = list(requests_[:200])
    # a request an approval process decides (`core.guards`) is locked while it waits
    waiting = locks.lock_reasons(requests_)
    for item in requests_:
        item.waiting = waiting.get(item.pk, "")
    return render(
        request,
        "identity/request_list.html",
        {
            **_admin_context(request, "requests"),
            "form": form,
            "requests": requests_,
            "can_decide": can_decide,
            "state": state,
            "states": AccountRequest.State.choices,
            "decision_form": forms.DecisionForm(),
        },
    )


@login_required
@require_POST
def request_decide(request, pk: int):
    _require(request.user, USER, Action.MANAGE)
    account_request = get_object_or_404(AccountRequest, pk=pk)
    form = forms.DecisionForm(request.POST)
    form.is_valid()
    approve = request.POST.get("decision") == "approve"
    decided, ok = _message_call(
        request,
        services.account_request_decide,
        actor=request.user,
        request=account_request,
        approve=approve,
        note=form.cleaned_data.get("note", ""),
    )
    if ok:
        if approve:
            messages.success(
                request,
                _("Approved: the account “%(username)s” has been created.")
                % {"username": decided.username},
            )
        else:
            messages.success(request, _("The request has been rejected."))
    return redirect("identity:request_list")
