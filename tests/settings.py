"""Test settings: the machine's PostgreSQL under a database name of this run's own, and a
Redis server of this run's own (see tests/redis_server.py), unless told otherwise."""

import os
import tempfile

from tests.processes import SIMULATOR_SECRET
from tests.redis_server import broker_url

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal")
# Never a shared broker: the fault tests flush and restart it.
os.environ["CELERY_BROKER_URL"] = f"{broker_url()}/0"
os.environ.setdefault("SECRET_KEY", "test-secret-key")
os.environ.setdefault("DEBUG", "0")
# Uploads, the development outbox and the like: a folder of this run's own.
os.environ.setdefault("PORTAL_VAR_DIR", tempfile.mkdtemp(prefix="portal-test-var-"))
os.environ.setdefault("SECURE_COOKIES", "0")
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "dGVzdC1vbmx5LWZpZWxkLWVuY3J5cHRpb24ta2V5LTE=")
os.environ.setdefault("LOOKUP_HASH_KEY", "test-only-lookup-hash-key")
# Not the documented default, which the settings refuse with DEBUG off; the tests' simulator
# runs with the same master secret.
os.environ["DEPARTMENT_SIMULATOR_SECRET"] = SIMULATOR_SECRET

from portal.settings import *  # noqa: E402,F403

# Several runs may share the machine's PostgreSQL: each creates a test database of its own.
DATABASES["default"].setdefault("TEST", {})["NAME"] = os.environ.get(  # noqa: F405
    "PORTAL_TEST_DATABASE", f"test_portal_{os.getpid()}"
)
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# The suite signs in and applies far more often than a person would: the rate limits are lifted
# here, and the tests of the limits themselves set the ones they check.
RATE_LIMITS = {scope: "100000/h" for scope in RATE_LIMITS}  # noqa: F405
# The test client and the browser tests' live server speak plain HTTP: no redirect to HTTPS.
# (The test client calls itself "testserver", a name production does not answer to; Django's
# test set-up adds it to ALLOWED_HOSTS itself.)
SECURE_SSL_REDIRECT = False
