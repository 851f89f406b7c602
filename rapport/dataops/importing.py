"""Importing records from CSV and XLSX files: every type the domain apps register in
`core.imports` (accounts, contacts, interactions, leads …).

    run = import_create(actor=…, object_type="customers.account", upload=file)  # header read,
    import_configure(actor=…, run=run, mapping={…}, mode="upsert", key="credit_code")  # checked
    preview(actor, run)            # the first rows validated, nothing stored
    job = import_start(actor=…, run=run, dry_run=True)    # every row validated, nothing stored
    job = import_start(actor=…, run=run)                  # the rows written, as a Job
    import_execute(job)            # what the worker runs; resumes from the job's checkpoint
    failed_rows(run)               # the failed rows with an error column, to fix and re-import
    import_rollback(actor=…, run=run)   # created records removed (the type's `remove`: accounts
                                        # deactivated …), updated ones put back

Every row goes through the same services as a form or the API (permissions, field rules,
normalization, validation, audit, events), in its own savepoint: a bad row fails alone with
its errors by field, and nothing of it is stored. Rows are written in batches; each batch
commits together with the job's checkpoint and the rows' outcomes, so a run killed at any
moment resumes after the last committed batch and neither repeats nor skips a row.

Running the same file twice creates nothing twice: rows whose key (credit code, phone,
e-mail, ID number) matches an existing record are refused in "create only" mode (or update
it in the other modes), and rows without a key that an earlier, not rolled back, import of
the same type created are skipped (a row's fingerprint is its normalized cells).
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from rapport.core import imports, jobs, normalize, trail
from rapport.core.customfields import values as custom_values
from rapport.core.errors import NotFound, PermissionDenied
from rapport.core.imports import ImportField, ImportType
from rapport.core.models import Job
from rapport.core.rows import insert_rows
from rapport.core.search import receivers as search_receivers
from rapport.core.search import text as search_text
from rapport.customers.models import Account, Contact, ContactIdentifier, IdentifierKind
from rapport.customers.validators import (
    identifier_blind,
    normalize_credit_code,
    normalize_email,
    normalize_phone,
)
from rapport.identity import policy
from rapport.identity.models import Action, FieldRule, User

from . import scan
from .models import ImportMode, ImportRow, ImportRun, ImportState, ImportTemplate, RowOutcome
from .tables import open_table

KIND = "dataops.import"
BATCH = 1000
PREVIEW_ROWS = 20
MAX_UPLOAD_MB = getattr(settings, "IMPORT_MAX_MB", 200)
ERROR_COLUMN = "错误 / Errors"


def _refuse(name: str, message: str, code: str) -> ValidationError:
    return ValidationError({name: ValidationError(message, code=code)})


def import_type(object_type: str) -> ImportType:
    """The registered type (`core.imports`), or a ValidationError naming it."""
    found = imports.get(object_type)
    if found is None:
        raise _refuse(
            "type", _("“%(type)s” cannot be imported.") % {"type": object_type}, "unknown_type"
        )
    return found


def fields_for(user, object_type: str) -> dict[str, ImportField]:
    """The fields a file's columns can go to: the type's own and its active custom fields."""
    found = {spec.name: spec for spec in import_type(object_type).fields}
    for custom in custom_values.definitions(object_type):
        found[f"cf.{custom.key}"] = ImportField(
            f"cf.{custom.key}",
            custom.label,
            (custom.key, getattr(custom, "label_zh", ""), getattr(custom, "label_en", "")),
        )
    return found


def _header_key(text: str) -> str:
    return search_text.fold(normalize.text(text)).replace(" ", "").replace("_", "").replace("-", "")


def suggest_mapping(user, object_type: str, headers: list[str]) -> dict[str, str]:
    """{column number: field} from headers in Chinese or English (each field used once)."""
    synonyms: dict[str, str] = {}
    for spec in fields_for(user, object_type).values():
        for text in (spec.name, str(spec.label), *spec.synonyms):
            if text:
                synonyms.setdefault(_header_key(str(text)), spec.name)
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for index, header in enumerate(headers):
        name = synonyms.get(_header_key(header))
        if name and name not in used:
            mapping[str(index)] = name
            used.add(name)
    return mapping


# --- creating and configuring a run -----------------------------------------------------------


def _require_import(actor: User, object_type: str) -> None:
    import_type(object_type)
    if not policy.has_grant(actor, object_type, Action.IMPORT):
        raise PermissionDenied()


def import_create(*, actor: User, object_type: str, upload, file_name: str = "") -> ImportRun:
    """Store an uploaded file and read its header; refuses files too big, of an unknown
    type or encoding, or without a header."""
    _require_import(actor, object_type)
    name = file_name or getattr(upload, "name", "") or "import.csv"
    size = getattr(upload, "size", None)
    if size is None:
        upload.seek(0, 2)
        size = upload.tell()
    if size > MAX_UPLOAD_MB * 1024 * 1024:
        raise _refuse(
            "file",
            _("The file is %(size)d MB; at most %(max)d MB can be imported at once — split it.")
            % {"size": size // (1024 * 1024), "max": MAX_UPLOAD_MB},
            "too_big",
        )
    upload.seek(0)
    digest = hashlib.sha256()
    for chunk in iter(lambda: upload.read(1 << 20), b""):
        digest.update(chunk)
    upload.seek(0)
    table = open_table(upload, name)
    headers = [normalize.text(header) for header in table.headers]
    rows = sum(1 for _row in table.rows())
    if rows == 0:
        raise _refuse("file", _("The file has a header but no rows."), "no_rows")
    with transaction.atomic():
        run = ImportRun(
            object_type=object_type,
            file_name=name[:255],
            file_hash=digest.hexdigest(),
            file_size=size,
            encoding=table.encoding,
            headers=headers,
            row_count=rows,
            mapping=suggest_mapping(actor, object_type, headers),
            created_by=actor,
        )
        upload.seek(0)
        run.file.save(name, File(upload, name=name), save=False)
        run.save()
        trail.record(
            actor=actor,
            action="import.upload",
            object_type="dataops.import",
            object_id=run.pk,
            object_repr=run.file_name,
            extra={"type": object_type, "rows": rows, "encoding": table.encoding},
        )
    return run


def earlier_imports(run: ImportRun) -> list[ImportRun]:
    """Finished imports of the same file into the same type (not rolled back)."""
    return list(
        ImportRun.objects.filter(
            object_type=run.object_type, file_hash=run.file_hash, state=ImportState.FINISHED
        )
        .exclude(pk=run.pk)
        .order_by("-id")[:5]
    )


def _own(actor: User, run: ImportRun) -> None:
    if run.created_by_id != actor.pk:
        raise NotFound()


def clean_mapping(
    actor: User, run: ImportRun, mapping: dict[str, Any], mode: str, key: str
) -> dict[str, str]:
    """The mapping as stored ({column: field}); one ValidationError naming every problem by
    column: unknown fields, a field used twice, fields the user may not change, a missing
    name when creating, a key that is not mapped."""
    kind = import_type(run.object_type)
    fields = fields_for(actor, run.object_type)
    rules = policy.field_rules(actor, run.object_type)
    errors: dict[str, list[ValidationError]] = {}
    cleaned: dict[str, str] = {}
    used: dict[str, str] = {}

    def fail(name: str, message: str, code: str) -> None:
        errors.setdefault(name, []).append(ValidationError(message, code=code))

    if mode not in ImportMode.values:
        fail(
            "mode",
            _("Choose one of: %(modes)s.") % {"modes": ", ".join(ImportMode.values)},
            "invalid_choice",
        )
    for column, name in (mapping or {}).items():
        if not name:
            continue
        try:
            index = int(column)
        except (TypeError, ValueError):
            index = -1
        if not 0 <= index < len(run.headers):
            fail(
                "mapping",
                _("There is no column %(column)s in the file.") % {"column": column},
                "column",
            )
            continue
        label = run.headers[index] or _("column %(n)d") % {"n": index + 1}
        where = f"mapping.{index}"
        if name not in fields:
            fail(
                where,
                _("“%(header)s”: “%(field)s” is not a field you can import.")
                % {"header": label, "field": name},
                "unknown_field",
            )
            continue
        rule = rules.get(name)
        if rule in (FieldRule.Rule.HIDDEN, FieldRule.Rule.READONLY, FieldRule.Rule.MASKED):
            fail(
                where,
                _("“%(header)s”: you may not change “%(field)s”.")
                % {"header": label, "field": fields[name].label},
                "read_only",
            )
            continue
        if name in used:
            fail(
                where,
                _("“%(header)s” and “%(other)s” both go to “%(field)s”.")
                % {"header": label, "other": used[name], "field": fields[name].label},
                "twice",
            )
            continue
        used[name] = label
        cleaned[str(index)] = name
    if mode != ImportMode.CREATE and kind.add_only:
        fail("mode", _("These records can only be added."), "invalid_choice")
    if mode in (ImportMode.CREATE, ImportMode.UPSERT):
        for spec in fields.values():
            if spec.required and spec.name not in used:
                fail(
                    "mapping",
                    _("A column must go to “%(field)s”: new records need it.")
                    % {"field": spec.label},
                    "required",
                )
    if mode in (ImportMode.UPDATE, ImportMode.UPSERT) and not kind.add_only:
        if key not in kind.keys:
            offered = ", ".join(str(fields[k].label) for k in kind.keys)
            fail(
                "key",
                _("Choose the key that finds existing records: %(keys)s.") % {"keys": offered},
                "invalid_choice",
            )
        elif key not in used:
            fail(
                "key",
                _("The key “%(field)s” must have a column.") % {"field": fields[key].label},
                "unmapped",
            )
    if errors:
        raise ValidationError(errors)
    return cleaned


def import_configure(
    *,
    actor: User,
    run: ImportRun,
    mapping: dict[str, Any],
    mode: str = ImportMode.CREATE,
    key: str = "",
) -> ImportRun:
    _own(actor, run)
    _require_import(actor, run.object_type)
    if run.state != ImportState.UPLOADED:
        raise _refuse("state", _("This import has run already; upload the file again."), "started")
    run.mapping = clean_mapping(actor, run, mapping, mode, key)
    run.mode, run.key = mode, key if mode != ImportMode.CREATE else ""
    run.save(update_fields=["mapping", "mode", "key"])
    return run


# --- templates ---------------------------------------------------------------------------------


def template_save(*, actor: User, run: ImportRun, name: str) -> ImportTemplate:
    """Keep the run's mapping under `name`, by header text, for files of the same layout."""

    _own(actor, run)
    name = normalize.text(name)
    if not name:
        raise _refuse("template", _("Give the template a name."), "required")
    if len(name) > 100:
        raise _refuse("template", _("At most %(n)d characters.") % {"n": 100}, "max_length")
    by_header = {run.headers[int(column)]: field for column, field in run.mapping.items()}
    template, _made = ImportTemplate.objects.update_or_create(
        object_type=run.object_type,
        name=name,
        defaults={"mapping": by_header, "created_by": actor},
    )
    return template


def templates_for(object_type: str):

    return ImportTemplate.objects.filter(object_type=object_type).order_by("name")


def template_mapping(run: ImportRun, template) -> dict[str, str]:
    """The template's mapping for this file's columns (by header text; others left out)."""
    return {
        str(index): template.mapping[header]
        for index, header in enumerate(run.headers)
        if header in template.mapping
    }


# --- rows --------------------------------------------------------------------------------------


@dataclass
class Context:
    """What a run remembers between rows: owners and accounts looked up, keys seen."""

    actor: User
    run: ImportRun
    owners: dict[str, User | None] = field(default_factory=dict)
    accounts: dict[str, Account | None] = field(default_factory=dict)
    contacts: dict[str, Contact | None] = field(default_factory=dict)
    # the first row of each key (and, without a key, of each row fingerprint) in this file
    keys_seen: dict[str, int] = field(default_factory=dict)
    fingerprints: dict[bytes, int] = field(default_factory=dict)
    type: ImportType = field(init=False)
    fields: dict[str, ImportField] = field(init=False)

    def __post_init__(self) -> None:
        self.type = import_type(self.run.object_type)
        self.fields = fields_for(self.actor, self.run.object_type)

    def remember(self, number: int, cells: list[str]) -> tuple[str, int | None]:
        """The row's key and the earlier row of this file with the same key (or, without
        a key, the same cells), if any; remembers this one."""
        if self.run.key:
            key = _key_value(self.run, cells)
            if not key:
                return "", None
            earlier = self.keys_seen.get(key)
            self.keys_seen.setdefault(key, number)
            return key, earlier
        digest = bytes.fromhex(_fingerprint(self.run, cells))[:16]
        earlier = self.fingerprints.get(digest)
        self.fingerprints.setdefault(digest, number)
        return "", earlier


def _rows(run: ImportRun, after: int = 0) -> Iterator[tuple[int, list[str]]]:
    with run.file.open("rb") as stream:
        table = open_table(stream, run.file_name)
        for number, cells in table.rows():
            if number > after:
                yield number, cells


def first_row(run: ImportRun) -> list[str]:
    """The file's first data row (the sample shown beside each column)."""
    for _number, cells in _rows(run):
        return cells
    return []


def _fingerprint(run: ImportRun, cells: list[str]) -> str:
    joined = "\x1f".join(normalize.text(cell) for cell in cells)
    return hashlib.sha256(f"{run.object_type}\x1e{joined}".encode()).hexdigest()


def _owner(ctx: Context, username: str) -> User:
    if username not in ctx.owners:
        ctx.owners[username] = User.objects.filter(
            username__iexact=username, is_active=True
        ).first()
    owner = ctx.owners[username]
    if owner is None:
        raise _refuse(
            "owner", _("There is no active user “%(name)s”.") % {"name": username}, "unknown_user"
        )
    return owner


def _account(ctx: Context, text: str) -> Account:
    if text not in ctx.accounts:
        visible = Account.objects.restrict(ctx.actor, Action.VIEW).filter(is_active=True)
        found = None
        try:
            code = normalize_credit_code(text)
        except ValidationError:
            code = ""
        if code:
            found = visible.filter(credit_code=code).first()
        if found is None:
            found = visible.filter(name=normalize.text(text)).order_by("id").first()
        ctx.accounts[text] = found
    account = ctx.accounts[text]
    if account is None:
        raise _refuse(
            "account",
            _("There is no account “%(name)s” you can see.") % {"name": text},
            "unknown_account",
        )
    return account


def _choice(spec: ImportField, cell: str) -> str:
    """A choice's code from its code or its label in Chinese or English ("电话", "Call")."""
    wanted = _header_key(cell)
    for code, label in spec.choices:
        names = {code, str(label), *spec.words.get(code, ())}
        for language in ("zh-hans", "en"):
            with translation.override(language):
                names.add(str(label))
        if wanted in {_header_key(text) for text in names}:
            return code
    offered = [str(label) for _code, label in spec.choices]
    raise _refuse(
        spec.argument,
        _("“%(value)s” is not one of: %(choices)s.")
        % {"value": cell, "choices": ", ".join(offered)},
        "invalid_choice",
    )


def _when(cell: str) -> str:
    """A date and time in ISO form from the common ways of writing one (2026-03-05 14:30,
    2026/3/5, 2026年3月5日, 5 Mar 2026 …); a date alone is taken at noon, local time."""
    from rapport.core.datetimes import to_utc

    if to_utc(cell) is not None:
        return cell
    text = normalize.text(cell)
    date_part, _space, time_part = text.partition(" ")
    try:
        day = normalize.parse_date(date_part if time_part else text)
    except ValidationError:
        day = None
    if day is not None:
        clock = time_part or "12:00"
        candidate = f"{day.isoformat()} {clock}"
        if to_utc(candidate) is not None:
            return candidate
    raise _refuse(
        "occurred_at",
        _("“%(value)s” is not a date and time (use e.g. 2026-12-01 14:30).") % {"value": cell},
        "invalid_datetime",
    )


def _contact(ctx: Context, text: str) -> Contact:
    """The contact a cell names: by phone or e-mail (the blind index), else by name among the
    contacts the importer can see (at the row's account when there is one)."""
    if text not in ctx.contacts:
        visible = Contact.objects.restrict(ctx.actor, Action.VIEW).filter(is_active=True)
        found = None
        for kind, normalizer in (
            (IdentifierKind.EMAIL, normalize_email),
            (IdentifierKind.PHONE, normalize_phone),
        ):
            try:
                value = normalizer(text)
            except ValidationError:
                continue
            if value:
                ids = ContactIdentifier.objects.filter(
                    kind=kind, blind=identifier_blind(kind, value)
                ).values("contact_id")
                found = visible.filter(pk__in=ids).order_by("id").first()
                if found is not None:
                    break
        if found is None:
            named = list(visible.filter(name=normalize.text(text)).order_by("id")[:2])
            found = named[0] if len(named) == 1 else None
            if len(named) > 1:
                ctx.contacts[text] = None
                raise _refuse(
                    "contact",
                    _("More than one contact is called “%(name)s”: give a phone or e-mail.")
                    % {"name": text},
                    "ambiguous",
                )
        ctx.contacts[text] = found
    contact = ctx.contacts[text]
    if contact is None:
        raise _refuse(
            "contact",
            _("There is no contact “%(name)s” you can see.") % {"name": text},
            "unknown_contact",
        )
    return contact


def _values(ctx: Context, cells: list[str]) -> dict[str, Any]:
    """The row's cells as the services' arguments (references looked up, choices coded)."""
    values: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    errors: dict[str, list[ValidationError]] = {}
    fields = ctx.fields
    for column, name in ctx.run.mapping.items():
        index = int(column)
        cell = cells[index] if index < len(cells) else ""
        if cell == "":
            continue
        if name.startswith("cf."):
            custom[name[3:]] = cell
            continue
        spec = fields[name]
        try:
            if spec.parse == imports.OWNER:
                value: Any = _owner(ctx, cell)
            elif spec.parse == imports.ACCOUNT:
                value = _account(ctx, cell)
            elif spec.parse == imports.ACCOUNTS:
                value = [_account(ctx, cell)]
            elif spec.parse == imports.CONTACT:
                value = _contact(ctx, cell)
            elif spec.parse == imports.CHOICE:
                value = _choice(spec, cell)
            elif spec.parse == imports.DATETIME:
                value = _when(cell)
            else:
                value = cell
            values[spec.argument] = value
        except ValidationError as error:
            for key, messages in error.message_dict.items():
                errors.setdefault(key, []).extend(ValidationError(m) for m in messages)
    if custom:
        values["custom"] = custom
    if errors:
        raise ValidationError(errors)
    return values


def _key_column(run: ImportRun) -> int | None:
    for column, name in run.mapping.items():
        if name == run.key:
            return int(column)
    return None


def _key_value(run: ImportRun, cells: list[str]) -> str:
    """The row's key, normalized (the first phone or e-mail of a list), or ""."""
    column = _key_column(run) if run.key else None
    raw = cells[column] if column is not None and column < len(cells) else ""
    if not raw:
        return ""
    first = normalize.half_width(raw)  # lists of phones or e-mails: the first one
    for separator in ("、", ";", "\n", "，", "；"):
        first = first.replace(separator, ",")
    first = first.split(",")[0]
    normalizer = import_type(run.object_type).field(run.key).normalize
    return normalizer(first) if normalizer else ""


def _existing_many(ctx: Context, keys: list[str]) -> dict[str, Any]:
    """{key: the record it finds, or a ValidationError when it finds several} for the keys
    that find something — one query for a batch."""
    run = ctx.run
    if not keys:
        return {}
    found = ctx.type.find(ctx.actor, run.key, keys) if ctx.type.find else {}
    answer: dict[str, Any] = {}
    for key, records in found.items():
        unique = {record.pk: record for record in records}
        if len(unique) > 1:
            answer[key] = _refuse(
                run.key,
                _("“%(value)s” matches more than one record.") % {"value": key},
                "ambiguous",
            )
        else:
            answer[key] = next(iter(unique.values()))
    return answer


def _prepare(ctx: Context, number: int, cells: list[str]) -> tuple[str, dict[str, Any]]:
    """The row's key and its values for the services; raises ValidationError for a row that
    repeats an earlier row of the file, or names an owner or account that is not there."""
    run, actor = ctx.run, ctx.actor
    key, earlier = ctx.remember(number, cells)
    if earlier is not None:
        if run.key:
            label = capfirst(str(fields_for(actor, run.object_type)[run.key].label))
            message = _("The same %(field)s as row %(row)d of this file.") % {
                "field": label,
                "row": earlier,
            }
        else:
            message = _("The same as row %(row)d of this file.") % {"row": earlier}
        raise _refuse(run.key or "row", message, "duplicate_in_file")
    return key, _values(ctx, cells)


Outcome = tuple[str, Any, dict, dict]


def _failure(error: Exception) -> Outcome:
    if isinstance(error, ValidationError):
        if hasattr(error, "error_dict"):
            return (
                RowOutcome.FAILED,
                None,
                {k: [str(m) for m in v] for k, v in error.message_dict.items()},
                {},
            )
        return RowOutcome.FAILED, None, {"row": [str(m) for m in error.messages]}, {}
    return RowOutcome.FAILED, None, {"row": [str(getattr(error, "message", error))]}, {}


def _update(ctx: Context, existing, values: dict[str, Any]) -> Outcome:
    """Write a row's values to the record its key found, in its own savepoint."""
    actor, kind = ctx.actor, ctx.type
    try:
        with transaction.atomic():
            values = dict(values)
            owner = values.pop("owner", None)
            fields = [name for name in values if name != "custom"]
            before = {name: _plain(getattr(existing, name, None)) for name in fields}
            kind.update(actor=actor, record=existing, **values)
            if owner is not None and owner.pk != existing.owner_id:
                before["owner"] = existing.owner_id
                kind.assign(actor=actor, record=existing, owner=owner)
            existing.refresh_from_db()
            changed = (
                any(before[name] != _plain(getattr(existing, name, None)) for name in fields)
                or "owner" in before
            )
            outcome = (
                RowOutcome.UPDATED if changed or values.get("custom") else RowOutcome.UNCHANGED
            )
            return outcome, existing.pk, {}, before
    except (ValidationError, PermissionDenied, NotFound) as error:
        return _failure(error)


def _create_one(ctx: Context, values: dict[str, Any]) -> Outcome:
    try:
        with transaction.atomic():
            values = dict(values)
            record = ctx.type.create(actor=ctx.actor, owner=values.pop("owner", None), **values)
            return RowOutcome.CREATED, record.pk, {}, {}
    except (ValidationError, PermissionDenied, NotFound) as error:
        return _failure(error)


def _create_many(ctx: Context, rows: list[dict[str, Any]]) -> list[Outcome]:
    """New records for many rows at once (the type's `create_many`, e.g.
    `customers.services.contacts_create_many`: the same checks as one by one, one insert per
    table). Types without it, and a batch that hits a record written meanwhile by someone
    else (a unique key taken), are created one by one, each in its own savepoint."""
    create_many = ctx.type.create_many
    if create_many is None:
        return [_create_one(ctx, row) for row in rows]
    try:
        with transaction.atomic():
            results = create_many(actor=ctx.actor, rows=rows)
    except PermissionDenied as error:
        return [_failure(error)] * len(rows)
    except IntegrityError:
        return [_create_one(ctx, row) for row in rows]
    return [
        _failure(result)
        if isinstance(result, Exception)
        else (RowOutcome.CREATED, result.pk, {}, {})
        for result in results
    ]


def _write_batch(ctx: Context, batch: list[tuple[int, list[str]]]) -> list[Outcome]:
    """The outcome of each row of a batch. Rows whose key finds a record update it one by
    one (each in its own savepoint); the new rows are created together."""
    run = ctx.run
    outcomes: list[Outcome | None] = [None] * len(batch)
    prepared: list[tuple[int, str, dict[str, Any]]] = []
    for position, (number, cells) in enumerate(batch):
        try:
            key, values = _prepare(ctx, number, cells)
        except ValidationError as error:
            outcomes[position] = _failure(error)
            continue
        prepared.append((position, key, values))
    existing = _existing_many(ctx, sorted({key for _p, key, _v in prepared if key}))
    creating: list[tuple[int, dict[str, Any]]] = []
    for position, key, values in prepared:
        found = existing.get(key) if key else None
        if isinstance(found, ValidationError):
            outcomes[position] = _failure(found)
        elif found is not None:
            outcomes[position] = _update(ctx, found, values)
        elif run.mode == ImportMode.UPDATE:
            outcomes[position] = _failure(
                _refuse(run.key or "key", _("No record you may change has this key."), "not_found")
            )
        else:
            creating.append((position, values))
    if creating:
        created = _create_many(ctx, [values for _position, values in creating])
        for (position, _row), outcome in zip(creating, created, strict=True):
            outcomes[position] = outcome
    return outcomes  # type: ignore[return-value]  # every row has its outcome


def _write(ctx: Context, number: int, cells: list[str]) -> Outcome:
    """(outcome, record id, errors, before) for one row (a batch of one)."""
    return _write_batch(ctx, [(number, cells)])[0]


def _plain(value: Any) -> Any:
    return value.pk if hasattr(value, "pk") else value


def _imported_before(run: ImportRun, hashes: list[str]) -> dict[str, int]:
    """{fingerprint: run} for rows an earlier (not rolled back) import of the type created."""
    if not hashes or run.key:
        return {}
    rows = ImportRow.objects.filter(
        run__object_type=run.object_type,
        row_hash__in=hashes,
        outcome=RowOutcome.CREATED,
        run__rolled_back_at__isnull=True,
    ).exclude(run=run)
    return dict(rows.values_list("row_hash", "run_id"))


def preview(actor: User, run: ImportRun, limit: int = PREVIEW_ROWS) -> list[dict[str, Any]]:
    """The first rows as they would import: cells, outcome and errors; nothing is stored."""
    _own(actor, run)
    ctx = Context(actor=actor, run=run)
    shown: list[dict[str, Any]] = []
    with transaction.atomic():
        for number, cells in _rows(run):
            outcome, _record, errors, _before = _write(ctx, number, cells)
            shown.append({"number": number, "cells": cells, "outcome": outcome, "errors": errors})
            if len(shown) >= limit:
                break
        transaction.set_rollback(True)
    return shown


# --- running -----------------------------------------------------------------------------------


def import_start(*, actor: User, run: ImportRun, dry_run: bool = False) -> Job:
    """A job that validates (`dry_run`) or writes every row; refuses a run without a
    mapping, or one that has run already."""
    _own(actor, run)
    _require_import(actor, run.object_type)
    if run.state != ImportState.UPLOADED:
        raise _refuse("state", _("This import has run already; upload the file again."), "started")
    run.mapping = clean_mapping(actor, run, run.mapping, run.mode, run.key)
    with transaction.atomic():
        job = jobs.job_create(
            actor=actor,
            kind=KIND,
            title=(_("Check %(file)s") if dry_run else _("Import %(file)s"))
            % {"file": run.file_name},
            total=run.row_count,
            params={"run": run.pk, "dry_run": dry_run},
        )
        if not dry_run:
            run.state = ImportState.RUNNING
            run.job = job
            run.save(update_fields=["state", "job", "mapping"])
            trail.record(
                actor=actor,
                action="import.start",
                object_type="dataops.import",
                object_id=run.pk,
                object_repr=run.file_name,
                extra={
                    "type": run.object_type,
                    "mode": run.mode,
                    "key": run.key,
                    "mapping": run.mapping,
                },
            )
    return job


def import_execute(job: Job) -> Job:
    """Run (or resume) an import job from its checkpoint."""
    run = ImportRun.objects.select_related("created_by").get(pk=job.params["run"])
    dry_run = bool(job.params.get("dry_run"))
    actor = run.created_by
    jobs.job_start(job=job)
    ctx = Context(actor=actor, run=run)
    after = int((job.checkpoint or {}).get("row", 0))
    counts = dict((job.result or {}).get("counts", {}))
    if after:  # the rows done before a restart, for duplicates within the file
        with run.file.open("rb") as stream:
            for number, cells in open_table(stream, run.file_name).rows():
                if number > after:
                    break
                ctx.remember(number, cells)
    failures: list[dict[str, Any]] = list((job.result or {}).get("failures", []))
    # possible duplicates of existing records found for the rows created (kept for review)
    duplicates = int((job.result or {}).get("duplicates", 0))

    def flush(batch: list[tuple[int, list[str]]]) -> None:
        nonlocal after, duplicates
        hashes = [_fingerprint(run, cells) for _n, cells in batch]
        before_runs = _imported_before(run, hashes)
        with (
            search_receivers.deferred(),
            custom_values.remembered_definitions(),
            transaction.atomic(),
        ):
            rows = []
            fresh = [
                (number, cells)
                for (number, cells), digest in zip(batch, hashes, strict=True)
                if digest not in before_runs
            ]
            written = iter(_write_batch(ctx, fresh))
            for (number, cells), digest in zip(batch, hashes, strict=True):
                if digest in before_runs:
                    outcome, record, errors, before = (
                        RowOutcome.SKIPPED,
                        None,
                        {
                            "row": [
                                _("Imported before by import %(run)s.")
                                % {"run": before_runs[digest]}
                            ]
                        },
                        {},
                    )
                else:
                    outcome, record, errors, before = next(written)
                counts[outcome] = counts.get(outcome, 0) + 1
                if outcome == RowOutcome.FAILED and len(failures) < 100:
                    failures.append({"row": number, "errors": errors})
                rows.append(
                    {
                        "run_id": run.pk,
                        "number": number,
                        "outcome": outcome,
                        "record_id": record,
                        "row_hash": digest,
                        "cells": cells
                        if outcome in (RowOutcome.FAILED, RowOutcome.SKIPPED)
                        else [],
                        "errors": errors,
                        "before": before,
                    }
                )
            after = batch[-1][0]
            processed = sum(counts.values())
            if dry_run:
                transaction.set_rollback(True)
            else:
                created = [row["record_id"] for row in rows if row["outcome"] == RowOutcome.CREATED]
                if created and run.object_type in scan.TYPES:
                    # New records that look like existing ones go to the review list now,
                    # not at the next nightly scan.
                    found = scan.store_pairs_for(run.object_type, created)
                    duplicates += found
                insert_rows(ImportRow, rows)
                jobs.job_progress(
                    job=job,
                    processed=processed,
                    succeeded=processed - counts.get(RowOutcome.FAILED, 0),
                    failed=counts.get(RowOutcome.FAILED, 0),
                    checkpoint={"row": after},
                )
                job.result = {"counts": counts, "failures": failures, "duplicates": duplicates}
                job.save(update_fields=["result"])
        if dry_run:  # the rows were rolled back; the counts are kept
            jobs.job_progress(
                job=job,
                processed=sum(counts.values()),
                succeeded=sum(counts.values()) - counts.get(RowOutcome.FAILED, 0),
                failed=counts.get(RowOutcome.FAILED, 0),
                checkpoint={"row": after},
            )

    try:
        batch: list[tuple[int, list[str]]] = []
        for number, cells in _rows(run, after):
            batch.append((number, cells))
            if len(batch) >= BATCH:
                flush(batch)
                batch = []
        if batch:
            flush(batch)
    except Exception as error:
        jobs.job_progress(job=job, error={"message": str(error)[:500]})
        jobs.job_finish(
            job=job, state=Job.State.FAILED, result={"counts": counts, "failures": failures}
        )
        if not dry_run:
            ImportRun.objects.filter(pk=run.pk).update(state=ImportState.FAILED)
        raise
    result = {"counts": counts, "failures": failures, "duplicates": duplicates}
    with transaction.atomic():
        jobs.job_finish(job=job, result=result)
        if dry_run:
            run.dry_run = {**result, "job": job.pk, "at": timezone.now().isoformat()}
            run.save(update_fields=["dry_run"])
        else:
            run.state = ImportState.FINISHED
            run.save(update_fields=["state"])
            trail.record(
                actor=actor,
                action="import.finish",
                object_type="dataops.import",
                object_id=run.pk,
                object_repr=run.file_name,
                extra={"counts": counts},
            )
    return job


def error_text(user, run: ImportRun, errors: dict[str, list[str]]) -> str:
    """A row's errors in one line, each under the label of its field."""
    fields = fields_for(user, run.object_type)
    by_argument = {spec.argument: spec.name for spec in fields.values()}
    parts = []
    for name, messages in (errors or {}).items():
        key = by_argument.get(name, name.replace("custom.", "cf."))
        label = (
            fields[key].label
            if key in fields
            else (_("Row") if name in ("row", "__all__") else name)
        )
        parts.append(f"{label}: {' '.join(messages)}")
    return "; ".join(parts)


def failed_rows(run: ImportRun) -> bytes:
    """The failed (and skipped) rows as CSV (UTF-8 with BOM, so spreadsheet programs read
    Chinese right): the file's header, the rows' cells, and what was wrong, by field."""
    output = io.StringIO()
    writer = csv.writer(output)
    writer.writerow([*run.headers, ERROR_COLUMN])
    rows = ImportRow.objects.filter(
        run=run, outcome__in=[RowOutcome.FAILED, RowOutcome.SKIPPED]
    ).order_by("number")
    for row in rows.iterator(chunk_size=2000):
        problems = error_text(run.created_by, run, row.errors)
        cells = list(row.cells) + [""] * (len(run.headers) - len(row.cells))
        writer.writerow(
            [
                *(_safe(cell) for cell in cells[: len(run.headers)]),
                f"{_('Row')} {row.number}: {problems}",
            ]
        )
    return ("\ufeff" + output.getvalue()).encode("utf-8")


def _safe(cell: str) -> str:
    """A cell a spreadsheet would run as a formula is written as text."""
    return (
        "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") and not _number(cell) else cell
    )


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def import_rollback(*, actor: User, run: ImportRun) -> ImportRun:
    """Undo a finished import (its owner): records it created are deactivated, records it
    updated get their earlier values back. All or nothing; audited."""
    _own(actor, run)
    if run.state != ImportState.FINISHED:
        raise _refuse("state", _("Only a finished import can be rolled back."), "state")
    kind = import_type(run.object_type)
    model = kind.model
    active = {"is_active": True} if any(f.name == "is_active" for f in model._meta.fields) else {}
    with transaction.atomic():
        created = ImportRow.objects.filter(run=run, outcome=RowOutcome.CREATED).values_list(
            "record_id", flat=True
        )
        for record in model.objects.filter(pk__in=list(created), **active).iterator(chunk_size=500):
            kind.remove(actor=actor, record=record)
        for row in ImportRow.objects.filter(run=run, outcome=RowOutcome.UPDATED).order_by(
            "-number"
        ):
            record = model.objects.filter(pk=row.record_id).first()
            if record is None:
                continue
            before = dict(row.before or {})
            owner_id = before.pop("owner", None)
            if before:
                kind.update(actor=actor, record=record, **before)
            if owner_id:
                kind.assign(actor=actor, record=record, owner=User.objects.get(pk=owner_id))
        run.state = ImportState.ROLLED_BACK
        run.rolled_back_at = timezone.now()
        run.save(update_fields=["state", "rolled_back_at"])
        trail.record(
            actor=actor,
            action="import.rollback",
            object_type="dataops.import",
            object_id=run.pk,
            object_repr=run.file_name,
        )
    return run
