"""The sales app's pages, one module per area (docs/sales-plan.md)."""

from . import (
    catalogue_urls,
    inventory_urls,
    lead_urls,
    order_urls,
    pipeline_urls,
    quote_urls,
    target_urls,
)

app_name = "sales"

urlpatterns = [
    *lead_urls.urlpatterns,
    *pipeline_urls.urlpatterns,
    *catalogue_urls.urlpatterns,
    *inventory_urls.urlpatterns,
    *quote_urls.urlpatterns,
    *order_urls.urlpatterns,
    *target_urls.urlpatterns,
]
