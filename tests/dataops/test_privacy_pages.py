"""The privacy pages in both languages, the request list's query count, and the
`rapport privacy` command."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from rapport.customers.models import Contact
from rapport.dataops import privacy
from rapport.dataops.models import MatchState, RetentionPolicy, SubjectRequest
from tests.dataops.test_privacy import PHONE, make_person
from tests.query_counts import assert_flat

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def signed_in(user, language="zh-hans") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])
    return client


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_erasure_flow_through_the_pages(org, language):
    admin = org["admin"]
    contact, _colleague = make_person(admin)
    client = signed_in(admin, language)
    form = client.get(reverse("dataops:privacy_request_create"))
    assert form.status_code == 200 and 'name="subject_phone"' in form.content.decode()
    created = client.post(
        reverse("dataops:privacy_request_create"),
        {"kind": "erasure", "channel": "email", "subject_phone": "13812345678"},
    )
    request = SubjectRequest.objects.get()
    assert created.status_code == 302 and created["Location"].endswith(f"/{request.pk}/")
    page = client.get(reverse("dataops:privacy_request_detail", args=[request.pk])).content.decode()
    assert "张伟" in page and 'data-testid="match"' in page and PHONE in page
    assert 'data-testid="audit-note"' in page
    if language == "en":
        assert "Matching contacts" in page and "Interactions: 1" in page
    action = lambda name: reverse("dataops:privacy_request_action", args=[request.pk, name])  # noqa: E731
    client.post(action("decide"), {"contact": [contact.pk], "state": "confirmed"})
    assert request.matches.get().state == MatchState.CONFIRMED
    client.post(action("anonymize"), {})  # not confirmed: refused
    assert Contact.objects.get(pk=contact.pk).anonymized_at is None
    client.post(action("anonymize"), {"confirm": "yes"})
    assert Contact.objects.get(pk=contact.pk).anonymized_at is not None
    again = client.post(action("anonymize"), {"confirm": "yes"}, follow=True).content.decode()
    if language == "en":
        assert "anonymized already; nothing changed" in again
    page = client.get(reverse("dataops:privacy_request_detail", args=[request.pk])).content.decode()
    assert 'data-testid="anonymized"' in page and 'data-testid="erased"' in page
    detail = client.get(reverse("customers:contact_detail", args=[contact.pk]))
    assert detail.status_code == 200
    shown = detail.content.decode()
    assert f"#{contact.pk}" in shown and PHONE not in shown and "采购经理" not in shown
    client.post(action("complete"), {"outcome_note": "done"})
    request.refresh_from_db()
    assert request.status == "completed"


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_list_overdue_and_retention_pages(org, language):
    admin = org["admin"]
    late = privacy.request_create(
        actor=admin,
        kind="access",
        subject_name="王五",
        received_at=timezone.now() - timedelta(days=20),
    )
    privacy.request_create(actor=admin, kind="erasure", subject_name="赵六")
    client = signed_in(admin, language)
    listing = client.get(reverse("dataops:privacy_request_list")).content.decode()
    assert listing.count('data-testid="request-row"') == 2
    assert 'data-testid="overdue-badge"' in listing and 'data-testid="overdue"' in listing
    overdue = client.get(reverse("dataops:privacy_request_list"), {"status": "overdue"})
    body = overdue.content.decode()
    assert body.count('data-testid="request-row"') == 1 and f"#{late.pk}" in body
    if language == "en":
        assert "Data-subject requests" in body and "1 overdue" in body
    retention = client.get(reverse("dataops:privacy_retention")).content.decode()
    assert retention.count('data-testid="policy"') == RetentionPolicy.objects.count()
    assert 'data-testid="run-now"' in retention
    policy = RetentionPolicy.objects.get(data_class="interactions")
    client.post(
        reverse("dataops:privacy_retention"),
        {"policy": policy.pk, "days": "400", "action": "delete", "enabled": "on"},
    )
    policy.refresh_from_db()
    assert (policy.days, policy.action, policy.enabled) == (400, "delete", True)
    client.post(reverse("dataops:privacy_retention_run"))
    from rapport.core.models import Job

    assert Job.objects.filter(kind="dataops.retention", created_by=admin).exists()
    administration = client.get(reverse("identity:user_list")).content.decode()
    assert 'data-testid="admin-tab-privacy"' in administration
    assert 'data-testid="admin-tab-retention"' in administration


def test_a_rep_sees_no_privacy_pages(org):
    rep = signed_in(org["rep_east"])
    for name in ("privacy_request_list", "privacy_request_create", "privacy_retention"):
        assert rep.get(reverse(f"dataops:{name}")).status_code == 403
    request = privacy.request_create(actor=org["admin"], kind="access", subject_name="王五")
    assert rep.get(reverse("dataops:privacy_request_detail", args=[request.pk])).status_code == 404
    assert 'data-testid="nav-privacy"' not in rep.get(reverse("web:home")).content.decode()


def test_request_list_queries_stay_flat(org):
    admin = org["admin"]
    contact, _colleague = make_person(admin, with_history=False)

    def grow(n):
        for _ in range(n):
            request = privacy.request_create(
                actor=admin, kind="access", subject_phone=PHONE, assignee=admin
            )
            privacy.match_decide(
                actor=admin, request=request, contacts=[contact.pk], state=MatchState.CONFIRMED
            )

    assert_flat(
        signed_in(admin),
        reverse("dataops:privacy_request_list"),
        grow,
        few=2,
        many=8,
        rows=lambda body: body.count('data-testid="request-row"'),
    )


def test_privacy_command(org, media):
    admin = org["admin"]
    contact, _colleague = make_person(admin)
    out = StringIO()
    with translation.override("en"):
        call_command(
            "privacy",
            "request",
            "create",
            "--kind",
            "erasure",
            "--phone",
            "13812345678",
            "--as",
            "admin",
            stdout=out,
        )
    request = SubjectRequest.objects.get()
    assert f"#{request.pk}" in out.getvalue() and "张伟" in out.getvalue()
    out = StringIO()
    call_command("privacy", "find", str(request.pk), "--confirm-all", stdout=out)
    assert request.matches.get().state == MatchState.CONFIRMED
    bundle = media / "copy.zip"
    call_command("privacy", "export", str(request.pk), "--output", str(bundle), stdout=StringIO())
    assert bundle.exists()
    with pytest.raises(CommandError, match="--yes"):
        call_command("privacy", "anonymize", str(request.pk), stdout=StringIO())
    out = StringIO()
    call_command("privacy", "anonymize", str(request.pk), "--yes", stdout=out)
    assert Contact.objects.get(pk=contact.pk).anonymized_at is not None
    out = StringIO()
    with translation.override("en"):
        call_command("privacy", "anonymize", str(request.pk), "--yes", stdout=out)
    assert "nothing changed" in out.getvalue()
    listed = StringIO()
    call_command("privacy", "request", "list", stdout=listed)
    assert str(request.pk) in listed.getvalue()
    call_command(
        "privacy", "request", "complete", str(request.pk), "--note", "ok", stdout=StringIO()
    )
    request.refresh_from_db()
    assert request.status == "completed"
    with pytest.raises(CommandError, match="subject_name"):
        call_command("privacy", "request", "create", "--kind", "access", stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("privacy", "request", "show", "999999", stdout=StringIO())
    with pytest.raises(CommandError, match="rep_east"):
        call_command(
            "privacy",
            "request",
            "create",
            "--kind",
            "access",
            "--name",
            "王五",
            "--as",
            "rep_east",
            stdout=StringIO(),
        )


def test_retention_command(org):
    out = StringIO()
    call_command(
        "privacy", "retention", "set", "interactions", "--days", "120", "--enable", stdout=out
    )
    policy = RetentionPolicy.objects.get(data_class="interactions")
    assert policy.days == 120 and policy.enabled
    listed = StringIO()
    call_command("privacy", "retention", "list", stdout=listed)
    assert "interactions" in listed.getvalue() and "120" in listed.getvalue()
    ran = StringIO()
    call_command("privacy", "retention", "run", stdout=ran)
    assert "job" in ran.getvalue() or "任务" in ran.getvalue()
    with pytest.raises(CommandError):
        call_command(
            "privacy", "retention", "set", "interactions", "--action", "strip", stdout=StringIO()
        )
    with pytest.raises(CommandError, match="rep_east"):
        call_command("privacy", "retention", "run", "--as", "rep_east", stdout=StringIO())
