"""Data-quality scores: each component, the rules that weigh them, the resumable job and
who sees which scores."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from rapport.audit.models import AuditEvent
from rapport.core import errors
from rapport.core.customfields.models import CustomField
from rapport.core.models import Job
from rapport.customers import services
from rapport.customers.models import Account, Contact
from rapport.customers.validators import uscc_check_char
from rapport.dataops import quality
from rapport.dataops.models import DuplicatePair, PairState, QualityScore

pytestmark = pytest.mark.django_db

ACCOUNT, CONTACT = quality.ACCOUNT, quality.CONTACT


def credit_code(seed: str = "91310000MA1FL1234") -> str:
    return seed + uscc_check_char(seed)


def compute(admin) -> Job:
    job = quality.compute_run(quality.compute_start(actor=admin))
    assert job.state == Job.State.SUCCEEDED
    return job


def score_of(record) -> QualityScore:
    return QualityScore.objects.get(object_type=record.security_type, record_id=record.pk)


def codes(score: QualityScore, component: str) -> set[tuple[str, str]]:
    return {
        (reason["code"], reason.get("field", ""))
        for reason in score.reasons
        if reason["component"] == component
    }


def test_completeness_weighs_the_filled_fields(org):
    rep = org["rep_east"]
    bare = services.account_create(actor=rep, name="空壳公司", province="上海", city="上海")
    full = services.account_create(
        actor=rep,
        name="齐全公司",
        credit_code=credit_code(),
        industry="technology",
        province="北京",
        city="北京",
        address="朝阳区建国路 1 号",
        phone="010-65521234",
        website="example.com",
    )
    services.contact_create(actor=rep, name="王芳", accounts=[full])
    compute(org["admin"])
    # Default weights: credit code 3, industry 2, province 2, city 2, address 1, phone 3,
    # website 1, contacts 2 = 16; the bare account has province and city: 4 / 16.
    bare_score = score_of(bare)
    assert bare_score.completeness == 25
    assert codes(bare_score, "completeness") == {
        ("missing", name)
        for name in ("credit_code", "industry", "address", "phone", "website", "contacts")
    }
    # Heaviest missing first, so the reason list starts with what matters most.
    assert [r["field"] for r in bare_score.reasons[:2]] == ["credit_code", "phone"]
    full_score = score_of(full)
    assert full_score.completeness == 100
    assert codes(full_score, "completeness") == set()
    assert full_score.total > bare_score.total


def test_rule_changes_alter_the_scores(org):
    rep, admin = org["rep_east"], org["admin"]
    account = services.account_create(actor=rep, name="规则公司", province="上海", city="上海")
    compute(admin)
    assert score_of(account).completeness == 25
    quality.rule_update(
        actor=admin, object_type=ACCOUNT, fields={"province": 1, "city": 1, "phone": 0}
    )
    compute(admin)
    assert score_of(account).completeness == 100
    # Only validity counts in the total: the total is the validity score.
    Account.objects.filter(pk=account.pk).update(phone="12345")
    quality.rule_update(
        actor=admin,
        object_type=ACCOUNT,
        weights={"completeness": 0, "validity": 1, "freshness": 0, "duplicates": 0},
    )
    compute(admin)
    score = score_of(account)
    assert score.validity == 0 and score.total == 0
    quality.rule_reset(actor=admin, object_type=ACCOUNT)
    compute(admin)
    assert score_of(account).total > 0


def test_validity_checks_identifiers_without_storing_them(org):
    rep = org["rep_east"]
    account = services.account_create(actor=rep, name="校验公司", website="example.com")
    good_code = credit_code()
    bad_code = good_code[:-1] + ("0" if good_code[-1] != "0" else "1")
    # Older data, written before the services normalised it.
    Account.objects.filter(pk=account.pk).update(credit_code=bad_code, phone="0755 1")
    contact = services.contact_create(
        actor=rep, name="李雷", phones=["13812345678"], emails=["li@example.com"]
    )
    Contact.objects.filter(pk=contact.pk).update(
        emails=["li@example.com", "not-an-address"], id_number="110101199003071234"
    )
    compute(org["admin"])
    account_score = score_of(account)
    assert codes(account_score, "validity") == {
        ("credit_code_check_digit", "credit_code"),
        ("phone_invalid", "phone"),
    }
    assert account_score.validity == 33  # the web address passes: 1 of 3
    contact_score = score_of(contact)
    assert codes(contact_score, "validity") == {
        ("email_invalid", "emails"),
        ("id_number_check_digit", "id_number"),
    }
    assert contact_score.validity == 50  # phone and first e-mail pass: 2 of 4
    stored = json.dumps(contact_score.reasons)
    assert "not-an-address" not in stored and "110101199003071234" not in stored


def test_phones_not_in_e164_and_implausible_dates_are_invalid(org):
    rep = org["rep_east"]
    CustomField.objects.create(
        object_type=ACCOUNT, key="founded", label="成立日期", label_en="Founded", type="date"
    )
    account = services.account_create(actor=rep, name="日期公司")
    Account.objects.filter(pk=account.pk).update(
        phone="010-65521234", custom={"founded": "1850-03-01"}
    )
    sane = services.account_create(actor=rep, name="正常公司", phone="010-65521234")
    Account.objects.filter(pk=sane.pk).update(custom={"founded": "2001-03-01"})
    compute(org["admin"])
    assert codes(score_of(account), "validity") == {
        ("phone_not_e164", "phone"),
        ("date_implausible", "custom.founded"),
    }
    assert score_of(sane).validity == 100


def test_freshness_follows_changes_and_interactions(org):
    rep, admin = org["rep_east"], org["admin"]
    account = services.account_create(actor=rep, name="久未联系公司")
    Account.objects.filter(pk=account.pk).update(updated_at=timezone.now() - timedelta(days=400))
    compute(admin)
    score = score_of(account)
    # 180 days fresh, then down to 0 at 540: 400 days is 220 past, 1 - 220/360 = 39%.
    assert score.freshness == 39
    stale = [r for r in score.reasons if r["code"] == "stale"]
    assert stale and stale[0]["days"] == 400 and stale[0]["limit"] == 180
    services.interaction_log(
        actor=rep,
        kind="call",
        subject="回访",
        account=account,
        occurred_at=timezone.now() - timedelta(days=10),
    )
    Account.objects.filter(pk=account.pk).update(updated_at=timezone.now() - timedelta(days=400))
    compute(admin)
    assert score_of(account).freshness == 100
    old = services.account_create(actor=rep, name="更久公司")
    Account.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=400))
    quality.rule_update(actor=admin, object_type=ACCOUNT, freshness_days=500)
    compute(admin)
    assert score_of(old).freshness == 100


def test_an_open_duplicate_lowers_both_records(org):
    rep, admin = org["rep_east"], org["admin"]
    a = services.account_create(actor=rep, name="重复甲")
    b = services.account_create(actor=rep, name="重复乙")
    c = services.account_create(actor=rep, name="重复丙")
    pair = DuplicatePair.objects.create(
        object_type=ACCOUNT, first_id=a.pk, second_id=b.pk, score=90, reasons=[]
    )
    DuplicatePair.objects.create(
        object_type=ACCOUNT, first_id=a.pk, second_id=c.pk, score=70, reasons=[]
    )
    Account.objects.filter(pk=c.pk).update(is_active=False)  # merged away
    compute(admin)
    assert score_of(a).duplicates == 10 and score_of(b).duplicates == 10
    duplicate_reasons = [r for r in score_of(a).reasons if r["code"] == "duplicate"]
    assert [(r["other"], r["score"]) for r in duplicate_reasons] == [(b.pk, 90)]
    assert not QualityScore.objects.filter(object_type=ACCOUNT, record_id=c.pk).exists()
    pair.state = PairState.DISMISSED
    pair.save()
    compute(admin)
    assert score_of(a).duplicates == 100


def test_contacts_score_their_own_fields(org):
    rep = org["rep_east"]
    account = services.account_create(actor=rep, name="联系人公司")
    linked = services.contact_create(
        actor=rep,
        name="赵敏",
        title="采购经理",
        phones=["13812345678"],
        emails=["zm@example.com"],
        accounts=[account],
    )
    alone = services.contact_create(actor=rep, name="孤立")
    compute(org["admin"])
    assert score_of(linked).completeness == 100
    assert codes(score_of(alone), "completeness") == {
        ("missing", name) for name in ("title", "phones", "emails", "accounts")
    }
    assert score_of(alone).completeness == 0


def test_the_job_resumes_from_its_checkpoint(org, monkeypatch):
    rep, admin = org["rep_east"], org["admin"]
    accounts = [services.account_create(actor=rep, name=f"批次公司{n}") for n in range(5)]
    monkeypatch.setattr(quality, "BATCH", 2)
    real = quality.score_batch
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("worker killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(quality, "score_batch", failing)
    job = quality.compute_start(actor=admin)
    assert job.total == 5
    with pytest.raises(RuntimeError):
        quality.compute_run(job)
    job.refresh_from_db()
    assert job.state == Job.State.FAILED
    assert job.checkpoint == {"type": ACCOUNT, "after": accounts[1].pk, "done": []}
    assert QualityScore.objects.count() == 2  # the first batch stayed
    monkeypatch.setattr(quality, "score_batch", real)
    job.state = Job.State.QUEUED
    job.save(update_fields=["state"])
    assert quality.compute_start(actor=admin) == job  # the unfinished one resumes
    quality.compute_run(job)
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED
    assert job.processed == 5
    assert job.checkpoint["done"] == [ACCOUNT, CONTACT]
    assert QualityScore.objects.filter(object_type=ACCOUNT).count() == 5
    assert job.result["types"][ACCOUNT]["count"] == 5


def test_scores_follow_record_visibility(org):
    east = services.account_create(actor=org["rep_east"], name="华东客户")
    shanghai = services.account_create(actor=org["rep_sh"], name="上海客户")
    south = services.account_create(actor=org["rep_south"], name="华南客户")
    compute(org["admin"])

    def seen(user) -> set[int]:
        return set(quality.visible_scores(user, ACCOUNT).values_list("record_id", flat=True))

    assert seen(org["rep_east"]) == {east.pk}
    assert seen(org["sales_manager"]) == {east.pk, shanghai.pk}
    assert seen(org["admin"]) == {east.pk, shanghai.pk, south.pk}
    # Owner and department are copied onto the score for grouping.
    assert score_of(shanghai).department_id == org["departments"]["sh"].pk
    east_only = quality.narrowed(
        quality.visible_scores(org["admin"], ACCOUNT), department=org["departments"]["east"].pk
    )
    assert set(east_only.values_list("record_id", flat=True)) == {east.pk, shanghai.pk}
    # A record handed to someone else leaves the first owner's view at once.
    services.record_assign(actor=org["admin"], record=east, owner=org["rep_south"])
    assert seen(org["rep_east"]) == set()


def test_only_administrators_change_rules_and_every_change_is_audited(org):
    with pytest.raises(errors.PermissionDenied):
        quality.rule_update(actor=org["sales_manager"], object_type=ACCOUNT, freshness_days=30)
    with pytest.raises(errors.PermissionDenied):
        quality.compute_start(actor=org["rep_east"])
    admin = org["admin"]
    rule = quality.rule_update(actor=admin, object_type=ACCOUNT, freshness_days=30)
    assert quality.rule_for(ACCOUNT).freshness_days == 30
    event = AuditEvent.objects.filter(action="quality.rule_update").latest("id")
    assert event.changes["freshness_days"] == [None, 30]  # the first change stores the rule
    assert event.changes["fields"][1] == quality.DEFAULT_RULES[ACCOUNT]["fields"]
    quality.rule_update(actor=admin, object_type=ACCOUNT, freshness_days=60)
    event = AuditEvent.objects.filter(action="quality.rule_update").latest("id")
    assert event.changes == {"freshness_days": [30, 60]}
    assert rule.pk == quality.rule_for(ACCOUNT).pk


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"fields": {"nonsense": 1}}, "fields"),
        ({"fields": {"phone": 11}}, "fields.phone"),
        ({"fields": {"phone": 0}}, "fields"),
        ({"freshness_days": 0}, "freshness_days"),
        ({"freshness_days": "soon"}, "freshness_days"),
        ({"weights": {"beauty": 5}}, "weights"),
        ({"weights": dict.fromkeys(quality.COMPONENTS, 0)}, "weights"),
    ],
)
def test_bad_rules_are_refused_naming_the_field(org, values, field):
    with pytest.raises(ValidationError) as raised:
        quality.rule_update(actor=org["admin"], object_type=ACCOUNT, **values)
    assert field in raised.value.message_dict
    assert quality.rule_for(ACCOUNT).pk is None  # nothing stored


def test_custom_fields_can_be_weighed(org):
    CustomField.objects.create(
        object_type=CONTACT, key="wechat", label="微信", label_en="WeChat", type="text"
    )
    admin, rep = org["admin"], org["rep_east"]
    quality.rule_update(actor=admin, object_type=CONTACT, fields={"custom.wechat": 1})
    with_wechat = services.contact_create(actor=rep, name="有微信", custom={"wechat": "wx_1"})
    without = services.contact_create(actor=rep, name="无微信")
    compute(admin)
    assert score_of(with_wechat).completeness == 100
    assert score_of(without).completeness == 0
    assert codes(score_of(without), "completeness") == {("missing", "custom.wechat")}


def test_a_cancelled_job_stops_after_its_batch(org, monkeypatch):
    from rapport.core import jobs

    rep, admin = org["rep_east"], org["admin"]
    for n in range(5):
        services.account_create(actor=rep, name=f"取消公司{n}")
    monkeypatch.setattr(quality, "BATCH", 2)
    job = quality.compute_start(actor=admin)

    def cancel_after_first_batch(job) -> None:
        jobs.job_cancel(actor=admin, job=Job.objects.get(pk=job.pk))

    job = quality.compute_run(job, progress=cancel_after_first_batch)
    assert job.state == Job.State.CANCELLED
    assert QualityScore.objects.count() == 2


def test_the_nightly_schedule_runs_the_job(org):
    from django_celery_beat.models import PeriodicTask

    from rapport.dataops import tasks

    schedule = PeriodicTask.objects.get(task="dataops.quality_compute")
    assert schedule.enabled and schedule.crontab.hour == "3"
    account = services.account_create(actor=org["rep_east"], name="夜间公司")
    assert tasks.quality_compute() == Job.State.SUCCEEDED  # as beat calls it: no job, no actor
    job = Job.objects.filter(kind=quality.KIND).latest("id")
    assert job.created_by is None
    assert score_of(account).computed_at >= job.started_at


def test_recompute_does_not_start_a_second_worker_on_a_job_in_hand(org):
    from rapport.core import jobs

    admin = org["admin"]
    job, queue = quality.compute_request(actor=admin)
    assert queue  # a new job needs a worker
    again, queue = quality.compute_request(actor=admin)
    assert again == job and not queue  # queued moments ago: its worker is on the way
    jobs.job_start(job=job)
    assert quality.compute_request(actor=admin) == (job, False)
    # The worker died: no heartbeat for a long while, so a new worker resumes it.
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    assert quality.compute_request(actor=admin) == (job, True)
    with pytest.raises(errors.PermissionDenied):
        quality.compute_request(actor=org["sales_manager"])
