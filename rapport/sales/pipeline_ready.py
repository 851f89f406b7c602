"""What the pipelines and opportunities area sets up when the sales app loads: the default
pipeline and lost reasons after migrate, the "Opportunities" card of the 360 pages, search,
and the opportunity fields rule conditions filter on."""

from __future__ import annotations


def ready(app) -> None:
    from django.db.models.signals import post_migrate

    from . import opportunity_filtering, opportunity_panels, opportunity_search
    from .services import pipeline as pipeline_services

    # the default pipeline (新业务 / New business) and the usual lost reasons
    post_migrate.connect(pipeline_services.ensure_default_pipeline, sender=app)
    opportunity_panels.register()
    opportunity_search.register()
    opportunity_filtering.register()
