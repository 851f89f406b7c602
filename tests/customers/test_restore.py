"""History: a permitted user puts back an earlier value; it is itself an audited change."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from rapport.audit.models import AuditEvent
from rapport.core.errors import PermissionDenied
from rapport.customers import services

pytestmark = pytest.mark.django_db


def _update_event(record):
    return AuditEvent.objects.filter(
        object_type=record.security_type, object_id=str(record.pk), action="update"
    ).latest("seq")


def test_restore_puts_back_the_value_before_a_change(org):
    rep = org["rep_sh"]
    account = services.account_create(actor=rep, name="旧名称", tier="B")
    services.account_update(actor=rep, account=account, name="新名称", tier="A")
    change = _update_event(account)
    services.record_restore(actor=rep, record=account, event_seq=change.seq, field="tier")
    account.refresh_from_db()
    assert account.tier == "B" and account.name == "新名称"
    restored = _update_event(account)
    assert restored.changes == {"tier": ["A", "B"]}
    assert restored.extra == {"restored_from": change.seq}


def test_restore_of_an_encrypted_field(org):
    admin = org["admin"]
    contact = services.contact_create(actor=admin, name="吴刚", phones=["13811112222"])
    services.contact_update(actor=admin, contact=contact, phones=["13933334444"])
    services.record_restore(
        actor=admin, record=contact, event_seq=_update_event(contact).seq, field="phones"
    )
    contact.refresh_from_db()
    assert contact.phones == ["+8613811112222"]


def test_restore_checks_permission_and_the_event(org):
    rep = org["rep_sh"]
    account = services.account_create(actor=rep, name="甲公司")
    other = services.account_create(actor=rep, name="乙公司")
    services.account_update(actor=rep, account=other, city="杭州")
    with pytest.raises(PermissionDenied):
        services.record_restore(actor=org["rep_south"], record=account, event_seq=1, field="name")
    with pytest.raises(ValidationError) as error:  # an event of another record
        services.record_restore(
            actor=rep, record=account, event_seq=_update_event(other).seq, field="city"
        )
    assert "event" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        services.record_restore(actor=rep, record=account, event_seq=1, field="owner")
    assert "field" in error.value.message_dict


def test_restore_from_the_history_tab(client, org):
    rep = org["rep_sh"]
    account = services.account_create(actor=rep, name="丙公司", city="上海")
    services.account_update(actor=rep, account=account, city="苏州")
    client.force_login(rep)
    url = reverse("customers:account_history", args=[account.pk])
    page = client.get(url).content.decode()
    form = re.search(
        r'<form method="post" action="([^"]*/restore/)"[^>]*>[^<]*<input[^>]*>\s*<input type="hidden" name="event" value="(\d+)">'
        r'<input type="hidden" name="field" value="city">',
        page,
        re.S,
    )
    assert form
    response = client.post(form.group(1), {"event": form.group(2), "field": "city"})
    assert response.status_code == 302 and response["Location"] == url
    account.refresh_from_db()
    assert account.city == "上海市"  # stored normalized when it was created
    # A viewer without the change grant sees no restore button.
    client.force_login(org["auditor"])
    assert 'data-testid="restore"' not in client.get(url).content.decode()
