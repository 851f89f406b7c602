"""The duplicate scan (resumable job), the review list, "not duplicates", API and CLI."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from rapport.audit.models import AuditEvent
from rapport.core.models import Job
from rapport.customers import services
from rapport.dataops import scan
from rapport.dataops.models import DuplicatePair, PairState
from rapport.identity.services import token_create

pytestmark = pytest.mark.django_db

ACCOUNT, CONTACT = "customers.account", "customers.contact"


@pytest.fixture
def messy(org, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return _messy(org)


def _messy(org):
    rep = org["rep_east"]
    a = services.account_create(actor=rep, name="北京华信软件有限公司", phone="010-65521234")
    b = services.account_create(actor=rep, name="北京華信軟件有限責任公司")
    c = services.account_create(actor=rep, name="华信软件（北京）", phone="01065521234")
    other = services.account_create(actor=rep, name="上海银行股份有限公司")
    zhang = services.contact_create(actor=rep, name="张伟", accounts=[a], emails=["zw@hx.example"])
    zhang2 = services.contact_create(actor=rep, name="张 伟", accounts=[a])
    zhang3 = services.contact_create(actor=rep, name="Wei Zhang", emails=["ZW@hx.example"])
    services.contact_create(actor=rep, name="张伟", accounts=[other])  # another 张伟
    return {
        "a": a,
        "b": b,
        "c": c,
        "other": other,
        "zhang": zhang,
        "zhang2": zhang2,
        "zhang3": zhang3,
    }


def pairs(object_type) -> set[tuple[int, int]]:
    return set(
        DuplicatePair.objects.filter(object_type=object_type).values_list("first_id", "second_id")
    )


def key(x, y) -> tuple[int, int]:
    return (min(x.pk, y.pk), max(x.pk, y.pk))


def test_scan_finds_what_a_person_would(org, messy):
    job = scan.scan_start(actor=org["admin"])
    scan.scan_run(job)
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED
    assert job.processed == len(scan.PHASES) + len(scan.RECHECKS)
    found = pairs(ACCOUNT)
    assert key(messy["a"], messy["b"]) in found  # script and suffix
    assert key(messy["a"], messy["c"]) in found  # the same phone
    assert all(messy["other"].pk not in pair for pair in found)
    people = pairs(CONTACT)
    assert people == {key(messy["zhang"], messy["zhang2"]), key(messy["zhang"], messy["zhang3"])}


def test_a_second_scan_updates_and_keeps_dismissals(org, messy):
    scan.scan_run(scan.scan_start(actor=org["admin"]))
    pair = DuplicatePair.objects.get(
        object_type=ACCOUNT,
        first_id=key(messy["a"], messy["b"])[0],
        second_id=key(messy["a"], messy["b"])[1],
    )
    from rapport.dataops import services as dataops_services

    dataops_services.pair_dismiss(actor=org["sales_manager"], pair=pair)
    count = DuplicatePair.objects.count()
    scan.scan_run(scan.scan_start(actor=org["admin"]))
    assert DuplicatePair.objects.count() == count
    pair.refresh_from_db()
    assert pair.state == PairState.DISMISSED
    assert AuditEvent.objects.filter(action="duplicate.dismiss").count() == 1


def test_an_interrupted_scan_resumes_at_its_phase(org, messy, monkeypatch):
    job = scan.scan_start(actor=org["admin"])
    calls = []

    def broken():
        calls.append(1)
        raise RuntimeError("worker killed")
        yield  # pragma: no cover

    phases = list(scan.PHASES)
    monkeypatch.setattr(scan, "PHASES", [*phases[:2], ("account_phones", ACCOUNT, broken)])
    with pytest.raises(RuntimeError):
        scan.scan_run(job)
    job.refresh_from_db()
    assert job.checkpoint["done"] == ["contact_identifiers", "contact_names"]
    monkeypatch.setattr(scan, "PHASES", phases)
    job.state = Job.State.QUEUED
    job.save(update_fields=["state"])
    assert scan.scan_start(actor=org["admin"]) == job  # the unfinished one resumes
    scan.scan_run(job)
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED
    assert job.checkpoint["done"] == [name for name, *_ in phases + scan.RECHECKS]


def test_review_page_compare_and_dismiss(org, messy):
    scan.scan_run(scan.scan_start(actor=org["admin"]))
    manager = org["sales_manager"]
    manager.language = "zh-hans"
    manager.save(update_fields=["language"])
    client = Client()
    client.force_login(manager)
    page = client.get(reverse("dataops:duplicate_list")).content.decode()
    a, b = messy["a"], messy["b"]
    low, high = key(a, b)
    assert f"/customers/accounts/{low}/merge/?with={high}" in page
    with translation.override("zh-hans"):
        assert translation.gettext("Not duplicates") in page
    pair = DuplicatePair.objects.get(object_type=ACCOUNT, first_id=low, second_id=high)
    client.post(reverse("dataops:duplicate_dismiss", args=[pair.pk]))
    assert f'?with={high}"' not in client.get(reverse("dataops:duplicate_list")).content.decode()
    # someone who sees neither record sees no pairs and cannot dismiss
    south = Client()
    south.force_login(org["rep_south"])
    assert "华信" not in south.get(reverse("dataops:duplicate_list")).content.decode()
    other = DuplicatePair.objects.filter(state=PairState.OPEN).first()
    assert south.post(reverse("dataops:duplicate_dismiss", args=[other.pk])).status_code == 404
    # scanning is for administrators
    assert client.post(reverse("dataops:scan_now")).status_code == 403


def test_merged_away_records_leave_the_list(org, messy):
    scan.scan_run(scan.scan_start(actor=org["admin"]))
    services.records_merge(actor=org["sales_manager"], survivor=messy["a"], other=messy["b"])
    client = Client()
    client.force_login(org["sales_manager"])
    page = client.get(reverse("dataops:duplicate_list")).content.decode()
    assert "北京華信軟件有限責任公司" not in page


def test_api_pairs_dismiss_and_scan(org, messy, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from rapport.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        from rest_framework.test import APIClient

        admin = APIClient()
        admin.credentials(
            HTTP_AUTHORIZATION="Bearer " + token_create(actor=org["admin"], name="t")[1]
        )
        started = admin.post("/api/v1/duplicates/scan/")
        assert started.status_code == 202
        assert Job.objects.get(pk=started.json()["id"]).state == Job.State.SUCCEEDED
        rep = APIClient()
        rep.credentials(
            HTTP_AUTHORIZATION="Bearer " + token_create(actor=org["rep_east"], name="t")[1],
            HTTP_ACCEPT_LANGUAGE="en",
        )
        assert rep.post("/api/v1/duplicates/scan/").status_code == 403
        listed = rep.get("/api/v1/duplicates/pairs/", {"type": ACCOUNT}).json()["results"]
        assert listed and listed[0]["score"] >= listed[-1]["score"]
        assert {"id", "title"} <= set(listed[0]["first"])
        manager = APIClient()
        manager.credentials(
            HTTP_AUTHORIZATION="Bearer " + token_create(actor=org["sales_manager"], name="t")[1]
        )
        dismissed = manager.post(f"/api/v1/duplicates/pairs/{listed[0]['id']}/dismiss/")
        assert dismissed.status_code == 200 and dismissed.json()["state"] == "dismissed"
        bad = rep.get("/api/v1/duplicates/pairs/", {"type": "nothing"})
        assert bad.status_code == 400
    finally:
        app.conf.task_always_eager = previous


def test_cli(org, messy):
    with translation.override("en"):
        out = StringIO()
        call_command("duplicates", "scan", "--as", "admin", stdout=out)
        assert "Scan finished" in out.getvalue()
        assert "Contacts sharing a phone, e-mail or ID number: 1 pairs" in out.getvalue()
        assert "Account pairs no longer alike, removed: 0" in out.getvalue()
        out = StringIO()
        call_command("duplicates", "list", "--as", "manager", stdout=out)
        assert "北京華信軟件有限責任公司" in out.getvalue()
        out = StringIO()
        call_command("duplicates", "check", "name=华信软件", "--as", "manager", stdout=out)
        assert "北京华信软件有限公司" in out.getvalue()
        with pytest.raises(CommandError):
            call_command("duplicates", "scan", "--as", "rep_east", stdout=StringIO())
        with pytest.raises(CommandError):
            call_command("duplicates", "check", "nonsense", "--as", "manager", stdout=StringIO())


def test_a_pair_found_by_several_rules_keeps_every_reason(org, django_capture_on_commit_callbacks):
    rep = org["rep_east"]
    with django_capture_on_commit_callbacks(execute=True):
        account = services.account_create(actor=rep, name="杭州云杉科技有限公司")
        first = services.contact_create(
            actor=rep,
            name="李娜",
            accounts=[account],
            emails=["lina@ys.example"],
            phones=["13812345678"],
        )
        second = services.contact_create(
            actor=rep,
            name="李 娜",
            accounts=[account],
            emails=["LINA@ys.example"],
            phones=["+86 138 1234 5678"],
        )
    scan.scan_run(scan.scan_start(actor=org["admin"]))
    pair = DuplicatePair.objects.get(object_type=CONTACT, first_id=first.pk, second_id=second.pk)
    assert pair.score == 95  # the best of e-mail 95, phone 90, name at the account 85
    assert [reason["code"] for reason in pair.reasons] == ["email", "phone", "name_account"]
    # the next scan no longer sees the shared e-mail: that reason goes, the others stay
    with django_capture_on_commit_callbacks(execute=True):
        services.contact_update(actor=rep, contact=second, emails=["li.na@other.example"])
    scan.scan_run(scan.scan_start(actor=org["admin"]))
    pair.refresh_from_db()
    assert pair.score == 90
    assert [reason["code"] for reason in pair.reasons] == ["phone", "name_account"]


def test_a_switchboard_number_shared_by_many_pairs_no_one(org, django_capture_on_commit_callbacks):
    rep = org["rep_east"]
    with django_capture_on_commit_callbacks(execute=True):
        people = [
            services.contact_create(actor=rep, name=f"前台{n}", phones=["400-810-0000"])
            for n in range(scan.BLOCK_LIMIT + 1)
        ]
        few = [
            services.contact_create(actor=rep, name=f"销售{n}", phones=["021-5555-0101"])
            for n in range(3)
        ]
    scan.scan_run(scan.scan_start(actor=org["admin"]))
    found = pairs(CONTACT)
    assert not any(pair[0] in {p.pk for p in people} for pair in found)
    assert found == {key(few[0], few[1]), key(few[0], few[2]), key(few[1], few[2])}


def test_pairs_no_longer_alike_leave_the_list_and_others_keep_their_true_reasons(
    org, messy, django_capture_on_commit_callbacks
):
    rep = org["rep_east"]
    scan.scan_run(scan.scan_start(actor=org["admin"]))
    a, b, c = messy["a"], messy["b"], messy["c"]
    phone_pair = DuplicatePair.objects.get(object_type=ACCOUNT, first_id=a.pk, second_id=c.pk)
    assert {reason["code"] for reason in phone_pair.reasons} >= {"phone"}
    zhang_pair = DuplicatePair.objects.get(
        object_type=CONTACT, first_id=messy["zhang"].pk, second_id=messy["zhang3"].pk
    )
    dismissed = DuplicatePair.objects.get(object_type=ACCOUNT, first_id=a.pk, second_id=b.pk)
    from rapport.dataops import services as dataops_services

    dataops_services.pair_dismiss(actor=org["sales_manager"], pair=dismissed)
    kept, _created = DuplicatePair.objects.update_or_create(
        object_type=ACCOUNT,
        first_id=b.pk,
        second_id=c.pk,
        defaults={"score": 81, "reasons": [{"code": "name", "score": 81}]},
    )
    # the shared e-mail is corrected, c gets its own number and a different name: the
    # e-mail pair and c's pairs are no longer alike; nothing else changed
    with django_capture_on_commit_callbacks(execute=True):
        services.contact_update(actor=rep, contact=messy["zhang3"], emails=["wz@other.example"])
        services.account_update(actor=rep, account=c, phone="021-55550101", name="上海永盛贸易")
    job = scan.scan_run(scan.scan_start(actor=org["admin"]))
    assert job.result["pairs"]["contact_recheck"] == 1
    assert not DuplicatePair.objects.filter(pk=zhang_pair.pk).exists()
    assert not DuplicatePair.objects.filter(pk__in=[phone_pair.pk, kept.pk]).exists()
    dismissed.refresh_from_db()
    assert dismissed.state == PairState.DISMISSED  # a person's decision is never undone
    assert key(messy["zhang"], messy["zhang2"]) in pairs(CONTACT)


def test_a_pair_found_only_by_an_import_is_kept_while_it_holds(org, messy):
    b, c = messy["b"], messy["c"]
    scan.scan_run(scan.scan_start(actor=org["admin"]))
    DuplicatePair.objects.filter(object_type=ACCOUNT).delete()
    found_by_import = DuplicatePair.objects.create(
        object_type=ACCOUNT, first_id=b.pk, second_id=c.pk, score=50, reasons=[{"code": "x"}]
    )
    scan.recheck(ACCOUNT, since=timezone.now())
    found_by_import.refresh_from_db()
    # 北京華信軟件有限責任公司 and 华信软件（北京）: still alike by name, reasons brought up to date
    assert [reason["code"] for reason in found_by_import.reasons] == ["name"]
    assert found_by_import.score >= 80


def test_a_scan_writing_as_it_goes_keeps_the_same_pairs_and_reasons(
    org, messy, monkeypatch, django_capture_on_commit_callbacks
):
    rep = org["rep_east"]
    with django_capture_on_commit_callbacks(execute=True):
        # the same two people at two accounts: their pair is found once per account
        services.contact_update(
            actor=rep, contact=messy["zhang2"], accounts=[messy["a"], messy["b"]]
        )
        services.contact_update(
            actor=rep, contact=messy["zhang"], accounts=[messy["a"], messy["b"]]
        )

    def stored():
        return {
            (p.object_type, p.first_id, p.second_id): (p.score, p.reasons)
            for p in DuplicatePair.objects.all()
        }

    scan.scan_run(scan.scan_start(actor=org["admin"]))
    whole = stored()
    DuplicatePair.objects.all().delete()
    monkeypatch.setattr(scan, "FLUSH", 1)  # every pair written as soon as it is found
    scan.scan_run(scan.scan_start(actor=org["admin"]))
    assert stored() == whole
    # found at both accounts, kept once with its one reason
    pair = whole[(CONTACT, *key(messy["zhang"], messy["zhang2"]))]
    assert pair == (85, [{"code": "name_account", "score": 100}])
