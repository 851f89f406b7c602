from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from rapport.audit import chain
from rapport.audit.models import AuditEvent
from rapport.customers import services

pytestmark = pytest.mark.django_db


def test_every_write_is_an_event_with_before_and_after(org):
    account = services.account_create(actor=org["rep_sh"], name="中国银行上海分行", tier="B")
    services.account_update(actor=org["rep_sh"], account=account, tier="A")
    event = AuditEvent.objects.filter(
        object_type="customers.account", object_id=str(account.pk)
    ).first()
    assert event.action == "update"
    assert event.changes == {"tier": ["B", "A"]}
    assert event.actor == org["rep_sh"]


def test_verify_passes_on_untouched_chain(org):
    services.account_create(actor=org["admin"], name="阿里巴巴")
    result = chain.verify()
    assert result.ok
    assert result.checked == AuditEvent.objects.count()


def test_database_refuses_update_and_delete(org):
    services.account_create(actor=org["admin"], name="腾讯")
    event = AuditEvent.objects.order_by("-seq").first()
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="tampered")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "create"


def _tamper(sql: str, params: list) -> None:
    """Change a row behind the triggers' back, as an attacker with database access might."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("DROP TRIGGER audit_event_no_update")
            cursor.execute(sql, params)
        else:
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_append_only")
            cursor.execute(sql, params)
            cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_event_append_only")


def test_verify_names_the_tampered_event(org):
    account = services.account_create(actor=org["admin"], name="华为")
    services.account_update(actor=org["admin"], account=account, name="华为技术有限公司")
    target = AuditEvent.objects.filter(action="update").order_by("-seq").first()
    _tamper(
        "UPDATE audit_auditevent SET changes = %s WHERE id = %s",
        ['{"name": ["a", "b"]}', target.pk],
    )
    result = chain.verify()
    assert not result.ok
    assert result.first_bad_seq == target.seq


def test_verify_detects_a_deleted_event(org):
    services.account_create(actor=org["admin"], name="小米")
    services.account_create(actor=org["admin"], name="美团")
    victim = AuditEvent.objects.order_by("-seq")[1]
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("DROP TRIGGER audit_event_no_delete")
        else:
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_append_only")
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [victim.pk])
    result = chain.verify()
    assert not result.ok
    assert result.first_bad_seq == victim.seq + 1


def test_rolled_back_write_leaves_no_event(org):
    before = AuditEvent.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.account_create(actor=org["admin"], name="回滚公司")
        raise RuntimeError("boom")
    assert AuditEvent.objects.count() == before
    assert chain.verify().ok
