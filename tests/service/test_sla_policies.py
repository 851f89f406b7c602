"""SLA policies as administrators and service managers keep them: validation naming the
field, audit, the page, and new tickets following the policies."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from rapport.audit.models import AuditEvent
from rapport.core.errors import PermissionDenied
from rapport.service import services
from rapport.service.models import SlaPolicy

pytestmark = pytest.mark.django_db


def signed_in(user, language="en") -> Client:
    user.language = language
    user.save(update_fields=["language"])
    client = Client()
    client.force_login(user)
    return client


def test_bad_input_names_every_field(org):
    with pytest.raises(ValidationError) as refused:
        services.sla_policy_create(
            actor=org["service_manager"],
            name="",
            first_response_minutes=0,
            resolution_minutes="soon",
            priorities=["whenever"],
            tiers=["Z"],
            warn_percent=150,
        )
    assert set(refused.value.message_dict) == {
        "name",
        "first_response_minutes",
        "resolution_minutes",
        "priorities",
        "tiers",
        "warn_percent",
    }
    assert not SlaPolicy.objects.exists()
    with pytest.raises(PermissionDenied):
        services.sla_policy_create(
            actor=org["agent"], name="x", first_response_minutes=1, resolution_minutes=1
        )


def test_the_page_creates_a_policy_that_new_tickets_follow(org):
    client = signed_in(org["service_manager"], "zh-hans")
    url = reverse("service:sla_policy_create")
    refused = client.post(
        url, {"name": "紧急", "first_response_minutes": "abc", "resolution_minutes": "240"}
    )
    assert "请输入 1 到 527040 之间的整数。" in refused.content.decode()
    client.post(
        url,
        {
            "name": "紧急",
            "priorities": ["urgent", "high"],
            "first_response_minutes": "60",
            "resolution_minutes": "240",
            "warn_percent": "75",
            "position": "1",
        },
    )
    policy = SlaPolicy.objects.get()
    assert policy.priorities == ["urgent", "high"] and policy.warn_percent == 75
    assert AuditEvent.objects.filter(action="create", object_type="service.slapolicy").exists()
    listing = client.get(reverse("service:sla_policy_list")).content.decode()
    assert f'data-sla-row="{policy.pk}"' in listing
    # the conditions read as labels in the reader's language, not codes
    assert "紧急, 高" in listing and "urgent, high" not in listing
    ticket = services.ticket_create(actor=org["admin"], subject="宕机", priority="urgent")
    assert ticket.sla_policy == policy and ticket.first_response_due_at is not None
    client.post(
        reverse("service:sla_policy_edit", args=[policy.pk]),
        {
            "name": "紧急",
            "priorities": ["urgent"],
            "first_response_minutes": "60",
            "resolution_minutes": "240",
            "warn_percent": "75",
        },
    )
    policy.refresh_from_db()
    assert policy.priorities == ["urgent"] and not policy.is_active  # unticked: retired
    assert signed_in(org["agent"]).get(reverse("service:sla_policy_list")).status_code == 403


def test_the_api_reads_for_agents_and_writes_for_managers(org):
    from rest_framework.test import APIClient

    from rapport.identity.services import token_create

    def api_for(user) -> APIClient:
        _token, secret = token_create(actor=user, name="test")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION="Bearer " + secret)
        return client

    url = "/api/v1/service/sla-policies/"
    manager, agent = api_for(org["service_manager"]), api_for(org["agent"])
    created = manager.post(
        url,
        {
            "name": "紧急",
            "priorities": ["urgent"],
            "first_response_minutes": 60,
            "resolution_minutes": 240,
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert [row["name"] for row in agent.get(url).json()["results"]] == ["紧急"]
    assert agent.post(url, {"name": "x"}, format="json").status_code == 403
    bad = manager.patch(
        f"{url}{created.json()['id']}/", {"warn_percent": 0, "kinds": ["nope"]}, format="json"
    )
    assert bad.status_code == 400
    assert set(bad.json()["error"]["fields"]) == {"warn_percent", "kinds"}
    assert api_for(org["rep_east"]).get(url).status_code == 403
