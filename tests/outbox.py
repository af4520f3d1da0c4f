"""For tests in any app: account emails, receipts and reminders go through the outbox, so they reach
`mail.outbox` (the locmem backend of the test settings) only when the outbox is delivered."""

from society.models import OutgoingEmail
from society.services.mail import outgoing_email_send


def deliver_outbox() -> int:
    """Send every queued outbox row now, in this thread, through settings.EMAIL_BACKEND. Returns how many."""
    ids = list(OutgoingEmail.objects.queued().order_by("pk").values_list("pk", flat=True))
    for email_id in ids:
        outgoing_email_send(email_id=email_id)
    return len(ids)
