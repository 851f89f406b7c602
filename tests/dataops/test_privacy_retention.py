"""Retention policies: the preview counts, what a run does to each data class, resuming a
run, audit, and who may change policies."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from rapport.audit.models import AuditEvent
from rapport.core.errors import PermissionDenied
from rapport.core.models import Job
from rapport.customers import services
from rapport.customers.models import Attachment, Consent, Contact, Interaction
from rapport.dataops import exporting, importing, privacy, privacy_retention
from rapport.dataops.models import ImportRow, ImportRun, RetentionPolicy, SubjectRequest

pytestmark = pytest.mark.django_db

OLD = timezone.now() - timedelta(days=400)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def only(data_class: str, action: str | None = None, days: int = 365) -> RetentionPolicy:
    """Enable one policy (the others off) with `days`."""
    RetentionPolicy.objects.update(enabled=False)
    policy = RetentionPolicy.objects.get(data_class=data_class)
    policy.enabled, policy.days = True, days
    if action:
        policy.action = action
    policy.save()
    return policy


def counts() -> dict[str, int]:
    return {policy.data_class: n for policy, n in privacy_retention.preview()}


def run(actor=None) -> Job:
    return privacy_retention.retention_run(privacy_retention.retention_start(actor=actor))


@pytest.fixture
def history(org, media):
    """An old call with an attachment, a recent call, an old open task, an old done task."""
    admin = org["admin"]
    contact = services.contact_create(actor=admin, name="陈静", phones=["+8613811112222"])
    old_call = services.interaction_log(
        actor=admin,
        kind="call",
        contact=contact,
        subject="旧通话",
        body="陈静问价格",
        outcome="connected",
        attachments=[SimpleUploadedFile("a.pdf", b"%PDF-1.4 old")],
    )
    new_call = services.interaction_log(actor=admin, kind="call", contact=contact, subject="新通话")
    open_task = services.task_create(actor=admin, contact=contact, subject="旧的未完成任务")
    done_task = services.task_create(actor=admin, contact=contact, subject="旧的已完成任务")
    services.task_complete(actor=admin, task=done_task)
    Interaction.objects.filter(pk__in=[old_call.pk, open_task.pk, done_task.pk]).update(
        occurred_at=OLD
    )
    return {
        "contact": contact,
        "old_call": old_call,
        "new_call": new_call,
        "open_task": open_task,
        "done_task": done_task,
    }


def test_seeded_policies_are_one_per_class(db):
    classes = set(RetentionPolicy.objects.values_list("data_class", flat=True))
    assert classes == set(privacy_retention.ACTIONS) == set(privacy_retention.DEFAULTS)
    assert RetentionPolicy.objects.get(data_class="interactions").enabled is False
    RetentionPolicy.objects.filter(data_class="import_files").delete()
    assert len(privacy_retention.policies()) == len(privacy_retention.ACTIONS)  # made again
    assert RetentionPolicy.objects.get(data_class="import_files").days == 90


def test_interactions_redacted_keep_their_facts(org, history):
    only("interactions", "redact")
    assert counts()["interactions"] == 2  # the old call and the old done task
    job = run(org["admin"])
    assert job.state == Job.State.SUCCEEDED and job.result["counts"] == {"interactions": 2}
    old_call = Interaction.objects.get(pk=history["old_call"].pk)
    assert old_call.body == "" and old_call.redacted_at and old_call.outcome == "connected"
    assert old_call.kind == "call" and old_call.occurred_at == OLD
    assert not Attachment.objects.filter(interaction=old_call).exists()
    assert Interaction.objects.get(pk=history["new_call"].pk).subject == "新通话"
    assert Interaction.objects.get(pk=history["open_task"].pk).subject == "旧的未完成任务"
    assert counts()["interactions"] == 0  # done once: nothing left to do
    assert run().result["counts"] == {"interactions": 0}
    assert AuditEvent.objects.filter(action="redact", extra__count=2).exists()
    run_event = AuditEvent.objects.filter(action="retention.run").order_by("seq").first()
    assert run_event.extra["counts"] == {"interactions": 2}
    assert RetentionPolicy.objects.get(data_class="interactions").last_run_at is not None


def test_interactions_deleted(org, history):
    only("interactions", "delete")
    total = Interaction.objects.count()
    run()
    assert Interaction.objects.count() == total - 2
    assert not Interaction.objects.filter(pk=history["old_call"].pk).exists()
    assert Interaction.objects.filter(pk=history["open_task"].pk).exists()


def test_inactive_contacts_anonymized(org, media):
    admin = org["admin"]
    quiet = services.contact_create(actor=admin, name="周敏", phones=["+8613600000001"])
    busy = services.contact_create(actor=admin, name="吴强", phones=["+8613600000002"])
    young = services.contact_create(actor=admin, name="郑丽")
    services.interaction_log(actor=admin, kind="call", contact=busy, subject="最近通话")
    Contact.objects.filter(pk__in=[quiet.pk, busy.pk]).update(created_at=OLD, updated_at=OLD)
    only("inactive_contacts", days=180)
    assert counts()["inactive_contacts"] == 1
    job = run()
    assert job.result["counts"] == {"inactive_contacts": 1}
    quiet.refresh_from_db()
    assert quiet.anonymized_at is not None and quiet.phones == [] and "周敏" not in quiet.name
    assert Contact.objects.get(pk=busy.pk).name == "吴强"
    assert Contact.objects.get(pk=young.pk).name == "郑丽"
    assert AuditEvent.objects.filter(
        action="anonymize", object_id=str(quiet.pk), extra__reason="retention"
    ).exists()


def test_withdrawn_consents_keep_the_answer_only(org, media):
    admin = org["admin"]
    contact = services.contact_create(actor=admin, name="冯涛")
    services.consent_record(
        actor=admin,
        contact=contact,
        channel="sms",
        purpose="marketing",
        status="withdrawn",
        source="phone",
        evidence="冯涛电话里说不要再发短信",
    )
    services.consent_record(
        actor=admin,
        contact=contact,
        channel="email",
        purpose="marketing",
        status="granted",
        source="web_form",
        evidence="网页表单",
    )
    Consent.objects.update(updated_at=OLD)
    only("withdrawn_consents", days=365)
    assert counts()["withdrawn_consents"] == 1
    run()
    withdrawn = Consent.objects.get(channel="sms")
    assert withdrawn.status == "withdrawn" and withdrawn.evidence == ""
    assert Consent.objects.get(channel="email").evidence == "网页表单"


def test_old_files_are_deleted(org, media):
    admin = org["admin"]
    services.account_create(actor=admin, name="甲公司")
    export = exporting.export_execute(
        exporting.export_start(actor=admin, object_type="customers.account", state={})
    )
    export_file = media / "exports" / f"export-{export.pk}.csv"
    assert export_file.exists()
    run_ = importing.import_create(
        actor=admin,
        object_type="customers.account",
        upload=SimpleUploadedFile("accounts.csv", "名称\n乙公司\n".encode()),
    )
    import_file = media / run_.file.name
    ImportRow.objects.create(run=run_, number=1, outcome="failed", row_hash="x", cells=["乙公司"])
    Job.objects.filter(pk=export.pk).update(finished_at=OLD)
    ImportRun.objects.filter(pk=run_.pk).update(created_at=OLD)
    RetentionPolicy.objects.update(enabled=False)
    RetentionPolicy.objects.filter(data_class__in=["export_files", "import_files"]).update(
        enabled=True, days=30
    )
    assert counts()["export_files"] == 1 and counts()["import_files"] == 1
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        job = run()
    assert job.result["counts"] == {"export_files": 1, "import_files": 1}
    assert not export_file.exists() and not import_file.exists()
    assert ImportRun.objects.get(pk=run_.pk).file.name == ""
    assert ImportRow.objects.get(run=run_).cells == []
    assert counts()["export_files"] == 0 and counts()["import_files"] == 0
    with pytest.raises(Exception) as problem:
        exporting.export_file(actor=admin, job=Job.objects.get(pk=export.pk))
    assert type(problem.value).__name__ == "NotFound"


def test_closed_requests_lose_the_identification(org, media):
    admin = org["admin"]
    request = privacy.request_create(actor=admin, kind="access", subject_name="王五")
    privacy.request_reject(actor=admin, request=request, reason="无法核实身份")
    still_open = privacy.request_create(actor=admin, kind="access", subject_name="赵六")
    SubjectRequest.objects.filter(pk=request.pk).update(closed_at=OLD)
    only("subject_requests", days=365)
    assert counts()["subject_requests"] == 1
    run()
    request.refresh_from_db()
    assert request.subject_name == "" and request.identification_removed_at is not None
    assert request.outcome_note == "无法核实身份" and request.status == "rejected"
    assert SubjectRequest.objects.get(pk=still_open.pk).subject_name == "赵六"


def test_a_run_resumes_from_its_checkpoint(org, history, monkeypatch):
    only("interactions", "redact")
    monkeypatch.setattr(privacy_retention, "BATCH", 1)
    job = privacy_retention.retention_start(actor=None)
    calls = {"n": 0}
    original = privacy_retention.apply

    def crash_on_second(job_, policy, ids, now):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("worker lost")
        return original(job_, policy, ids, now)

    monkeypatch.setattr(privacy_retention, "apply", crash_on_second)
    with pytest.raises(RuntimeError):
        privacy_retention.retention_run(job)
    job.refresh_from_db()
    assert job.checkpoint["counts"] == {"interactions": 1}
    assert Interaction.objects.filter(redacted_at__isnull=False).count() == 1
    # the worker restarts the job where it was (state set back as a stale job would be)
    Job.objects.filter(pk=job.pk).update(state=Job.State.RUNNING, finished_at=None)
    job.refresh_from_db()
    monkeypatch.setattr(privacy_retention, "apply", original)
    job = privacy_retention.retention_run(job)
    assert job.state == Job.State.SUCCEEDED and job.result["counts"] == {"interactions": 2}
    assert Interaction.objects.filter(redacted_at__isnull=False).count() == 2


def test_policy_changes_are_checked_audited_and_need_the_grant(org, db):
    admin, rep = org["admin"], org["rep_east"]
    policy = RetentionPolicy.objects.get(data_class="interactions")
    privacy_retention.policy_update(
        actor=admin, policy=policy, days=730, action="delete", enabled=True
    )
    policy.refresh_from_db()
    assert (policy.days, policy.action, policy.enabled) == (730, "delete", True)
    event = AuditEvent.objects.get(action="update", object_type="dataops.retentionpolicy")
    assert event.changes["days"] == [1825, 730]
    with pytest.raises(ValidationError) as problem:
        privacy_retention.policy_update(actor=admin, policy=policy, action="strip")
    assert "action" in problem.value.message_dict
    with pytest.raises(ValidationError) as problem:
        privacy_retention.policy_update(actor=admin, policy=policy, days=0)
    assert "days" in problem.value.message_dict
    with pytest.raises(PermissionDenied):
        privacy_retention.policy_update(actor=rep, policy=policy, days=10)
    with pytest.raises(PermissionDenied):
        privacy_retention.retention_start(actor=rep)
