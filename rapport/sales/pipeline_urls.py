"""Pages of the sales app: pipelines (see docs/sales-plan.md)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
