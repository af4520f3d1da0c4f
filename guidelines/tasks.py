from celery import shared_task

from guidelines.services.alert_fanout import ALERT_TASK, alert_runs_requeue, edition_alerts_send


# Safe to run twice (a redelivery, the sweep): a run is claimed with a lease, every email has its idempotency
# key, and a finished run is skipped. Tens of thousands of subscribers take minutes, hence the time limits.
@shared_task(name=ALERT_TASK, acks_late=True, ignore_result=True, soft_time_limit=1500, time_limit=1800)
def send_edition_alerts(edition_id: int) -> None:
    edition_alerts_send(edition_id=edition_id)


@shared_task(ignore_result=True, soft_time_limit=60, time_limit=90)
def sweep_alert_runs() -> None:
    alert_runs_requeue()
