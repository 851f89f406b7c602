from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter(use_regex_path=False)
router.register("users", api.UserViewSet, basename="api-user")
router.register("departments", api.DepartmentViewSet, basename="api-department")
router.register("teams", api.TeamViewSet, basename="api-team")
router.register("roles", api.RoleViewSet, basename="api-role")
router.register("account-requests", api.AccountRequestViewSet, basename="api-account-request")
router.register("me/tokens", api.MyTokenViewSet, basename="api-my-token")
router.register("me/sessions", api.MySessionViewSet, basename="api-my-session")
router.register("shares", api.ShareViewSet, basename="api-share")
router.register("tags", api.TagViewSet, basename="api-tag")
router.register("views", api.SavedViewViewSet, basename="api-saved-view")
router.register("custom-fields", api.CustomFieldViewSet, basename="api-custom-field")

urlpatterns = [
    path("auth/token/", api.TokenView.as_view(), name="api-token"),
    path("me/", api.MeView.as_view(), name="api-me"),
    *router.urls,
]
