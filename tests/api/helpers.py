"""Shared assertions for API tests."""

from __future__ import annotations

from rapport.customers.validators import uscc_check_char


def error_of(response) -> dict:
    """The body of an error response, checked to have the one error shape."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"code", "message"} <= set(body["error"]), body
    return body["error"]


def field_codes(response, field: str) -> list[str]:
    return [item["code"] for item in error_of(response)["fields"][field]]


def credit_code(stem: str = "91310000MA1FL8TQ2") -> str:
    """A valid unified social credit code (correct check character) from 17 characters."""
    return stem + uscc_check_char(stem)
