from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api, interaction_api, merge_api, option_api

router = SimpleRouter(use_regex_path=False)
router.register("accounts", api.AccountViewSet, basename="api-account")
router.register("contacts", api.ContactViewSet, basename="api-contact")
router.register("interactions", interaction_api.InteractionViewSet, basename="api-interaction")
router.register("merges", merge_api.MergeViewSet, basename="api-merge")
router.register("account-options", option_api.AccountOptionViewSet, basename="api-account-option")

urlpatterns = [
    *router.urls,
    path(
        "contacts/<int:pk>/roles/",
        interaction_api.ContactRoleViewSet.as_view({"get": "list", "post": "create"}),
        name="api-contact-roles",
    ),
    path(
        "contacts/<int:pk>/consents/",
        interaction_api.ConsentViewSet.as_view({"get": "list", "post": "create"}),
        name="api-contact-consents",
    ),
    path(
        "attachments/<int:pk>/",
        interaction_api.AttachmentDownloadView.as_view(),
        name="api-attachment-download",
    ),
]
