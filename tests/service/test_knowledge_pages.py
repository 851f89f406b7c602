"""The knowledge-base pages: staff list, article, editor and workflow buttons; the public help
page (never an internal, draft or archived article); suggestions under a ticket's reply;
the categories page; a fixed number of queries however many rows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from rapport.service import services as ticket_services
from rapport.service.models import Article, ArticleCategory, ArticleStatus, ArticleVote
from rapport.service.services import knowledge

pytestmark = pytest.mark.django_db


def signed_in(user, language="en") -> Client:
    user.language = language
    user.save(update_fields=["language"])
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def kb(org, django_capture_on_commit_callbacks):
    """A category, a public FAQ, an internal case, a draft and an archived article (all
    indexed, as after real requests)."""
    manager = org["service_manager"]
    with django_capture_on_commit_callbacks(execute=True):
        category = knowledge.article_category_create(
            actor=manager, name="打印与网络", name_en="Printing and network"
        )
        public = knowledge.article_create(
            actor=org["agent"],
            title="打印机无法联网",
            title_en="The printer cannot connect",
            body="先重启路由器。\n\n再在打印机面板上重新选择网络。",
            body_en="Restart the router first.\n\nThen choose the network again on the printer.",
            visibility="public",
            category=category,
        )
        knowledge.article_publish(actor=manager, article=public)
        internal = knowledge.article_create(
            actor=org["agent"], title="打印机驱动内部排查", body="内部：检查驱动版本。", kind="case"
        )
        knowledge.article_publish(actor=manager, article=internal)
        draft = knowledge.article_create(
            actor=org["agent"], title="打印机草稿", body="未完成", visibility="public"
        )
        archived = knowledge.article_create(
            actor=manager, title="打印机旧说明", body="过时", visibility="public"
        )
        knowledge.article_publish(actor=manager, article=archived)
        knowledge.article_archive(actor=manager, article=archived)
    return {
        "category": category,
        "public": public,
        "internal": internal,
        "draft": draft,
        "archived": archived,
    }


def test_the_public_help_page_shows_only_published_public_articles(client, kb):
    home = client.get(reverse("help:home"))
    body = home.content.decode()
    assert home.status_code == 200
    assert f'data-help-article="{kb["public"].pk}"' in body
    for hidden in ("internal", "draft", "archived"):
        assert f'data-help-article="{kb[hidden].pk}"' not in body
        assert client.get(reverse("help:article", args=[kb[hidden].pk])).status_code == 404
        assert (
            client.post(reverse("help:vote", args=[kb[hidden].pk]), {"helpful": "1"}).status_code
            == 404
        )
    # search: the same index, public articles only
    found = client.get(reverse("help:home"), {"q": "dayinji"}).content.decode()
    assert f'data-help-article="{kb["public"].pk}"' in found
    for hidden in ("internal", "draft", "archived"):
        assert f'data-help-article="{kb[hidden].pk}"' not in found


def test_a_visitor_reads_in_their_language_and_votes_once(kb):
    visitor = Client(enforce_csrf_checks=True)
    url = reverse("help:article", args=[kb["public"].pk])
    chinese = visitor.get(url, {"lang": "zh-hans"}).content.decode()
    assert "先重启路由器。" in chinese and "Restart the router" not in chinese
    english = visitor.get(url, {"lang": "en"}).content.decode()
    assert "Restart the router first." in english and "<p>Then choose" in english
    assert 'lang="en"' in english
    # without the CSRF token the vote is refused
    vote_url = reverse("help:vote", args=[kb["public"].pk])
    assert visitor.post(vote_url, {"helpful": "1"}).status_code == 403
    token = visitor.cookies["csrftoken"].value
    for helpful in ("1", "1", "0"):
        response = visitor.post(vote_url, {"helpful": helpful, "csrfmiddlewaretoken": token})
        assert response.status_code == 302
    article = Article.objects.get(pk=kb["public"].pk)
    assert (article.helpful_count, article.unhelpful_count) == (0, 1)
    assert ArticleVote.objects.filter(article=article).count() == 1
    shown = visitor.get(url).content.decode()
    assert 'data-testid="help-vote-no" aria-pressed="true"' in shown
    # another browser is another voter
    other = Client()
    other.post(vote_url, {"helpful": "1"})
    article.refresh_from_db()
    assert (article.helpful_count, article.unhelpful_count) == (1, 1)


def test_the_staff_list_filters_and_tabs(org, kb):
    client = signed_in(org["agent"])
    url = reverse("service:article_list")

    def rows(**params) -> set[int]:
        body = client.get(url, params).content.decode()
        return {a.pk for a in Article.objects.all() if f'data-article-row="{a.pk}"' in body}

    assert rows() == {kb["public"].pk, kb["internal"].pk, kb["draft"].pk}
    assert rows(tab="case") == {kb["internal"].pk}
    assert rows(tab="faq") == {kb["public"].pk, kb["draft"].pk}
    assert rows(tab="drafts") == {kb["draft"].pk}
    assert rows(status="archived") == {kb["archived"].pk}
    assert rows(category=str(kb["category"].pk)) == {kb["public"].pk}
    assert rows(q="qudong") == {kb["internal"].pk}  # pinyin of 驱动
    assert rows(q="草稿") == {kb["draft"].pk}  # drafts by their title
    # sales reps read published articles only
    rep = signed_in(org["rep_east"])
    body = rep.get(url).content.decode()
    assert f'data-article-row="{kb["internal"].pk}"' in body
    assert f'data-article-row="{kb["draft"].pk}"' not in body
    assert rep.get(reverse("service:article_detail", args=[kb["draft"].pk])).status_code == 404
    assert rep.get(reverse("service:article_create")).status_code == 403
    assert signed_in(org["marketer"]).get(url).status_code == 403


def test_the_editor_names_bad_fields_and_the_workflow_buttons_follow_permissions(
    org, kb, django_capture_on_commit_callbacks
):
    agent, manager = org["agent"], org["service_manager"]
    client = signed_in(agent)
    refused = client.post(
        reverse("service:article_create"),
        {"title": " ", "body": "", "kind": "faq", "visibility": "internal"},
    )
    body = refused.content.decode()
    assert refused.status_code == 200
    assert 'data-field-error="title"' in body and 'data-field-error="body"' in body
    assert Article.objects.count() == 4
    created = client.post(
        reverse("service:article_create"),
        {"title": "重置密码", "body": "点击“忘记密码”。", "kind": "faq", "visibility": "internal"},
    )
    article = Article.objects.get(title="重置密码")
    assert created.status_code == 302
    detail_url = reverse("service:article_detail", args=[article.pk])
    page = client.get(detail_url).content.decode()
    assert 'data-testid="article-submit"' in page and 'data-testid="article-publish"' not in page
    client.post(reverse("service:article_step", args=[article.pk, "submit"]))
    article.refresh_from_db()
    assert article.status == ArticleStatus.REVIEW
    # the agent may not publish (no button, and the step is refused)
    client.post(reverse("service:article_step", args=[article.pk, "publish"]))
    article.refresh_from_db()
    assert article.status == ArticleStatus.REVIEW
    reviewer = signed_in(manager)
    page = reviewer.get(detail_url).content.decode()
    assert 'data-testid="article-publish"' in page and 'data-testid="article-reject"' in page
    missing_note = reviewer.post(reverse("service:article_step", args=[article.pk, "reject"]), {})
    assert missing_note.status_code == 400
    assert 'data-field-error="note"' in missing_note.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        reviewer.post(reverse("service:article_step", args=[article.pk, "publish"]))
    article.refresh_from_db()
    assert article.status == ArticleStatus.PUBLISHED
    # editing the published article: a new draft, the published one stays live
    client.post(
        reverse("service:article_edit", args=[article.pk]),
        {"title": "重置密码（新）", "body": "新的步骤", "kind": "faq", "visibility": "internal"},
    )
    article.refresh_from_db()
    assert article.title == "重置密码" and article.pending_version.number == 2
    page = client.get(detail_url).content.decode()
    assert 'data-version="2" data-version-status="draft"' in page
    assert 'data-version="1" data-version-status="published"' in page
    # a staff vote, by htmx
    voted = client.post(
        reverse("service:article_vote", args=[article.pk]), {"helpful": "1"}, HTTP_HX_REQUEST="true"
    )
    assert 'data-testid="helpful-count">1<' in voted.content.decode()


def test_suggestions_while_writing_a_reply_and_a_case_from_a_solved_ticket(org, kb):
    agent = org["agent"]
    ticket = ticket_services.ticket_create(
        actor=agent, subject="打印机连不上网", description="客户说路由器重启过"
    )
    client = signed_in(agent)
    page = client.get(reverse("service:ticket_detail", args=[ticket.pk])).content.decode()
    assert 'data-testid="kb-suggestions"' in page and "knowledge-suggest.js" in page
    url = reverse("service:ticket_suggestions", args=[ticket.pk])
    body = client.get(
        url, {"body": "您好，请先重启路由器"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert f'data-suggested-article="{kb["public"].pk}"' in body
    assert f'data-suggested-article="{kb["draft"].pk}"' not in body
    assert f'data-suggested-article="{kb["archived"].pk}"' not in body
    assert reverse("help:article", args=[kb["public"].pk]) in body  # the public link to insert
    assert 'data-testid="kb-make-case"' not in body  # not solved yet
    # someone who may not see the ticket gets not found
    assert signed_in(org["rep_east"]).get(url).status_code == 404
    ticket_services.ticket_message_add(actor=agent, ticket=ticket, kind="reply", body="已远程修复")
    ticket_services.ticket_set_status(actor=agent, ticket=ticket, status="resolved")
    body = client.get(url).content.decode()
    assert 'data-testid="kb-make-case"' in body
    form = client.get(reverse("service:article_create"), {"ticket": ticket.pk}).content.decode()
    assert "已远程修复" in form and 'value="case" selected' in form
    client.post(
        reverse("service:article_create"),
        {
            "ticket": ticket.pk,
            "title": "打印机连不上网",
            "body": "已远程修复",
            "kind": "case",
            "visibility": "internal",
        },
    )
    assert Article.objects.get(title="打印机连不上网", kind="case").source_ticket == ticket


def test_categories_page_under_administration(org):
    client = signed_in(org["admin"])
    url = reverse("service:article_category_list")
    refused = client.post(url, {"name": ""})
    assert 'data-field-error="name"' in refused.content.decode()
    client.post(url, {"name": "账户", "name_en": "Accounts"})
    root = ArticleCategory.objects.get(name="账户")
    client.post(url, {"name": "密码", "parent": str(root.pk)})
    assert ArticleCategory.objects.get(name="密码").parent == root
    assert signed_in(org["agent"]).get(url).status_code == 403


def test_list_and_article_pages_take_the_same_queries_however_many_rows(org, kb):
    manager = org["service_manager"]
    client = signed_in(manager)
    url = reverse("service:article_list")
    detail = reverse("service:article_detail", args=[kb["public"].pk])
    client.get(url)
    client.get(detail)

    def queries(path, params=None) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(path, params or {}).status_code == 200
        return len(captured)

    before = (queries(url), queries(detail), queries(reverse("help:home")))
    for n in range(5):
        article = knowledge.article_create(
            actor=org["agent"],
            title=f"文章{n}",
            body="正文",
            category=kb["category"],
            visibility="public",
        )
        knowledge.article_publish(actor=manager, article=article)
        knowledge.article_update(actor=manager, article=kb["public"], body=f"第{n}版")
        knowledge.article_publish(actor=manager, article=kb["public"])
    assert (queries(url), queries(detail), queries(reverse("help:home"))) == before
