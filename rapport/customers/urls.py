from django.urls import path

from . import views

app_name = "customers"

# Under /customers/: allauth owns /accounts/.
urlpatterns = [
    path("customers/accounts/", views.account_list, name="account_list"),
    path("customers/accounts/new/", views.account_create, name="account_create"),
    path("customers/accounts/lookup/", views.account_lookup, name="account_lookup"),
    path("customers/accounts/<int:pk>/", views.account_detail, name="account_detail"),
    path("customers/accounts/<int:pk>/history/", views.account_history, name="account_history"),
    path("customers/accounts/<int:pk>/edit/", views.account_edit, name="account_edit"),
    path(
        "customers/accounts/<int:pk>/deactivate/",
        views.account_deactivate,
        name="account_deactivate",
    ),
    path(
        "customers/accounts/<int:pk>/reactivate/",
        views.account_reactivate,
        name="account_reactivate",
    ),
    path("customers/contacts/", views.contact_list, name="contact_list"),
    path("customers/contacts/new/", views.contact_create, name="contact_create"),
    path("customers/contacts/<int:pk>/", views.contact_detail, name="contact_detail"),
    path("customers/contacts/<int:pk>/history/", views.contact_history, name="contact_history"),
    path("customers/contacts/<int:pk>/edit/", views.contact_edit, name="contact_edit"),
    path(
        "customers/contacts/<int:pk>/deactivate/",
        views.contact_deactivate,
        name="contact_deactivate",
    ),
    path(
        "customers/contacts/<int:pk>/reactivate/",
        views.contact_reactivate,
        name="contact_reactivate",
    ),
]
