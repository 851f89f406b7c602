"""API routes of the sales app: orders, invoices, payments, receivables and contracts (see
docs/sales-plan.md)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import contract_api, invoice_api, order_api

router = SimpleRouter(use_regex_path=False)
router.register("sales/orders", order_api.OrderViewSet, basename="api-sales-order")
router.register("sales/invoices", invoice_api.InvoiceViewSet, basename="api-sales-invoice")
router.register("sales/payments", invoice_api.PaymentViewSet, basename="api-sales-payment")
router.register("sales/contracts", contract_api.ContractViewSet, basename="api-sales-contract")

urlpatterns = [
    *router.urls,
    path("sales/receivables/", invoice_api.ReceivablesView.as_view(), name="api-sales-receivables"),
]
