"""/api/v1/me/notifications/: one's own only, newest first with cursor paging, ?unread=true,
read one, read all, the message in the caller's language, flat query counts."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.core.notifications.models import Notification
from rapport.customers import services
from tests.api.helpers import error_of

pytestmark = pytest.mark.django_db

URL = "/api/v1/me/notifications/"


@pytest.fixture
def account(org):
    return services.account_create(actor=org["rep_sh"], name="招商银行")


def _given(actor, assignee, account, n: int) -> None:
    for index in range(n):
        services.task_create(
            actor=actor, subject=f"任务{index}", account=account, assignee=assignee
        )


def test_lists_ones_own_newest_first_in_the_callers_language(client_for, org, account):
    rep, manager = org["rep_sh"], org["sales_manager"]
    _given(manager, rep, account, 2)
    _given(rep, manager, account, 1)
    response = client_for(rep).get(URL)
    assert response.status_code == 200
    results = response.json()["results"]
    assert [row["params"]["subject"] for row in results] == ["任务1", "任务0"]
    assert results[0]["kind"] == "task.assigned" and results[0]["is_read"] is False
    assert results[0]["object_type"] == "customers.interaction"
    assert results[0]["url"].startswith("/customers/interactions/")
    assert results[0]["message"] == f"{manager} gave you a task: “任务1”."  # rep reads English
    rep.language = "zh-hans"
    rep.save(update_fields=["language"])
    chinese = client_for(rep).get(URL).json()["results"][0]["message"]
    assert chinese == f"{manager} 给您分配了任务：“任务1”。"


def test_unread_filter_and_reading_one(client_for, org, account):
    rep, manager = org["rep_sh"], org["sales_manager"]
    _given(manager, rep, account, 3)
    api = client_for(rep)
    first = Notification.objects.filter(recipient=rep).order_by("id").first()
    response = api.post(f"{URL}{first.pk}/read/")
    assert response.status_code == 200 and response.json()["is_read"] is True
    unread = api.get(URL, {"unread": "true"}).json()["results"]
    assert len(unread) == 2 and first.pk not in {row["id"] for row in unread}
    read = api.get(URL, {"unread": "false"}).json()["results"]
    assert [row["id"] for row in read] == [first.pk]


def test_read_all_marks_only_ones_own(client_for, org, account):
    rep, manager = org["rep_sh"], org["sales_manager"]
    _given(manager, rep, account, 3)
    _given(rep, manager, account, 1)
    response = client_for(rep).post(f"{URL}read-all/")
    assert response.status_code == 200 and response.json() == {"marked": 3}
    assert client_for(rep).get(URL, {"unread": "true"}).json()["results"] == []
    assert len(client_for(manager).get(URL, {"unread": "true"}).json()["results"]) == 1


def test_someone_elses_notification_is_not_found(client_for, org, account):
    rep, manager = org["rep_sh"], org["sales_manager"]
    _given(manager, rep, account, 1)
    theirs = Notification.objects.get(recipient=rep)
    api = client_for(manager)
    assert error_of(api.get(f"{URL}{theirs.pk}/"))["code"] == "not_found"
    response = api.post(f"{URL}{theirs.pk}/read/")
    assert response.status_code == 404 and error_of(response)["code"] == "not_found"
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert api.get(URL).json()["results"] == []


def test_signed_out_is_refused(api):
    assert api.get(URL).status_code == 401
    assert api.post(f"{URL}read-all/").status_code == 401


def test_cursor_paging_walks_every_row_once(client_for, org, account):
    rep, manager = org["rep_sh"], org["sales_manager"]
    _given(manager, rep, account, 7)
    api = client_for(rep)
    seen: list[int] = []
    response = api.get(URL, {"page_size": 3}).json()
    while True:
        seen += [row["id"] for row in response["results"]]
        if not response["next"]:
            break
        response = api.get(response["next"]).json()
    assert sorted(seen) == sorted(
        Notification.objects.filter(recipient=rep).values_list("pk", flat=True)
    )
    assert len(seen) == len(set(seen)) == 7


def test_list_queries_do_not_grow(client_for, org, account):
    rep, manager = org["rep_sh"], org["sales_manager"]
    api = client_for(rep)
    _given(manager, rep, account, 2)
    api.get(URL)
    with CaptureQueriesContext(connection) as few:
        api.get(URL)
    _given(manager, rep, account, 20)
    with CaptureQueriesContext(connection) as many:
        response = api.get(URL)
    assert len(response.json()["results"]) == 22
    assert len(many) == len(few)


def test_the_schema_documents_the_endpoints(client, db):
    paths = client.get("/api/schema/?format=json").json()["paths"]
    assert {"get"} <= set(paths[URL])
    assert "post" in paths[URL + "{id}/read/"]
    assert "post" in paths[URL + "read-all/"]
    names = {parameter["name"] for parameter in paths[URL]["get"]["parameters"]}
    assert {"unread", "cursor"} <= names
