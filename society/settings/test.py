"""Test settings: the real Postgres and Redis, production-like security, fast hashing."""

import os

os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "test-only-key-that-is-long-enough-to-look-real-0123456789abcdef")

from .base import *  # noqa: F403

ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Tests run against the machine's Redis, never flushing it: every key is namespaced per run.
CACHES["default"]["KEY_PREFIX"] = "society-test"  # noqa: F405
CELERY_TASK_ALWAYS_EAGER = False
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
# Serve static files straight from static/ (no collectstatic before tests).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# Tests receive webhooks on a local http.server.
WEBHOOK_ALLOW_LOCAL_HTTP = True
