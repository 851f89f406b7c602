"""/api/v1/contacts/{id}/consents/: the matrix of answers, and recording one with evidence."""

from __future__ import annotations

import pytest

from rapport.customers import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def contact(org):
    return services.contact_create(actor=org["rep_sh"], name="陈静", emails=["chen@example.com"])


def test_api_lists_and_records(client_for, org, contact):
    api = client_for(org["rep_sh"])
    url = f"/api/v1/contacts/{contact.pk}/consents/"
    rows = api.get(url).json()
    assert len(rows) == 15
    cell = next(r for r in rows if (r["channel"], r["purpose"]) == ("email", "marketing"))
    assert cell == {
        "channel": "email",
        "purpose": "marketing",
        "status": None,
        "allowed": False,
        "source": None,
        "evidence": None,
        "given_at": None,
        "recorded_by": None,
    }
    response = api.post(
        url,
        {"channel": "email", "purpose": "marketing", "status": "granted", "source": "email"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["evidence"][0]["code"] == "required"
    response = api.post(
        url,
        {
            "channel": "email",
            "purpose": "marketing",
            "status": "granted",
            "source": "email",
            "evidence": "回复邮件 2026-11-20",
        },
        format="json",
    )
    cell = next(
        r for r in response.json() if (r["channel"], r["purpose"]) == ("email", "marketing")
    )
    assert cell["status"] == "granted" and cell["allowed"] is True
