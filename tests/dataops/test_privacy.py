"""Data-subject requests: finding the person, the access bundle, anonymization that keeps the
aggregates, deadlines and reminders, permissions."""

from __future__ import annotations

import json
import re
import zipfile
import zlib
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone, translation

from rapport.audit.models import AuditEvent
from rapport.core import search
from rapport.core.errors import PermissionDenied
from rapport.core.models import Job
from rapport.core.notifications.models import Notification
from rapport.customers import history, services
from rapport.customers.models import (
    Attachment,
    Consent,
    Contact,
    ContactIdentifier,
    Interaction,
)
from rapport.customers.services.anonymize import anonymized_name
from rapport.dataops import privacy
from rapport.dataops.models import (
    DuplicatePair,
    MatchState,
    SubjectRequest,
    SubjectRequestStatus,
)

pytestmark = pytest.mark.django_db

PHONE = "+8613812345678"
EMAIL = "zhang.wei@example.com"
ID_NUMBER = "11010519491231002X"


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def make_person(admin, *, name="张伟", with_history=True):
    """A contact with phones, e-mail, ID number, a job title, an account, an interaction
    with an attachment, a task, a consent with evidence, and a colleague's note naming
    them. Returns (contact, other contact at the same account)."""
    account = services.account_create(actor=admin, name="华信软件有限公司")
    contact = services.contact_create(
        actor=admin,
        name=name,
        title="采购经理",
        phones=[PHONE, "+8613900000001"],
        emails=[EMAIL],
        id_number=ID_NUMBER,
        accounts=[account],
    )
    colleague = services.contact_create(
        actor=admin, name="李娜", phones=["+8613700000002"], accounts=[account]
    )
    if with_history:
        call = services.interaction_log(
            actor=admin,
            kind="call",
            contact=contact,
            account=account,
            subject=f"与{name}通话",
            body=f"{name}说他的手机是 13812345678，邮箱 {EMAIL}",
            outcome="connected",
            attachments=[SimpleUploadedFile("报价单.pdf", b"%PDF-1.4 quote for " + name.encode())],
        )
        services.task_create(actor=admin, contact=contact, subject=f"回电{name}")
        services.consent_record(
            actor=admin,
            contact=contact,
            channel="email",
            purpose="marketing",
            status="granted",
            source="paper_form",
            evidence=f"{name} 签字的纸质表格",
        )
        services.interaction_log(
            actor=admin,
            kind="meeting",
            contact=colleague,
            account=account,
            subject="季度会议",
            body=f"李娜和{name}（{PHONE}）一起参加",
        )
        assert call.attachments.count() == 1
    return contact, colleague


def new_request(admin, kind="access", **subject):
    subject = subject or {"subject_phone": "138 1234 5678"}
    return privacy.request_create(actor=admin, kind=kind, **subject)


def confirm_all(admin, request):
    ids = list(request.matches.values_list("contact_id", flat=True))
    privacy.match_decide(actor=admin, request=request, contacts=ids, state=MatchState.CONFIRMED)


# --- finding -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "subject",
    [
        {"subject_phone": "138-1234-5678"},
        {"subject_email": "Zhang.Wei@EXAMPLE.com"},
        {"subject_id_number": "11010519491231002x"},
    ],
    ids=["phone", "email", "id_number"],
)
def test_finds_the_person_by_blind_index(org, media, subject):
    contact, colleague = make_person(org["admin"])
    request = new_request(org["admin"], **subject)
    matches = list(request.matches.all())
    assert [m.contact_id for m in matches] == [contact.pk]
    assert matches[0].state == MatchState.SUGGESTED
    assert list(subject)[0].removeprefix("subject_") in matches[0].reasons
    # the identification is stored encrypted, not in clear
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT subject_phone, subject_email, subject_id_number FROM dataops_subjectrequest"
            " WHERE id = %s",
            [request.pk],
        )
        stored = cursor.fetchone()
    assert any(stored) and all(value == "" or value.startswith("enc:v1:") for value in stored)
    created = AuditEvent.objects.get(
        action="create", object_type="dataops.subjectrequest", object_id=str(request.pk)
    )
    sealed = [
        value for name, (_old, value) in created.changes.items() if name.startswith("subject")
    ]
    assert any(sealed) and all(value == "" or value.startswith("enc:v1:") for value in sealed)


def test_name_match_and_unknown_subject(org, media):
    contact, _colleague = make_person(org["admin"], with_history=False)
    by_name = new_request(org["admin"], subject_name=" 张伟 ")
    (match,) = by_name.matches.all()
    assert match.contact_id == contact.pk and match.reasons == ["name"]
    nobody = new_request(org["admin"], subject_phone="13999999999", subject_name="王五")
    assert nobody.matches.count() == 0
    with pytest.raises(ValidationError) as problem:
        new_request(org["admin"], subject_name="", subject_phone="")
    assert "subject_name" in problem.value.message_dict
    with pytest.raises(ValidationError) as problem:
        new_request(org["admin"], subject_phone="abc")
    assert "subject_phone" in problem.value.message_dict


def test_deadline_defaults_to_fifteen_days_and_overdue(org, media, settings):
    received = timezone.now() - timedelta(days=20)
    request = new_request(org["admin"], subject_name="王五", received_at=received)
    assert request.due_at == received + timedelta(days=15)
    assert request.is_overdue(timezone.now())
    settings.SUBJECT_REQUEST_DAYS = 30
    later = new_request(org["admin"], subject_name="王五")
    assert (later.due_at - later.received_at).days == 30
    assert not later.is_overdue(timezone.now())
    with pytest.raises(ValidationError) as problem:
        new_request(org["admin"], subject_name="王五", due_at=received - timedelta(days=1))
    assert "due_at" in problem.value.message_dict


def test_assignee_reminded_before_and_after_the_deadline(org, media):
    admin = org["admin"]
    other = org["admin"].__class__.objects.create(username="officer2", is_active=True)
    from rapport.identity.models import Role

    other.roles.add(Role.objects.get(code="administrator"))
    now = timezone.now()
    soon = new_request(admin, subject_name="王五", due_at=now + timedelta(days=2))
    privacy.request_update(actor=admin, request=soon, assignee=other)
    assert Notification.objects.filter(recipient=other, message_key=privacy.ASSIGNED).exists()
    late = new_request(admin, subject_name="赵六", received_at=now - timedelta(days=16))
    far = new_request(admin, subject_name="孙七")
    assert privacy.reminders_send(now=now) == 2
    assert privacy.reminders_send(now=now) == 0  # once per deadline
    assert Notification.objects.get(recipient=other, message_key=privacy.DUE_SOON).object_id == str(
        soon.pk
    )
    overdue = Notification.objects.get(recipient=admin, message_key=privacy.OVERDUE)
    assert overdue.object_id == str(late.pk)
    with translation.override("en"):
        assert f"#{late.pk} is overdue" in overdue.text
    assert not Notification.objects.filter(object_id=str(far.pk), kind="privacy.deadline").exists()
    privacy.request_reject(actor=admin, request=soon, reason="身份无法核实")
    assert privacy.reminders_send(now=now + timedelta(days=5)) == 0  # closed: no more


# --- the access bundle ---------------------------------------------------------------------------


def _pdf_objects(pdf: bytes) -> bytes:
    """The PDF's objects with their compressed streams opened (bookmarks and font names are
    inside them)."""
    opened = [pdf]
    for stream in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            opened.append(zlib.decompress(stream.group(1)))
        except zlib.error:  # an image or font program, not an object stream
            continue
    return b"".join(opened)


def test_bundle_holds_the_decrypted_data_and_a_readable_page(org, media):
    admin = org["admin"]
    contact, colleague = make_person(admin)
    request = new_request(admin)
    with pytest.raises(ValidationError):
        privacy.bundle_start(actor=admin, request=request)  # nothing confirmed yet
    confirm_all(admin, request)
    with translation.override("zh-hans"):  # the bundle is written in the asker's language
        started = privacy.bundle_start(actor=admin, request=request)
    with translation.override("en"):  # whatever the worker's own
        job = privacy.bundle_execute(started)
    assert job.state == Job.State.SUCCEEDED
    request.refresh_from_db()
    path = privacy.bundle_file(actor=admin, request=request)
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        data = json.loads(archive.read(f"request-{request.pk}.json"))
        html = archive.read(f"request-{request.pk}.html").decode()
        pdf = archive.read(f"request-{request.pk}.pdf")
        attachment = next(name for name in names if name.startswith("attachments/"))
        assert archive.read(attachment).startswith(b"%PDF")
    (person,) = data["contacts"]
    assert person["name"] == "张伟" and PHONE in person["phones"]
    assert person["emails"] == [EMAIL] and person["id_number"] == ID_NUMBER
    assert {i["subject"] for i in person["interactions"]} == {"与张伟通话", "回电张伟"}
    assert person["consents"][0]["evidence"] == "张伟 签字的纸质表格"
    assert person["accounts"][0]["name"] == "华信软件有限公司"
    assert person["took_part_in"] == []
    assert any(event["action"] == "create" for event in person["processing_history"])
    # the history reads in the requester's language: actions and fields in words, not codes
    created = next(e for e in person["processing_history"] if e["action"] == "create")
    assert created["what"] == "创建" and "create —" not in html and "创建 — " in html
    with translation.override("zh-hans"):
        name_label = history.field_label(Contact, "name")
    assert name_label != "name" and name_label in created["field_labels"]
    assert name_label in html.split("创建 — ", 1)[1]
    assert "李娜" not in json.dumps(data, ensure_ascii=False)  # only the confirmed person
    assert '<meta charset="utf-8">' in html and "张伟" in html and PHONE in html
    assert "Noto Sans CJK SC" in html
    # the same page as a PDF: the person's name is its bookmark, set in a CJK font
    assert pdf.startswith(b"%PDF-")
    artefacts = Path(settings.BASE_DIR) / "var" / "screenshots"  # for a reviewer's eye
    artefacts.mkdir(parents=True, exist_ok=True)
    (artefacts / "privacy-bundle.pdf").write_bytes(pdf)
    objects = _pdf_objects(pdf)
    assert "张伟".encode("utf-16-be").hex().encode() in objects
    assert b"Noto-Sans-CJK" in objects
    assert AuditEvent.objects.filter(
        action="export", object_type="customers.contact", object_id=str(contact.pk)
    ).exists()
    assert AuditEvent.objects.filter(
        action="privacy.bundle.download", object_id=str(request.pk)
    ).exists()
    privacy.request_complete(actor=admin, request=request, outcome_note="已发送")
    assert request.status == SubjectRequestStatus.COMPLETED


def test_without_pango_the_bundle_keeps_its_html_and_says_so(org, media, monkeypatch):
    admin = org["admin"]
    make_person(admin)
    request = new_request(admin)
    confirm_all(admin, request)

    def no_pango(html):
        raise OSError("cannot load library 'libpangoft2-1.0.so.0'")

    monkeypatch.setattr(privacy, "bundle_pdf", no_pango)
    job = privacy.bundle_execute(privacy.bundle_start(actor=admin, request=request))
    assert job.state == Job.State.SUCCEEDED
    assert any(error.get("pdf") == "unavailable" for error in job.errors)
    with zipfile.ZipFile(privacy.bundle_file(actor=admin, request=request)) as archive:
        names = archive.namelist()
    assert f"request-{request.pk}.html" in names and f"request-{request.pk}.pdf" not in names


def test_an_access_request_is_not_complete_without_its_bundle(org, media):
    admin = org["admin"]
    make_person(admin, with_history=False)
    request = new_request(admin)
    confirm_all(admin, request)
    with pytest.raises(ValidationError) as problem:
        privacy.request_complete(actor=admin, request=request)
    assert "bundle" in problem.value.message_dict


# --- anonymization -------------------------------------------------------------------------------


def test_anonymization_removes_the_person_and_keeps_the_aggregates(
    org, media, django_capture_on_commit_callbacks
):
    admin = org["admin"]
    with django_capture_on_commit_callbacks(execute=True):
        contact, colleague = make_person(admin)
    attachment = Attachment.objects.get(interaction__contact=contact)
    stored_file = media / attachment.file.name
    assert stored_file.exists()
    pair = DuplicatePair.objects.create(
        object_type="customers.contact",
        first_id=min(contact.pk, colleague.pk),
        second_id=max(contact.pk, colleague.pk),
        score=80,
    )
    interactions_before = Interaction.objects.filter(contact=contact).count()
    kinds_before = sorted(
        Interaction.objects.filter(contact=contact).values_list("kind", "outcome")
    )
    assert [h.id for g in search.search(admin, "张伟").groups for h in g.hits] == [contact.pk]
    request = new_request(admin, kind="erasure")
    confirm_all(admin, request)
    with django_capture_on_commit_callbacks(execute=True):
        erasure = privacy.request_erase(actor=admin, request=request)
    assert erasure.anonymized == [contact.pk]
    contact.refresh_from_db()
    # the placeholder is written in the site's language ("已匿名 #id" once translated)
    assert contact.name == anonymized_name(contact.pk) and contact.name.endswith(f" #{contact.pk}")
    assert contact.phones == [] and contact.emails == [] and contact.id_number == ""
    assert contact.title == "" and contact.anonymized_at is not None and not contact.is_active
    assert not ContactIdentifier.objects.filter(contact=contact).exists()
    # aggregates stay: as many interactions, same kinds and outcomes, text gone
    assert Interaction.objects.filter(contact=contact).count() == interactions_before
    assert sorted(Interaction.objects.filter(contact=contact).values_list("kind", "outcome")) == (
        kinds_before
    )
    for interaction in Interaction.objects.filter(contact=contact):
        assert "张伟" not in interaction.subject and interaction.body == ""
        assert interaction.redacted_at is not None
    assert not Attachment.objects.filter(interaction__contact=contact).exists()
    assert not stored_file.exists()
    consent = Consent.objects.get(contact=contact)
    assert consent.status == "granted" and consent.evidence == ""
    # the colleague's note no longer names the person, and the colleague is untouched
    note = Interaction.objects.get(contact=colleague)
    assert "张伟" not in note.body and PHONE not in note.body and "李娜" in note.body
    colleague.refresh_from_db()
    assert colleague.name == "李娜" and colleague.phones == ["+8613700000002"]
    assert not DuplicatePair.objects.filter(pk=pair.pk).exists()
    # search no longer finds them, by name or phone
    assert not [h.id for g in search.search(admin, "张伟").groups for h in g.hits]
    assert not [h.id for g in search.search(admin, "13812345678").groups for h in g.hits]
    # audited, without the values
    event = AuditEvent.objects.get(
        action="anonymize", object_type="customers.contact", object_id=str(contact.pk)
    )
    assert event.extra["subject_request"] == request.pk and "phones" in event.extra["fields"]
    assert "张伟" not in json.dumps(event.extra, ensure_ascii=False)
    assert "13812345678" not in json.dumps(event.extra)
    assert AuditEvent.objects.filter(action="privacy.erase", object_id=str(request.pk)).exists()
    # a second run changes nothing and says so
    events = AuditEvent.objects.count()
    again = privacy.request_erase(actor=admin, request=request)
    assert again.anonymized == [] and again.already == [contact.pk]
    assert AuditEvent.objects.count() == events
    # the record is locked: nothing (the history's restore included) writes data back
    with pytest.raises(ValidationError):
        services.contact_update(actor=admin, contact=contact, name="张伟")
    privacy.request_complete(actor=admin, request=request, outcome_note="已匿名化")


def test_anonymization_is_all_or_nothing(org, media, monkeypatch):
    admin = org["admin"]
    contact, _colleague = make_person(admin)
    request = new_request(admin, kind="erasure")
    confirm_all(admin, request)

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("rapport.customers.services.anonymize._mask_mentions", broken)
    with pytest.raises(RuntimeError):
        privacy.request_erase(actor=admin, request=request)
    contact.refresh_from_db()
    assert contact.name == "张伟" and contact.anonymized_at is None
    assert ContactIdentifier.objects.filter(contact=contact).count() == 4
    assert Attachment.objects.filter(interaction__contact=contact).count() == 1
    assert Interaction.objects.filter(contact=contact, redacted_at__isnull=False).count() == 0
    request.refresh_from_db()
    assert request.erased_at is None


def test_only_erasure_requests_anonymize(org, media):
    admin = org["admin"]
    make_person(admin, with_history=False)
    request = new_request(admin, kind="access")
    confirm_all(admin, request)
    with pytest.raises(ValidationError) as problem:
        privacy.request_erase(actor=admin, request=request)
    assert "kind" in problem.value.message_dict


# --- permissions -------------------------------------------------------------------------------


def test_a_rep_cannot_handle_requests(org, media):
    admin, rep = org["admin"], org["rep_east"]
    make_person(admin, with_history=False)
    with pytest.raises(PermissionDenied):
        new_request(rep, subject_phone=PHONE)
    request = new_request(admin, kind="erasure")
    assert not SubjectRequest.objects.restrict(rep, "view").exists()
    with pytest.raises(Exception) as problem:  # not found: not even visible
        privacy.match_decide(
            actor=rep,
            request=request,
            contacts=[request.matches.get().contact_id],
            state="confirmed",
        )
    assert type(problem.value).__name__ == "NotFound"


def test_anonymizing_needs_delete_on_the_contact(org, media):
    """An officer with manage on requests but without delete on the contact is refused, and
    nothing changes."""
    from rapport.identity.models import Grant, Role

    admin = org["admin"]
    contact, _colleague = make_person(admin, with_history=False)
    role = Role.objects.create(code="privacy_officer", name="Privacy officer")
    for action in ("view", "manage"):
        Grant.objects.create(
            role=role, object_type="dataops.subjectrequest", action=action, scope="all"
        )
    Grant.objects.create(role=role, object_type="customers.contact", action="view", scope="all")
    officer = admin.__class__.objects.create(username="dpo", is_active=True)
    officer.roles.add(role)
    request = new_request(officer, kind="erasure")
    confirm_all(officer, request)
    with pytest.raises(PermissionDenied):
        privacy.request_erase(actor=officer, request=request)
    contact.refresh_from_db()
    assert contact.anonymized_at is None and contact.name == "张伟"


# --- service tickets -----------------------------------------------------------------------------


def test_the_persons_tickets_are_in_the_bundle_and_masked_on_erasure(org, media):
    from rapport.service import services as service_services
    from rapport.service.models import Ticket, TicketMessage

    admin = org["admin"]
    contact, _colleague = make_person(admin, with_history=False)
    ticket = service_services.ticket_create(
        actor=admin,
        subject="张伟的发票问题",
        description="张伟来电 13812345678，要求重开发票",
        contact=contact,
    )
    service_services.ticket_message_add(
        actor=admin, ticket=ticket, kind="reply", body=f"张伟您好，已发到 {EMAIL}"
    )
    access = new_request(admin)
    confirm_all(admin, access)
    privacy.bundle_execute(privacy.bundle_start(actor=admin, request=access))
    with zipfile.ZipFile(privacy.bundle_file(actor=admin, request=access)) as archive:
        data = json.loads(archive.read(f"request-{access.pk}.json"))
        html = archive.read(f"request-{access.pk}.html").decode()
    (shown,) = data["contacts"][0]["tickets"]
    assert shown["subject"] == "张伟的发票问题" and shown["messages"][0]["body"].startswith(
        "张伟您好"
    )
    assert "张伟的发票问题" in html

    erasure = new_request(admin, kind="erasure")
    confirm_all(admin, erasure)
    done = privacy.request_erase(actor=admin, request=erasure)
    assert done.counts["tickets"] == 1
    ticket = Ticket.objects.get()
    assert "张伟" not in ticket.subject and "13812345678" not in ticket.description
    body = TicketMessage.objects.get().body
    assert "张伟" not in body and EMAIL not in body and body.endswith("***")
    assert AuditEvent.objects.filter(
        action="redact", object_type="service.ticket", object_id=str(ticket.pk)
    ).exists()
