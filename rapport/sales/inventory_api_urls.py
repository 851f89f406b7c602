"""API routes of the sales app: inventory (see docs/sales-plan.md)."""

from rest_framework.routers import SimpleRouter

from . import inventory_api

router = SimpleRouter(use_regex_path=False)
router.register("sales/warehouses", inventory_api.WarehouseViewSet, basename="api-sales-warehouse")
router.register("sales/stock", inventory_api.StockLevelViewSet, basename="api-sales-stock")
router.register(
    "sales/stock-movements",
    inventory_api.StockMovementViewSet,
    basename="api-sales-stock-movement",
)

urlpatterns = [*router.urls]
