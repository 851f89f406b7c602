"""Pages of the sales app: the sales dashboard, the forecast and the targets grid (see
docs/sales-plan.md)."""

from django.urls import path

from . import dashboard_views, target_views

urlpatterns = [
    path("sales/", dashboard_views.sales_dashboard, name="dashboard"),
    path("sales/dashboard/", dashboard_views.sales_dashboard, name="dashboard_page"),
    path("sales/forecast/", dashboard_views.forecast_page, name="forecast"),
    path("sales/reports/pipeline/", dashboard_views.pipeline_report_page, name="pipeline_report"),
    path("sales/targets/", target_views.target_grid, name="target_grid"),
    path("sales/targets/cell/", target_views.target_cell, name="target_cell"),
]
