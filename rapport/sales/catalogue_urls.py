"""Pages of the sales app: the catalogue (see docs/sales-plan.md)."""

from django.urls import path

from . import catalogue_views

urlpatterns = [
    path("sales/products/", catalogue_views.product_list, name="product_list"),
    path("sales/products/lookup/", catalogue_views.product_lookup, name="product_lookup"),
    path("sales/products/new/", catalogue_views.product_create, name="product_create"),
    path("sales/products/<int:pk>/", catalogue_views.product_detail, name="product_detail"),
    path("sales/products/<int:pk>/edit/", catalogue_views.product_edit, name="product_edit"),
    path("sales/products/<int:pk>/retire/", catalogue_views.product_retire, name="product_retire"),
    path("sales/price-lists/", catalogue_views.price_list_list, name="price_list_list"),
    path("sales/price-lists/<int:pk>/", catalogue_views.price_list_edit, name="price_list_edit"),
    path("admin/product-categories/", catalogue_views.category_list, name="product_category_list"),
    path(
        "admin/product-categories/<int:pk>/",
        catalogue_views.category_edit,
        name="product_category_edit",
    ),
    path("admin/tax-rates/", catalogue_views.tax_rate_list, name="tax_rate_list"),
]
