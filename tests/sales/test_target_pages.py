"""The sales dashboard, the forecast page and the targets grid: who reaches them, what they
show, a cell saved (or refused beside the cell, in the page's language), and queries that do
not grow with the number of people and deals."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone, translation

from rapport.sales.models import Target
from tests.factories import DepartmentFactory, PipelineFactory, TeamFactory, UserFactory
from tests.query_counts import assert_flat
from tests.sales.test_forecast import open_deal, won

pytestmark = pytest.mark.django_db


def this_month():
    today = timezone.localdate()
    return today.replace(day=1), timezone.now()


def signed_in(client, user, language="zh-hans"):
    user.language = language
    user.save(update_fields=["language"])
    client.force_login(user)
    return client


def test_a_rep_sees_their_own_attainment_and_forecast(client, org):
    rep = org["rep_sh"]
    start, now = this_month()
    pipeline = PipelineFactory()
    won(rep, "30000", now, pipeline)
    won(org["rep_south"], "99999", now, pipeline)
    Target.objects.create(period="month", period_start=start, user=rep, amount=60000)
    Target.objects.create(period="month", period_start=start, user=org["rep_south"], amount=1)
    body = signed_in(client, rep).get("/sales/").content.decode()
    assert f'data-holder="user-{rep.pk}"' in body
    assert f'data-holder="user-{org["rep_south"].pk}"' not in body
    assert 'data-figure="percent">50%' in body
    assert "attainment-chart" in body and "vendor/echarts/echarts.min.js" in body
    assert 'data-testid="to-targets"' not in body
    assert client.get("/sales/targets/").status_code == 403
    assert client.get("/sales/dashboard/").status_code == 200


def test_the_dashboard_shows_the_teams_of_a_team_lead(client, org):
    start, now = this_month()
    team = TeamFactory(name="华东一组", lead=org["sales_manager"], members=[org["rep_east"]])
    won(org["rep_east"], "5000", now, PipelineFactory())
    Target.objects.create(period="month", period_start=start, team=team, amount=10000)
    body = signed_in(client, org["sales_manager"], "en").get("/sales/").content.decode()
    section = body.split('data-testid="team-attainment"')[1]
    assert f'data-holder="team-{team.pk}"' in section
    assert 'data-figure="percent">50%' in section
    assert f'data-holder="department-{org["departments"]["east"].pk}"' in section


def test_the_forecast_page_nests_people_under_their_manager(client, org):
    east = org["departments"]["east"]
    east.manager = org["sales_manager"]
    east.save()
    pipeline = PipelineFactory()
    today = timezone.localdate()
    open_deal(org["rep_sh"], "10000", 50, "commit", today, pipeline)
    open_deal(org["rep_south"], "20000", 50, "commit", today, pipeline)
    body = signed_in(client, org["sales_manager"]).get("/sales/forecast/").content.decode()
    manager_at = body.index(f'data-user="{org["sales_manager"].pk}" data-depth="0"')
    rep_at = body.index(f'data-user="{org["rep_sh"].pk}" data-depth="1"')
    assert manager_at < rep_at
    assert f'data-user="{org["rep_south"].pk}"' not in body
    totals = body.split('data-testid="forecast-totals"')[1]
    assert re.search(r'data-figure="commit">10,?000\.00<', totals)  # grouped in English only
    assert signed_in(client, org["finance"]).get("/sales/forecast/").status_code == 403


def test_a_target_cell_saves_and_a_bad_amount_is_refused_beside_it(client, org):
    signed_in(client, org["sales_manager"], "en")
    start = timezone.localdate().replace(day=1)
    grid = client.get("/sales/targets/", {"metric": "won_amount"})
    assert grid.status_code == 200
    body = grid.content.decode()
    assert f'data-holder="user-{org["rep_sh"].pk}"' in body
    assert f'data-holder="user-{org["rep_south"].pk}"' in body  # manages targets of all
    cell = {
        "kind": "user",
        "pk": org["rep_sh"].pk,
        "period": "month",
        "start": start.isoformat(),
        "metric": "won_amount",
    }
    saved = client.post(
        "/sales/targets/cell/", {**cell, "amount": "88,000"}, HTTP_HX_REQUEST="true"
    )
    assert saved.status_code == 200 and "is-valid" in saved.content.decode()
    assert Target.objects.get(user=org["rep_sh"]).amount == 88000
    refused = client.post("/sales/targets/cell/", {**cell, "amount": "-3"})
    assert 'data-testid="target-error">A target cannot be negative.' in refused.content.decode()
    signed_in(client, org["sales_manager"], "zh-hans")
    refused = client.post("/sales/targets/cell/", {**cell, "amount": "abc"})
    error = refused.content.decode().split('data-testid="target-error">')[1].split("<")[0]
    with translation.override("zh-hans"):
        assert error == translation.gettext("Enter an amount such as 120000.00.")
    wrong_day = client.post(
        "/sales/targets/cell/",
        {**cell, "start": (start + dt.timedelta(days=1)).isoformat(), "amount": "1"},
    )
    assert 'data-testid="target-error"' in wrong_day.content.decode()
    assert Target.objects.get(user=org["rep_sh"]).amount == 88000
    client.post("/sales/targets/cell/", {**cell, "amount": ""})
    assert not Target.objects.exists()


def test_pages_read_a_fixed_number_of_queries(client, org):
    admin = signed_in(client, org["admin"], "en")
    start, now = this_month()
    today = timezone.localdate()
    pipeline = PipelineFactory()
    region = DepartmentFactory(parent=org["departments"]["east"])

    def grow(count):
        for _ in range(count):
            boss = UserFactory(department=region, roles=["sales_manager"])
            rep = UserFactory(department=region, manager=boss, roles=["sales_rep"])
            open_deal(rep, "100", 50, "commit", today, pipeline)
            won(rep, "100", now, pipeline)
            Target.objects.create(period="month", period_start=start, user=rep, amount=100)
            TeamFactory(lead=boss, members=[rep])

    for url in ("/sales/", "/sales/forecast/", "/sales/targets/"):
        assert_flat(admin, url, grow, few=1, many=4)
