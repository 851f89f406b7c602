"""Consent per contact, channel and purpose: recorded with evidence, withdrawn in one click by
anyone who can see the contact, audited, and respected by `contactable`."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from rapport.audit.models import AuditEvent
from rapport.core.errors import PermissionDenied
from rapport.customers import services
from rapport.customers.models import Consent, Contact
from rapport.customers.querysets import consent_allows, contactable

pytestmark = pytest.mark.django_db


@pytest.fixture
def contact(org):
    return services.contact_create(actor=org["rep_sh"], name="陈静", emails=["chen@example.com"])


def grant(actor, contact, channel="email", purpose="marketing", evidence="网站表单 #8812"):
    return services.consent_record(
        actor=actor,
        contact=contact,
        channel=channel,
        purpose=purpose,
        status="granted",
        source="web_form",
        evidence=evidence,
    )


def test_marketing_needs_a_grant_service_is_allowed_until_withdrawn(org, contact):
    assert not consent_allows(contact, channel="email", purpose="marketing")
    assert consent_allows(contact, channel="email", purpose="service")
    grant(org["rep_sh"], contact)
    assert consent_allows(contact, channel="email", purpose="marketing")
    services.consent_withdraw(
        actor=org["rep_sh"], contact=contact, channel="email", purpose="service"
    )
    assert not consent_allows(contact, channel="email", purpose="service")
    assert consent_allows(contact, channel="phone", purpose="service")


def test_contactable_filters_a_list_in_one_query(org, contact, django_assert_num_queries):
    other = services.contact_create(actor=org["rep_sh"], name="刘洋")
    grant(org["rep_sh"], contact)
    with django_assert_num_queries(1):
        names = list(
            contactable(Contact.objects.all(), channel="email", purpose="marketing").values_list(
                "name", flat=True
            )
        )
    assert names == ["陈静"]
    services.consent_withdraw(actor=org["rep_sh"], contact=other, channel="sms", purpose="service")
    reachable = contactable(Contact.objects.all(), channel="sms", purpose="service")
    assert set(reachable.values_list("name", flat=True)) == {"陈静"}


def test_a_grant_needs_evidence_and_valid_choices(org, contact):
    with pytest.raises(ValidationError) as error:
        services.consent_record(
            actor=org["rep_sh"],
            contact=contact,
            channel="pigeon",
            purpose="marketing",
            status="granted",
            source="web_form",
            evidence="",
        )
    assert set(error.value.message_dict) == {"channel", "evidence"}
    assert not Consent.objects.exists()


def test_a_consent_dated_before_1970_is_refused(org, contact):
    with translation.override("en"), pytest.raises(ValidationError) as error:
        services.consent_record(
            actor=org["rep_sh"],
            contact=contact,
            channel="sms",
            purpose="service",
            status="granted",
            source="email",
            evidence="邮件回复",
            at="0474-04-24T13:31:25Z",
        )
    assert error.value.message_dict == {"at": ["A consent cannot be dated before 1970."]}
    assert not Consent.objects.exists()


def test_withdrawing_needs_only_seeing_granting_needs_changing(org, contact):
    agent = org["agent"]  # sees every contact, changes only their own
    with pytest.raises(PermissionDenied):
        grant(agent, contact)
    grant(org["rep_sh"], contact)
    services.consent_withdraw(actor=agent, contact=contact, channel="email", purpose="marketing")
    assert Consent.objects.get().status == "withdrawn"
    with pytest.raises(PermissionDenied):
        services.consent_withdraw(
            actor=org["rep_south"], contact=contact, channel="email", purpose="marketing"
        )


def test_every_answer_is_audited_with_its_evidence(org, contact):
    grant(org["rep_sh"], contact)
    services.consent_withdraw(
        actor=org["rep_sh"],
        contact=contact,
        channel="email",
        purpose="marketing",
        source="phone",
        evidence="客户来电要求退订",
    )
    events = list(
        AuditEvent.objects.filter(object_id=str(contact.pk), action="consent").order_by("seq")
    )
    assert [e.changes for e in events] == [
        {"consent.email.marketing": [None, "granted"]},
        {"consent.email.marketing": ["granted", "withdrawn"]},
    ]
    assert events[0].extra["evidence"] == "网站表单 #8812"
    assert events[1].extra["source"] == "phone"


def test_one_click_withdrawal_on_the_contact_page(client, org, contact):
    grant(org["rep_sh"], contact)
    client.force_login(org["agent"])
    page = client.get(reverse("customers:contact_detail", args=[contact.pk])).content.decode()
    assert 'data-consent="email.marketing" data-allowed="1"' in page
    assert 'data-testid="record-consent"' not in page  # the agent may not record grants
    response = client.post(
        reverse("customers:consent_withdraw", args=[contact.pk]),
        {"channel": "email", "purpose": "marketing"},
    )
    assert response.status_code == 302
    page = client.get(reverse("customers:contact_detail", args=[contact.pk])).content.decode()
    assert 'data-consent="email.marketing" data-allowed="0"' in page


def test_recording_from_the_page_names_the_bad_field(client, org, contact):
    client.force_login(org["rep_sh"])
    url = reverse("customers:consent_record", args=[contact.pk])
    response = client.post(
        url,
        {
            "consent-channel": "wechat",
            "consent-purpose": "research",
            "consent-status": "granted",
            "consent-source": "in_person",
            "consent-evidence": "",
        },
    )
    assert response.status_code == 400
    assert 'data-field-error="evidence"' in response.content.decode()
    assert not Consent.objects.exists()
    response = client.post(
        url,
        {
            "consent-channel": "wechat",
            "consent-purpose": "research",
            "consent-status": "granted",
            "consent-source": "in_person",
            "consent-evidence": "展会签到表",
        },
    )
    assert response.status_code == 302
    assert Consent.objects.get().evidence == "展会签到表"


def test_history_tab_shows_consent_changes(client, org, contact):
    grant(org["rep_sh"], contact)
    client.force_login(org["rep_sh"])
    page = client.get(reverse("customers:contact_history", args=[contact.pk])).content.decode()
    assert "Consent: E-mail, Marketing" in page and "Granted" in page
