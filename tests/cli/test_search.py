"""`rapport search rebuild` (a resumable job) and `rapport search query`."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from rapport.core.models import Job
from rapport.core.search import index, rebuild
from rapport.core.search.models import SearchDocument
from rapport.customers.models import Account, Contact
from rapport.web import demo


def run(*args) -> str:
    out = StringIO()
    call_command("search", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def bulk(org):
    """Records inserted like the demo's bulk loader, without the index (no events either)."""
    demo.bulk_generate(
        owners=demo.owners_of([org["rep_sh"], org["rep_south"]]),
        accounts=40,
        contacts=30,
        data=demo.DemoData(7, first_serial=demo.next_serial()),
        index=False,
    )
    return Account.objects.count(), Contact.objects.count()


def test_the_demo_bulk_loader_leaves_the_index_complete(org):
    made = demo.bulk_generate(
        owners=demo.owners_of([org["rep_sh"]]),
        accounts=20,
        contacts=10,
        data=demo.DemoData(3, first_serial=demo.next_serial()),
        batch_size=7,
    )
    assert SearchDocument.objects.count() == made["accounts"] + made["contacts"]
    account = Account.objects.order_by("?").first()
    assert run("query", account.name, "--as", "admin").count(account.name) >= 1


def test_rebuild_indexes_everything_and_prints_progress(bulk):
    accounts, contacts = bulk
    assert SearchDocument.objects.count() == 0
    output = run("rebuild", "--batch-size", "10")
    assert SearchDocument.objects.count() == accounts + contacts
    assert f"{accounts + contacts} of {accounts + contacts} records (100%)" in output
    job = Job.objects.get(kind=rebuild.KIND)
    assert job.state == Job.State.SUCCEEDED and job.processed == accounts + contacts


def test_an_interrupted_rebuild_resumes_from_its_checkpoint(bulk, monkeypatch):
    accounts, contacts = bulk
    written: list[int] = []
    real_write = index.write

    def crash_on_third_batch(registration, records):
        if len(written) == 2:
            raise RuntimeError("the machine went down")
        written.append(len(records))
        return real_write(registration, records)

    monkeypatch.setattr(index, "write", crash_on_third_batch)
    with pytest.raises(RuntimeError):
        run("rebuild", "--batch-size", "10")
    job = Job.objects.get(kind=rebuild.KIND)
    assert job.state == Job.State.FAILED
    assert job.checkpoint["type"] == "customers.account" and job.processed == 20
    first_batches = set(
        SearchDocument.objects.values_list("object_id", "updated_at").order_by("object_id")
    )
    assert len(first_batches) == 20

    monkeypatch.setattr(index, "write", real_write)
    output = run("rebuild", "--batch-size", "10")
    assert "Resuming job" in output
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED and job.processed == accounts + contacts
    assert Job.objects.filter(kind=rebuild.KIND).count() == 1
    # The first two batches were not indexed again, and nothing is there twice.
    assert first_batches <= set(SearchDocument.objects.values_list("object_id", "updated_at"))
    assert SearchDocument.objects.count() == accounts + contacts


def test_rebuild_of_one_type_and_stale_documents(bulk):
    accounts, _contacts = bulk
    run("rebuild", "--type", "customers.account")
    assert SearchDocument.objects.filter(object_type="customers.contact").count() == 0
    assert SearchDocument.objects.count() == accounts
    SearchDocument.objects.create(object_type="customers.account", object_id=10**9, title="gone")
    run("rebuild", "--type", "customers.account", "--restart")
    assert not SearchDocument.objects.filter(object_id=10**9).exists()


def test_errors_name_the_option(org):
    with pytest.raises(CommandError, match="type: Unknown object type"):
        run("rebuild", "--type", "sales.nothing")
    with pytest.raises(CommandError, match="batch-size"):
        run("rebuild", "--batch-size", "1")
    with pytest.raises(CommandError, match="as: No user"):
        run("query", "x", "--as", "nobody")


def test_query_as_a_user_sees_only_their_records(org, bulk):
    run("rebuild")
    mine = Account.objects.filter(owner=org["rep_sh"]).first()
    theirs = Account.objects.filter(owner=org["rep_south"]).first()
    assert mine.name in run("query", mine.name, "--as", "rep_sh", "--type", "customers.account")
    assert theirs.name not in run(
        "query", theirs.name, "--as", "rep_sh", "--type", "customers.account"
    )
