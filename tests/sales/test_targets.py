"""Setting targets (rapport.sales.services.targets): one per holder, period and measure,
checked field by field, audited, only by those who manage targets, nothing partial stored."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from rapport.audit.models import AuditEvent
from rapport.core.errors import PermissionDenied
from rapport.identity.models import Role
from rapport.sales.models import Target
from rapport.sales.services import targets as target_services
from tests.factories import TeamFactory, UserFactory

NOV = dt.date(2026, 11, 1)


def test_setting_a_target_creates_it_then_changes_it_in_place(org):
    manager, rep = org["sales_manager"], org["rep_sh"]
    target = target_services.target_set(
        actor=manager, period="month", period_start=NOV, amount="120000", user=rep
    )
    assert (target.amount, target.currency, target.metric) == (
        Decimal("120000"),
        "CNY",
        "won_amount",
    )
    again = target_services.target_set(
        actor=manager,
        period="month",
        period_start="2026-11-01",
        amount=Decimal("150000.50"),
        user=rep,
    )
    assert again.pk == target.pk
    assert Target.objects.get().amount == Decimal("150000.50")
    events = AuditEvent.objects.filter(object_type="sales.target", object_id=str(target.pk))
    assert sorted(events.values_list("action", flat=True)) == ["create", "update"]
    update = events.get(action="update")
    assert set(update.changes) == {"amount"}


def test_a_team_and_a_department_hold_targets_of_their_own(org):
    admin = org["admin"]
    team = TeamFactory()
    for holder in ({"team": team}, {"department": org["departments"]["east"]}):
        target_services.target_set(
            actor=admin,
            period="quarter",
            period_start="2026-10-01",
            metric="payments",
            amount=1,
            **holder,
        )
    assert Target.objects.filter(period="quarter", metric="payments").count() == 2


@pytest.mark.parametrize(
    ("values", "field", "code"),
    [
        ({"period": "quarter", "period_start": "2026-11-01"}, "period_start", "not_period_start"),
        ({"period": "month", "period_start": "2026-11-15"}, "period_start", "not_period_start"),
        ({"period": "year", "period_start": "2026-07-01"}, "period_start", "not_period_start"),
        ({"period_start": "next month"}, "period_start", "invalid"),
        ({"period_start": None}, "period_start", "required"),
        ({"period": "fortnight"}, "period", "invalid_choice"),
        ({"amount": "-1"}, "amount", "min_value"),
        ({"amount": "lots"}, "amount", "invalid"),
        ({"amount": "1.005"}, "amount", "invalid"),
        ({"amount": "NaN"}, "amount", "invalid"),
        ({"metric": "revenue"}, "metric", "invalid_choice"),
        ({"metric": "won_count", "amount": "2.5"}, "amount", "invalid"),
        ({"currency": "RMB1"}, "currency", "invalid"),
        ({"user": None}, "user", "one_holder"),
        ({"team": "TEAM"}, "team", "one_holder"),
    ],
)
def test_bad_input_names_the_field_and_stores_nothing(org, values, field, code):
    given = {
        "period": "month",
        "period_start": "2026-11-01",
        "amount": "100",
        "user": org["rep_sh"],
    }
    given.update(values)
    if given.get("team") == "TEAM":
        given["team"] = TeamFactory()
    with pytest.raises(ValidationError) as refused:
        target_services.target_set(actor=org["admin"], **given)
    assert code in [error.code for error in refused.value.error_dict[field]]
    assert not Target.objects.exists()
    assert not AuditEvent.objects.filter(object_type="sales.target").exists()


def test_only_those_who_manage_targets_may_set_them(org):
    for who in ("rep_sh", "cm", "finance", "auditor"):
        with pytest.raises(PermissionDenied):
            target_services.target_set(
                actor=org[who], period="month", period_start=NOV, amount=1, user=org["rep_sh"]
            )
    assert not Target.objects.exists()


def test_a_department_scoped_manager_sets_targets_only_inside_their_subtree(org):
    role = Role.objects.create(code="regional", name="Regional lead")
    role.grants.create(object_type="sales.target", action="manage", scope="department")
    lead = UserFactory(department=org["departments"]["east"], roles=[role])
    target_services.target_set(
        actor=lead, period="month", period_start=NOV, amount=1, user=org["rep_sh"]
    )
    with pytest.raises(PermissionDenied):
        target_services.target_set(
            actor=lead, period="month", period_start=NOV, amount=1, user=org["rep_south"]
        )
    assert Target.objects.count() == 1


def test_deleting_a_target_is_audited(org):
    target = target_services.target_set(
        actor=org["admin"], period="month", period_start=NOV, amount=1, user=org["rep_sh"]
    )
    pk = target.pk
    target_services.target_delete(actor=org["admin"], target=target)
    assert not Target.objects.exists()
    assert AuditEvent.objects.filter(
        object_type="sales.target", object_id=str(pk), action="delete"
    ).exists()
    with pytest.raises(PermissionDenied):
        target_services.target_delete(
            actor=org["rep_sh"],
            target=target_services.target_set(
                actor=org["admin"], period="month", period_start=NOV, amount=1, user=org["rep_sh"]
            ),
        )


def test_an_import_is_all_or_nothing_each_problem_named_by_row_and_field(org):
    csv_text = (
        "period,period_start,metric,holder_type,holder,amount\n"
        "month,2026-11-01,won_amount,user,rep_sh,100000\n"
        "quarter,2026-10-01,payments,department,east,900000\n"
        "month,2026-11-03,won_amount,user,rep_east,5\n"
        "month,2026-11-01,won_amount,team,Nobody,5\n"
    )
    with pytest.raises(ValidationError) as refused:
        target_services.targets_import(actor=org["admin"], rows=csv_text)
    assert set(refused.value.error_dict) == {"row 3 · period_start", "row 4 · holder"}
    assert not Target.objects.exists()
    good = "\n".join(csv_text.splitlines()[:3])
    stored = target_services.targets_import(actor=org["admin"], rows=good)
    assert len(stored) == 2
    assert Target.objects.get(department=org["departments"]["east"]).amount == Decimal("900000")


def test_demo_targets_cover_reps_teams_and_departments_for_three_periods(org):
    import random

    from rapport.sales import forecast
    from rapport.web.demo_sales_targets import generate_targets

    made = generate_targets(users={"admin": org["admin"]}, rng=random.Random(7))
    assert made == Target.objects.count() > 0
    periods = set(Target.objects.values_list("period", "period_start"))
    assert len(periods) == 3 and tuple({p for p, _s in periods} - {"month"}) == ("quarter",)
    assert all(forecast.period_start_of(p, s) == s for p, s in periods)
    rep = org["rep_sh"]
    assert Target.objects.filter(user=rep, metric="won_count").count() == 3
    assert Target.objects.filter(team__isnull=False).exists()
    assert Target.objects.filter(department=rep.department, metric="payments").count() == 3
    assert generate_targets(users={"admin": org["admin"]}, rng=random.Random(7)) == 0
