"""`rapport tag list|create|apply`: the same rules as the web and the API."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from rapport.audit.models import AuditEvent
from rapport.core.models import Tag, TaggedRecord
from rapport.core.tags import selectors, services
from tests.factories import AccountFactory, ContactFactory

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def tree(org):
    industry = services.tag_create(actor=org["admin"], name="行业", name_en="Industry")
    services.tag_create(actor=org["admin"], name="制造业", parent=industry, colour="orange")
    vip = services.tag_create(actor=org["admin"], name="VIP", colour="purple")
    services.tag_deactivate(
        actor=org["admin"], tag=services.tag_create(actor=org["admin"], name="旧")
    )
    return {"industry": industry, "vip": vip}


def test_list_shows_the_tree_and_retired_tags_on_request(org, tree):
    out = run("tag", "list", "--as", "rep_sh")
    lines = out.splitlines()
    assert [line.split()[1] for line in lines[2:]] == ["行业", "制造业", "VIP"]  # by English label
    assert "  制造业" in out and "旧" not in out
    assert "旧" in run("tag", "list", "--all")


def test_create_needs_tag_management_and_names_bad_fields(org, tree):
    out = run(
        "tag", "create", "汽车", "--name-en", "Automotive", "--parent", str(tree["industry"].pk)
    )
    car = Tag.objects.get(name="汽车")
    assert f"{car.pk}" in out and car.parent == tree["industry"]
    with pytest.raises(CommandError, match="as: rep_sh"):
        run("tag", "create", "私有", "--as", "rep_sh")
    with pytest.raises(CommandError) as caught:
        run("tag", "create", "坏颜色", "--colour", "mauve")
    assert str(caught.value).startswith("colour:")
    with pytest.raises(CommandError, match="parent: "):
        run("tag", "create", "孤儿", "--parent", "999999")
    assert not Tag.objects.filter(name__in=["私有", "坏颜色", "孤儿"]).exists()


def test_apply_and_remove(org, tree):
    accounts = [AccountFactory(owner=org["rep_sh"]) for _ in range(2)]
    ids = ",".join(str(a.pk) for a in accounts)
    out = run(
        "tag",
        "apply",
        str(tree["vip"].pk),
        "--type",
        "customers.account",
        "--ids",
        ids,
        "--as",
        "rep_sh",
    )
    assert "2 of 2" in out
    assert all(selectors.tags_of(accounts)[a.pk] == [tree["vip"]] for a in accounts)
    assert AuditEvent.objects.filter(action="update", actor=org["rep_sh"]).count() == 2
    out = run(
        "tag",
        "apply",
        str(tree["vip"].pk),
        "--type",
        "customers.account",
        "--ids",
        ids,
        "--remove",
        "--as",
        "rep_sh",
    )
    assert "2 of 2" in out and not TaggedRecord.objects.exists()


def test_apply_is_all_or_nothing(org, tree):
    own = ContactFactory(owner=org["agent"])
    other = ContactFactory(owner=org["rep_sh"], name="别人的联系人")
    with pytest.raises(CommandError, match="别人的联系人"):
        run(
            "tag",
            "apply",
            str(tree["vip"].pk),
            "--type",
            "customers.contact",
            "--ids",
            f"{own.pk},{other.pk}",
            "--as",
            "agent",
        )
    assert not TaggedRecord.objects.exists()


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--type", "identity.user", "--ids", "1"], "type:"),
        (["--type", "customers.account", "--ids", "a,b"], "ids:"),
        (["--type", "customers.account", "--ids", "999999"], "ids:"),
    ],
)
def test_apply_bad_input_names_the_option(org, tree, args, field):
    with pytest.raises(CommandError) as caught:
        run("tag", "apply", str(tree["vip"].pk), *args)
    assert str(caught.value).startswith(field)
    with pytest.raises(CommandError, match="tag: "):
        run("tag", "apply", "999999", "--type", "customers.account", "--ids", "1")


def test_help_is_translated(tmp_path):
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("RAPPORT_") and key not in ("DJANGO_SETTINGS_MODULE", "LC_ALL")
    }
    environment.update(
        LANG="C.UTF-8",
        RAPPORT_LANGUAGE="zh-hans",
        RAPPORT_VAR_DIR=str(tmp_path),
        RAPPORT_DATABASE_URL=f"sqlite:///{tmp_path / 'rapport.sqlite3'}",
    )
    result = subprocess.run(
        [str(Path(sys.executable).with_name("rapport")), "tag", "--help"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "标签" in result.stdout and "Tags:" not in result.stdout


def test_small_demo_has_a_bilingual_tag_tree_and_tagged_records():
    run("demo", "--size", "small", "--accounts", "30", "--contacts", "40", "--seed", "3")
    industry = Tag.objects.get(name="行业", parent=None)
    assert industry.name_en == "Industry"
    assert Tag.objects.filter(parent=industry).count() >= 3
    assert Tag.objects.filter(name="VIP", parent=None).exists()
    tagged = TaggedRecord.objects.values_list("content_type__model", flat=True)
    assert {"account", "contact"} <= set(tagged)
    # Each tagging went through the services: audited as the owner who did it.
    assert AuditEvent.objects.filter(action="update", changes__has_key="tags").count() > 0
    run("demo", "--size", "small", "--accounts", "2", "--contacts", "0", "--seed", "4")
    assert Tag.objects.filter(name="行业").count() == 1  # the tree is not duplicated
