"""The index's bulk write paths store exactly the rows of the slow, straightforward path.

Chinese (traditional, full-width, personal names), English and mixed records, phones in every
form (E.164, national, with separators, foreign, invalid, with an Italian leading zero) and
e-mails (upper case, full width, malformed) are indexed by `refresh` (records read back),
`index_records` (records in memory, as the demo's bulk loader does), `write` and the rebuild
job, fresh and over an existing index: every path must store, for every record, the title,
subtitle, terms and blind keys that `tests.core.search_reference` computes the old way.
"""

from __future__ import annotations

import pytest
from django.db import connection

from rapport.core import search
from rapport.core.search import index, rebuild, registry, text
from rapport.core.search.models import SearchDocument, SearchKey
from rapport.customers.models import Account, AccountContact, Contact
from tests.core import search_reference
from tests.factories import AccountFactory, ContactFactory

ACCOUNTS = [
    {"name": "中國銀行股份有限公司", "short_name": "中行", "phone": "+86 21 6321 1234"},
    {"name": "ACME Trading Co., Ltd.", "province": "", "city": "", "phone": "+1 415-555-2671"},
    {"name": "ＡＢＣ科技（深圳）有限公司", "city": "深圳市", "province": "广东省"},
    {"name": "上海华信电子有限公司", "short_name": "华信", "phone": "021-6123 4567"},
    {
        "name": "北京恒通物流有限公司",
        "city": "北京市",
        "province": "北京市",
        "phone": "+862180040661",
    },
    {
        "name": "Ristorante Roma 罗马餐厅",
        "phone": "+390612345678",
        "credit_code": "91310000MA1FL0X0XX",
    },
    {"name": "王小明", "short_name": "", "phone": "13812345678"},
    {"name": "第1号仓库 No.2 — “特别”", "phone": "not a phone"},
    {
        "name": "重庆长安汽车股份有限公司",
        "city": "重庆市",
        "province": "重庆市",
        "phone": "+862367591234",
    },
]
CONTACTS = [
    {
        "name": "李晓燕",
        "title": "销售总监",
        "phones": ["+8613812345678", "138 0013 8000", "+86 10 8001 2871", "13812345678"],
        "emails": ["Li.XiaoYan@Example.COM", "ｌｉ＠ｅｘａｍｐｌｅ．ｃｏｍ"],
        "at": [0, 1],
    },
    {
        "name": "Henry Brown",
        "title": "CTO",
        "phones": ["+14155552671", "+44 20 7946 0958"],
        "emails": ["henry@acme.com", "not-an-email"],
        "at": [1],
    },
    {"name": "欧阳娜娜", "title": "行长助理", "phones": [], "emails": [], "at": [4, 8]},
    {"name": "陈静", "title": "", "phones": ["+8615599701580"], "emails": [], "at": []},
]


@pytest.fixture
def records(org):
    owner = org["rep_sh"]
    accounts = [
        AccountFactory(owner=owner, **{"province": "上海市", "city": "上海市", **values})
        for values in ACCOUNTS
    ]
    contacts = []
    for values in CONTACTS:
        values = dict(values)
        at = values.pop("at")
        contact = ContactFactory(owner=owner, **values)
        AccountContact.objects.bulk_create(
            [AccountContact(contact=contact, account=accounts[i]) for i in at]
        )
        contacts.append(contact)
    # The factories indexed each contact before it had accounts: as a service would, after.
    search.refresh(Contact.security_type, [contact.pk for contact in contacts])
    return accounts, contacts


def expected_rows() -> dict[tuple[str, int], tuple]:
    rows = {}
    for object_type in (Account.security_type, Contact.security_type):
        registration = registry.get(object_type)
        manager = registration.model._default_manager
        for record in registration.for_indexing(manager.all()):
            rows[(object_type, record.pk)] = search_reference.document_row(registration, record)
    return rows


def stored_rows() -> dict[tuple[str, int], tuple]:
    keys: dict[int, list[str]] = {}
    for document_id, key in SearchKey.objects.values_list("document_id", "key"):
        keys.setdefault(document_id, []).append(key)
    return {
        (document.object_type, document.object_id): (
            document.title,
            document.subtitle,
            document.terms,
            sorted(keys.get(document.pk, [])),
        )
        for document in SearchDocument.objects.all()
    }


def assert_index_is_the_reference(*, fresh: bool = True) -> None:
    """Stored rows == the reference rows; on PostgreSQL the typo vocabulary holds their words
    (exactly them when the index was built from empty: words are never taken out)."""
    expected = expected_rows()
    assert stored_rows() == expected
    assert SearchKey.objects.count() == sum(len(row[3]) for row in expected.values())
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT term FROM {index.TERM_TABLE}")
            vocabulary = {row[0] for row in cursor.fetchall()}
        words = {term for row in expected.values() for term in row[2].split()}
        wanted = {term for term in words if text.fuzzy_candidates_key(term)}
        assert vocabulary == wanted if fresh else vocabulary >= wanted


def empty_index() -> None:
    SearchKey.objects.all().delete()
    SearchDocument.objects.all().delete()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {index.TERM_TABLE}")


def ids(model) -> list[int]:
    return list(model.objects.order_by("pk").values_list("pk", flat=True))


def test_the_records_cover_what_the_shortcuts_must_get_right(records):
    documents = list(expected_rows().values())
    keys = sum(len(row[3]) for row in documents)
    phones = [values.get("phone", "") for values in ACCOUNTS] + [
        phone for values in CONTACTS for phone in values["phones"]
    ]
    assert keys > 10
    assert any(text.parse_phone(phone) is None for phone in phones if phone.startswith("+"))
    assert any(text._e164_shortcut(phone) is text._NOT_KNOWN for phone in phones)
    assert any("zgyh" in row[2].split() for row in documents)  # traditional folded, pinyin


@pytest.mark.parametrize("batch_size", [500, 2])
def test_refresh_stores_the_reference_rows(records, batch_size):
    empty_index()
    written = search.refresh(Account.security_type, ids(Account), batch_size=batch_size)
    written += search.refresh(Contact.security_type, ids(Contact), batch_size=batch_size)
    assert written == len(ACCOUNTS) + len(CONTACTS)
    assert_index_is_the_reference()


@pytest.mark.parametrize("batch_size", [500, 3])
def test_records_in_memory_are_indexed_as_if_read_back(records, batch_size):
    """As the demo's bulk loader: plain instances, their relations not loaded."""
    empty_index()
    fresh = {
        Account.security_type: list(Account.objects.order_by("pk")),
        Contact.security_type: list(Contact.objects.order_by("pk")),
    }
    written = search.index_records(fresh, batch_size=batch_size)
    assert written == len(ACCOUNTS) + len(CONTACTS)
    assert_index_is_the_reference()


def test_the_rebuild_job_and_write_store_the_reference_rows(records):
    empty_index()
    job = rebuild.rebuild(batch_size=4)
    assert job.result["indexed"] == len(ACCOUNTS) + len(CONTACTS)
    assert_index_is_the_reference()
    empty_index()
    for object_type in (Account.security_type, Contact.security_type):
        registration = registry.get(object_type)
        manager = registration.model._default_manager
        index.write(registration, list(registration.for_indexing(manager.all())))
    assert_index_is_the_reference()


def test_indexing_again_updates_in_place_and_replaces_the_keys(records):
    accounts, contacts = records
    search.refresh(Contact.security_type, ids(Contact))
    before = dict(SearchDocument.objects.values_list("object_id", "id"))
    contact = contacts[0]
    old_phone = text.normalize_phone(contact.phones[0])
    Contact.objects.filter(pk=contact.pk).update(
        name="李晓燕（离职）", phones=["+8615599701580"], emails=[]
    )
    Account.objects.filter(pk=accounts[1].pk).update(name="Acme 新名称")
    fresh = {
        Account.security_type: list(Account.objects.order_by("pk")),
        Contact.security_type: list(Contact.objects.order_by("pk")),
    }
    search.index_records(fresh)
    search.index_records(fresh)  # twice: still one document per record
    assert_index_is_the_reference(fresh=False)
    after = dict(
        SearchDocument.objects.filter(object_type=Contact.security_type).values_list(
            "object_id", "id"
        )
    )
    assert {pk: before[pk] for pk in after} == after  # updated, not replaced
    user = contact.owner
    hits = search.search(user, old_phone, types=[Contact.security_type])
    assert contact.pk not in [hit.id for group in hits.groups for hit in group.hits]
    hits = search.search(user, "155 9970 1580", types=[Contact.security_type])
    assert contact.pk in [hit.id for group in hits.groups for hit in group.hits]


def test_refresh_drops_the_documents_of_records_that_are_gone(records):
    accounts, contacts = records
    gone = contacts[-1].pk
    Contact.objects.filter(pk=gone).delete()
    search.refresh(Contact.security_type, [gone, contacts[0].pk])
    assert not SearchDocument.objects.filter(
        object_type=Contact.security_type, object_id=gone
    ).exists()
    assert_index_is_the_reference(fresh=False)


def test_a_failure_part_way_leaves_the_index_as_it_was(records, monkeypatch):
    """Batches already sent down the pipeline are rolled back with the rest."""
    before = stored_rows()
    Account.objects.update(name="改名了")
    calls = {"n": 0}
    real_blind_keys = index.blind_keys

    def fail_in_the_third_batch(document):
        calls["n"] += 1
        if calls["n"] == 5:
            raise RuntimeError("disk full")
        return real_blind_keys(document)

    monkeypatch.setattr(index, "blind_keys", fail_in_the_third_batch)
    with pytest.raises(RuntimeError):
        search.refresh(Account.security_type, ids(Account), batch_size=2)
    assert stored_rows() == before
