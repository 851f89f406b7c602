"""The pipeline report: open deals per stage (weighted, time in stage, stalled), what closed
in the period (win rate, average deal, why deals were lost), how far the period's new deals
got, per owner — restricted to what the reader may see, in a fixed number of queries, on the
page (both languages), in the API and the CLI."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from rapport.sales.models import LostReason, Opportunity, Pipeline
from rapport.sales.pipeline_report import pipeline_report
from rapport.sales.services import pipeline as services
from tests.factories import AccountFactory, OpportunityFactory
from tests.query_counts import assert_flat

pytestmark = pytest.mark.django_db

D = Decimal


def _stages(pipeline):
    return {stage.name_en: stage for stage in pipeline.stages.all()}


@pytest.fixture
def deals(org):
    """rep_sh: two open in Prospecting (1,000 and 3,000), one stalled in Qualification
    (2,000), one won (5,000), one lost for a reason (4,000), one open in USD; rep_south: one
    open (9,000) in another region."""
    rep = org["rep_sh"]
    pipeline = Pipeline.objects.get(is_default=True)
    stages = _stages(pipeline)
    stages["Qualification"].stale_after_days = 7
    stages["Qualification"].save()
    account = AccountFactory(owner=rep)

    def deal(name, amount, actor=rep, **values):
        return services.opportunity_create(
            actor=actor,
            account=values.pop("account", account),
            name=name,
            amount=amount,
            **values,
        )

    deal("甲", "1000")
    deal("乙", "3000")
    stalled = deal("丙", "2000")
    services.opportunity_move(actor=rep, opportunity=stalled, stage=stages["Qualification"])
    Opportunity.objects.filter(pk=stalled.pk).update(
        stage_entered_at=timezone.now() - timedelta(days=10)
    )
    won = deal("丁", "5000")
    services.opportunity_move(actor=rep, opportunity=won, stage=stages["Qualification"])
    services.opportunity_move(actor=rep, opportunity=won, stage=stages["Won"])
    lost = deal("戊", "4000")
    reason = LostReason.objects.filter(is_active=True).order_by("position").first()
    services.opportunity_move(actor=rep, opportunity=lost, stage=stages["Lost"], lost_reason=reason)
    deal("己", "700", currency="USD")
    south = org["rep_south"]
    deal("庚", "9000", actor=south, account=AccountFactory(owner=south))
    return {"pipeline": pipeline, "stages": stages, "reason": reason}


def test_the_figures_of_a_period(org, deals):
    stages = deals["stages"]
    report = pipeline_report(org["admin"], deals["pipeline"], period="quarter")
    rows = {row.stage.name_en: row for row in report.stages}
    prospecting, qualification = rows["Prospecting"], rows["Qualification"]
    assert (prospecting.count, prospecting.amount) == (3, D("13000.00"))
    assert prospecting.weighted == D("13000") * stages["Prospecting"].probability / 100
    assert (qualification.count, qualification.amount, qualification.stalled) == (1, D("2000"), 1)
    assert qualification.average_days == pytest.approx(10, abs=0.2)
    assert prospecting.stalled == 0
    assert "Won" not in rows and "Lost" not in rows
    assert (report.won_count, report.won_amount) == (1, D("5000.00"))
    assert (report.lost_count, report.lost_amount) == (1, D("4000.00"))
    assert report.win_rate == 50 and report.average_won == D("5000.00")
    assert report.cycle_days is not None and report.cycle_days < 1
    assert [(r.reason, r.count, r.amount) for r in report.lost_reasons] == [
        (deals["reason"], 1, D("4000.00"))
    ]
    assert report.other_currencies == {"USD": 1}
    # seven deals created this quarter (the USD one too: entering a stage has no currency)
    funnel = {row.stage.name_en: row for row in report.funnel}
    assert report.created == 7
    assert funnel["Prospecting"].entered == 7
    assert funnel["Qualification"].entered == 2
    assert funnel["Won"].entered == 1
    assert funnel["Qualification"].conversion == 50  # one of the two went on (to Won)
    assert funnel["Prospecting"].conversion == round(100 * 2 / 7)
    owners = {row.name: row for row in report.owners}
    sh = owners[str(org["rep_sh"])]
    assert (sh.open_count, sh.won_count, sh.lost_count, sh.win_rate) == (3, 1, 1, 50)
    assert owners[str(org["rep_south"])].open_amount == D("9000.00")


def test_a_period_without_closed_deals_and_another_currency(org, deals):
    last_year = timezone.localdate().replace(month=1, day=1) - timedelta(days=365)
    report = pipeline_report(
        org["admin"], deals["pipeline"], period="year", start=last_year.replace(day=1)
    )
    assert (report.won_count, report.lost_count, report.win_rate, report.created) == (
        0,
        0,
        None,
        0,
    )
    assert report.open_count == 4  # open deals are open whatever the period (USD apart)
    usd = pipeline_report(org["admin"], deals["pipeline"], period="quarter", currency="usd")
    assert (usd.currency, usd.open_count, usd.open_amount) == ("USD", 1, D("700.00"))


def test_each_reader_sees_what_they_may(org, deals):
    east = pipeline_report(org["rep_east"], deals["pipeline"], period="quarter")
    assert east.open_count == 0 and east.won_count == 0 and east.owners == []
    manager = pipeline_report(org["sales_manager"], deals["pipeline"], period="quarter")
    assert manager.open_count == 3 and manager.won_count == 1  # East, not the south region
    own = pipeline_report(
        org["admin"], deals["pipeline"], period="quarter", owner=org["rep_south"].pk
    )
    assert (own.open_count, own.open_amount) == (1, D("9000.00"))


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_page_in_both_languages_in_flat_queries(org, deals, language):
    admin = org["admin"]
    admin.language = language
    admin.save(update_fields=["language"])
    client = Client()
    client.force_login(admin)
    url = reverse("sales:pipeline_report")
    stages = list(deals["pipeline"].stages.filter(is_won=False, is_lost=False))
    account = AccountFactory(owner=org["rep_east"])

    def grow(n):
        for index in range(n):
            OpportunityFactory(
                owner=org["rep_east"],
                account=account,
                pipeline=deals["pipeline"],
                stage=stages[index % len(stages)],
                amount=D("100"),
            )

    assert_flat(client, url, grow, few=1, many=6, params={"period": "quarter"})
    text = client.get(url, {"period": "quarter"}).content.decode()
    assert ("销售漏斗报表" if language == "zh-hans" else "Pipeline report") in text
    assert 'data-testid="report-stages"' in text and "data-reason-row" in text
    assert text.count("data-owner-row=") == 3


def test_the_page_needs_the_opportunity_grant(org):
    client = Client()
    client.force_login(org["finance"])
    assert client.get(reverse("sales:pipeline_report")).status_code == 403
    assert Client().get(reverse("sales:pipeline_report")).status_code == 302


def test_the_api_answers_the_same_figures(org, deals):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(org["admin"])
    body = client.get(
        "/api/v1/sales/reports/pipeline/",
        {"pipeline": deals["pipeline"].pk, "period": "quarter"},
    ).json()
    assert body["currency"] == "CNY" and body["open_count"] == 4
    assert body["won"] == {"count": 1, "amount": "5000.00"}
    assert body["win_rate"] == 50
    first = body["stages"][0]
    assert (first["count"], first["amount"]) == (3, "13000.00")
    assert body["other_currencies"] == {"USD": 1}
    missing = client.get("/api/v1/sales/reports/pipeline/", {"pipeline": 999999})
    assert missing.status_code == 404
    bad = client.get("/api/v1/sales/reports/pipeline/", {"period": "decade"})
    assert bad.status_code == 400 and "period" in bad.json()["error"]["fields"]
    client.force_authenticate(org["rep_east"])
    mine = client.get("/api/v1/sales/reports/pipeline/").json()
    assert mine["open_count"] == 0


def test_the_cli_prints_the_stages(org, deals, capsys):
    call_command("pipeline", "report", "--period", "quarter", "--as", org["admin"].username)
    out = capsys.readouterr().out
    assert "13,000.00" in out and "50%" in out
