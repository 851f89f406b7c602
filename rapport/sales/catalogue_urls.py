"""Pages of the sales app: catalogues (see docs/sales-plan.md)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
