"""Surveys through the API (`/api/v1/service/surveys/`, `stats/`) and the shell (`rapport
survey list|send-nps|stats`), restricted like the pages; and concurrent answers storing one."""

from __future__ import annotations

import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections
from django.utils import timezone, translation

from rapport.service.models import Survey
from rapport.service.services import surveys as survey_services
from rapport.service.services.surveys import SurveyLinkError
from tests.service.test_ticket_api import api_for

from .test_survey_pages import _survey, desk, sent  # noqa: F401  (fixtures)
from .test_surveys import grant_research

pytestmark = pytest.mark.django_db

URL = "/api/v1/service/surveys/"


def test_the_api_lists_what_the_caller_may_see_with_filters_and_stats(org, desk):  # noqa: F811
    mine = _survey("csat", team=desk["south"], agent=org["agent"], score=5)
    _survey("csat", team=desk["south"], agent=org["agent"])
    hidden = _survey("csat", team=desk["east"], agent=desk["east_agent"], score=1)
    agent = api_for(org["agent"])
    listed = agent.get(URL)
    assert listed.status_code == 200
    assert {row["id"] for row in listed.json()["results"]} == {mine.pk, mine.pk + 1}
    answered = agent.get(URL, {"answered": "true"}).json()["results"]
    assert [row["id"] for row in answered] == [mine.pk]
    assert answered[0]["score"] == 5 and answered[0]["state"] == "answered"
    assert agent.get(URL, {"answered": "false"}).json()["results"][0]["state"] == "waiting"
    assert agent.get(URL, {"kind": "nps"}).json()["results"] == []
    assert agent.get(f"{URL}{hidden.pk}/").status_code == 404
    assert agent.get(f"{URL}{mine.pk}/").json()["id"] == mine.pk
    stats = agent.get(f"{URL}stats/").json()
    assert stats["sent"] == 2 and stats["csat_percent"] == 100.0 and stats["response_rate"] == 50.0
    admin_stats = api_for(org["admin"]).get(f"{URL}stats/", {"kind": "csat"}).json()
    assert admin_stats["csat_answers"] == 2 and admin_stats["csat_percent"] == 50.0
    assert admin_stats["nps"] is None
    assert api_for(org["rep_east"]).get(URL).status_code == 403
    assert agent.get(URL, {"kind": "bogus"}).status_code == 400
    # the API offers no way to write an answer
    assert agent.post(URL, {"score": 5}, format="json").status_code in (403, 405)


def test_the_schema_documents_the_survey_endpoints(client, db):
    schema = client.get("/api/schema/?format=json").json()
    assert f"{URL}" in schema["paths"] and f"{URL}stats/" in schema["paths"]


def run(*args) -> str:
    out = StringIO()
    with translation.override("en"):
        call_command("survey", *args, stdout=out)
    return out.getvalue()


def test_the_cli_lists_sends_and_sums_up(
    org,
    desk,  # noqa: F811
    settings,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    _survey("csat", team=desk["south"], agent=org["agent"], score=2, comment="太慢")
    _survey("csat", team=desk["east"], agent=desk["east_agent"], score=5, comment="东方的")
    listed = run("list", "--as", "agent")
    assert "太慢" in listed and "东方的" not in listed
    assert "50%" in run("stats", "--as", "admin")
    csat_line = run("stats", "--as", "agent").splitlines()[2]
    assert csat_line.startswith("CSAT") and " 0%" in csat_line
    settings.RAPPORT_NPS_INTERVAL_DAYS = 0
    assert "off" in run("send-nps", "--as", "admin")
    with django_capture_on_commit_callbacks(execute=True):
        assert "Sent: 1," in run("send-nps", "--days", "30", "--as", "svcmgr")
    assert "Sent: 0," in run("send-nps", "--days", "30", "--as", "svcmgr")
    assert Survey.objects.filter(kind="nps").count() == 1 and len(mailoutbox) == 1
    with pytest.raises(CommandError):
        run("send-nps", "--days", "30", "--as", "agent")  # agents may not send
    with pytest.raises(CommandError):
        run("list", "--as", "rep_east")
    with pytest.raises(CommandError, match="days: "):
        run("send-nps", "--days", "0", "--as", "admin")


def test_an_answer_racing_another_stores_only_the_first(org, desk, sent):  # noqa: F811
    survey, token = sent
    stale = survey_services.survey_for_token(token)  # read before the other answer lands
    survey_services.survey_answer(token=token, score=5, comment="先到")
    original = survey_services.survey_for_token

    survey_services.survey_for_token = lambda _token, **kw: stale
    try:
        with pytest.raises(SurveyLinkError) as refused:
            survey_services.survey_answer(token=token, score=1, comment="后到")
    finally:
        survey_services.survey_for_token = original
    assert refused.value.code == "answered"
    survey.refresh_from_db()
    assert (survey.score, survey.comment) == (5, "先到")


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_answers_store_exactly_one(
    org, mailoutbox, django_capture_on_commit_callbacks
):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers; the race needs PostgreSQL")
    from rapport.customers import services as customer_services
    from rapport.identity.models import Team
    from rapport.service import services

    team = Team.objects.create(name="华南客服")
    team.members.add(org["agent"])
    contact = customer_services.contact_create(
        actor=org["admin"], name="张伟", emails=["zhang.wei@example.com"]
    )
    grant_research(org["admin"], contact)
    ticket = services.ticket_create(
        actor=org["admin"], subject="并发", contact=contact, team=team, assignee=org["agent"]
    )
    services.ticket_set_status(actor=org["agent"], ticket=ticket, status="resolved")
    from tests.service.test_surveys import link_token

    token = link_token(mailoutbox[-1])
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def answer(score: int) -> None:
        try:
            barrier.wait()
            survey_services.survey_answer(token=token, score=score)
            outcomes.append("stored")
        except SurveyLinkError as refusal:
            outcomes.append(refusal.code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=answer, args=(score,)) for score in (1, 2, 4, 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["answered", "answered", "answered", "stored"]
    survey = Survey.objects.get(ticket=ticket)
    assert survey.score in (1, 2, 4, 5) and survey.answered_at is not None
    assert survey.answered_at <= timezone.now() + timedelta(seconds=1)
