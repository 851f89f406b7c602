"""Contact phones, e-mails and ID numbers are encrypted at rest, found exactly through the
blind index, sealed in the audit trail, and re-encrypted by key rotation."""

from __future__ import annotations

import base64
import os
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection

from rapport.audit.models import AuditEvent
from rapport.core import crypto, keys
from rapport.customers import services
from rapport.customers.models import Contact
from rapport.customers.querysets import contacts_sharing_identifiers, contacts_with_identifier
from rapport.customers.validators import id_check_char, normalize_id_number

pytestmark = pytest.mark.django_db

ID = "11010519491231002"
ID_NUMBER = ID + id_check_char(ID)


def raw(contact: Contact, column: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM customers_contact WHERE id = %s", [contact.pk])
        return cursor.fetchone()[0]


def ring(*entries: tuple[str, bytes]) -> str:
    return ",".join(f"{kid}:{base64.urlsafe_b64encode(key).decode()}" for kid, key in entries)


@pytest.fixture
def contact(org):
    return services.contact_create(
        actor=org["admin"],
        name="孙丽",
        phones=["138 1234 5678"],
        emails=["Sun.Li@Example.com"],
        id_number=ID_NUMBER.lower(),
    )


def test_values_are_stored_encrypted_and_read_back(contact):
    for column, plain in (("phones", "13812345678"), ("emails", "Sun.Li"), ("id_number", ID)):
        stored = raw(contact, column)
        assert stored.startswith("enc:v1:") and plain not in stored
    fresh = Contact.objects.get(pk=contact.pk)
    assert fresh.phones == ["+8613812345678"]
    assert fresh.emails == ["Sun.Li@example.com"]
    assert fresh.id_number == ID_NUMBER  # upper-cased check character


def test_exact_lookup_through_the_blind_index(org, contact):
    contacts = Contact.objects.all()
    assert list(contacts_with_identifier(contacts, kind="phone", value="+86 138-1234-5678")) == [
        contact
    ]
    assert list(contacts_with_identifier(contacts, kind="email", value="sun.li@EXAMPLE.com")) == [
        contact
    ]
    assert list(contacts_with_identifier(contacts, kind="id_number", value=ID_NUMBER)) == [contact]
    assert not contacts_with_identifier(contacts, kind="phone", value="13812345679").exists()
    services.contact_update(actor=org["admin"], contact=contact, phones=["13900000000"])
    assert not contacts_with_identifier(contacts, kind="phone", value="13812345678").exists()
    assert contacts_with_identifier(contacts, kind="phone", value="13900000000").exists()


def test_an_id_number_is_checked_and_unique(org, contact):
    with pytest.raises(ValidationError) as error:
        normalize_id_number(ID + ("0" if id_check_char(ID) != "0" else "1"))
    assert error.value.code == "id_number_check_digit"
    with pytest.raises(ValidationError) as error:
        normalize_id_number("110105194913310021")
    assert error.value.code in {"id_number_birth", "id_number_check_digit"}
    with pytest.raises(ValidationError) as error:
        services.contact_create(actor=org["admin"], name="冒名", id_number=ID_NUMBER)
    assert error.value.message_dict.keys() == {"id_number"}
    assert Contact.objects.count() == 1


def test_shared_phones_are_pointed_out_to_people_who_see_both(org, contact):
    twin = services.contact_create(actor=org["admin"], name="孙丽（重复）", phones=["13812345678"])
    assert contacts_sharing_identifiers(org["admin"], twin) == [contact]
    assert contacts_sharing_identifiers(org["rep_south"], twin) == []


def test_the_audit_trail_keeps_personal_data_sealed(org, contact, client):
    event = AuditEvent.objects.get(object_id=str(contact.pk), action="create")
    for field in ("phones", "emails", "id_number"):
        assert crypto.is_encrypted(event.changes[field][1])
    assert event.changes["name"] == [None, "孙丽"]
    assert "+8613812345678" not in str(event.changes)
    readable = event.readable_changes
    assert readable["phones"][1] == ["+86138****5678"]
    client.force_login(org["admin"])
    history = client.get(f"/customers/contacts/{contact.pk}/history/").content.decode()
    assert "+8613812345678" in history  # the administrator reads the real value


def test_rotation_re_encrypts_everything_and_resumes(org, contact, settings):
    services.contact_create(actor=org["admin"], name="周杰", phones=["13700000000"])
    old = ("dev", crypto.key_ring()[0][1])
    new = ("k2", os.urandom(32))
    settings.RAPPORT_FIELD_KEYS = ring(new, old)
    status = keys.field_keys_status()
    assert status["customers.contact.phones"]["dev"] == 2
    job = keys.field_keys_rotate(actor=org["admin"], batch_size=10)
    assert job.state == "succeeded"
    status = keys.field_keys_status()
    assert set(status["customers.contact.phones"]) == {"k2"}
    assert raw(contact, "phones").startswith("enc:v1:k2:")
    again = keys.field_keys_rotate(actor=org["admin"])
    assert again.succeeded == 0  # nothing left to do
    settings.RAPPORT_FIELD_KEYS = ring(new)  # the old key can go now
    assert Contact.objects.get(pk=contact.pk).phones == ["+8613812345678"]
    assert AuditEvent.objects.filter(action="keys.rotate").count() == 2


def test_a_missing_key_is_an_error_not_garbage(contact, settings):
    settings.RAPPORT_FIELD_KEYS = ring(("other", os.urandom(32)))
    with pytest.raises(crypto.DecryptionError):
        Contact.objects.get(pk=contact.pk)


def test_keys_command(org, contact):
    out = StringIO()
    call_command("keys", "status", stdout=out)
    assert "customers.contact.id_number" in out.getvalue()
    out = StringIO()
    call_command("keys", "generate", "--id", "k9", stdout=out, stderr=StringIO())
    kid, _, key = out.getvalue().strip().partition(":")
    assert kid == "k9" and len(base64.urlsafe_b64decode(key + "=")) == 32
