"""The knowledge base through its services: the draft → review → published workflow with
versions, who may do what, validation naming every field, votes once per person, search
(Chinese, pinyin) and the suggestions for a ticket."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from rapport.audit.models import AuditEvent
from rapport.core import search
from rapport.core.errors import PermissionDenied
from rapport.service import knowledge_search
from rapport.service import services as ticket_services
from rapport.service.models import (
    Article,
    ArticleCategory,
    ArticleStatus,
    ArticleVersion,
    ArticleVote,
    VersionStatus,
)
from rapport.service.services import knowledge

pytestmark = pytest.mark.django_db

PRINTER_BODY = "打印机无法连接无线网络时，先重启路由器，再在打印机面板上重新选择网络。"


@pytest.fixture(autouse=True)
def _events_delivered(django_capture_on_commit_callbacks, monkeypatch):
    """Each service call delivers its after-commit events (the search index follows), as
    in a real request."""
    for name in (
        "article_create",
        "article_update",
        "article_submit",
        "article_publish",
        "article_reject",
        "article_archive",
        "article_category_update",
    ):
        service = getattr(knowledge, name)

        def delivered(*args, _service=service, **kwargs):
            with django_capture_on_commit_callbacks(execute=True):
                return _service(*args, **kwargs)

        monkeypatch.setattr(knowledge, name, delivered)


def write(actor, **values):
    defaults = {"title": "打印机无法联网", "body": PRINTER_BODY}
    return knowledge.article_create(actor=actor, **{**defaults, **values})


def published(org, **values):
    article = write(org["agent"], **values)
    return knowledge.article_publish(actor=org["service_manager"], article=article)


def readable(user) -> set[str]:
    return set(Article.objects.restrict(user, "view").values_list("title", flat=True))


def test_an_article_goes_from_draft_through_review_to_published(org):
    agent, manager = org["agent"], org["service_manager"]
    article = write(agent, title_en="Printer cannot connect", body_en="Restart the router.")
    assert article.status == ArticleStatus.DRAFT and article.author == agent
    assert article.pending_version.number == 1
    knowledge.article_submit(actor=agent, article=article)
    article.refresh_from_db()
    assert article.status == ArticleStatus.REVIEW
    with pytest.raises(PermissionDenied):  # agents do not publish
        knowledge.article_publish(actor=agent, article=article)
    knowledge.article_reject(actor=manager, article=article, note="补充截图")
    article.refresh_from_db()
    version = article.pending_version
    assert article.status == ArticleStatus.DRAFT
    assert version.status == VersionStatus.DRAFT and version.review_note == "补充截图"
    assert version.reviewed_by == manager
    knowledge.article_submit(actor=agent, article=article)
    knowledge.article_publish(actor=manager, article=article)
    article.refresh_from_db()
    assert article.status == ArticleStatus.PUBLISHED and article.pending_version is None
    assert article.published_version.status == VersionStatus.PUBLISHED
    actions = list(
        AuditEvent.objects.filter(object_type="service.article", object_id=str(article.pk))
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert actions == ["create", "submit", "reject", "submit", "publish"]


def test_editing_a_published_article_makes_a_new_draft_while_the_old_one_stays_live(org):
    agent, manager = org["agent"], org["service_manager"]
    article = published(org)
    knowledge.article_update(actor=agent, article=article, title="打印机无法联网（新版）")
    article.refresh_from_db()
    assert article.status == ArticleStatus.PUBLISHED
    assert article.title == "打印机无法联网"  # the live title
    assert article.published_version.number == 1
    assert article.pending_version.number == 2
    assert article.pending_version.body == PRINTER_BODY  # the rest carried over
    # readers still get version 1 in the search index
    assert knowledge_search.ranked(Article.objects.all(), "新版") == []
    knowledge.article_publish(actor=manager, article=article)
    article.refresh_from_db()
    assert article.title == "打印机无法联网（新版）"
    statuses = dict(ArticleVersion.objects.filter(article=article).values_list("number", "status"))
    assert statuses == {1: VersionStatus.SUPERSEDED, 2: VersionStatus.PUBLISHED}
    assert knowledge_search.ranked(Article.objects.all(), "新版") == [article.pk]


def test_who_reads_which_articles(org):
    agent, manager = org["agent"], org["service_manager"]
    live = published(org, title="已发布")
    write(agent, title="坐席的草稿")
    write(manager, title="经理的草稿")
    archived = published(org, title="已归档")
    knowledge.article_archive(actor=manager, article=archived)
    assert readable(agent) == {"已发布", "坐席的草稿", "已归档"}
    assert (
        readable(manager)
        == readable(org["admin"])
        == {"已发布", "坐席的草稿", "经理的草稿", "已归档"}
    )
    # sales reps read what is published (internal articles included), never drafts
    assert readable(org["rep_east"]) == {"已发布", "已归档"}
    assert live.visibility == "internal"
    assert not Article.objects.public().exists()
    # an agent edits only their own articles; archiving needs manage
    with pytest.raises(PermissionDenied):
        knowledge.article_update(
            actor=agent, article=Article.objects.get(title="经理的草稿"), title="x"
        )
    with pytest.raises(PermissionDenied):
        knowledge.article_archive(actor=agent, article=live)
    with pytest.raises(PermissionDenied):
        write(org["rep_east"])


def test_bad_input_names_every_field_and_stores_nothing(org):
    retired = ArticleCategory.objects.create(name="旧分类", is_active=False)
    ticket = ticket_services.ticket_create(actor=org["admin"], subject="还没解决")
    with pytest.raises(ValidationError) as refused:
        knowledge.article_create(
            actor=org["admin"],
            title="  ",
            body="",
            kind="essay",
            visibility="everyone",
            category=retired,
            source_ticket=ticket,
        )
    assert set(refused.value.message_dict) == {
        "title",
        "body",
        "kind",
        "visibility",
        "category",
        "source_ticket",
    }
    assert not Article.objects.exists() and not ArticleVersion.objects.exists()
    article = write(org["agent"])
    with pytest.raises(ValidationError) as refused:
        knowledge.article_update(actor=org["agent"], article=article, title="", body="x" * 100_001)
    assert set(refused.value.message_dict) == {"title", "body"}
    with pytest.raises(ValidationError) as refused:
        knowledge.article_reject(actor=org["service_manager"], article=article, note=" ")
    assert "note" in refused.value.message_dict


def test_a_solved_ticket_makes_a_case_that_remembers_it(org):
    agent = org["agent"]
    ticket = ticket_services.ticket_create(
        actor=agent, subject="发票抬头填错", description="客户开错了抬头"
    )
    ticket_services.ticket_message_add(actor=agent, ticket=ticket, kind="note", body="内部备注")
    ticket_services.ticket_message_add(
        actor=agent, ticket=ticket, kind="reply", body="已作废原发票并重新开具。"
    )
    ticket_services.ticket_set_status(actor=agent, ticket=ticket, status="resolved")
    values = knowledge.case_values_from_ticket(actor=agent, ticket=ticket)
    assert values["title"] == "发票抬头填错" and values["kind"] == "case"
    assert "已作废原发票并重新开具。" in values["body"] and "内部备注" not in values["body"]
    case = knowledge.article_create(actor=agent, **values)
    assert case.source_ticket == ticket and case.kind == "case"


def test_one_vote_per_person_and_per_browser_changeable(org):
    article = published(org, visibility="public")
    for _ in range(2):
        knowledge.article_vote(actor=org["agent"], article=article, helpful=True)
    knowledge.article_vote(actor=org["rep_east"], article=article, helpful=True)
    knowledge.article_vote(actor=None, article=article, helpful=False, visitor_token="b" * 32)
    knowledge.article_vote(actor=None, article=article, helpful=False, visitor_token="b" * 32)
    article.refresh_from_db()
    assert (article.helpful_count, article.unhelpful_count) == (2, 1)
    knowledge.article_vote(actor=org["agent"], article=article, helpful=False)  # changed mind
    article.refresh_from_db()
    assert (article.helpful_count, article.unhelpful_count) == (1, 2)
    assert ArticleVote.objects.count() == 3
    assert knowledge.vote_of(actor=org["agent"], article=article) is False
    # no votes on drafts, nor from visitors on internal articles
    draft = write(org["agent"])
    with pytest.raises(PermissionDenied):
        knowledge.article_vote(actor=org["agent"], article=draft, helpful=True)
    internal = published(org)
    with pytest.raises(PermissionDenied):
        knowledge.article_vote(actor=None, article=internal, helpful=True, visitor_token="c" * 32)


def test_published_articles_are_found_in_chinese_pinyin_and_english(org):
    article = published(org, title_en="Printer cannot connect to Wi-Fi")
    write(org["agent"], title="打印机草稿")
    for text in ("打印机", "dayinji", "dyj", "printer"):
        groups = {group.object_type: group for group in search.search(org["rep_east"], text).groups}
        assert [hit.id for hit in groups["service.article"].hits] == [article.pk], text
    knowledge.article_archive(actor=org["service_manager"], article=article)
    groups = {group.object_type: group for group in search.search(org["admin"], "打印机").groups}
    assert groups["service.article"].hits == []
    # the list's search finds drafts by their title
    found = knowledge_search.filter_articles(Article.objects.restrict(org["agent"], "view"), "草稿")
    assert [a.title for a in found] == ["打印机草稿"]


def test_suggestions_follow_the_ticket_text(org):
    printer = published(org)
    invoice = published(org, title="发票重开流程", body="发票抬头错误时，作废原发票后重新开具。")
    write(org["agent"], title="打印机草稿", body="打印机 路由器")
    suggested = knowledge_search.suggest(org["agent"], ["您好，我的打印机连不上路由器了"])
    assert [article.pk for article in suggested] == [printer.pk]
    suggested = knowledge_search.suggest(org["agent"], ["发票开错了，怎么重新开具？"])
    assert suggested[0].pk == invoice.pk
    assert knowledge_search.suggest(org["agent"], ["您好 谢谢"]) == []
    assert knowledge_search.suggest(org["marketer"], ["打印机"]) == []  # no grant at all


def test_categories_are_a_two_level_tree_managed_with_manage(org):
    admin = org["admin"]
    account = knowledge.article_category_create(actor=admin, name="账户与登录", name_en="Accounts")
    password = knowledge.article_category_create(actor=admin, name="密码", parent=account)
    with pytest.raises(ValidationError) as refused:
        knowledge.article_category_create(actor=admin, name="太深", parent=password)
    assert "parent" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        knowledge.article_category_create(actor=admin, name="密码", parent=account)
    assert "name" in refused.value.message_dict
    with pytest.raises(PermissionDenied):
        knowledge.article_category_create(actor=org["agent"], name="坐席不能建")
    knowledge.article_category_update(
        actor=org["service_manager"], category=password, is_active=False
    )
    password.refresh_from_db()
    assert not password.is_active
