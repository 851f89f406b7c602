"""Contracts: created with dates checked, put in force, terminated, renewed (a new contract
linked to the old, which becomes renewed), files checked like every attachment, the owner
reminded once before the end, expiry past it."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from rapport.core.notifications.models import Notification
from rapport.sales.models import Contract, ContractAttachment, ContractStatus
from rapport.sales.services.contracts import (
    contract_activate,
    contract_create,
    contract_files_add,
    contract_renew,
    contract_terminate,
    contract_update,
    contracts_expire,
    contracts_remind_renewals,
)
from tests.sales.test_order_setup import make_account

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"


def _contract(rep, **values):
    values.setdefault("account", make_account(rep))
    values.setdefault("title", "年度维保合同")
    values.setdefault("start_date", date(2026, 1, 1))
    values.setdefault("end_date", date(2026, 12, 31))
    values.setdefault("value", "120000.00")
    return contract_create(actor=rep, **values)


def test_create_numbers_a_draft_and_an_end_before_the_start_is_refused(org):
    rep = org["rep_sh"]
    contract = _contract(rep)
    assert contract.number.startswith("HT") and contract.status == ContractStatus.DRAFT
    assert contract.value == Decimal("120000.00") and contract.owner == rep
    with pytest.raises(ValidationError) as caught:
        _contract(rep, start_date=date(2026, 6, 1), end_date=date(2026, 5, 31))
    assert caught.value.error_dict["end_date"][0].code == "before_start"
    with pytest.raises(ValidationError) as caught:
        contract_update(actor=rep, contract=contract, end_date=date(2025, 1, 1))
    assert "end_date" in caught.value.error_dict
    assert Contract.objects.count() == 1
    contract.refresh_from_db()
    assert contract.end_date == date(2026, 12, 31)


def test_bad_fields_are_named_and_nothing_is_stored(org):
    rep = org["rep_sh"]
    with pytest.raises(ValidationError) as caught:
        _contract(
            rep, title=" ", value="-1", currency="人民币", account=make_account(org["rep_south"])
        )
    assert {"title", "value", "currency", "account"} <= set(caught.value.error_dict)
    assert not Contract.objects.exists()


def test_activate_terminate_and_the_moves_checked(org):
    rep = org["rep_sh"]
    contract = _contract(rep)
    with pytest.raises(ValidationError) as caught:
        contract_terminate(actor=rep, contract=contract, reason="客户违约")
    assert caught.value.error_dict["status"][0].code == "invalid_transition"
    contract = contract_activate(actor=rep, contract=contract)
    assert contract.status == ContractStatus.ACTIVE and contract.signed_on
    with pytest.raises(ValidationError) as caught:
        contract_terminate(actor=rep, contract=contract, reason="")
    assert "reason" in caught.value.error_dict
    contract = contract_terminate(actor=rep, contract=contract, reason="客户违约")
    assert contract.status == ContractStatus.TERMINATED and contract.terminated_at


def test_renewal_is_a_new_contract_linked_to_the_old(org):
    rep = org["rep_sh"]
    old = contract_activate(actor=rep, contract=_contract(rep))
    renewal = contract_renew(actor=rep, contract=old, value="130000")
    old.refresh_from_db()
    assert old.status == ContractStatus.RENEWED
    assert renewal.renewal_of == old and renewal.status == ContractStatus.ACTIVE
    assert renewal.number != old.number
    assert (renewal.start_date, renewal.end_date) == (date(2027, 1, 1), date(2027, 12, 31))
    assert renewal.value == Decimal("130000")
    with pytest.raises(ValidationError) as caught:
        contract_renew(actor=rep, contract=old)
    assert caught.value.error_dict["status"][0].code == "invalid_transition"


def test_files_are_checked_like_every_attachment_and_one_bad_stores_none(org, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    rep = org["rep_sh"]
    contract = _contract(rep)
    good = SimpleUploadedFile("合同扫描件.pdf", PDF, content_type="application/pdf")
    bad = SimpleUploadedFile("virus.exe", b"MZ....", content_type="application/octet-stream")
    with pytest.raises(ValidationError) as caught:
        contract_files_add(actor=rep, contract=contract, uploads=[good, bad])
    assert caught.value.error_dict["files"][0].code == "file_type"
    assert not ContractAttachment.objects.exists()
    fake = SimpleUploadedFile("fake.pdf", b"not a pdf at all", content_type="application/pdf")
    with pytest.raises(ValidationError) as caught:
        contract_files_add(actor=rep, contract=contract, uploads=[fake])
    assert caught.value.error_dict["files"][0].code == "file_content"
    good.seek(0)
    (stored,) = contract_files_add(actor=rep, contract=contract, uploads=[good])
    assert stored.name == "合同扫描件.pdf" and stored.size == len(PDF) and len(stored.sha256) == 64


def test_file_size_limit(org, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.ATTACHMENT_MAX_BYTES = 10
    rep = org["rep_sh"]
    big = SimpleUploadedFile("big.pdf", PDF, content_type="application/pdf")
    with pytest.raises(ValidationError) as caught:
        contract_files_add(actor=rep, contract=_contract(rep), uploads=[big])
    assert caught.value.error_dict["files"][0].code == "file_size"


def test_the_owner_is_reminded_once_before_the_end(org):
    rep = org["rep_sh"]
    contract = contract_activate(
        actor=rep, contract=_contract(rep, renewal_notice_days=30, end_date=date(2026, 12, 31))
    )
    assert contracts_remind_renewals(today=date(2026, 11, 30)) == 0  # 31 days before
    assert contracts_remind_renewals(today=date(2026, 12, 1)) == 1
    assert contracts_remind_renewals(today=date(2026, 12, 2)) == 0
    reminders = Notification.objects.filter(recipient=rep, kind="contract.renewal_due")
    assert reminders.count() == 1
    contract.refresh_from_db()
    assert contract.renewal_reminded_at is not None
    # a new end date is reminded of again
    contract_update(actor=rep, contract=contract, end_date=date(2027, 3, 31))
    assert contracts_remind_renewals(today=date(2027, 3, 1)) == 1


def test_contracts_past_their_end_expire_or_renew_themselves_idempotently(org):
    rep = org["rep_sh"]
    plain = contract_activate(actor=rep, contract=_contract(rep))
    automatic = contract_activate(actor=rep, contract=_contract(rep, auto_renew=True))
    day_after = date(2026, 12, 31) + timedelta(days=1)
    assert contracts_expire(today=date(2026, 12, 31)) == 0
    assert contracts_expire(today=day_after) == 2
    assert contracts_expire(today=day_after) == 0
    plain.refresh_from_db()
    automatic.refresh_from_db()
    assert plain.status == ContractStatus.EXPIRED
    assert automatic.status == ContractStatus.RENEWED
    renewal = automatic.renewals.get()
    assert renewal.status == ContractStatus.ACTIVE and renewal.start_date == day_after
