"""Test settings: the machine's PostgreSQL under a database name of this run's own, and a
Redis server of this run's own (see tests/redis_server.py), unless told otherwise."""

import os

from tests.processes import SIMULATOR_SECRET
from tests.redis_server import broker_url

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal")
# Never a shared broker: the fault tests flush and restart it.
os.environ["CELERY_BROKER_URL"] = f"{broker_url()}/0"
os.environ.setdefault("SECRET_KEY", "test-secret-key")
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECURE_COOKIES", "0")
# Not the documented default, which the settings refuse with DEBUG off; the tests' simulator
# runs with the same master secret.
os.environ["DEPARTMENT_SIMULATOR_SECRET"] = SIMULATOR_SECRET

from portal.settings import *  # noqa: E402,F403

# Several runs may share the machine's PostgreSQL: each creates a test database of its own.
DATABASES["default"].setdefault("TEST", {})["NAME"] = os.environ.get(  # noqa: F405
    "PORTAL_TEST_DATABASE", f"test_portal_{os.getpid()}"
)
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
