"""Field encryption at rest: AES-256-GCM with a key ring that can be rotated.

    RAPPORT_FIELD_KEYS="k2026b:<base64 32 bytes>,k2026a:<base64 32 bytes>"

The first key encrypts; every key in the ring decrypts, so a new key is added in front, then
`rapport keys rotate` re-encrypts every stored value with it, then the old key can go. A
stored value reads `enc:v1:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>`; the key id says
which key opens it. Without RAPPORT_FIELD_KEYS a development key is derived from SECRET_KEY
(`rapport check` reports it). Exact lookup of encrypted values uses the blind index
(`rapport.core.blind`), never the ciphertext.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

PREFIX = "enc:v1:"
_AAD = b"rapport field v1"
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
DEV_KEY_ID = "dev"


class DecryptionError(Exception):
    """A stored value that no key in the ring opens (wrong ring, or tampered data)."""


def _b64decode(text: str) -> bytes:
    text = text.strip()
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@lru_cache(maxsize=4)
def _parse_ring(configured: str, secret: str) -> tuple[tuple[str, bytes], ...]:
    if not configured.strip():
        key = HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=b"rapport-field-keys-v1",
            info=b"rapport development field key (from SECRET_KEY)",
        ).derive(secret.encode())
        return ((DEV_KEY_ID, key),)
    ring: list[tuple[str, bytes]] = []
    for position, entry in enumerate(configured.split(","), start=1):
        key_id, _, material = entry.strip().partition(":")
        if not _KEY_ID.match(key_id) or not material:
            raise ImproperlyConfigured(
                f"RAPPORT_FIELD_KEYS entry {position} must read KEY_ID:BASE64_KEY "
                "(id of letters, digits, - or _)."
            )
        try:
            key = _b64decode(material)
        except (binascii.Error, ValueError):
            key = b""
        if len(key) != 32:
            raise ImproperlyConfigured(
                f"RAPPORT_FIELD_KEYS key “{key_id}” must be 32 bytes in base64 "
                "(make one with `rapport keys generate`)."
            )
        if any(existing == key_id for existing, _key in ring):
            raise ImproperlyConfigured(f"RAPPORT_FIELD_KEYS names key “{key_id}” twice.")
        ring.append((key_id, key))
    return tuple(ring)


def key_ring() -> tuple[tuple[str, bytes], ...]:
    """(key id, key) pairs; the first encrypts."""
    return _parse_ring(getattr(settings, "RAPPORT_FIELD_KEYS", ""), settings.SECRET_KEY)


def active_key_id() -> str:
    return key_ring()[0][0]


def generate_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


def is_encrypted(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def key_id_of(token: str) -> str:
    return token[len(PREFIX) :].partition(":")[0]


def encrypt(plaintext: str) -> str:
    key_id, key = key_ring()[0]
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), _AAD + key_id.encode())
    body = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
    return f"{PREFIX}{key_id}:{body}"


def decrypt(token: str) -> str:
    key_id, _, body = token[len(PREFIX) :].partition(":")
    key = dict(key_ring()).get(key_id)
    if key is None:
        raise DecryptionError(f"no key “{key_id}” in RAPPORT_FIELD_KEYS")
    try:
        raw = _b64decode(body)
        return AESGCM(key).decrypt(raw[:12], raw[12:], _AAD + key_id.encode()).decode()
    except (InvalidTag, binascii.Error, ValueError) as error:
        raise DecryptionError(f"a value encrypted with key “{key_id}” does not open") from error


class EncryptedTextField(models.TextField):
    """Text stored encrypted; reads give the plain text back. Not searchable in SQL: pair it
    with a blind index for exact lookup."""

    def from_db_value(self, value, expression, connection):
        if value is None or not is_encrypted(value):
            return value  # legacy plain text (before the migration that encrypts it)
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "" or is_encrypted(value):
            return value
        return encrypt(str(value))


class EncryptedJSONField(models.TextField):
    """A JSON value (a list of phones, say) stored encrypted as one string."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)

    def from_db_value(self, value, expression, connection):
        if value is None:
            return self.get_default()
        if is_encrypted(value):
            value = decrypt(value)
        try:
            return json.loads(value)
        except (TypeError, ValueError):
            return value

    def to_python(self, value):
        if isinstance(value, str) and not is_encrypted(value):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value

    def get_prep_value(self, value):
        if value is None:
            return None
        if is_encrypted(value):
            return value
        return encrypt(json.dumps(value, ensure_ascii=False, sort_keys=True))

    def value_to_string(self, obj):
        return json.dumps(self.value_from_object(obj), ensure_ascii=False)


def encrypted_fields() -> list[tuple[type[models.Model], list[str]]]:
    """Every model with encrypted fields, and their names (for rotation and status)."""
    from django.apps import apps

    found = []
    for model in apps.get_models():
        names = [
            field.attname
            for field in model._meta.concrete_fields
            if isinstance(field, (EncryptedTextField, EncryptedJSONField))
        ]
        if names:
            found.append((model, names))
    return found
