"""Every write to quotes, and to the sales settings (letterhead and defaults).

A quote is written while it is a draft: its lines are cleaned by `rapport.sales.lines`
(each problem named by line and field, nothing stored until every line is clean) and its
amounts computed by `rapport.sales.pricing` and stored on the quote and its lines.

Status moves:

    draft ──submit──► approved ──send──► sent ──accept──► accepted (→ one order)
      ▲        │                          │  └─decline──► declined
      │        └──► awaiting approval ────┘ (approved)     past valid_until ► expired
      └──────────── (rejected, with the approver's comment)

Approval. When the effective discount (every discount over the undiscounted price) is above
`SalesSettings.discount_approval_percent`, `quote_submit` asks the approval engine through
the guard hook (`rapport.core.guards`): the automation app registers quotes as a guarded type
(`automation/sales_quotes.py`) and installs the process "折扣超过阈值 / Discount above the
threshold" whose one step is the submitter's manager. The filter language compares a field
with a fixed value, not with a setting, so THIS service decides whether approval is needed
(it asks only above the threshold) and the installed process has an empty condition; an
administrator may still narrow it (e.g. only quotes above 1,000,000). When no active process
applies, nothing waits (the guard hook's rule) and the quote is approved at once — the same
as below the threshold. The decision comes back through `guards.register_action`:
approved → approved (sendable); rejected → draft again, with the approver's comment in the
quote's history.

Versions. `quote_new_version` copies a quote as a draft with the same number and
`version + 1`; when the new version is sent, the older open versions are superseded.
"""

from __future__ import annotations

import logging
import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from rapport.core import events, guards, locks, trail
from rapport.core.errors import PermissionDenied
from rapport.customers.models import Account, Contact
from rapport.identity import policy
from rapport.identity.models import Action, User

from .. import lines as sales_lines
from ..config import get_settings
from ..models import Opportunity, PriceList, Quote, QuoteLine, QuoteStatus, SalesSettings
from ..numbering import next_number

logger = logging.getLogger(__name__)

TYPE = Quote.security_type
FIELDS = (
    "title",
    "account",
    "contact",
    "opportunity",
    "price_list",
    "currency",
    "language",
    "status",
    "issue_date",
    "valid_until",
    "discount_percent",
    "subtotal",
    "discount_total",
    "effective_discount_percent",
    "tax_total",
    "total",
    "terms",
    "notes",
    "owner",
)
EDITABLE = (
    "title",
    "account",
    "contact",
    "opportunity",
    "price_list",
    "currency",
    "language",
    "issue_date",
    "valid_until",
    "discount_percent",
    "terms",
    "notes",
    "lines",
)
LINE_FIELDS = ("product", "description", "quantity", "unit", "unit_price")
# the versions a newer sent version replaces
REPLACEABLE = (QuoteStatus.DRAFT, QuoteStatus.APPROVED, QuoteStatus.SENT, QuoteStatus.EXPIRED)
SENDABLE = (QuoteStatus.APPROVED, QuoteStatus.SENT)
ANSWERABLE = (QuoteStatus.APPROVED, QuoteStatus.SENT)
LANGUAGES = ("zh-hans", "en")
CURRENCY = re.compile(r"^[A-Z]{3}$")
MAX_TEXT = 20_000
_UNCHANGED: Any = object()


# --- helpers -------------------------------------------------------------------------------


def _denied() -> PermissionDenied:
    return PermissionDenied(_("You may not do this to this quote."), code="quote_denied")


def _require(actor: User, action: str, quote: Quote) -> None:
    if not policy.can(actor, action, quote):
        raise _denied()


def _refuse(name: str, message: str, code: str) -> ValidationError:
    return ValidationError({name: ValidationError(message, code=code)})


def _announce(topic: str, quote: Quote, **extra: Any) -> None:
    events.emit(topic, {"type": TYPE, "id": quote.pk, **extra})


def _status_changed(quote: Quote, before: str) -> None:
    _announce("record.updated", quote, fields=["status"])
    _announce("quote.status_changed", quote, before=before, after=quote.status)


def price_of_for(quote_values: dict[str, Any]):
    """The unit price of a product on this quote: its price list's price when it names one,
    else the catalogue's price for its account, in its currency, on its date
    (`rapport.sales.prices`), else the product's list price."""
    from ..prices import price_of_for as catalogue_price_of

    account = quote_values.get("account")
    price_list = quote_values.get("price_list")
    return catalogue_price_of(
        account=account if isinstance(account, Account) else None,
        currency=quote_values.get("currency") or get_settings().default_currency,
        on=quote_values.get("issue_date") or timezone.localdate(),
        price_list=price_list if isinstance(price_list, PriceList) else None,
    )


def _raw_lines(lines: Any) -> list[dict[str, Any]]:
    if lines is None:
        return []
    if not isinstance(lines, list | tuple):
        raise _refuse("lines", _("Give the lines as a list."), "invalid")
    raw = []
    for line in lines:
        if isinstance(line, QuoteLine):
            raw.append(
                {
                    "product": line.product,
                    "description": line.description,
                    "quantity": line.quantity,
                    "unit": line.unit,
                    "unit_price": line.unit_price,
                    "discount_percent": line.discount_percent,
                    "tax_percent": line.tax_percent,
                }
            )
        elif isinstance(line, dict):
            raw.append(line)
        else:
            raise _refuse("lines", _("Give each line as an object."), "invalid")
    return raw


def _clean(actor: User, values: dict[str, Any], errors: dict[str, list]) -> dict[str, Any]:
    """Normalise the quote's own fields (not its lines); related records must be ones the
    actor may see."""

    def fail(name: str, message: str, code: str) -> None:
        errors.setdefault(name, []).append(ValidationError(message, code=code))

    cleaned: dict[str, Any] = {}
    if "title" in values:
        title = " ".join(str(values["title"] or "").split())
        if len(title) > 200:
            fail("title", _("At most %(n)d characters.") % {"n": 200}, "max_length")
        cleaned["title"] = title
    if "account" in values:
        account = values["account"]
        if not (isinstance(account, Account) and policy.can(actor, Action.VIEW, account)):
            fail("account", _("Choose an account you can see."), "invalid")
        cleaned["account"] = account
    if "contact" in values:
        contact = values["contact"]
        if contact is not None and not (
            isinstance(contact, Contact) and policy.can(actor, Action.VIEW, contact)
        ):
            fail("contact", _("Choose a contact you can see."), "invalid")
        cleaned["contact"] = contact
    if "opportunity" in values:
        opportunity = values["opportunity"]
        if opportunity is not None and not (
            isinstance(opportunity, Opportunity) and policy.can(actor, Action.VIEW, opportunity)
        ):
            fail("opportunity", _("Choose an opportunity you can see."), "invalid")
        cleaned["opportunity"] = opportunity
    if "price_list" in values:
        price_list = values["price_list"]
        if price_list is not None and not (
            isinstance(price_list, PriceList) and price_list.is_active
        ):
            fail("price_list", _("Choose an active price list."), "invalid")
        cleaned["price_list"] = price_list
    if "currency" in values:
        currency = str(values["currency"] or "").strip().upper()
        if not CURRENCY.match(currency):
            fail("currency", _("Enter a three-letter currency code (CNY, USD …)."), "invalid")
        cleaned["currency"] = currency
    if "language" in values:
        language = str(values["language"] or "")
        if language not in LANGUAGES:
            fail(
                "language",
                _("“%(value)s” is not one of: %(choices)s.")
                % {"value": language, "choices": ", ".join(LANGUAGES)},
                "invalid_choice",
            )
        cleaned["language"] = language
    for name in ("issue_date", "valid_until"):
        if name in values:
            value = values[name]
            if value is not None and not isinstance(value, date):
                fail(name, _("Enter a valid date."), "invalid")
            cleaned[name] = value
    if "discount_percent" in values:
        cleaned["discount_percent"] = sales_lines.percent(
            values["discount_percent"], name="discount_percent", errors=errors
        )
    for name in ("terms", "notes"):
        if name in values:
            text = str(values[name] or "").strip()
            if len(text) > MAX_TEXT:
                fail(name, _("At most %(n)d characters.") % {"n": MAX_TEXT}, "max_length")
            cleaned[name] = text
    return cleaned


def _check_together(quote_values: dict[str, Any], errors: dict[str, list]) -> None:
    account = quote_values.get("account")
    contact = quote_values.get("contact")
    opportunity = quote_values.get("opportunity")
    if (
        isinstance(account, Account)
        and isinstance(contact, Contact)
        and not contact.accounts.filter(pk=account.pk).exists()
    ):
        errors.setdefault("contact", []).append(
            ValidationError(_("Choose a contact of this account."), code="other_account")
        )
    if (
        isinstance(account, Account)
        and isinstance(opportunity, Opportunity)
        and opportunity.account_id != account.pk
    ):
        errors.setdefault("opportunity", []).append(
            ValidationError(_("Choose an opportunity of this account."), code="other_account")
        )
    price_list, currency = quote_values.get("price_list"), quote_values.get("currency")
    if isinstance(price_list, PriceList) and currency and price_list.currency != currency:
        errors.setdefault("price_list", []).append(
            ValidationError(
                _("This price list is in %(list)s; the quote is in %(quote)s.")
                % {"list": price_list.currency, "quote": currency},
                code="other_currency",
            )
        )
    issue, until = quote_values.get("issue_date"), quote_values.get("valid_until")
    if isinstance(issue, date) and isinstance(until, date) and until < issue:
        errors.setdefault("valid_until", []).append(
            ValidationError(_("The quote cannot expire before its date."), code="before_issue")
        )


def default_terms(language: str, current: SalesSettings | None = None) -> str:
    current = current or get_settings()
    if language == "en":
        return current.quote_terms_en or current.quote_terms
    return current.quote_terms or current.quote_terms_en


def _write_lines(quote: Quote, clean: list[sales_lines.CleanLine], replace: bool) -> None:
    """Store the lines and the amounts (on the lines and the quote)."""
    amounts = sales_lines.compute(clean, discount_percent=quote.discount_percent)
    quote.subtotal = amounts.subtotal
    quote.discount_total = amounts.discount_total
    quote.effective_discount_percent = amounts.effective_discount_percent
    quote.tax_total = amounts.tax_total
    quote.total = amounts.total
    if replace:
        QuoteLine.objects.filter(quote=quote).delete()
    QuoteLine.objects.bulk_create(
        [
            QuoteLine(
                quote=quote,
                position=position,
                product=line.product,
                description=line.description,
                quantity=line.quantity,
                unit=line.unit,
                unit_price=line.unit_price,
                discount_percent=line.discount_percent,
                tax_percent=line.tax_percent,
                net_amount=line_amounts.net_amount,
                tax_amount=line_amounts.tax_amount,
                total_amount=line_amounts.total_amount,
            )
            for position, (line, line_amounts) in enumerate(
                zip(clean, amounts.lines, strict=True), start=1
            )
        ]
    )


def _lines_snapshot(quote: Quote) -> list[list[Any]]:
    return [
        [
            line.product_id,
            line.description,
            str(line.quantity),
            str(line.unit_price),
            str(line.discount_percent),
            str(line.tax_percent),
        ]
        for line in QuoteLine.objects.filter(quote=quote).order_by("position", "id")
    ]


def _locked(quote: Quote) -> Quote:
    return Quote.objects.select_for_update().get(pk=quote.pk)


def _move(
    actor: User, quote: Quote, status: str, action: str, extra: dict | None = None, **fields: Any
) -> Quote:
    """Set the status (and `fields`), audit and announce it; inside a transaction."""
    before = quote.status
    quote.status = status
    for name, value in fields.items():
        setattr(quote, name, value)
    quote.save(update_fields=["status", "updated_at", *fields])
    trail.record(
        actor=actor,
        action=action,
        target=quote,
        changes={"status": [before, status]},
        extra=extra,
    )
    _status_changed(quote, before)
    return quote


# --- create / update -----------------------------------------------------------------------


def quote_create(
    *,
    actor: User,
    account: Account,
    lines: list[Any],
    contact: Contact | None = None,
    opportunity: Opportunity | None = None,
    title: str = "",
    price_list: PriceList | None = None,
    currency: str | None = None,
    language: str = "zh-hans",
    discount_percent: Any = 0,
    issue_date: date | None = None,
    valid_until: date | None = None,
    terms: str | None = None,
    notes: str = "",
    owner: User | None = None,
) -> Quote:
    """A new draft quote with its number (Q2026-000001) and lines; amounts computed and
    stored. The currency, validity and terms default from the sales settings (the terms in
    the quote's language); the owner is the actor unless another is given (and allowed)."""
    if not policy.has_grant(actor, TYPE, Action.ADD):
        raise _denied()
    current = get_settings()
    errors: dict[str, list[ValidationError]] = {}
    values = {
        "title": title,
        "account": account,
        "contact": contact,
        "opportunity": opportunity,
        "price_list": price_list,
        "currency": currency or current.default_currency,
        "language": language,
        "issue_date": issue_date or timezone.localdate(),
        "valid_until": valid_until,
        "discount_percent": discount_percent,
        "notes": notes,
    }
    if terms is not None:
        values["terms"] = terms
    cleaned = _clean(actor, values, errors)
    if cleaned.get("valid_until") is None and isinstance(cleaned.get("issue_date"), date):
        cleaned["valid_until"] = cleaned["issue_date"] + timedelta(days=current.quote_valid_days)
    if "terms" not in cleaned:
        cleaned["terms"] = default_terms(cleaned.get("language") or "zh-hans", current)
    _check_together(cleaned, errors)
    clean_lines = _clean_lines(lines, cleaned, errors)
    if errors:
        raise ValidationError(errors)
    quote = Quote(**cleaned, owner=owner or actor, created_by=actor, status=QuoteStatus.DRAFT)
    if not policy.can(actor, Action.ADD, quote):
        raise _refuse("owner", _("You may not make quotes for this person."), "invalid")
    with transaction.atomic():
        quote.number = next_number("quote", year=quote.issue_date.year)
        quote.version = 1
        quote.save()
        _write_lines(quote, clean_lines, replace=False)
        quote.save()
        trail.record(
            actor=actor,
            action="create",
            target=quote,
            changes=trail.diff({}, trail.snapshot(quote, FIELDS)),
            extra={"number": quote.number, "lines": len(clean_lines)},
        )
        _announce("record.created", quote)
    return quote


def _clean_lines(
    lines: Any, quote_values: dict[str, Any], errors: dict[str, list]
) -> list[sales_lines.CleanLine]:
    # a line's default description is the product's name in the quote's language
    language = quote_values.get("language")
    try:
        with translation.override(language if language in LANGUAGES else None):
            return sales_lines.clean_lines(_raw_lines(lines), price_of=price_of_for(quote_values))
    except ValidationError as error:
        for name, problems in error.error_dict.items():
            errors.setdefault(name, []).extend(problems)
        return []


def _ensure_draft(quote: Quote) -> None:
    if quote.status != QuoteStatus.DRAFT:
        raise _refuse(
            "status",
            _("Only a draft quote can be changed (this one is “%(status)s”).")
            % {"status": quote.get_status_display()},
            "not_draft",
        )


def quote_update(*, actor: User, quote: Quote, **changes: Any) -> Quote:
    """Change a draft: its own fields and, when `lines` is given, all its lines (replaced).
    Amounts are computed again; anything but a draft is refused (status named)."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationError(
            {name: ValidationError(_("Unknown field."), "unknown_field") for name in unknown}
        )
    _require(actor, Action.CHANGE, quote)
    with transaction.atomic():
        quote = _locked(quote)
        _ensure_draft(quote)
        locks.ensure_unlocked(quote)
        errors: dict[str, list[ValidationError]] = {}
        cleaned = _clean(actor, {k: v for k, v in changes.items() if k != "lines"}, errors)
        merged = {
            name: getattr(quote, name)
            for name in ("account", "contact", "opportunity", "price_list", "currency")
        }
        merged.update(
            issue_date=quote.issue_date, valid_until=quote.valid_until, language=quote.language
        )
        merged.update(cleaned)
        _check_together(merged, errors)
        new_lines = None
        if "lines" in changes:
            new_lines = _clean_lines(changes["lines"], merged, errors)
        if errors:
            raise ValidationError(errors)
        before = trail.snapshot(quote, FIELDS)
        lines_before = _lines_snapshot(quote)
        for name, value in cleaned.items():
            setattr(quote, name, value)
        if new_lines is not None:
            _write_lines(quote, new_lines, replace=True)
        elif "discount_percent" in cleaned:
            existing = [
                sales_lines.CleanLine(
                    product=line.product,
                    description=line.description,
                    quantity=line.quantity,
                    unit=line.unit,
                    unit_price=line.unit_price,
                    discount_percent=line.discount_percent,
                    tax_percent=line.tax_percent,
                )
                for line in quote.lines.select_related("product").order_by("position", "id")
            ]
            _write_lines(quote, existing, replace=True)
        changed = trail.diff(before, trail.snapshot(quote, FIELDS))
        lines_after = _lines_snapshot(quote)
        if lines_after != lines_before:
            changed["lines"] = [lines_before, lines_after]
        if not changed:
            return quote
        quote.save()
        trail.record(actor=actor, action="update", target=quote, changes=changed)
        _announce("record.updated", quote, fields=sorted(changed))
    return quote


# --- versions ------------------------------------------------------------------------------


def quote_new_version(*, actor: User, quote: Quote) -> Quote:
    """A copy of the quote as a draft with the same number and the next version (its lines,
    discounts and terms; today's date and a fresh validity). The older version stays as it is
    until the new one is sent, then it is superseded. Only the latest version may be copied;
    an accepted or superseded quote may not."""
    _require(actor, Action.CHANGE, quote)
    if not policy.has_grant(actor, TYPE, Action.ADD):
        raise _denied()
    current = get_settings()
    with transaction.atomic():
        quote = _locked(quote)
        if quote.status in (QuoteStatus.ACCEPTED, QuoteStatus.SUPERSEDED):
            raise _refuse(
                "status",
                _("An accepted or replaced quote gets no new version."),
                "final",
            )
        latest = Quote.objects.filter(number=quote.number).order_by("-version").first()
        if latest is not None and latest.pk != quote.pk:
            raise _refuse(
                "version",
                _("Version %(version)d is newer: make the new version from it.")
                % {"version": latest.version},
                "not_latest",
            )
        today = timezone.localdate()
        copy = Quote(
            number=quote.number,
            version=quote.version + 1,
            previous=quote,
            title=quote.title,
            opportunity=quote.opportunity,
            account=quote.account,
            contact=quote.contact,
            price_list=quote.price_list,
            currency=quote.currency,
            language=quote.language,
            status=QuoteStatus.DRAFT,
            issue_date=today,
            valid_until=today + timedelta(days=current.quote_valid_days),
            discount_percent=quote.discount_percent,
            subtotal=quote.subtotal,
            discount_total=quote.discount_total,
            effective_discount_percent=quote.effective_discount_percent,
            tax_total=quote.tax_total,
            total=quote.total,
            terms=quote.terms,
            notes=quote.notes,
            owner=quote.owner,
            created_by=actor,
        )
        copy.save()
        QuoteLine.objects.bulk_create(
            [
                QuoteLine(
                    quote=copy,
                    position=line.position,
                    product_id=line.product_id,
                    description=line.description,
                    quantity=line.quantity,
                    unit=line.unit,
                    unit_price=line.unit_price,
                    discount_percent=line.discount_percent,
                    tax_percent=line.tax_percent,
                    net_amount=line.net_amount,
                    tax_amount=line.tax_amount,
                    total_amount=line.total_amount,
                )
                for line in quote.lines.order_by("position", "id")
            ]
        )
        trail.record(
            actor=actor,
            action="create",
            target=copy,
            changes=trail.diff({}, trail.snapshot(copy, FIELDS)),
            extra={"number": copy.number, "version": copy.version, "from": quote.pk},
        )
        _announce("record.created", copy)
    return copy


# --- approval ------------------------------------------------------------------------------


def needs_approval(quote: Quote, current: SalesSettings | None = None) -> bool:
    """Whether the quote's effective discount is above the approval threshold."""
    current = current or get_settings()
    return quote.effective_discount_percent > current.discount_approval_percent


def quote_submit(*, actor: User, quote: Quote) -> Quote:
    """Make a draft ready to send. At or below the discount threshold it is approved at once
    (no request); above it, it waits for the approval process on quotes (the submitter's
    manager by default) and is locked until that ends. When no active process applies,
    nothing waits and it is approved at once. A step that cannot be routed (the submitter has
    no manager) refuses the submission, naming it, with nothing stored."""
    _require(actor, Action.CHANGE, quote)
    current = get_settings()
    with transaction.atomic():
        quote = _locked(quote)
        _ensure_draft(quote)
        if not quote.lines.exists():
            raise _refuse("lines", _("Add at least one line."), "required")
        if needs_approval(quote, current):
            quote = _move(
                actor,
                quote,
                QuoteStatus.PENDING_APPROVAL,
                "quote.submit",
                extra={
                    "effective_discount_percent": str(quote.effective_discount_percent),
                    "threshold": str(current.discount_approval_percent),
                },
            )
            if guards.submit(quote, actor=actor, on_behalf_of=actor):
                return quote
            # no process applies: nothing waits
        return _move(
            actor, quote, QuoteStatus.APPROVED, "quote.approve", approved_at=timezone.now()
        )


def quote_approval_decided(quote: Quote, *, actor: User, approved: bool, comment: str) -> None:
    """The approval of a quote ended (`core.guards.register_action`, called by the approval
    engine in the deciding transaction, as its system actor): approved → sendable; rejected
    → a draft again, the approver's comment kept in the quote's history."""
    quote = _locked(quote)
    if quote.status != QuoteStatus.PENDING_APPROVAL:
        return
    if approved:
        _move(
            actor,
            quote,
            QuoteStatus.APPROVED,
            "quote.approve",
            extra={"by_approval": True, "comment": comment},
            approved_at=timezone.now(),
        )
    else:
        _move(
            actor,
            quote,
            QuoteStatus.DRAFT,
            "quote.reject",
            extra={"by_approval": True, "comment": comment},
        )


def rejection_comment(quote: Quote) -> str:
    """The comment of the approval that last sent this draft back, or ""."""
    if quote.status != QuoteStatus.DRAFT:
        return ""
    from rapport.audit.models import AuditEvent

    event = (
        AuditEvent.objects.filter(
            object_type=TYPE, object_id=str(quote.pk), action__in=["quote.reject", "quote.submit"]
        )
        .order_by("-seq")
        .first()
    )
    if event is None or event.action != "quote.reject":
        return ""
    return str((event.extra or {}).get("comment") or "")


# --- sending -------------------------------------------------------------------------------


def recipient(quote: Quote) -> str:
    contact = quote.contact
    if contact is None or not contact.emails:
        return ""
    return str(contact.emails[0])


def send_refusal(quote: Quote) -> ValidationError | None:
    """Why the quote cannot be e-mailed to its contact (none, no address, or they withdrew
    e-mail consent for service), or None."""
    from rapport.customers.querysets import consent_allows

    contact = quote.contact
    if contact is None:
        return _refuse("contact", _("Choose the contact to send the quote to."), "required")
    if not recipient(quote):
        return _refuse(
            "contact",
            _("%(name)s has no e-mail address.") % {"name": contact.name},
            "no_email",
        )
    if not consent_allows(contact, channel="email", purpose="service"):
        return _refuse(
            "contact",
            _(
                "%(name)s withdrew consent to e-mails about service: the quote cannot be "
                "e-mailed. Hand it over another way (download the PDF)."
            )
            % {"name": contact.name},
            "no_consent",
        )
    return None


def quote_email(quote: Quote, pdf: bytes, message: str = "") -> None:
    """E-mail the quote with its PDF to its contact (after commit)."""
    from django.core.mail import EmailMessage
    from django.template.loader import render_to_string

    with translation.override(quote.language):
        current = get_settings()
        from ..quote_pdf import letterhead

        context = {
            "quote": quote,
            "company_name": letterhead(current, quote.language)["name"],
            "message": message,
        }
        subject = render_to_string("sales/quotes/email_subject.txt", context).strip()
        body = render_to_string("sales/quotes/email_body.txt", context)
        mail = EmailMessage(
            subject=" ".join(subject.split()),
            body=body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[recipient(quote)],
            reply_to=[quote.owner.email] if quote.owner.email else None,
        )
        mail.attach(f"{quote.number}-v{quote.version}.pdf", pdf, "application/pdf")
        mail.send(fail_silently=False)


def quote_send(*, actor: User, quote: Quote, message: str = "") -> Quote:
    """Send an approved quote (or send it again): its PDF, in its language, is e-mailed to its
    contact after commit — refused when they have no address or withdrew e-mail consent for
    service. Status sent, `sent_at` now; older open versions of the number are superseded."""
    from ..quote_pdf import render_quote_pdf

    _require(actor, Action.CHANGE, quote)
    message = str(message or "").strip()
    if len(message) > 5000:
        raise _refuse("message", _("At most %(n)d characters.") % {"n": 5000}, "max_length")
    with transaction.atomic():
        quote = _locked(quote)
        if quote.status not in SENDABLE:
            raise _refuse(
                "status",
                _("Only an approved quote can be sent (this one is “%(status)s”).")
                % {"status": quote.get_status_display()},
                "not_approved",
            )
        if quote.valid_until is not None and quote.valid_until < timezone.localdate():
            raise _refuse(
                "valid_until",
                _("This quote has expired: make a new version to send it again."),
                "expired",
            )
        refusal = send_refusal(quote)
        if refusal is not None:
            raise refusal
        pdf = render_quote_pdf(quote)
        now = timezone.now()
        address = recipient(quote)
        quote = _move(
            actor, quote, QuoteStatus.SENT, "quote.send", extra={"to": address}, sent_at=now
        )
        older = list(
            Quote.objects.select_for_update()
            .filter(number=quote.number, status__in=REPLACEABLE)
            .exclude(pk=quote.pk)
        )
        for version in older:
            _move(actor, version, QuoteStatus.SUPERSEDED, "quote.supersede", extra={"by": quote.pk})
        sent = quote
        transaction.on_commit(lambda: quote_email(sent, pdf, message))
    return quote


# --- the customer's answer -----------------------------------------------------------------


def _ensure_answerable(quote: Quote) -> None:
    if quote.status not in ANSWERABLE:
        raise _refuse(
            "status",
            _(
                "Only an approved or sent quote can be accepted or declined (this one is “%(status)s”)."
            )
            % {"status": quote.get_status_display()},
            "not_open",
        )
    if quote.valid_until is not None and quote.valid_until < timezone.localdate():
        raise _refuse("valid_until", _("This quote has expired."), "expired")


def quote_accept(*, actor: User, quote: Quote):
    """The customer accepted: the quote is accepted and its order created from it in the same
    transaction (`services.orders.order_create_from_quote`). Accepting it again returns the
    same quote and makes no second order. Returns the quote."""
    from .orders import order_create_from_quote

    _require(actor, Action.CHANGE, quote)
    with transaction.atomic():
        quote = _locked(quote)
        if quote.status == QuoteStatus.ACCEPTED:
            return quote
        _ensure_answerable(quote)
        quote = _move(
            actor, quote, QuoteStatus.ACCEPTED, "quote.accept", accepted_at=timezone.now()
        )
        order_create_from_quote(actor=actor, quote=quote)
    return quote


def quote_decline(*, actor: User, quote: Quote, reason: str) -> Quote:
    """The customer declined (the reason is required)."""
    _require(actor, Action.CHANGE, quote)
    reason = " ".join(str(reason or "").split())
    if not reason:
        raise _refuse("reason", _("Say why the customer declined."), "required")
    if len(reason) > 300:
        raise _refuse("reason", _("At most %(n)d characters.") % {"n": 300}, "max_length")
    with transaction.atomic():
        quote = _locked(quote)
        _ensure_answerable(quote)
        return _move(
            actor,
            quote,
            QuoteStatus.DECLINED,
            "quote.decline",
            extra={"reason": reason},
            declined_reason=reason,
        )


def quotes_expire(*, today: date | None = None, limit: int = 1000) -> int:
    """Approved and sent quotes past their validity become expired (the daily beat task).
    Idempotent: an expired quote is not touched again. Returns how many expired."""
    today = today or timezone.localdate()
    due = list(
        Quote.objects.filter(status__in=ANSWERABLE, valid_until__lt=today)
        .order_by("id")
        .values_list("pk", flat=True)[:limit]
    )
    count = 0
    for pk in due:
        with transaction.atomic():
            quote = Quote.objects.select_for_update().filter(pk=pk).first()
            if quote is None or quote.status not in ANSWERABLE or quote.valid_until >= today:
                continue
            _move(None, quote, QuoteStatus.EXPIRED, "quote.expire")  # type: ignore[arg-type]
            count += 1
    return count


# --- sales settings ------------------------------------------------------------------------

SETTINGS_FIELDS = (
    "company_name",
    "company_name_en",
    "address",
    "address_en",
    "phone",
    "email",
    "website",
    "tax_number",
    "bank_name",
    "bank_account",
    "logo",
    "default_currency",
    "quote_valid_days",
    "discount_approval_percent",
    "invoice_due_days",
    "allow_backorders",
    "quote_terms",
    "quote_terms_en",
)
LOGO_TYPES = {"image/png", "image/jpeg"}
MAX_LOGO = 1024 * 1024


def can_manage_settings(user: User) -> bool:
    return policy.has_grant(user, SalesSettings.security_type, Action.MANAGE)


def settings_update(*, actor: User, **changes: Any) -> SalesSettings:
    """Change the letterhead and the sales defaults (the `manage` grant on sales settings).
    `logo`: an uploaded PNG or JPEG up to 1 MB, or None to remove it. Audited with
    before/after."""
    from django.core.validators import URLValidator, validate_email

    if not can_manage_settings(actor):
        raise PermissionDenied()
    unknown = set(changes) - set(SETTINGS_FIELDS)
    if unknown:
        raise ValidationError(
            {name: ValidationError(_("Unknown field."), "unknown_field") for name in unknown}
        )
    errors: dict[str, list[ValidationError]] = {}

    def fail(name: str, message: str, code: str) -> None:
        errors.setdefault(name, []).append(ValidationError(message, code=code))

    cleaned: dict[str, Any] = {}
    lengths = {
        "company_name": 200,
        "company_name_en": 200,
        "address": 300,
        "address_en": 300,
        "phone": 40,
        "tax_number": 30,
        "bank_name": 120,
        "bank_account": 60,
        "email": 254,
        "website": 200,
    }
    for name, limit in lengths.items():
        if name in changes:
            text = " ".join(str(changes[name] or "").split())
            if len(text) > limit:
                fail(name, _("At most %(n)d characters.") % {"n": limit}, "max_length")
            cleaned[name] = text
    if cleaned.get("email"):
        try:
            validate_email(cleaned["email"])
        except ValidationError:
            fail("email", _("Enter a valid e-mail address."), "invalid")
    if cleaned.get("website"):
        try:
            URLValidator(schemes=["http", "https"])(cleaned["website"])
        except ValidationError:
            fail("website", _("Enter a valid web address."), "invalid")
    if "default_currency" in changes:
        currency = str(changes["default_currency"] or "").strip().upper()
        if not CURRENCY.match(currency):
            fail(
                "default_currency",
                _("Enter a three-letter currency code (CNY, USD …)."),
                "invalid",
            )
        cleaned["default_currency"] = currency
    for name, low, high in (("quote_valid_days", 1, 3650), ("invoice_due_days", 0, 3650)):
        if name in changes:
            value = changes[name]
            try:
                number = int(str(value).strip())
            except (TypeError, ValueError):
                fail(name, _("Enter a whole number."), "invalid")
                continue
            if not low <= number <= high:
                fail(
                    name,
                    _("Enter a number from %(low)d to %(high)d.") % {"low": low, "high": high},
                    "out_of_range",
                )
            cleaned[name] = number
    if "discount_approval_percent" in changes:
        cleaned["discount_approval_percent"] = sales_lines.percent(
            changes["discount_approval_percent"],
            name="discount_approval_percent",
            errors=errors,
            default=Decimal("10"),
        )
    if "allow_backorders" in changes:
        cleaned["allow_backorders"] = bool(changes["allow_backorders"])
    for name in ("quote_terms", "quote_terms_en"):
        if name in changes:
            text = str(changes[name] or "").strip()
            if len(text) > MAX_TEXT:
                fail(name, _("At most %(n)d characters.") % {"n": MAX_TEXT}, "max_length")
            cleaned[name] = text
    logo = changes.get("logo", _UNCHANGED)
    if logo is not _UNCHANGED and logo not in (None, False, ""):
        if not isinstance(logo, UploadedFile):
            fail("logo", _("Upload an image."), "invalid")
        elif (logo.content_type or "") not in LOGO_TYPES:
            fail("logo", _("Upload a PNG or JPEG image."), "invalid_type")
        elif logo.size > MAX_LOGO:
            fail("logo", _("The image is larger than 1 MB."), "too_large")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        get_settings()
        current = SalesSettings.objects.select_for_update().order_by("pk").first()
        plain = [name for name in SETTINGS_FIELDS if name != "logo"]
        before = trail.snapshot(current, plain)
        before["logo"] = current.logo.name if current.logo else ""
        for name, value in cleaned.items():
            setattr(current, name, value)
        if logo is not _UNCHANGED:
            if logo in (None, False, ""):
                current.logo = ""
            else:
                current.logo.save(logo.name, logo, save=False)
        after = trail.snapshot(current, plain)
        after["logo"] = current.logo.name if current.logo else ""
        changed = trail.diff(before, after)
        if not changed:
            return current
        current.save()
        trail.record(actor=actor, action="update", target=current, changes=changed)
    return current
