"""Importing interactions: another system's call and visit history onto the timelines."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from rapport.customers import services
from rapport.customers.models import Interaction
from rapport.dataops import importing
from rapport.dataops.models import ImportRow

from .test_import import csv_bytes, run_import, upload

pytestmark = pytest.mark.django_db
INTERACTION = "customers.interaction"


@pytest.fixture
def people(org):
    admin = org["admin"]
    account = services.account_create(actor=admin, name="上海华信科技有限公司")
    wang = services.contact_create(
        actor=admin, name="王伟", phones="13812345678", accounts=[account], owner=org["rep_sh"]
    )
    li = services.contact_create(actor=admin, name="李娜", emails=["li.na@example.com"])
    return {"account": account, "wang": wang, "li": li}


HEADER = ["跟进方式", "跟进时间", "联系人", "客户名称", "跟进内容", "结果", "负责人"]


def test_history_lands_on_the_timelines_with_owners_and_dates(org, people):
    rows = [
        HEADER,
        [
            "电话",
            "2026/3/5 14:30",
            "138 1234 5678",
            "上海华信科技有限公司",
            "谈了报价",
            "已接通",
            "rep_sh",
        ],
        ["Visit", "2026年3月6日", "LI.NA@example.com", "", "上门演示", "", ""],
        ["微信", "2026-03-07", "王伟", "", "", "", ""],
    ]
    run, job = run_import(org["admin"], INTERACTION, csv_bytes(rows))
    assert run.mapping == {
        "0": "kind",
        "1": "occurred_at",
        "2": "contact",
        "3": "account",
        "4": "body",
        "5": "outcome",
        "6": "owner",
    }
    assert job.result["counts"] == {"created": 3}, job.result
    call = Interaction.objects.get(contact=people["wang"], kind="call")
    assert call.account == people["account"] and call.owner == org["rep_sh"]
    assert call.outcome == "connected" and call.body == "谈了报价"
    local = timezone.localtime(call.occurred_at)
    assert (local.month, local.day, local.hour, local.minute) == (3, 5, 14, 30)
    visit = Interaction.objects.get(contact=people["li"])
    assert visit.kind == "visit" and visit.owner == org["admin"]
    assert timezone.localtime(visit.occurred_at).day == 6
    assert Interaction.objects.filter(contact=people["wang"], kind="chat").exists()
    # The same file again adds nothing twice.
    _run, again = run_import(org["admin"], INTERACTION, csv_bytes(rows))
    assert again.result["counts"] == {"skipped": 3}
    assert Interaction.objects.count() == 3


def test_bad_rows_name_their_field_and_store_nothing(org, people):
    rows = [
        HEADER,
        ["传真", "2026-03-05", "王伟", "", "", "", ""],
        ["电话", "下周二", "王伟", "", "", "", ""],
        ["电话", "2026-03-05", "张三", "", "", "", ""],
        ["电话", "2026-03-05", "王伟", "", "", "飞走了", ""],
        ["电话", "2026-03-05", "王伟", "", "", "", "nobody"],
        ["电话", "2026-03-05", "王伟", "", "好的", "", ""],
    ]
    with translation.override("en"):
        run, job = run_import(org["admin"], INTERACTION, csv_bytes(rows))
    assert job.result["counts"] == {"failed": 5, "created": 1}
    errors = {
        row.number: row.errors
        for row in ImportRow.objects.filter(run=run, outcome="failed").order_by("number")
    }
    # Rows are numbered as a spreadsheet shows them (the header is row 1).
    assert list(errors[2]) == ["kind"] and "not one of" in errors[2]["kind"][0]
    assert list(errors[3]) == ["occurred_at"]
    assert list(errors[4]) == ["contact"] and "张三" in errors[4]["contact"][0]
    assert list(errors[5]) == ["outcome"]
    assert list(errors[6]) == ["owner"]
    assert Interaction.objects.count() == 1


def test_interactions_are_only_added_and_roll_back(org, people):
    data = csv_bytes([HEADER, ["电话", "2026-03-05 09:00", "王伟", "", "", "", ""]])
    run = importing.import_create(actor=org["admin"], object_type=INTERACTION, upload=upload(data))
    with pytest.raises(ValidationError) as caught:
        importing.import_configure(actor=org["admin"], run=run, mapping=run.mapping, mode="upsert")
    assert "mode" in caught.value.message_dict
    run, _job = run_import(org["admin"], INTERACTION, data)
    assert Interaction.objects.filter(is_active=True).count() == 1
    importing.import_rollback(actor=org["admin"], run=run)
    assert not Interaction.objects.filter(is_active=True).exists()


def test_only_those_who_may_import_interactions_can(org, people):
    from rapport.core.errors import PermissionDenied

    data = csv_bytes([HEADER, ["电话", "2026-03-05", "王伟", "", "", "", ""]])
    with pytest.raises(PermissionDenied):
        importing.import_create(
            actor=org["sales_manager"], object_type=INTERACTION, upload=upload(data)
        )
