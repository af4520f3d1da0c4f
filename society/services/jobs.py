"""Heartbeats of periodic jobs: each run records that it finished; /healthz/ and the dashboard read how long ago."""

import datetime

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


def heartbeat_problem(*, name: str, max_age: datetime.timedelta = datetime.timedelta(hours=26)) -> str | None:
    """None while the job ran within `max_age`; otherwise why not (for /healthz/ and staff)."""
    last = JobHeartbeat.objects.filter(name=name).values_list("last_run_at", flat=True).first()
    if last is None:
        return "has never run"
    if timezone.now() - last > max_age:
        return f"last ran {last:%Y-%m-%d %H:%M} UTC"
    return None
