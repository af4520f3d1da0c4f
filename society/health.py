"""Reachability checks for /healthz/ and `manage.py preflight`.

Each check returns None when the service answers, or a short reason. Reasons never include
connection strings, which may carry passwords.
"""

import redis
from django.conf import settings
from django.db import DatabaseError, connection

from society.services.jobs import heartbeat_problem

# The periodic job whose heartbeat /healthz/ reports (members/services/reminders.py records it).
REMINDER_JOB = "send_renewal_reminders"


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


def check_reminder_job() -> str | None:
    try:
        return heartbeat_problem(name=REMINDER_JOB)
    except DatabaseError as exc:
        return type(exc).__name__


CHECKS = {"database": check_database, "broker": check_broker}
# Reported as "warning: ..." without failing the health check: the site still serves members, but
# staff must look (the reminder job has not finished a run for 26 hours).
WARNINGS = {"reminders": check_reminder_job}


def run_checks() -> dict[str, str]:
    report = {name: (problem and f"down: {problem}") or "ok" for name, check in CHECKS.items() for problem in [check()]}
    if report["database"] == "ok":
        report |= {
            name: (problem and f"warning: {problem}") or "ok"
            for name, check in WARNINGS.items()
            for problem in [check()]
        }
    return report
