from celery import shared_task
from django.utils import timezone

from members.models import Order
from members.services import announcements
from members.services.reminders import renewal_reminders_send
from members.services.renewal_charges import autorenew_charge, autorenew_run
from members.services.retention import staff_figures_warm, term_facts_compact
from members.services.stripe import ReconcileUnavailable, order_reconcile


@shared_task(ignore_result=True, soft_time_limit=1500, time_limit=1800)
def send_renewal_reminders() -> None:
    renewal_reminders_send()


@shared_task(ignore_result=True, soft_time_limit=240, time_limit=300)
def warm_staff_figures() -> None:
    staff_figures_warm()


@shared_task(ignore_result=True, soft_time_limit=240, time_limit=300)
def compact_retention_counts() -> None:
    term_facts_compact()


@shared_task(ignore_result=True, soft_time_limit=1500, time_limit=1800)
def run_auto_renewals() -> None:
    autorenew_run()


@shared_task(ignore_result=True, acks_late=True)
def charge_auto_renewal(membership_id: int) -> None:
    # Safe to run twice: the attempt is claimed under the membership's row lock and Stripe's idempotency key
    # repeats its first answer.
    autorenew_charge(membership_id=membership_id)


@shared_task(ignore_result=True, soft_time_limit=600, time_limit=900)
def reconcile_stale_card_orders() -> None:
    """Queue a reconcile of each card order still pending an hour after checkout began."""
    for order_id in Order.objects.stale_card_checkouts(timezone.now()).values_list("pk", flat=True):
        reconcile_card_order.delay(order_id)


@shared_task(
    ignore_result=True,
    soft_time_limit=60,
    time_limit=90,
    autoretry_for=(ReconcileUnavailable,),
    retry_backoff=60,
    max_retries=3,
)
def reconcile_card_order(order_id: int) -> None:
    order = Order.objects.filter(pk=order_id).first()
    if order is not None:
        order_reconcile(order=order)


# The announcement row is locked and its status checked before anything is written, and every outbox
# row has a unique key per member: a redelivered or doubled task writes nothing twice.
@shared_task(
    name="members.tasks.queue_announcement", ignore_result=True, acks_late=True, soft_time_limit=600, time_limit=900
)
def queue_announcement(announcement_id: int) -> None:
    announcements.announcement_queue(announcement_id=announcement_id)


@shared_task(ignore_result=True, soft_time_limit=600, time_limit=900)
def queue_due_announcements() -> None:
    announcements.announcements_queue_due()
