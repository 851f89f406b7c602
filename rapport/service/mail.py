"""Tickets by e-mail: customers write to the service mailbox and agents' replies go back to
them.

Incoming: a raw RFC 5322 message (from the raw-message endpoint, the CLI or the IMAP poller)
is parsed (`parse`), then `receive` either threads it onto a ticket — by the Message-IDs it
answers (In-Reply-To / References) or by the ticket number in the subject when the sender is
the ticket's contact — or opens a new ticket in the inbox queue for the contact matched by
the sender's address (created when new). The same e-mail delivered twice is stored once (the
inbound Message-ID is unique). HTML bodies become plain text (scripts, styles and markup
dropped; nothing of the customer's HTML is ever rendered), quoted history below the answer is
cut, attachments are checked like any upload and kept up to the attachment limit — a larger
or unacceptable one is dropped and the message says so. Automatic replies (out-of-office,
bounces, lists) are ignored, so two robots cannot mail each other forever.

Outgoing: a reply to the customer is e-mailed after its transaction commits to the address
the customer last wrote from (or the contact's first address), wrapped in a short bilingual
template with the ticket number in the subject, threaded on the customer's last e-mail. A
contact who withdrew e-mail consent for service is not written to: the reply is refused
before anything is stored. A reply that cannot go out (no address, the mail server refused
it) is kept on the ticket with the reason shown.

E-mails are taken in as the intake system actor (`rapport.service.intake`) through the
ticket and contact services, so permissions, validation and audit apply as for a person.
"""

from __future__ import annotations

import email
import email.policy
import imaplib
import logging
import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr
from functools import partial
from html.parser import HTMLParser
from io import BytesIO
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import InMemoryUploadedFile
from django.core.mail import EmailMessage as DjangoEmailMessage
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from . import intake
from .models import MessageKind, Ticket, TicketMessage, TicketStatus

logger = logging.getLogger(__name__)


MAX_TEXT = 100_000
_NUMBER_IN_SUBJECT = re.compile(r"\[#(\d{1,12})\]")
_REPLY_PREFIX = re.compile(r"^\s*((re|fw|fwd|回复|答复|转发)\s*[:：]\s*)+", re.IGNORECASE)
# Lines where quoted history starts: "On … wrote:", "在 … 写道：", Outlook's separators and
# quoted headers.
_QUOTE_START = re.compile(
    r"^\s*(-{2,}\s*(original message|原始邮件|原始郵件)\s*-{2,}"
    r"|on\s.{1,200}\swrote:\s*$"
    r"|在\s?.{1,200}(写道|寫道)\s*[:：]?\s*$"
    r"|(from|发件人|寄件者)\s*[:：]\s*.+@.+$)",
    re.IGNORECASE,
)
_BLOCK_TAGS = {
    "p",
    "div",
    "br",
    "li",
    "tr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "pre",
    "table",
    "ul",
    "ol",
    "hr",
}
_SKIP_TAGS = {"script", "style", "head", "title", "template", "noscript", "iframe", "object"}


# --- parsing ---------------------------------------------------------------------------------


class _TextExtractor(HTMLParser):
    """HTML → plain text: text content only, line breaks at block elements, links' addresses
    kept beside their text; scripts, styles and everything else dropped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.quote_depth = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in _SKIP_TAGS:
            self.skipping += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")
        if tag == "blockquote":
            self.quote_depth += 1
        if tag == "a" and not self.skipping:
            href = dict(attrs).get("href") or ""
            if href.startswith(("http://", "https://")):
                self._href = href
            else:
                self._href = ""

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")
        if tag == "blockquote":
            self.quote_depth = max(0, self.quote_depth - 1)
        if tag == "a" and getattr(self, "_href", ""):
            self.parts.append(f" ({self._href})")
            self._href = ""

    def handle_data(self, data: str) -> None:
        if not self.skipping and not self.quote_depth:
            self.parts.append(data)

    def text(self) -> str:
        lines = [" ".join(line.split()) for line in "".join(self.parts).splitlines()]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def html_to_text(html: str) -> str:
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    return extractor.text()


def strip_quoted(text: str) -> str:
    """The new part of an answer: what comes before the quoted history (and without trailing
    "> " lines). The whole text when nothing would be left."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if index and _QUOTE_START.match(line):
            lines = lines[:index]
            break
    while lines and (lines[-1].startswith(">") or not lines[-1].strip()):
        lines.pop()
    kept = "\n".join(lines).strip()
    return kept or text.strip()


@dataclass
class Part:
    name: str
    content: bytes
    size: int


@dataclass
class Inbound:
    message_id: str
    sender: str
    sender_name: str
    subject: str
    text: str
    answers: list[str] = field(default_factory=list)  # Message-IDs it replies to
    attachments: list[Part] = field(default_factory=list)
    automatic: bool = False


def _ids(value: str | None) -> list[str]:
    return re.findall(r"<[^<>\s]{1,250}>", value or "")


def parse(raw: bytes) -> Inbound:
    """Read a raw e-mail. A message without a sender, or larger than the mailbox allows, is
    refused with a ValidationError naming why."""
    if len(raw) > settings.SERVICE_MAIL_MAX_BYTES:
        raise ValidationError(
            {
                "message": ValidationError(
                    _("The e-mail is larger than %(mb)d MB.")
                    % {"mb": settings.SERVICE_MAIL_MAX_BYTES // 1048576},
                    code="too_large",
                )
            }
        )
    message = email.message_from_bytes(raw, policy=email.policy.default)
    name, address = parseaddr(str(message.get("From", "")))
    address = address.strip()
    if "@" not in address:
        raise ValidationError(
            {"message": ValidationError(_("The e-mail has no sender address."), "no_sender")}
        )
    message_id = (_ids(str(message.get("Message-ID", ""))) or [""])[0]
    if not message_id:  # some mailers leave it out: the content decides what "the same" is
        import hashlib

        message_id = f"<{hashlib.sha256(raw).hexdigest()}@rapport.no-message-id>"
    automatic = (
        str(message.get("Auto-Submitted", "no")).strip().lower() != "no"
        or str(message.get("Precedence", "")).strip().lower() in ("bulk", "junk", "list")
        or message.get("X-Autoreply") is not None
        or message.get("X-Autorespond") is not None
        or message.get("List-Id") is not None
        or message.get_content_type() == "multipart/report"
        or address.lower().startswith(("mailer-daemon@", "postmaster@"))
    )
    text = ""
    plain = message.get_body(preferencelist=("plain",))
    if plain is not None:
        text = _content(plain)
    else:
        html = message.get_body(preferencelist=("html",))
        if html is not None:
            text = html_to_text(_content(html))
    attachments = []
    for part in message.iter_attachments():
        content = part.get_payload(decode=True) or b""
        filename = part.get_filename() or _("attachment")
        attachments.append(
            Part(name=PurePath(str(filename)).name[:255], content=content, size=len(content))
        )
    subject = " ".join(str(message.get("Subject", "")).split())
    return Inbound(
        message_id=message_id[:255],
        sender=address,
        sender_name=" ".join(name.split()),
        subject=subject,
        text=text.replace("\r\n", "\n"),
        answers=_ids(str(message.get("In-Reply-To", "")))
        + _ids(str(message.get("References", ""))),
        attachments=attachments,
        automatic=automatic,
    )


def _content(part) -> str:
    try:
        return part.get_content()
    except (LookupError, UnicodeDecodeError):  # an unknown or lying charset
        payload = part.get_payload(decode=True) or b""
        for charset in ("utf-8", "gb18030"):
            try:
                return payload.decode(charset)
            except UnicodeDecodeError:
                continue
        return payload.decode("utf-8", errors="replace")


# --- receiving -------------------------------------------------------------------------------


@dataclass
class Received:
    ticket: Ticket | None = None
    message: TicketMessage | None = None
    created: bool = False  # a new ticket
    duplicate: bool = False  # this e-mail was received before
    ignored: str = ""  # why nothing was stored (an automatic reply, our own mail)
    dropped: list[str] = field(default_factory=list)  # attachments not kept, with why

    def as_dict(self) -> dict[str, Any]:
        return {
            "ticket": self.ticket.pk if self.ticket else None,
            "message": self.message.pk if self.message else None,
            "created": self.created,
            "duplicate": self.duplicate,
            "ignored": self.ignored,
            "dropped": self.dropped,
        }


def _thread(inbound: Inbound) -> Ticket | None:
    """The ticket this e-mail answers, if any."""
    if inbound.answers:
        earlier = (
            TicketMessage.objects.filter(email_message_id__in=inbound.answers[:50])
            .select_related("ticket")
            .order_by("-id")
            .first()
        )
        if earlier is not None:
            return earlier.ticket
    match = _NUMBER_IN_SUBJECT.search(inbound.subject)
    if match:
        ticket = Ticket.objects.select_related("contact").filter(pk=int(match.group(1))).first()
        if ticket is not None and ticket.contact is not None:
            sender = inbound.sender.lower()
            if any(str(address).lower() == sender for address in ticket.contact.emails or []):
                return ticket
    return None


def _body(inbound: Inbound, *, threaded: bool, dropped: list[str]) -> str:
    text = strip_quoted(inbound.text) if threaded else inbound.text.strip()
    if not text:
        text = _("(The e-mail had no text.)")
    if dropped:
        text += "\n\n" + _("Attachments not kept:") + "\n" + "\n".join(f"- {d}" for d in dropped)
    if len(text) > MAX_TEXT:
        text = text[: MAX_TEXT - 100] + "\n\n" + _("(The rest of the e-mail was cut.)")
    return text


def _check_attachments(inbound: Inbound) -> tuple[list[tuple], list[str]]:
    """(uploads to keep as (upload, content type, sha256), notes on those dropped)."""
    from rapport.customers.services.attachments import MAX_FILES, check_upload

    kept: list[tuple] = []
    dropped: list[str] = []
    for part in inbound.attachments:
        if len(kept) >= MAX_FILES:
            dropped.append(
                _("“%(name)s”: more than %(n)d attachments.") % {"name": part.name, "n": MAX_FILES}
            )
            continue
        if part.size > settings.ATTACHMENT_MAX_BYTES:  # before wrapping it as an upload
            dropped.append(
                _("“%(name)s” is larger than %(mb)d MB.")
                % {"name": part.name, "mb": settings.ATTACHMENT_MAX_BYTES // 1048576}
            )
            continue
        upload = InMemoryUploadedFile(
            BytesIO(part.content), "file", part.name, "application/octet-stream", part.size, None
        )
        try:
            content_type, sha256 = check_upload(upload)
        except ValidationError as error:
            dropped.append(" ".join(error.messages))
            continue
        kept.append((upload, content_type, sha256))
    return kept, dropped


def receive(raw: bytes) -> Received:
    """Store one incoming e-mail: a reply on its ticket or a new ticket. Idempotent: the same
    e-mail again returns what it made the first time (`duplicate`). Raises ValidationError
    for an e-mail that cannot be read (no sender, too large)."""
    from .services import tickets as ticket_services

    inbound = parse(raw)
    mailbox_addresses = {
        parseaddr(address)[1].lower()
        for address in (settings.SERVICE_MAILBOX, settings.DEFAULT_FROM_EMAIL)
    }
    if inbound.sender.lower() in mailbox_addresses:
        return Received(ignored="own_mail")
    if inbound.automatic:
        return Received(ignored="automatic")
    earlier = _earlier(inbound.message_id)
    if earlier is not None:
        return Received(ticket=earlier.ticket, message=earlier, duplicate=True)
    actor = intake.INTAKE.get()
    kept, dropped = _check_attachments(inbound)
    try:
        with transaction.atomic():
            ticket = _thread(inbound)
            parent = None
            if ticket is not None and ticket.status == TicketStatus.CLOSED:
                parent, ticket = ticket, None  # a closed ticket stays closed: a new one follows
            created = ticket is None
            if created:
                team = intake.inbox_team()
                contact = intake.contact_for(
                    actor, email=inbound.sender, name=inbound.sender_name, team=team
                )
                subject = _REPLY_PREFIX.sub("", _NUMBER_IN_SUBJECT.sub("", inbound.subject))
                ticket = ticket_services.ticket_create(
                    actor=actor,
                    subject=" ".join(subject.split())[:300] or _("(no subject)"),
                    description="",
                    channel="email",
                    contact=contact,
                    team=team,
                    parent=parent,
                    language=_language(f"{inbound.subject} {inbound.text}"),
                )
            message = ticket_services.ticket_message_receive(
                actor=actor,
                ticket=ticket,
                body=_body(inbound, threaded=not created, dropped=dropped),
                email_message_id=inbound.message_id,
                email_address=inbound.sender,
                attachments=kept,
            )
            if created:
                transaction.on_commit(
                    partial(acknowledgement_send, ticket_id=ticket.pk, to=inbound.sender),
                    robust=True,
                )
    except IntegrityError:  # the same e-mail stored meanwhile by another worker
        earlier = _earlier(inbound.message_id)
        if earlier is None:
            raise
        return Received(ticket=earlier.ticket, message=earlier, duplicate=True)
    return Received(ticket=ticket, message=message, created=created, dropped=dropped)


def _earlier(message_id: str) -> TicketMessage | None:
    return (
        TicketMessage.objects.select_related("ticket")
        .filter(kind=MessageKind.INBOUND, email_message_id=message_id)
        .first()
    )


# --- sending ---------------------------------------------------------------------------------


def _language(text: str) -> str:
    """The template's language: Chinese when the reply has Chinese characters."""
    return "zh-hans" if re.search(r"[\u3400-\u9fff]", text) else "en"


def _domain() -> str:
    address = parseaddr(settings.SERVICE_MAILBOX)[1] or parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    return address.rpartition("@")[2] or "rapport.localhost"


def new_message_id() -> str:
    return make_msgid(domain=_domain())


def reply_address(ticket: Ticket) -> str:
    """Where replies go: the address the customer last wrote from, else the contact's
    first address ("" when there is none)."""
    last = (
        ticket.messages.filter(kind=MessageKind.INBOUND)
        .exclude(email_address="")
        .order_by("-id")
        .values_list("email_address", flat=True)
        .first()
    )
    if last:
        return last
    if ticket.contact is not None and ticket.contact.emails:
        return str(ticket.contact.emails[0])
    return ""


def reply_refusal(ticket: Ticket) -> str | None:
    """Why a reply to this ticket's customer may not be e-mailed at all (they withdrew
    e-mail consent for service), or None."""
    from rapport.customers.querysets import consent_allows

    contact = ticket.contact
    if contact is None or consent_allows(contact, channel="email", purpose="service"):
        return None
    return _(
        "%(name)s withdrew consent to e-mails about service: this reply cannot be sent. "
        "Call them, or add an internal note."
    ) % {"name": contact.name}


def _subject(ticket: Ticket) -> str:
    return f"[{ticket.number}] {ticket.subject}"


def _thread_headers(ticket: Ticket, exclude: int | None = None) -> dict[str, str]:
    earlier = list(
        ticket.messages.exclude(email_message_id="")
        .exclude(pk=exclude)
        .order_by("-id")
        .values_list("email_message_id", flat=True)[:10]
    )
    if not earlier:
        return {}
    return {"In-Reply-To": earlier[0], "References": " ".join(reversed(earlier))}


def _send(
    *,
    subject: str,
    body: str,
    to: str,
    message_id: str,
    headers: dict[str, str],
    files: list | tuple = (),
) -> None:
    mail = DjangoEmailMessage(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        reply_to=[settings.SERVICE_MAILBOX],
        headers={"Message-ID": message_id, "Auto-Submitted": "no", **headers},
    )
    for attachment in files:
        with attachment.file.open("rb") as handle:
            mail.attach(attachment.name, handle.read(), attachment.content_type)
    mail.send(fail_silently=False)


def reply_email_send(*, message_id: int) -> bool:
    """E-mail one reply to the customer, once: claimed by an update before sending, the claim
    given back with the reason when the mail server refuses it."""
    message = (
        TicketMessage.objects.select_related("ticket", "author")
        .filter(pk=message_id, kind=MessageKind.REPLY)
        .first()
    )
    if message is None or not message.email_address:
        return False
    claimed = TicketMessage.objects.filter(
        pk=message.pk, sent_at__isnull=True, not_sent_reason=""
    ).update(sent_at=timezone.now())
    if not claimed:
        return False
    ticket = message.ticket
    language = _language(message.body)
    with translation.override(language):
        body = render_to_string(
            "service/mail/reply.txt",
            {"ticket": ticket, "message": message, "site_url": settings.SITE_URL},
        )
        try:
            _send(
                subject=_subject(ticket),
                body=body,
                to=message.email_address,
                message_id=message.email_message_id,
                headers=_thread_headers(ticket, exclude=message.pk),
                files=list(message.attachments.all()),
            )
        except Exception as error:  # the server refused it or is down: keep the reason
            logger.warning("could not e-mail reply %s: %s", message.pk, error)
            reason = _("The mail server did not accept it (%(error)s).") % {
                "error": str(error)[:200]
            }
            TicketMessage.objects.filter(pk=message.pk).update(
                sent_at=None, not_sent_reason=reason[:300]
            )
            return False
    return True


def acknowledgement_send(*, ticket_id: int, to: str) -> bool:
    """Tell the customer their e-mail became ticket #n (so that their answers thread on it),
    unless they withdrew e-mail consent for service."""
    ticket = Ticket.objects.select_related("contact").filter(pk=ticket_id).first()
    if ticket is None or reply_refusal(ticket) is not None:
        return False
    first = ticket.messages.order_by("id").first()
    language = ticket.language or _language(f"{ticket.subject} {first.body if first else ''}")
    with translation.override(language):
        body = render_to_string(
            "service/mail/acknowledgement.txt", {"ticket": ticket, "site_url": settings.SITE_URL}
        )
        try:
            _send(
                subject=_subject(ticket),
                body=body,
                to=to,
                message_id=new_message_id(),
                headers=_thread_headers(ticket),
            )
        except Exception as error:
            logger.warning("could not acknowledge ticket %s: %s", ticket.pk, error)
            return False
    return True


# --- the IMAP poller -------------------------------------------------------------------------


def _connect(config: dict[str, Any]) -> imaplib.IMAP4:
    if config["ssl"]:
        return imaplib.IMAP4_SSL(config["host"], config["port"], timeout=30)
    return imaplib.IMAP4(config["host"], config["port"], timeout=30)


def poll_imap(*, limit: int = 200) -> dict[str, Any]:
    """Fetch the unseen e-mails of the service mailbox and receive each. An e-mail is marked
    seen once stored (or found to be a duplicate, or unreadable — then also flagged for a
    person to look at); one that failed for another reason stays unseen and is tried again
    next minute (receiving is idempotent, so nothing is stored twice)."""
    config = settings.SERVICE_IMAP
    counts = {"configured": bool(config["host"]), "received": 0, "duplicates": 0, "ignored": 0}
    counts.update({"refused": 0, "failed": 0})
    if not config["host"]:
        return counts
    connection = _connect(config)
    try:
        connection.login(config["user"], config["password"])
        connection.select(config["folder"])
        _typ, data = connection.uid("SEARCH", None, "UNSEEN")
        uids = (data[0] or b"").split()[:limit]
        for uid in uids:
            _typ, fetched = connection.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = next((item[1] for item in fetched if isinstance(item, tuple)), None)
            if raw is None:
                continue
            try:
                result = receive(raw)
            except ValidationError:
                logger.warning("service mailbox: e-mail %s refused", uid)
                connection.uid("STORE", uid, "+FLAGS", "(\\Seen \\Flagged)")
                counts["refused"] += 1
                continue
            except Exception:
                logger.exception("service mailbox: e-mail %s failed, will try again", uid)
                counts["failed"] += 1
                continue
            connection.uid("STORE", uid, "+FLAGS", "(\\Seen)")
            key = "duplicates" if result.duplicate else "ignored" if result.ignored else "received"
            counts[key] += 1
    finally:
        try:
            connection.logout()
        except Exception:  # already closed by the server
            logger.debug("service mailbox: logout failed", exc_info=True)
    return counts


def compose(
    *,
    sender: str,
    subject: str,
    text: str = "",
    html: str = "",
    message_id: str | None = None,
    answers: str | None = None,
    attachments: list[tuple[str, bytes, str]] = (),
    headers: dict[str, str] | None = None,
    to: str | None = None,
) -> bytes:
    """A raw e-mail as a customer's mail client would send it (tests and the demo)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to or settings.SERVICE_MAILBOX
    message["Subject"] = subject
    message["Message-ID"] = message_id or make_msgid(domain="customer.example")
    if answers:
        message["In-Reply-To"] = answers
        message["References"] = answers
    for name, value in (headers or {}).items():
        message[name] = value
    if text:
        message.set_content(text)
    if html:
        if text:
            message.add_alternative(html, subtype="html")
        else:
            message.set_content(html, subtype="html")
    for name, content, content_type in attachments:
        maintype, _slash, subtype = content_type.partition("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes()
