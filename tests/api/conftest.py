from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from rapport.identity.services import token_create


@pytest.fixture(autouse=True)
def fresh_cache():
    # allauth remembers used TOTP codes in the cache; user ids repeat between tests.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api():
    """An anonymous API client."""
    return APIClient()


@pytest.fixture
def client_for(db):
    """client_for(user) → an APIClient sending that user's fresh bearer token."""

    def make(user) -> APIClient:
        _token, secret = token_create(actor=user, name="test")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION="Bearer " + secret)
        return client

    return make
