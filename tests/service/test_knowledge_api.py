"""The knowledge-base API: the workflow through its endpoints, versions, votes, search,
errors naming the field, and nothing about articles the caller may not read."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from rapport.identity.services import token_create
from rapport.service import services as ticket_services
from rapport.service.models import Article

pytestmark = pytest.mark.django_db
URL = "/api/v1/service/articles/"
CATEGORIES = "/api/v1/service/article-categories/"


def api_for(user, language="en") -> APIClient:
    user.language = language
    user.save(update_fields=["language"])
    _token, secret = token_create(actor=user, name="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer " + secret)
    return client


def test_an_article_through_the_api_from_draft_to_published(
    org, django_capture_on_commit_callbacks
):
    agent, manager = api_for(org["agent"]), api_for(org["service_manager"])
    category = manager.post(CATEGORIES, {"name": "账户", "name_en": "Accounts"}, format="json")
    assert category.status_code == 201
    created = agent.post(
        URL,
        {
            "title": "如何重置密码",
            "title_en": "How to reset a password",
            "body": "点击登录页的“忘记密码”。",
            "category": category.json()["id"],
            "visibility": "public",
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    article = created.json()
    assert article["status"] == "draft" and article["pending"]["number"] == 1
    pk = article["id"]
    assert agent.post(f"{URL}{pk}/submit/").json()["pending_status"] == "review"
    assert agent.post(f"{URL}{pk}/publish/").status_code == 403  # agents do not publish
    rejected = manager.post(f"{URL}{pk}/reject/", {"note": "补充截图"}, format="json")
    assert rejected.json()["pending"]["review_note"] == "补充截图"
    agent.post(f"{URL}{pk}/submit/")
    with django_capture_on_commit_callbacks(execute=True):
        published = manager.post(f"{URL}{pk}/publish/")
    assert published.json()["status"] == "published"
    assert published.json()["published"]["reviewed_by"]["id"] == org["service_manager"].pk
    # an edit is a new draft version; the published one stays
    edited = agent.patch(f"{URL}{pk}/", {"body": "新步骤"}, format="json").json()
    assert edited["published_version"] == 1 and edited["pending_version"] == 2
    versions = agent.get(f"{URL}{pk}/versions/").json()
    assert [(v["number"], v["status"]) for v in versions] == [(2, "draft"), (1, "published")]
    # search, votes
    found = api_for(org["rep_east"]).get(URL, {"q": "mima"}).json()["results"]
    assert [row["id"] for row in found] == [pk]
    voted = api_for(org["rep_east"]).post(f"{URL}{pk}/vote/", {"helpful": True}, format="json")
    assert voted.json()["helpful_count"] == 1
    assert manager.post(f"{URL}{pk}/archive/").json()["status"] == "archived"
    assert manager.post(f"{URL}{pk}/restore/").json()["status"] == "published"


def test_errors_name_the_field_and_hidden_articles_are_not_found(org):
    agent = api_for(org["agent"])
    open_ticket = ticket_services.ticket_create(actor=org["agent"], subject="未解决")
    bad = agent.post(
        URL,
        {"title": " ", "body": "", "kind": "essay", "source_ticket": open_ticket.pk},
        format="json",
    )
    assert bad.status_code == 400
    assert set(bad.json()["error"]["fields"]) >= {"title", "body", "kind", "source_ticket"}
    assert not Article.objects.exists()
    unknown = agent.post(URL, {"title": "x", "body": "y", "colour": "red"}, format="json")
    assert unknown.status_code == 400
    draft = (
        api_for(org["service_manager"])
        .post(URL, {"title": "经理草稿", "body": "正文"}, format="json")
        .json()
    )
    rep = api_for(org["rep_east"])
    assert rep.get(f"{URL}{draft['id']}/").status_code == 404
    assert draft["id"] not in [row["id"] for row in rep.get(URL).json()["results"]]
    assert agent.get(f"{URL}{draft['id']}/").status_code == 404
    assert rep.post(URL, {"title": "x", "body": "y"}, format="json").status_code == 403
    assert api_for(org["marketer"]).get(URL).status_code == 403
    missing = api_for(org["service_manager"]).post(
        f"{URL}{draft['id']}/reject/", {"note": "x"}, format="json"
    )
    assert missing.status_code == 400  # nothing in review
