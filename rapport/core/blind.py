"""Blind index: a keyed hash of a sensitive value, for exact lookup without storing it.

    blind_index("+8613812345678", purpose="phone")  ->  64 hex characters

The key is `RAPPORT_BLIND_INDEX_KEY` (setting or environment variable) when given, else
derived from SECRET_KEY with HKDF, so changing either makes every stored blind index stale:
run `rapport search rebuild` afterwards. `purpose` separates the uses of one key (a phone and
an e-mail with the same text hash differently). A later issue moves the key into the
RAPPORT_FIELD_KEYS key ring.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


@lru_cache(maxsize=4)
def _derive(secret: str, configured: str) -> bytes:
    if configured:
        material, info = configured.encode(), b"rapport blind index (configured key)"
    else:
        material, info = secret.encode(), b"rapport blind index (from SECRET_KEY)"
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"rapport-blind-index-v1", info=info
    ).derive(material)


def _key() -> bytes:
    configured = getattr(settings, "RAPPORT_BLIND_INDEX_KEY", "")
    return _derive(settings.SECRET_KEY, configured)


def blind_index(value: str, *, purpose: str) -> str:
    """HMAC-SHA256 of `value` (already normalised) for `purpose`, as hex."""
    if not purpose:
        raise ValueError("a blind index needs a purpose")
    message = purpose.encode() + b"\x00" + value.encode()
    return hmac.new(_key(), message, hashlib.sha256).hexdigest()
