"""Creating many records at once: the same checks as one by one, per-row answers, the same
audit trail and events — what the import's fast path relies on."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from rapport.audit import chain
from rapport.audit.models import AuditEvent
from rapport.core import events
from rapport.core.errors import PermissionDenied
from rapport.core.models import OutboxMessage
from rapport.customers import services
from rapport.customers.models import Account, AccountContact, Contact, ContactIdentifier
from rapport.customers.validators import id_check_char, uscc_check_char

pytestmark = pytest.mark.django_db


def code(n: int) -> str:
    body = f"91310000{n:09d}"
    return body + uscc_check_char(body)


def test_contacts_are_created_with_identifiers_links_audit_and_events(
    org, django_capture_on_commit_callbacks
):
    rep = org["rep_sh"]
    account = services.account_create(actor=rep, name="上海华信科技有限公司")
    seen = []

    def listener(topic, payload):
        seen.append(payload["id"])

    events.subscribe("record.created", listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            results = services.contacts_create_many(
                actor=rep,
                rows=[
                    {"name": " 王伟 ", "phones": "１３８ 1234 5678、+86 139 0000 1111"},
                    {"name": "李娜", "emails": ["Li.Na@Example.COM"], "accounts": [account]},
                ],
            )
    finally:
        events.unsubscribe("record.created", listener)
    wang, li = results
    assert isinstance(wang, Contact) and isinstance(li, Contact)
    wang.refresh_from_db()
    assert wang.name == "王伟" and wang.phones == ["+8613812345678", "+8613900001111"]
    assert wang.owner == rep and wang.created_by == rep
    assert ContactIdentifier.objects.filter(contact=wang).count() == 2
    assert ContactIdentifier.objects.filter(contact=li, kind="email").count() == 1
    assert list(AccountContact.objects.filter(contact=li).values_list("account", flat=True)) == [
        account.pk
    ]
    # One audit event per record, read by the record's history like any other create.
    created = AuditEvent.objects.filter(action="create", object_type="customers.contact")
    assert sorted(created.values_list("object_id", flat=True)) == sorted([str(wang.pk), str(li.pk)])
    li_event = created.get(object_id=str(li.pk))
    assert li_event.changes["name"] == [None, "李娜"]
    assert li_event.changes["accounts"] == [None, [account.pk]]
    # The phones are sealed in the trail, as the one-by-one service does.
    assert created.get(object_id=str(wang.pk)).changes["phones"][1] != wang.phones
    assert chain.verify().ok
    assert sorted(seen) == sorted([wang.pk, li.pk])
    assert OutboxMessage.objects.filter(topic="record.created").count() == 3  # + the account


def test_bad_rows_are_refused_alone_and_store_nothing(org):
    rep = org["rep_sh"]
    other = "11010519800101003" + id_check_char("11010519800101003")
    hidden = services.account_create(actor=org["rep_south"], name="广州远方贸易有限公司")
    services.contact_create(actor=rep, name="赵敏", id_number="11010519491231002X")
    results = services.contacts_create_many(
        actor=rep,
        rows=[
            {"name": ""},
            {"name": "孙丽", "phones": "not a phone"},
            {"name": "周强", "id_number": "11010519491231002X"},  # held by 赵敏
            {"name": "吴杰", "accounts": [hidden]},
            {"name": "郑洋", "unknown": "x"},
            {"name": "陈静", "id_number": other},
            {"name": "陈静二", "id_number": other},  # the row before holds it
            {"name": "黄涛"},
        ],
    )
    errors = [r.message_dict if isinstance(r, ValidationError) else None for r in results]
    assert "name" in errors[0]
    assert "phones" in errors[1]
    assert "id_number" in errors[2]
    assert "accounts" in errors[3]
    assert "unknown" in errors[4]
    assert errors[5] is None and isinstance(results[5], Contact)
    assert "id_number" in errors[6]
    assert isinstance(results[7], Contact)
    assert sorted(Contact.objects.values_list("name", flat=True)) == ["赵敏", "陈静", "黄涛"]


def test_owner_rules_apply_to_each_row(org):
    rep, manager = org["rep_sh"], org["sales_manager"]
    refused = services.contacts_create_many(
        actor=rep, rows=[{"name": "林涛", "owner": org["rep_east"]}]
    )
    assert "owner" in refused[0].message_dict
    given = services.contacts_create_many(
        actor=manager, rows=[{"name": "林涛", "owner": org["rep_east"]}]
    )
    assert given[0].owner == org["rep_east"]


def test_without_the_add_grant_nothing_is_created(org):
    with pytest.raises(PermissionDenied):
        services.accounts_create_many(actor=org["auditor"], rows=[{"name": "某公司"}])
    assert not Account.objects.exists()


def test_accounts_credit_codes_are_unique_in_the_database_and_the_batch(org):
    rep = org["rep_sh"]
    services.account_create(actor=rep, name="已有公司", credit_code=code(1))
    results = services.accounts_create_many(
        actor=rep,
        rows=[
            {"name": "甲公司", "credit_code": code(1)},
            {"name": "乙公司", "credit_code": code(2).lower(), "province": "上海"},
            {"name": "丙公司", "credit_code": code(2)},
            {"name": "丁公司", "tier": "no such tier"},
        ],
    )
    assert "credit_code" in results[0].message_dict
    assert isinstance(results[1], Account)
    assert results[1].credit_code == code(2) and results[1].province == "上海市"
    assert "credit_code" in results[2].message_dict
    assert "tier" in results[3].message_dict
    assert Account.objects.count() == 2
    assert chain.verify().ok


def test_new_contacts_are_found_by_search_with_their_account(
    org, django_capture_on_commit_callbacks
):
    from rapport.core import search
    from rapport.core.search.models import SearchDocument

    rep = org["rep_sh"]
    account = services.account_create(actor=rep, name="杭州恒通物流有限公司")
    with django_capture_on_commit_callbacks(execute=True):
        (contact,) = services.contacts_create_many(
            actor=rep, rows=[{"name": "欧阳娜", "phones": "13912345678", "accounts": [account]}]
        )
    assert SearchDocument.objects.filter(object_type="customers.contact").count() == 1
    for query in ("欧阳娜", "oyn", "13912345678", "恒通"):
        hits = search.search(rep, query, types=["customers.contact"])
        assert [hit.id for group in hits.groups for hit in group.hits] == [contact.pk], query
