"""Ticket categories: a two-level tree kept by administrators and service managers, retired
rather than deleted, offered on the ticket form while active."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from rapport.audit.models import AuditEvent
from rapport.core.errors import PermissionDenied
from rapport.service import services
from rapport.service.models import TicketCategory

pytestmark = pytest.mark.django_db


def signed_in(user, language="en") -> Client:
    user.language = language
    user.save(update_fields=["language"])
    client = Client()
    client.force_login(user)
    return client


def test_a_tree_of_categories_with_names_checked(org):
    manager = org["service_manager"]
    billing = services.category_create(actor=manager, name="账单与发票", name_en="Billing")
    invoice = services.category_create(actor=manager, name="发票", parent=billing)
    with pytest.raises(ValidationError) as twice:
        services.category_create(actor=manager, name=" 发票 ", parent=billing)
    assert "name" in twice.value.message_dict
    with pytest.raises(ValidationError) as cycle:
        services.category_update(actor=manager, category=billing, parent=invoice)
    assert cycle.value.error_dict["parent"][0].code == "cycle"
    services.category_update(actor=manager, category=invoice, is_active=False)
    invoice.refresh_from_db()
    assert not invoice.is_active
    assert AuditEvent.objects.filter(object_type="service.ticketcategory").count() == 3
    with pytest.raises(PermissionDenied):
        services.category_create(actor=org["agent"], name="坐席不能加")


def test_the_page_adds_a_category_and_the_ticket_form_offers_it(org):
    client = signed_in(org["admin"], "zh-hans")
    url = reverse("service:category_list")
    refused = client.post(url, {"name": ""})
    assert "请输入名称。" in refused.content.decode()
    client.post(url, {"name": "产品咨询", "name_en": "Product questions"})
    category = TicketCategory.objects.get()
    form = client.get(reverse("service:ticket_create")).content.decode()
    assert f'<option value="{category.pk}">产品咨询</option>' in form
    client.post(reverse("service:category_active", args=[category.pk]), {"active": "0"})
    form = client.get(reverse("service:ticket_create")).content.decode()
    assert "产品咨询" not in form
    assert signed_in(org["agent"]).get(url).status_code == 403
