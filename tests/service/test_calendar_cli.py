"""`rapport calendar`: list, show, set and remove a date, and the due time."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from rapport.service.models import CalendarDay

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    with translation.override("en"):
        call_command("calendar", *args, stdout=out)
    return out.getvalue()


def test_list_show_and_due(org):
    assert "Standard office hours" in run("list")
    shown = run("show", "标准工作时间", "--days", "3")
    assert "Monday: 09:00-12:00, 13:00-18:00" in shown and "Sunday: Closed" in shown
    # Wednesday 30 September 2026 17:00 + 120 minutes, over the National Day week
    assert run("due", "标准工作时间", "120", "--start", "2026-09-30T17:00").strip() == (
        "2026-10-08T10:00:00+08:00"
    )


def test_set_and_remove_a_date_as_a_permitted_user(org):
    assert "Saved." in run("day", "标准工作时间", "2026-12-24", "--note", "年会", "--as", "svcmgr")
    assert CalendarDay.objects.get().note == "年会"
    assert "Removed." in run("undo-day", "标准工作时间", "2026-12-24", "--as", "admin")
    assert not CalendarDay.objects.exists()


def test_refusals_name_the_field(org):
    with pytest.raises(CommandError, match="hours: "):
        run("day", "标准工作时间", "2026-12-24", "--hours", "午饭后", "--as", "admin")
    with pytest.raises(CommandError, match="date: "):
        run("day", "标准工作时间", "明天", "--as", "admin")
    with pytest.raises(CommandError, match="calendar: "):
        run("show", "没有这个")
    with pytest.raises(CommandError):
        run("day", "标准工作时间", "2026-12-24", "--as", "agent")
    with pytest.raises(CommandError, match="start: "):
        run("due", "标准工作时间", "60", "--start", "soon")
    assert not CalendarDay.objects.exists()
