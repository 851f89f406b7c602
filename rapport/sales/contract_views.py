"""The contract pages: the list (status, ending soon, `?q=`), the contract (term, value, its
files to upload and download, renewals; activate, renew, terminate) and its form.

Views parse, authorize and render: reads go through `Contract.objects.restrict`, every write
through `rapport.sales.services.contracts`; files are served only to those who see the
contract, as an audited read.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from rapport.core.paging import cursor_page
from rapport.customers.forms import lookup_label
from rapport.customers.models import Account
from rapport.identity import policy
from rapport.identity.models import Action
from rapport.identity.views._common import _call, _message_call

from .models import Contract, ContractAttachment, ContractStatus
from .order_forms import CancelForm, ContractFilesForm, ContractForm, RenewForm
from .services import contracts as contract_services

CONTRACT = Contract.security_type
PAGE_SIZE = 50


def _require_grant(user, action: str) -> None:
    if not policy.has_grant(user, CONTRACT, action):
        raise PermissionDenied(_("You do not have permission to do this."))


def contract_for(user, pk: int, action: str = Action.VIEW) -> Contract:
    contract = (
        Contract.objects.restrict(user, action)
        .select_related("account", "opportunity", "order", "renewal_of", "owner")
        .filter(pk=pk)
        .first()
    )
    if contract is None:
        raise Http404(_("No such contract."))
    return contract


@login_required
def contract_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    _require_grant(user, Action.VIEW)
    contracts = Contract.objects.restrict(user, Action.VIEW).select_related("account", "owner")
    status = request.GET.get("status") or ""
    if status in ContractStatus.values:
        contracts = contracts.filter(status=status)
    ending = request.GET.get("ending") == "1"
    today = timezone.localdate()
    if ending:
        contracts = contracts.filter(
            status=ContractStatus.ACTIVE,
            end_date__gte=today,
            end_date__lte=today + timedelta(days=90),
        )
    account = request.GET.get("account") or ""
    if account.isdigit():
        contracts = contracts.filter(account_id=int(account))
    text = (request.GET.get("q") or "").strip()
    if text:
        contracts = contracts.filter(
            Q(number__icontains=text) | Q(title__icontains=text) | Q(account__name__icontains=text)
        )
    page = cursor_page(request, contracts, ordering=["-id"], page_size=PAGE_SIZE)
    return render(
        request,
        "sales/contracts/contract_list.html",
        {
            "page": page,
            "status": status,
            "statuses": ContractStatus.choices,
            "ending": ending,
            "q": text,
            "today": today,
            "can_add": policy.has_grant(user, CONTRACT, Action.ADD),
        },
    )


def _editor(request: HttpRequest, contract: Contract | None) -> HttpResponse:
    user = request.user
    initial = {}
    account_pk = request.GET.get("account", "")
    if contract is None and account_pk.isdigit():
        account = Account.objects.restrict(user, Action.VIEW).filter(pk=int(account_pk)).first()
        if account is not None:
            initial["account"] = lookup_label(account)
    form = ContractForm(request.POST or None, user=user, contract=contract, initial=initial)
    if request.method == "POST" and form.is_valid():
        if contract is None:
            saved = _call(
                form,
                contract_services.contract_create,
                actor=user,
                **form.service_values(creating=True),
            )
        else:
            saved = _call(
                form,
                contract_services.contract_update,
                actor=user,
                contract=contract,
                **form.service_values(creating=False),
            )
        if saved is not None:
            messages.success(request, _("Contract %(number)s saved.") % {"number": saved.number})
            return redirect("sales:contract_detail", saved.pk)
    return render(
        request, "sales/contracts/contract_form.html", {"form": form, "contract": contract}
    )


@login_required
def contract_create(request: HttpRequest) -> HttpResponse:
    _require_grant(request.user, Action.ADD)
    return _editor(request, None)


@login_required
def contract_edit(request: HttpRequest, pk: int) -> HttpResponse:
    contract = contract_for(request.user, pk, Action.CHANGE)
    return _editor(request, contract)


@login_required
def contract_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, contract_for(request.user, pk))


def _detail(
    request: HttpRequest, contract: Contract, *, files_form: ContractFilesForm | None = None
) -> HttpResponse:
    user = request.user
    can_change = policy.can(user, Action.CHANGE, contract)
    status = contract.status
    return render(
        request,
        "sales/contracts/contract_detail.html",
        {
            "contract": contract,
            "files": list(
                contract.attachments.filter(is_active=True).select_related("uploaded_by")
            ),
            "renewals": list(contract.renewals.order_by("id").only("pk", "number", "status")),
            "actions": {
                "edit": can_change and status in (ContractStatus.DRAFT, ContractStatus.ACTIVE),
                "activate": can_change and status == ContractStatus.DRAFT,
                "terminate": can_change and status == ContractStatus.ACTIVE,
                "renew": can_change
                and status in contract_services.RENEWABLE
                and policy.has_grant(user, CONTRACT, Action.ADD),
                "files": can_change,
            },
            "files_form": files_form or ContractFilesForm(),
            "terminate_form": CancelForm(),
            "renew_form": RenewForm(),
        },
        status=400 if files_form is not None else 200,
    )


def _action(request: HttpRequest, pk: int, service, done: str, **values) -> HttpResponse:
    user = request.user
    contract = contract_for(user, pk, Action.CHANGE)
    result, ok = _message_call(request, service, actor=user, contract=contract, **values)
    if ok:
        messages.success(request, done)
        if isinstance(result, Contract) and result.pk != contract.pk:
            return redirect("sales:contract_detail", result.pk)
    return redirect("sales:contract_detail", contract.pk)


@login_required
@require_POST
def contract_activate(request: HttpRequest, pk: int) -> HttpResponse:
    return _action(request, pk, contract_services.contract_activate, _("The contract is in force."))


@login_required
@require_POST
def contract_terminate(request: HttpRequest, pk: int) -> HttpResponse:
    return _action(
        request,
        pk,
        contract_services.contract_terminate,
        _("Contract terminated."),
        reason=request.POST.get("reason", ""),
    )


@login_required
@require_POST
def contract_renew(request: HttpRequest, pk: int) -> HttpResponse:
    form = RenewForm(request.POST)
    values = form.cleaned_data if form.is_valid() else {}
    return _action(
        request,
        pk,
        contract_services.contract_renew,
        _("Contract renewed."),
        start_date=values.get("start_date"),
        end_date=values.get("end_date"),
        value=values.get("value") or None,
    )


@login_required
@require_POST
def contract_files(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    contract = contract_for(user, pk, Action.CHANGE)
    form = ContractFilesForm(request.POST, request.FILES)
    if form.is_valid():
        stored = _call(
            form,
            contract_services.contract_files_add,
            actor=user,
            contract=contract,
            uploads=form.cleaned_data.get("files") or [],
        )
        if stored is not None:
            messages.success(request, _("Files attached."))
            return redirect("sales:contract_detail", contract.pk)
    return _detail(request, contract, files_form=form)


@login_required
def contract_file(request: HttpRequest, pk: int) -> HttpResponse:
    """Serve a contract's file to someone who may see the contract (an audited read); never
    inline as a page of ours."""
    attachment = ContractAttachment.objects.filter(pk=pk, is_active=True).first()
    if attachment is None:
        raise Http404()
    contract_for(request.user, attachment.contract_id)
    contract_services.contract_file_downloaded(actor=request.user, attachment=attachment)
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=request.GET.get("inline") != "1"
        or not attachment.content_type.startswith(("image/", "application/pdf")),
        filename=attachment.name,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
