"""Complaints through the API (`/api/v1/service/complaints/` with `report/`,
`/api/v1/service/complaint-causes/`) and the shell (`rapport complaint
list|show|update|report`), restricted and validated like the pages; and the data-subject
access bundle and erasure covering complaint texts."""

from __future__ import annotations

import json
import zipfile
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from rapport.dataops import privacy
from rapport.service import services
from rapport.service.models import Complaint, ComplaintCause, ComplaintStage
from tests.dataops.test_privacy import confirm_all, make_person, media, new_request  # noqa: F401
from tests.service.test_complaint_pages import history  # noqa: F401  (fixture)
from tests.service.test_complaints import complaint_ticket, desk  # noqa: F401  (fixture)
from tests.service.test_ticket_api import api_for

pytestmark = pytest.mark.django_db

URL = "/api/v1/service/complaints/"
CAUSES = "/api/v1/service/complaint-causes/"


def test_the_api_moves_a_complaint_and_names_what_is_missing(org, desk):  # noqa: F811
    ticket = complaint_ticket(org, desk)
    hidden = complaint_ticket(org, desk, subject="华东的", team=desk["east"])
    agent = api_for(org["agent"])
    listed = agent.get(URL)
    assert listed.status_code == 200
    assert [row["ticket"]["id"] for row in listed.json()["results"]] == [ticket.pk]
    complaint = listed.json()["results"][0]
    assert complaint["stage"] == "registered" and complaint["next_stages"] == ["investigating"]
    assert agent.get(f"{URL}{hidden.complaint.pk}/").status_code == 404
    assert (
        agent.patch(f"{URL}{hidden.complaint.pk}/", {"stage": "investigating"}).status_code == 404
    )
    url = f"{URL}{complaint['id']}/"
    moved = agent.patch(url, {"stage": "investigating", "product": "LaserJet"}, format="json")
    assert moved.status_code == 200 and moved.json()["stage"] == "investigating"
    refused = agent.patch(url, {"stage": "resolved", "findings": "定影缺陷"}, format="json")
    assert refused.status_code == 400
    body = refused.json()
    assert set(body["error"]["fields"]) == {"cause", "corrective_action"}
    assert Complaint.objects.get(pk=complaint["id"]).findings == ""
    resolved = agent.patch(
        url,
        {
            "stage": "resolved",
            "findings": "定影缺陷",
            "cause": desk["defect"].pk,
            "corrective_action": "更换",
            "action_owner": org["service_manager"].pk,
            "action_due": "2031-03-01",
        },
        format="json",
    )
    assert resolved.status_code == 200, resolved.json()
    data = resolved.json()
    assert data["cause"]["id"] == desk["defect"].pk and data["action_due"] == "2031-03-01"
    assert data["next_stages"] == ["investigating", "confirmed"]
    assert agent.patch(url, {"stage": "confirmed"}, format="json").status_code == 400
    assert agent.patch(url, {"surprise": 1}, format="json").status_code == 400
    assert api_for(org["auditor"]).patch(url, {"stage": "confirmed"}).status_code in (403, 404)
    assert api_for(org["rep_east"]).get(URL).status_code == 403
    assert agent.get(URL, {"stage": "resolved"}).json()["results"][0]["id"] == complaint["id"]
    assert agent.get(URL, {"stage": "registered"}).json()["results"] == []


def test_the_api_report_gives_the_same_numbers(org, desk, history):  # noqa: F811
    agent = api_for(org["agent"])
    report = agent.get(f"{URL}report/")
    assert report.status_code == 200
    figures = report.json()
    assert figures["total"] == 5 and len(figures["months"]) == 12
    assert figures["overdue_count"] == 1 and figures["open"] == 4
    causes = {row["key"]: row["total"] for row in figures["by_cause"]}
    assert causes == {desk["defect"].pk: 3, desk["late"].pk: 1, None: 1}
    assert agent.get(f"{URL}report/", {"months": 24}).json()["total"] == 6
    assert agent.get(f"{URL}report/", {"cause": "none"}).json()["total"] == 1
    assert api_for(org["admin"]).get(f"{URL}report/").json()["total"] == 6
    overdue = agent.get(URL, {"overdue": "true"}).json()["results"]
    assert [row["ticket"]["id"] for row in overdue] == [history["tickets"]["a"].pk]


def test_the_cause_api(org, desk):  # noqa: F811
    agent = api_for(org["agent"])
    listed = agent.get(CAUSES)
    assert [row["name"] for row in listed.json()["results"]] == ["产品缺陷", "交付延误"]
    assert agent.post(CAUSES, {"name": "服务态度"}, format="json").status_code == 403
    manager = api_for(org["service_manager"])
    created = manager.post(CAUSES, {"name": "服务态度", "name_en": "Attitude"}, format="json")
    assert created.status_code == 201
    duplicate = manager.post(CAUSES, {"name": "服务态度"}, format="json")
    assert duplicate.status_code == 400
    retired = manager.patch(f"{CAUSES}{created.json()['id']}/", {"is_active": False}, format="json")
    assert retired.status_code == 200 and retired.json()["is_active"] is False
    assert manager.get(f"{CAUSES}999999/").status_code == 404


def test_the_schema_documents_the_complaint_endpoints(client, db):
    schema = client.get("/api/schema/?format=json").json()
    for path in (URL, f"{URL}report/", f"{URL}{{id}}/", CAUSES):
        assert path in schema["paths"], path


def run(*args) -> str:
    out = StringIO()
    with translation.override("en"):
        call_command("complaint", *args, stdout=out)
    return out.getvalue()


def test_the_shell_works_a_complaint_through_its_stages(org, desk):  # noqa: F811
    ticket = complaint_ticket(org, desk)
    number = ticket.number
    run("update", number, "--stage", "investigating", "--product", "LaserJet", "--as", "agent")
    with pytest.raises(CommandError, match="corrective_action: ") as refused:
        run("update", str(ticket.pk), "--stage", "resolved", "--cause", "产品缺陷", "--as", "agent")
    assert "findings: " in str(refused.value)
    assert Complaint.objects.get(ticket=ticket).cause is None
    run(
        "update",
        number,
        "--stage",
        "resolved",
        "--cause",
        "Product defect",
        "--findings",
        "定影组件缺陷",
        "--corrective-action",
        "更换定影组件",
        "--owner",
        "svcmgr",
        "--due",
        "2031-01-15",
        "--as",
        "agent",
    )
    with pytest.raises(CommandError, match="confirmation_note: "):
        run("update", number, "--stage", "confirmed", "--as", "agent")
    run("update", number, "--stage", "confirmed", "--confirmation", "电话回访", "--as", "agent")
    complaint = Complaint.objects.get(ticket=ticket)
    assert (
        complaint.stage == ComplaintStage.CONFIRMED and complaint.action_owner.username == "svcmgr"
    )
    shown = run("show", number, "--as", "agent")
    assert "定影组件缺陷" in shown and "2031-01-15" in shown and "电话回访" in shown
    assert number in run("list", "--stage", "confirmed", "--as", "agent")
    with pytest.raises(CommandError, match="due: "):
        run("update", number, "--due", "tomorrow", "--as", "agent")
    with pytest.raises(CommandError, match="cause: "):
        run("update", number, "--cause", "没有这个", "--as", "agent")


def test_the_shell_hides_other_queues_and_reports(org, desk, history):  # noqa: F811
    east = history["tickets"]["east"]
    with pytest.raises(CommandError, match="ticket: "):
        run("show", east.number, "--as", "agent")
    with pytest.raises(CommandError, match="ticket: "):
        run("update", str(east.pk), "--stage", "investigating", "--as", "agent")
    assert Complaint.objects.get(ticket=east).stage == ComplaintStage.REGISTERED
    listed = run("list", "--as", "agent")
    assert east.number not in listed and history["tickets"]["a"].number in listed
    assert run("list", "--overdue", "--as", "agent").count(" CS") <= 1
    report = run("report", "--as", "agent")
    assert "Product defect" in report and "Corrective actions overdue: 1" in report
    assert "Corrective actions overdue: 1" in run("report", "--months", "3", "--as", "agent")
    with pytest.raises(CommandError):
        run("report", "--as", "rep_sh")


def test_the_access_bundle_and_erasure_cover_complaints(org, media):  # noqa: F811
    admin = org["admin"]
    contact, _colleague = make_person(admin, with_history=False)
    ticket = services.ticket_create(
        actor=admin, subject="打印机投诉", kind="complaint", contact=contact
    )
    terms = [contact.name, *(contact.phones or [])]
    services.complaint_update(
        actor=admin,
        complaint=ticket.complaint,
        stage="investigating",
        product="LaserJet",
        findings=f"{' '.join(terms)} 反映三次维修未果",
    )
    access = new_request(admin)
    confirm_all(admin, access)
    privacy.bundle_execute(privacy.bundle_start(actor=admin, request=access))
    with zipfile.ZipFile(privacy.bundle_file(actor=admin, request=access)) as archive:
        data = json.loads(archive.read(f"request-{access.pk}.json"))
    (shown,) = data["contacts"][0]["complaints"]
    assert shown["ticket"] == ticket.number and "三次维修" in shown["findings"]
    assert shown["product"] == "LaserJet"
    erasure = new_request(admin, kind="erasure")
    confirm_all(admin, erasure)
    done = privacy.request_erase(actor=admin, request=erasure)
    assert done.counts["complaints"] == 1
    findings = Complaint.objects.get(ticket=ticket).findings
    assert "三次维修" in findings
    assert all(term not in findings for term in terms)


def test_retired_causes_cannot_be_chosen_from_the_shell(org, desk):  # noqa: F811
    services.complaint_cause_update(actor=org["admin"], cause=desk["late"], is_active=False)
    ticket = complaint_ticket(org, desk)
    with pytest.raises(CommandError, match="cause: "):
        run("update", ticket.number, "--cause", "交付延误", "--as", "agent")
    assert ComplaintCause.objects.filter(is_active=True).count() == 1
