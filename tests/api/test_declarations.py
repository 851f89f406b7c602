"""Every API endpoint declares its permission; the OpenAPI schema documents every endpoint."""

from __future__ import annotations

import json
import re

import pytest
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from rapport.core.api_permissions import DenyAll
from rapport.identity.api import GrantPermission

# Public on purpose: how a client signs in, and the API's own description.
PUBLIC = {"api-token", "api-schema", "api-docs"}


def _walk(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def api_endpoints():
    """(route, url name, view class, permission classes) of every DRF view under /api/."""
    found = []
    for route, pattern in _walk(get_resolver().url_patterns):
        view_class = getattr(pattern.callback, "cls", None)
        if not route.startswith("api/") or view_class is None:
            continue
        if not issubclass(view_class, APIView):
            continue
        initkwargs = getattr(pattern.callback, "initkwargs", {}) or {}
        classes = list(initkwargs.get("permission_classes", view_class.permission_classes))
        found.append((route, pattern.name, view_class, classes))
    return found


def test_the_walker_finds_the_endpoints():
    routes = {route for route, *_ in api_endpoints()}
    for expected in (
        "api/v1/accounts/",
        "api/v1/contacts/<recordid:pk>/",
        "api/v1/auth/token/",
        "api/v1/users/<recordid:pk>/offboard/",
        "api/v1/audit/verify/",
        "api/v1/jobs/<recordid:pk>/cancel/",
    ):
        assert expected in routes


@pytest.mark.parametrize(
    ("route", "name", "view_class", "classes"),
    api_endpoints(),
    ids=[route for route, *_ in api_endpoints()],
)
def test_every_endpoint_declares_its_permission(route, name, view_class, classes):
    assert classes, f"{route}: no permission classes"
    assert classes != [DenyAll], f"{route}: only the default DenyAll; declare a permission"
    if name in PUBLIC:
        return
    assert AllowAny not in classes, f"{route}: AllowAny on a non-public endpoint"
    if GrantPermission in classes:
        assert getattr(view_class, "object_type", ""), f"{route}: GrantPermission needs object_type"


def test_schema_endpoint_documents_the_api(client, db):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    paths = schema["paths"]
    for path in ("/api/v1/accounts/", "/api/v1/contacts/", "/api/v1/auth/token/"):
        assert path in paths
    assert "bearerAuth" in schema["components"]["securitySchemes"]
    assert "Error" in schema["components"]["schemas"]
    assert paths["/api/v1/auth/token/"]["post"].get("security", [{}]) == [{}]  # public
    assert {"bearerAuth": []} in paths["/api/v1/accounts/"]["get"]["security"]
    listed = paths["/api/v1/accounts/"]["get"]
    parameters = {p["name"] for p in listed["parameters"]}
    assert {"q", "tier", "owner", "ordering", "cursor"} <= parameters
    assert "400" in listed["responses"]
    # Every documented route under /api/v1/ is one the walker saw, and the reverse.
    walked = {
        "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", re.sub(r"<(?:int|recordid):pk>", "{id}", route))
        for route, *_ in api_endpoints()
    }
    walked = {r for r in walked if r.startswith("/api/v1/")}
    documented = {p for p in paths if p.startswith("/api/v1/")}
    assert documented == walked


def test_schema_validates_without_warnings(tmp_path, db):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    assert target.read_text().startswith("openapi:")
