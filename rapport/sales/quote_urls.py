"""Pages of the sales app: quotes (see docs/sales-plan.md)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
