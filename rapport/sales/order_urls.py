"""Pages of the sales app: orders, invoices, receivables and contracts (see
docs/sales-plan.md)."""

from django.urls import URLPattern, path

from . import contract_views, invoice_views, order_views

urlpatterns: list[URLPattern] = [
    path("sales/orders/", order_views.order_list, name="order_list"),
    path("sales/orders/new/", order_views.order_create, name="order_create"),
    path("sales/orders/<int:pk>/", order_views.order_detail, name="order_detail"),
    path("sales/orders/<int:pk>/edit/", order_views.order_edit, name="order_edit"),
    path("sales/orders/<int:pk>/confirm/", order_views.order_confirm, name="order_confirm"),
    path("sales/orders/<int:pk>/ship/", order_views.order_ship, name="order_ship"),
    path("sales/orders/<int:pk>/complete/", order_views.order_complete, name="order_complete"),
    path("sales/orders/<int:pk>/cancel/", order_views.order_cancel, name="order_cancel"),
    path("sales/orders/<int:pk>/invoice/", order_views.order_invoice, name="order_invoice"),
    path("sales/invoices/", invoice_views.invoice_list, name="invoice_list"),
    path("sales/invoices/<int:pk>/", invoice_views.invoice_detail, name="invoice_detail"),
    path("sales/invoices/<int:pk>/pdf/", invoice_views.invoice_pdf_download, name="invoice_pdf"),
    path("sales/invoices/<int:pk>/issue/", invoice_views.invoice_issue, name="invoice_issue"),
    path("sales/invoices/<int:pk>/cancel/", invoice_views.invoice_cancel, name="invoice_cancel"),
    path("sales/invoices/<int:pk>/pay/", invoice_views.invoice_pay, name="invoice_pay"),
    path("sales/invoices/<int:pk>/credit/", invoice_views.invoice_credit, name="invoice_credit"),
    path("sales/payments/<int:pk>/reverse/", invoice_views.payment_reverse, name="payment_reverse"),
    path("sales/receivables/", invoice_views.receivables, name="receivables"),
    path("sales/contracts/", contract_views.contract_list, name="contract_list"),
    path("sales/contracts/new/", contract_views.contract_create, name="contract_create"),
    path("sales/contracts/<int:pk>/", contract_views.contract_detail, name="contract_detail"),
    path("sales/contracts/<int:pk>/edit/", contract_views.contract_edit, name="contract_edit"),
    path(
        "sales/contracts/<int:pk>/activate/",
        contract_views.contract_activate,
        name="contract_activate",
    ),
    path(
        "sales/contracts/<int:pk>/terminate/",
        contract_views.contract_terminate,
        name="contract_terminate",
    ),
    path("sales/contracts/<int:pk>/renew/", contract_views.contract_renew, name="contract_renew"),
    path("sales/contracts/<int:pk>/files/", contract_views.contract_files, name="contract_files"),
    path("sales/contract-files/<int:pk>/", contract_views.contract_file, name="contract_file"),
]
