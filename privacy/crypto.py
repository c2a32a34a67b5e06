"""Encryption at rest for personal data, and keyed hashes to find a record by it.

Values are encrypted with Fernet (AES-128-CBC with HMAC-SHA256, from ``cryptography``) under
``FIELD_ENCRYPTION_KEYS``: the first key encrypts, every key decrypts, so a key is rotated by
putting the new one first and re-saving (``manage.py reencrypt``). A database dump then holds
tokens, not values. Encrypted values cannot be searched, so a value that must be found (a
resident ID number) also gets a keyed hash (HMAC-SHA256 under ``LOOKUP_HASH_KEY``): equal values
give equal hashes, and without the key the hash tells nothing.
"""

import functools
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

#: Every Fernet token starts with these characters (version byte 0x80, base64).
TOKEN_PREFIX = "gAAAAA"  # noqa: S105  (not a secret: a format marker)


@functools.cache
def _fernet() -> MultiFernet:
    keys = list(settings.FIELD_ENCRYPTION_KEYS)
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty: personal data cannot be stored")
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS: each key must be 32 url-safe base64-encoded bytes "
            "(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key())')"
        ) from exc


def reset_keys() -> None:
    """Forget the keys read so far (after the settings changed, e.g. in a test)."""
    _fernet.cache_clear()


def encrypt(text: str) -> str:
    return _fernet().encrypt(text.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeEncodeError) as exc:
        raise ValueError("a stored value cannot be decrypted with FIELD_ENCRYPTION_KEYS") from exc


def rotate(token: str) -> str:
    """The same value, encrypted again under the first (newest) key."""
    return _fernet().rotate(token.encode("ascii")).decode("ascii")


def lookup_hash(value: str) -> str:
    """A keyed hash of ``value`` for finding records by it; "" for no value."""
    if not value:
        return ""
    key = settings.LOOKUP_HASH_KEY.encode("utf-8")
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()
