"""API routes of the sales app: the catalogue (see docs/sales-plan.md)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import catalogue_api

router = SimpleRouter(use_regex_path=False)
router.register("sales/products", catalogue_api.ProductViewSet, basename="api-sales-product")
router.register(
    "sales/product-categories",
    catalogue_api.ProductCategoryViewSet,
    basename="api-sales-product-category",
)
router.register("sales/tax-rates", catalogue_api.TaxRateViewSet, basename="api-sales-tax-rate")
router.register(
    "sales/price-lists", catalogue_api.PriceListViewSet, basename="api-sales-price-list"
)

urlpatterns = [
    *router.urls,
    path("sales/price/", catalogue_api.PriceLookupView.as_view(), name="api-sales-price"),
]
