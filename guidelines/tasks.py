from celery import shared_task

from guidelines.services.alert_fanout import ALERT_TASK, alert_runs_requeue, edition_alerts_send
from guidelines.services.webhooks import SEND_TASK, webhook_delivery_send, webhooks_requeue_due


# As society.tasks.send_outgoing_email: acks_late and a claim make a redelivered task a no-op, and retries
# are rows the sweeper queues when their time comes, never countdowns in Redis. The hard limit stays far
# inside the claim's lease (guidelines.models.webhooks.LEASE); the HTTP timeouts far inside the limit.
@shared_task(
    name=SEND_TASK, acks_late=True, reject_on_worker_lost=True, ignore_result=True, soft_time_limit=90, time_limit=120
)
def send_webhook_delivery(delivery_id: int) -> None:
    webhook_delivery_send(delivery_id=delivery_id)


@shared_task(ignore_result=True, soft_time_limit=50, time_limit=55)
def sweep_webhooks() -> None:
    webhooks_requeue_due()


# Safe to run twice (a redelivery, the sweep): a run is claimed with a lease, every email has its idempotency
# key, and a finished run is skipped. Tens of thousands of subscribers take minutes, hence the time limits.
@shared_task(name=ALERT_TASK, acks_late=True, ignore_result=True, soft_time_limit=1500, time_limit=1800)
def send_edition_alerts(edition_id: int) -> None:
    edition_alerts_send(edition_id=edition_id)


@shared_task(ignore_result=True, soft_time_limit=60, time_limit=90)
def sweep_alert_runs() -> None:
    alert_runs_requeue()
