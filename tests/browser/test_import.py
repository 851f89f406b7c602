"""Importing a messy bilingual spreadsheet in a real browser: upload, map, check, import,
download the failed rows — in both languages, on a desktop and a phone."""

from __future__ import annotations

import pytest
from django.utils import translation

from rapport.customers.models import Account
from rapport.dataops.models import ImportRun, ImportState
from tests.browser.conftest import screenshot
from tests.browser.test_flows import _login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def eager():
    from rapport.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.mark.parametrize(("language", "width"), [("zh-hans", 390), ("en", 1280)])
def test_import_a_messy_file(org, new_page, eager, tmp_path, language, width):
    user = org["admin"]
    user.language = language
    user.save()
    path = tmp_path / "客户名单.csv"
    path.write_bytes(
        "客户名称,城市,联系电话\n北京华信软件有限公司,北京,０１０－６５５２１２３４\n"
        '"Acme Trading Co., Ltd.",Shenzhen,+86 755 8612 3456\n,上海,\n'.encode("gb18030")
    )
    page = new_page(language=language, width=width, height=1000)
    _login(page, user.username)
    page.goto("/customers/accounts/")
    with page.expect_navigation():
        page.get_by_test_id("import-link").click()
    form = page.get_by_test_id("import-upload")
    form.locator("input[name=file]").set_input_files(str(path))
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    mapping = page.get_by_test_id("import-mapping")
    assert mapping.locator("select[name=column_0]").input_value() == "name"
    assert mapping.locator("select[name=column_2]").input_value() == "phone"
    screenshot(page, f"import-mapping-{language}-{width}")
    with page.expect_navigation():
        page.get_by_test_id("mapping-save").click()
    assert "Acme" in page.get_by_test_id("import-preview").inner_text()
    with page.expect_navigation():
        page.get_by_test_id("import-run").click()
    run = ImportRun.objects.get()
    assert run.state == ImportState.FINISHED
    page.reload()
    result = page.get_by_test_id("import-result").inner_text()
    with translation.override(language):
        created, failed = translation.gettext("Created"), translation.gettext("Failed")
    assert f"{created}: 2" in result and f"{failed}: 1" in result
    screenshot(page, f"import-result-{language}-{width}")
    assert Account.objects.get(name="北京华信软件有限公司").phone == "+861065521234"
    with page.expect_download() as download:
        page.get_by_test_id("failed-rows").click()
    content = download.value.path().read_bytes().decode("utf-8-sig")
    assert "上海" in content and "错误" in content


@pytest.mark.parametrize(("language", "width"), [("zh-hans", 390), ("en", 1280)])
def test_export_the_filtered_list(org, new_page, eager, language, width):
    from rapport.customers import services

    user = org["admin"]
    user.language = language
    user.save()
    services.account_create(actor=user, name="甲公司", tier="A")
    services.account_create(actor=user, name="乙公司", tier="C")
    page = new_page(language=language, width=width, height=1000)
    _login(page, user.username)
    page.goto("/customers/accounts/?tier=A")
    screenshot(page, f"account-list-actions-{language}-{width}")
    form = page.get_by_test_id("export-form")
    form.locator("select[name=format]").select_option("csv")
    with page.expect_navigation():
        page.get_by_test_id("export").click()
    page.reload()
    with page.expect_download() as download:
        page.get_by_test_id("export-download").click()
    content = download.value.path().read_bytes().decode("utf-8-sig")
    assert "甲公司" in content and "乙公司" not in content and user.username in content


@pytest.mark.parametrize(("language", "width"), [("zh-hans", 390)])
def test_back_up_now_from_administration(org, new_page, eager, settings, tmp_path, language, width):
    settings.BACKUP_ROOT = tmp_path / "backups"
    user = org["admin"]
    user.language = language
    user.save()
    page = new_page(language=language, width=width, height=900)
    _login(page, user.username)
    page.goto("/admin/users/")
    with page.expect_navigation():
        page.get_by_test_id("admin-tab-backups").click()
    with page.expect_navigation():
        page.get_by_test_id("backup-now").click()
    page.reload()
    table = page.get_by_test_id("backups").inner_text()
    assert "rapport-" in table
    screenshot(page, f"backups-{language}-{width}")


@pytest.mark.parametrize(("language", "width"), [("zh-hans", 390), ("en", 1280)])
def test_import_call_history(org, new_page, eager, tmp_path, language, width):
    from rapport.customers import services
    from rapport.customers.models import Interaction

    user = org["admin"]
    user.language = language
    user.save()
    wang = services.contact_create(actor=user, name="王伟", phones="13812345678")
    path = tmp_path / "跟进记录.csv"
    path.write_bytes(
        "跟进方式,跟进时间,联系人,跟进内容\n电话,2026/3/5 14:30,138 1234 5678,谈了报价\n"
        "拜访,2026年3月6日,王伟,上门演示\n传真,2026-03-07,王伟,\n".encode("gb18030")
    )
    page = new_page(language=language, width=width, height=1000)
    _login(page, user.username)
    page.goto("/data/imports/")
    form = page.get_by_test_id("import-upload")
    form.locator("select[name=type]").select_option("customers.interaction")
    form.locator("input[name=file]").set_input_files(str(path))
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    mapping = page.get_by_test_id("import-mapping")
    assert mapping.locator("select[name=column_0]").input_value() == "kind"
    assert mapping.locator("select[name=column_2]").input_value() == "contact"
    assert page.locator("#import-key").count() == 0  # history is only added: no key to pick
    with page.expect_navigation():
        page.get_by_test_id("mapping-save").click()
    with page.expect_navigation():
        page.get_by_test_id("import-run").click()
    page.reload()
    result = page.get_by_test_id("import-result").inner_text()
    with translation.override(language):
        created, failed = translation.gettext("Created"), translation.gettext("Failed")
    assert f"{created}: 2" in result and f"{failed}: 1" in result
    screenshot(page, f"import-interactions-{language}-{width}")
    assert sorted(Interaction.objects.filter(contact=wang).values_list("kind", flat=True)) == [
        "call",
        "visit",
    ]


@pytest.mark.parametrize(("language", "width"), [("zh-hans", 390), ("en", 1280)])
def test_import_leads_from_the_lead_list(org, new_page, eager, tmp_path, language, width):
    from rapport.sales.models import Lead

    user = org["sales_manager"]
    user.language = language
    user.save()
    path = tmp_path / "展会线索.csv"
    path.write_bytes(
        "姓名,公司名称,手机,线索来源,意向程度,负责人\n"
        "王小明,上海华信科技有限公司,138 1234 5678,展会,热,rep_sh\n"
        "Li Na,Acme Trading,＋86 139 0000 1111,Referral,warm,\n"
        "张三,,12345,,,\n".encode("gb18030")
    )
    page = new_page(language=language, width=width, height=1000)
    _login(page, user.username)
    page.goto("/sales/leads/")
    with page.expect_navigation():
        page.get_by_test_id("import-link").click()
    form = page.get_by_test_id("import-upload")
    assert form.locator("select[name=type]").input_value() == "sales.lead"
    form.locator("input[name=file]").set_input_files(str(path))
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    mapping = page.get_by_test_id("import-mapping")
    assert mapping.locator("select[name=column_2]").input_value() == "phone"
    assert mapping.locator("select[name=column_3]").input_value() == "source"
    with page.expect_navigation():
        page.get_by_test_id("mapping-save").click()
    assert "Acme" in page.get_by_test_id("import-preview").inner_text()
    with page.expect_navigation():
        page.get_by_test_id("import-run").click()
    page.reload()
    result = page.get_by_test_id("import-result").inner_text()
    with translation.override(language):
        created, failed = translation.gettext("Created"), translation.gettext("Failed")
    assert f"{created}: 2" in result and f"{failed}: 1" in result
    screenshot(page, f"import-leads-result-{language}-{width}")
    wang = Lead.objects.get(name="王小明")
    assert (wang.phone, wang.source, wang.rating) == ("+8613812345678", "event", "hot")
    assert wang.owner == org["rep_sh"]
    page.goto("/sales/leads/?view=all")
    assert "上海华信科技有限公司" in page.content()
