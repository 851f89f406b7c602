"""API routes of the sales app: catalogues (see docs/sales-plan.md)."""

from rest_framework.routers import SimpleRouter

router = SimpleRouter(use_regex_path=False)

urlpatterns = [*router.urls]
