"""Survey pages: the public answer page (no login, CSRF, forged/expired/answered links, bad
input, language), the dashboard's figures against hand-computed values and its restriction,
the ticket card and the 360 card, and query counts that do not grow with the surveys."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from rapport.customers import services as customer_services
from rapport.identity.models import Team
from rapport.service import services
from rapport.service.models import Survey, TicketCategory, TicketStatus
from rapport.service.services import surveys as survey_services
from tests.factories import UserFactory
from tests.query_counts import assert_flat
from tests.service.test_surveys import grant_research, link_token

pytestmark = pytest.mark.django_db


def signed_in(user, language="en") -> Client:
    user.language = language
    user.save(update_fields=["language"])
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def desk(org):
    south = Team.objects.create(name="华南客服", department=org["departments"]["south"])
    south.members.add(org["agent"])
    east_agent = UserFactory(
        username="agent_east", department=org["departments"]["east"], roles=["service_agent"]
    )
    east = Team.objects.create(name="华东客服", department=org["departments"]["east"])
    east.members.add(east_agent)
    account = customer_services.account_create(actor=org["admin"], name="北京华信软件有限公司")
    contact = customer_services.contact_create(
        actor=org["admin"], name="张伟", accounts=[account], emails=["zhang.wei@example.com"]
    )
    grant_research(org["admin"], contact)
    category = TicketCategory.objects.create(name="账单", name_en="Billing")
    return {
        "south": south,
        "east": east,
        "east_agent": east_agent,
        "account": account,
        "contact": contact,
        "category": category,
    }


@pytest.fixture
def sent(org, desk, django_capture_on_commit_callbacks, mailoutbox):
    """A resolved ticket's CSAT survey and the secret of its link."""
    ticket = services.ticket_create(
        actor=org["admin"],
        subject="发票开错了",
        contact=desk["contact"],
        team=desk["south"],
        assignee=org["agent"],
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_set_status(actor=org["agent"], ticket=ticket, status=TicketStatus.RESOLVED)
    return Survey.objects.get(ticket=ticket), link_token(mailoutbox[-1])


# --- the public page -----------------------------------------------------------------------


def test_the_customer_answers_without_signing_in(sent, django_capture_on_commit_callbacks):
    survey, token = sent
    client = Client(enforce_csrf_checks=True)
    page = client.get(f"/s/{token}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert 'data-testid="survey-form"' in body and 'lang="zh-hans"' in body
    assert body.count('name="score"') == 5  # CSAT: 1 … 5
    csrf = client.cookies["csrftoken"].value
    # without the CSRF token: refused, nothing stored
    assert client.post(f"/s/{token}/", {"score": "5"}).status_code == 403
    survey.refresh_from_db()
    assert survey.answered_at is None
    with django_capture_on_commit_callbacks(execute=True):
        answered = client.post(
            f"/s/{token}/",
            {"score": "4", "comment": "客服很耐心", "csrfmiddlewaretoken": csrf},
        )
    assert answered.status_code == 302
    thanks = client.get(answered["Location"])
    assert 'data-testid="survey-thanks"' in thanks.content.decode()
    survey.refresh_from_db()
    assert (survey.score, survey.comment) == (4, "客服很耐心")
    # a second answer from the same link changes nothing
    again = client.post(f"/s/{token}/", {"score": "1", "csrfmiddlewaretoken": csrf})
    assert again.status_code == 200 and 'data-state="answered"' in again.content.decode()
    survey.refresh_from_db()
    assert survey.score == 4


def test_bad_links_and_bad_input_get_their_own_pages(sent):
    survey, token = sent
    client = Client()
    forged = client.get("/s/" + "A" * 32 + "/")
    assert forged.status_code == 404 and 'data-state="invalid"' in forged.content.decode()
    bad = client.post(f"/s/{token}/?lang=en", {"score": "11", "comment": "x" * 2001})
    assert bad.status_code == 400
    body = bad.content.decode()
    assert 'data-error-field="score"' in body and 'data-error-field="comment"' in body
    assert 'lang="en"' in body
    survey.refresh_from_db()
    assert survey.answered_at is None
    Survey.objects.filter(pk=survey.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    expired = client.get(f"/s/{token}/")
    assert expired.status_code == 410 and 'data-state="expired"' in expired.content.decode()
    assert client.post(f"/s/{token}/", {"score": "5"}).status_code == 410
    survey.refresh_from_db()
    assert survey.answered_at is None


def test_the_page_speaks_the_surveys_language_with_a_switch(sent):
    survey, token = sent
    Survey.objects.filter(pk=survey.pk).update(language="en")
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert 'lang="en"' in client.get(f"/s/{token}/").content.decode()
    assert '<html lang="zh-hans">' in client.get(f"/s/{token}/?lang=zh-hans").content.decode()


# --- the ticket card and the 360 card -------------------------------------------------------


def test_the_ticket_page_shows_the_answer_and_why_none_went_out(org, desk, sent):
    survey, token = sent
    survey_services.survey_answer(token=token, score=5, comment="非常满意")
    agent = signed_in(org["agent"])
    page = agent.get(f"/service/tickets/{survey.ticket_id}/").content.decode()
    assert 'data-testid="ticket-survey"' in page and 'data-state="answered"' in page
    assert re.search(r'data-testid="ticket-survey-score">5<', page)
    assert "非常满意" in page
    # a contact without consent: the card says why nothing was sent
    silent = customer_services.contact_create(
        actor=org["admin"], name="李娜", accounts=[desk["account"]], emails=["li@example.com"]
    )
    ticket = services.ticket_create(
        actor=org["admin"], subject="咨询", contact=silent, team=desk["south"]
    )
    services.ticket_set_status(actor=org["admin"], ticket=ticket, status=TicketStatus.RESOLVED)
    survey_services.csat_for_ticket(ticket=ticket)
    page = agent.get(f"/service/tickets/{ticket.pk}/").content.decode()
    assert 'data-testid="ticket-survey-not-sent" data-reason="no_consent"' in page


def test_the_ticket_card_costs_the_same_few_queries(org, desk, sent):
    survey, token = sent
    from django.template import Context, Template
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = org["agent"]
    template = Template("{% load survey_tags %}{% ticket_survey_card ticket %}")
    template.render(Context({"request": request, "ticket": survey.ticket}))  # grants cached
    with CaptureQueriesContext(connection) as captured:
        html = template.render(Context({"request": request, "ticket": survey.ticket}))
    assert 'data-testid="ticket-survey"' in html
    assert len(captured) == 1


def test_the_360_pages_show_the_satisfaction_card(org, desk, sent):
    survey, token = sent
    survey_services.survey_answer(token=token, score=5)
    admin = signed_in(org["admin"])
    for url in (
        f"/customers/contacts/{desk['contact'].pk}/",
        f"/customers/accounts/{desk['account'].pk}/",
    ):
        page = admin.get(url)
        assert page.status_code == 200, url
        body = page.content.decode()
        assert 'data-testid="survey-panel"' in body, url
        assert re.search(r'data-figure="csat_percent">\s*100%', body)


# --- the dashboard ---------------------------------------------------------------------------


def _survey(kind, *, team=None, agent=None, category=None, score=None, sent_days_ago=1, **extra):
    now = timezone.now()
    sent_at = now - timedelta(days=sent_days_ago)
    return Survey.objects.create(
        kind=kind,
        team=team,
        agent=agent,
        category=category,
        sent_at=sent_at,
        expires_at=sent_at + timedelta(days=14),
        answered_at=sent_at + timedelta(hours=1) if score is not None else None,
        score=score,
        **extra,
    )


def figures(body: str, block: str) -> dict[str, str]:
    part = body.split(f'data-testid="{block}"', 1)[1].split("</table>", 1)[0]
    part = part.split('data-testid="satisfaction-months"', 1)[0]
    return {
        name: value.strip()
        for name, value in re.findall(r'data-figure="(\w+)">\s*([^<]*?)\s*<', part)
    }


def test_dashboard_figures_match_hand_computed_values(org, desk):
    south, agent = desk["south"], org["agent"]
    for score in (5, 4, 3, 1, 5):
        _survey("csat", team=south, agent=agent, category=desk["category"], score=score)
    _survey("csat", team=south, agent=agent)  # sent, not answered
    for score in (10, 9, 7, 3):
        _survey("nps", score=score)
    _survey("nps")  # sent, not answered
    Survey.objects.create(kind="csat", team=south, not_sent_reason="no_consent")  # never sent
    _survey("csat", team=south, agent=agent, score=1, sent_days_ago=400)  # outside 12 months
    page = signed_in(org["admin"]).get("/service/satisfaction/")
    assert page.status_code == 200
    body = page.content.decode()
    summary = figures(body, "satisfaction-summary")
    # CSAT: 3 of 5 answers are 4–5 → 60 %; average (5+4+3+1+5)/5 = 3.6
    # NPS: 2 promoters, 1 detractor of 4 → 25; response: 9 answered of 11 sent → 81.8 %
    assert summary == {
        "csat_percent": "60%",
        "nps": "25",
        "response_rate": "81.8%",
        "csat_average": "3.6",
    }
    teams = re.search(rf'data-row="{south.pk}">(.*?)</tr>', body, re.S).group(1)
    assert re.search(r'data-figure="csat_answers">5<', teams)
    assert re.search(r'data-figure="csat_percent">\s*60%', teams)
    assert re.search(r'data-figure="response_rate">\s*83.3%', teams)  # 5 of 6
    this_month = timezone.localtime().strftime("%Y-%m")
    assert f'data-month="{this_month}"' in body
    # all time takes in the old answer: 3 of 6 → 50 %
    everything = signed_in(org["admin"]).get("/service/satisfaction/?period=all")
    assert figures(everything.content.decode(), "satisfaction-summary")["csat_percent"] == "50%"


def test_the_dashboard_counts_only_surveys_the_user_may_see(org, desk):
    _survey("csat", team=desk["south"], agent=org["agent"], score=5)
    _survey("csat", team=desk["east"], agent=desk["east_agent"], score=1)
    _survey("csat", team=desk["east"], agent=desk["east_agent"], score=2)
    agent_page = signed_in(org["agent"]).get("/service/satisfaction/").content.decode()
    assert figures(agent_page, "satisfaction-summary")["csat_percent"] == "100%"
    east_page = signed_in(desk["east_agent"]).get("/service/satisfaction/").content.decode()
    assert figures(east_page, "satisfaction-summary")["csat_percent"] == "0%"
    assert signed_in(org["rep_east"]).get("/service/satisfaction/").status_code == 403


def test_the_dashboard_query_count_does_not_grow(org, desk):
    client = signed_in(org["admin"])
    agents = [org["agent"], desk["east_agent"]]

    def grow(n):
        for index in range(n):
            team = Team.objects.create(name=f"队列{Survey.objects.count()}-{index}")
            category = TicketCategory.objects.create(name=f"类别{Survey.objects.count()}")
            _survey(
                "csat" if index % 3 else "nps",
                team=team,
                agent=agents[index % 2],
                category=category,
                score=index % 6 or None,
                sent_days_ago=index * 31 % 360,
            )

    assert_flat(client, "/service/satisfaction/", grow, few=2, many=14)


def test_the_nav_links_to_the_dashboard_for_those_who_may_see_it(org):
    assert 'data-testid="nav-satisfaction"' in signed_in(org["agent"]).get("/").content.decode()
    assert (
        'data-testid="nav-satisfaction"' not in signed_in(org["rep_sh"]).get("/").content.decode()
    )
