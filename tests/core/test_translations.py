"""The Simplified Chinese catalogue: complete, compiled, and used by the web pages and the CLI."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext, ngettext

PO = Path(settings.BASE_DIR) / "locale/zh_Hans/LC_MESSAGES/django.po"
MO = PO.with_suffix(".mo")
RAPPORT = Path(sys.executable).with_name("rapport")


def po_entries(path: Path) -> list[dict]:
    """Entries of a .po file: msgctxt/msgid/msgid_plural/msgstr[n] texts and flags.

    Obsolete (#~) entries are left out; the header (msgid "") is the first entry.
    """
    entries: list[dict] = []
    entry: dict = {}
    key = None

    def finish() -> None:
        if "msgid" in entry:
            entries.append(dict(entry))
        entry.clear()

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            finish()
            key = None
        elif line.startswith("#,"):
            if "msgid" in entry:
                finish()
            entry.setdefault("flags", set()).update(f.strip() for f in line[2:].split(","))
        elif line.startswith("#"):
            continue  # references, comments, previous msgids (#|), obsolete entries (#~)
        elif line.startswith('"'):
            entry[key] += ast.literal_eval(line)
        else:
            keyword, _, quoted = line.partition(" ")
            if keyword in ("msgctxt", "msgid") and "msgid" in entry and key != "msgctxt":
                finish()
            key = keyword
            entry[key] = ast.literal_eval(quoted)
    finish()
    return entries


ENTRIES = po_entries(PO)


def test_the_catalogue_has_entries():
    assert ENTRIES[0]["msgid"] == ""
    assert "Plural-Forms: nplurals=1; plural=0;" in ENTRIES[0]["msgstr"]
    assert "fuzzy" not in ENTRIES[0].get("flags", set())
    assert len(ENTRIES) > 500


def test_every_entry_is_translated_and_none_is_fuzzy():
    untranslated = [
        entry["msgid"]
        for entry in ENTRIES[1:]
        if not any(entry[key] for key in entry if key.startswith("msgstr"))
    ]
    fuzzy = [entry["msgid"] for entry in ENTRIES[1:] if "fuzzy" in entry.get("flags", set())]
    assert not untranslated, f"{len(untranslated)} untranslated msgids:\n" + "\n".join(
        map(repr, untranslated)
    )
    assert not fuzzy, f"{len(fuzzy)} fuzzy msgids:\n" + "\n".join(map(repr, fuzzy))


def test_plural_entries_have_exactly_one_form():
    """nplurals=1: a second msgstr[n] makes msgfmt fail."""
    for entry in ENTRIES[1:]:
        if "msgid_plural" in entry:
            forms = sorted(key for key in entry if key.startswith("msgstr"))
            assert forms == ["msgstr[0]"], entry["msgid"]


def test_the_compiled_catalogue_is_current():
    assert MO.exists(), "locale/zh_Hans/LC_MESSAGES/django.mo is missing: run `make messages`"
    assert MO.stat().st_mtime >= PO.stat().st_mtime, (
        "django.mo is older than django.po: run `make messages`"
    )


@pytest.mark.parametrize(
    ("english", "chinese"),
    [
        ("Accounts", "客户"),
        ("Contacts", "联系人"),
        ("Owner", "负责人"),
        ("Lifecycle stage", "生命周期阶段"),
        ("Tier", "客户等级"),
        ("Home", "首页"),
        ("Administration", "系统管理"),
        ("Sign out", "退出登录"),
        ("Two-factor authentication", "双因素认证"),
        ("API tokens", "API 令牌"),
        ("Department and below", "本部门及下级"),
        ("Masked", "脱敏"),
        ("Offboard", "离职交接"),
    ],
)
def test_key_strings_translate(english, chinese):
    with translation.override("zh-hans"):
        assert gettext(english) == chinese
    with translation.override("en"):
        assert gettext(english) == english


def test_placeholders_survive_translation():
    with translation.override("zh-hans"):
        assert gettext("Welcome, %(name)s") % {"name": "小王"} == "欢迎，小王"
        assert (
            gettext("“%(value)s” is not a valid phone number.") % {"value": "123"}
            == "“123”不是有效的电话号码。"
        )
        for n in (1, 5):
            text = ngettext(
                "This password was used recently; choose one you have not used in your last "
                "%(n)d password.",
                "This password was used recently; choose one you have not used in your last "
                "%(n)d passwords.",
                n,
            ) % {"n": n}
            assert f"最近 {n} 次" in text


@pytest.mark.django_db
def test_login_page_in_chinese(client):
    page = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert page.status_code == 200
    body = page.content.decode()
    assert "登录" in body
    assert "请使用用户名或电子邮箱地址登录。" in body
    assert "Sign in with your username" not in body


@pytest.mark.django_db
def test_login_page_in_english(client):
    page = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert "Sign in with your username or e-mail address." in page.content.decode()


def _cli_help(tmp_path: Path, lang: str) -> subprocess.CompletedProcess:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("RAPPORT_")
        and key not in ("DJANGO_SETTINGS_MODULE", "LC_ALL", "LANGUAGE")
    }
    env.update(
        LANG=lang,
        RAPPORT_VAR_DIR=str(tmp_path),
        RAPPORT_DATABASE_URL=f"sqlite:///{tmp_path / 'rapport.sqlite3'}",
    )
    return subprocess.run(
        [str(RAPPORT), "user", "--help"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.skipif(not RAPPORT.exists(), reason="the rapport console script is not installed")
def test_cli_help_follows_lang(tmp_path):
    chinese = _cli_help(tmp_path, "zh_CN.UTF-8")
    assert chinese.returncode == 0, chinese.stderr
    assert "管理用户：创建、列出、停用、离职交接、解锁、设置角色。" in chinese.stdout
    assert "Manage users" not in chinese.stdout

    english = _cli_help(tmp_path, "en_US.UTF-8")
    assert english.returncode == 0, english.stderr
    assert "Manage users: create, list, deactivate, offboard, unlock, set roles." in (
        english.stdout
    )
    assert "管理用户" not in english.stdout
