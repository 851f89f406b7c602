"""Pages of the sales app: orders (see docs/sales-plan.md)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
