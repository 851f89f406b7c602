"""Two price lists for the same customers and currency created at the same instant on
PostgreSQL: the overlap check runs one writer at a time, so exactly one is stored and the
other is refused naming its dates."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from rapport.sales.models import PriceList
from rapport.sales.services import catalogue
from tests.factories import UserFactory


@pytest.mark.django_db(transaction=True)
def test_two_overlapping_lists_created_at_once_one_is_refused():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; the lock is what PostgreSQL needs")
    admin = UserFactory(is_superuser=True)
    barrier = threading.Barrier(2)
    stored, refused = [], []

    def create(name):
        try:
            barrier.wait()
            stored.append(
                catalogue.price_list_create(actor=admin, name=name, currency="CNY", tier="A")
            )
        except ValidationError as error:
            refused.append(sorted(error.error_dict))
        finally:
            connection.close()

    threads = [threading.Thread(target=create, args=(name,)) for name in ("A级价一", "A级价二")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(stored) == 1 and refused == [["valid_from", "valid_until"]]
    assert PriceList.objects.filter(tier="A").count() == 1
