"""The sales dashboard, forecast and targets grid in a real browser, in Chinese on a phone and
in English on a desktop: the won-against-target chart is drawn, a target typed into the grid
is saved when the cell is left and a negative one is refused beside the cell."""

from __future__ import annotations

import pytest
from django.utils import timezone

from rapport.sales.models import Target
from tests.browser.conftest import screenshot
from tests.browser.test_flows import _login
from tests.factories import PipelineFactory, TeamFactory
from tests.sales.test_forecast import open_deal, won

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(("language", "width"), [("zh-hans", 390), ("en", 1280)])
def test_a_manager_reads_the_dashboard_and_sets_a_target(org, new_page, language, width):  # noqa: F811
    manager = org["sales_manager"]
    manager.language = language
    manager.save()
    east = org["departments"]["east"]
    east.manager = manager
    east.save()
    TeamFactory(name="华东一组", lead=manager, members=[org["rep_east"], org["rep_sh"]])
    start, now, today = timezone.localdate().replace(day=1), timezone.now(), timezone.localdate()
    pipeline = PipelineFactory()
    for rep, amount in ((org["rep_sh"], "120000"), (org["rep_east"], "80000")):
        won(rep, amount, now, pipeline)
        open_deal(rep, "50000", 60, "commit", today, pipeline)
        open_deal(rep, "30000", 30, "best_case", today, pipeline)
        Target.objects.create(period="month", period_start=start, user=rep, amount=150000)
    Target.objects.create(period="month", period_start=start, department=east, amount=300000)

    page = new_page(language=language, width=width)
    _login(page, manager.username)
    page.goto("/sales/")
    page.locator("#attainment-chart canvas").wait_for()
    screenshot(page, f"sales-dashboard-{language}-{width}")

    page.goto("/sales/forecast/")
    page.locator(f'details[data-user="{org["rep_sh"].pk}"]').wait_for(state="attached")
    page.locator(f'details[data-user="{manager.pk}"] > summary').first.click()
    page.locator(f'details[data-user="{manager.pk}"] > summary').first.click()
    screenshot(page, f"sales-forecast-{language}-{width}")

    page.goto("/sales/targets/")
    cell = page.locator(f'td[data-cell="user-{org["rep_east"].pk}"]')
    cell.locator("input[name=amount]").fill("-1")
    cell.locator("input[name=amount]").press("Tab")
    page.locator(
        f'td[data-cell="user-{org["rep_east"].pk}"] [data-testid="target-error"]'
    ).wait_for()
    page.locator(f'td[data-cell="user-{org["rep_east"].pk}"] input[name=amount]').fill("90000")
    page.locator(f'td[data-cell="user-{org["rep_east"].pk}"] input[name=amount]').press("Tab")
    page.locator(f'td[data-cell="user-{org["rep_east"].pk}"] input.is-valid').wait_for()
    assert Target.objects.get(user=org["rep_east"]).amount == 90000
    screenshot(page, f"sales-targets-{language}-{width}")
