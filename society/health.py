"""Reachability checks for /healthz/ and `manage.py preflight`.

Each check returns None when the service answers, or a short reason. Reasons never include
connection strings, which may carry passwords.
"""

import redis
from django.conf import settings
from django.db import DatabaseError, connection


def check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        return type(exc).__name__
    return None


def check_broker() -> str | None:
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        return type(exc).__name__
    finally:
        client.close()
    return None


CHECKS = {"database": check_database, "broker": check_broker}


def run_checks() -> dict[str, str]:
    return {name: (problem and f"down: {problem}") or "ok" for name, check in CHECKS.items() for problem in [check()]}
