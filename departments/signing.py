"""HMAC-SHA256 signatures for messages between the portal and department systems.

Plain Python with no Django import, so that the department simulator (a separate process)
signs and verifies exactly as the portal does. The signature covers the timestamp and the
raw body: ``hex(HMAC-SHA256(secret, f"{timestamp}." + body))``.
"""

import hashlib
import hmac
import time

TIMESTAMP_HEADER = "X-Signature-Timestamp"
SIGNATURE_HEADER = "X-Signature"
PREFIX = "sha256="

#: How far a message's timestamp may stray from our clock before it counts as stale.
MAX_SKEW_SECONDS = 300


class SignatureError(Exception):
    """The message is unsigned, badly signed or stale; the text says which."""


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return PREFIX + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    timestamp = int(time.time() if now is None else now)
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(secret, timestamp, body)}


def verify(
    secret: str,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    now: float | None = None,
    max_skew: int = MAX_SKEW_SECONDS,
) -> None:
    """Raise SignatureError unless ``signature`` is right for ``body`` and recent."""
    if not timestamp or not signature:
        raise SignatureError(f"missing {TIMESTAMP_HEADER} or {SIGNATURE_HEADER} header")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise SignatureError(f"{TIMESTAMP_HEADER} is not a whole number of seconds") from None
    current = time.time() if now is None else now
    if abs(current - sent_at) > max_skew:
        raise SignatureError(f"stale message: timestamp is more than {max_skew} s from now")
    if not hmac.compare_digest(sign(secret, sent_at, body), signature):
        raise SignatureError("signature does not match the body")
