"""Quotes through their services: lines and amounts, validation naming the field (nothing
stored), drafts only editable, approval above the discount threshold through the automation
app's approval process (the rep's manager), versions, sending with the PDF by e-mail under
consent, acceptance into one order, expiry, and who sees which quote."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from rapport.audit.models import AuditEvent
from rapport.automation import approvals
from rapport.automation.models import ApprovalProcess, ApprovalRequest
from rapport.automation.sales_quotes import PROCESS_NAME_EN, TYPE, install_default_process
from rapport.core.errors import PermissionDenied
from rapport.customers import services as customer_services
from rapport.sales.config import get_settings
from rapport.sales.models import Order, Quote, QuoteLine, QuoteStatus
from rapport.sales.services import quotes
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def deal(org):
    """A rep (rep_east) whose manager is the sales manager; their customer with a contact who
    has an e-mail address; a product at 1,000.00 with 13 % VAT; the company's letterhead."""
    rep, manager = org["rep_east"], org["sales_manager"]
    rep.manager = manager
    rep.save(update_fields=["manager"])
    account = customer_services.account_create(actor=rep, name="上海浦江机械有限公司")
    contact = customer_services.contact_create(
        actor=rep, name="李娜", accounts=[account], emails=["lina@pujiang.example.cn"]
    )
    product = ProductFactory(name="数控机床", name_en="CNC lathe", list_price=Decimal("1000.00"))
    current = get_settings()
    current.company_name = "杭州融达科技有限公司"
    current.company_name_en = "Hangzhou Rongda Technology Co., Ltd."
    current.discount_approval_percent = Decimal("10")
    current.save()
    install_default_process()
    return {
        "rep": rep,
        "manager": manager,
        "account": account,
        "contact": contact,
        "product": product,
    }


def make(deal, *, discount="0", lines=None, **values) -> Quote:
    return quotes.quote_create(
        actor=values.pop("actor", deal["rep"]),
        account=deal["account"],
        contact=values.pop("contact", deal["contact"]),
        lines=lines or [{"product": deal["product"].pk, "quantity": "2"}],
        discount_percent=discount,
        **values,
    )


def pending_request(quote) -> ApprovalRequest:
    return ApprovalRequest.objects.get(object_type=TYPE, object_id=quote.pk)


# --- create and update ------------------------------------------------------------------------


def test_create_numbers_prices_and_totals_the_quote(deal):
    quote = make(deal, discount="5")
    assert quote.number.startswith(f"Q{timezone.localdate().year}-")
    assert quote.status == QuoteStatus.DRAFT and quote.owner == deal["rep"]
    line = quote.lines.get()
    # 2 × 1,000 less 5 % overall = 1,900 net, 13 % VAT = 247
    assert line.unit_price == Decimal("1000.00") and line.description == "数控机床"
    assert line.net_amount == Decimal("1900.00") and line.tax_amount == Decimal("247.00")
    assert quote.subtotal == Decimal("2000.00")
    assert quote.tax_total == Decimal("247.00") and quote.total == Decimal("2147.00")
    assert quote.effective_discount_percent == Decimal("5.00")
    current = get_settings()
    assert quote.currency == current.default_currency
    assert quote.valid_until == quote.issue_date + timedelta(days=current.quote_valid_days)
    assert AuditEvent.objects.filter(object_type=TYPE, object_id=str(quote.pk)).exists()


def test_the_quote_s_price_list_prices_its_lines_before_any_other(deal):
    from rapport.sales.models import PriceList, PriceListItem

    product = deal["product"]
    everyone = PriceList.objects.create(name="所有客户", currency="CNY")
    PriceListItem.objects.create(price_list=everyone, product=product, unit_price="950.00")
    project = PriceList.objects.create(name="项目价", currency="CNY")
    PriceListItem.objects.create(price_list=project, product=product, unit_price="880.00")
    PriceListItem.objects.create(
        price_list=project, product=product, unit_price="850.00", min_quantity="10"
    )
    other = ProductFactory(list_price=Decimal("300.00"))
    assert make(deal).lines.get().unit_price == Decimal("950.00")  # the best list in force
    quote = make(
        deal,
        price_list=project,
        lines=[
            {"product": product.pk, "quantity": "12"},
            {"product": other.pk, "quantity": "1"},  # not on the list: the usual lookup
        ],
    )
    first, second = quote.lines.order_by("position")
    assert (first.unit_price, second.unit_price) == (Decimal("850.00"), Decimal("300.00"))
    # a list in another currency is refused, naming the price list, and nothing is stored
    dollars = PriceList.objects.create(name="美元价", currency="USD")
    before = Quote.objects.count()
    with pytest.raises(ValidationError) as caught:
        make(deal, price_list=dollars)
    assert caught.value.error_dict["price_list"][0].code == "other_currency"
    assert Quote.objects.count() == before


def test_terms_default_from_the_settings_in_the_quote_language(deal):
    current = get_settings()
    current.quote_terms = "款到发货。"
    current.quote_terms_en = "Payment before delivery."
    current.save()
    assert make(deal).terms == "款到发货。"
    assert make(deal, language="en").terms == "Payment before delivery."


def test_discount_above_100_percent_is_refused_naming_the_field(deal):
    with pytest.raises(ValidationError) as refused:
        make(deal, discount="120")
    assert "discount_percent" in refused.value.error_dict
    assert refused.value.error_dict["discount_percent"][0].code == "out_of_range"
    assert not Quote.objects.exists() and not QuoteLine.objects.exists()


def test_bad_lines_are_named_by_line_and_field_and_nothing_is_stored(deal):
    with pytest.raises(ValidationError) as refused:
        make(
            deal,
            lines=[
                {"product": deal["product"].pk, "quantity": "1"},
                {"description": "安装调试", "quantity": "0", "unit_price": "500"},
            ],
            language="fr",
        )
    assert {"lines.1.quantity", "language"} <= set(refused.value.error_dict)
    assert not Quote.objects.exists()


def test_a_draft_is_edited_and_its_amounts_computed_again(deal):
    quote = make(deal)
    quotes.quote_update(
        actor=deal["rep"],
        quote=quote,
        title="二期设备",
        lines=[{"product": deal["product"].pk, "quantity": "3", "discount_percent": "10"}],
    )
    quote.refresh_from_db()
    assert quote.title == "二期设备" and quote.lines.count() == 1
    assert quote.total == Decimal("3051.00")  # 3,000 less 10 % = 2,700 + 13 % VAT
    quotes.quote_update(actor=deal["rep"], quote=quote, discount_percent="0")
    quote.refresh_from_db()
    assert quote.effective_discount_percent == Decimal("10.00")


def test_only_drafts_are_editable(deal):
    quote = make(deal)
    quotes.quote_submit(actor=deal["rep"], quote=quote)
    with pytest.raises(ValidationError) as refused:
        quotes.quote_update(actor=deal["rep"], quote=quote, title="改")
    assert refused.value.error_dict["status"][0].code == "not_draft"
    quote.refresh_from_db()
    assert quote.title == ""


# --- approval -----------------------------------------------------------------------------


def test_the_default_process_is_installed_once_on_migrate(deal):
    process = ApprovalProcess.objects.get(object_type=TYPE)
    assert process.name_en == PROCESS_NAME_EN and process.condition == {}
    step = process.steps.get()
    assert step.approver_kind == "manager" and step.manager_levels == 1
    install_default_process()
    assert ApprovalProcess.objects.filter(object_type=TYPE).count() == 1


def test_below_the_threshold_it_is_approved_at_once_without_a_request(deal):
    quote = quotes.quote_submit(actor=deal["rep"], quote=make(deal, discount="10"))
    assert quote.status == QuoteStatus.APPROVED and quote.approved_at is not None
    assert not ApprovalRequest.objects.filter(object_type=TYPE).exists()


def test_above_the_threshold_the_manager_approves_and_it_becomes_sendable(deal):
    quote = quotes.quote_submit(actor=deal["rep"], quote=make(deal, discount="15"))
    assert quote.status == QuoteStatus.PENDING_APPROVAL
    request = pending_request(quote)
    task = request.tasks.get()
    assert task.approver == deal["manager"]
    with pytest.raises(ValidationError):  # locked while pending: and not a draft anyway
        quotes.quote_update(actor=deal["rep"], quote=quote, title="改")
    with pytest.raises(ValidationError) as refused:
        quotes.quote_send(actor=deal["rep"], quote=quote)
    assert refused.value.error_dict["status"][0].code == "not_approved"
    approvals.approval_decide(actor=deal["manager"], task=task, approve=True, comment="同意")
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.APPROVED and quote.approved_at is not None
    quotes.quote_send(actor=deal["rep"], quote=quote)
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.SENT


def test_a_rejected_quote_goes_back_to_draft_with_the_comment(deal):
    quote = quotes.quote_submit(actor=deal["rep"], quote=make(deal, discount="30"))
    task = pending_request(quote).tasks.get()
    approvals.approval_decide(actor=deal["manager"], task=task, approve=False, comment="折扣太大")
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.DRAFT
    assert quotes.rejection_comment(quote) == "折扣太大"
    # a draft again: editable, and submitted again with a smaller discount it goes through
    quotes.quote_update(actor=deal["rep"], quote=quote, discount_percent="8")
    quote = quotes.quote_submit(actor=deal["rep"], quote=quote)
    assert quote.status == QuoteStatus.APPROVED
    quote = quotes.quote_new_version(actor=deal["rep"], quote=quote)
    assert quotes.rejection_comment(quote) == ""  # the comment belongs to the old version


def test_nobody_approves_their_own_quote(deal):
    manager = deal["manager"]
    quote = quotes.quote_submit(actor=deal["rep"], quote=make(deal, discount="20"))
    task = pending_request(quote).tasks.get()
    with pytest.raises(ValidationError) as refused:
        approvals.approval_decide(actor=deal["rep"], task=task, approve=True)
    assert refused.value.error_dict["task"][0].code == "own_request"
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.PENDING_APPROVAL
    # a manager without a manager above cannot be routed to themself: refused, nothing stored
    own = make(deal, discount="20", actor=manager, owner=manager)
    with pytest.raises(ValidationError) as unroutable:
        quotes.quote_submit(actor=manager, quote=own)
    assert "steps" in unroutable.value.error_dict
    own.refresh_from_db()
    assert own.status == QuoteStatus.DRAFT
    assert not ApprovalRequest.objects.filter(object_type=TYPE, object_id=own.pk).exists()


def test_the_threshold_comes_from_the_settings(deal):
    current = get_settings()
    current.discount_approval_percent = Decimal("25")
    current.save()
    quote = quotes.quote_submit(actor=deal["rep"], quote=make(deal, discount="20"))
    assert quote.status == QuoteStatus.APPROVED


# --- versions -----------------------------------------------------------------------------


def test_a_new_version_is_a_draft_and_supersedes_the_old_one_when_sent(deal):
    first = quotes.quote_submit(actor=deal["rep"], quote=make(deal))
    first = quotes.quote_send(actor=deal["rep"], quote=first)
    second = quotes.quote_new_version(actor=deal["rep"], quote=first)
    assert (second.number, second.version, second.status) == (first.number, 2, "draft")
    assert second.previous == first and second.lines.count() == 1
    assert second.total == first.total
    first.refresh_from_db()
    assert first.status == QuoteStatus.SENT  # until the new one is sent
    with pytest.raises(ValidationError) as refused:
        quotes.quote_new_version(actor=deal["rep"], quote=first)
    assert refused.value.error_dict["version"][0].code == "not_latest"
    quotes.quote_send(actor=deal["rep"], quote=quotes.quote_submit(actor=deal["rep"], quote=second))
    first.refresh_from_db()
    assert first.status == QuoteStatus.SUPERSEDED


# --- sending ------------------------------------------------------------------------------


def test_send_emails_the_pdf_to_the_contact_after_commit(deal, django_capture_on_commit_callbacks):
    quote = quotes.quote_submit(actor=deal["rep"], quote=make(deal))
    with django_capture_on_commit_callbacks(execute=True):
        quotes.quote_send(actor=deal["rep"], quote=quote, message="请查收")
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.SENT and quote.sent_at is not None
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["lina@pujiang.example.cn"]
    assert quote.number in sent.subject and "请查收" in sent.body
    (name, content, content_type) = sent.attachments[0]
    assert name == f"{quote.number}-v1.pdf" and content_type == "application/pdf"
    assert content.startswith(b"%PDF")


def test_send_is_refused_when_the_contact_withdrew_email_consent(deal):
    customer_services.consent_withdraw(
        actor=deal["rep"], contact=deal["contact"], channel="email", purpose="service"
    )
    quote = quotes.quote_submit(actor=deal["rep"], quote=make(deal))
    with pytest.raises(ValidationError) as refused:
        quotes.quote_send(actor=deal["rep"], quote=quote)
    assert refused.value.error_dict["contact"][0].code == "no_consent"
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.APPROVED and quote.sent_at is None
    assert mail.outbox == []


# --- the customer's answer ----------------------------------------------------------------


def test_accept_creates_one_order_and_accepting_again_makes_no_second(deal):
    quote = quotes.quote_send(
        actor=deal["rep"], quote=quotes.quote_submit(actor=deal["rep"], quote=make(deal))
    )
    quotes.quote_accept(actor=deal["rep"], quote=quote)
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.ACCEPTED and quote.accepted_at is not None
    order = Order.objects.get(quote=quote)
    assert order.total == quote.total and order.lines.count() == 1
    quotes.quote_accept(actor=deal["rep"], quote=quote)
    assert Order.objects.filter(quote=quote).count() == 1


def test_a_draft_cannot_be_accepted_and_a_decline_needs_a_reason(deal):
    quote = make(deal)
    with pytest.raises(ValidationError) as refused:
        quotes.quote_accept(actor=deal["rep"], quote=quote)
    assert refused.value.error_dict["status"][0].code == "not_open"
    assert not Order.objects.exists()
    quotes.quote_submit(actor=deal["rep"], quote=quote)
    with pytest.raises(ValidationError) as refused:
        quotes.quote_decline(actor=deal["rep"], quote=quote, reason=" ")
    assert "reason" in refused.value.error_dict
    quotes.quote_decline(actor=deal["rep"], quote=quote, reason="预算不足")
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.DECLINED and quote.declined_reason == "预算不足"


def test_expiry_is_daily_and_idempotent(deal):
    quote = quotes.quote_submit(actor=deal["rep"], quote=make(deal))
    fresh = quotes.quote_submit(actor=deal["rep"], quote=make(deal))
    draft = make(deal)
    later = quote.valid_until + timedelta(days=1)
    Quote.objects.filter(pk=fresh.pk).update(valid_until=later + timedelta(days=5))
    assert quotes.quotes_expire(today=later) == 1
    assert quotes.quotes_expire(today=later) == 0
    statuses = dict(Quote.objects.values_list("pk", "status"))
    assert statuses[quote.pk] == QuoteStatus.EXPIRED
    assert statuses[fresh.pk] == QuoteStatus.APPROVED
    assert statuses[draft.pk] == QuoteStatus.DRAFT
    with pytest.raises(ValidationError):
        quotes.quote_accept(actor=deal["rep"], quote=quote)


# --- who sees and changes which -----------------------------------------------------------


def test_a_rep_sees_and_changes_only_their_own_quotes(org, deal):
    quote = make(deal)
    other = org["rep_south"]
    assert not Quote.objects.restrict(other, "view").filter(pk=quote.pk).exists()
    assert Quote.objects.restrict(deal["manager"], "view").filter(pk=quote.pk).exists()
    with pytest.raises(PermissionDenied):
        quotes.quote_update(actor=other, quote=quote, title="偷改")
    with pytest.raises(PermissionDenied):
        quotes.quote_submit(actor=other, quote=quote)
    # an account the rep cannot see is refused as if it did not exist
    foreign = customer_services.account_create(actor=org["admin"], name="别人的客户")
    with pytest.raises(ValidationError) as refused:
        quotes.quote_create(
            actor=deal["rep"],
            account=foreign,
            lines=[{"description": "服务", "unit_price": "10"}],
        )
    assert "account" in refused.value.error_dict


def test_the_expiry_task_is_scheduled_once(db):
    from django_celery_beat.models import PeriodicTask

    from rapport.sales.quote_tasks import EXPIRY, schedule

    schedule()
    schedule()
    assert PeriodicTask.objects.filter(name=EXPIRY, task="sales.quotes_expire").count() == 1


def test_a_quote_past_its_validity_is_not_sent_even_before_the_sweep(deal):
    quote = quotes.quote_submit(actor=deal["rep"], quote=make(deal))
    Quote.objects.filter(pk=quote.pk).update(valid_until=timezone.localdate() - timedelta(days=1))
    with pytest.raises(ValidationError) as refused:
        quotes.quote_send(actor=deal["rep"], quote=quote)
    assert refused.value.error_dict["valid_until"][0].code == "expired"
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.APPROVED and mail.outbox == []
