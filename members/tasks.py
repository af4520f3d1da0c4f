from celery import shared_task

from members.services.reminders import renewal_reminders_send
from members.services.renewal_charges import autorenew_charge, autorenew_run


@shared_task(ignore_result=True, soft_time_limit=1500, time_limit=1800)
def send_renewal_reminders() -> None:
    renewal_reminders_send()


@shared_task(ignore_result=True, soft_time_limit=1500, time_limit=1800)
def run_auto_renewals() -> None:
    autorenew_run()


@shared_task(ignore_result=True, acks_late=True)
def charge_auto_renewal(membership_id: int) -> None:
    # Safe to run twice: the attempt is claimed under the membership's row lock and Stripe's idempotency key
    # repeats its first answer.
    autorenew_charge(membership_id=membership_id)
