"""Heartbeats of periodic jobs: each run records that it finished; /healthz/ and the dashboard read how long ago."""

import datetime
from dataclasses import dataclass

from django.utils import timezone

from society.models import JobHeartbeat


def heartbeat_record(*, name: str, result: dict) -> None:
    # One upsert (INSERT ... ON CONFLICT DO UPDATE): no read-then-write race between two runs.
    JobHeartbeat.objects.bulk_create(
        [JobHeartbeat(name=name, last_run_at=timezone.now(), last_result=result)],
        update_conflicts=True,
        unique_fields=["name"],
        update_fields=["last_run_at", "last_result"],
    )


MAX_AGE = datetime.timedelta(hours=26)


@dataclass(frozen=True)
class Heartbeat:
    """When a job last finished (None: never), and whether that is longer ago than it should be."""

    last_run_at: datetime.datetime | None
    late: bool


def heartbeat_status(*, name: str, max_age: datetime.timedelta = MAX_AGE) -> Heartbeat:
    last = JobHeartbeat.objects.filter(name=name).values_list("last_run_at", flat=True).first()
    return Heartbeat(last_run_at=last, late=last is None or timezone.now() - last > max_age)


def heartbeat_problem(*, name: str, max_age: datetime.timedelta = MAX_AGE) -> str | None:
    """None while the job ran within `max_age`; otherwise why not, in English, for /healthz/'s monitors
    (staff read a whole translated sentence built from heartbeat_status instead)."""
    status = heartbeat_status(name=name, max_age=max_age)
    if status.last_run_at is None:
        return "has never run"
    if status.late:
        return f"last ran {status.last_run_at:%Y-%m-%d %H:%M} UTC"
    return None
