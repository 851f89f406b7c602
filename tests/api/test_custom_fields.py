"""Custom fields in the API: values in and out, errors naming the field, `?filter=`,
the schema documenting each field, and the definitions endpoint."""

from __future__ import annotations

import json

import pytest

from rapport.core.customfields import services as fields
from rapport.customers import services
from tests.api.helpers import error_of

pytestmark = pytest.mark.django_db


def test_the_api_reads_writes_filters_and_documents_custom_fields(client_for, client, org):
    fields.custom_field_create(
        actor=org["admin"],
        object_type="customers.account",
        key="segment",
        type="choice",
        label="细分",
        choices="smb|中小\nent|大型",
    )
    api = client_for(org["rep_sh"])
    created = api.post(
        "/api/v1/accounts/", {"name": "API 客户", "custom": {"segment": "ent"}}, format="json"
    )
    assert created.status_code == 201, created.content
    assert created.json()["custom"] == {"segment": "ent"}
    bad = api.post(
        "/api/v1/accounts/", {"name": "坏", "custom": {"segment": "huge"}}, format="json"
    )
    assert bad.status_code == 400 and "custom.segment" in error_of(bad)["fields"]
    services.account_create(actor=org["rep_sh"], name="小客户", custom={"segment": "smb"})
    rows = api.get("/api/v1/accounts/", {"filter": "cf.segment = ent"}).json()["results"]
    assert [row["name"] for row in rows] == ["API 客户"]
    schema = json.loads(client.get("/api/schema/?format=json").content)
    custom = schema["components"]["schemas"]["AccountOutput"]["properties"]["custom"]
    assert custom["properties"]["segment"]["enum"] == ["smb", "ent"]
    definitions = api.get("/api/v1/custom-fields/", {"object_type": "customers.account"}).json()
    assert [d["filter_name"] for d in definitions["results"]] == ["cf.segment"]
    assert (
        api.post(
            "/api/v1/custom-fields/",
            {"object_type": "customers.account", "key": "x", "type": "text", "label": "X"},
            format="json",
        ).status_code
        == 403
    )
