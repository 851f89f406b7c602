"""The sales API, one module per area (docs/sales-plan.md)."""

from . import (
    catalogue_api_urls,
    inventory_api_urls,
    lead_api_urls,
    order_api_urls,
    pipeline_api_urls,
    quote_api_urls,
    target_api_urls,
)

urlpatterns = [
    *lead_api_urls.urlpatterns,
    *pipeline_api_urls.urlpatterns,
    *catalogue_api_urls.urlpatterns,
    *inventory_api_urls.urlpatterns,
    *quote_api_urls.urlpatterns,
    *order_api_urls.urlpatterns,
    *target_api_urls.urlpatterns,
]
