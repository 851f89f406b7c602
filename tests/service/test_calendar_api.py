"""The business calendar API: read by everyone signed in, changed by calendar managers, errors
naming the field, and the due-time calculation."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from rapport.identity.services import token_create
from rapport.service.models import BusinessCalendar

pytestmark = pytest.mark.django_db
URL = "/api/v1/service/calendars/"
WEEK = {"mon": "9-18", "tue": "9-18", "wed": "9-18", "thu": "9-18", "fri": "9-18"}


def api_for(user, language="en") -> APIClient:
    user.language = language  # the API answers in the user's saved language
    user.save(update_fields=["language"])
    _token, secret = token_create(actor=user, name="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer " + secret)
    return client


def test_an_agent_reads_calendars_and_asks_when_time_runs_out(org):
    agent = api_for(org["agent"])
    (calendar,) = agent.get(URL).json()["results"]
    assert calendar["is_default"] and calendar["weekly_hours"]["mon"] == "09:00-12:00, 13:00-18:00"
    assert calendar["weekly_hours"]["sat"] == ""
    # Wednesday 30 September 2026 17:00 +120 working minutes: 1–7 October are holidays
    due = agent.get(
        f"{URL}{calendar['id']}/due/", {"start": "2026-09-30T17:00:00+08:00", "minutes": 120}
    )
    assert due.status_code == 200
    assert due.json()["due"] == "2026-10-08T10:00:00+08:00"
    refused = agent.post(URL, {"name": "x", "weekly_hours": WEEK}, format="json")
    assert refused.status_code == 403


def test_a_manager_creates_edits_and_sets_dated_exceptions(org):
    client = api_for(org["service_manager"])
    created = client.post(
        URL,
        {"name": "华南客服", "name_en": "South desk", "weekly_hours": {**WEEK, "sat": "9-12"}},
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["weekly_hours"]["sat"] == "09:00-12:00" and not body["is_default"]
    detail = f"{URL}{body['id']}/"
    changed = client.patch(
        detail, {"public_holidays": False, "time_zone": "Asia/Hong_Kong"}, format="json"
    )
    assert changed.status_code == 200 and changed.json()["time_zone"] == "Asia/Hong_Kong"
    day = client.post(
        f"{detail}days/", {"date": "2026-12-24", "hours": "", "note": "年会"}, format="json"
    )
    assert day.status_code == 200
    assert day.json()["days"] == [{"date": "2026-12-24", "hours": "", "note": "年会"}]
    assert client.delete(f"{detail}days/2026-12-24/").status_code == 204
    assert client.delete(f"{detail}days/2026-12-24/").status_code == 404
    assert client.delete(f"{detail}days/not-a-date/").status_code == 404


def test_bad_input_names_the_field_in_the_reader_s_language(org):
    client = api_for(org["admin"], language="zh-hans")
    before = BusinessCalendar.objects.count()
    response = client.post(
        URL,
        {"name": "", "time_zone": "Mars/Olympus", "weekly_hours": {**WEEK, "tue": "18-9"}},
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    text = str(body)
    assert "weekly_hours.tue" in text and "time_zone" in text and "name" in text
    assert "“18-9”的结束时间早于开始时间" in text
    unknown = client.post(URL, {"name": "x", "weekly_hours": WEEK, "colour": "red"}, format="json")
    assert unknown.status_code == 400 and "colour" in str(unknown.json())
    assert BusinessCalendar.objects.count() == before
    calendar = BusinessCalendar.objects.get()
    bad_due = client.get(f"{URL}{calendar.pk}/due/", {"minutes": "soon", "start": "yesterday"})
    assert bad_due.status_code == 400
    assert "minutes" in str(bad_due.json()) and "start" in str(bad_due.json())
    retire = client.patch(f"{URL}{calendar.pk}/", {"is_active": False}, format="json")
    assert retire.status_code == 400 and "is_active" in str(retire.json())


def test_the_schema_documents_the_calendar_endpoints(org):
    schema = api_for(org["admin"]).get("/api/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    assert "/api/v1/service/calendars/{id}/due/" in paths
    assert "/api/v1/service/calendars/{id}/days/" in paths
