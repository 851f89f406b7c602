"""API routes of the sales app: orders, invoices, payments, receivables and contracts (see
docs/sales-plan.md)."""

from rest_framework.routers import SimpleRouter

from . import contract_api, invoice_api, order_api

router = SimpleRouter(use_regex_path=False)
router.register("sales/orders", order_api.OrderViewSet, basename="api-sales-order")
router.register("sales/invoices", invoice_api.InvoiceViewSet, basename="api-sales-invoice")
router.register("sales/payments", invoice_api.PaymentViewSet, basename="api-sales-payment")
router.register(
    "sales/receivables", invoice_api.ReceivablesViewSet, basename="api-sales-receivables"
)
router.register("sales/contracts", contract_api.ContractViewSet, basename="api-sales-contract")

urlpatterns = [*router.urls]
