"""`rapport quote`: a rep lists, shows, saves, sends and accepts a quote from the shell,
restricted like everywhere."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from rapport.sales.models import Order, QuoteStatus
from rapport.sales.services import quotes
from tests.sales.test_quote_services import deal, make  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    with translation.override("en"):
        call_command("quote", *args, stdout=out)
    return out.getvalue()


def test_a_rep_works_a_quote_from_the_shell(deal, tmp_path, django_capture_on_commit_callbacks):  # noqa: F811
    quote = quotes.quote_submit(actor=deal["rep"], quote=make(deal, title="机床报价"))
    listed = run("list", "--as", "rep_east")
    assert quote.number in listed and "机床报价" in listed
    shown = run("show", quote.number, "--as", "rep_east")
    assert "CNY 2,260.00" in shown and "数控机床" in shown
    target = tmp_path / "quote.pdf"
    run("pdf", str(quote.pk), "-o", str(target), "--as", "rep_east")
    assert target.read_bytes().startswith(b"%PDF")
    with django_capture_on_commit_callbacks(execute=True):
        assert "lina@pujiang.example.cn" in run("send", quote.number, "--as", "rep_east")
    assert len(mail.outbox) == 1
    assert "accepted" in run("accept", quote.number, "--as", "rep_east")
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.ACCEPTED
    assert Order.objects.filter(quote=quote).count() == 1


def test_another_reps_quote_is_not_found_and_refusals_name_the_field(org, deal):  # noqa: F811
    quote = make(deal)
    with pytest.raises(CommandError, match="quote"):
        run("show", str(quote.pk), "--as", "rep_south")
    with pytest.raises(CommandError, match="status"):
        run("accept", str(quote.pk), "--as", "rep_east")
