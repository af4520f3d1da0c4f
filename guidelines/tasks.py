from celery import shared_task

from guidelines.services.alert_fanout import ALERT_TASK, alert_runs_requeue, edition_alerts_send


# Safe to run twice (a redelivery, the sweep): every email has its idempotency key and a finished run is skipped.
@shared_task(name=ALERT_TASK, acks_late=True, ignore_result=True, soft_time_limit=240, time_limit=300)
def send_edition_alerts(edition_id: int) -> None:
    edition_alerts_send(edition_id=edition_id)


@shared_task(ignore_result=True, soft_time_limit=60, time_limit=90)
def sweep_alert_runs() -> None:
    alert_runs_requeue()
