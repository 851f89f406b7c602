"""Pages of the sales app: inventory (see docs/sales-plan.md)."""

from django.urls import path

from . import inventory_views

urlpatterns = [
    path("sales/stock/", inventory_views.stock_list, name="stock_list"),
    path("sales/stock/movements/", inventory_views.movement_list, name="movement_list"),
    path("sales/stock/<slug:kind>/", inventory_views.stock_move, name="stock_move"),
    path("admin/warehouses/", inventory_views.warehouse_list, name="warehouse_list"),
]
