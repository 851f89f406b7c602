"""Merging two records of one customer: chosen and blank-filled values, everything that
hangs off the other record moves, the other is kept inactive, all audited, and undo puts
it all back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from rapport.audit.models import AuditEvent
from rapport.core.errors import NotFound, PermissionDenied
from rapport.core.tags import services as tag_services
from rapport.core.tags.selectors import tags_of
from rapport.customers import services
from rapport.customers.models import Account, AccountContact, Consent, Contact, Interaction
from tests.api.helpers import credit_code

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(org):
    rep = org["rep_east"]
    keep = services.account_create(actor=rep, name="北京华信软件有限公司", city="北京")
    other = services.account_create(
        actor=rep,
        name="北京華信軟件有限責任公司",
        phone="010-65521234",
        credit_code=credit_code(),
        city="北京",
    )
    child = services.account_create(actor=rep, name="华信上海分公司", parent=other)
    zhang = services.contact_create(actor=rep, name="张伟", accounts=[other])
    li = services.contact_create(actor=rep, name="李娜", accounts=[keep, other])
    call = services.interaction_log(actor=rep, kind="call", account=other, subject="首次通话")
    vip = tag_services.tag_create(actor=org["admin"], name="VIP")
    tag_services.records_tag(actor=rep, records=[other], tags=[vip])
    return {
        "rep": org["sales_manager"],
        "keep": keep,
        "other": other,
        "child": child,
        "zhang": zhang,
        "li": li,
        "call": call,
        "vip": vip,
    }


def test_merge_accounts_moves_everything_and_keeps_the_other_inactive(org, pair):
    rep, keep, other = pair["rep"], pair["keep"], pair["other"]
    merge = services.records_merge(actor=rep, survivor=keep, other=other, keep={"name": "survivor"})
    keep.refresh_from_db()
    other.refresh_from_db()
    assert keep.name == "北京华信软件有限公司"  # chosen
    assert keep.phone == "+861065521234"  # blank, filled from the other
    assert keep.credit_code == credit_code()  # handed over
    assert other.credit_code == "" and not other.is_active
    pair["call"].refresh_from_db()
    assert pair["call"].account_id == keep.pk
    assert Account.objects.get(pk=pair["child"].pk).parent_id == keep.pk
    assert set(keep.contacts.values_list("name", flat=True)) == {"张伟", "李娜"}
    assert AccountContact.objects.filter(account=other).count() == 1  # 李娜 was at both
    assert [tag.name for tag in tags_of([keep])[keep.pk]] == ["VIP"]
    assert AuditEvent.objects.filter(action="merge", object_id=str(keep.pk)).exists()
    assert AuditEvent.objects.filter(action="merged_into", object_id=str(other.pk)).exists()
    assert merge.moved["interactions"] == [pair["call"].pk]


def test_undo_puts_it_all_back(org, pair):
    rep, keep, other = pair["rep"], pair["keep"], pair["other"]
    merge = services.records_merge(actor=rep, survivor=keep, other=other)
    services.merge_undo(actor=rep, merge=merge)
    keep.refresh_from_db()
    other.refresh_from_db()
    assert other.is_active and other.credit_code == credit_code()
    assert keep.credit_code == "" and keep.phone == ""
    pair["call"].refresh_from_db()
    assert pair["call"].account_id == other.pk
    assert Account.objects.get(pk=pair["child"].pk).parent_id == other.pk
    assert set(keep.contacts.values_list("name", flat=True)) == {"李娜"}
    assert set(other.contacts.values_list("name", flat=True)) == {"张伟", "李娜"}
    assert tags_of([keep])[keep.pk] == []
    with pytest.raises(ValidationError) as twice:
        services.merge_undo(actor=rep, merge=merge)
    assert "merge" in twice.value.message_dict


def test_choosing_the_other_value(org, pair):
    services.records_merge(
        actor=pair["rep"], survivor=pair["keep"], other=pair["other"], keep={"name": "other"}
    )
    pair["keep"].refresh_from_db()
    assert pair["keep"].name == "北京華信軟件有限責任公司"


def test_bad_merges_are_refused_and_store_nothing(org, pair):
    rep, keep, other = pair["rep"], pair["keep"], pair["other"]
    with pytest.raises(ValidationError) as same:
        services.records_merge(actor=rep, survivor=keep, other=keep)
    assert "other" in same.value.message_dict
    with pytest.raises(ValidationError) as unknown:
        services.records_merge(actor=rep, survivor=keep, other=other, keep={"owner": "other"})
    assert "owner" in unknown.value.message_dict
    with pytest.raises(ValidationError) as mixed:
        services.records_merge(actor=rep, survivor=keep, other=pair["zhang"])
    assert "other" in mixed.value.message_dict
    with pytest.raises(NotFound):  # rep_south cannot see East's accounts
        services.records_merge(actor=org["rep_south"], survivor=keep, other=other)
    with pytest.raises(PermissionDenied):  # a rep may not delete, so may not merge away
        services.records_merge(actor=org["rep_east"], survivor=keep, other=other)
    auditor_error = None
    try:
        services.records_merge(actor=org["auditor"], survivor=keep, other=other)
    except (PermissionDenied, NotFound) as error:
        auditor_error = error
    assert auditor_error is not None
    other.refresh_from_db()
    assert other.is_active
    assert Interaction.objects.get(pk=pair["call"].pk).account_id == other.pk


def test_merge_contacts_unions_phones_and_keeps_the_newer_consent(org, pair):
    rep = pair["rep"]
    keep = services.contact_create(
        actor=rep, name="王芳", phones=["13812345678"], emails=["wf@example.com"]
    )
    other = services.contact_create(
        actor=rep, name="王芳", phones=["13912345678", "13812345678"], accounts=[pair["keep"]]
    )
    now = timezone.now()
    services.consent_record(
        actor=rep,
        contact=keep,
        channel="email",
        purpose="marketing",
        status="granted",
        source="paper_form",
        evidence="签字表格",
        at=now - timedelta(days=10),
    )
    services.consent_record(
        actor=rep,
        contact=other,
        channel="email",
        purpose="marketing",
        status="withdrawn",
        source="phone",
        at=now - timedelta(days=1),
    )
    call = services.interaction_log(actor=rep, kind="call", contact=other, subject="回访")
    merge = services.records_merge(actor=rep, survivor=keep, other=other)
    keep.refresh_from_db()
    assert keep.phones == ["+8613812345678", "+8613912345678"]
    assert keep.emails == ["wf@example.com"]
    (consent,) = Consent.objects.filter(contact=keep)
    assert consent.status == "withdrawn"  # the newer answer is in force
    assert Interaction.objects.get(pk=call.pk).contact_id == keep.pk
    assert list(keep.accounts.all()) == [pair["keep"]]
    services.merge_undo(actor=rep, merge=merge)
    keep.refresh_from_db()
    assert keep.phones == ["+8613812345678"]
    statuses = dict(Consent.objects.values_list("contact_id", "status"))
    assert statuses == {keep.pk: "granted", other.pk: "withdrawn"}
    assert Contact.objects.get(pk=other.pk).is_active
