from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from rapport.core.errors import PermissionDenied
from rapport.customers import services
from rapport.customers.models import Account, Contact
from rapport.customers.validators import (
    USCC_ALPHABET,
    normalize_credit_code,
    normalize_phone,
    uscc_check_char,
)
from rapport.identity import services as identity_services

body17 = st.text(alphabet=USCC_ALPHABET, min_size=17, max_size=17)


@given(body17)
def test_credit_code_with_its_check_char_is_accepted(body):
    code = body + uscc_check_char(body)
    assert normalize_credit_code(code.lower()) == code


@given(body17, st.sampled_from(USCC_ALPHABET))
def test_any_other_check_char_is_refused(body, wrong):
    if wrong == uscc_check_char(body):
        return
    with pytest.raises(ValidationError) as caught:
        normalize_credit_code(body + wrong)
    assert caught.value.code == "credit_code_check_digit"


def test_known_real_world_shape():
    # 91110000 + 9 chars: a Beijing enterprise-style code built with the published weights.
    body = "911100007109250"[:15] + "8Q"
    assert normalize_credit_code(body + uscc_check_char(body)).startswith("91110000")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13812345678", "+8613812345678"),
        ("138 1234 5678", "+8613812345678"),
        ("021-6888 1234", "+862168881234"),
        ("+1 650 253 0000", "+16502530000"),
    ],
)
def test_phones_normalise_to_e164(raw, expected):
    assert normalize_phone(raw) == expected


@pytest.mark.django_db
def test_bad_input_names_every_field_and_stores_nothing(org):
    with pytest.raises(ValidationError) as caught:
        services.account_create(
            actor=org["rep_sh"], name=" ", credit_code="123", phone="not a phone", tier="Z"
        )
    assert set(caught.value.error_dict) == {"name", "credit_code", "phone", "tier"}
    assert not Account.objects.exists()
    with pytest.raises(ValidationError) as caught:
        services.contact_create(actor=org["rep_sh"], name="李雷", phones=["12345"], emails=["nope"])
    assert set(caught.value.error_dict) == {"phones", "emails"}
    assert not Contact.objects.exists()


@pytest.mark.django_db
def test_duplicate_credit_code_is_refused(org):
    body = "91310000MA1FL0000"
    code = body + uscc_check_char(body)
    services.account_create(actor=org["admin"], name="甲公司", credit_code=code)
    with pytest.raises(ValidationError) as caught:
        services.account_create(actor=org["admin"], name="乙公司", credit_code=code)
    assert caught.value.error_dict["credit_code"][0].code == "duplicate"


@pytest.mark.django_db
def test_rep_cannot_give_records_away_but_manager_can_within_department(org):
    with pytest.raises(ValidationError) as caught:
        services.account_create(actor=org["rep_sh"], name="A", owner=org["rep_east"])
    assert caught.value.error_dict["owner"][0].code == "assign_denied"
    account = services.account_create(actor=org["sales_manager"], name="B", owner=org["rep_sh"])
    assert account.owner == org["rep_sh"]
    with pytest.raises(PermissionDenied):
        services.account_create(actor=org["sales_manager"], name="C", owner=org["rep_south"])


@pytest.mark.django_db
def test_auditor_cannot_write(org):
    with pytest.raises(PermissionDenied):
        services.account_create(actor=org["auditor"], name="X")
    account = services.account_create(actor=org["admin"], name="Y")
    with pytest.raises(PermissionDenied):
        services.account_update(actor=org["auditor"], account=account, name="Z")


@pytest.mark.django_db
def test_parent_cycle_is_refused(org):
    parent = services.account_create(actor=org["admin"], name="集团")
    child = services.account_create(actor=org["admin"], name="子公司", parent=parent)
    with pytest.raises(ValidationError) as caught:
        services.account_update(actor=org["admin"], account=parent, parent=child)
    assert caught.value.error_dict["parent"][0].code == "cycle"


@pytest.mark.django_db
def test_moving_a_department_moves_its_subtree_scope(org):
    from rapport.customers.models import Account as AccountModel

    account = services.account_create(actor=org["admin"], name="深圳客户", owner=org["rep_south"])
    manager = org["sales_manager"]
    assert not AccountModel.objects.restrict(manager, "view").filter(pk=account.pk).exists()
    identity_services.department_update(
        actor=org["admin"],
        department=org["departments"]["south"],
        parent=org["departments"]["east"],
    )
    manager = type(manager).objects.get(pk=manager.pk)
    assert AccountModel.objects.restrict(manager, "view").filter(pk=account.pk).exists()
