"""HMAC-SHA256 signatures for messages between the portal and department systems.

Plain Python with no Django import, so that the department simulator (a separate process)
signs and verifies exactly as the portal does. The signature covers the timestamp and the
raw body: ``hex(HMAC-SHA256(secret, f"{timestamp}." + body))``.

A side may hold more than one secret while a secret is being rotated. It then signs with
each of them, ``sha256=…`` values separated by commas in one header, and accepts a message
in which any value matches any of its secrets: so the other side may know the old secret
only, or already the new one only, and nothing stops while both switch.
"""

import hashlib
import hmac
import re
import time
from collections.abc import Iterable

TIMESTAMP_HEADER = "X-Signature-Timestamp"
SIGNATURE_HEADER = "X-Signature"
PREFIX = "sha256="

#: How far a message's timestamp may stray from our clock before it counts as stale.
MAX_SKEW_SECONDS = 300
#: A header with more values than this is refused unread: rotation needs two.
MAX_SIGNATURES = 5

#: The simulator's master secret that README and docker-compose.yml show. Anyone can read it,
#: so the portal refuses it when DEBUG is off (portal/settings.py, departments/checks.py).
DOCUMENTED_SIMULATOR_SECRET = "simulator-shared-secret"  # noqa: S105

# ASCII digits only: int() would also take " 12", "1_2" and other scripts' digits; twelve
# of them reach the year 33658, and a longer number cannot be a time at all.
_TIMESTAMP_RE = re.compile(r"[0-9]{1,12}")
_SIGNATURE_RE = re.compile(r"sha256=([0-9a-fA-F]{64})")


class SignatureError(Exception):
    """The message is unsigned, badly signed or stale; the text says which."""


Secrets = str | Iterable[str]


def _active(secrets: Secrets) -> list[str]:
    """The secrets in force, in order: one string, or several during a rotation."""
    candidates = [secrets] if isinstance(secrets, str) else list(secrets)
    return [secret for secret in candidates if secret]


def department_secret(master: str, department_code: str) -> str:
    """The secret of one simulated department, drawn from the simulator's master secret.

    The catalogue loader gives it to a department it points at the simulator, and the
    simulator uses it for that department: so no two departments share a secret, and a
    leaked one opens a single department only.
    """
    return hmac.new(master.encode(), department_code.encode(), hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """One ``sha256=…`` value: the signature of ``body`` sent at ``timestamp`` with ``secret``."""
    message = str(timestamp).encode() + b"." + body
    return PREFIX + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secrets: Secrets, timestamp: int | str, body: bytes) -> str:
    """The X-Signature value: one signature per secret in force, comma-separated."""
    return ", ".join(sign(secret, timestamp, body) for secret in _active(secrets))


def signed_headers(secrets: Secrets, body: bytes, now: float | None = None) -> dict[str, str]:
    timestamp = int(time.time() if now is None else now)
    return {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature_header(secrets, timestamp, body),
    }


def _signatures(header: str) -> list[str]:
    """The lowercase hex digests of an X-Signature value; SignatureError if it is malformed."""
    values = header.split(",", MAX_SIGNATURES)
    if len(values) > MAX_SIGNATURES:
        raise SignatureError(f"{SIGNATURE_HEADER} has more than {MAX_SIGNATURES} values")
    digests = []
    for value in values:
        # fullmatch on an ASCII-only pattern: whatever bytes came in, what passes is ASCII,
        # which hmac.compare_digest needs (it raises TypeError on other str).
        match = _SIGNATURE_RE.fullmatch(value.strip())
        if match is None:
            raise SignatureError(
                f"{SIGNATURE_HEADER} must be sha256=<64 hex digits>, comma-separated"
            )
        digests.append(match[1].lower())
    return digests


def verify(
    secrets: Secrets,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    now: float | None = None,
    max_skew: int = MAX_SKEW_SECONDS,
) -> None:
    """Raise SignatureError unless ``signature`` is right for ``body`` and recent.

    ``secrets`` is the receiver's secret, or its secrets during a rotation; the message
    passes when any of its signatures was made with any of them. Malformed headers of any
    kind are a SignatureError, never another exception.
    """
    if not timestamp or not signature:
        raise SignatureError(f"missing {TIMESTAMP_HEADER} or {SIGNATURE_HEADER} header")
    if not isinstance(timestamp, str) or not _TIMESTAMP_RE.fullmatch(timestamp):
        raise SignatureError(f"{TIMESTAMP_HEADER} is not a whole number of seconds")
    if not isinstance(signature, str):
        raise SignatureError(f"{SIGNATURE_HEADER} is not text")
    sent_at = int(timestamp)
    current = time.time() if now is None else now
    if abs(current - sent_at) > max_skew:
        raise SignatureError(f"stale message: timestamp is more than {max_skew} s from now")
    given = _signatures(signature)
    accepted = _active(secrets)
    if not accepted:
        raise SignatureError("no secret is configured to check the signature with")
    expected = [sign(secret, sent_at, body)[len(PREFIX) :] for secret in accepted]
    # Every pair is compared, so the time taken does not tell which one matched.
    matches = [hmac.compare_digest(e, g) for e in expected for g in given]
    if not any(matches):
        raise SignatureError("signature does not match the body")
