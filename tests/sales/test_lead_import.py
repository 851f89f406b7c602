"""Leads in the import wizard: a Chinese trade-fair list mapped from its headers, sources and
ratings from their words, owners or the assignment rules, errors by field with nothing
partial stored, update by phone, the same file twice, rollback (the leads created deleted,
the changed ones put back); the page, the API and `rapport import` offer leads; deleting a
lead by hand (page, API, CLI)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import translation
from rest_framework.test import APIClient

from rapport.audit.models import AuditEvent
from rapport.core.errors import PermissionDenied
from rapport.dataops import importing
from rapport.dataops.models import ImportRow, ImportState
from rapport.sales.models import Lead, LeadFollowUp, LeadPool
from rapport.sales.services import leads as lead_services
from tests.dataops.test_import import csv_bytes, run_import, upload
from tests.factories import TeamFactory

pytestmark = pytest.mark.django_db
LEAD = "sales.lead"
HEADER = ["姓名", "公司名称", "手机", "邮箱", "线索来源", "意向程度", "预算", "负责人"]


@pytest.fixture
def pool(org):
    team = TeamFactory(name="华东销售", members=[org["rep_east"], org["rep_sh"]])
    return LeadPool.objects.create(name="华东公海", team=team, is_default=True)


def test_trade_fair_list_becomes_leads_with_sources_owners_and_the_pool(org, pool):
    rows = [
        HEADER,
        [
            "王小明",
            "上海华信科技有限公司",
            "138 1234 5678",
            "Wang@Example.COM",
            "展会",
            "热",
            "50,000",
            "rep_sh",
        ],
        ["Li Na", "Acme Trading", "＋86 139 0000 1111", "", "Referral", "warm", "", ""],
        ["赵六", "", "", "zhao@example.com", "", "", "", ""],
    ]
    run, job = run_import(
        org["sales_manager"], LEAD, csv_bytes(rows, "gb18030"), name="展会线索.csv"
    )
    assert run.encoding == "gb18030"
    assert run.mapping == {
        "0": "name",
        "1": "company",
        "2": "phone",
        "3": "email",
        "4": "source",
        "5": "rating",
        "6": "budget",
        "7": "owner",
    }
    assert job.result["counts"] == {"created": 3}, job.result
    wang = Lead.objects.get(name="王小明")
    assert (wang.phone, wang.email) == ("+8613812345678", "Wang@example.com")
    assert (wang.source, wang.rating, str(wang.budget)) == ("event", "hot", "50000.00")
    assert wang.owner == org["rep_sh"] and wang.created_by == org["sales_manager"]
    li = Lead.objects.get(name="Li Na")
    assert (li.source, li.rating, li.phone) == ("referral", "warm", "+8613900001111")
    zhao = Lead.objects.get(name="赵六")
    # no source column value: "Import"; no owner: the assignment rules (here: the pool)
    assert zhao.source == "import" and zhao.owner is None and zhao.pool == pool
    assert AuditEvent.objects.filter(object_type=LEAD, action="create").count() == 3
    # The same file again creates nothing twice.
    _run, again = run_import(org["sales_manager"], LEAD, csv_bytes(rows, "gb18030"))
    assert again.result["counts"] == {"skipped": 3}
    assert Lead.objects.count() == 3


def test_bad_rows_name_their_field_and_store_nothing(org, pool):
    rows = [
        HEADER,
        ["", "甲公司", "13812345678", "", "", "", "", ""],
        ["张三", "", "12345", "", "", "", "", ""],
        ["李四", "", "", "not-an-email", "", "", "", ""],
        ["王五", "", "", "", "飞鸽传书", "", "", ""],
        ["赵六", "", "", "", "", "", "很多", ""],
        ["孙七", "", "", "", "", "", "", "nobody"],
        ["周八", "乙公司", "13900001111", "", "", "", "", ""],
    ]
    with translation.override("en"):
        run, job = run_import(org["sales_manager"], LEAD, csv_bytes(rows))
    assert job.result["counts"] == {"failed": 6, "created": 1}, job.result
    errors = {
        row.number: row.errors
        for row in ImportRow.objects.filter(run=run, outcome="failed").order_by("number")
    }
    assert list(errors[2]) == ["name"]
    assert list(errors[3]) == ["phone"]
    assert list(errors[4]) == ["email"]
    assert list(errors[5]) == ["source"] and "飞鸽传书" in errors[5]["source"][0]
    assert list(errors[6]) == ["budget"]
    assert list(errors[7]) == ["owner"] and "nobody" in errors[7]["owner"][0]
    assert list(Lead.objects.values_list("name", flat=True)) == ["周八"]
    # The failed-rows file names each field by its label.
    with translation.override("zh-hans"):
        text = importing.failed_rows(run).decode("utf-8-sig")
    assert "来源" in text and "飞鸽传书" in text and "周八" not in text


def test_upsert_by_phone_updates_and_rollback_puts_everything_back(org, pool):
    manager = org["sales_manager"]
    known = lead_services.lead_create(
        actor=manager, owner=org["rep_sh"], name="王小明", company="旧公司", phone="13812345678"
    )
    rows = [
        ["手机", "姓名", "公司名称", "负责人"],
        ["138-1234-5678", "王小明", "新公司", "rep_east"],
        ["13900001111", "新人", "丙公司", ""],
    ]
    run, job = run_import(manager, LEAD, csv_bytes(rows), mode="upsert", key="phone")
    assert job.result["counts"] == {"updated": 1, "created": 1}, job.result
    known.refresh_from_db()
    assert known.company == "新公司" and known.owner == org["rep_east"]
    created = Lead.objects.get(name="新人")
    importing.import_rollback(actor=manager, run=run)
    run.refresh_from_db()
    assert run.state == ImportState.ROLLED_BACK
    known.refresh_from_db()
    assert known.company == "旧公司" and known.owner == org["rep_sh"]
    assert not Lead.objects.filter(pk=created.pk).exists()
    assert AuditEvent.objects.filter(object_type=LEAD, action="delete").count() == 1


def test_update_mode_needs_a_key_and_finds_no_converted_lead(org, pool):
    manager = org["sales_manager"]
    data = csv_bytes([["手机", "姓名"], ["13812345678", "王小明"]])
    run = importing.import_create(actor=manager, object_type=LEAD, upload=upload(data))
    with pytest.raises(ValidationError) as caught:
        importing.import_configure(actor=manager, run=run, mapping=run.mapping, mode="update")
    assert "key" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        importing.import_configure(
            actor=manager, run=run, mapping=run.mapping, mode="update", key="name"
        )
    assert "key" in caught.value.message_dict
    _run, job = run_import(manager, LEAD, data, mode="update", key="phone")
    assert job.result["counts"] == {"failed": 1}  # no lead has this phone


def test_marketer_imports_into_the_pool_and_may_roll_back_untouched_leads(org, pool):
    marketer = org["marketer"]
    rows = [["姓名", "手机"], ["甲", "13800000001"], ["乙", "13800000002"]]
    run, job = run_import(marketer, LEAD, csv_bytes(rows))
    assert job.result["counts"] == {"created": 2}
    first = Lead.objects.get(name="甲")
    # A rep worked one of them: the rollback stops, and nothing is undone.
    lead_services.lead_claim(actor=org["rep_sh"], lead=first)
    lead_services.lead_follow_up_add(actor=org["rep_sh"], lead=first, summary="打过电话")
    with pytest.raises(PermissionDenied):
        importing.import_rollback(actor=marketer, run=run)
    assert Lead.objects.count() == 2
    LeadFollowUp.objects.filter(lead=first).delete()
    Lead.objects.filter(pk=first.pk).update(status="new")
    importing.import_rollback(actor=marketer, run=run)
    assert not Lead.objects.exists()


def test_a_converted_lead_stops_the_rollback(org, pool):
    manager = org["sales_manager"]
    run, _job = run_import(
        manager, LEAD, csv_bytes([["姓名", "公司", "负责人"], ["王小明", "华信", "manager"]])
    )
    lead = Lead.objects.get()
    lead_services.lead_convert(actor=manager, lead=lead, create_opportunity=False)
    with pytest.raises(ValidationError) as caught:
        importing.import_rollback(actor=manager, run=run)
    assert "status" in caught.value.message_dict
    assert Lead.objects.filter(pk=lead.pk).exists()


def test_only_those_who_may_import_leads_can(org, pool):
    data = csv_bytes([["姓名"], ["甲"]])
    with pytest.raises(PermissionDenied):
        importing.import_create(actor=org["finance"], object_type=LEAD, upload=upload(data))


def test_the_page_the_api_and_the_cli_offer_leads(org, pool, tmp_path):
    manager = org["sales_manager"]
    browser = Client()
    browser.force_login(manager)
    with translation.override("zh-hans"):
        page = browser.get("/data/imports/?type=sales.lead", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert page.status_code == 200
    assert 'value="sales.lead" selected' in page.content.decode()
    leads_page = browser.get("/sales/leads/").content.decode()
    assert "/data/imports/?type=sales.lead" in leads_page
    api = APIClient()
    api.force_authenticate(manager)
    data = csv_bytes([["姓名", "手机"], ["甲", "13800000001"]])
    made = api.post("/api/v1/imports/", {"type": LEAD, "file": upload(data, "线索.csv")})
    assert made.status_code == 201, made.content
    assert made.json()["mapping"] == {"0": "name", "1": "phone"}
    refused = api.post("/api/v1/imports/", {"type": "sales.order", "file": upload(data)})
    assert refused.status_code == 400 and "type" in refused.json()["error"]["fields"]
    path = tmp_path / "leads.csv"
    path.write_bytes(csv_bytes([["姓名", "公司"], ["乙", "乙公司"]]))
    out = StringIO()
    call_command("import", "run", str(path), "--type", "lead", "--as", "manager", stdout=out)
    assert Lead.objects.filter(name="乙", company="乙公司", source="import").exists()


def test_deleting_a_lead_by_page_api_and_cli(org, pool):
    manager = org["sales_manager"]
    spam = lead_services.lead_create(
        actor=manager, owner=org["rep_sh"], name="广告", company="垃圾信息"
    )
    rep_view = Client()
    rep_view.force_login(org["rep_sh"])
    seen = rep_view.get(f"/sales/leads/{spam.pk}/")
    assert seen.status_code == 200 and b"lead-delete" not in seen.content
    assert rep_view.post(f"/sales/leads/{spam.pk}/delete/").status_code == 403
    assert Lead.objects.filter(pk=spam.pk).exists()
    page = Client()
    page.force_login(manager)
    assert b"lead-delete" in page.get(f"/sales/leads/{spam.pk}/").content
    assert page.post(f"/sales/leads/{spam.pk}/delete/").status_code == 302
    assert not Lead.objects.filter(pk=spam.pk).exists()
    event = AuditEvent.objects.get(object_type=LEAD, action="delete")
    assert event.object_id == str(spam.pk) and event.actor == manager

    other = lead_services.lead_create(actor=manager, owner=org["rep_sh"], name="又一个")
    api = APIClient()
    api.force_authenticate(org["rep_sh"])
    assert api.delete(f"/api/v1/sales/leads/{other.pk}/").status_code == 403
    api.force_authenticate(manager)
    assert api.delete(f"/api/v1/sales/leads/{other.pk}/").status_code == 204
    assert not Lead.objects.filter(pk=other.pk).exists()

    third = lead_services.lead_create(actor=manager, owner=manager, name="第三个")
    call_command("lead", "delete", str(third.pk), "--as", "manager", stdout=StringIO())
    assert not Lead.objects.filter(pk=third.pk).exists()
    with pytest.raises(CommandError):
        call_command("lead", "delete", str(third.pk), "--as", "manager", stdout=StringIO())
