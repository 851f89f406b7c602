"""The "Data quality" card of the account and contact 360 pages: the record's score as the
last computation found it, its four components and what lowers it (field names, never
values), with a link to the dashboard. Shown to whoever may view the record; nothing when
the record has not been scored yet."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _

from rapport.identity import policy
from rapport.identity.models import Action

from . import quality
from .models import QualityScore


def render_score(request: HttpRequest, record: Any) -> str:
    if not policy.can(request.user, Action.VIEW, record):
        return ""
    score = QualityScore.objects.filter(
        object_type=record.security_type, record_id=record.pk
    ).first()
    if score is None:
        return ""
    labels = quality.field_labels(record.security_type)
    return render_to_string(
        "dataops/_quality_panel.html",
        {
            "score": score,
            "components": [
                (_("Completeness"), score.completeness),
                (_("Validity"), score.validity),
                (_("Freshness"), score.freshness),
                (_("Duplicates"), score.duplicates),
            ],
            "reasons": [quality.reason_text(reason, labels) for reason in score.reasons or []],
            "object_type": record.security_type,
        },
        request=request,
    )


def register() -> None:
    from rapport.customers.detail_views import Panel, register_panel
    from rapport.customers.models import Account, Contact

    for model in (Account, Contact):
        register_panel(
            model.security_type,
            Panel(key="data_quality", title=_("Data quality"), render=render_score, order=300),
        )
