"""`rapport kb`: an agent writes an article and a manager publishes it from the shell,
restricted like everywhere."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from rapport.service.models import Article, ArticleStatus

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    with translation.override("en"):
        call_command("kb", *args, stdout=out)
    return out.getvalue()


def test_an_article_from_the_shell_through_review(org, django_capture_on_commit_callbacks):
    run("create", "--title", "打印机卡纸", "--body", "打开后盖取出纸张。", "--as", "agent")
    article = Article.objects.get()
    pk = str(article.pk)
    run("submit", pk, "--as", "agent")
    with pytest.raises(CommandError):
        run("publish", pk, "--as", "agent")
    assert pk in run("list", "--review", "--as", "svcmgr")
    run("reject", pk, "补充图片", "--as", "svcmgr")
    assert "补充图片" in run("show", pk, "--as", "agent")
    run("submit", pk, "--as", "agent")
    with django_capture_on_commit_callbacks(execute=True):
        run("publish", pk, "--as", "svcmgr")
    article.refresh_from_db()
    assert article.status == ArticleStatus.PUBLISHED
    assert "打印机卡纸" in run("search", "kazhi", "--as", "rep_east")
    run("edit", pk, "--body", "新步骤", "--as", "agent")
    shown = run("show", pk, "--as", "agent")
    assert "打开后盖取出纸张。" in shown and "v2" in shown  # the live text; the draft listed


def test_refusals_name_the_field_and_hidden_articles_are_not_found(org):
    with pytest.raises(CommandError, match="title: "):
        run("create", "--title", " ", "--body", "x", "--as", "agent")
    with pytest.raises(CommandError, match="kind"):
        run("create", "--title", "x", "--body", "y", "--kind", "essay", "--as", "agent")
    run("create", "--title", "经理草稿", "--body", "正文", "--as", "svcmgr")
    draft = Article.objects.get()
    with pytest.raises(CommandError, match="article: "):
        run("show", str(draft.pk), "--as", "rep_east")
    with pytest.raises(CommandError):
        run("create", "--title", "x", "--body", "y", "--as", "rep_east")
    assert Article.objects.count() == 1
