from celery import shared_task

from society.services.exports import EXPORT_TASK, EXPORT_TIME_LIMIT, export_run, exports_purge
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


# No acks_late: a run is claimed before it writes, so a redelivered task would find it claimed and do
# nothing; a worker that dies mid-run leaves it "running" until the hourly purge reports it failed.
@shared_task(
    name=EXPORT_TASK,
    ignore_result=True,
    soft_time_limit=EXPORT_TIME_LIMIT.total_seconds() - 60,
    time_limit=EXPORT_TIME_LIMIT.total_seconds(),
)
def run_export(export_id: int) -> None:
    export_run(export_id=export_id)


@shared_task(ignore_result=True, soft_time_limit=240, time_limit=300)
def purge_exports() -> None:
    exports_purge()
