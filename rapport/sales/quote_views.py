"""The quote pages: the list (status, owner, account, `?q=`), the quote (lines, totals,
approval, versions and its actions), the editor with its lines (htmx: add and remove lines,
the product's price filled in, totals computed on the server as the user types), and the
PDF download.

Views parse, authorize and render: reads go through `Quote.objects.restrict`, every write
through `rapport.sales.services.quotes`, whose errors land beside their field or line.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from rapport.core import trail
from rapport.core.paging import cursor_page
from rapport.customers.forms import lookup_label, parse_record_id
from rapport.customers.models import Account
from rapport.identity import policy
from rapport.identity.models import Action, User
from rapport.identity.views._common import _call, _message_call

from . import lines as sales_lines
from . import quote_hooks, quote_pdf
from .catalogue_views import product_label
from .config import get_settings
from .models import Opportunity, PriceList, Product, Quote, QuoteStatus
from .quote_forms import DeclineForm, QuoteForm, SendForm, posted_lines
from .services import quotes as quote_services

QUOTE = Quote.security_type
PAGE_SIZE = 50


def _require_grant(user, action: str) -> None:
    if not policy.has_grant(user, QUOTE, action):
        raise PermissionDenied(_("You do not have permission to do this."))


def _quote_for(user, pk: int, action: str = Action.VIEW) -> Quote:
    """The quote, if the user may `action` it; else not found (its existence stays hidden)."""
    quote = (
        Quote.objects.restrict(user, action)
        .select_related("account", "contact", "opportunity", "owner", "previous")
        .filter(pk=pk)
        .first()
    )
    if quote is None:
        raise Http404(_("No such quote."))
    return quote


@login_required
def quote_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    _require_grant(user, Action.VIEW)
    quotes = Quote.objects.restrict(user, Action.VIEW).select_related("account", "owner")
    status = request.GET.get("status") or ""
    if status in QuoteStatus.values:
        quotes = quotes.filter(status=status)
    owner = request.GET.get("owner") or ""
    if owner == "me":
        quotes = quotes.filter(owner=user)
    elif owner.isdigit():
        quotes = quotes.filter(owner_id=int(owner))
    account = request.GET.get("account") or ""
    account_record = None
    if account.isdigit():
        account_record = Account.objects.restrict(user, Action.VIEW).filter(pk=int(account)).first()
        quotes = quotes.filter(account_id=int(account))
    text = (request.GET.get("q") or "").strip()
    if text:
        quotes = quotes.filter(
            Q(number__icontains=text) | Q(title__icontains=text) | Q(account__name__icontains=text)
        )
    page = cursor_page(request, quotes, ordering=["-id"], page_size=PAGE_SIZE)
    return render(
        request,
        "sales/quotes/quote_list.html",
        {
            "page": page,
            "status": status,
            "statuses": QuoteStatus.choices,
            "owner": owner,
            "account": account_record,
            "q": text,
            "can_add": policy.has_grant(user, QUOTE, Action.ADD),
        },
    )


def _line_rows(lines: list[dict[str, Any]], errors: dict[str, list[str]]) -> list[dict]:
    """The line editor's rows: the values as posted, the product picker's text ("id · SKU
    name" for a known product, else what was typed) and the errors by input."""
    ids = {parse_record_id(str(line.get("product") or "")) for line in lines} - {None}
    products = Product.objects.in_bulk([pk for pk in ids if 0 < pk < 2**63]) if ids else {}
    rows = []
    for index, line in enumerate(lines):
        posted = str(line.get("product") or "")
        product = products.get(parse_record_id(posted))
        rows.append(
            {
                "values": line,
                "product_label": product_label(product) if product is not None else posted,
                "errors": {
                    name: errors.get(f"lines.{index}.{name}", [])
                    for name in (
                        "product",
                        "description",
                        "quantity",
                        "unit_price",
                        "discount_percent",
                        "tax_percent",
                    )
                },
            }
        )
    return rows


def _quote_lines_as_input(quote: Quote) -> list[dict[str, Any]]:
    return [
        {
            "product": str(line.product_id or ""),
            "description": line.description,
            "quantity": str(line.quantity.normalize()),
            "unit_price": str(line.unit_price),
            "discount_percent": str(line.discount_percent.normalize()),
            "tax_percent": str(line.tax_percent.normalize()),
        }
        for line in quote.lines.order_by("position", "id")
    ]


def _split_errors(error: Exception) -> tuple[dict[str, list[str]], Exception | None]:
    """Line errors ({"lines.0.quantity": [...]}) apart; the rest goes to the form."""
    if not (isinstance(error, ValidationError) and hasattr(error, "error_dict")):
        return {}, error
    line_errors = {
        name: [str(message) for problem in problems for message in problem.messages]
        for name, problems in error.error_dict.items()
        if name.startswith("lines.")
    }
    rest = {
        name: problems for name, problems in error.error_dict.items() if name not in line_errors
    }
    return line_errors, (ValidationError(rest) if rest else None)


def editor_initial(request: HttpRequest) -> dict[str, str]:
    """A new quote's or order's fields filled from the page it was started on: `?account=`
    (the account 360 page) and `?opportunity=` (the opportunity page: its account, contact
    and the opportunity itself) — each only if the reader may see it."""
    user = request.user
    initial: dict[str, str] = {}
    opportunity_pk = request.GET.get("opportunity", "")
    if opportunity_pk.isdigit():
        opportunity = (
            Opportunity.objects.restrict(user, Action.VIEW)
            .select_related("account", "contact")
            .filter(pk=int(opportunity_pk))
            .first()
        )
        if opportunity is not None:
            initial["opportunity"] = str(opportunity.pk)
            initial["title"] = opportunity.name
            initial["account"] = lookup_label(opportunity.account)
            if opportunity.contact is not None:
                initial["contact"] = lookup_label(opportunity.contact)
            return initial
    account_pk = request.GET.get("account", "")
    if account_pk.isdigit():
        account = Account.objects.restrict(user, Action.VIEW).filter(pk=int(account_pk)).first()
        if account is not None:
            initial["account"] = lookup_label(account)
    return initial


def _editor(request: HttpRequest, quote: Quote | None) -> HttpResponse:
    user = request.user
    initial = editor_initial(request) if quote is None else {}
    form = QuoteForm(request.POST or None, user=user, quote=quote, initial=initial)
    lines = posted_lines(request.POST) if request.method == "POST" else []
    if request.method == "GET":
        lines = _quote_lines_as_input(quote) if quote is not None else [{"quantity": "1"}]
    line_errors: dict[str, list[str]] = {}
    if request.method == "POST" and form.is_valid():
        try:
            if quote is None:
                saved = quote_services.quote_create(
                    actor=user, lines=lines, **form.service_values(creating=True)
                )
            else:
                saved = quote_services.quote_update(
                    actor=user, quote=quote, lines=lines, **form.service_values(creating=False)
                )
        except Exception as error:  # noqa: BLE001 (sorted and shown, or raised again)
            line_errors, rest = _split_errors(error)
            if rest is not None:
                _call(form, _raise, error=rest)
            if "lines" in line_errors:
                form.add_error(None, line_errors.pop("lines"))
        else:
            messages.success(request, _("Quote %(quote)s saved.") % {"quote": saved})
            return redirect("sales:quote_detail", saved.pk)
    return render(
        request,
        "sales/quotes/quote_form.html",
        {
            "form": form,
            "quote": quote,
            "rows": _line_rows(lines or [{"quantity": "1"}], line_errors),
            "totals": _totals(lines, form.data.get("discount_percent") if form.is_bound else None),
        },
    )


def _raise(*, error: Exception):
    raise error


@login_required
def quote_create(request: HttpRequest) -> HttpResponse:
    _require_grant(request.user, Action.ADD)
    return _editor(request, None)


@login_required
def quote_edit(request: HttpRequest, pk: int) -> HttpResponse:
    quote = _quote_for(request.user, pk, Action.CHANGE)
    if quote.status != QuoteStatus.DRAFT:
        messages.error(request, _("Only a draft quote can be changed."))
        return redirect("sales:quote_detail", quote.pk)
    return _editor(request, quote)


def _totals(lines: list[dict[str, Any]], discount: Any) -> dict[str, Any]:
    """The amounts of the lines as they stand in the editor (bad lines left out)."""
    errors: dict[str, list] = {}
    overall = sales_lines.percent(discount, name="discount_percent", errors=errors)
    clean = []
    for line in lines:
        try:
            clean.extend(sales_lines.clean_lines([line]))
        except ValidationError:
            continue
    amounts = sales_lines.compute(clean, discount_percent=overall)
    return {
        "lines": [f"{amount.net_amount:,.2f}" for amount in amounts.lines],
        "subtotal": amounts.subtotal,
        "discount_total": amounts.discount_total,
        "effective_discount_percent": amounts.effective_discount_percent,
        "tax_total": amounts.tax_total,
        "total": amounts.total,
        "needs_approval": amounts.effective_discount_percent
        > get_settings().discount_approval_percent,
        "threshold": get_settings().discount_approval_percent,
    }


@login_required
@require_POST
def quote_totals(request: HttpRequest) -> HttpResponse:
    """htmx: the totals of the editor's lines, computed on the server."""
    _require_grant(request.user, Action.VIEW)
    return render(
        request,
        "sales/quotes/_totals.html",
        {"totals": _totals(posted_lines(request.POST), request.POST.get("discount_percent"))},
    )


@login_required
def quote_line_row(request: HttpRequest) -> HttpResponse:
    """htmx: one line of the editor; with `product`, its description, unit, price (the
    catalogue's price for the account) and VAT filled in."""
    user = request.user
    _require_grant(user, Action.VIEW)
    values: dict[str, Any] = {"quantity": request.GET.get("line-quantity") or "1"}
    product_pk = parse_record_id(request.GET.get("line-product", ""))
    if product_pk is not None and product_pk < 2**63:
        product = (
            Product.objects.filter(pk=product_pk, is_active=True).select_related("tax_rate").first()
        )
        if product is not None:
            account = None
            account_pk = request.GET.get("account", "")
            account_id = parse_record_id(account_pk)
            if account_id is not None:
                account = Account.objects.restrict(user, Action.VIEW).filter(pk=account_id).first()
            price_list_pk = request.GET.get("price_list", "")
            price_of = quote_services.price_of_for(
                {
                    "account": account,
                    "currency": (request.GET.get("currency") or "").upper() or None,
                    "price_list": PriceList.objects.filter(
                        pk=int(price_list_pk), is_active=True
                    ).first()
                    if price_list_pk.isdigit()
                    else None,
                }
            )
            try:
                quantity = Decimal(values["quantity"])
            except ArithmeticError:
                quantity = Decimal(1)
            language = request.GET.get("language")
            with translation.override(language if language in quote_services.LANGUAGES else None):
                description = product.display_name if language else None
            values.update(
                product=str(product.pk),
                description=description or product.display_name,
                unit_price=str(price_of(product, quantity) if quantity > 0 else product.list_price),
                tax_percent=str(product.tax_rate.rate.normalize()) if product.tax_rate_id else "0",
                discount_percent=request.GET.get("line-discount_percent") or "0",
            )
    return render(
        request,
        "sales/quotes/_line_row.html",
        {"row": _line_rows([values], {})[0]},
    )


def _versions(quote: Quote) -> list[Quote]:
    return list(
        Quote.objects.filter(number=quote.number)
        .only("pk", "number", "version", "status", "total")
        .order_by("version")
    )


@login_required
def quote_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    quote = _quote_for(user, pk)
    can_change = policy.can(user, Action.CHANGE, quote)
    versions = [v for v in _versions(quote) if policy.can(user, Action.VIEW, v)]
    latest = max((v.version for v in versions), default=quote.version)
    status = quote.status
    return render(
        request,
        "sales/quotes/quote_detail.html",
        {
            "quote": quote,
            "lines": list(quote.lines.select_related("product").order_by("position", "id")),
            "versions": versions,
            "approval": quote_hooks.approval_info(quote),
            "rejection": quote_services.rejection_comment(quote),
            "threshold": get_settings().discount_approval_percent,
            "can_change": can_change,
            "actions": {
                "edit": can_change and status == QuoteStatus.DRAFT,
                "submit": can_change and status == QuoteStatus.DRAFT,
                "send": can_change and status in quote_services.SENDABLE,
                "accept": can_change and status in quote_services.ANSWERABLE,
                "decline": can_change and status in quote_services.ANSWERABLE,
                "new_version": can_change
                and quote.version == latest
                and status not in (QuoteStatus.ACCEPTED, QuoteStatus.SUPERSEDED),
            },
            "send_form": SendForm(),
            "decline_form": DeclineForm(),
            "send_refusal": quote_services.send_refusal(quote)
            if status in quote_services.SENDABLE
            else None,
            "today": timezone.localdate(),
        },
    )


def _action(request: HttpRequest, pk: int, service, done: str, **values) -> HttpResponse:
    user = request.user
    quote = _quote_for(user, pk, Action.CHANGE)
    result, ok = _message_call(request, service, actor=user, quote=quote, **values)
    if ok:
        messages.success(request, done)
        if isinstance(result, Quote) and result.pk != quote.pk:
            return redirect("sales:quote_detail", result.pk)
    return redirect("sales:quote_detail", quote.pk)


@login_required
@require_POST
def quote_submit(request: HttpRequest, pk: int) -> HttpResponse:
    return _action(request, pk, quote_services.quote_submit, _("Quote submitted."))


@login_required
@require_POST
def quote_send(request: HttpRequest, pk: int) -> HttpResponse:
    return _action(
        request,
        pk,
        quote_services.quote_send,
        _("Quote sent."),
        message=request.POST.get("message", ""),
    )


@login_required
@require_POST
def quote_accept(request: HttpRequest, pk: int) -> HttpResponse:
    return _action(
        request, pk, quote_services.quote_accept, _("Quote accepted: the order is made.")
    )


@login_required
@require_POST
def quote_decline(request: HttpRequest, pk: int) -> HttpResponse:
    return _action(
        request,
        pk,
        quote_services.quote_decline,
        _("Quote declined."),
        reason=request.POST.get("reason", ""),
    )


@login_required
@require_POST
def quote_new_version(request: HttpRequest, pk: int) -> HttpResponse:
    return _action(request, pk, quote_services.quote_new_version, _("New version made."))


@login_required
def quote_pdf_download(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user
    quote = _quote_for(user, pk)
    content = quote_pdf.render_quote_pdf(quote)
    trail.record(actor=user, action="quote.pdf", target=quote)
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{quote_pdf.filename(quote)}"'
    return response
