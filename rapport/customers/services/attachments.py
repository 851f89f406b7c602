"""Files kept with interactions: checked for size and kind, stored through Django storage
(local files by default, S3-compatible object storage in production), audited."""

from __future__ import annotations

import hashlib
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _

from rapport.core import events, trail
from rapport.identity import policy
from rapport.identity.models import Action, User

from ..models import Attachment, Interaction

# Extension → (content type, leading bytes the file must start with, or None to skip).
ALLOWED: dict[str, tuple[str, tuple[bytes, ...] | None]] = {
    ".pdf": ("application/pdf", (b"%PDF",)),
    ".png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    ".jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".gif": ("image/gif", (b"GIF87a", b"GIF89a")),
    ".webp": ("image/webp", (b"RIFF",)),
    ".docx": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        (b"PK\x03\x04",),
    ),
    ".xlsx": (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        (b"PK\x03\x04",),
    ),
    ".pptx": (
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        (b"PK\x03\x04",),
    ),
    ".doc": ("application/msword", (b"\xd0\xcf\x11\xe0",)),
    ".xls": ("application/vnd.ms-excel", (b"\xd0\xcf\x11\xe0",)),
    ".txt": ("text/plain", None),
    ".csv": ("text/csv", None),
    ".mp3": ("audio/mpeg", (b"ID3", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2")),
    ".m4a": ("audio/mp4", None),
    ".wav": ("audio/wav", (b"RIFF",)),
    ".amr": ("audio/amr", (b"#!AMR",)),
}
MAX_FILES = 10


def check_upload(upload: UploadedFile) -> tuple[str, str]:
    """(content type, sha256) of an acceptable upload, or a ValidationError saying why not."""
    name = upload.name or ""
    suffix = PurePath(name).suffix.lower()
    if suffix not in ALLOWED:
        raise ValidationError(
            _("“%(name)s”: files of this kind cannot be attached (allowed: %(kinds)s).")
            % {"name": name, "kinds": ", ".join(sorted(s.lstrip(".") for s in ALLOWED))},
            code="file_type",
        )
    limit = settings.ATTACHMENT_MAX_BYTES
    if upload.size is None or upload.size > limit:
        raise ValidationError(
            _("“%(name)s” is larger than %(mb)d MB.") % {"name": name, "mb": limit // 1048576},
            code="file_size",
        )
    if upload.size == 0:
        raise ValidationError(_("“%(name)s” is empty.") % {"name": name}, code="file_empty")
    content_type, signatures = ALLOWED[suffix]
    upload.seek(0)
    head = upload.read(16)
    if signatures is not None and not any(head.startswith(sig) for sig in signatures):
        raise ValidationError(
            _("“%(name)s” is not really a %(kind)s file.")
            % {"name": name, "kind": suffix.lstrip(".").upper()},
            code="file_content",
        )
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return content_type, digest.hexdigest()


def check_uploads(uploads: list[UploadedFile], field: str = "attachments") -> list[tuple]:
    """Check every upload first, so a bad one stores none of them."""
    if len(uploads) > MAX_FILES:
        raise ValidationError(
            {
                field: ValidationError(
                    _("Attach at most %(n)d files at once.") % {"n": MAX_FILES}, code="too_many"
                )
            }
        )
    checked, errors = [], []
    for upload in uploads:
        try:
            checked.append((upload, *check_upload(upload)))
        except ValidationError as error:
            errors.append(error)
    if errors:
        raise ValidationError({field: errors})
    return checked


def store_attachments(
    *, actor: User, interaction: Interaction, checked: list[tuple]
) -> list[Attachment]:
    """Store already checked uploads on an interaction, inside the caller's transaction. If
    the transaction rolls back, the stored files are removed again."""
    stored: list[Attachment] = []
    try:
        for upload, content_type, sha256 in checked:
            attachment = Attachment(
                interaction=interaction,
                name=PurePath(upload.name).name[:255],
                content_type=content_type,
                size=upload.size,
                sha256=sha256,
                uploaded_by=actor,
            )
            attachment.file.save(upload.name, upload, save=False)
            stored.append(attachment)
            attachment.save()
            trail.record(
                actor=actor,
                action="attach",
                target=interaction,
                extra={
                    "attachment": attachment.pk,
                    "name": attachment.name,
                    "size": attachment.size,
                    "sha256": sha256,
                },
            )
    except Exception:
        remove_files(stored)
        raise
    return stored


def remove_files(attachments: list[Attachment]) -> None:
    """Delete stored files whose rows did not commit (the transaction failed after them)."""
    for attachment in attachments:
        if attachment.file.name:
            attachment.file.storage.delete(attachment.file.name)


def attachments_add(
    *, actor: User, interaction: Interaction, uploads: list[UploadedFile]
) -> list[Attachment]:
    """Attach files to an interaction (needs the change grant over it, or being the task's
    assignee). All or none: one bad file stores none. Each file is an audit event on the
    interaction with its name, size and SHA-256."""
    policy.require(actor, Action.CHANGE, interaction)
    checked = check_uploads(uploads)
    if not checked:
        return []
    stored: list[Attachment] = []
    try:
        with transaction.atomic():
            stored = store_attachments(actor=actor, interaction=interaction, checked=checked)
            events.emit(
                "record.updated",
                {
                    "type": Interaction.security_type,
                    "id": interaction.pk,
                    "fields": ["attachments"],
                },
            )
    except Exception:
        remove_files(stored)
        raise
    return stored


def attachment_remove(*, actor: User, attachment: Attachment) -> Attachment:
    """Take an attachment off (the file is kept for the audit trail until retention)."""
    policy.require(actor, Action.CHANGE, attachment.interaction)
    if not attachment.is_active:
        return attachment
    with transaction.atomic():
        attachment.is_active = False
        attachment.save(update_fields=["is_active"])
        trail.record(
            actor=actor,
            action="detach",
            target=attachment.interaction,
            extra={"attachment": attachment.pk, "name": attachment.name},
        )
    return attachment


def attachment_downloaded(*, actor: User, attachment: Attachment) -> None:
    """Audit a download (a read of what may be personal data)."""
    trail.record(
        actor=actor,
        action="download",
        target=attachment.interaction,
        extra={"attachment": attachment.pk, "name": attachment.name},
    )
