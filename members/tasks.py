from celery import shared_task

from members.services.reminders import renewal_reminders_send


@shared_task(ignore_result=True, soft_time_limit=1500, time_limit=1800)
def send_renewal_reminders() -> None:
    renewal_reminders_send()
