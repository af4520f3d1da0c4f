from celery import shared_task

from society.services.mail import (
    SEND_BATCH_TASK,
    SEND_TASK,
    outbox_requeue_due,
    outgoing_email_send,
    outgoing_emails_send,
)


# acks_late + reject_on_worker_lost: a worker killed mid-send leaves the message in Redis to be
# redelivered; the service claims only queued rows, so a redelivery is a no-op once the row is claimed
# or sent. The hard time limit stays well inside the claim's lease (society.models.mail.LEASE).
# Retries are not Celery retries with a countdown (a long countdown in Redis is redelivered after
# the visibility timeout, i.e. duplicated): the service records next_attempt_at and the sweeper
# queues the row again when that time comes.
@shared_task(
    name=SEND_TASK, acks_late=True, reject_on_worker_lost=True, ignore_result=True, soft_time_limit=90, time_limit=120
)
def send_outgoing_email(email_id: int) -> None:
    outgoing_email_send(email_id=email_id)


# The same guarantees for a batch sent over one SMTP connection (settings.OUTBOX_BATCH_SIZE rows). At
# the soft limit the service fails the row in flight and gives the untried rows back to the sweeper.
@shared_task(
    name=SEND_BATCH_TASK,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    soft_time_limit=90,
    time_limit=120,
)
def send_outgoing_emails(email_ids: list[int]) -> None:
    outgoing_emails_send(email_ids=email_ids)


@shared_task(ignore_result=True, soft_time_limit=240, time_limit=300)
def sweep_outbox() -> None:
    outbox_requeue_due()
