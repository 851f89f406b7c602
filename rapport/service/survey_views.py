"""Survey pages: the customer's public answer page (`/s/<token>/`, no login) and the
satisfaction dashboard (`/service/satisfaction/`) for the people who may see surveys."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods

from rapport.identity import policy
from rapport.identity.models import Action

from . import satisfaction
from .models import SURVEY_COMMENT_MAX, Survey, SurveyKind
from .services import surveys as survey_services
from .services.surveys import LANGUAGES, SurveyLinkError

LINK_STATUS = {"invalid": 404, "expired": 410, "answered": 200}


def _language(request: HttpRequest, survey: Survey | None) -> str:
    asked = request.GET.get("lang", "")
    if asked in LANGUAGES:
        return asked
    if survey is not None and survey.language in LANGUAGES:
        return survey.language
    return translation.get_language() if translation.get_language() in LANGUAGES else "zh-hans"


def _choices(survey: Survey) -> list[int]:
    low, high = survey.scale
    return list(range(low, high + 1))


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def survey_answer(request: HttpRequest, token: str) -> HttpResponse:
    """The survey behind a link: its one question, answered once, before it expires. A link
    that is not valid, expired or answered already gets its own page and changes nothing."""
    try:
        survey = survey_services.survey_for_token(token)
    except SurveyLinkError as refusal:
        language = _language(request, refusal.survey)
        with translation.override(language):
            return render(
                request,
                "service/surveys/answer.html",
                {
                    "state": refusal.code,
                    "survey": refusal.survey,
                    "language": language,
                    "thanks": request.GET.get("done") == "1",
                },
                status=LINK_STATUS[refusal.code],
            )
    language = _language(request, survey)
    errors: dict[str, list[str]] = {}
    values = {"score": "", "comment": ""}
    if request.method == "POST":
        values = {
            "score": request.POST.get("score", ""),
            "comment": request.POST.get("comment", ""),
        }
        try:
            survey_services.survey_answer(
                token=token, score=values["score"], comment=values["comment"]
            )
        except SurveyLinkError as refusal:
            with translation.override(language):
                return render(
                    request,
                    "service/surveys/answer.html",
                    {"state": refusal.code, "survey": refusal.survey, "language": language},
                    status=LINK_STATUS[refusal.code],
                )
        except ValidationError as error:
            with translation.override(language):
                errors = {name: list(messages) for name, messages in error.message_dict.items()}
        else:
            return redirect(f"{request.path}?lang={language}&done=1")
    with translation.override(language):
        return render(
            request,
            "service/surveys/answer.html",
            {
                "state": "open",
                "survey": survey,
                "ticket": survey.ticket,
                "language": language,
                "choices": _choices(survey),
                "values": values,
                "errors": errors,
                "comment_max": SURVEY_COMMENT_MAX,
                "is_csat": survey.kind == SurveyKind.CSAT,
            },
            status=400 if errors else 200,
        )


@login_required
def satisfaction_dashboard(request: HttpRequest) -> HttpResponse:
    """CSAT %, NPS and response rate over the surveys the user may see, the last twelve
    months' trend, and CSAT by queue, agent and category (grouped queries only)."""
    user = request.user
    if not policy.has_grant(user, Survey.security_type, Action.VIEW):
        raise PermissionDenied
    period = request.GET.get("period", satisfaction.DEFAULT_PERIOD)
    if period not in satisfaction.PERIODS:
        period = satisfaction.DEFAULT_PERIOD
    surveys = satisfaction.visible(user).filter(sent_at__isnull=False)
    start = satisfaction.since(period)
    in_period = surveys.filter(sent_at__gte=start) if start is not None else surveys
    return render(
        request,
        "service/surveys/dashboard.html",
        {
            "period": period,
            "periods": [
                ("30", translation.gettext("Last 30 days")),
                ("90", translation.gettext("Last 90 days")),
                ("365", translation.gettext("Last 12 months")),
                ("all", translation.gettext("All time")),
            ],
            "summary": satisfaction.summary(in_period),
            "months": satisfaction.by_month(surveys),
            "teams": satisfaction.by_team(in_period),
            "agents": satisfaction.by_agent(in_period),
            "categories": satisfaction.by_category(in_period),
            "latest": list(
                in_period.filter(answered_at__isnull=False)
                .select_related("ticket", "contact")
                .order_by("-answered_at", "-id")[:10]
            ),
        },
    )
