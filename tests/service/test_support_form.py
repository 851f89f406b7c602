"""The public support form: a customer who is not signed in asks for help and gets a ticket
number; bad input names the field and stores nothing; robots and floods are kept out."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from rapport.customers import services as customer_services
from rapport.customers.models import Contact
from rapport.identity.models import Team
from rapport.service.models import Ticket

pytestmark = pytest.mark.django_db

GOOD = {
    "name": "李娜",
    "email": "Li.Na@NewCorp.example",
    "phone": "139 1234 5678",
    "subject": "无法导出报表",
    "description": "点击导出后一直没有反应。",
}


@pytest.fixture(autouse=True)
def _fresh_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def inbox(org, settings):
    team = Team.objects.create(name="华南客服", department=org["departments"]["south"])
    team.members.add(org["agent"])
    settings.SERVICE_INBOX_TEAM = team.name
    return team


def test_a_request_becomes_a_ticket_with_its_number(
    org, inbox, mailoutbox, django_capture_on_commit_callbacks
):
    client = Client(enforce_csrf_checks=True)
    page = client.get("/help/contact/")
    assert page.status_code == 200
    token = page.cookies["csrftoken"].value
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post("/help/contact/", {**GOOD, "csrfmiddlewaretoken": token})
    assert done.status_code == 200
    ticket = Ticket.objects.get()
    assert f'data-testid="support-number">{ticket.number}<' in done.content.decode()
    assert (ticket.channel, ticket.team, ticket.subject) == ("web_form", inbox, "无法导出报表")
    contact = ticket.contact
    assert contact.name == "李娜" and contact.emails == ["Li.Na@newcorp.example"]
    assert contact.phones == ["+8613912345678"]
    assert Ticket.objects.restrict(org["agent"], "view").filter(pk=ticket.pk).exists()
    (ack,) = mailoutbox
    assert ack.to == ["Li.Na@newcorp.example"] and ticket.number in ack.subject
    # the same person again: the same contact, found by e-mail
    client.post("/help/contact/", {**GOOD, "subject": "又一个问题", "csrfmiddlewaretoken": token})
    assert Ticket.objects.filter(contact=contact).count() == 2
    assert Contact.objects.filter(name="李娜").count() == 1


def test_a_known_customer_is_matched_by_phone(org, inbox):
    known = customer_services.contact_create(
        actor=org["admin"], name="王芳", phones=["13800001111"]
    )
    Client().post("/help/contact/", {**GOOD, "email": "wang@example.com", "phone": "138-0000-1111"})
    assert Ticket.objects.get().contact == known


def test_bad_input_names_the_fields_and_stores_nothing(org, inbox):
    response = Client().post(
        "/help/contact/",
        {"name": "", "email": "not-an-address", "phone": "12", "subject": "", "description": ""},
    )
    assert response.status_code == 400
    body = response.content.decode()
    for field in ("name", "email", "phone", "subject", "description"):
        assert f'data-error-for="{field}"' in body, field
    assert not Ticket.objects.exists() and not Contact.objects.exists()


def test_robots_and_floods_are_kept_out(org, inbox):
    client = Client()
    trapped = client.post("/help/contact/", {**GOOD, "website": "http://spam.example"})
    assert trapped.status_code == 200 and not Ticket.objects.exists()
    for n in range(5):
        assert client.post("/help/contact/", {**GOOD, "subject": f"第{n}次"}).status_code == 200
    limited = client.post("/help/contact/", {**GOOD, "subject": "第六次"})
    assert (
        limited.status_code == 429 and 'data-testid="support-limited"' in limited.content.decode()
    )
    assert Ticket.objects.count() == 5
