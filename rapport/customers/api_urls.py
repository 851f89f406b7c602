from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter(use_regex_path=False)
router.register("accounts", api.AccountViewSet, basename="api-account")
router.register("contacts", api.ContactViewSet, basename="api-contact")

urlpatterns = router.urls
