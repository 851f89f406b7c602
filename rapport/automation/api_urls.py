from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter(use_regex_path=False)
router.register("automation/rules", api.RuleViewSet, basename="api-automation-rule")
router.register("automation/runs", api.RuleRunViewSet, basename="api-automation-run")

urlpatterns = router.urls
