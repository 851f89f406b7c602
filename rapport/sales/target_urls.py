"""Pages of the sales app: targets (see docs/sales-plan.md)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
