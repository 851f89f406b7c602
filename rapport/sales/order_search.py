"""Orders, invoices and contracts in the one search index (`rapport.core.search`): found by
number, customer's PO number, fapiao number, title and their customer's name, in Chinese
or pinyin, restricted like every read."""

from __future__ import annotations

from django.db.models import QuerySet
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from rapport.core import search
from rapport.identity.models import User

from .models import Contract, Invoice, Order


def order_document(order: Order) -> search.Document:
    return search.Document(
        title=order.number,
        subtitle=order.account.name,
        texts=[order.number, order.customer_reference, order.account.name, order.notes[:2000]],
    )


def present_order(user: User, order: Order) -> search.Hit:
    return search.Hit(
        id=order.pk,
        title=order.number,
        subtitle=" · ".join(
            [order.get_status_display(), order.account.name, f"{order.currency} {order.total:,.2f}"]
        ),
        url=reverse("sales:order_detail", args=[order.pk]),
    )


def invoice_document(invoice: Invoice) -> search.Document:
    return search.Document(
        title=invoice.number,
        subtitle=invoice.account.name,
        texts=[invoice.number, invoice.fapiao_number, invoice.account.name, invoice.order.number],
    )


def present_invoice(user: User, invoice: Invoice) -> search.Hit:
    return search.Hit(
        id=invoice.pk,
        title=invoice.number,
        subtitle=" · ".join(
            [
                invoice.get_kind_display(),
                invoice.get_status_display(),
                invoice.account.name,
                f"{invoice.currency} {invoice.total:,.2f}",
            ]
        ),
        url=reverse("sales:invoice_detail", args=[invoice.pk]),
    )


def contract_document(contract: Contract) -> search.Document:
    return search.Document(
        title=f"{contract.number} {contract.title}",
        subtitle=contract.account.name,
        texts=[contract.number, contract.title, contract.account.name, contract.terms[:2000]],
    )


def present_contract(user: User, contract: Contract) -> search.Hit:
    return search.Hit(
        id=contract.pk,
        title=f"{contract.number} {contract.title}",
        subtitle=" · ".join([contract.get_status_display(), contract.account.name]),
        url=reverse("sales:contract_detail", args=[contract.pk]),
    )


def _with_account(records: QuerySet) -> QuerySet:
    return records.select_related("account")


def register() -> None:
    search.register(
        Order.security_type,
        model=Order,
        document=order_document,
        label=_("Orders"),
        for_indexing=_with_account,
        for_display=lambda user, orders: _with_account(orders),
        present=present_order,
    )
    search.register(
        Invoice.security_type,
        model=Invoice,
        document=invoice_document,
        label=_("Invoices"),
        for_indexing=lambda invoices: invoices.select_related("account", "order"),
        for_display=lambda user, invoices: _with_account(invoices),
        present=present_invoice,
    )
    search.register(
        Contract.security_type,
        model=Contract,
        document=contract_document,
        label=_("Contracts"),
        for_indexing=_with_account,
        for_display=lambda user, contracts: _with_account(contracts),
        present=present_contract,
    )
