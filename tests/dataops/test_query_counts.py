"""The data operations pages read a fixed number of queries whatever the rows they show."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from rapport.customers import services
from rapport.dataops import importing
from rapport.dataops.models import BackupRecord, DuplicatePair
from tests.query_counts import assert_flat

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_duplicate_review_list(org):
    rep = org["rep_east"]
    made = []

    def grow(n):
        for _ in range(n):
            a = services.account_create(actor=rep, name=f"公司{len(made)}")
            b = services.account_create(actor=rep, name=f"公司{len(made)}副本")
            made.append((a, b))
            DuplicatePair.objects.create(
                object_type="customers.account",
                first_id=a.pk,
                second_id=b.pk,
                score=90,
                reasons=[{"code": "phone"}],
            )

    assert_flat(
        signed_in(org["sales_manager"]),
        reverse("dataops:duplicate_list"),
        grow,
        few=2,
        many=8,
        rows=lambda body: body.count('data-testid="compare"'),
    )


def test_import_list(org):
    admin = org["admin"]

    def grow(n):
        for number in range(n):
            importing.import_create(
                actor=admin,
                object_type="customers.account",
                upload=SimpleUploadedFile(f"f{number}.csv", f"name\n公司{number}\n".encode()),
            )

    assert_flat(
        signed_in(admin),
        reverse("dataops:import_list"),
        grow,
        few=2,
        many=8,
        rows=lambda body: body.count("/data/imports/") - 1,
    )


def test_backup_list(org):
    def grow(n):
        for number in range(n):
            BackupRecord.objects.create(
                file_name=f"rapport-{number}.tar.gz",
                vendor="sqlite",
                state=BackupRecord.State.SUCCEEDED,
                counts={"accounts": number},
                created_by=org["admin"],
            )

    assert_flat(
        signed_in(org["admin"]),
        reverse("dataops:backup_list"),
        grow,
        few=2,
        many=8,
        rows=lambda body: body.count("rapport-"),
    )
