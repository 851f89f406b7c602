"""The invoice pages: the list (status, kind, overdue, `?q=`), the invoice (lines, payments,
credit notes; issue, cancel, record a payment, credit), and the receivables ageing.

Views parse, authorize and render: reads go through `Invoice.objects.restrict`, every write
through `rapport.sales.services.invoices`, whose errors land beside their field.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from rapport.core import trail
from rapport.core.paging import cursor_page
from rapport.identity import policy
from rapport.identity.models import Action
from rapport.identity.views._common import _call, _message_call

from . import invoice_pdf
from .invoice_selectors import BUCKETS, receivables_ageing, with_balance
from .models import Invoice, InvoiceKind, InvoiceStatus, Payment
from .order_forms import CreditNoteForm, PaymentForm
from .services import invoices as invoice_services

INVOICE = Invoice.security_type
PAGE_SIZE = 50


def _require_grant(user, action: str) -> None:
    if not policy.has_grant(user, INVOICE, action):
        raise PermissionDenied(_("You do not have permission to do this."))


def invoice_for(user, pk: int, action: str = Action.VIEW) -> Invoice:
    invoice = (
        Invoice.objects.restrict(user, action)
        .select_related("order", "account", "owner", "credited_invoice")
        .filter(pk=pk)
        .first()
    )
    if invoice is None:
        raise Http404(_("No such invoice."))
    return invoice


@login_required
def invoice_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    _require_grant(user, Action.VIEW)
    invoices = with_balance(
        Invoice.objects.restrict(user, Action.VIEW).select_related("account", "order")
    )
    status = request.GET.get("status") or ""
    if status in InvoiceStatus.values:
        invoices = invoices.filter(status=status)
    kind = request.GET.get("kind") or ""
    if kind in InvoiceKind.values:
        invoices = invoices.filter(kind=kind)
    overdue = request.GET.get("overdue") == "1"
    if overdue:
        invoices = invoices.filter(
            kind=InvoiceKind.INVOICE,
            status__in=invoice_services.OPEN,
            due_date__lt=timezone.localdate(),
        )
    account = request.GET.get("account") or ""
    if account.isdigit():
        invoices = invoices.filter(account_id=int(account))
    text = (request.GET.get("q") or "").strip()
    if text:
        invoices = invoices.filter(
            Q(number__icontains=text)
            | Q(order__number__icontains=text)
            | Q(fapiao_number__icontains=text)
            | Q(account__name__icontains=text)
        )
    page = cursor_page(request, invoices, ordering=["-id"], page_size=PAGE_SIZE)
    return render(
        request,
        "sales/invoices/invoice_list.html",
        {
            "page": page,
            "status": status,
            "statuses": InvoiceStatus.choices,
            "kind": kind,
            "kinds": InvoiceKind.choices,
            "overdue": overdue,
            "q": text,
            "today": timezone.localdate(),
        },
    )


@login_required
def invoice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    invoice = invoice_for(user, pk)
    return _detail(request, invoice)


def _detail(
    request: HttpRequest,
    invoice: Invoice,
    *,
    payment_form: PaymentForm | None = None,
    credit_form: CreditNoteForm | None = None,
) -> HttpResponse:
    user = request.user
    can_change = policy.can(user, Action.CHANGE, invoice)
    is_invoice = invoice.kind == InvoiceKind.INVOICE
    status = invoice.status
    credited = invoice_services.credited_total(invoice) if is_invoice else None
    due = invoice_services.amount_due(invoice) if is_invoice else None
    payable = can_change and is_invoice and status in invoice_services.OPEN
    creditable = (
        can_change
        and is_invoice
        and status in invoice_services.COUNTED
        and policy.has_grant(user, INVOICE, Action.ADD)
    )
    return render(
        request,
        "sales/invoices/invoice_detail.html",
        {
            "invoice": invoice,
            "lines": list(invoice.lines.order_by("position", "id")),
            "payments": list(Payment.objects.filter(invoice=invoice).select_related("recorded_by")),
            "credit_notes": list(invoice.credit_notes.order_by("id")) if is_invoice else [],
            "credited": credited,
            "due": due,
            "actions": {
                "issue": can_change and is_invoice and status == InvoiceStatus.DRAFT,
                "cancel": can_change and is_invoice and status == InvoiceStatus.DRAFT,
                "pay": payable,
                "credit": creditable,
                "reverse": can_change and is_invoice,
            },
            "payment_form": payment_form
            or PaymentForm(
                initial={
                    "amount": due,
                    "currency": invoice.currency,
                    "received_on": timezone.localdate(),
                }
            ),
            "credit_form": credit_form or CreditNoteForm(),
        },
        status=200 if payment_form is None and credit_form is None else 400,
    )


def _action(request: HttpRequest, pk: int, service, done: str, **values) -> HttpResponse:
    user = request.user
    invoice = invoice_for(user, pk, Action.CHANGE)
    _result, ok = _message_call(request, service, actor=user, invoice=invoice, **values)
    if ok:
        messages.success(request, done)
    return redirect("sales:invoice_detail", invoice.pk)


@login_required
@require_POST
def invoice_issue(request: HttpRequest, pk: int) -> HttpResponse:
    return _action(request, pk, invoice_services.invoice_issue, _("Invoice issued."))


@login_required
@require_POST
def invoice_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    return _action(request, pk, invoice_services.invoice_cancel, _("Invoice cancelled."))


@login_required
@require_POST
def invoice_pay(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    invoice = invoice_for(user, pk, Action.CHANGE)
    form = PaymentForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        payment = _call(
            form,
            invoice_services.payment_record,
            actor=user,
            invoice=invoice,
            amount=data["amount"],
            currency=data["currency"],
            received_on=data["received_on"],
            method=data["method"],
            reference=data.get("reference") or "",
        )
        if payment is not None:
            messages.success(request, _("Payment recorded."))
            return redirect("sales:invoice_detail", invoice.pk)
    return _detail(request, invoice, payment_form=form)


@login_required
@require_POST
def invoice_credit(request: HttpRequest, pk: int) -> HttpResponse:
    """A credit note of the amount posted, or of the quantities posted per line."""
    user = request.user
    invoice = invoice_for(user, pk, Action.CHANGE)
    form = CreditNoteForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        lines = [
            {"invoice_line": int(key.removeprefix("credit-")), "quantity": value}
            for key, value in request.POST.items()
            if key.startswith("credit-") and key.removeprefix("credit-").isdigit() and value
        ]
        note = _call(
            form,
            invoice_services.credit_note_create,
            actor=user,
            invoice=invoice,
            reason=data.get("reason") or "",
            lines=lines or None,
            amount=None if lines else (data.get("amount") or ""),
        )
        if note is not None:
            messages.success(request, _("Credit note %(number)s issued.") % {"number": note})
            return redirect("sales:invoice_detail", invoice.pk)
    return _detail(request, invoice, credit_form=form)


@login_required
@require_POST
def payment_reverse(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    payment = Payment.objects.select_related("invoice").filter(pk=pk).first()
    if payment is None:
        raise Http404(_("No such payment."))
    invoice = invoice_for(user, payment.invoice_id, Action.CHANGE)
    _result, ok = _message_call(
        request,
        invoice_services.payment_reverse,
        actor=user,
        payment=payment,
        reason=request.POST.get("reason", ""),
    )
    if ok:
        messages.success(request, _("Payment reversed."))
    return redirect("sales:invoice_detail", invoice.pk)


@login_required
def receivables(request: HttpRequest) -> HttpResponse:
    """The receivables ageing: what customers owe, by days overdue."""
    user = request.user
    _require_grant(user, Action.VIEW)
    rows, totals = receivables_ageing(user)
    return render(
        request,
        "sales/invoices/receivables.html",
        {
            "rows": rows,
            "totals": totals,
            "buckets": BUCKETS,
            "today": timezone.localdate(),
        },
    )


@login_required
def invoice_pdf_download(request: HttpRequest, pk: int) -> HttpResponse:
    """The invoice (or credit note) as a PDF in the reader's language (`?language=` to
    choose), audited like every download."""
    user = request.user
    invoice = invoice_for(user, pk)
    language = request.GET.get("language") or translation.get_language() or "zh-hans"
    content = invoice_pdf.render_invoice_pdf(invoice, language)
    trail.record(actor=user, action="invoice.pdf", target=invoice)
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{invoice_pdf.filename(invoice)}"'
    return response
