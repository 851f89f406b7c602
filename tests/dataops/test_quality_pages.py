"""The data-quality dashboard and rules page: what each user sees, in both languages, the
weakest records a click away, "Recompute now", editing the rules, flat query counts."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from rapport.core.models import Job
from rapport.customers import services
from rapport.dataops import quality
from rapport.dataops.models import QualityScore
from tests.query_counts import assert_flat

pytestmark = pytest.mark.django_db

ACCOUNT = quality.ACCOUNT


def signed_in(user, language: str = "en") -> Client:
    user.language = language
    user.save(update_fields=["language"])
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def scored(org):
    made = {
        "east": services.account_create(actor=org["rep_east"], name="华东空壳公司"),
        "east_full": services.account_create(
            actor=org["rep_east"],
            name="华东齐全公司",
            province="上海",
            city="上海",
            phone="021-65521234",
            address="浦东新区 1 号",
        ),
        "south": services.account_create(actor=org["rep_south"], name="华南空壳公司"),
    }
    quality.compute_run(quality.compute_start(actor=org["admin"]))
    return made


def test_dashboard_in_both_languages_with_the_weakest_records_linked(org, scored):
    url = reverse("dataops:quality_dashboard")
    with translation.override("en"):
        english = signed_in(org["sales_manager"]).get(url).content.decode()
    assert "Data quality" in english and "Weakest records" in english
    assert "Last computed" in english
    detail = reverse("customers:account_detail", args=[scored["east"].pk])
    assert f'href="{detail}"' in english  # one click to the record
    assert "Unified social credit code is empty" in english
    assert "华南空壳公司" not in english  # another region's account
    # the weakest first
    assert english.index("华东空壳公司") < english.index("华东齐全公司")
    chinese = signed_in(org["sales_manager"], "zh-hans").get(url).content.decode()
    with translation.override("zh-hans"):
        assert translation.gettext("Weakest records") in chinese
        assert translation.gettext("By department") in chinese
    assert f'href="{detail}"' in chinese


def test_a_rep_sees_only_their_own_records(org, scored):
    page = signed_in(org["rep_south"]).get(reverse("dataops:quality_dashboard")).content.decode()
    assert "华南空壳公司" in page
    assert "华东" not in page
    # No "Recompute now" and no rules for a rep; posting is refused.
    assert 'data-testid="quality-compute"' not in page
    client = signed_in(org["rep_south"])
    assert client.post(reverse("dataops:quality_compute")).status_code == 403
    assert client.get(reverse("dataops:quality_rules")).status_code == 403


def test_grouping_by_owner_and_department_and_narrowing(org, scored):
    client = signed_in(org["admin"])
    url = reverse("dataops:quality_dashboard")
    page = client.get(url).content.decode()
    owners = page[page.index('data-testid="quality-owners"') :]
    assert f"?type={ACCOUNT}&owner={org['rep_east'].pk}" in owners
    assert f"?type={ACCOUNT}&department={org['departments']['south'].pk}" in page
    narrowed = client.get(url, {"type": ACCOUNT, "owner": org["rep_south"].pk}).content.decode()
    worst = narrowed[narrowed.index('data-testid="quality-worst"') :]
    worst = worst[: worst.index("</table>")]
    assert "华南空壳公司" in worst and "华东" not in worst
    assert 'data-testid="quality-focus"' in narrowed


def test_a_user_without_customer_access_is_refused(org):
    from tests.factories import UserFactory

    nobody = UserFactory(username="nobody")
    assert signed_in(nobody).get(reverse("dataops:quality_dashboard")).status_code == 403


def test_recompute_now_runs_the_job(org, scored, django_capture_on_commit_callbacks):
    from rapport.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        QualityScore.objects.all().delete()
        client = signed_in(org["admin"])
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse("dataops:quality_compute"), {"type": ACCOUNT})
        assert response.status_code == 302
    finally:
        app.conf.task_always_eager = previous
    job = Job.objects.filter(kind=quality.KIND).latest("id")
    assert job.state == Job.State.SUCCEEDED and job.created_by == org["admin"]
    assert QualityScore.objects.filter(object_type=ACCOUNT).count() == 3


def test_rules_page_edits_the_rule(org, scored):
    client = signed_in(org["admin"])
    url = reverse("dataops:quality_rules")
    page = client.get(url).content.decode()
    assert 'data-testid="admin-tab-quality"' in page
    assert 'name="field_credit_code" value="3"' in page
    form = {
        "type": ACCOUNT,
        "field_province": "1",
        "field_city": "1",
        "freshness_days": "90",
        **{f"weight_{name}": "25" for name in quality.COMPONENTS},
    }
    response = client.post(url, form)
    assert response.status_code == 302
    rule = quality.rule_for(ACCOUNT)
    assert rule.fields == {"province": 1, "city": 1}
    assert rule.freshness_days == 90
    assert rule.weights == dict.fromkeys(quality.COMPONENTS, 25)
    # A bad value is shown under the field's name and nothing changes.
    bad = client.post(url, {**form, "field_phone": "99"})
    assert bad.status_code == 200
    body = bad.content.decode()
    assert 'data-testid="quality-rule-errors"' in body and "Phone" in body
    assert quality.rule_for(ACCOUNT).fields == {"province": 1, "city": 1}
    client.post(url, {"type": ACCOUNT, "reset": "1"})
    assert quality.rule_for(ACCOUNT).fields == quality.DEFAULT_RULES[ACCOUNT]["fields"]
    assert signed_in(org["sales_manager"]).get(url).status_code == 403


def test_dashboard_queries_do_not_grow_with_records(org):
    rep = org["rep_east"]
    made = []

    def grow(n):
        for _ in range(n):
            made.append(services.account_create(actor=rep, name=f"计数公司{len(made)}"))
        quality.compute_run(quality.compute_start(actor=org["admin"]))

    assert_flat(
        signed_in(org["sales_manager"]),
        reverse("dataops:quality_dashboard"),
        grow,
        few=2,
        many=8,
        rows=lambda body: body.count('data-testid="quality-record"'),
    )


def test_dashboard_queries_do_not_grow_with_owners(org):
    from tests.factories import UserFactory

    def grow(n):
        for _ in range(n):
            owner = UserFactory(department=org["departments"]["east"], roles=["sales_rep"])
            services.account_create(actor=owner, name=f"{owner.username}的公司")
        quality.compute_run(quality.compute_start(actor=org["admin"]))

    assert_flat(
        signed_in(org["admin"]),
        reverse("dataops:quality_dashboard"),
        grow,
        few=2,
        many=6,
        rows=lambda body: body.count("&owner="),
    )


def test_the_360_page_shows_the_records_score_and_why(org, scored):
    url = reverse("customers:account_detail", args=[scored["east"].pk])
    page = signed_in(org["sales_manager"]).get(url).content.decode()
    score = QualityScore.objects.get(object_type=ACCOUNT, record_id=scored["east"].pk)
    assert f'data-testid="record-quality" data-score="{score.total}"' in page
    assert "Unified social credit code is empty" in page
    chinese = signed_in(org["rep_east"], "zh-hans").get(url).content.decode()
    with translation.override("zh-hans"):
        assert (
            translation.gettext("%(field)s is empty")
            % {"field": translation.gettext("Unified social credit code")}
            in chinese
        )
    # A record not scored yet shows no card.
    fresh = services.account_create(actor=org["rep_east"], name="新建公司")
    page = (
        signed_in(org["rep_east"])
        .get(reverse("customers:account_detail", args=[fresh.pk]))
        .content.decode()
    )
    assert 'data-testid="record-quality"' not in page
