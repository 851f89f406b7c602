"""Complaint pages: the complaint card on the ticket page (stage moves, errors beside their
field, nothing partial, who may), the report's figures against hand-computed values and its
restriction, query counts that do not grow with the complaints, the root-cause page."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from rapport.service import complaint_report, services
from rapport.service.models import Complaint, ComplaintCause, ComplaintStage
from tests.query_counts import assert_flat
from tests.service.test_complaints import complaint_ticket, desk  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def signed_in(user, language="zh-hans") -> Client:
    user.language = language
    user.save(update_fields=["language"])
    client = Client()
    client.force_login(user)
    return client


def test_the_ticket_page_shows_the_complaint_card_and_moves_it(org, desk):  # noqa: F811
    ticket = complaint_ticket(org, desk)
    question = services.ticket_create(actor=org["agent"], subject="怎么导出", team=desk["south"])
    client = signed_in(org["agent"])
    assert (
        'data-testid="ticket-complaint"'
        not in client.get(f"/service/tickets/{question.pk}/").content.decode()
    )
    body = client.get(f"/service/tickets/{ticket.pk}/").content.decode()
    card = body.index('data-testid="ticket-complaint"')
    assert card < body.index('data-testid="ticket-conversation"')
    assert 'data-complaint-stage="investigating"' in body
    assert 'data-complaint-stage="resolved"' not in body
    url = f"/service/tickets/{ticket.pk}/complaint/"
    response = client.post(url, {"stage": "investigating", "product": "LaserJet 5200"})
    assert response.status_code == 302 and response.url == f"/service/tickets/{ticket.pk}/"
    complaint = Complaint.objects.get(ticket=ticket)
    assert complaint.stage == ComplaintStage.INVESTIGATING and complaint.product == "LaserJet 5200"
    body = client.get(f"/service/tickets/{ticket.pk}/").content.decode()
    assert 'data-stage="investigating"' in body and 'data-complaint-stage="resolved"' in body


def test_resolving_without_what_it_needs_shows_each_error_beside_its_field(
    org,
    desk,  # noqa: F811
):
    ticket = complaint_ticket(org, desk)
    services.complaint_update(actor=org["agent"], complaint=ticket.complaint, stage="investigating")
    client = signed_in(org["agent"])
    response = client.post(
        f"/service/tickets/{ticket.pk}/complaint/",
        {"stage": "resolved", "product": "A3 打印机", "findings": "定影组件缺陷"},
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert set(re.findall(r'data-field-error="(\w+)"', body)) == {"cause", "corrective_action"}
    complaint = Complaint.objects.get(ticket=ticket)
    assert complaint.stage == ComplaintStage.INVESTIGATING and complaint.product == ""
    # with everything, it resolves
    response = client.post(
        f"/service/tickets/{ticket.pk}/complaint/",
        {
            "stage": "resolved",
            "product": "A3 打印机",
            "cause": str(desk["defect"].pk),
            "findings": "定影组件缺陷",
            "corrective_action": "更换定影组件",
            "action_owner": str(org["service_manager"].pk),
            "action_due": "2030-01-31",
        },
    )
    assert response.status_code == 302
    complaint.refresh_from_db()
    assert complaint.stage == ComplaintStage.RESOLVED and complaint.cause == desk["defect"]
    assert complaint.action_owner == org["service_manager"]
    # the ticket's resolve button is refused no more
    response = client.post(f"/service/tickets/{ticket.pk}/status/", {"status": "resolved"})
    assert response.status_code == 302


def test_the_ticket_status_guard_is_shown_not_swallowed(org, desk):  # noqa: F811
    ticket = complaint_ticket(org, desk)
    client = signed_in(org["agent"])
    client.post(f"/service/tickets/{ticket.pk}/status/", {"status": "resolved"})
    ticket.refresh_from_db()
    assert ticket.status == "new"


def test_people_who_may_not_change_the_ticket_cannot_touch_its_complaint(
    org,
    desk,  # noqa: F811
):
    ticket = complaint_ticket(org, desk)
    east = signed_in(desk["east_agent"])
    assert east.get(f"/service/tickets/{ticket.pk}/").status_code == 404
    response = east.post(f"/service/tickets/{ticket.pk}/complaint/", {"stage": "investigating"})
    assert response.status_code == 404
    auditor = signed_in(org["auditor"])
    body = auditor.get(f"/service/tickets/{ticket.pk}/").content.decode()
    assert 'data-testid="ticket-complaint"' in body and 'data-testid="complaint-form"' not in body
    response = auditor.post(f"/service/tickets/{ticket.pk}/complaint/", {"stage": "investigating"})
    assert response.status_code == 403
    assert Complaint.objects.get(ticket=ticket).stage == ComplaintStage.REGISTERED


def _at(month_start, day: int = 10):
    return timezone.make_aware(datetime.combine(month_start + timedelta(days=day - 1), time(12)))


@pytest.fixture
def history(org, desk):  # noqa: F811
    """Complaints over the months, by hand: this month two product defects (LaserJet) and a
    late delivery (no product), two months ago one product defect (LaserJet), one without a
    cause yet (A3 扫描仪); fourteen months ago one late delivery (outside the 12 months);
    one complaint of the East desk (the south agent cannot see it)."""
    starts = complaint_report.month_starts(12)
    agent, today = org["agent"], timezone.localdate()

    def make(subject, *, when, cause=None, product="", stage="registered", due=None, team=None):
        ticket = complaint_ticket(org, desk, subject=subject, team=team)
        complaint = ticket.complaint
        if stage != "registered":
            services.complaint_update(
                actor=org["admin"], complaint=complaint, stage="investigating"
            )
        values = {"product": product, "action_due": due}
        if cause is not None:
            values.update(cause=cause, findings="查明", corrective_action="整改")
        if stage in ("resolved", "confirmed"):
            values["stage"] = "resolved"
        services.complaint_update(actor=org["admin"], complaint=complaint, **values)
        if stage == "confirmed":
            services.complaint_update(
                actor=org["admin"], complaint=complaint, stage="confirmed", confirmation_note="电话"
            )
        Complaint.objects.filter(pk=complaint.pk).update(created_at=when)
        return ticket

    now = timezone.now()
    tickets = {
        "a": make(
            "卡纸一",
            when=now,
            cause=desk["defect"],
            product="LaserJet",
            stage="investigating",
            due=today - timedelta(days=3),
        ),
        "b": make(
            "卡纸二",
            when=now,
            cause=desk["defect"],
            product="LaserJet",
            stage="confirmed",
            due=today - timedelta(days=5),
        ),
        "c": make(
            "送货晚了",
            when=now,
            cause=desk["late"],
            stage="resolved",
            due=today + timedelta(days=5),
        ),
        "d": make(
            "卡纸三",
            when=_at(starts[-3]),
            cause=desk["defect"],
            product="LaserJet",
            stage="resolved",
        ),
        "e": make("扫描仪坏了", when=_at(starts[-3], 20), product="A3 扫描仪"),
        "f": make("去年的", when=now - timedelta(days=430), cause=desk["late"], stage="confirmed"),
        "east": make(
            "华东的", when=now, cause=desk["defect"], product="LaserJet", team=desk["east"]
        ),
    }
    del agent
    return {"starts": starts, "tickets": tickets}


def _row(body: str, testid: str, key: str) -> list[int]:
    """A row of a month table as [months oldest first …, total] (the page shows the total
    first, then the newest month first)."""
    table = body[body.index(f'data-testid="complaints-{testid}"') :]
    table = table[: table.index("</table>")]
    row = table[table.index(f'data-row="{key}"') :]
    row = row[: row.index("</tr>")]
    total = int(re.search(r'data-figure="total">(\d+)<', row).group(1))
    months = [int(n) for n in re.findall(r'data-figure="month">(\d+)<', row)]
    return [*reversed(months), total]


def test_report_numbers_against_hand_computed_values(org, desk, history):  # noqa: F811
    figures = complaint_report.report(org["agent"])
    this, two_ago = 11, 9
    causes = {row["key"]: row for row in figures["by_cause"]}
    defect, late = desk["defect"].pk, desk["late"].pk
    assert causes[defect]["total"] == 3
    assert causes[defect]["months"][this] == 2 and causes[defect]["months"][two_ago] == 1
    assert causes[late]["total"] == 1 and causes[late]["months"][this] == 1
    assert causes[None]["total"] == 1 and causes[None]["months"][two_ago] == 1
    assert figures["total"] == 5
    assert figures["month_totals"][this] == 3 and figures["month_totals"][two_ago] == 2
    products = {row["name"]: row["total"] for row in figures["by_product"]}
    assert products == {"LaserJet": 3, "": 1, "A3 扫描仪": 1}
    stages = {row["stage"]: row["count"] for row in figures["by_stage"]}
    assert stages == {"registered": 1, "investigating": 1, "resolved": 2, "confirmed": 2}
    assert figures["open"] == 4
    assert figures["overdue_count"] == 1
    assert [row["number"] for row in figures["overdue"]] == [history["tickets"]["a"].number]
    assert figures["overdue"][0]["days_late"] == 3
    # the administrator sees the East desk's complaint too
    assert complaint_report.report(org["admin"])["total"] == 6
    # filters
    only = complaint_report.report(
        org["agent"], complaint_report.Filters(cause=str(defect), months=3)
    )
    assert only["total"] == 3 and len(only["months"]) == 3
    assert (
        complaint_report.report(org["agent"], complaint_report.Filters(cause="none"))["total"] == 1
    )
    assert (
        complaint_report.report(org["agent"], complaint_report.Filters(product="LaserJet"))["total"]
        == 3
    )
    assert (
        complaint_report.report(org["agent"], complaint_report.Filters(stage="resolved"))["total"]
        == 2
    )
    assert complaint_report.report(org["agent"], complaint_report.Filters(months=24))["total"] == 6


def test_the_report_page_shows_the_same_numbers(org, desk, history):  # noqa: F811
    body = signed_in(org["agent"]).get("/service/complaints/").content.decode()
    assert _row(body, "causes", str(desk["defect"].pk))[-3:] == [0, 2, 3]
    assert _row(body, "causes", "none")[-4:] == [1, 0, 0, 1]
    assert _row(body, "products", "LaserJet")[-1] == 3
    assert _row(body, "causes", "all")[-1] == 5
    assert re.search(r'data-stage="resolved">.*?data-figure="count">2<', body, re.S)
    assert f'data-overdue="{history["tickets"]["a"].pk}"' in body
    assert "华东的" not in body
    filtered = signed_in(org["agent"]).get(
        "/service/complaints/", {"cause": desk["late"].pk, "months": "24"}
    )
    assert _row(filtered.content.decode(), "causes", "all")[-1] == 2
    # nonsense filters fall back to the defaults
    odd = signed_in(org["agent"]).get(
        "/service/complaints/", {"cause": "x'", "months": "7", "stage": "zzz"}
    )
    assert odd.status_code == 200 and _row(odd.content.decode(), "causes", "all")[-1] == 5


def test_an_agent_of_another_queue_sees_nothing(org, desk, history):  # noqa: F811
    figures = complaint_report.report(desk["east_agent"])
    assert figures["total"] == 1  # the East desk's own one only
    assert complaint_report.report(org["rep_sh"])["total"] == 0
    assert signed_in(org["rep_sh"]).get("/service/complaints/").status_code == 403


def test_the_report_page_queries_do_not_grow_with_complaints(org, desk):  # noqa: F811
    client = signed_in(org["service_manager"])
    made = []

    def grow(n):
        for _index in range(n):
            number = len(made)
            ticket = complaint_ticket(org, desk, subject=f"投诉{number}")
            services.complaint_update(
                actor=org["admin"],
                complaint=ticket.complaint,
                product=f"产品{number}",
                cause=desk["defect"] if number % 2 else desk["late"],
                action_due=timezone.localdate() - timedelta(days=1),
            )
            made.append(ticket)

    assert_flat(client, "/service/complaints/", grow, few=2, many=9)


def test_the_ticket_page_queries_do_not_grow_with_the_complaint(org, desk):  # noqa: F811
    ticket = complaint_ticket(org, desk)
    client = signed_in(org["agent"])
    client.get(f"/service/tickets/{ticket.pk}/")
    from tests.query_counts import page_queries

    before, _body = page_queries(client, f"/service/tickets/{ticket.pk}/")
    services.complaint_update(
        actor=org["admin"],
        complaint=ticket.complaint,
        cause=desk["defect"],
        action_owner=org["service_manager"],
    )
    after, body = page_queries(client, f"/service/tickets/{ticket.pk}/")
    assert 'data-complaint-field="cause"' in body
    assert after <= before + 2  # the cause and owner come with the complaint's one query


def test_root_cause_page(org, desk):  # noqa: F811
    assert signed_in(org["agent"]).get("/admin/complaint-causes/").status_code == 403
    client = signed_in(org["service_manager"])
    body = client.get("/admin/complaint-causes/").content.decode()
    assert f'data-cause-row="{desk["defect"].pk}"' in body
    response = client.post(
        "/admin/complaint-causes/", {"name": "服务态度", "name_en": "Staff attitude"}
    )
    assert response.status_code == 302
    cause = ComplaintCause.objects.get(name="服务态度")
    response = client.post("/admin/complaint-causes/", {"name": "服务态度"})
    assert response.status_code == 400
    assert 'data-field-error="name"' in response.content.decode()
    response = client.post(
        f"/admin/complaint-causes/{cause.pk}/", {"name": "服务态度差", "position": "3"}
    )
    assert response.status_code == 302
    client.post(f"/admin/complaint-causes/{cause.pk}/active/", {"active": "0"})
    cause.refresh_from_db()
    assert cause.name == "服务态度差" and cause.position == 3 and not cause.is_active
    assert 'data-testid="nav-complaint-causes"' in client.get("/").content.decode()
    assert (
        'data-testid="nav-complaint-causes"'
        not in signed_in(org["agent"]).get("/").content.decode()
    )


def test_the_service_menu_links_to_the_report(org):
    assert 'data-testid="nav-complaints"' in signed_in(org["agent"]).get("/").content.decode()
    assert 'data-testid="nav-complaints"' not in signed_in(org["rep_sh"]).get("/").content.decode()
