"""The main flows in a real browser, in both languages and at phone width."""

from __future__ import annotations

import re

import pytest
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.core.cache import cache

from rapport.customers.models import Account
from rapport.customers.validators import uscc_check_char
from tests.browser.conftest import screenshot
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _login(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/accounts/login/")
    page.fill("input[name=login]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():  # the assertions below read the new page
        page.locator("form button[type=submit]").last.click()


def _current_totp(secret: str) -> str:
    import time

    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_login_with_mfa(org, new_page, language):
    user = org["rep_sh"]
    user.language = language
    user.save()
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    cache.clear()
    page = new_page(language=language)
    _login(page, user.username)
    page.wait_for_url(re.compile(r"/accounts/2fa/authenticate/"))
    screenshot(page, f"mfa-{language}")
    code_form = page.locator("form", has=page.locator("input[name=code]"))
    page.fill("input[name=code]", "000000" if _current_totp(secret) != "000000" else "111111")
    with page.expect_navigation():  # the assertions below read the new page
        code_form.locator("button[type=submit]").first.click()
    assert "/accounts/2fa/authenticate/" in page.url  # a wrong code does not let anyone in
    page.fill("input[name=code]", _current_totp(secret))
    with page.expect_navigation():  # the assertions below read the new page
        code_form.locator("button[type=submit]").first.click()
    page.wait_for_url(re.compile(r"/$"))
    assert page.locator("html").get_attribute("lang") == language
    assert page.get_by_test_id("user-menu").is_visible()


def _valid_credit_code(seed: str) -> str:
    body = (seed + "0" * 17)[:17]
    return body + uscc_check_char(body)


@pytest.mark.parametrize(
    ("language", "width"), [("en", 1280), ("zh-hans", 1280), ("en", 390), ("zh-hans", 390)]
)
def test_create_account_and_find_it_in_the_list(org, new_page, language, width):
    user = org["sales_manager"]
    user.language = language
    user.save()
    page = new_page(language=language, width=width)
    _login(page, user.username)
    page.wait_for_url(re.compile(r"/$"))
    name = f"浙江远望数据科技有限公司 {language} {width}"
    page.goto("/customers/accounts/new/")
    page.fill("input[name=name]", name)
    page.fill("input[name=credit_code]", "91330100MA2B3C4D5" + "X")  # wrong check digit
    with page.expect_navigation():  # the assertions below read the new page
        page.locator("form button[type=submit]").last.click()
    assert page.locator("[data-field-error=credit_code]").is_visible()
    assert not Account.objects.filter(name=name).exists()
    page.fill("input[name=credit_code]", _valid_credit_code("91330100MA2B3C4D5"))
    page.fill("input[name=phone]", "021-6888 1234")
    with page.expect_navigation():  # the assertions below read the new page
        page.locator("form button[type=submit]").last.click()
    page.wait_for_url(re.compile(r"/customers/accounts/\d+/"))
    account = Account.objects.get(name=name)
    assert account.owner == user
    assert account.phone == "+862168881234"
    page.goto("/customers/accounts/?q=" + "远望数据")
    row = page.get_by_text(name)
    assert row.first.is_visible()
    screenshot(page, f"account-list-{language}-{width}")


def test_switch_language(org, new_page):
    user = org["rep_east"]
    user.language = "en"
    user.save()
    page = new_page(language="en")
    _login(page, user.username)
    page.wait_for_url(re.compile(r"/$"))
    assert page.locator("html").get_attribute("lang") == "en"
    with page.expect_navigation():  # the assertions below read the new page
        page.get_by_test_id("language-switch").locator("button[value=zh-hans]").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert page.get_by_text("首页").first.is_visible()
    user.refresh_from_db()
    assert user.language == "zh-hans"
    with page.expect_navigation():  # the assertions below read the new page
        page.get_by_test_id("language-switch").locator("button[value=en]").click()
    page.wait_for_load_state()
    assert page.get_by_text("Home").first.is_visible()
    screenshot(page, "home-en")
