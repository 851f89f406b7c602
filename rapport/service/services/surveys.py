"""Every write to satisfaction surveys (CSAT after a ticket is resolved, NPS now and then).

- `csat_for_ticket`: called when a ticket becomes resolved (the `ticket.status_changed`
  event, after commit). One CSAT per ticket: a ticket resolved again after a reopen asks
  nothing new, unless the first survey never went out (then it is tried again).
- `nps_send_due`: the periodic job (and `rapport survey send-nps`): contacts of customers
  who agreed to research by e-mail or SMS and were not asked within `RAPPORT_NPS_INTERVAL_DAYS`
  days, a bounded batch per run; a second run at once asks nobody twice (one survey per
  person and window, enforced by a unique constraint).
- `survey_answer`: the customer's answer from the public page. Validates the whole input,
  stores the one answer with a conditional UPDATE (two answers at once store exactly one)
  and, for a low score, opens one follow-up task (`survey_follow_up`).

The link's secret goes only into the e-mail or SMS (`rapport.core.sms`); the table keeps its
SHA-256. Consent is asked of `customers.querysets.consent_allows` (research, by e-mail, else
by SMS to a mobile number). Each write is audited (actor:
the acting user, or none for the system and the anonymous customer) and emits its events
after commit: `survey.sent`, `survey.answered`, `survey.low_score`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from rapport.core import events, sms, trail
from rapport.core.errors import PermissionDenied
from rapport.customers.models import AccountContact, Contact
from rapport.identity import policy
from rapport.identity.models import Action, User

from ..models import (
    SURVEY_COMMENT_MAX,
    SURVEY_SCALES,
    Survey,
    SurveyChannel,
    SurveyKind,
    SurveyNotSent,
    Ticket,
    TicketStatus,
)

logger = logging.getLogger(__name__)

LANGUAGES = ("zh-hans", "en")
DEFAULT_LANGUAGE = "zh-hans"
NPS_BATCH = 200


def _setting(name: str, default: int) -> int:
    """A Django setting, else the environment variable of the same name, else `default`
    (settings.py need not know about surveys; operators set the environment)."""
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name, "")
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return default


def expiry_days() -> int:
    """How long a link can be answered (`RAPPORT_SURVEY_EXPIRY_DAYS`, default 14)."""
    return _setting("RAPPORT_SURVEY_EXPIRY_DAYS", 14) or 14


def nps_interval_days() -> int:
    """Ask each person for NPS at most once in this many days (`RAPPORT_NPS_INTERVAL_DAYS`;
    0, the default, turns the periodic NPS off)."""
    return _setting("RAPPORT_NPS_INTERVAL_DAYS", 0)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(24)


def answer_url(token: str) -> str:
    return settings.SITE_URL + reverse("service:survey_answer", args=[token])


def contact_language(contact: Contact | None) -> str:
    """The contact's language when known (a `language` custom value), else zh-hans."""
    value = str(((contact.custom or {}) if contact else {}).get("language") or "").lower()
    if value.startswith("en"):
        return "en"
    return DEFAULT_LANGUAGE


def _first_email(contact: Contact) -> str:
    for address in contact.emails or []:
        address = str(address or "").strip()
        if address:
            return address
    return ""


def _payload(survey: Survey, **extra: Any) -> dict[str, Any]:
    return {
        "type": Survey.security_type,
        "id": survey.pk,
        "kind": survey.kind,
        "ticket": survey.ticket_id,
        "contact": survey.contact_id,
        **extra,
    }


def _first_mobile(contact: Contact) -> str:
    for phone in contact.phones or []:
        phone = str(phone or "").strip()
        if phone.startswith("+861") or (phone.startswith("+") and not phone.startswith("+86")):
            return phone  # a mobile number in China, or any number abroad (E.164)
    return ""


def _route(contact: Contact | None) -> tuple[str, str, str]:
    """(channel, address, "") for the way a survey reaches this contact — e-mail when they
    have an address and agreed to surveys by e-mail, else SMS when they have a mobile number
    and agreed to surveys by SMS — or ("", "", reason) when it cannot."""
    from rapport.customers.querysets import consent_allows

    if contact is None:
        return "", "", SurveyNotSent.NO_CONTACT
    if contact.anonymized_at is not None:
        return "", "", SurveyNotSent.ANONYMIZED
    email, mobile = _first_email(contact), _first_mobile(contact)
    if not email and not mobile:
        return "", "", SurveyNotSent.NO_EMAIL
    if email and consent_allows(contact, channel="email", purpose="research"):
        return SurveyChannel.EMAIL, email, ""
    if mobile and consent_allows(contact, channel="sms", purpose="research"):
        return SurveyChannel.SMS, mobile, ""
    return "", "", SurveyNotSent.NO_CONSENT


# --- sending ------------------------------------------------------------------------------


def _deliver(survey_id: int, token: str, address: str) -> None:
    """Send the link by the survey's channel (after commit: the row exists before anyone can
    follow it) and record that it went, or why not."""
    survey = Survey.objects.select_related("ticket", "contact").get(pk=survey_id)
    with translation.override(survey.language):
        context = {
            "survey": survey,
            "ticket": survey.ticket,
            "contact": survey.contact,
            "url": answer_url(token),
            "expires_at": survey.expires_at,
            "scale": survey.scale,
        }
        if survey.channel == SurveyChannel.SMS:
            text = " ".join(render_to_string("service/surveys/sms.txt", context).split())
        else:
            subject = " ".join(
                render_to_string("service/surveys/email_subject.txt", context).split()
            )
            text = render_to_string("service/surveys/email_body.txt", context)
            html = render_to_string("service/surveys/email_body.html", context)
    try:
        if survey.channel == SurveyChannel.SMS:
            sms.sms_backend().send(address, text)
        else:
            message = EmailMultiAlternatives(subject=subject, body=text, to=[address])
            message.attach_alternative(html, "text/html")
            message.send()
    except Exception:  # refused by the mail server or SMS gateway: said on the survey
        logger.exception("survey %s could not be sent", survey_id)
        with transaction.atomic():
            Survey.objects.filter(pk=survey_id, sent_at__isnull=True).update(
                not_sent_reason=SurveyNotSent.SEND_FAILED, token_hash=None
            )
            trail.record(
                actor=None,
                action="survey.not_sent",
                target=survey,
                changes={"not_sent_reason": ["", SurveyNotSent.SEND_FAILED]},
                result="failure",
            )
        return
    now = timezone.now()
    with transaction.atomic():
        Survey.objects.filter(pk=survey_id, sent_at__isnull=True).update(sent_at=now)
        trail.record(
            actor=None,
            action="survey.sent",
            target=survey,
            changes={"sent_at": [None, now.isoformat()]},
        )
        events.emit("survey.sent", _payload(survey))


def _issue(survey: Survey, *, actor: User | None, now: datetime, deliver: bool = True) -> str:
    """Inside the caller's transaction: decide whether `survey` (saved, unsent) may go out;
    either record why not, or give it a fresh link and queue the e-mail. Returns the link's
    secret ("" when not sent)."""
    contact = survey.contact
    channel, address, reason = _route(contact)
    if reason:
        survey.not_sent_reason = reason
        survey.token_hash = None
        survey.save(update_fields=["not_sent_reason", "token_hash", "updated_at"])
        trail.record(
            actor=actor,
            action="survey.not_sent",
            target=survey,
            changes={"not_sent_reason": ["", reason]},
        )
        return ""
    token = new_token()
    survey.not_sent_reason = ""
    survey.token_hash = hash_token(token)
    survey.expires_at = now + timedelta(days=expiry_days())
    survey.language = contact_language(contact)
    survey.channel = channel
    survey.save(
        update_fields=[
            "not_sent_reason",
            "token_hash",
            "expires_at",
            "language",
            "channel",
            "updated_at",
        ]
    )
    trail.record(
        actor=actor,
        action="survey.create",
        target=survey,
        changes={"kind": [None, survey.kind], "expires_at": [None, survey.expires_at.isoformat()]},
    )
    if deliver:
        transaction.on_commit(lambda: _deliver(survey.pk, token, address))
    return token


def csat_for_ticket(
    *, ticket: Ticket, actor: User | None = None, deliver: bool = True
) -> Survey | None:
    """Ask the ticket's contact how satisfied they were, once per ticket. Returns the survey
    (new, or the earlier one), or None while the ticket is not resolved."""
    now = timezone.now()
    with transaction.atomic():
        ticket = (
            Ticket.objects.select_for_update(of=("self",))
            .select_related("contact", "account")
            .filter(pk=ticket.pk)
            .first()
        )
        if ticket is None or ticket.status not in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
            return None
        survey = Survey.objects.select_for_update().filter(ticket=ticket, kind="csat").first()
        if survey is not None and survey.not_sent_reason in ("", SurveyNotSent.SEND_FAILED):
            return survey  # asked already (waiting, answered or expired) — never twice
        if survey is None:
            survey = Survey.objects.create(
                kind=SurveyKind.CSAT,
                ticket=ticket,
                contact=ticket.contact,
                account=ticket.account,
                agent_id=ticket.assignee_id,
                team_id=ticket.team_id,
                category_id=ticket.category_id,
                language=contact_language(ticket.contact),
            )
        else:  # not sent the first time (no consent, no address): try again now
            survey.contact = ticket.contact
            survey.agent_id = ticket.assignee_id
            survey.team_id = ticket.team_id
            survey.save(update_fields=["contact", "agent", "team", "updated_at"])
        _issue(survey, actor=actor, now=now, deliver=deliver)
    return survey


def on_ticket_status_changed(topic: str, payload: dict[str, Any]) -> None:
    """`ticket.status_changed` subscriber: a ticket that became resolved gets its CSAT (a
    ticket closed straight from open too, since closing resolves it)."""
    if payload.get("type") != Ticket.security_type:
        return
    if payload.get("after") not in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        return
    if payload.get("before") in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        return  # resolved → closed: asked when it was resolved
    ticket = Ticket.objects.filter(pk=payload.get("id")).first()
    if ticket is not None:
        csat_for_ticket(ticket=ticket)


def _nps_candidates(*, now: datetime, days: int):
    """Active contacts linked to a customer who agreed to research by e-mail and were not
    asked (or tried) within `days` days, oldest first."""
    from rapport.customers.querysets import contactable

    recent = Survey.objects.filter(
        contact=OuterRef("pk"), kind=SurveyKind.NPS, created_at__gte=now - timedelta(days=days)
    )
    linked = AccountContact.objects.filter(contact=OuterRef("pk"))
    contacts = Contact.objects.filter(is_active=True, anonymized_at__isnull=True).filter(
        Exists(linked)
    )
    reachable = Q(pk__in=contactable(contacts, channel="email", purpose="research")) | Q(
        pk__in=contactable(contacts, channel="sms", purpose="research")
    )
    return contacts.filter(reachable).exclude(Exists(recent))


def nps_send_due(
    *,
    actor: User | None = None,
    limit: int | None = None,
    days: int | None = None,
    now: datetime | None = None,
    deliver: bool = True,
) -> dict[str, int]:
    """Send NPS surveys to the contacts due one (see the module's doc); returns counts
    (`sent`, `not_sent`, `skipped`). With no `days` it follows `RAPPORT_NPS_INTERVAL_DAYS`
    and does nothing while that is 0. An actor (the CLI) needs `manage` on surveys."""
    if actor is not None and not policy.has_grant(actor, Survey.security_type, Action.MANAGE):
        raise PermissionDenied()
    days = nps_interval_days() if days is None else days
    counts = {"sent": 0, "not_sent": 0, "skipped": 0}
    if days <= 0:
        return counts
    now = now or timezone.now()
    limit = NPS_BATCH if limit is None else max(0, min(limit, 10_000))
    period = str(int(now.timestamp() // 86400) // days)
    candidates = list(
        _nps_candidates(now=now, days=days).order_by("id").values_list("pk", flat=True)[:limit]
    )
    owners = {}
    for contact_id, account_id, owner_id in (
        AccountContact.objects.filter(contact_id__in=candidates)
        .order_by("id")
        .values_list("contact_id", "account_id", "account__owner_id")
    ):
        owners.setdefault(contact_id, (account_id, owner_id))
    for contact in Contact.objects.filter(pk__in=candidates).order_by("id"):
        account_id, owner_id = owners.get(contact.pk, (None, None))
        try:
            with transaction.atomic():
                survey = Survey.objects.create(
                    kind=SurveyKind.NPS,
                    contact=contact,
                    account_id=account_id,
                    agent_id=owner_id,
                    period=period,
                    language=contact_language(contact),
                )
                token = _issue(survey, actor=actor, now=now, deliver=deliver)
        except IntegrityError:  # another run asked them in this window at the same moment
            counts["skipped"] += 1
            continue
        counts["sent" if token else "not_sent"] += 1
    return counts


# --- answering ----------------------------------------------------------------------------


class SurveyLinkError(Exception):
    """The link cannot be answered: `code` is invalid, expired or answered."""

    def __init__(self, code: str, survey: Survey | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.survey = survey


def survey_for_token(token: str, *, now: datetime | None = None) -> Survey:
    """The survey behind a link, or SurveyLinkError (invalid, expired, answered)."""
    token = str(token or "")
    if not 16 <= len(token) <= 100:
        raise SurveyLinkError("invalid")
    survey = (
        Survey.objects.select_related("ticket", "contact")
        .filter(token_hash=hash_token(token))
        .first()
    )
    if survey is None or survey.sent_at is None and survey.not_sent_reason:
        raise SurveyLinkError("invalid")
    if survey.answered_at is not None:
        raise SurveyLinkError("answered", survey)
    if survey.is_expired(now):
        raise SurveyLinkError("expired", survey)
    return survey


def _clean_answer(survey: Survey, score: Any, comment: Any) -> tuple[int, str]:
    low, high = SURVEY_SCALES[SurveyKind(survey.kind)]
    errors: dict[str, list[ValidationError]] = {}
    number: int | None = None
    text = str(score if score is not None else "").strip()
    if not text:
        errors["score"] = [ValidationError(_("Choose a score."), code="required")]
    else:
        try:
            number = int(text)
        except (TypeError, ValueError):
            number = None
        if number is None or not low <= number <= high:
            errors["score"] = [
                ValidationError(
                    _("Choose a whole number from %(low)d to %(high)d.")
                    % {"low": low, "high": high},
                    code="out_of_range",
                )
            ]
    comment = str(comment or "").replace("\x00", "").strip()
    if len(comment) > SURVEY_COMMENT_MAX:
        errors["comment"] = [
            ValidationError(
                _("At most %(n)d characters.") % {"n": SURVEY_COMMENT_MAX}, code="max_length"
            )
        ]
    if errors:
        raise ValidationError(errors)
    assert number is not None
    return number, comment


def survey_answer(*, token: str, score: Any, comment: Any = "") -> Survey:
    """Store the customer's answer: all or nothing, once. Raises SurveyLinkError for a link
    that is not valid, expired or answered already (nothing changes), ValidationError
    naming the field for a bad score or comment (nothing stored). A low score (CSAT ≤ 2,
    NPS ≤ 6) emits `survey.low_score` and opens one follow-up task after commit."""
    survey = survey_for_token(token)
    number, comment = _clean_answer(survey, score, comment)
    now = timezone.now()
    with transaction.atomic():
        # Conditional update: of two answers at once exactly one finds the row unanswered.
        stored = Survey.objects.filter(
            pk=survey.pk, answered_at__isnull=True, expires_at__gt=now
        ).update(answered_at=now, score=number, comment=comment, updated_at=now)
        if not stored:
            survey.refresh_from_db()
            raise SurveyLinkError("answered" if survey.answered_at else "expired", survey)
        survey.answered_at, survey.score, survey.comment = now, number, comment
        trail.record(
            actor=None,
            action="survey.answer",
            target=survey,
            changes={"score": [None, number], "comment": ["", comment] if comment else None}
            if comment
            else {"score": [None, number]},
        )
        events.emit("survey.answered", _payload(survey, score=number))
        if survey.is_low:
            events.emit("survey.low_score", _payload(survey, score=number))
            survey_id = survey.pk
            transaction.on_commit(lambda: survey_follow_up(survey_id=survey_id))
    return survey


def survey_follow_up(*, survey_id: int) -> Survey | None:
    """For a low score, one follow-up task for whoever had the ticket (else the account's
    owner) about the customer. Idempotent: a survey gets at most one. When nobody can take
    it (no agent, no owner, not allowed) the survey is marked done without a task and the
    reason is logged."""
    from rapport.customers.services import task_create

    with transaction.atomic():
        survey = (
            Survey.objects.select_for_update(of=("self",))
            .select_related("ticket", "ticket__assignee", "account", "account__owner", "contact")
            .filter(pk=survey_id)
            .first()
        )
        if survey is None or survey.follow_up_done or not survey.is_low:
            return survey
        assignee = (survey.ticket.assignee if survey.ticket else None) or survey.agent
        if assignee is None and survey.account is not None:
            assignee = survey.account.owner
        task = None
        if assignee is not None and assignee.is_active:
            low, high = survey.scale
            with translation.override(assignee.language or settings.LANGUAGE_CODE):
                if survey.ticket is not None:
                    subject = _("Low satisfaction on ticket %(number)s: %(score)d of %(high)d") % {
                        "number": survey.ticket.number,
                        "score": survey.score,
                        "high": high,
                    }
                else:
                    subject = _("Low NPS answer: %(score)d of %(high)d") % {
                        "score": survey.score,
                        "high": high,
                    }
            about: dict[str, Any] = {}
            if survey.contact is not None and survey.contact.anonymized_at is None:
                about["contact"] = survey.contact
            if survey.account is not None:
                about["account"] = survey.account
            try:
                with transaction.atomic():
                    task = task_create(
                        actor=assignee,
                        assignee=assignee,
                        subject=subject[:200],
                        body=survey.comment,
                        due_at=timezone.now() + timedelta(days=2),
                        **about,
                    )
            except (PermissionDenied, ValidationError):
                logger.warning(
                    "no follow-up task for survey %s: %s may not add it", survey.pk, assignee
                )
                task = None
        survey.follow_up = task
        survey.follow_up_done = True
        survey.save(update_fields=["follow_up", "follow_up_done", "updated_at"])
        trail.record(
            actor=None,
            action="survey.follow_up",
            target=survey,
            changes={"follow_up": [None, task.pk if task else None]},
        )
    return survey


# --- privacy ------------------------------------------------------------------------------


def surveys_redact(*, actor: User | None, contact_id: int) -> int:
    """An erasure: drop the comments the person wrote (scores stay, for the aggregates) and
    any link still open. Called by the data-subject request's erasure, which checked its own
    grants; each survey changed is audited as `redact`. Returns how many changed."""
    changed = 0
    with transaction.atomic():
        for survey in Survey.objects.select_for_update().filter(contact_id=contact_id):
            fields = []
            if survey.comment:
                survey.comment = ""
                fields.append("comment")
            if survey.token_hash:
                survey.token_hash = None
                fields.append("token_hash")
            if not fields:
                continue
            survey.save(update_fields=[*fields, "updated_at"])
            trail.record(actor=actor, action="redact", target=survey, extra={"fields": fields})
            changed += 1
    return changed


def survey_rows_for_contacts(contact_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The access bundle's part: each person's surveys and answers, plain values."""
    rows: dict[int, list[dict[str, Any]]] = {pk: [] for pk in contact_ids}
    for survey in (
        Survey.objects.filter(contact_id__in=contact_ids)
        .select_related("ticket")
        .order_by("created_at", "id")
    ):
        rows[survey.contact_id].append(
            {
                "kind": survey.get_kind_display(),
                "ticket": survey.ticket.number if survey.ticket else "",
                "sent_at": survey.sent_at.isoformat() if survey.sent_at else None,
                "not_sent_reason": survey.get_not_sent_reason_display()
                if survey.not_sent_reason
                else "",
                "answered_at": survey.answered_at.isoformat() if survey.answered_at else None,
                "score": survey.score,
                "comment": survey.comment,
            }
        )
    return rows


# --- demo ---------------------------------------------------------------------------------


def survey_record_demo_answer(
    *, survey: Survey, score: int, comment: str = "", sent_at: datetime, answered_at=None
) -> Survey:
    """Demo data only: mark a survey as sent at `sent_at` and (when given) answered, through
    the same validation and audit as a real answer; no e-mail leaves."""
    number, comment = _clean_answer(survey, score, comment)
    if _route(survey.contact)[2]:
        return survey  # never pretend a survey reached someone who may not get one
    with transaction.atomic():
        Survey.objects.filter(pk=survey.pk).update(
            sent_at=sent_at,
            expires_at=sent_at + timedelta(days=expiry_days()),
            not_sent_reason="",
            answered_at=answered_at,
            score=number if answered_at else None,
            comment=comment if answered_at else "",
        )
        survey.refresh_from_db()
        trail.record(
            actor=None,
            action="survey.answer" if answered_at else "survey.sent",
            target=survey,
            changes={"score": [None, survey.score]},
            extra={"demo": True},
        )
    return survey
