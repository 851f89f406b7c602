"""Pages of the sales app: quotes and the sales settings (see docs/sales-plan.md)."""

from django.urls import URLPattern, path

from . import quote_views, settings_views

urlpatterns: list[URLPattern] = [
    path("sales/quotes/", quote_views.quote_list, name="quote_list"),
    path("sales/quotes/new/", quote_views.quote_create, name="quote_create"),
    path("sales/quotes/line/", quote_views.quote_line_row, name="quote_line_row"),
    path("sales/quotes/totals/", quote_views.quote_totals, name="quote_totals"),
    path("sales/quotes/<int:pk>/", quote_views.quote_detail, name="quote_detail"),
    path("sales/quotes/<int:pk>/edit/", quote_views.quote_edit, name="quote_edit"),
    path("sales/quotes/<int:pk>/submit/", quote_views.quote_submit, name="quote_submit"),
    path("sales/quotes/<int:pk>/send/", quote_views.quote_send, name="quote_send"),
    path("sales/quotes/<int:pk>/accept/", quote_views.quote_accept, name="quote_accept"),
    path("sales/quotes/<int:pk>/decline/", quote_views.quote_decline, name="quote_decline"),
    path(
        "sales/quotes/<int:pk>/new-version/",
        quote_views.quote_new_version,
        name="quote_new_version",
    ),
    path("sales/quotes/<int:pk>/pdf/", quote_views.quote_pdf_download, name="quote_pdf"),
    path("sales/settings/", settings_views.sales_settings, name="sales_settings"),
]
