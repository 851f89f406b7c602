"""The privacy pages in a real browser: in both languages, on a phone (390 px) and a desktop,
nothing wider than the screen; confirm a match and anonymize from the request page."""

from __future__ import annotations

import pytest

from rapport.customers.models import Contact
from rapport.dataops import privacy
from tests.browser.conftest import screenshot
from tests.browser.test_flows import _login
from tests.dataops.test_privacy import make_person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.parametrize(("language", "width"), [("zh-hans", 390), ("en", 390), ("en", 1280)])
def test_erasure_request_on_phone_and_desktop(org, new_page, settings, tmp_path, language, width):
    settings.MEDIA_ROOT = tmp_path / "media"
    admin = org["admin"]
    admin.language = language
    admin.save()
    contact, _colleague = make_person(admin)
    request = privacy.request_create(actor=admin, kind="erasure", subject_phone="13812345678")
    page = new_page(language=language, width=width, height=900)
    _login(page, admin.username)
    page.goto("/data/privacy/requests/")
    page.get_by_test_id("requests").wait_for()
    assert fits(page)
    screenshot(page, f"privacy-requests-{language}-{width}")
    page.goto(f"/data/privacy/requests/{request.pk}/")
    page.get_by_test_id("match").first.wait_for()
    assert fits(page)
    assert page.locator("html").get_attribute("lang") == language
    page.get_by_test_id("match").locator("input[type=checkbox]").check()
    with page.expect_navigation():
        page.get_by_test_id("confirm").click()
    page.get_by_test_id("confirm-anonymize").check()
    with page.expect_navigation():
        page.get_by_test_id("anonymize").click()
    page.get_by_test_id("erased").wait_for()
    assert fits(page)
    screenshot(page, f"privacy-request-{language}-{width}")
    assert Contact.objects.get(pk=contact.pk).anonymized_at is not None
    page.goto("/data/privacy/retention/")
    page.get_by_test_id("policies").wait_for()
    assert fits(page)
    screenshot(page, f"privacy-retention-{language}-{width}")
